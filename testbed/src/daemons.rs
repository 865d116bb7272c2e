//! The chain binaries in the chain pods (`gwcd`, `mdscd`, `fdscd`). `start` is pid 1: it
//! logs its start-up the way a Cosmos SDK node does and then runs until the pod dies. The
//! client subcommands the scripts run answer from the in-process chain: `status`
//! (over the node's own RPC port, so it fails while that is stopped), `keys show NAME -a`,
//! `q bank balances ADDR -o json`, and on gwc `q gateway endpoints -o json`.

use super::chain::coins::DENOM;
use super::chain::gateway::storage_endpoints_json;
use super::chain::keys::TestKey;
use super::chain::{ChainNode, Chains};
use super::mnemonics::ROLES;
use super::objects::Chain;
use super::pod::{ProcCtx, Program};
use futures::FutureExt as _;
use futures::future::BoxFuture;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// Where the CLI's `--node` points by default (SDK client config `node`).
const DEFAULT_NODE: &str = "tcp://localhost:26657";

pub struct ChainDaemon {
    binary: String,
    chain_id: String,
    chains: Chains,
}

impl ChainDaemon {
    pub fn new(chain: &Chain, chains: Chains) -> Self {
        Self { binary: chain.binary(), chain_id: chain.instance.clone(), chains }
    }
}

/// What a client subcommand produced: (exit code, stdout, stderr).
type Reply = (i32, String, String);

fn error(msg: impl std::fmt::Display) -> Reply {
    (1, String::new(), format!("Error: {msg}\n"))
}

/// `status`: GET /status on the node's RPC port; prints the `result` object.
async fn status(node: &ChainNode) -> Reply {
    let refused = || {
        error(
            "post failed: Post \"http://localhost:26657\": dial tcp 127.0.0.1:26657: connect: connection refused",
        )
    };
    let Some(addr) = node.rpc_addr() else { return refused() };
    let Ok(mut conn) = tokio::net::TcpStream::connect(addr).await else { return refused() };
    let req = "GET /status HTTP/1.0\r\nHost: localhost\r\n\r\n";
    let mut buf = Vec::new();
    if conn.write_all(req.as_bytes()).await.is_err() || conn.read_to_end(&mut buf).await.is_err() {
        return refused();
    }
    let text = String::from_utf8_lossy(&buf);
    let body = text.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    match serde_json::from_str::<serde_json::Value>(body) {
        Ok(v) if v.get("result").is_some() => (0, format!("{}\n", v["result"]), String::new()),
        _ => refused(),
    }
}

fn keys_show(chain_id: &str, name: Option<&str>) -> Reply {
    let Some(name) = name else { return error("accepts at least 1 arg(s), received 0") };
    if ROLES.contains(&name) {
        return (0, format!("{}\n", TestKey::for_role(chain_id, name).address), String::new());
    }
    error(format!(
        "{name} is not a valid name or address: decoding bech32 failed: invalid separator index -1"
    ))
}

fn bank_balances(node: &ChainNode, addr: Option<&str>) -> Reply {
    let Some(addr) = addr else { return error("accepts 1 arg(s), received 0") };
    if let Err(e) = super::chain::keys::validate_address(addr) {
        return error(e.to_string());
    }
    let amount = node.balance(addr, DENOM);
    let balances: Vec<serde_json::Value> = if amount > 0 {
        vec![serde_json::json!({"denom": DENOM, "amount": amount.to_string()})]
    } else {
        Vec::new()
    };
    let v = serde_json::json!({"balances": balances, "pagination": {"next_key": null, "total": "0"}});
    (0, format!("{v}\n"), String::new())
}

