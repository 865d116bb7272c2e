//! The simulated Kubernetes API server: discovery, GET/LIST/WATCH, pods/log, pods/exec, pod
//! DELETE, PATCH/PUT of StatefulSets and Deployments and their `scale` subresource, over
//! plain HTTP on 127.0.0.1, speaking what kubectl 1.32 and kube-rs expect. Every request is recorded as the RBAC authorizer
//! sees it and, when a policy is enforced (`Control::enforce_rbac`), refused 403 unless
//! allowed. It serves its own accept loop so a test can make it refuse connections.

// Handlers reject with a ready `Response` (a Status body); it is the cold path of a
// request, so its size does not matter.
#![allow(clippy::result_large_err)]

mod access_review;
mod discovery;
mod exec;
mod logs;
mod query;
mod status;
mod table;
mod watch;
mod workloads;

use super::cluster::Cluster;
use super::faults::{ApiRequest, Faults};
use super::kinds::{self, DEPLOYMENTS, Kind, PODS, STATEFULSETS};
use super::rbac::{self, Attributes};
use axum::extract::{FromRequestParts as _, Request, State};
use axum::http::{Method, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router, middleware};
use query::{Query, matches};
use serde_json::json;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpSocket};
use tokio_util::sync::CancellationToken;

#[derive(Clone)]
struct Shared {
    cluster: Cluster,
    faults: Arc<Faults>,
    addr: SocketAddr,
    bookmark_interval: Duration,
}

/// Binds `bind`, serves until `shutdown`, and returns the bound address.
pub async fn start(
    cluster: Cluster,
    faults: Arc<Faults>,
    bind: SocketAddr,
    bookmark_interval: Duration,
    shutdown: CancellationToken,
) -> std::io::Result<SocketAddr> {
    let listener = listen(bind)?;
    let addr = listener.local_addr()?;
    let shared = Shared { cluster, faults: faults.clone(), addr, bookmark_interval };
    let app = router(shared);
    tokio::spawn(accept_loop(listener, addr, app, faults, shutdown));
    Ok(addr)
}

fn listen(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() { TcpSocket::new_v4()? } else { TcpSocket::new_v6()? };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(1024)
}

fn router(shared: Shared) -> Router {
    Router::new()
        .route("/version", get(|| async { Json(discovery::version()) }))
        .route(
            "/api",
            get(|State(s): State<Shared>| async move { Json(discovery::api_versions(&s.addr.to_string())) }),
        )
        .route("/apis", get(|| async { Json(discovery::api_group_list()) }))
        .route("/apis/apps", get(|| async { Json(discovery::apps_group()) }))
        .route(
            "/api/{version}",
            get(|axum::extract::Path(v): axum::extract::Path<String>| async move { resource_list("", &v) }),
        )
        .route(
            "/apis/{group}/{version}",
            get(|axum::extract::Path((g, v)): axum::extract::Path<(String, String)>| async move {
                resource_list(&g, &v)
            }),
        )
        .route(access_review::PATH, axum::routing::post(access_review::create))
        .fallback(resources)
        .layer(middleware::from_fn_with_state(shared.clone(), injected_failures))
        .with_state(shared)
}

fn resource_list(group: &str, version: &str) -> Response {
    discovery::resource_list(group, version)
        .map_or_else(status::no_such_path, |doc| Json(doc).into_response())
}

/// The "API server answers 500" fault, applied before any handler.
async fn injected_failures(State(s): State<Shared>, req: Request, next: middleware::Next) -> Response {
    if parse_path(req.uri().path()).is_none() && req.uri().path() != access_review::PATH {
        let verb = req.method().as_str().to_lowercase();
        let path = req.uri().path().to_string();
        s.faults.authorize(ApiRequest::NonResource { verb: verb.clone(), path: path.clone() });
        if let Some(policy) = s.faults.policy() {
            let attrs = Attributes::NonResource { verb, path };
            if !policy.allows(&attrs) {
                return status::forbidden(rbac::forbidden_status(policy.user(), &attrs));
            }
        }
    }
    if s.faults.failing() {
        s.faults.count(format!("failed {}", req.uri().path()));
        return status::internal("etcdserver: request timed out");
    }
    next.run(req).await
}

