//! `rly keys add`, `rly chains configure feegrant basicallowance` and feegranted signing, run in
//! a cluster's relayer pod against its chains: parallel `transact link`s, each in its own rly
//! home with its own grantee on gwc, no longer race on the relayer key's sequence.

use crate::chain::ChainNode;
use crate::chain::keys::{TestKey, address_of_public_key};
use crate::chain::tx_codec::{decode_tx, secp256k1_pubkey_from_any};
use crate::cluster::Cluster;
use crate::pod::{ExecOutput, PodRuntime};
use std::time::Duration;

fn cluster() -> Cluster {
    let config = crate::ClusterConfig {
        fdsc: 1,
        ready_delay: Duration::from_millis(5),
        boot_delay: Duration::ZERO,
        // Short blocks keep a link to a few seconds; two steps still share a block often.
        block_interval: Some(Duration::from_millis(200)),
        ..Default::default()
    };
    Cluster::install(config).expect("cluster installs")
}

fn relayer(c: &Cluster) -> PodRuntime {
    c.pod(&c.relayer_pod_name().expect("a relayer pod")).expect("live").runtime
}

/// `rly <args> --home <home>`.
async fn rly(pod: &PodRuntime, home: &str, args: &str) -> ExecOutput {
    let mut argv: Vec<&str> = vec!["rly"];
    argv.extend(args.split_whitespace());
    argv.extend(["--home", home]);
    pod.exec_collect(&argv, b"").await
}

fn ok(what: &str, o: &ExecOutput) {
    assert_eq!(o.code, 0, "{what}: {}{}", o.out(), o.err());
}

/// The chain file the product writes (`reconcile/init_relayer.rs chain_json`).
fn chain_json(id: &str) -> String {
    format!(
        r#"{{"type":"cosmos","value":{{"key":"relayer","chain-id":"{id}","rpc-addr":"http://cryptomeria-{id}-0.cryptomeria-chain-headless:26657","grpc-addr":"cryptomeria-{id}-0.cryptomeria-chain-headless:9090","account-prefix":"cosmos","keyring-backend":"test","gas-adjustment":1.5,"gas-prices":"0.001uatom","debug":false,"timeout":"20s","output-format":"json","sign-mode":"direct"}}}}"#
    )
}

fn dst_port(id: &str) -> &'static str {
    if id.starts_with("mdsc") { "metastore" } else { "datastore" }
}

/// A home with gwc and `id` added and the relayer key restored on both, as the product sets
/// one up per link.
async fn init_home(pod: &PodRuntime, home: &str, id: &str) {
    ok("config init", &rly(pod, home, "config init").await);
    for chain in ["gwc", id] {
        let file = format!("{home}/{chain}.json");
        let w = pod.exec_collect(&["sh", "-c", &format!("cat > {file}")], chain_json(chain).as_bytes()).await;
        ok("write chain file", &w);
        let guard = format!(
            "rly chains show {chain} --home {home} >/dev/null 2>&1 || rly chains add --file {file} --home {home}"
        );
        ok("chains add", &pod.exec_collect(&["sh", "-c", &guard], b"").await);
        let restore = format!(
            "rly keys restore {chain} relayer \"$(cat /etc/mnemonics/{chain}.relayer.mnemonic)\" --home {home}"
        );
        ok("keys restore", &pod.exec_collect(&["sh", "-c", &restore], b"").await);
    }
    let again = pod
        .exec_collect(&["sh", "-c", &format!("rly chains show gwc --home {home} >/dev/null 2>&1")], b"")
        .await;
    assert_eq!(again.code, 0, "chains show finds the chain");
}

fn address(pod: &PodRuntime, home: &str, chain: &str, key: &str) -> String {
    let bytes =
        pod.fs().read_file(&format!("{home}/keys/{chain}/keyring-test/{key}.info")).expect("key record");
    let v: serde_json::Value = serde_json::from_slice(&bytes).expect("JSON");
    v["address"].as_str().expect("address").to_string()
}

