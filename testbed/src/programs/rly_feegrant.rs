//! `rly chains configure feegrant basicallowance <chain> [granter]` (cosmos/relayer v2.6
//! `cmd/feegrant.go` and `cosmos/feegrant.go`): picks the granter, names (and creates) the
//! grantee keys, grants every grantee lacking one an unlimited BasicAllowance in ONE tx signed
//! by the granter and awaited in a block, then records the chain's latest height as
//! `block_last_verified`, from which on every tx on that chain is signed by the grantees in
//! turn (`rly_signer`). Logs are zap lines on stderr, as the real command writes them.

use super::rly_cli::{Args, NIL_CONFIG_PANIC, Outcome};
use super::rly_config::{ChainCfg, FeeGrants};
use super::rly_home::Home;
use super::rly_relay::log_values;
use crate::chain::authz::grant_allowance;
use crate::chain::coins::Coin;
use crate::chain::keys::validate_address;
use crate::chain::tx_codec::{UnsignedTx, hash_hex};
use crate::chain::{ChainNode, Chains};
use serde_json::Value;
use std::time::Duration;

/// `--num-grantees` default.
const DEFAULT_NUM_GRANTEES: i64 = 10;
/// `AwaitTx`'s timeout in `SubmitTxAwaitResponse`.
const AWAIT_TX: Duration = Duration::from_secs(15);
/// Gas of the grant tx: rly simulates it; this covers the ante handler and each grant.
const BASE_GAS: u64 = 100_000;
const GAS_PER_GRANT: u64 = 40_000;

/// The run's stderr so far; an error ends it with `Error: …`.
struct Log {
    json: bool,
    text: String,
}

impl Log {
    fn line(&mut self, lvl: &str, msg: &str, fields: &[(&str, Value)]) {
        self.text.push_str(&log_values(self.json, lvl, msg, fields));
    }

    fn fail(self, e: impl std::fmt::Display) -> Outcome {
        Outcome { code: 1, stdout: String::new(), stderr: format!("{}Error: {e}\n", self.text) }
    }

    fn done(self) -> Outcome {
        Outcome { code: 0, stdout: String::new(), stderr: self.text }
    }
}

/// How the granter argument resolved (`KeyFromKeyOrAddress`): a key of the keyring, or an
/// external address (the key name is then empty, as Go's is).
fn resolve_granter(home: &Home, ch: &ChainCfg, key_or_addr: &str) -> Result<(String, bool), String> {
    if key_or_addr.is_empty() {
        return Ok((ch.key.clone(), false));
    }
    if home.key_record(ch, key_or_addr).is_some() {
        return Ok((key_or_addr.to_string(), false));
    }
    if validate_address(key_or_addr).is_err() {
        return Err(format!(
            "an unknown granter was specified: '{key_or_addr}' is not a valid bech32 address"
        ));
    }
    Ok(match home.key_named_by_address(ch, key_or_addr) {
        Some(name) => (name, false),
        None => (String::new(), true),
    })
}

/// cobra's `MarkFlagsMutuallyExclusive("num-grantees", "grantees", "delete")` check.
fn exclusive_flags(args: &Args) -> Result<(), String> {
    let set: Vec<&str> = ["delete", "grantees", "num-grantees"]
        .into_iter()
        .filter(|f| args.flags.contains_key(&format!("--{f}")))
        .collect();
    if set.len() > 1 {
        return Err(format!(
            "if any flags in the group [num-grantees grantees delete] are set none of the others can be; [{}] were all set",
            set.join(" ")
        ));
    }
    Ok(())
}

