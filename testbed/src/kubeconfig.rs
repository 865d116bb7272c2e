//! The kubeconfig the testbed writes: plain http, no credentials (client-go sends none over
//! plain http anyway), the context's namespace set to the chart's.

use std::path::Path;

pub fn render(server: &str, namespace: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: cryptomeria-testbed\n  cluster:\n    server: {server}\n\
         contexts:\n- name: cryptomeria-testbed\n  context:\n    cluster: cryptomeria-testbed\n    namespace: {namespace}\n    user: testbed\n\
         current-context: cryptomeria-testbed\nusers:\n- name: testbed\n  user: {{}}\npreferences: {{}}\n"
    )
}

pub fn write(path: &Path, server: &str, namespace: &str) -> std::io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, render(server, namespace))
}
