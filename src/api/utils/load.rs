//! `POST /utils/load/transfers`: load without hand-signing (see `crate::utils::load`). The
//! route checks the request against the utilities' limits, finds the funding sources (the
//! chart's faucet for gwc, the chain's pod for a bank send from local-admin) and submits the
//! job's three steps: fund, sign, broadcast.

use super::send::{SendFields, echo_send, send_fields};
use super::{JOB_TIMEOUT_MARGIN, limit, submit, target};
use crate::api::body::BodyErrors;
use crate::api::error::{ApiError, ErrorEnvelope};
use crate::api::extract::ApiJson;
use crate::app::AppState;
use crate::cache::views;
use crate::chart::{FAUCET_PORT, FAUCET_SERVICE, GWC, INSTANCE_LABEL};
use crate::jobs::model::AcceptedAnswer;
use crate::utils::broadcast::Mode;
use crate::utils::funding::{Funding, FundingSource};
use crate::utils::load::{self, LoadSpec};
use crate::utils::signer::Fee;
use axum::extract::State;
use axum::response::Response;
use serde::Deserialize;
use serde_json::json;
use std::time::Duration;
use utoipa::ToSchema;

/// Throwaway accounts when the request names none (each signs its txs in sequence).
const DEFAULT_ACCOUNTS: usize = 8;
/// At most this many throwaway accounts (one distribution tx pays them all).
const MAX_ACCOUNTS: usize = 64;
/// A MsgSend stays well under this (a v0.50 chain reports ~70k gas).
const DEFAULT_GAS_LIMIT: u64 = 100_000;
/// uatom per gas: the relayer's `gas-prices`, which every chain of the chart accepts.
const DEFAULT_GAS_PRICE: f64 = 0.001;

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LoadTransfersRequest {
    pub chain_id: String,
    /// Transfers to sign and send, 1..=maxBatchSize.
    #[serde(default, deserialize_with = "crate::api::int::opt")]
    pub txs: Option<usize>,
    /// Throwaway accounts that sign them, 1..=64 and at most `txs` (default 8).
    #[serde(default, deserialize_with = "crate::api::int::opt")]
    pub accounts: Option<usize>,
    /// uatom per transfer (default 1).
    #[serde(default, deserialize_with = "crate::api::int::opt")]
    pub amount: Option<u64>,
    /// Gas limit of each transfer (default 100000).
    #[serde(default, deserialize_with = "crate::api::int::opt")]
    pub gas_limit: Option<u64>,
    /// uatom per unit of gas (default 0.001).
    pub gas_price: Option<f64>,
    /// `auto` (default), `faucet` or `bankSend`.
    pub funding: Option<Funding>,
    /// Broadcasts in flight at once, 1..=maxConcurrency (default 8).
    #[serde(default, deserialize_with = "crate::api::int::opt")]
    pub concurrency: Option<usize>,
    /// `sync` (default) or `async`.
    pub mode: Option<Mode>,
    /// Pace sends to this many per second (default: as fast as answers come).
    #[serde(default, deserialize_with = "crate::api::int::opt")]
    pub rate_per_second: Option<f64>,
    /// Follow blocks until every accepted tx is committed (default true).
    pub wait_for_confirmation: Option<bool>,
    /// Sending and confirmation (default 300, up to maxTimeoutSeconds); funding gets its own.
    #[serde(default, deserialize_with = "crate::api::int::opt")]
    pub timeout_seconds: Option<u64>,
    /// Stop early when no block comes for this long (default 30).
    #[serde(default, deserialize_with = "crate::api::int::opt")]
    pub stall_timeout_seconds: Option<f64>,
}

/// Makes throwaway accounts, funds them (faucet, or a bank send from local-admin), signs the
/// transfers in the BFF and sends them as broadcast-batch does. The result is
/// broadcast-batch's, with `funding` (source, funder and account addresses: never a key).
#[utoipa::path(post, path = "/load/transfers", operation_id = "utils_load_transfers", tag = "utils",
    request_body = LoadTransfersRequest,
    responses(
        (status = 202, description = "job accepted", body = AcceptedAnswer),
        BodyErrors,
        (status = 404, description = "CHAIN_NOT_FOUND", body = ErrorEnvelope),
        (status = 422, description = "VALIDATION_ERROR", body = ErrorEnvelope),
        (status = 429, description = "LIMIT_EXCEEDED (maxBatchSize, maxConcurrency, maxRunningJobs, maxTimeoutSeconds)", body = ErrorEnvelope),
    ))]
