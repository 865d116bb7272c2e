//! P3: `GET /system/status` over 200 pods, served from the watch-fed cache, against a handler
//! that LISTs pods and services from the API server on every request and builds the same
//! page through the same function (`system::status::status_of`). Both are driven by the same
//! concurrent clients for a fixed number of requests.

use super::harness::{self, Bff, Samples, percentile};
use super::process::Sched;
use super::table::Row;
use super::{Reps, Section};
use crate::api::error::ApiError;
use crate::app::AppState;
use anyhow::ensure;
use axum::extract::State;
use axum::response::Response;
use k8s_openapi::api::core::v1::{Pod, Service};
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};
use testbed::Testbed;

/// Pods in the namespace: the chart's (gwc, mdsc, 2 fdsc, relayer) plus plain ones.
const PODS: usize = 200;
pub(super) const CLIENTS: usize = 8;
/// Requests per timed round: fixed per side, fewer for the slow side so a round of each
/// takes a few seconds (rates and percentiles, not totals, are compared).
const REQUESTS: usize = 400;
const BASELINE_REQUESTS: usize = 100;
/// Requests per side of the untimed warm-up round.
const WARMUP_REQUESTS: usize = 40;

/// The baseline: LIST per request, then the same projection as the cached route.
async fn listing_status(State(state): State<AppState>) -> Result<Response, ApiError> {
    let ns = state.settings.namespace.clone();
    let (pod_api, service_api, params) = (
        kube::Api::<Pod>::namespaced(state.kube.clone(), &ns),
        kube::Api::<Service>::namespaced(state.kube.clone(), &ns),
        kube::api::ListParams::default(),
    );
    let (pods, services) = tokio::try_join!(pod_api.list(&params), service_api.list(&params))
        .map_err(|e| ApiError::internal(format!("failed to list the namespace: {e}")))?;
    let pods = pods.items.into_iter().map(Arc::new).collect();
    let services = services.items.into_iter().map(Arc::new).collect();
    Ok(crate::api::ok(crate::system::status::status_of(&state.reads(), pods, services).await))
}

/// Serves the baseline route on a free port; stops when the sender drops.
pub(super) async fn serve_baseline(
    state: AppState,
) -> anyhow::Result<(String, tokio::sync::oneshot::Sender<()>)> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/status", listener.local_addr()?);
    let router = axum::Router::new().route("/status", axum::routing::get(listing_status)).with_state(state);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(crate::api::serve::serve_router(listener, router, async move {
        let _ = stopped.await;
    }));
    Ok((url, stop))
}

/// `requests` GETs from `CLIENTS` concurrent clients; (wall time, per-request latencies in s).
/// With `pods`, every answer is parsed and must show that many pods; without, only its
/// status is checked and its body read (the client then costs the shared cores little).
///
/// The clients run on a runtime of their own, on their own thread: on the bench's runtime
/// they would queue behind the embedded cluster's tasks (up to 34 chains making blocks),
/// which a client of a real cluster never does.
pub(super) async fn drive(
    url: &str,
    requests: usize,
    pods: Option<usize>,
) -> anyhow::Result<(Duration, Vec<f64>)> {
    let (took, latencies, _) = drive_sched(url, requests, pods).await?;
    Ok((took, latencies))
}

/// `drive`, and what the scheduler counted for the clients' thread while it ran.
pub(super) async fn drive_sched(
    url: &str,
    requests: usize,
    pods: Option<usize>,
) -> anyhow::Result<(Duration, Vec<f64>, Sched)> {
    let url = url.to_string();
    let (done, result) = tokio::sync::oneshot::channel();
    std::thread::Builder::new().name("bench-clients".into()).spawn(move || {
        let ran = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(anyhow::Error::from)
            .and_then(|runtime| runtime.block_on(clients(&url, requests, pods)));
        let _ = done.send(ran.map(|(took, latencies)| (took, latencies, Sched::of_this_thread())));
    })?;
    result.await?
}

