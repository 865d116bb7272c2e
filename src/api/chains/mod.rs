//! The chain reads and tx tools (`/api/v1/chains`), by concern: the list (`list`), reads shaped from
//! CometBFT RPC / Cosmos REST with the upstream JSON under `raw` (`reads`), tx
//! simulate/broadcast/decode/build (`tx`) and block-time statistics (`blocktime`). The work
//! lives in `crate::chain`; every `/{chainId}/…` handler gets its chain from the `Chain`
//! extractor, resolved once against one directory snapshot.

mod blocktime;
mod list;
mod reads;
mod tx;

use crate::api::error::{ApiError, ErrorEnvelope};
use crate::app::AppState;
use axum::extract::{FromRequestParts, RawPathParams};
use axum::http::request::Parts;
use utoipa_axum::{router::OpenApiRouter, routes};

pub(super) use reads::tx_hash;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list::list_chains))
        .routes(routes!(reads::info))
        .routes(routes!(reads::status))
        .routes(routes!(reads::account))
        .routes(routes!(reads::balances))
        .routes(routes!(reads::mempool))
        .routes(routes!(reads::latest_block))
        .routes(routes!(reads::block))
        .routes(routes!(reads::block_txs))
        .routes(routes!(reads::tx_by_hash))
        .routes(routes!(tx::simulate))
        .routes(routes!(tx::broadcast))
        .routes(routes!(tx::decode))
        .routes(routes!(tx::build))
        .routes(routes!(blocktime::blocktime))
}

/// What every `/{chainId}/…` route that asks the node can answer besides its own errors.
/// Documentation only: handlers answer `ApiError`, so the variants are never built.
#[allow(dead_code)]
#[derive(utoipa::IntoResponses)]
pub enum UpstreamErrors {
    #[response(status = 404, description = "CHAIN_NOT_FOUND, in the error envelope")]
    ChainNotFound(ErrorEnvelope),
    #[response(
        status = 502,
        description = "UPSTREAM_ERROR: the node answered an error (details carry its code and log)"
    )]
    Upstream(ErrorEnvelope),
    #[response(status = 503, description = "UPSTREAM_UNREACHABLE: the node cannot be reached")]
    Unreachable(ErrorEnvelope),
    #[response(status = 504, description = "TIMEOUT: the node did not answer in time")]
    Timeout(ErrorEnvelope),
}

/// The chain a `/{chainId}/…` route names: 404 `CHAIN_NOT_FOUND` before the handler runs, and
/// the URLs the BFF calls it at (`mode=auto`), resolved from one directory snapshot.
pub struct Chain {
    pub id: String,
    pub endpoints: Upstream,
}

/// A chain's RPC and REST URLs as the BFF reaches them; asking for a missing one is
/// `UPSTREAM_UNREACHABLE` naming the endpoint.
pub struct Upstream {
    chain: String,
    rpc: Option<String>,
    api: Option<String>,
}

impl Upstream {
    pub fn rpc(&self) -> Result<String, ApiError> {
        self.rpc.clone().ok_or_else(|| self.missing("rpc"))
    }

    pub fn api(&self) -> Result<String, ApiError> {
        self.api.clone().ok_or_else(|| self.missing("api"))
    }

    fn missing(&self, kind: &'static str) -> ApiError {
        crate::chain::Error::NoEndpoint { chain: self.chain.clone(), kind }.into()
    }
}

impl FromRequestParts<AppState> for Chain {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let params = RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::bad_request("invalid path segment (not UTF-8)"))?;
        let id = params
            .iter()
            .find(|(name, _)| *name == "chainId")
            .map(|(_, value)| value.to_string())
            .ok_or_else(|| ApiError::internal("route without a chainId segment"))?;
        let resolved = state.directory.snapshot().resolve(&id, crate::chain::endpoints::Mode::Auto)?;
        let endpoints =
            Upstream { chain: id.clone(), rpc: resolved.endpoints.rpc, api: resolved.endpoints.api };
        Ok(Self { id, endpoints })
    }
}