/// Every included tx of `node` whose memo starts with `memo`: (signer address, fee granter, fee).
fn txs_with_memo(node: &ChainNode, memo: &str) -> Vec<(String, String, u128)> {
    let mut out = Vec::new();
    for h in 1..=node.latest_height() {
        let Some(block) = node.block(h) else { continue };
        for (bytes, result) in block.txs.iter().zip(&block.results) {
            let tx = decode_tx(bytes).expect("decodes");
            if result.code != 0 || !tx.body.memo.starts_with(memo) {
                continue;
            }
            let key =
                secp256k1_pubkey_from_any(tx.auth_info.signer_infos[0].public_key.as_ref().unwrap()).unwrap();
            let fee = tx.auth_info.fee.clone().unwrap_or_default();
            let paid = tx.fee_coins().unwrap().iter().map(|c| c.amount).sum();
            out.push((address_of_public_key(&key), fee.granter, paid));
        }
    }
    out
}

fn grant_txs(node: &ChainNode) -> usize {
    let mut n = 0;
    for h in 1..=node.latest_height() {
        let Some(block) = node.block(h) else { continue };
        for (bytes, result) in block.txs.iter().zip(&block.results) {
            let tx = decode_tx(bytes).expect("decodes");
            let grants =
                tx.body.messages.iter().any(|m| m.type_url == crate::chain::authz::MSG_GRANT_ALLOWANCE);
            n += usize::from(grants && result.code == 0);
        }
    }
    n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_add_prints_a_new_mnemonic_once_and_refuses_an_existing_name() {
    let c = cluster();
    let pod = relayer(&c);
    let home = "/tmp/rly-keys";
    init_home(&pod, home, "mdsc").await;
    let added = rly(&pod, home, "keys add gwc link-a").await;
    ok("keys add", &added);
    let v: serde_json::Value = serde_json::from_str(&added.out()).expect("KeyOutput JSON");
    assert!(added.out().starts_with("{\"mnemonic\":\""), "Go's field order: {}", added.out());
    let mnemonic = v["mnemonic"].as_str().unwrap();
    assert_eq!(mnemonic.split(' ').count(), 24);
    let addr = TestKey::from_mnemonic(mnemonic).unwrap().address;
    assert_eq!(v["address"], addr.as_str());
    assert_eq!(added.err(), "");
    let shown = rly(&pod, home, "keys show gwc link-a").await;
    assert_eq!((shown.code, shown.out()), (0, format!("{addr}\n")));
    let listed = rly(&pod, home, "keys list gwc").await;
    assert!(listed.out().contains(&format!("key(link-a) -> {addr}\n")), "{}", listed.out());
    assert!(!shown.out().contains(mnemonic) && !listed.out().contains(mnemonic));
    let again = rly(&pod, home, "keys add gwc link-a").await;
    assert_eq!(
        (again.code, again.out(), again.err()),
        (1, String::new(), "Error: a key with name link-a already exists\n".into())
    );
    let nochain = rly(&pod, home, "keys add nochain k").await;
    assert_eq!(nochain.code, 1);
    assert!(
        nochain.err().starts_with("Error: chain with name \"nochain\" not found in config"),
        "{}",
        nochain.err()
    );
    // chains show: the entry (YAML, or JSON), and rly's error for a chain it lacks.
    let shown = rly(&pod, home, "chains show gwc --json").await;
    let v: serde_json::Value = serde_json::from_str(&shown.out()).expect("JSON");
    assert_eq!((v["type"].as_str(), v["value"]["chain-id"].as_str()), (Some("cosmos"), Some("gwc")));
    let yaml = rly(&pod, home, "chains show gwc").await;
    assert!(
        yaml.out().starts_with("type: cosmos\nvalue:\n    key-directory: /tmp/rly-keys/keys/gwc\n"),
        "{}",
        yaml.out()
    );
    let missing = rly(&pod, home, "chains show nochain").await;
    assert_eq!(missing.code, 1);
    assert_eq!(
        missing.err(),
        "Error: chain with name \"nochain\" not found in config. consider running `rly chains add nochain`\n"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configure_feegrant_grants_once_and_records_the_verified_height() {
    let c = cluster();
    let pod = relayer(&c);
    let gwc = c.chains.get("gwc").expect("gwc");
    let home = "/tmp/rly-fg";
    init_home(&pod, home, "mdsc").await;
    let granter = TestKey::for_role("gwc", "relayer").address;
    let cmd = "chains configure feegrant basicallowance gwc relayer --grantees link-mdsc";
    let first = rly(&pod, home, cmd).await;
    ok("configure", &first);
    let grantee = address(&pod, home, "gwc", "link-mdsc");
    let err = first.err();
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 3, "{err}");
    assert!(
        lines[0].contains("\tinfo\tCreating feegrant\t")
            && lines[0].contains(&format!("{{\"granter\": \"{granter}\", \"grantee\": \"{grantee}\"}}")),
        "{err}"
    );
    assert!(
        lines[1].contains(
            "\tinfo\tFeegrant succeeded\t{\"new_grants\": 1, \"existing_grants\": 0, \"tx_hash\": \""
        ),
        "{err}"
    );
    assert!(lines[2].contains("\tinfo\tfeegrant configured\t{\"height\": "), "{err}");
    assert_eq!(first.out(), "");
    let allowance =
        gwc.read_state(|l| l.authz().allowance_json(&granter, &grantee)).expect("a grant on chain");
    assert_eq!(allowance["allowance"]["allowance"]["@type"], "/cosmos.feegrant.v1beta1.BasicAllowance");
    assert_eq!(grant_txs(&gwc), 1);

    // Everything granted: no tx, only a newer verified height.
    let second = rly(&pod, home, cmd).await;
    ok("configure again", &second);
    assert_eq!(second.err().lines().count(), 1, "{}", second.err());
    assert!(second.err().contains("feegrant configured"), "{}", second.err());
    assert_eq!(grant_txs(&gwc), 1, "no second grant tx");

    let yaml = String::from_utf8(pod.fs().read_file(&format!("{home}/config/config.yaml")).unwrap()).unwrap();
    let section = "            feegrants:\n                num_grantees: 1\n                granter: relayer\n                external_granter: false\n                grantees:\n                    - link-mdsc\n                block_last_verified: ";
    assert!(yaml.contains(section), "{yaml}");
    let cfg = super::rly_config::RlyConfig::parse(&yaml);
    let fg = cfg.chain("gwc").and_then(|c| c.feegrants.clone()).expect("parsed back");
    assert!(fg.block_last_verified > 0 && fg.active());
    assert_eq!(cfg.render(), yaml, "round trip");
    assert!(cfg.chain("mdsc").unwrap().feegrants.is_none());

    // Errors as rly's: unknown granter, unknown chain; --delete drops the section.
    let bad = rly(&pod, home, "chains configure feegrant basicallowance gwc nobody --grantees x").await;
    assert_eq!(bad.code, 1);
    assert_eq!(
        bad.err(),
        "Error: an unknown granter was specified: 'nobody' is not a valid bech32 address\n"
    );
    let nochain = rly(&pod, home, "chains configure feegrant basicallowance nochain").await;
    assert_eq!(nochain.code, 1);
    assert!(nochain.err().starts_with("Error: chain with name \"nochain\" not found"), "{}", nochain.err());
    ok("delete", &rly(&pod, home, "chains configure feegrant basicallowance gwc --delete").await);
    let yaml = String::from_utf8(pod.fs().read_file(&format!("{home}/config/config.yaml")).unwrap()).unwrap();
    assert!(!yaml.contains("num_grantees") && yaml.contains("            feegrants: null\n"), "{yaml}");

    // --num-grantees names the keys grantee1..N (the granter defaulting to the chain's key);
    // the flags exclude each other as cobra's group says.
    let both =
        rly(&pod, home, "chains configure feegrant basicallowance gwc --num-grantees 2 --delete").await;
    assert_eq!(both.code, 1);
    assert_eq!(
        both.err(),
        "Error: if any flags in the group [num-grantees grantees delete] are set none of the others can be; [delete num-grantees] were all set\n"
    );
    let numbered = rly(&pod, home, "chains configure feegrant basicallowance gwc --num-grantees 2").await;
    ok("num-grantees", &numbered);
    assert!(numbered.err().contains("{\"new_grants\": 2, \"existing_grants\": 0,"), "{}", numbered.err());
    for g in ["grantee1", "grantee2"] {
        let shown = rly(&pod, home, &format!("keys show gwc {g}")).await;
        assert_eq!(shown.code, 0, "{g} was created");
    }
    assert_eq!(grant_txs(&gwc), 2, "one tx for both grants");
}

/// Two homes for gwc↔mdsc and gwc↔fdsc-0 (`feegrant`: each with its own grantee on gwc).
async fn two_homes(pod: &PodRuntime, feegrant: bool) {
    for id in LINKED {
        let home = format!("/tmp/rly-{id}");
        init_home(pod, &home, id).await;
        if feegrant {
            let cmd = format!("chains configure feegrant basicallowance gwc relayer --grantees link-{id}");
            ok("configure", &rly(pod, &home, &cmd).await);
        }
        let new = format!(
            "paths new gwc {id} gwc-{id} --src-port gateway --dst-port {} --version cryptomeria-1",
            dst_port(id)
        );
        ok("paths new", &rly(pod, &home, &new).await);
    }
}

const LINKED: [&str; 2] = ["mdsc", "fdsc-0"];

/// Both homes' `transact link` at the same time (two execs, as two jobs would run them).
async fn link_both(pod: &PodRuntime) -> Vec<(&'static str, ExecOutput)> {
    let link = |id: &'static str| {
        let pod = pod.clone();
        async move {
            let cmd = format!(
                "transact link gwc-{id} --src-port gateway --dst-port {} --version cryptomeria-1",
                dst_port(id)
            );
            (id, rly(&pod, &format!("/tmp/rly-{id}"), &cmd).await)
        }
    };
    let (a, b) = tokio::join!(tokio::spawn(link(LINKED[0])), tokio::spawn(link(LINKED[1])));
    vec![a.expect("link task"), b.expect("link task")]
}

fn open_gateway_channels(gwc: &ChainNode) -> Vec<String> {
    let mut ids: Vec<String> = gwc
        .channels()
        .into_iter()
        .filter(|ch| ch.port_id == "gateway" && ch.state == crate::chain::ibc::ChannelState::Open)
        .map(|ch| ch.counterparty_chain_id)
        .collect();
    ids.sort();
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_links_sign_gwc_txs_with_their_own_feegranted_keys() {
    let c = cluster();
    let (pod, gwc) = (relayer(&c), c.chains.get("gwc").expect("gwc"));
    let relayer_addr = TestKey::for_role("gwc", "relayer").address;
    two_homes(&pod, true).await;
    let before = gwc.balance(&relayer_addr, "uatom");
    let mut fees = 0;
    for (id, o) in link_both(&pod).await {
        ok(&format!("link {id}"), &o);
        assert!(o.err().contains("Successfully created new channel"), "{}", o.err());
        let grantee = address(&pod, &format!("/tmp/rly-{id}"), "gwc", &format!("link-{id}"));
        let txs = txs_with_memo(&gwc, &format!("rly transact link gwc <> {id}:"));
        assert_eq!(txs.len(), 5, "CreateClient, ConnOpenInit/Ack, ChanOpenInit/Ack on gwc: {txs:?}");
        for (signer, granter, fee) in &txs {
            assert_eq!((signer, granter), (&grantee, &relayer_addr));
            fees += fee;
        }
        assert_eq!(gwc.balance(&grantee, "uatom"), 0, "the grantee holds nothing");
        assert_eq!(gwc.account(&grantee).map(|a| a.sequence), Some(5));
    }
    assert_eq!(open_gateway_channels(&gwc), ["fdsc-0", "mdsc"]);
    assert!(fees > 0);
    assert_eq!(before - gwc.balance(&relayer_addr, "uatom"), fees, "the granter paid every link fee");

    // `rly start` in the mdsc home relays a packet gwc sent: the acknowledgement tx on gwc is
    // signed by link-mdsc (its msgs' signer too) with the relayer as fee granter.
    let channel = gwc
        .channels()
        .into_iter()
        .find(|ch| ch.port_id == "gateway" && ch.counterparty_chain_id == "mdsc")
        .expect("the mdsc channel")
        .channel_id;
    let timeout = u64::try_from(jiff::Timestamp::now().as_nanosecond()).unwrap() + 3_600_000_000_000;
    gwc.update_state(|l| {
        l.send_packet("gateway", &channel, b"{}".to_vec(), timeout).expect("sent");
    });
    let start =
        pod.exec_collect(&["sh", "-c", "rly start --home /tmp/rly-mdsc > /tmp/start.log 2>&1 &"], b"").await;
    ok("rly start", &start);
    let grantee = address(&pod, "/tmp/rly-mdsc", "gwc", "link-mdsc");
    let acked = || gwc.read_state(|l| l.packets().commitments.is_empty());
    for _ in 0..100 {
        if acked() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        acked(),
        "the ack was relayed: {:?}",
        pod.fs().read_file("/tmp/start.log").map(String::from_utf8)
    );
    let acks = msgs_of_type(&gwc, crate::chain::packets::MSG_ACKNOWLEDGEMENT);
    assert_eq!(acks.len(), 1, "{acks:?}");
    let (signer, granter, msg_signers) = &acks[0];
    assert_eq!((signer, granter), (&grantee, &relayer_addr));
    assert!(msg_signers.iter().all(|s| s == &grantee), "{msg_signers:?}");
}

/// The included txs of `node` with a message of `type_url`: (signing key's address, fee
/// granter, each message's `signer`).
fn msgs_of_type(node: &ChainNode, type_url: &str) -> Vec<(String, String, Vec<String>)> {
    let registry = node.msg_registry();
    let mut out = Vec::new();
    for h in 1..=node.latest_height() {
        let Some(block) = node.block(h) else { continue };
        for (bytes, result) in block.txs.iter().zip(&block.results) {
            let tx = decode_tx(bytes).expect("decodes");
            if result.code != 0 || !tx.body.messages.iter().any(|m| m.type_url == type_url) {
                continue;
            }
            let any = tx.auth_info.signer_infos[0].public_key.as_ref().unwrap();
            let key = secp256k1_pubkey_from_any(any).unwrap();
            let signers = tx
                .body
                .messages
                .iter()
                .map(|m| registry.get(&m.type_url).expect("known").signer(&m.value).unwrap())
                .collect();
            out.push((
                address_of_public_key(&key),
                tx.auth_info.fee.clone().unwrap_or_default().granter,
                signers,
            ));
        }
    }
    out
}

/// Without feegrants both homes sign gwc's txs with the one relayer key: the testbed's
/// CheckTx holds the account sequence a pending tx took, and the handshake signs at the
/// committed sequence, so the link whose tx lands second in a block's CheckTx fails as rly
/// does on a real chain (the first tx of both links is sent at once).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_links_on_one_shared_key_race_on_its_sequence() {
    let c = cluster();
    let (pod, gwc) = (relayer(&c), c.chains.get("gwc").expect("gwc"));
    two_homes(&pod, false).await;
    let links = link_both(&pod).await;
    let failed: Vec<_> = links.iter().filter(|(_, o)| o.code != 0).collect();
    assert_eq!(failed.len(), 1, "{links:?}");
    let err = failed[0].1.err();
    assert!(
        err.starts_with("Error: error creating ")
            && err.contains(": account sequence mismatch, expected ")
            && err.ends_with(": incorrect account sequence\n"),
        "{err}"
    );
    let won = links.iter().find(|(_, o)| o.code == 0).expect("one link succeeds").0;
    assert_eq!(open_gateway_channels(&gwc), [won]);
}
