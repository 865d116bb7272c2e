//! `rly` (cosmos/relayer v2.6) in the relayer pod, with the real command's output formats and
//! error texts: this file dispatches the subcommands and runs `start`. The command line is
//! `rly_cli`, the config and key store `rly_home`, paths and channel queries `rly_link`, the
//! link handshake `rly_handshake`, relaying `rly_relay`, who signs `rly_signer`, feegrants
//! `rly_feegrant`. No mnemonic is ever written to stdout, stderr or a log, but the new one
//! `keys add` prints.

use super::rly_cli::{Args, NIL_CONFIG_PANIC, Outcome};
use super::rly_config::{ChainCfg, RlyConfig};
use super::rly_handshake::{LinkEnds, LinkFaults};
use super::rly_home::Home;
use crate::chain::Chains;
use crate::layout::RELAYER_HOME;
use crate::pod::{ProcCtx, Program};
use futures::FutureExt as _;
use futures::future::BoxFuture;

/// Whether a host name resolves from the pod (the cluster's DNS).
pub type Resolver = std::sync::Arc<dyn Fn(&str) -> bool + Send + Sync>;

/// The simulated `rly`. Holds the chain registry so balances are real.
#[derive(Clone)]
pub struct Rly {
    chains: Chains,
    faults: std::sync::Arc<LinkFaults>,
    relay: std::sync::Arc<super::rly_relay::RelayControls>,
    resolves: Resolver,
}

impl Rly {
    pub fn new(
        chains: Chains,
        faults: std::sync::Arc<LinkFaults>,
        relay: std::sync::Arc<super::rly_relay::RelayControls>,
        resolves: Resolver,
    ) -> Self {
        Self { chains, faults, relay, resolves }
    }

    /// Go's resolver error for a chain whose `rpc-addr` host the cluster DNS does not know
    /// (a chain file written for another release), as `rly` reports a failed dial.
    fn unresolved(&self, ch: &ChainCfg) -> Option<String> {
        let host = ch.rpc_addr.split("://").last()?.split([':', '/']).next()?;
        (!(self.resolves)(host)).then(|| {
            format!(
                "post failed: Post \"{}\": dial tcp: lookup {host} on {}: no such host",
                ch.rpc_addr,
                crate::layout::NAMESERVER
            )
        })
    }
}

impl Program for Rly {
    fn run(&self, mut ctx: ProcCtx) -> BoxFuture<'static, i32> {
        let me = self.clone();
        async move {
            let args = Args::parse(ctx.argv.get(1..).unwrap_or_default());
            if args.pos.first().map(String::as_str) == Some("start") {
                return me.start(&mut ctx, &args).await;
            }
            let cmd: Vec<&str> = args.pos.iter().take(3).map(String::as_str).collect();
            let outcome = if cmd.starts_with(&["transact", "link"]) {
                me.transact_link(Self::home(&ctx, &args), &args).await
            } else if cmd == ["chains", "configure", "feegrant"] && args.pos(3) == Some("basicallowance") {
                super::rly_feegrant::configure(&me.chains, &Self::home(&ctx, &args), &args).await
            } else {
                me.dispatch(&ctx, &args)
            };
            if !outcome.stdout.is_empty() {
                ctx.out(&outcome.stdout).await;
            }
            if !outcome.stderr.is_empty() {
                ctx.err(&outcome.stderr).await;
            }
            outcome.code
        }
        .boxed()
    }
}

impl Rly {
    fn home(ctx: &ProcCtx, args: &Args) -> Home {
        let home = args.flag(&["--home"]).map(|h| ctx.path(h)).unwrap_or_else(|| RELAYER_HOME.to_string());
        Home { fs: ctx.pod.fs().clone(), home }
    }

