//! Getting uatom to an account a job made: the chart's faucet (ping-pub's, which serves gwc),
//! or a bank send from `local-admin` in the chain's pod — what the chart's `faucet.sh` runs —
//! or the faucet topped up by the bank send. Says which, and waits until the chain has the
//! account.

use super::ChainTarget;
use super::observe::upstream_failure;
use crate::chain::{ChainClient, rest};
use crate::chart::{DENOM, LOCAL_ADMIN, chain_binary, chain_home, local_admin_tx};
use crate::error_code::{ErrorCode, Failure};
use crate::jobs::StepCtx;
use crate::k8s::PodExec;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::time::Duration;
use utoipa::ToSchema;

/// Where the funds come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, Default)]
#[serde(rename_all = "camelCase")]
pub enum Funding {
    /// The faucet where it serves the chain (gwc), else a bank send from local-admin; a
    /// faucet that does not answer or gives too little is topped up by the bank send.
    #[default]
    Auto,
    /// Only the chart's faucet (`GET /send/{address}`).
    Faucet,
    /// Only a bank send from the chain's `local-admin` key, in the chain's pod.
    BankSend,
}

/// How the chain is reached for funding: the faucet's URL when it serves this chain, and
/// the chain pod whose keyring holds local-admin.
pub struct FundingSource {
    pub faucet: Option<String>,
    pub pod: Option<String>,
    pub exec: PodExec,
}

/// One chain's funding: where from, at what gas price, and how long to wait.
pub struct Funder<'a> {
    pub client: &'a ChainClient,
    pub target: &'a ChainTarget,
    pub source: &'a FundingSource,
    pub funding: Funding,
    /// uatom per gas of the bank send.
    pub gas_price: f64,
    pub timeout: Duration,
    pub poll: Duration,
}