impl ChainDaemon {
    async fn client(&self, args: &[String], fs: super::pod::Fs, cwd: String) -> Reply {
        use super::programs::gateway_cli;
        let pos: Vec<&str> = gateway_cli::positionals(args);
        let Some(node) = self.chains.get(&self.chain_id) else {
            return error(format!("post failed: Post \"{DEFAULT_NODE}\": connection refused"));
        };
        // The client commands of the gateway flow (keys, bank/authz/feegrant/gateway txs,
        // their queries) live in `programs::gateway_cli`.
        let cx = gateway_cli::Ctx {
            node: &node,
            binary: &self.binary,
            chain_id: &self.chain_id,
            fs: &fs,
            cwd: &cwd,
        };
        if let Some(reply) = gateway_cli::client(&cx, args) {
            return reply;
        }
        match pos.as_slice() {
            ["status", ..] => status(&node).await,
            ["keys", "show", rest @ ..] => keys_show(&self.chain_id, rest.first().copied()),
            ["q" | "query", "bank", "balances", rest @ ..] => bank_balances(&node, rest.first().copied()),
            ["q" | "query", "gateway", "endpoints", ..] if self.binary == "gwcd" => {
                (0, format!("{}\n", storage_endpoints_json(&node.storage_endpoints())), String::new())
            }
            ["tx", "gateway", "register-storage", ch, chain, api, ty] if self.binary == "gwcd" => {
                register_storage(&node, &self.chain_id, args, [ch, chain, api, ty])
            }
            [cmd, ..] => error(format!("unknown command \"{cmd}\" for \"{}\"", self.binary)),
            [] => error(format!("unknown command \"\" for \"{}\"", self.binary)),
        }
    }
}

/// Gas limit of a register-storage tx (the CLI's `--gas auto` estimate is replaced by a
/// fixed ceiling well above the handler's cost).
const REGISTER_GAS: u64 = 200_000;

fn flag<'a>(args: &'a [String], name: &str) -> Option<&'a str> {
    let prefix = format!("{name}=");
    args.iter().enumerate().find_map(|(i, a)| {
        if a == name { args.get(i + 1).map(String::as_str) } else { a.strip_prefix(&prefix) }
    })
}

/// `gwcd tx gateway register-storage CHANNEL CHAIN_ID API_ENDPOINT TYPE --from NAME
/// --gas-prices P -o json -y`: a signed tx, broadcast sync (CheckTx); prints the SDK's
/// TxResponse JSON with `code` and `txhash`.
fn register_storage(node: &ChainNode, chain_id: &str, args: &[String], pos: [&str; 4]) -> Reply {
    use super::programs::gateway_tx::{MsgRegisterStorage, RegisterStorageHandler};
    let from = flag(args, "--from").unwrap_or_default();
    if !ROLES.contains(&from) {
        return error(format!("{from} is not a valid name or address: key not found"));
    }
    let key = TestKey::for_role(chain_id, from);
    let prices = flag(args, "--gas-prices").unwrap_or("0.1uatom");
    let price: f64 = prices.trim_end_matches(DENOM).parse().unwrap_or(0.0);
    let fee = (REGISTER_GAS as f64 * price).ceil() as u128;
    let Some(account) = node.account(&key.address) else {
        return error(format!("account {} not found", key.address));
    };
    node.register_msg_handler(std::sync::Arc::new(RegisterStorageHandler));
    let [channel_id, storage_chain, api_endpoint, connection_type] = pos.map(str::to_string);
    let msg = MsgRegisterStorage {
        creator: key.address.clone(),
        info: super::chain::gateway::StorageInfo {
            channel_id,
            chain_id: storage_chain,
            api_endpoint,
            connection_type,
        },
    };
    let tx = super::chain::tx_codec::UnsignedTx::new(
        vec![msg.to_any()],
        super::chain::coins::Coin::new(fee, DENOM),
        REGISTER_GAS,
    );
    let bytes = tx.sign(&key, chain_id, account.number, account.sequence);
    let hash = super::chain::tx_codec::hash_hex(&super::chain::tx_codec::tx_hash(&bytes));
    let (code, codespace, log) = match node.check_tx(&bytes) {
        Ok(o) => (o.result.code, o.result.codespace, o.result.log),
        Err(e) => return error(e.to_string()),
    };
    let v = serde_json::json!({"height": "0", "txhash": hash, "codespace": codespace, "code": code, "data": "",
        "raw_log": log, "logs": [], "info": "", "gas_wanted": "0", "gas_used": "0", "tx": null,
        "timestamp": "", "events": []});
    (0, format!("{v}\n"), String::new())
}

