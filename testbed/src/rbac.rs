//! Opt-in RBAC enforcement (`Control::enforce_rbac`): the rules a manifest of
//! ServiceAccount/Role/RoleBinding/ClusterRole/ClusterRoleBinding grants one service
//! account, evaluated as kubernetes plugin/pkg/auth/authorizer/rbac/rbac.go does, and the
//! 403 `metav1.Status` the real API server answers a denied request with
//! (apiserver pkg/endpoints/handlers/responsewriters/errors.go `forbiddenMessage`).
//!
//! Modelled: verbs, apiGroups, resources with `resource/subresource` and `*/subresource`,
//! `*` everywhere, `resourceNames` (a named request only), `nonResourceURLs` with a trailing
//! `*`; Role rules (and ClusterRoles bound by a RoleBinding) only in the binding's
//! namespace; ClusterRoleBindings everywhere, cluster scope included; subjects by
//! ServiceAccount, by the account's user name, or by its groups (`system:serviceaccounts`,
//! `system:serviceaccounts:<ns>`, `system:authenticated`). Every authenticated user also
//! holds the built-in discovery roles (system:discovery, system:public-info-viewer,
//! system:basic-user). Not modelled: aggregated ClusterRoles (`aggregationRule`), other
//! authorizers (Node, webhook), impersonation.

use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, PolicyRule, Role, RoleBinding, Subject};
use serde_json::{Value, json};

/// One request as the authorizer sees it (apiserver `authorizer.Attributes`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attributes {
    Resource {
        verb: String,
        /// `""` for the core group.
        group: String,
        resource: String,
        subresource: Option<String>,
        /// None = cluster scope. For a Namespace object, its own name.
        namespace: Option<String>,
        /// The object's name; None for list, watch and create.
        name: Option<String>,
    },
    NonResource {
        verb: String,
        path: String,
    },
}

impl Attributes {
    /// A resource request.
    pub fn resource(
        verb: &str,
        group: &str,
        resource: &str,
        subresource: Option<&str>,
        namespace: Option<&str>,
        name: Option<&str>,
    ) -> Self {
        Self::Resource {
            verb: verb.into(),
            group: group.into(),
            resource: resource.into(),
            subresource: subresource.map(Into::into),
            namespace: namespace.map(Into::into),
            name: name.map(Into::into),
        }
    }
}

/// Why a manifest could not be read.
#[derive(Debug, thiserror::Error)]
pub enum RbacError {
    #[error("RBAC manifest is not YAML: {0}")]
    Yaml(String),
    #[error("{kind} {name:?} is not a valid {kind}: {error}")]
    Object { kind: String, name: String, error: String },
}

/// A rule and where it applies: `None` = everywhere (a ClusterRoleBinding).
#[derive(Debug, Clone)]
struct Grant {
    namespace: Option<String>,
    rule: PolicyRule,
}

/// What one service account may do.
#[derive(Debug, Clone)]
pub struct Policy {
    user: String,
    groups: Vec<String>,
    grants: Vec<Grant>,
}

/// The non-resource URLs system:discovery and system:public-info-viewer grant to every
/// authenticated user (kubernetes plugin/pkg/auth/authorizer/rbac/bootstrappolicy/policy.go).
const DISCOVERY_URLS: [&str; 11] = [
    "/api",
    "/api/*",
    "/apis",
    "/apis/*",
    "/healthz",
    "/livez",
    "/openapi",
    "/openapi/*",
    "/readyz",
    "/version",
    "/version/",
];

fn rule(verbs: &[&str], groups: &[&str], resources: &[&str], urls: &[&str]) -> PolicyRule {
    let strings = |xs: &[&str]| (!xs.is_empty()).then(|| xs.iter().map(|x| x.to_string()).collect());
    PolicyRule {
        verbs: verbs.iter().map(|v| v.to_string()).collect(),
        api_groups: strings(groups),
        resources: strings(resources),
        non_resource_urls: strings(urls),
        resource_names: None,
    }
}

