//! The real `kubectl` is the judge of the testbed's Kubernetes wire protocol: every command
//! the original shell scripts run must work against it.

use crate::common::TestEnv;

const NS: &str = "cryptomeria";

#[tokio::test]
async fn kubectl_lists_running_chain_pods_by_label_and_field_selector() {
    crate::testbed_only!("checks the embedded testbed itself");
    let env = TestEnv::ready().await;
    let (code, out, err) = env
        .kubectl(
            &[
                "get",
                "pods",
                "-n",
                NS,
                "-l",
                "app.kubernetes.io/category=chain",
                "--field-selector=status.phase=Running",
                "-o",
                r#"jsonpath={range .items[*]}{.metadata.labels.app\.kubernetes\.io/instance}{"\n"}{end}"#,
            ],
            None,
        )
        .await;
    assert_eq!(code, 0, "stderr: {err}");
    let mut ids: Vec<&str> = out.lines().collect();
    ids.sort();
    assert_eq!(ids, ["fdsc-0", "fdsc-1", "gwc", "mdsc"]);
}

#[tokio::test]
async fn kubectl_field_selector_excludes_pods_in_other_phases() {
    crate::testbed_only!("checks the embedded testbed itself");
    let env = TestEnv::ready().await;
    let (code, out, err) = env
        .kubectl(
            &[
                "get",
                "pods",
                "-n",
                NS,
                "--field-selector=status.phase=Pending",
                "-o",
                "jsonpath={.items[*].metadata.name}",
            ],
            None,
        )
        .await;
    assert_eq!(code, 0, "stderr: {err}");
    assert_eq!(out.trim(), "");
    let (code, _, err) = env.kubectl(&["get", "pods", "-n", NS, "--field-selector=spec.bogus=1"], None).await;
    assert_eq!(code, 1);
    assert!(err.contains("field label not supported: spec.bogus"), "{err}");
}

#[tokio::test]
async fn kubectl_finds_the_relayer_pod_by_component_label() {
    crate::testbed_only!("checks the embedded testbed itself");
    let env = TestEnv::ready().await;
    let (code, out, err) = env
        .kubectl(
            &[
                "get",
                "pod",
                "-n",
                NS,
                "-l",
                "app.kubernetes.io/component=relayer",
                "-o",
                "jsonpath={.items[0].metadata.name}",
            ],
            None,
        )
        .await;
    assert_eq!(code, 0, "stderr: {err}");
    assert_eq!(out, env.relayer());
    assert!(out.starts_with("cryptomeria-relayer-"));
}

#[tokio::test]
async fn kubectl_wait_succeeds_when_ready_and_fails_while_a_pod_is_held_not_ready() {
    crate::testbed_only!("checks the embedded testbed itself");
    let env = TestEnv::ready().await;
    let (code, out, err) = env
        .kubectl(&["wait", "--for=condition=ready", "pod", "--all", "-n", NS, "--timeout=60s"], None)
        .await;
    assert_eq!(code, 0, "stderr: {err}");
    assert_eq!(out.lines().count(), 7, "one line per pod: {out}");

    env.testbed().control.hold_not_ready("cryptomeria-mdsc-0");
    let (code, _, err) =
        env.kubectl(&["wait", "--for=condition=ready", "pod", "--all", "-n", NS, "--timeout=2s"], None).await;
    assert_ne!(code, 0);
    assert!(err.contains("timed out waiting for the condition on pods/cryptomeria-mdsc-0"), "{err}");

    env.testbed().control.release_not_ready("cryptomeria-mdsc-0");
    let (code, _, err) = env
        .kubectl(
            &["wait", "--for=condition=ready", "pod/cryptomeria-mdsc-0", "-n", NS, "--timeout=60s"],
            None,
        )
        .await;
    assert_eq!(code, 0, "stderr: {err}");
}