pub(super) async fn configure(chains: &Chains, home: &Home, args: &Args) -> Outcome {
    let mut log = Log { json: args.flag(&["--log-format"]) == Some("json"), text: String::new() };
    let Some(mut cfg) = home.load() else {
        return Outcome { code: 2, stdout: String::new(), stderr: NIL_CONFIG_PANIC.into() };
    };
    if let Err(e) = exclusive_flags(args) {
        return log.fail(e);
    }
    let Some(name) = args.pos(4).map(str::to_string) else {
        return log.fail("requires at least 1 arg(s), only received 0");
    };
    let Some(ch) = cfg.chain(&name).cloned() else {
        return log.fail(format!(
            "chain with name \"{name}\" not found in config. consider running `rly chains add {name}`"
        ));
    };
    let key_or_addr = match (args.pos(5), &ch.feegrants) {
        (Some(g), _) => g.to_string(),
        (None, Some(fg)) => fg.granter.clone(),
        (None, None) => ch.key.clone(),
    };
    let (granter_key, external) = match resolve_granter(home, &ch, &key_or_addr) {
        Ok(g) => g,
        Err(e) => return log.fail(e),
    };
    if args.has(&["--delete"]) {
        log.line("info", "Deleting feegrant configuration", &[("chain", name.as_str().into())]);
        let mut ch = ch;
        ch.feegrants = None;
        cfg.put_chain(&name, ch);
        return match home.save(&cfg) {
            Ok(()) => log.done(),
            Err(e) => log.fail(e),
        };
    }
    let mut fg = ch.feegrants.clone();
    if let Some(f) = fg.as_mut().filter(|f| f.granter != granter_key) {
        if !args.has(&["--overwrite-granter"]) {
            return log.fail(format!(
                "you specified granter '{key_or_addr}' which is different than configured feegranter '{}', but you did not specify the --overwrite-granter flag",
                f.granter
            ));
        }
        f.granter = granter_key.clone();
        f.external_granter = external;
    }
    let grantees: Option<Vec<String>> = args
        .flag(&["--grantees"])
        .map(|g| g.split(',').map(str::trim).filter(|g| !g.is_empty()).map(str::to_string).collect());
    if fg.is_none() || args.has(&["--overwrite-grantees"]) || grantees.as_ref().is_some_and(|g| !g.is_empty())
    {
        let configured = match grantees {
            None if external => Err(format!(
                "external granter {key_or_addr} was specified, pre-authorized grantees must also be specified"
            )),
            None => {
                let n = args
                    .flag(&["--num-grantees"])
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(DEFAULT_NUM_GRANTEES);
                let names = (1..=n).map(|i| format!("grantee{i}")).collect();
                with_grantees(home, &ch, names, &granter_key, true)
            }
            Some(g) if !external => with_grantees(home, &ch, g, &granter_key, true),
            Some(g) => with_grantees(home, &ch, g, &key_or_addr, false),
        };
        match configured {
            Ok(mut f) => {
                f.external_granter = external;
                fg = Some(f);
            }
            Err(e) => return log.fail(e),
        }
    }
    let mut ch = ch;
    ch.feegrants = fg;
    cfg.put_chain(&name, ch.clone());
    if let Err(e) = home.save(&cfg) {
        return log.fail(e);
    }
    let Some(node) = chains.serving(&ch.chain_id) else {
        return log.fail(format!(
            "error writing grants on chain: 'post failed: Post \"{}\": dial tcp: connection refused'",
            ch.rpc_addr
        ));
    };
    let memo = args.flag(&["--memo"]).unwrap_or_default();
    if let Err(e) = ensure_basic_grants(&node, home, &ch, memo, &mut log).await {
        return log.fail(format!("error writing grants on chain: '{e}'"));
    }
    let height = i64::try_from(node.latest_height()).unwrap_or(i64::MAX);
    if let Some(f) = ch.feegrants.as_mut() {
        f.block_last_verified = height;
    }
    log.line("info", "feegrant configured", &[("height", height.into())]);
    cfg.put_chain(&name, ch);
    match home.save(&cfg) {
        Ok(()) => log.done(),
        Err(e) => log.fail(e),
    }
}

/// `ConfigureWithGrantees` (`create`: missing keys are added) or, for an external granter,
/// `ConfigureWithExternalGranter` (every grantee must already be a key).
fn with_grantees(
    home: &Home,
    ch: &ChainCfg,
    grantees: Vec<String>,
    granter: &str,
    create: bool,
) -> Result<FeeGrants, String> {
    if grantees.is_empty() {
        return Err("list of grantee names cannot be empty".into());
    }
    for g in &grantees {
        if home.key_record(ch, g).is_none() {
            if !create {
                return Err(format!("{g}.info: key not found"));
            }
            home.add_key(ch, g)?;
        }
    }
    Ok(FeeGrants {
        num_grantees: grantees.len() as i64,
        granter: granter.to_string(),
        grantees,
        ..Default::default()
    })
}