/// The bootstrap roles every authenticated user holds.
fn builtin_grants() -> Vec<Grant> {
    [
        rule(&["get"], &[], &[], &DISCOVERY_URLS),
        rule(
            &["create"],
            &["authorization.k8s.io"],
            &["selfsubjectaccessreviews", "selfsubjectrulesreviews"],
            &[],
        ),
        rule(&["create"], &["authentication.k8s.io"], &["selfsubjectreviews"], &[]),
    ]
    .into_iter()
    .map(|rule| Grant { namespace: None, rule })
    .collect()
}

fn parse<T: serde::de::DeserializeOwned>(doc: &Value) -> Result<T, RbacError> {
    serde_json::from_value(doc.clone()).map_err(|e| RbacError::Object {
        kind: doc["kind"].as_str().unwrap_or_default().into(),
        name: doc["metadata"]["name"].as_str().unwrap_or_default().into(),
        error: e.to_string(),
    })
}

impl Policy {
    /// A service account bound to nothing: only the built-in discovery roles.
    pub fn service_account(namespace: &str, name: &str) -> Self {
        Self {
            user: format!("system:serviceaccount:{namespace}:{name}"),
            groups: vec![
                "system:serviceaccounts".into(),
                format!("system:serviceaccounts:{namespace}"),
                "system:authenticated".into(),
            ],
            grants: builtin_grants(),
        }
    }

    /// The rules a multi-document manifest binds to the service account
    /// `namespace/name`. Documents of other kinds are ignored; a binding whose role is
    /// missing grants nothing (as the real authorizer, which only logs it).
    pub fn from_yaml(yaml: &str, namespace: &str, name: &str) -> Result<Self, RbacError> {
        let docs: Vec<Value> =
            serde_saphyr::from_multiple(yaml).map_err(|e| RbacError::Yaml(e.to_string()))?;
        let of = |kind: &'static str| docs.iter().filter(move |d| d["kind"] == kind);
        let roles: Vec<Role> = of("Role").map(parse).collect::<Result<_, _>>()?;
        let cluster_roles: Vec<ClusterRole> = of("ClusterRole").map(parse).collect::<Result<_, _>>()?;
        let mut policy = Self::service_account(namespace, name);
        let cluster_rules = |role: &str| {
            cluster_roles
                .iter()
                .find(|r| r.metadata.name.as_deref() == Some(role))
                .and_then(|r| r.rules.clone())
        };
        for doc in of("RoleBinding") {
            let b: RoleBinding = parse(doc)?;
            let ns = b.metadata.namespace.clone().unwrap_or_default();
            if !policy.bound(b.subjects.as_deref(), &ns) {
                continue;
            }
            let rules = match b.role_ref.kind.as_str() {
                "Role" => roles
                    .iter()
                    .find(|r| {
                        r.metadata.name == Some(b.role_ref.name.clone())
                            && r.metadata.namespace == Some(ns.clone())
                    })
                    .and_then(|r| r.rules.clone()),
                _ => cluster_rules(&b.role_ref.name),
            };
            let scope = Some(ns.clone());
            policy
                .grants
                .extend(rules.into_iter().flatten().map(|rule| Grant { namespace: scope.clone(), rule }));
        }
        for doc in of("ClusterRoleBinding") {
            let b: ClusterRoleBinding = parse(doc)?;
            if !policy.bound(b.subjects.as_deref(), "") {
                continue;
            }
            let rules = cluster_rules(&b.role_ref.name);
            policy.grants.extend(rules.into_iter().flatten().map(|rule| Grant { namespace: None, rule }));
        }
        Ok(policy)
    }

    /// `system:serviceaccount:<namespace>:<name>`.
    pub fn user(&self) -> &str {
        &self.user
    }