/// What a resource path names.
struct Target {
    kind: &'static Kind,
    namespace: Option<String>,
    name: Option<String>,
    subresource: Option<String>,
}

fn parse_path(path: &str) -> Option<Target> {
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
    let (group, version, rest) = match segs.as_slice() {
        ["api", v, rest @ ..] => ("", *v, rest),
        ["apis", g, v, rest @ ..] => (*g, *v, rest),
        _ => return None,
    };
    let (namespace, rest) = match rest {
        ["namespaces", ns, rest @ ..] if !rest.is_empty() => (Some(ns.to_string()), rest),
        _ => (None, rest),
    };
    let (plural, name, sub) = match rest {
        [plural] => (*plural, None, None),
        [plural, name] => (*plural, Some(name.to_string()), None),
        [plural, name, sub] => (*plural, Some(name.to_string()), Some(sub.to_string())),
        _ => return None,
    };
    let kind = kinds::lookup(group, version, plural)?;
    if kind.namespaced != namespace.is_some() && (name.is_some() || !kind.namespaced) {
        return None;
    }
    Some(Target { kind, namespace, name, subresource: sub })
}

async fn resources(State(s): State<Shared>, req: Request) -> Response {
    let Some(target) = parse_path(req.uri().path()) else { return status::no_such_path() };
    let q = Query::parse(req.uri().query());
    let sub = target.subresource.as_deref();
    let workload = target.kind == &STATEFULSETS || target.kind == &DEPLOYMENTS;
    let verb = match (req.method().clone(), &target.name, sub) {
        (Method::GET, None, _) if q.flag("watch") => "watch",
        (Method::GET, None, _) => "list",
        (Method::GET, Some(_), Some("exec")) | (Method::POST, Some(_), Some("exec")) => "create",
        (Method::GET, Some(_), _) => "get",
        (Method::DELETE, Some(_), None) if target.kind == &PODS => "delete",
        (Method::PATCH, Some(_), None | Some("scale")) if workload => "patch",
        (Method::PUT, Some(_), None | Some("scale")) if workload => "update",
        (m, _, _) => return status::method_not_allowed(m.as_str()),
    };
    let resource = match sub {
        Some(sub) => format!("{}/{sub}", target.kind.plural),
        None => target.kind.plural.to_string(),
    };
    s.faults.count(format!("{verb} {resource}"));
    // RequestInfo: a GET on a named object or subresource is `get`, even for exec.
    let authz_verb = if req.method() == Method::GET && verb == "create" { "get" } else { verb };
    let namespace = match (&target.namespace, target.kind.plural) {
        (None, "namespaces") => target.name.clone(),
        (ns, _) => ns.clone(),
    };
    s.faults.authorize(ApiRequest::Resource {
        verb: authz_verb.to_string(),
        method: req.method().to_string(),
        group: target.kind.group.to_string(),
        resource: target.kind.plural.to_string(),
        subresource: target.subresource.clone(),
        namespace: namespace.clone(),
    });
    if let Some(denied) = denial(&s, &target, authz_verb, namespace.as_deref(), &req) {
        return denied;
    }
    let method = req.method().clone();
    let content_type = accept_str(req.headers().get(header::CONTENT_TYPE)).map(str::to_string);
    let name = target.name.clone().unwrap_or_default();
    match (verb, sub) {
        ("watch", _) => watch_collection(&s, &target, &q),
        ("list", _) => list(&s, &target, &q, req.headers().get(header::ACCEPT)),
        ("get", None | Some("status")) => get_object(&s, &target, req.headers().get(header::ACCEPT)),
        ("get", Some("scale")) if workload => workloads::get_scale(&s.cluster, target.kind, &name),
        ("get", Some("log")) => pod_log(&s, &target, &q),
        ("create", Some("exec")) => pod_exec(&s, &target, &q, req).await,
        ("delete", None) => delete_pod(&s, &target),
        ("patch" | "update", _) => {
            let body = match axum::body::to_bytes(req.into_body(), MAX_BODY).await {
                Ok(b) => b,
                Err(e) => return status::bad_request(&format!("the request body could not be read: {e}")),
            };
            let write =
                workloads::Write { method: &method, content_type: content_type.as_deref(), body: &body };
            if sub == Some("scale") {
                workloads::write_scale(&s.cluster, target.kind, &name, &write)
            } else {
                workloads::write_object(&s.cluster, target.kind, &name, &write)
            }
        }
        _ => status::no_such_path(),
    }
}