/// `EnsureBasicGrants`: the granter's live BasicAllowances on chain; one tx granting the
/// grantees without one, awaited like `SubmitTxAwaitResponse`; nothing when all have one.
async fn ensure_basic_grants(
    node: &ChainNode,
    home: &Home,
    ch: &ChainCfg,
    memo: &str,
    log: &mut Log,
) -> Result<(), String> {
    let Some(fg) = ch.feegrants.as_ref() else {
        return Err("chain client must be a FeeGranter to establish grants".into());
    };
    if fg.grantees.is_empty() {
        return Err("chain client is a FeeGranter, but is not managing any Grantees".into());
    }
    let granter_key = if fg.granter.is_empty() { ch.key.clone() } else { fg.granter.clone() };
    let granter_addr = if fg.external_granter {
        validate_address(&granter_key).map_err(|_| {
            format!("an unknown granter was specified: '{granter_key}' is not a valid bech32 address")
        })?;
        granter_key.clone()
    } else {
        home.key_address(ch, &granter_key).ok_or_else(|| {
            log.line("error", "Unknown key", &[("name", granter_key.as_str().into())]);
            format!("{granter_key}.info: key not found")
        })?
    };
    // `GetValidBasicGrants`: unexpired, and no spend limit used up.
    let now = jiff::Timestamp::now().as_second();
    let granted: Vec<String> = node.read_state(|l| {
        l.authz()
            .allowances
            .iter()
            .filter(|((g, _), a)| {
                *g == granter_addr
                    && a.expiration.is_none_or(|e| e > now)
                    && a.spend_limit.iter().all(|c| c.amount > 0)
            })
            .map(|((_, grantee), _)| grantee.clone())
            .collect()
    });
    let mut msgs = Vec::new();
    for g in &fg.grantees {
        let Some(addr) = home.key_address(ch, g) else {
            log.line("error", "Unknown grantee", &[("key_name", g.as_str().into())]);
            return Err(format!("{g}.info: key not found"));
        };
        if granted.contains(&addr) {
            continue;
        }
        let fields = |k: &'static str| [(k, granter_addr.as_str().into()), ("grantee", addr.as_str().into())];
        if fg.external_granter {
            log.line("warn", "Missing feegrant", &fields("external_granter"));
        } else {
            log.line("info", "Creating feegrant", &fields("granter"));
            msgs.push(grant_allowance(&granter_addr, &addr, &[], None));
        }
    }
    if msgs.is_empty() {
        return Ok(());
    }
    let new_grants = msgs.len();
    let Some(account) = node.account(&granter_addr) else {
        return Err(format!("granter {granter_key} does not exist on chain"));
    };
    let key =
        home.signing_key(ch, &granter_key).ok_or_else(|| format!("{granter_key}.info: key not found"))?;
    let gas = BASE_GAS + GAS_PER_GRANT * new_grants as u64;
    let denom = ch.fee_denom().to_string();
    let price: f64 = ch.gas_prices.trim_end_matches(denom.as_str()).parse().unwrap_or(0.0);
    let mut tx = UnsignedTx::new(msgs, Coin::new((gas as f64 * price).ceil() as u128, &denom), gas);
    tx.memo = memo.to_string();
    let bytes = tx.sign(&key, &ch.chain_id, account.number, account.sequence);
    let outcome = node.check_tx(&bytes).map_err(|e| e.to_string())?;
    let hash = hash_hex(&outcome.hash);
    if outcome.result.code != 0 {
        return Err(outcome.result.log);
    }
    match node.wait_for_tx(&outcome.hash, AWAIT_TX).await {
        Some(tx) if tx.result().code == 0 => {
            log.line(
                "info",
                "Feegrant succeeded",
                &[
                    ("new_grants", new_grants.into()),
                    ("existing_grants", (fg.grantees.len() - new_grants).into()),
                    ("tx_hash", hash.into()),
                ],
            );
            Ok(())
        }
        Some(tx) => {
            log.line(
                "warn",
                "Feegrant TX failed",
                &[("tx_hash", hash.into()), ("code", tx.result().code.into())],
            );
            Err(format!("could not configure feegrant for granter {granter_key}"))
        }
        None => Err(format!("rpc error: code = NotFound desc = tx not found: {hash}")),
    }
}