    /// `rly start [path...] --log-format json`: zap JSON lines on stderr (`cmd/root.go
    /// newRootLogger`), one "Chain is in sync" per configured chain, then relays the
    /// named paths (all when none is named) until signalled (`pkill -x rly`).
    async fn start(&self, ctx: &mut ProcCtx, args: &Args) -> i32 {
        let home = Self::home(ctx, args);
        let Some(cfg) = home.load() else {
            ctx.err(NIL_CONFIG_PANIC).await;
            return 2;
        };
        let json = args.flag(&["--log-format"]) == Some("json");
        let mut lines = String::new();
        for (name, ch) in &cfg.chains {
            let ts = humantime::format_rfc3339_micros(std::time::SystemTime::now());
            let in_sync = self.unresolved(ch).is_none() && self.chains.serving(&ch.chain_id).is_some();
            let (lvl, msg) = if in_sync {
                ("info", "Chain is in sync")
            } else {
                ("warn", "Failed to query latest height")
            };
            if json {
                let v = serde_json::json!({"lvl": lvl, "ts": ts.to_string(), "msg": msg, "chain_name": name, "chain_id": ch.chain_id});
                lines.push_str(&format!("{v}\n"));
            } else {
                lines.push_str(&format!(
                    "{ts}\t{lvl}\t{msg}\t{{\"chain_name\": \"{name}\", \"chain_id\": \"{}\"}}\n",
                    ch.chain_id
                ));
            }
        }
        let names: Vec<String> = args.pos.iter().skip(1).cloned().collect();
        let paths = super::rly_relay::resolve_paths(&self.chains, &cfg, &names, |c| home.signer(c).ok());
        for (name, p) in &cfg.paths {
            let unset = [&p.src, &p.dst].iter().any(|e| e.client_id.is_empty() || e.connection_id.is_empty());
            if (names.is_empty() || names.contains(name)) && unset {
                let fields = [
                    ("path", name.as_str()),
                    ("src_chain_id", &p.src.chain_id),
                    ("dst_chain_id", &p.dst.chain_id),
                ];
                lines.push_str(&super::rly_relay::log_line(
                    json,
                    "warn",
                    "Path has no client or connection ids; no channels to relay",
                    &fields,
                ));
            }
        }
        ctx.err(lines).await;
        let (log, mut lines) = tokio::sync::mpsc::unbounded_channel();
        let cancel = ctx.cancel.clone();
        let relay = super::rly_relay::run(paths, &self.relay, json, log);
        tokio::pin!(relay);
        loop {
            tokio::select! {
                _ = cancel.cancelled() => break,
                _ = &mut relay => break,
                Some(line) = lines.recv() => { ctx.err(line).await; }
            }
        }
        0
    }

    /// `rly transact link <path> --src-port P --dst-port Q --version V`.
    async fn transact_link(&self, state: Home, args: &Args) -> Outcome {
        let _running = self.faults.running();
        let Some(mut cfg) = state.load() else {
            return Outcome { code: 2, stdout: String::new(), stderr: NIL_CONFIG_PANIC.into() };
        };
        let Some(name) = args.pos(2) else {
            return Outcome::error("accepts 1 arg(s), received 0");
        };
        let Some(path) = cfg.paths.iter().find(|(n, _)| n == name).map(|(_, p)| p.clone()) else {
            return Outcome::error(format!("path with name {name} does not exist"));
        };
        let mut ends = Vec::new();
        for (side, end) in [("src", &path.src), ("dst", &path.dst)] {
            let Some((_, ch)) = cfg.chain_by_id(&end.chain_id) else {
                return Outcome::error(format!("chain with ID {} is not configured", end.chain_id));
            };
            if state.signing_key(ch, &ch.key).is_none() {
                return Outcome::error(format!("key {} not found on {side} chain {}", ch.key, ch.chain_id));
            }
            let key = match state.signer(ch) {
                Ok(s) => s,
                Err(e) => return Outcome::error(e),
            };
            if let Some(e) = self.unresolved(ch) {
                return Outcome::error(format!(
                    "error creating clients: failed to query latest heights: {e}"
                ));
            }
            ends.push((ch.clone(), key));
        }
        let (Some((dst, dst_key)), Some((src, src_key))) = (ends.pop(), ends.pop()) else {
            return Outcome::error("path has no ends");
        };
        let link = LinkEnds {
            src: (&src, src_key),
            dst: (&dst, dst_key),
            src_port: args.flag(&["--src-port"]).unwrap_or("transfer"),
            dst_port: args.flag(&["--dst-port"]).unwrap_or("transfer"),
            version: args.flag(&["--version"]).unwrap_or("ics20-1"),
        };
        match super::rly_handshake::link(&self.chains, &self.faults, link).await {
            Ok((src_end, dst_end, log)) => {
                if let Some((_, p)) = cfg.paths.iter_mut().find(|(n, _)| n == name) {
                    p.src = src_end;
                    p.dst = dst_end;
                }
                if let Err(e) = state.save(&cfg) {
                    return Outcome::error(e);
                }
                Outcome { code: 0, stdout: String::new(), stderr: log }
            }
            Err(e) => Outcome::error(e),
        }
    }