#[tokio::test]
async fn kubectl_exec_pipes_stdin_into_a_file_and_reads_it_back() {
    crate::testbed_only!("checks the embedded testbed itself");
    let env = TestEnv::ready().await;
    let relayer = env.relayer();
    let (code, _, err) = env
        .kubectl(
            &["exec", "-i", "-n", NS, &relayer, "--", "sh", "-c", "cat > /tmp/x.json"],
            Some(br#"{"a":1}"#),
        )
        .await;
    assert_eq!(code, 0, "stderr: {err}");
    let (code, out, err) = env.kubectl(&["exec", "-n", NS, &relayer, "--", "cat", "/tmp/x.json"], None).await;
    assert_eq!(code, 0, "stderr: {err}");
    assert_eq!(out, r#"{"a":1}"#);
}

#[tokio::test]
async fn kubectl_exec_propagates_exit_codes() {
    crate::testbed_only!("checks the embedded testbed itself");
    let env = TestEnv::ready().await;
    let relayer = env.relayer();
    let (code, _, _) = env.kubectl(&["exec", "-n", NS, &relayer, "--", "test", "-f", "/nope"], None).await;
    assert_eq!(code, 1);
    let (code, _, err) = env.kubectl(&["exec", "-n", NS, &relayer, "--", "nosuchcmd"], None).await;
    assert_eq!(code, 127);
    assert!(err.contains("nosuchcmd"), "{err}");
    let (code, _, err) = env.kubectl(&["exec", "-n", NS, &relayer, "--", "sh", "-c", "exit 42"], None).await;
    assert_eq!(code, 42);
    assert!(err.contains("command terminated with exit code 42"), "{err}");
}

#[tokio::test]
async fn kubectl_exec_runs_the_scripts_mnemonic_loop() {
    crate::testbed_only!("checks the embedded testbed itself");
    let env = TestEnv::ready().await;
    let script =
        r#"for c in gwc mdsc; do if [ -f /etc/mnemonics/$c.relayer.mnemonic ]; then echo "$c"; fi; done"#;
    let (code, out, err) =
        env.kubectl(&["exec", "-n", NS, &env.relayer(), "--", "sh", "-c", script], None).await;
    assert_eq!(code, 0, "stderr: {err}");
    assert_eq!(out, "gwc\nmdsc\n");
}

#[tokio::test]
async fn kubectl_logs_tail_returns_the_last_lines_written_to_pid1_stdout() {
    crate::testbed_only!("checks the embedded testbed itself");
    let env = TestEnv::ready().await;
    let pod = "cryptomeria-fdsc-0-0";
    let script = "for i in 1 2 3 4 5 6 7; do echo line$i > /proc/1/fd/1; done";
    let (code, _, err) = env.kubectl(&["exec", "-n", NS, pod, "--", "sh", "-c", script], None).await;
    assert_eq!(code, 0, "stderr: {err}");
    let (code, out, err) = env.kubectl(&["logs", "-n", NS, pod, "--tail=5"], None).await;
    assert_eq!(code, 0, "stderr: {err}");
    assert_eq!(out, "line3\nline4\nline5\nline6\nline7\n");
}

#[tokio::test]
async fn kubectl_get_pods_prints_a_table_with_ready_and_status_columns() {
    crate::testbed_only!("checks the embedded testbed itself");
    let env = TestEnv::ready().await;
    env.testbed().control.hold_not_ready("cryptomeria-gwc-0");
    let (code, out, err) = env.kubectl(&["get", "pods", "-n", NS], None).await;
    assert_eq!(code, 0, "stderr: {err}");
    let mut lines = out.lines();
    let header: Vec<&str> = lines.next().unwrap_or_default().split_whitespace().collect();
    assert_eq!(header, ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]);
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split_whitespace().collect()).collect();
    assert_eq!(rows.len(), 7, "5 chart pods + faucet + genesis-server");
    let gwc = rows.iter().find(|r| r[0] == "cryptomeria-gwc-0").expect("gwc row");
    assert_eq!(&gwc[1..3], ["0/1", "Running"]);
    let mdsc = rows.iter().find(|r| r[0] == "cryptomeria-mdsc-0").expect("mdsc row");
    assert_eq!(&mdsc[1..3], ["1/1", "Running"]);
}

