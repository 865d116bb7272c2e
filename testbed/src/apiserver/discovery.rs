//! Discovery documents in the legacy (non-aggregated) format, which kubectl and client-go
//! accept whenever the Content-Type is plain `application/json`.

use crate::kinds::{self, Kind};
use serde_json::{Value, json};

/// kubectl on these machines is a version dispatcher: minor "32" selects kubectl 1.32.
pub fn version() -> Value {
    json!({"major": "1", "minor": "32", "gitVersion": "v1.32.2", "gitCommit": "67a30c0adcf52bd3f56ff0893ce19966be12991f",
           "gitTreeState": "clean", "buildDate": "2025-02-12T21:19:47Z", "goVersion": "go1.23.6",
           "compiler": "gc", "platform": "linux/amd64"})
}

pub fn api_versions(server_addr: &str) -> Value {
    json!({"kind": "APIVersions", "versions": ["v1"],
           "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_addr}]})
}

pub fn api_group_list() -> Value {
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": [apps_group()]})
}

pub fn apps_group() -> Value {
    let gv = json!({"groupVersion": "apps/v1", "version": "v1"});
    json!({"kind": "APIGroup", "apiVersion": "v1", "name": "apps", "versions": [gv.clone()], "preferredVersion": gv})
}

/// The APIResourceList of one group/version, with subresources as `pods/exec`-style entries.
pub fn resource_list(group: &str, version: &str) -> Option<Value> {
    let mut resources = Vec::new();
    for kind in kinds::in_group_version(group, version) {
        resources.push(resource_entry(kind));
        for sub in kind.subresources {
            let verbs: &[&str] = match *sub {
                "exec" => &["create", "get"],
                "log" => &["get"],
                _ => &["get", "patch", "update"],
            };
            let mut entry = json!({"name": format!("{}/{sub}", kind.plural), "singularName": "", "namespaced": kind.namespaced,
                                   "kind": if *sub == "exec" { "PodExecOptions" } else if *sub == "log" { "Pod" } else { kind.kind },
                                   "verbs": verbs});
            if *sub == "scale" {
                // kubectl's scale client finds the Scale's group/version/kind here.
                entry["group"] = json!("autoscaling");
                entry["version"] = json!("v1");
                entry["kind"] = json!("Scale");
            }
            resources.push(entry);
        }
    }
    if resources.is_empty() {
        return None;
    }
    let group_version = if group.is_empty() { version.to_string() } else { format!("{group}/{version}") };
    Some(
        json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version, "resources": resources}),
    )
}

fn resource_entry(kind: &Kind) -> Value {
    // Read verbs everywhere; `delete` on pods and `patch`/`update` on workloads, the
    // writes the testbed honours.
    let mut verbs = vec!["get", "list", "watch"];
    match kind.plural {
        "pods" => verbs.push("delete"),
        "statefulsets" | "deployments" => verbs.extend(["patch", "update"]),
        _ => {}
    }
    json!({"name": kind.plural, "singularName": kind.singular, "namespaced": kind.namespaced, "kind": kind.kind,
           "verbs": verbs, "shortNames": kind.short_names})
}