    /// Whether a binding's subjects include this account (rbac.go `appliesToUser`); a
    /// ServiceAccount subject without a namespace means the binding's own.
    fn bound(&self, subjects: Option<&[Subject]>, binding_ns: &str) -> bool {
        subjects.unwrap_or_default().iter().any(|s| match s.kind.as_str() {
            "User" => s.name == self.user,
            "Group" => self.groups.contains(&s.name),
            "ServiceAccount" => {
                let ns = s.namespace.as_deref().filter(|n| !n.is_empty()).unwrap_or(binding_ns);
                !ns.is_empty() && format!("system:serviceaccount:{ns}:{}", s.name) == self.user
            }
            _ => false,
        })
    }

    /// Whether any granted rule allows the request.
    pub fn allows(&self, request: &Attributes) -> bool {
        self.grants.iter().any(|g| match request {
            Attributes::Resource { namespace, .. } => {
                (g.namespace.is_none() || g.namespace == *namespace) && rule_allows(&g.rule, request)
            }
            Attributes::NonResource { .. } => g.namespace.is_none() && rule_allows(&g.rule, request),
        })
    }
}

fn has(list: Option<&[String]>, want: &str) -> bool {
    list.unwrap_or_default().iter().any(|x| x == "*" || x == want)
}

/// rbac.go `RuleAllows` with rbacv1helpers' matchers.
fn rule_allows(rule: &PolicyRule, request: &Attributes) -> bool {
    match request {
        Attributes::Resource { verb, group, resource, subresource, name, .. } => {
            let combined = match subresource {
                Some(sub) => format!("{resource}/{sub}"),
                None => resource.clone(),
            };
            let resource_matches = rule.resources.as_deref().unwrap_or_default().iter().any(|r| {
                r == "*"
                    || *r == combined
                    || subresource.as_ref().is_some_and(|sub| r.strip_prefix("*/") == Some(sub.as_str()))
            });
            let names = rule.resource_names.as_deref().unwrap_or_default();
            let name_matches = names.is_empty() || name.as_ref().is_some_and(|n| names.contains(n));
            has(Some(&rule.verbs), verb)
                && has(rule.api_groups.as_deref(), group)
                && resource_matches
                && name_matches
        }
        Attributes::NonResource { verb, path } => {
            has(Some(&rule.verbs), verb)
                && rule.non_resource_urls.as_deref().unwrap_or_default().iter().any(|u| {
                    u == "*"
                        || u == path
                        || u.strip_suffix('*').is_some_and(|prefix| path.starts_with(prefix))
                })
        }
    }
}

/// The denial text: `pods "x" is forbidden: User "u" cannot get resource "pods/exec" in API
/// group "" in the namespace "ns"` (`... at the cluster scope` without a namespace; `forbidden:
/// User "u" cannot get path "/p"` for a non-resource path).
pub fn forbidden_message(user: &str, request: &Attributes) -> String {
    match request {
        Attributes::NonResource { verb, path } => {
            format!("forbidden: User {user:?} cannot {verb} path {path:?}")
        }
        Attributes::Resource { verb, group, resource, subresource, namespace, name } => {
            let full = match subresource {
                Some(sub) => format!("{resource}/{sub}"),
                None => resource.clone(),
            };
            let qualified = if group.is_empty() { resource.clone() } else { format!("{resource}.{group}") };
            let subject = match name {
                Some(n) if !n.is_empty() => format!("{qualified} {n:?}"),
                _ => qualified,
            };
            let scope = match namespace {
                Some(ns) if !ns.is_empty() => format!("in the namespace {ns:?}"),
                _ => "at the cluster scope".to_string(),
            };
            format!(
                "{subject} is forbidden: User {user:?} cannot {verb} resource {full:?} in API group {group:?} {scope}"
            )
        }
    }
}

/// The 403 `metav1.Status` body (apimachinery `NewForbidden`): details carry the name, the
/// group and the resource (not the subresource) as `kind`, each only when non-empty.
pub fn forbidden_status(user: &str, request: &Attributes) -> Value {
    let mut details = json!({});
    if let Attributes::Resource { group, resource, name, .. } = request {
        for (key, value) in [("name", name.as_deref().unwrap_or("")), ("group", group), ("kind", resource)] {
            if !value.is_empty() {
                details[key] = json!(value);
            }
        }
    }
    json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
           "message": forbidden_message(user, request), "reason": "Forbidden", "details": details, "code": 403})
}