/// Largest PATCH/PUT body read (the real server's default limit is 3 MiB).
const MAX_BODY: usize = 3 << 20;

/// With RBAC enforced, the 403 for a request the policy does not allow. A WebSocket exec
/// (a GET, authorized as `get`) must also be allowed to `create` pods/exec, as Kubernetes
/// 1.35 checks with AuthorizePodWebsocketUpgradeCreatePermission (beta, on by default).
fn denial(s: &Shared, t: &Target, verb: &str, namespace: Option<&str>, req: &Request) -> Option<Response> {
    let policy = s.faults.policy()?;
    let websocket = req
        .headers()
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    let mut verbs = vec![verb];
    if verb == "get" && t.subresource.as_deref() == Some("exec") && websocket {
        verbs.push("create");
    }
    verbs.into_iter().find_map(|verb| {
        let attrs = Attributes::resource(
            verb,
            t.kind.group,
            t.kind.plural,
            t.subresource.as_deref(),
            namespace,
            t.name.as_deref(),
        );
        (!policy.allows(&attrs)).then(|| status::forbidden(rbac::forbidden_status(policy.user(), &attrs)))
    })
}

fn accept_str(v: Option<&axum::http::HeaderValue>) -> Option<&str> {
    v.and_then(|v| v.to_str().ok())
}

fn list(s: &Shared, t: &Target, q: &Query, accept: Option<&axum::http::HeaderValue>) -> Response {
    let (labels, fields) = match q.selectors(t.kind) {
        Ok(sel) => sel,
        Err(e) => return status::bad_request(&e.0),
    };
    let (items, rv) = s.cluster.store.list(t.kind, t.namespace.as_deref());
    let items: Vec<_> = items.into_iter().filter(|o| matches(o, &labels, &fields)).collect();
    if table::wants_table(accept_str(accept)) {
        return Json(table::table(t.kind.plural, &items, rv)).into_response();
    }
    Json(json!({"kind": t.kind.list_kind(), "apiVersion": t.kind.api_version(),
                "metadata": {"resourceVersion": rv.to_string()}, "items": items}))
    .into_response()
}

fn get_object(s: &Shared, t: &Target, accept: Option<&axum::http::HeaderValue>) -> Response {
    let name = t.name.as_deref().unwrap_or_default();
    match s.cluster.store.get(t.kind, t.namespace.as_deref(), name) {
        Some(obj) if table::wants_table(accept_str(accept)) => {
            let rv = s.cluster.store.current_rv();
            Json(table::table(t.kind.plural, std::slice::from_ref(&obj), rv)).into_response()
        }
        Some(obj) => Json(obj).into_response(),
        None => status::not_found_in(t.kind.group, t.kind.plural, name),
    }
}

fn watch_collection(s: &Shared, t: &Target, q: &Query) -> Response {
    let (labels, fields) = match q.selectors(t.kind) {
        Ok(sel) => sel,
        Err(e) => return status::bad_request(&e.0),
    };
    let (Ok(resource_version), Ok(timeout)) =
        (q.number::<u64>("resourceVersion"), q.number::<u64>("timeoutSeconds"))
    else {
        return status::bad_request("invalid resourceVersion or timeoutSeconds");
    };
    let req = watch::WatchRequest {
        kind: t.kind,
        namespace: t.namespace.clone(),
        labels,
        fields,
        resource_version,
        timeout: timeout.map(Duration::from_secs),
        bookmarks: q.flag("allowWatchBookmarks").then_some(s.bookmark_interval),
    };
    watch::serve(s.cluster.store.clone(), req, s.faults.watch_epoch())
}