pub(super) async fn transfers(
    State(state): State<AppState>,
    ApiJson(r): ApiJson<LoadTransfersRequest>,
) -> Result<Response, ApiError> {
    let jobs = &state.settings.jobs;
    let Some(txs) = r.txs else {
        return Err(ApiError::validation("txs", "txs is required: how many transfers to send"));
    };
    if txs == 0 {
        return Err(ApiError::validation("txs", "txs must be at least 1"));
    }
    if txs > jobs.max_batch_size {
        return Err(limit("maxBatchSize", jobs.max_batch_size, txs));
    }
    let accounts = r.accounts.unwrap_or(DEFAULT_ACCOUNTS.min(txs));
    if accounts == 0 || accounts > MAX_ACCOUNTS.min(txs) {
        return Err(ApiError::validation(
            "accounts",
            format!("accounts must be 1..={}", MAX_ACCOUNTS.min(txs)),
        ));
    }
    let send = send_fields!(r).check(&state)?;
    let gas_price = r.gas_price.unwrap_or(DEFAULT_GAS_PRICE);
    if !(gas_price.is_finite() && (0.0..=1000.0).contains(&gas_price)) {
        return Err(ApiError::validation("gasPrice", "gasPrice must be a number of uatom in [0, 1000]"));
    }
    let gas_limit = r.gas_limit.unwrap_or(DEFAULT_GAS_LIMIT);
    if !(1..=10_000_000).contains(&gas_limit) {
        return Err(ApiError::validation("gasLimit", "gasLimit must be 1..=10000000"));
    }
    let amount = r.amount.unwrap_or(1);
    if amount == 0 {
        return Err(ApiError::validation("amount", "amount must be at least 1"));
    }
    let target = target(&state, &r.chain_id)?;
    let funding = r.funding.unwrap_or_default();
    let mut request = json!({
        "chainId": r.chain_id, "txs": txs, "accounts": accounts, "amount": amount, "gasLimit": gas_limit,
        "gasPrice": gas_price, "funding": funding,
    });
    echo_send(&mut request, &send);
    // Funding waits for two txs (to the funder, then to the accounts): a few blocks each.
    let timeout = send.timeout;
    let funding_timeout = Duration::from_secs(120).min(timeout);
    let spec = LoadSpec {
        client: state.chains.for_chain(&r.chain_id),
        source: funding_source(&state, &r.chain_id),
        target,
        txs,
        accounts,
        amount: u128::from(amount),
        fee: Fee { gas_limit, gas_price },
        funding,
        send,
        funding_timeout,
    };
    submit(
        &state,
        "utils.load.transfers",
        request,
        load::steps(spec),
        timeout + funding_timeout * 2 + JOB_TIMEOUT_MARGIN,
    )
}

/// The faucet's URL where it serves this chain (the chart's faucet funds gwc), and the
/// chain's ready pod for a bank send from local-admin.
pub(super) fn funding_source(state: &AppState, chain_id: &str) -> FundingSource {
    let snapshot = state.directory.snapshot();
    let pod = views::chain_pods(&snapshot.pods)
        .into_iter()
        .filter(|p| views::is_ready(p))
        .find(|p| {
            p.metadata.labels.as_ref().and_then(|l| l.get(INSTANCE_LABEL)).map(String::as_str)
                == Some(chain_id)
        })
        .and_then(|p| p.metadata.name.clone());
    let faucet = (chain_id == GWC).then(|| faucet_url(state, &snapshot)).flatten();
    FundingSource { faucet, pod, exec: state.exec() }
}

fn faucet_url(state: &AppState, snapshot: &crate::cache::directory::Snapshot<'_>) -> Option<String> {
    let service = snapshot.services.iter().find(|s| s.metadata.name.as_deref() == Some(FAUCET_SERVICE))?;
    if state.directory.in_cluster() {
        return Some(format!("http://{FAUCET_SERVICE}.{}:{FAUCET_PORT}", state.settings.namespace));
    }
    let ports = service.spec.as_ref()?.ports.as_ref()?;
    let node_port = ports.iter().find(|p| p.port == i32::from(FAUCET_PORT))?.node_port?;
    let (host, _) = snapshot.node_host();
    Some(format!("http://{}:{node_port}", host?))
}