impl Program for ChainDaemon {
    fn run(&self, mut ctx: ProcCtx) -> BoxFuture<'static, i32> {
        let chain_id = self.chain_id.clone();
        let me = ChainDaemon {
            binary: self.binary.clone(),
            chain_id: chain_id.clone(),
            chains: self.chains.clone(),
        };
        async move {
            match ctx.argv.get(1).map(String::as_str) {
                Some("start") => {
                    // The entrypoint fetches genesis before it launches the node (the pod is
                    // Ready meanwhile: no readinessProbe); its retry lines land in the log.
                    let node = me.chains.get(&chain_id);
                    let mut tries = 0;
                    while node.as_ref().is_some_and(|n| !n.is_running()) {
                        if tries % 20 == 0 {
                            let line = format!("⏳ Waiting for Genesis Server... ({}/30)\n", tries / 20);
                            let _ = ctx.stdout.write_all(line.as_bytes()).await;
                            let _ = ctx.stdout.flush().await;
                        }
                        tries += 1;
                        tokio::select! {
                            _ = tokio::time::sleep(std::time::Duration::from_millis(100)) => {}
                            _ = ctx.cancel.cancelled() => return 0,
                        }
                    }
                    let lines = [
                        format!("{{\"level\":\"info\",\"module\":\"server\",\"msg\":\"starting node with ABCI CometBFT in-process\",\"chain_id\":\"{chain_id}\"}}"),
                        "{\"level\":\"info\",\"module\":\"p2p\",\"msg\":\"starting Node service\"}".to_string(),
                        "{\"level\":\"info\",\"module\":\"rpc-server\",\"msg\":\"serve\",\"addr\":\"tcp://0.0.0.0:26657\"}".to_string(),
                        "{\"level\":\"info\",\"module\":\"api-server\",\"msg\":\"starting API server...\",\"address\":\"tcp://0.0.0.0:1317\"}".to_string(),
                        "{\"level\":\"info\",\"module\":\"grpc-server\",\"msg\":\"starting gRPC server...\",\"address\":\"0.0.0.0:9090\"}".to_string(),
                    ];
                    for line in lines {
                        let _ = ctx.stdout.write_all(format!("{line}\n").as_bytes()).await;
                    }
                    let _ = ctx.stdout.flush().await;
                    // Hook: the node's data directory in the pod grows with what it stores.
                    if let Some(node) = me.chains.get(&chain_id) {
                        let home = ctx.argv.iter().skip_while(|a| *a != "--home").nth(1).cloned();
                        let home = home.unwrap_or_else(|| format!("/home/{0}/.{0}", me.binary.trim_end_matches('d')));
                        let fs = ctx.pod.fs().clone();
                        tokio::spawn(crate::chain::disk::mirror(node, fs, home, ctx.cancel.clone()));
                    }
                    ctx.cancel.cancelled().await;
                    0
                }
                _ => {
                    let (fs, cwd) = (ctx.pod.fs().clone(), ctx.cwd().to_string());
                    let (code, out, err) = me.client(ctx.argv.get(1..).unwrap_or_default(), fs, cwd).await;
                    if !out.is_empty() {
                        ctx.out(out).await;
                    }
                    if !err.is_empty() {
                        ctx.err(err).await;
                    }
                    code
                }
            }
        }
        .boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::super::programs::gateway_cli::positionals;
    use super::*;

    #[test]
    fn positionals_skip_flags_and_their_values() {
        let argv: Vec<String> = "keys show relayer -a --keyring-backend test --home=/h q"
            .split(' ')
            .map(str::to_string)
            .collect();
        assert_eq!(positionals(&argv), ["keys", "show", "relayer", "q"]);
        assert!(positionals(&["--node".to_string()]).is_empty());
    }

    #[test]
    fn keys_show_knows_the_chart_roles_only() {
        assert_eq!(keys_show("gwc", Some("local-admin")).0, 0);
        assert_eq!(keys_show("gwc", Some("x")).0, 1);
        assert_eq!(keys_show("gwc", None).0, 1);
    }
}