    fn dispatch(&self, ctx: &ProcCtx, args: &Args) -> Outcome {
        let state = Self::home(ctx, args);
        let cmd: Vec<&str> = args.pos.iter().take(2).map(String::as_str).collect();
        match cmd.as_slice() {
            ["config", "init"] => state.config_init(args.flag(&["--memo"]).unwrap_or("")),
            ["config", "show"] => state.with_config(|c| {
                if args.has(&["--json", "-j"]) {
                    // The same tree as the YAML, marshalled as JSON (`cmd/config.go configShowCmd`).
                    Outcome::ok(format!("{}\n", super::yaml::parse(&c.render())))
                } else {
                    Outcome::ok(c.render())
                }
            }),
            ["chains", "list"] => {
                state.with_config(|c| self.chains_list(&state, c, args.has(&["--json", "-j"])))
            }
            ["chains", "add"] => state.chains_add(ctx, args),
            ["chains", "show" | "s"] => state.with_config(|c| match (args.pos(2), args.pos(3)) {
                (Some(name), None) => match c.chain(name) {
                    Some(ch) => Outcome::ok(ch.show(args.has(&["--json", "-j"]))),
                    None => Outcome::error(format!(
                        "chain with name \"{name}\" not found in config. consider running `rly chains add {name}`"
                    )),
                },
                _ => Outcome::error(format!("accepts 1 arg(s), received {}", args.pos.len().saturating_sub(2))),
            }),
            ["chains", "delete" | "d"] => state.update_config(|c| match args.pos(2) {
                Some(name) if c.chain(name).is_some() => {
                    c.chains.retain(|(n, _)| n != name);
                    Ok(())
                }
                Some(name) => Err(format!("chain {name} not found in config")),
                None => Err("accepts 1 arg(s), received 0".into()),
            }),
            ["keys", "add" | "a"] => state.keys_add(args),
            ["keys", "show"] => state.keys_show(args.pos(2), args.pos(3)),
            ["keys", "restore"] => state.keys_restore(args.pos(2), args.pos(3), args.pos(4)),
            ["keys", "list"] => state.keys_list(args.pos(2)),
            ["keys", "delete" | "d"] => state.keys_delete(args.pos(2), args.pos(3)),
            ["paths", "new"] => state.update_config(|c| match (args.pos(2), args.pos(3), args.pos(4)) {
                (Some(src), Some(dst), Some(name)) => super::rly_link::paths_new(c, src, dst, name),
                _ => Err(format!("accepts 3 arg(s), received {}", args.pos.len().saturating_sub(2))),
            }),
            ["paths", "show"] => state.with_config(|c| {
                let name = args.pos(2).unwrap_or_default();
                match super::rly_link::paths_show(c, name, args.has(&["--json", "-j"])) {
                    Ok(out) => Outcome::ok(out),
                    Err(e) => Outcome::error(e),
                }
            }),
            ["paths", "list"] => state.with_config(|c| Outcome::ok(super::rly_link::paths_list(c))),
            ["paths", "update"] => state.update_config(|c| {
                let name = args.pos(2).ok_or("accepts 1 arg(s), received 0")?;
                let (_, p) = c
                    .paths
                    .iter_mut()
                    .find(|(n, _)| n == name)
                    .ok_or_else(|| format!("path with name {name} does not exist"))?;
                for (flag, field) in [
                    ("--src-client-id", &mut p.src.client_id),
                    ("--dst-client-id", &mut p.dst.client_id),
                    ("--src-connection-id", &mut p.src.connection_id),
                    ("--dst-connection-id", &mut p.dst.connection_id),
                ] {
                    if let Some(v) = args.flag(&[flag]) {
                        *field = v.to_string();
                    }
                }
                Ok(())
            }),
            ["q" | "query", "channels"] => state.with_config(|c| {
                let ch = match state.chain_named(c, args.pos(2)) {
                    Ok(ch) => ch,
                    Err(o) => return o,
                };
                if let Some(e) = self.unresolved(ch) {
                    return Outcome::error(e);
                }
                match super::rly_link::q_channels(&self.chains, &ch.chain_id) {
                    Some(out) => Outcome { code: 0, stdout: out, stderr: "\nPagination next key: \n".into() },
                    None => Outcome::error(format!(
                        "post failed: Post \"{}\": dial tcp: connection refused",
                        ch.rpc_addr
                    )),
                }
            }),
            ["transact" | "tx", "update-clients"] => {
                state.with_config(|c| self.update_clients(&state, c, args))
            }
            ["version"] | ["version", _] => Outcome::ok("version: 2.6.0\n"),
            [] => Outcome::ok(
                "rly has:\n   1. Configuration management for Chains and Paths\n   2. Key management\n",
            ),
            [other, ..] => Outcome::error(format!("unknown command \"{other}\" for \"rly\"")),
        }
    }