impl Funder<'_> {
    /// The chain id the node reports (what txs are signed for), waiting while the node does
    /// not answer yet (a chain still booting after the chart's install or a resume).
    pub async fn network(&self, ctx: &StepCtx) -> Result<String, Failure> {
        let deadline = tokio::time::Instant::now() + self.timeout;
        let mut said = false;
        loop {
            match crate::chain::rpc::node_status(self.client, &self.target.rpc).await {
                Ok((status, _)) => return Ok(status.network.unwrap_or_else(|| self.target.chain_id.clone())),
                Err(e @ (crate::chain::Error::Unreachable { .. } | crate::chain::Error::Timeout { .. }))
                    if tokio::time::Instant::now() < deadline =>
                {
                    if !std::mem::replace(&mut said, true) {
                        ctx.info(&format!("waiting for {}'s RPC to answer ({e})", self.target.chain_id));
                    }
                }
                Err(e) => return Err(upstream_failure("failed to read the chain's status", &e)),
            }
            tokio::time::sleep(self.poll.max(Duration::from_millis(250))).await;
        }
    }

    /// Gets `total` uatom to `to` and waits until the chain has the account; which source
    /// paid (`faucet`, `bankSend`, `faucet+bankSend`) and the account's (number, sequence).
    pub async fn fund(
        &self,
        ctx: &StepCtx,
        to: &str,
        total: u128,
    ) -> Result<(&'static str, (u64, u64)), Failure> {
        let how = self.obtain(ctx, to, total).await?;
        Ok((how, self.wait_for_account(to).await?))
    }

    async fn obtain(&self, ctx: &StepCtx, to: &str, total: u128) -> Result<&'static str, Failure> {
        let faucet = match (self.funding, &self.source.faucet) {
            (Funding::BankSend, _) | (Funding::Auto, None) => None,
            (_, Some(url)) => Some(url.as_str()),
            (Funding::Faucet, None) => {
                return Err(Failure::new(
                    ErrorCode::ValidationError,
                    format!("no faucet serves {}: the chart's faucet funds gwc only", self.target.chain_id),
                )
                .with_details(json!({"field": "funding", "hint": "use funding=bankSend or auto"})));
            }
        };
        if let Some(url) = faucet {
            let asked = format!("GET {url}/send/{to}");
            match faucet_send(self.client, url, to).await {
                Ok(given) => {
                    ctx.command(&asked, &format!("{given}{DENOM} sent"));
                    if given >= total {
                        return Ok("faucet");
                    }
                    if self.funding == Funding::Faucet {
                        return Err(Failure::new(
                            ErrorCode::LimitExceeded,
                            format!(
                                "the faucet gives {given}{DENOM} a request; this job needs {total}{DENOM}"
                            ),
                        )
                        .with_details(json!({"hint": "ask for less, or use funding=bankSend or auto"})));
                    }
                    self.bank_send(ctx, to, total - given).await?;
                    return Ok("faucet+bankSend");
                }
                Err(why) if self.funding == Funding::Faucet => {
                    return Err(Failure::new(
                        ErrorCode::UpstreamError,
                        format!("the faucet did not fund: {why}"),
                    ));
                }
                Err(why) => ctx.info(&format!(
                    "the faucet did not fund ({why}); a bank send from {LOCAL_ADMIN} instead"
                )),
            }
        }
        self.bank_send(ctx, to, total).await?;
        Ok("bankSend")
    }

    /// `<chain>d tx bank send local-admin <to> <amount>` in the chain's pod.
    async fn bank_send(&self, ctx: &StepCtx, to: &str, amount: u128) -> Result<(), Failure> {
        let chain = self.target.chain_id.as_str();
        let pod = self.source.pod.as_deref().ok_or_else(|| {
            Failure::new(
                ErrorCode::PodNotFound,
                format!("no ready pod of {chain} to send from {LOCAL_ADMIN}"),
            )
        })?;
        let (binary, coins) = (chain_binary(chain), format!("{amount}{DENOM}"));
        let argv = local_admin_tx(
            chain,
            &["bank", "send", LOCAL_ADMIN, to, &coins],
            "200000",
            &self.gas_price.to_string(),
            &chain_home(chain),
        );
        let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
        let display = format!("{binary} tx bank send {LOCAL_ADMIN} {to} {coins}");
        let out = self
            .source
            .exec
            .run(pod, &argv, None)
            .await
            .map_err(|e| Failure::new(ErrorCode::ExecFailed, format!("{display} in {pod}: {e}")))?;
        let answer: Value = serde_json::from_str(out.stdout.trim()).unwrap_or(Value::Null);
        if out.code != 0 || answer["code"].as_i64() != Some(0) {
            let said =
                answer["raw_log"].as_str().unwrap_or_else(|| crate::k8s::script::last_line(&out.stderr));
            ctx.command(&display, &format!("exit {}", out.code));
            return Err(Failure::new(
                ErrorCode::ExecFailed,
                format!("{display} failed (exit {}, code {}): {said}", out.code, answer["code"]),
            )
            .with_details(json!({"hint": format!("fund {LOCAL_ADMIN} on {chain}, or use the faucet")})));
        }
        ctx.command(&display, &format!("ok (tx {})", answer["txhash"].as_str().unwrap_or("?")));
        Ok(())
    }

    /// Waits until `address` exists on chain; its (number, sequence).
    async fn wait_for_account(&self, address: &str) -> Result<(u64, u64), Failure> {
        let deadline = tokio::time::Instant::now() + self.timeout;
        loop {
            match rest::account(self.client, &self.target.api, address).await {
                Ok(account) => {
                    if let Some(numbers) = rest::account_numbers(&account) {
                        return Ok(numbers);
                    }
                }
                Err(crate::chain::Error::NotFound { .. }) => {}
                Err(e) => return Err(upstream_failure("reading a funded account", &e)),
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(Failure::new(
                    ErrorCode::Timeout,
                    format!("{address} was not funded within {}s", self.timeout.as_secs()),
                ));
            }
            tokio::time::sleep(self.poll).await;
        }
    }
}

/// ping-pub's faucet: `GET /send/{address}` answers `{result: DeliverTxResponse}` or
/// `{result: "<why not>"}`. The amount it sent, from the response's transfer event.
async fn faucet_send(client: &ChainClient, url: &str, address: &str) -> Result<u128, String> {
    let answer = client.rest_get(url, &format!("/send/{address}"), &[]).await.map_err(|e| e.to_string())?;
    let result = &answer["result"];
    if let Some(why) = result.as_str() {
        return Err(why.to_string());
    }
    if result["code"].as_i64().unwrap_or(-1) != 0 {
        return Err(format!("tx code {}", result["code"]));
    }
    let sent = result["events"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["type"] == "transfer")
        .flat_map(|e| e["attributes"].as_array().into_iter().flatten())
        .find(|a| a["key"] == "amount")
        .and_then(|a| a["value"].as_str())
        .and_then(|v| v.strip_suffix(DENOM))
        .and_then(|v| v.parse::<u128>().ok());
    sent.ok_or_else(|| "the faucet's answer names no amount".into())
}
