//! `pods/log`: the pod's stdout with `tailLines`, `sinceSeconds`/`sinceTime`, `timestamps`,
//! `limitBytes` and `follow` (a chunked stream until the pod goes away or the client leaves).

use super::query::Query;
use super::status::bad_request;
use crate::cluster::LivePod;
use crate::pod::LogLine;
use axum::body::{Body, Bytes};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use std::convert::Infallible;

/// Checks the `container` parameter against the pod as the real server's `validateContainer`;
/// `for_logs`: a container between restarts still has its last run's log to serve.
pub fn check_container(pod: &Value, requested: Option<&str>, for_logs: bool) -> Result<String, Response> {
    let name = pod["metadata"]["name"].as_str().unwrap_or_default();
    let containers: Vec<String> = pod["spec"]["containers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["name"].as_str().map(str::to_string))
        .collect();
    let chosen = match requested {
        Some(c) if containers.iter().any(|x| x == c) => c.to_string(),
        Some(c) => return Err(bad_request(&format!("container {c} is not valid for pod {name}"))),
        None if containers.len() == 1 => containers[0].clone(),
        None => {
            return Err(bad_request(&format!(
                "a container name must be specified for pod {name}, choose one of: [{}]",
                containers.join(" ")
            )));
        }
    };
    let status = pod["status"]["containerStatuses"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["name"] == chosen.as_str());
    let waiting = status.and_then(|c| c["state"]["waiting"]["reason"].as_str().map(str::to_string));
    // Between restarts (CrashLoopBackOff) the kubelet serves the last run's log, as
    // `validateContainerLogStatus` takes `lastState.terminated`; an exec finds nothing running.
    let last_run = status.is_some_and(|c| c["lastState"]["terminated"].is_object());
    if let Some(reason) = waiting.filter(|_| !(for_logs && last_run)) {
        return Err(bad_request(&format!(
            "container \"{chosen}\" in pod \"{name}\" is waiting to start: {reason}"
        )));
    }
    Ok(chosen)
}

pub fn serve(live: LivePod, pod: &Value, q: &Query) -> Response {
    if let Err(resp) = check_container(pod, q.get("container"), true) {
        return resp;
    }
    let parsed =
        (q.number::<usize>("tailLines"), q.number::<i64>("sinceSeconds"), q.number::<usize>("limitBytes"));
    let (Ok(tail), Ok(since_seconds), Ok(limit_bytes)) = parsed else {
        return bad_request("invalid log options");
    };
    let since = match (since_seconds, q.get("sinceTime")) {
        (Some(s), _) => Some(jiff::Timestamp::now() - jiff::SignedDuration::from_secs(s)),
        (None, Some(t)) => match t.parse::<jiff::Timestamp>() {
            Ok(t) => Some(t),
            Err(_) => return bad_request(&format!("invalid sinceTime {t:?}")),
        },
        (None, None) => None,
    };
    let timestamps = q.flag("timestamps");
    let render = move |l: &LogLine| {
        if timestamps { format!("{} {}\n", l.at, l.text) } else { format!("{}\n", l.text) }
    };
    // One lock for the snapshot and the subscription: follow neither repeats nor skips a line.
    let (mut lines, live_rx) = live.runtime.log().lines_and_subscribe();
    lines.retain(|l| since.is_none_or(|s| l.at >= s));
    if let Some(n) = tail {
        lines.drain(..lines.len().saturating_sub(n));
    }
    let mut text: String = lines.iter().map(render).collect();
    if let Some(limit) = limit_bytes {
        text.truncate(floor_char_boundary(&text, limit));
    }
    if !q.flag("follow") {
        return ([("content-type", "text/plain")], text).into_response();
    }
    let head = futures::stream::once(async move { Ok::<_, Infallible>(Bytes::from(text)) });
    let gone = live.gone.clone();
    let tail_stream = futures::stream::unfold((live_rx, gone), move |(mut rx, gone)| async move {
        loop {
            tokio::select! {
                line = rx.recv() => match line {
                    Ok(l) => return Some((Ok(Bytes::from(render(&l))), (rx, gone))),
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(_) => return None,
                },
                _ = gone.cancelled() => return None,
            }
        }
    });
    use futures::StreamExt as _;
    Response::builder()
        .header("content-type", "text/plain")
        .body(Body::from_stream(head.chain(tail_stream)))
        .unwrap_or_default()
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    if i >= s.len() {
        return s.len();
    }
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}