    /// `rly transact update-clients <path>`: both clients of the path advance to the other
    /// chain's latest header (an expired or frozen client refuses, exit 1).
    fn update_clients(&self, home: &Home, c: &RlyConfig, args: &Args) -> Outcome {
        let Some(name) = args.pos(2) else { return Outcome::error("accepts 1 arg(s), received 0") };
        let names = [name.to_string()];
        let paths = super::rly_relay::resolve_paths(&self.chains, c, &names, |ch| home.signer(ch).ok());
        let Some((_, a, b)) = paths.first() else {
            return Outcome::error(format!("path with name {name} does not exist"));
        };
        let mut log = String::new();
        for (host, tracked) in [(a, b), (b, a)] {
            let fields =
                [("chain_id", host.cfg.chain_id.as_str()), ("client_id", host.ids.client_id.as_str())];
            if !super::rly_relay::update_client(host, &host.ids.client_id, tracked) {
                return Outcome::error(format!(
                    "failed to update client {} on {}: client state is not active",
                    host.ids.client_id, host.cfg.chain_id
                ));
            }
            log.push_str(&super::rly_relay::log_line(false, "info", "Client updated", &fields));
        }
        Outcome { code: 0, stdout: String::new(), stderr: log }
    }

    fn chains_list(&self, home: &Home, c: &RlyConfig, json: bool) -> Outcome {
        if json {
            let m: serde_json::Map<String, serde_json::Value> =
                c.chains.iter().map(|(n, ch)| (n.clone(), chain_json(ch))).collect();
            return Outcome::ok(format!("{}\n", serde_json::Value::Object(m)));
        }
        if c.chains.is_empty() {
            return Outcome {
                code: 0,
                stdout: String::new(),
                stderr: "warning: no chains found (do you need to run 'rly chains add'?)\n".into(),
            };
        }
        let mark = |b: bool| if b { "✔" } else { "✘" };
        let mut out = String::new();
        for (i, (_, ch)) in c.chains.iter().enumerate() {
            let addr = home.key_address(ch, &ch.key);
            let bal = addr.as_ref().is_some_and(|a| {
                self.chains.serving(&ch.chain_id).is_some_and(|n| n.balance(a, ch.fee_denom()) > 0)
            });
            let path =
                c.paths.iter().any(|(_, p)| p.src.chain_id == ch.chain_id || p.dst.chain_id == ch.chain_id);
            out.push_str(&format!(
                "{:2}: {:<20} -> type(cosmos) key({}) bal({}) path({})\n",
                i + 1,
                ch.chain_id,
                mark(addr.is_some()),
                mark(bal),
                mark(path)
            ));
        }
        Outcome::ok(out)
    }
}

fn chain_json(c: &ChainCfg) -> serde_json::Value {
    serde_json::json!({"type": "cosmos", "value": {
        "key-directory": c.key_directory, "key": c.key, "chain-id": c.chain_id, "rpc-addr": c.rpc_addr,
        "account-prefix": c.account_prefix, "keyring-backend": c.keyring_backend,
        "gas-adjustment": c.gas_adjustment, "gas-prices": c.gas_prices, "debug": c.debug,
        "timeout": c.timeout, "output-format": c.output_format, "sign-mode": c.sign_mode}})
}