/// The pod object and its live in-pod world, or the error response to send.
fn live_pod(s: &Shared, t: &Target) -> Result<(serde_json::Value, super::cluster::LivePod), Response> {
    let name = t.name.as_deref().unwrap_or_default();
    let obj = s
        .cluster
        .store
        .get(&PODS, t.namespace.as_deref(), name)
        .ok_or_else(|| status::not_found("pods", name))?;
    let live = s.cluster.pod(name).ok_or_else(|| status::not_found("pods", name))?;
    Ok((obj, live))
}

fn pod_log(s: &Shared, t: &Target, q: &Query) -> Response {
    match live_pod(s, t) {
        Ok((obj, live)) => logs::serve(live, &obj, q),
        Err(resp) => resp,
    }
}

async fn pod_exec(s: &Shared, t: &Target, q: &Query, req: Request) -> Response {
    let (obj, live) = match live_pod(s, t) {
        Ok(found) => found,
        Err(resp) => return resp,
    };
    if let Err(resp) = logs::check_container(&obj, q.get("container"), false) {
        return resp;
    }
    let argv = q.all("command");
    if argv.is_empty() {
        return status::bad_request("you must specify at least 1 command");
    }
    let (mut parts, _body) = req.into_parts();
    let Ok(ws) = axum::extract::ws::WebSocketUpgrade::from_request_parts(&mut parts, &()).await else {
        // kubectl falls back to SPDY (a POST) only when the WebSocket upgrade failed.
        return status::status(
            400,
            "BadRequest",
            "Upgrade request required: use a v5.channel.k8s.io WebSocket",
            None,
        );
    };
    let req =
        exec::ExecRequest { runtime: live.runtime, argv, stdin: q.flag("stdin"), faults: s.faults.clone() };
    exec::upgrade(ws, req)
}

fn delete_pod(s: &Shared, t: &Target) -> Response {
    let name = t.name.as_deref().unwrap_or_default();
    match s.cluster.store.get(&PODS, t.namespace.as_deref(), name) {
        Some(mut obj) => {
            s.cluster.delete_pod(name);
            obj["metadata"]["deletionTimestamp"] = json!(super::store::now_rfc3339());
            Json(obj).into_response()
        }
        None => status::not_found("pods", name),
    }
}

/// Accepts connections until `shutdown`; while the refuse fault is on, the listening socket
/// is closed (clients get "connection refused") and every open connection is cut.
async fn accept_loop(
    listener: TcpListener,
    addr: SocketAddr,
    app: Router,
    faults: Arc<Faults>,
    shutdown: CancellationToken,
) {
    let mut listener = Some(listener);
    loop {
        if let Some(until) = faults.refusing_until() {
            listener = None;
            faults.listening.send_replace(false);
            tokio::select! {
                _ = tokio::time::sleep_until(until) => {}
                _ = shutdown.cancelled() => return,
            }
            continue;
        }
        let l = match listener.take() {
            Some(l) => l,
            None => match listen(addr) {
                Ok(l) => l,
                Err(e) => {
                    tracing::warn!(%addr, error = %e, "testbed apiserver could not re-bind; retrying");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let conns = CancellationToken::new();
        faults.listening.send_replace(true);
        loop {
            let refuse = faults.refuse_now.notified();
            tokio::select! {
                accepted = l.accept() => if let Ok((stream, _)) = accepted {
                    tokio::spawn(crate::serve::serve_connection(stream, app.clone(), conns.child_token()));
                },
                _ = refuse => break,
                _ = shutdown.cancelled() => {
                    conns.cancel();
                    return;
                }
            }
            if faults.refusing_until().is_some() {
                break;
            }
        }
        conns.cancel();
        drop(l);
    }
}