#[cfg(test)]
mod tests {
    use super::*;

    const MANIFEST: &str = r#"
apiVersion: v1
kind: ServiceAccount
metadata: {name: bff, namespace: cryptomeria}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: bff, namespace: cryptomeria}
rules:
  - apiGroups: [""]
    resources: ["pods", "services"]
    verbs: ["get", "list", "watch"]
  - apiGroups: [""]
    resources: ["pods/exec"]
    verbs: ["get", "create"]
  - apiGroups: ["apps"]
    resources: ["statefulsets/scale"]
    verbs: ["patch"]
    resourceNames: ["cryptomeria-gwc"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: bff, namespace: cryptomeria}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: bff}
subjects: [{kind: ServiceAccount, name: bff, namespace: cryptomeria}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: nodes}
rules:
  - apiGroups: [""]
    resources: ["nodes"]
    verbs: ["list", "watch"]
  - nonResourceURLs: ["/metrics"]
    verbs: ["get"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: nodes}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: nodes}
subjects: [{kind: ServiceAccount, name: bff, namespace: cryptomeria}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: other, namespace: cryptomeria}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: bff}
subjects: [{kind: ServiceAccount, name: someone-else, namespace: cryptomeria}]
"#;

    fn policy() -> Policy {
        Policy::from_yaml(MANIFEST, "cryptomeria", "bff").expect("manifest parses")
    }

    fn res(verb: &str, group: &str, resource: &str, sub: Option<&str>, ns: Option<&str>) -> Attributes {
        Attributes::resource(verb, group, resource, sub, ns, None)
    }

    #[test]
    fn role_rules_apply_in_their_namespace_only() {
        let p = policy();
        assert!(p.allows(&res("list", "", "pods", None, Some("cryptomeria"))));
        assert!(!p.allows(&res("list", "", "pods", None, Some("default"))));
        assert!(!p.allows(&res("list", "", "pods", None, None)));
        assert!(!p.allows(&res("delete", "", "pods", None, Some("cryptomeria"))));
        assert!(!p.allows(&res("list", "apps", "statefulsets", None, Some("cryptomeria"))));
    }

    #[test]
    fn cluster_role_bindings_apply_everywhere_including_cluster_scope() {
        let p = policy();
        assert!(p.allows(&res("list", "", "nodes", None, None)));
        assert!(p.allows(&res("watch", "", "nodes", None, Some("anywhere"))));
        assert!(!p.allows(&res("get", "", "nodes", None, None)));
        assert!(p.allows(&Attributes::NonResource { verb: "get".into(), path: "/metrics".into() }));
    }

    #[test]
    fn subresources_need_their_own_rule_unless_star() {
        let p = policy();
        assert!(p.allows(&res("get", "", "pods", Some("exec"), Some("cryptomeria"))));
        assert!(!p.allows(&res("get", "", "pods", Some("log"), Some("cryptomeria"))));
        let star = PolicyRule { resources: Some(vec!["*/scale".into()]), ..rule(&["*"], &["*"], &[], &[]) };
        assert!(rule_allows(&star, &res("patch", "apps", "statefulsets", Some("scale"), Some("x"))));
        assert!(!rule_allows(&star, &res("patch", "apps", "statefulsets", None, Some("x"))));
        let all = rule(&["*"], &["*"], &["*"], &[]);
        assert!(rule_allows(&all, &res("create", "", "pods", Some("exec"), Some("x"))));
    }

    #[test]
    fn resource_names_restrict_to_named_requests() {
        let p = policy();
        let named = |n| {
            Attributes::resource("patch", "apps", "statefulsets", Some("scale"), Some("cryptomeria"), Some(n))
        };
        assert!(p.allows(&named("cryptomeria-gwc")));
        assert!(!p.allows(&named("cryptomeria-mdsc")));
        assert!(!p.allows(&res("patch", "apps", "statefulsets", Some("scale"), Some("cryptomeria"))));
    }

    #[test]
    fn discovery_paths_are_always_allowed_and_others_are_not() {
        let p = Policy::service_account("ns", "nobody");
        for path in ["/api", "/apis", "/api/v1", "/apis/apps/v1", "/version", "/healthz", "/openapi/v3"] {
            assert!(p.allows(&Attributes::NonResource { verb: "get".into(), path: path.into() }), "{path}");
        }
        assert!(!p.allows(&Attributes::NonResource { verb: "get".into(), path: "/metrics".into() }));
        assert!(!p.allows(&Attributes::NonResource { verb: "post".into(), path: "/api".into() }));
        assert!(!p.allows(&res("get", "", "pods", None, Some("ns"))));
    }

    #[test]
    fn group_and_user_subjects_bind_a_service_account() {
        let yaml = r#"
kind: ClusterRole
apiVersion: rbac.authorization.k8s.io/v1
metadata: {name: r}
rules: [{apiGroups: [""], resources: ["pods"], verbs: ["get"]}]
---
kind: RoleBinding
apiVersion: rbac.authorization.k8s.io/v1
metadata: {name: b, namespace: ns}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: r}
subjects: [{kind: Group, name: "system:serviceaccounts:ns", apiGroup: rbac.authorization.k8s.io}]
---
kind: RoleBinding
apiVersion: rbac.authorization.k8s.io/v1
metadata: {name: c, namespace: other}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: r}
subjects: [{kind: User, name: "system:serviceaccount:ns:sa", apiGroup: rbac.authorization.k8s.io}]
---
kind: RoleBinding
apiVersion: rbac.authorization.k8s.io/v1
metadata: {name: d, namespace: third}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: r}
subjects: [{kind: ServiceAccount, name: sa}]
"#;
        let p = Policy::from_yaml(yaml, "ns", "sa").unwrap();
        assert!(p.allows(&res("get", "", "pods", None, Some("ns"))));
        assert!(p.allows(&res("get", "", "pods", None, Some("other"))));
        // A namespace-less ServiceAccount subject is the binding's namespace: third:sa, not us.
        assert!(!p.allows(&res("get", "", "pods", None, Some("third"))));
    }

    #[test]
    fn forbidden_messages_are_worded_as_the_real_server_words_them() {
        let user = "system:serviceaccount:cryptomeria:cryptomeria-bff";
        let exec = Attributes::resource("get", "", "pods", Some("exec"), Some("cryptomeria"), Some("x"));
        assert_eq!(
            forbidden_message(user, &exec),
            r#"pods "x" is forbidden: User "system:serviceaccount:cryptomeria:cryptomeria-bff" cannot get resource "pods/exec" in API group "" in the namespace "cryptomeria""#
        );
        let list = res("list", "apps", "statefulsets", None, Some("cryptomeria"));
        assert_eq!(
            forbidden_message(user, &list),
            r#"statefulsets.apps is forbidden: User "system:serviceaccount:cryptomeria:cryptomeria-bff" cannot list resource "statefulsets" in API group "apps" in the namespace "cryptomeria""#
        );
        let nodes = res("list", "", "nodes", None, None);
        assert!(
            forbidden_message(user, &nodes)
                .ends_with(r#"cannot list resource "nodes" in API group "" at the cluster scope"#)
        );
        let path = Attributes::NonResource { verb: "get".into(), path: "/metrics".into() };
        assert_eq!(
            forbidden_message(user, &path),
            format!("forbidden: User {user:?} cannot get path \"/metrics\"")
        );
        let status = forbidden_status(user, &exec);
        assert_eq!(status["code"], 403);
        assert_eq!(status["reason"], "Forbidden");
        assert_eq!(status["details"], json!({"name": "x", "kind": "pods"}));
        assert_eq!(
            forbidden_status(user, &list)["details"],
            json!({"group": "apps", "kind": "statefulsets"})
        );
    }

    #[test]
    fn a_manifest_that_is_not_yaml_is_an_error() {
        assert!(Policy::from_yaml("kind: [", "ns", "sa").is_err());
    }
}