async fn clients(url: &str, requests: usize, pods: Option<usize>) -> anyhow::Result<(Duration, Vec<f64>)> {
    let http = reqwest::Client::new();
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let t = Instant::now();
    let clients = (0..CLIENTS).map(|_| {
        let (http, url, next) = (http.clone(), url.to_string(), next.clone());
        async move {
            let mut latencies = Vec::new();
            while next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) < requests {
                let sent = Instant::now();
                let body = http.get(&url).send().await?.error_for_status()?.bytes().await?;
                latencies.push(sent.elapsed().as_secs_f64());
                if let Some(pods) = pods {
                    let body: serde_json::Value = serde_json::from_slice(&body)?;
                    let seen = body["data"]["pods"].as_array().map_or(0, Vec::len);
                    ensure!(seen == pods, "{url} showed {seen} pods, not {pods}");
                }
            }
            anyhow::Ok(latencies)
        }
    });
    let mut all = Vec::with_capacity(requests);
    for c in futures::future::join_all(clients).await {
        all.extend(c?);
    }
    Ok((t.elapsed(), all))
}

pub async fn run(reps: &Reps, section: &mut Section) -> anyhow::Result<()> {
    let testbed = harness::testbed(Testbed::builder().block_interval(None)).await?;
    let existing = harness::client(&testbed.kubeconfig).await?;
    let listed = kube::Api::<Pod>::namespaced(existing, "cryptomeria").list(&Default::default()).await?;
    testbed.control.add_plain_pods(PODS.saturating_sub(listed.items.len()));
    let bff = Bff::start(&testbed.kubeconfig, |_| {}).await?;
    bff.until("/api/v1/system/status", "200 pods in the cache", |_, b| {
        b["data"]["pods"].as_array().is_some_and(|p| p.len() == PODS)
    })
    .await?;
    let (baseline_url, _stop) = serve_baseline(bff.state.clone()).await?;
    let cached_url = format!("{}/api/v1/system/status", bff.url);
    let (mut cached, mut listing) = (Samples::default(), Samples::default());
    let (mut cached_lat, mut listing_lat) = (Vec::new(), Vec::new());
    // Round 0 warms both up (connections, allocator, the chain status cache).
    let lists = || testbed.control.request_counts().get("list pods").copied().unwrap_or(0);
    for round in 0..=reps.timed {
        let (n, base_n) =
            if round == 0 { (WARMUP_REQUESTS, WARMUP_REQUESTS) } else { (REQUESTS, BASELINE_REQUESTS) };
        let before = lists();
        let (took, lat) = drive(&cached_url, n, Some(PODS)).await?;
        ensure!(lists() == before, "the cached route listed pods");
        let (base_took, base_lat) = drive(&baseline_url, base_n, Some(PODS)).await?;
        ensure!(lists() - before >= base_n as u64, "the baseline did not list per request");
        if round > 0 {
            cached.push(took);
            listing.push(base_took);
            cached_lat.extend(lat);
            listing_lat.extend(base_lat);
        }
    }
    let (bff_rps, base_rps) =
        (REQUESTS as f64 / cached.median(), BASELINE_REQUESTS as f64 / listing.median());
    let ms = |v: &[f64], p: f64| percentile(v, p) * 1000.0;
    let (p50, p99, bp50, bp99) =
        (ms(&cached_lat, 50.0), ms(&cached_lat, 99.0), ms(&listing_lat, 50.0), ms(&listing_lat, 99.0));
    let per_s = |s: &Samples, n: usize| {
        let rates: Vec<f64> = s.0.iter().map(|t| n as f64 / t).collect();
        Samples(rates).spread(1.0, 0)
    };
    section.row(
        Row::new("P3", format!("GET /system/status, {PODS} pods, {CLIENTS} clients (req/s; p50/p99 ms)"))
            .figure(format!("{bff_rps:.0} req/s; {p50:.1}/{p99:.1}"))
            .baseline(format!("{base_rps:.0} req/s; {bp50:.1}/{bp99:.1}"))
            .ratio(bff_rps / base_rps)
            .spread(format!("{} / {}", per_s(&cached, REQUESTS), per_s(&listing, BASELINE_REQUESTS))),
    );
    section.json(
        "p3",
        json!({"ratio": bff_rps / base_rps, "p50_ms": p50, "p99_ms": p99, "bff_rps": bff_rps,
               "baseline_rps": base_rps, "baseline_p50_ms": bp50, "baseline_p99_ms": bp99,
               "pods": PODS, "clients": CLIENTS, "requests": REQUESTS,
               "baseline_requests": BASELINE_REQUESTS}),
    );
    eprintln!("bench: P3 done");
    Ok(())
}