#[tokio::test]
async fn kubectl_reports_missing_pods_as_not_found() {
    crate::testbed_only!("checks the embedded testbed itself");
    let env = TestEnv::ready().await;
    let (code, _, err) = env.kubectl(&["get", "pod", "nope", "-n", NS], None).await;
    assert_eq!(code, 1);
    assert!(err.contains(r#"pods "nope" not found"#), "{err}");
}

#[tokio::test]
async fn kubectl_delete_pod_gets_it_recreated_by_its_controller() {
    crate::testbed_only!("checks the embedded testbed itself");
    let env = TestEnv::ready().await;
    let old = env.relayer();
    let (code, _, err) = env.kubectl(&["delete", "pod", "-n", NS, &old, "--wait=false"], None).await;
    assert_eq!(code, 0, "stderr: {err}");
    let new = env.relayer();
    assert_ne!(new, old);
    let (code, _, err) = env
        .kubectl(&["wait", "--for=condition=ready", &format!("pod/{new}"), "-n", NS, "--timeout=60s"], None)
        .await;
    assert_eq!(code, 0, "stderr: {err}");
}

#[tokio::test]
async fn kubectl_get_svc_and_nodes_print_the_real_printers_columns() {
    crate::testbed_only!("checks the embedded testbed itself");
    let env = TestEnv::ready().await;
    let rows = |out: &str| -> Vec<Vec<String>> {
        out.lines().map(|l| l.split_whitespace().map(str::to_string).collect()).collect()
    };

    let (code, out, err) = env.kubectl(&["get", "svc", "-n", NS], None).await;
    assert_eq!(code, 0, "stderr: {err}");
    let table = rows(&out);
    assert_eq!(table[0], ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"]);
    let gwc = table.iter().find(|r| r[0] == "cryptomeria-gwc").expect("gwc's NodePort Service");
    assert_eq!((gwc[1].as_str(), gwc[3].as_str()), ("NodePort", "<none>"), "{out}");
    // Every NodePort of the Service is shown as port:nodePort/TCP, in the Service's order.
    let (code, ports, err) = env
        .kubectl(
            &[
                "get",
                "svc",
                "cryptomeria-gwc",
                "-n",
                NS,
                "-o",
                r#"jsonpath={range .spec.ports[*]}{.port}:{.nodePort}/{.protocol},{end}"#,
            ],
            None,
        )
        .await;
    assert_eq!(code, 0, "stderr: {err}");
    assert_eq!(gwc[4], ports.trim_end_matches(','), "{out}");
    assert!(gwc[4].contains(":") && gwc[4].ends_with("/TCP"), "{out}");
    let headless = table.iter().find(|r| r[0] == "cryptomeria-chain-headless").expect("the headless Service");
    assert_eq!((headless[1].as_str(), headless[2].as_str()), ("ClusterIP", "None"), "{out}");

    let (code, wide, err) =
        env.kubectl(&["get", "svc", "cryptomeria-gwc", "-n", NS, "-o", "wide"], None).await;
    assert_eq!(code, 0, "stderr: {err}");
    let wide = rows(&wide);
    assert_eq!(wide[0].last().map(String::as_str), Some("SELECTOR"));
    assert!(wide[1].last().unwrap().contains("app.kubernetes.io/instance=gwc"), "{wide:?}");

    let (code, out, err) = env.kubectl(&["get", "nodes", "-o", "wide"], None).await;
    assert_eq!(code, 0, "stderr: {err}");
    let table = rows(&out);
    assert_eq!(
        table[0][..7],
        ["NAME", "STATUS", "ROLES", "AGE", "VERSION", "INTERNAL-IP", "EXTERNAL-IP"].map(String::from)
    );
    let (code, ip, err) = env
        .kubectl(
            &[
                "get",
                "nodes",
                "-o",
                r#"jsonpath={.items[0].status.addresses[?(@.type=="InternalIP")].address}"#,
            ],
            None,
        )
        .await;
    assert_eq!(code, 0, "stderr: {err}");
    assert_eq!(table[1][1..3], ["Ready", "control-plane"].map(String::from), "{out}");
    assert_eq!(table[1][5], ip, "{out}");
}
