//! What every figure needs: a testbed waited to Ready, the BFF served in this process on a
//! free port (as `demo` serves it: it knows the testbed only by its kubeconfig), jobs run to
//! their end by following their log stream, and timing samples.

use crate::app::AppState;
use crate::config::Settings;
use anyhow::{Context as _, bail};
use k8s_openapi::api::core::v1::Pod;
use serde_json::Value;
use std::path::Path;
use std::time::{Duration, Instant};
use testbed::{Testbed, TestbedBuilder};

/// Upper bound of any wait in the bench; hitting it aborts the run with the reason.
pub const WAIT: Duration = Duration::from_secs(120);

/// Starts a testbed (pods turn Ready after 20 ms) and waits until every pod is Ready.
pub async fn testbed(builder: TestbedBuilder) -> anyhow::Result<Testbed> {
    // Benchmarks measure serving chains, not the chart's boot.
    let testbed = builder.ready_delay(Duration::from_millis(20)).boot_delay(Duration::ZERO).start().await?;
    all_ready(&testbed).await?;
    Ok(testbed)
}

/// Waits until every pod of the testbed is Ready (e.g. a recreated one).
pub async fn all_ready(testbed: &Testbed) -> anyhow::Result<()> {
    let pods: kube::Api<Pod> = kube::Api::namespaced(client(&testbed.kubeconfig).await?, "cryptomeria");
    let deadline = Instant::now() + WAIT;
    loop {
        let list = pods.list(&Default::default()).await?;
        if !list.items.is_empty() && list.items.iter().all(crate::cache::views::is_ready) {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("testbed pods not Ready within {WAIT:?}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub async fn client(kubeconfig: &Path) -> anyhow::Result<kube::Client> {
    let kc = kube::config::Kubeconfig::read_from(kubeconfig)?;
    let config = kube::Config::from_custom_kubeconfig(kc, &Default::default()).await?;
    Ok(kube::Client::try_from(config)?)
}

/// Execs the testbed's API server has served so far.
pub fn execs(testbed: &Testbed) -> u64 {
    testbed.control.request_counts().get("create pods/exec").copied().unwrap_or(0)
}

/// Requests a testbed chain has served so far (RPC and REST together).
pub fn chain_requests(testbed: &Testbed, chain: &str) -> u64 {
    testbed.control.chain_request_counts(chain).values().sum()
}

/// The BFF's HTTP API at `url`, wherever it runs (in this process or a `serve` child).
#[derive(Clone)]
pub struct Api {
    pub url: String,
    pub http: reqwest::Client,
}

/// The BFF served on 127.0.0.1:0 against a kubeconfig, in this process; stops when dropped.
pub struct Bff {
    pub api: Api,
    pub state: AppState,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl std::ops::Deref for Bff {
    type Target = Api;

    fn deref(&self) -> &Api {
        &self.api
    }
}

impl Drop for Bff {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

impl Bff {
    /// Serves the BFF with `adjust`ed settings and waits until `/readyz` answers 200.
    pub async fn start(kubeconfig: &Path, adjust: impl FnOnce(&mut Settings)) -> anyhow::Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let mut settings = Settings::for_kubeconfig(kubeconfig.to_path_buf(), addr);
        adjust(&mut settings);
        let state = AppState::connect(settings).await?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(crate::api::serve::serve(listener, state.clone(), async move {
            let _ = stopped.await;
        }));
        let api = Api { url: format!("http://{addr}"), http: reqwest::Client::new() };
        let bff = Self { api, state, stop: Some(stop) };
        bff.until("/readyz", "ready", |status, _| status == 200).await?;
        Ok(bff)
    }
}

impl Api {
    pub async fn get(&self, path: &str) -> anyhow::Result<(u16, Value)> {
        let resp = self.http.get(format!("{}{path}", self.url)).send().await?;
        let status = resp.status().as_u16();
        Ok((status, resp.json().await.unwrap_or(Value::Null)))
    }

    pub async fn post(&self, path: &str, body: &Value) -> anyhow::Result<(u16, Value)> {
        let resp = self.http.post(format!("{}{path}", self.url)).json(body).send().await?;
        let status = resp.status().as_u16();
        Ok((status, resp.json().await.unwrap_or(Value::Null)))
    }

    /// Re-reads `path` until `pred` holds (every 20 ms, at most `WAIT`).
    pub async fn until(
        &self,
        path: &str,
        what: &str,
        pred: impl Fn(u16, &Value) -> bool,
    ) -> anyhow::Result<Value> {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Ok((status, body)) = self.get(path).await
                && pred(status, &body)
            {
                return Ok(body);
            }
            if Instant::now() > deadline {
                bail!("{path} never showed {what} within {WAIT:?}");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Posts a job to `/api/v1/{scope}/{route}`, follows its log until it ends and returns
    /// the finished job (its status is the caller's to judge).
    pub async fn run_job(&self, scope: &str, route: &str, body: &Value) -> anyhow::Result<Value> {
        Ok(self.run_job_timed(scope, route, body).await?.0)
    }

    /// `run_job`, and the time from the POST until the job ended (its log closed), which
    /// leaves out the read of its result.
    pub async fn run_job_timed(
        &self,
        scope: &str,
        route: &str,
        body: &Value,
    ) -> anyhow::Result<(Value, std::time::Duration)> {
        self.run_job_within(scope, route, body, WAIT).await
    }

    /// `run_job_timed` for a job that may take longer than `WAIT` (at most `wait`).
    pub async fn run_job_within(
        &self,
        scope: &str,
        route: &str,
        body: &Value,
        wait: Duration,
    ) -> anyhow::Result<(Value, std::time::Duration)> {
        let t = std::time::Instant::now();
        let (status, accepted) = self.post(&format!("/api/v1/{scope}/{route}"), body).await?;
        if status != 202 {
            bail!("POST {scope}/{route} answered {status}: {accepted}");
        }
        let id = accepted["jobId"].as_str().context("no jobId")?.to_string();
        let logs = format!("{}/api/v1/{scope}/jobs/{id}/logs?follow=true", self.url);
        tokio::time::timeout(wait, async { self.http.get(logs).send().await?.text().await })
            .await
            .with_context(|| format!("job {id} did not end within {wait:?}"))??;
        let took = t.elapsed();
        let (_, job) = self.get(&format!("/api/v1/{scope}/jobs/{id}")).await?;
        Ok((job["data"].clone(), took))
    }

    /// Link actions a finished job planned (`rly transact link` lines of its JSONL log).
    pub async fn link_actions(&self, scope: &str, job_id: &str) -> anyhow::Result<usize> {
        let url = format!("{}/api/v1/{scope}/jobs/{job_id}/logs?format=jsonl&tail=100000", self.url);
        let log = self.http.get(url).send().await?.text().await?;
        Ok(log
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|l| {
                l["outcome"] == "planned"
                    && l["cmd"].as_str().is_some_and(|c| c.starts_with("rly transact link"))
            })
            .count())
    }
}

/// Timing samples of one measurement, in seconds.
#[derive(Debug, Clone, Default)]
pub struct Samples(pub Vec<f64>);

impl Samples {
    pub fn push(&mut self, d: Duration) {
        self.0.push(d.as_secs_f64());
    }

    fn sorted(&self) -> Vec<f64> {
        let mut v = self.0.clone();
        v.sort_by(f64::total_cmp);
        v
    }

    pub fn median(&self) -> f64 {
        let v = self.sorted();
        match v.len() {
            0 => f64::NAN,
            n if n % 2 == 1 => v[n / 2],
            n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
        }
    }

    /// `min–max (n=…)`, scaled by `unit` (e.g. 1000 for ms).
    pub fn spread(&self, unit: f64, digits: usize) -> String {
        let v = self.sorted();
        match (v.first(), v.last()) {
            (Some(lo), Some(hi)) => {
                format!("{:.digits$}–{:.digits$} (n={})", lo * unit, hi * unit, v.len())
            }
            _ => "n=0".into(),
        }
    }
}

/// The `p`-th percentile (nearest rank) of unsorted values.
pub fn percentile(values: &[f64], p: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * v.len() as f64).ceil().max(1.0) as usize;
    v[rank.min(v.len()) - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_and_spread_of_an_even_sample() {
        let s = Samples(vec![3.0, 1.0, 2.0, 10.0]);
        assert_eq!(s.median(), 2.5);
        assert_eq!(s.spread(1.0, 1), "1.0–10.0 (n=4)");
    }

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 50.0), 50.0);
        assert_eq!(percentile(&v, 99.0), 99.0);
        assert_eq!(percentile(&[7.0], 99.0), 7.0);
    }
}
