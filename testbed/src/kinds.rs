//! The resource kinds the simulated API server serves, and how each is addressed on the wire.

/// One servable resource: its URL plural, kind names and discovery facts.
#[derive(Debug, PartialEq, Eq)]
pub struct Kind {
    /// URL segment, e.g. `pods`.
    pub plural: &'static str,
    pub singular: &'static str,
    pub kind: &'static str,
    /// `""` for the core group.
    pub group: &'static str,
    pub version: &'static str,
    pub namespaced: bool,
    pub short_names: &'static [&'static str],
    pub subresources: &'static [&'static str],
}

impl Kind {
    /// `v1` or `apps/v1`, as objects carry it in `apiVersion`.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_string()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    pub fn list_kind(&self) -> String {
        format!("{}List", self.kind)
    }
}

const fn core(
    plural: &'static str,
    singular: &'static str,
    kind: &'static str,
    namespaced: bool,
    short_names: &'static [&'static str],
) -> Kind {
    Kind { plural, singular, kind, group: "", version: "v1", namespaced, short_names, subresources: &[] }
}

pub static PODS: Kind =
    Kind { subresources: &["exec", "log", "status"], ..core("pods", "pod", "Pod", true, &["po"]) };
pub static SERVICES: Kind = core("services", "service", "Service", true, &["svc"]);
pub static ENDPOINTS: Kind = core("endpoints", "endpoints", "Endpoints", true, &["ep"]);
pub static CONFIGMAPS: Kind = core("configmaps", "configmap", "ConfigMap", true, &["cm"]);
pub static SECRETS: Kind = core("secrets", "secret", "Secret", true, &[]);
pub static NODES: Kind = core("nodes", "node", "Node", false, &["no"]);
pub static NAMESPACES: Kind = core("namespaces", "namespace", "Namespace", false, &["ns"]);
pub static STATEFULSETS: Kind = Kind {
    group: "apps",
    subresources: &["scale", "status"],
    ..core("statefulsets", "statefulset", "StatefulSet", true, &["sts"])
};
pub static DEPLOYMENTS: Kind = Kind {
    group: "apps",
    subresources: &["scale", "status"],
    ..core("deployments", "deployment", "Deployment", true, &["deploy"])
};

pub static ALL: [&Kind; 9] =
    [&PODS, &SERVICES, &ENDPOINTS, &CONFIGMAPS, &SECRETS, &NODES, &NAMESPACES, &STATEFULSETS, &DEPLOYMENTS];

/// Finds the kind served at `group/version` under `plural`.
pub fn lookup(group: &str, version: &str, plural: &str) -> Option<&'static Kind> {
    ALL.iter().copied().find(|k| k.group == group && k.version == version && k.plural == plural)
}

/// Kinds of one group/version, for its discovery document.
pub fn in_group_version<'a>(
    group: &'a str,
    version: &'a str,
) -> impl Iterator<Item = &'static Kind> + use<'a> {
    ALL.iter().copied().filter(move |k| k.group == group && k.version == version)
}
