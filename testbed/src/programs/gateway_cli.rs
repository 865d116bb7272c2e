//! The upload-session CLI of the chain binaries (Cryptomeria-core
//! `apps/gwc/x/gateway/client/cli/tx.go` and `query.go`): `gwcd tx gateway init-session |
//! commit-root-proof | distribute-batch | finalize-and-close | abort-and-close`, `gwcd q
//! gateway session | list-sessions`, `q tx HASH`, and the storage chains' reads
//! (`fdscd q datastore list-fragment | show-fragment`, `mdscd q metastore list-manifest |
//! show-manifest`). Txs are signed with the pod's test keyring and broadcast sync.

use crate::chain::ChainNode;
use crate::chain::coins::{Coin, DENOM};
use crate::chain::events::events_json;
use crate::chain::keys::TestKey;
use crate::chain::sessions::{self as s, fragment_json, manifest_json};
use crate::chain::tx_codec::{UnsignedTx, hash_hex, tx_hash};
use crate::mnemonics::ROLES;
use crate::pod::Fs;
use serde_json::{Value, json};

/// (exit code, stdout, stderr).
pub type Reply = (i32, String, String);

fn error(msg: impl std::fmt::Display) -> Reply {
    (1, String::new(), format!("Error: {msg}\n"))
}

fn ok_json(v: Value) -> Reply {
    (0, format!("{v}\n"), String::new())
}

/// Gas limit of a gateway tx (the CLI's `--gas auto` estimate replaced by a ceiling).
const GATEWAY_GAS: u64 = 400_000;

/// Flags the tx commands read.
pub struct TxFlags<'a> {
    pub from: &'a str,
    pub gas_prices: &'a str,
}

/// Signs `msg` with `--from`, broadcasts it sync, prints the TxResponse (`code`, `txhash`).
fn broadcast(node: &ChainNode, chain_id: &str, flags: &TxFlags<'_>, msg: cosmrs::Any) -> Reply {
    let key = TestKey::for_role(chain_id, flags.from);
    let price: f64 = flags.gas_prices.trim_end_matches(DENOM).parse().unwrap_or(0.0);
    let fee = (GATEWAY_GAS as f64 * price).ceil() as u128;
    let Some(account) = node.account(&key.address) else {
        return error(format!("account {} not found", key.address));
    };
    let bytes = UnsignedTx::new(vec![msg], Coin::new(fee, DENOM), GATEWAY_GAS).sign(
        &key,
        chain_id,
        account.number,
        account.sequence,
    );
    let hash = hash_hex(&tx_hash(&bytes));
    match node.check_tx(&bytes) {
        Ok(o) => ok_json(json!({"height": "0", "txhash": hash, "codespace": o.result.codespace,
            "code": o.result.code, "data": "", "raw_log": o.result.log, "logs": [], "info": "",
            "gas_wanted": "0", "gas_used": "0", "tx": null, "timestamp": "", "events": []})),
        Err(e) => error(e),
    }
}

fn read_json(fs: &Fs, path: &str) -> Result<Value, String> {
    let bytes = fs.read_file(path).ok_or_else(|| format!("open {path}: no such file or directory"))?;
    serde_json::from_slice(&bytes).map_err(|e| e.to_string())
}

fn items_from(doc: &Value) -> Result<Vec<s::DistributeItem>, String> {
    use base64::Engine as _;
    let items = doc["items"].as_array().filter(|a| !a.is_empty()).ok_or("items.json has no items")?;
    items
        .iter()
        .map(|it| {
            let b64 = it["fragment_bytes_base64"].as_str().unwrap_or_default();
            let fragment_bytes = base64::engine::general_purpose::STANDARD
                .decode(b64)
                .map_err(|e| format!("invalid fragment_bytes_base64: {e}"))?;
            Ok(s::DistributeItem {
                path: it["path"].as_str().unwrap_or_default().to_string(),
                index: it["index"].as_u64().unwrap_or(0),
                fragment_bytes,
                file_size: it["file_size"].as_u64().unwrap_or(0),
                target_fdsc_channel: String::new(),
            })
        })
        .collect()
}

fn manifest_from(doc: &Value) -> s::ManifestPacket {
    let str_of = |v: &Value| v.as_str().unwrap_or_default().to_string();
    let num = |v: &Value| v.as_u64().or_else(|| v.as_str().and_then(|x| x.parse().ok())).unwrap_or(0);
    let files = doc["files"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|f| {
            let md = &f["metadata"];
            let fragments = md["fragments"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|x| s::FragmentMapping {
                    fdsc_id: str_of(&x["fdsc_id"]),
                    fragment_id: str_of(&x["fragment_id"]),
                })
                .collect();
            s::ManifestFileEntry {
                path: str_of(&f["path"]),
                metadata: Some(s::FileMetadata {
                    mime_type: str_of(&md["mime_type"]),
                    file_size: num(&md["file_size"]),
                    fragments,
                    file_root: str_of(&md["file_root"]),
                }),
            }
        })
        .collect();
    s::ManifestPacket {
        project_name: str_of(&doc["project_name"]),
        version: str_of(&doc["version"]),
        files,
        root_proof: str_of(&doc["root_proof"]),
        fragment_size: num(&doc["fragment_size"]),
        owner: str_of(&doc["owner"]),
        session_id: str_of(&doc["session_id"]),
    }
}

/// `gwcd tx gateway <cmd> …`; `None` when `cmd` is not a session command.
pub fn tx_gateway(
    node: &ChainNode,
    chain_id: &str,
    fs: &Fs,
    cwd: impl Fn(&str) -> String,
    pos: &[&str],
    flags: &TxFlags<'_>,
) -> Option<Reply> {
    use crate::chain::packets::any_of;
    if !ROLES.contains(&flags.from) {
        return Some(error(format!("{} is not a valid name or address: key not found", flags.from)));
    }
    let me = TestKey::for_role(chain_id, flags.from).address;
    let parse_u = |v: &str, what: &str| v.parse::<u64>().map_err(|e| format!("invalid {what}: {e}"));
    let msg: Result<cosmrs::Any, String> = match pos {
        ["init-session", size, deadline, n] => (|| {
            let m = s::MsgInitSession {
                owner: me.clone(),
                fragment_size: parse_u(size, "fragment-size")?,
                deadline_unix: deadline.parse().map_err(|e| format!("invalid deadline-unix: {e}"))?,
                num_fdsc_chains: n.parse().map_err(|e| format!("invalid num-fdsc-chains: {e}"))?,
            };
            Ok(any_of(s::MSG_INIT_SESSION, &m))
        })(),
        ["commit-root-proof", id, root] => Ok(any_of(
            s::MSG_COMMIT_ROOT_PROOF,
            &s::MsgCommitRootProof {
                owner: me.clone(),
                session_id: id.to_string(),
                root_proof_hex: root.to_string(),
            },
        )),
        ["distribute-batch", id, file] => read_json(fs, &cwd(file)).and_then(|doc| {
            let items = items_from(&doc)?;
            Ok(any_of(
                s::MSG_DISTRIBUTE_BATCH,
                &s::MsgDistributeBatch { executor: me.clone(), session_id: id.to_string(), items },
            ))
        }),
        ["finalize-and-close", id, file] => read_json(fs, &cwd(file)).map(|doc| {
            any_of(
                s::MSG_FINALIZE_AND_CLOSE,
                &s::MsgFinalizeAndCloseSession {
                    executor: me.clone(),
                    session_id: id.to_string(),
                    manifest: Some(manifest_from(&doc)),
                },
            )
        }),
        ["abort-and-close", id, reason] => Ok(any_of(
            s::MSG_ABORT_AND_CLOSE,
            &s::MsgAbortAndCloseSession {
                executor: me.clone(),
                session_id: id.to_string(),
                reason: reason.to_string(),
            },
        )),
        [cmd, ..]
            if [
                "init-session",
                "commit-root-proof",
                "distribute-batch",
                "finalize-and-close",
                "abort-and-close",
            ]
            .contains(cmd) =>
        {
            Err(format!(
                "accepts {} arg(s), received {}",
                if *cmd == "init-session" { 3 } else { 2 },
                pos.len() - 1
            ))
        }
        _ => return None,
    };
    Some(match msg {
        Ok(any) => broadcast(node, chain_id, flags, any),
        Err(e) => error(e),
    })
}

/// The read commands: `q gateway session|list-sessions`, `q datastore …`, `q metastore …`,
/// `q tx HASH`. `None` when not one of them.
pub fn query(node: &ChainNode, binary: &str, pos: &[&str]) -> Option<Reply> {
    let gw = |f: &dyn Fn(&crate::chain::sessions::GatewayStore) -> Reply| node.read_state(|l| f(l.gateway()));
    Some(match (binary, pos) {
        ("gwcd", ["gateway", "session", id]) => gw(&|g| match g.sessions.get(*id) {
            Some(sess) => ok_json(json!({"session": sess.to_json()})),
            None => error(format!("rpc error: code = NotFound desc = session {id} not found: key not found")),
        }),
        ("gwcd", ["gateway", "list-sessions", owner]) => gw(&|g| {
            let list: Vec<Value> =
                g.sessions.values().filter(|x| x.owner == *owner).map(|x| x.to_json()).collect();
            ok_json(
                json!({"sessions": list, "pagination": {"next_key": null, "total": list.len().to_string()}}),
            )
        }),
        ("fdscd", ["datastore", "list-fragment"]) => gw(&|g| {
            let list: Vec<Value> = g.fragments.values().map(fragment_json).collect();
            ok_json(
                json!({"fragment": list, "pagination": {"next_key": null, "total": list.len().to_string()}}),
            )
        }),
        ("fdscd", ["datastore", "show-fragment" | "get-fragment", id]) => {
            gw(&|g| match g.fragments.get(*id) {
                Some(f) => ok_json(json!({"fragment": fragment_json(f)})),
                None => error("rpc error: code = NotFound desc = not found"),
            })
        }
        ("mdscd", ["metastore", "list-manifest"]) => gw(&|g| {
            let list: Vec<Value> = g.manifests.values().map(manifest_json).collect();
            ok_json(
                json!({"manifest": list, "pagination": {"next_key": null, "total": list.len().to_string()}}),
            )
        }),
        ("mdscd", ["metastore", "show-manifest" | "get-manifest", name]) => {
            gw(&|g| match g.manifests.get(*name) {
                Some(m) => ok_json(json!({"manifest": manifest_json(m)})),
                None => error("rpc error: code = NotFound desc = not found"),
            })
        }
        (_, ["tx", hash]) => {
            let mut h = [0u8; 32];
            if hex::decode_to_slice(hash, &mut h).is_err() {
                return Some(error(format!("invalid tx hash {hash}")));
            }
            match node.find_tx(&h) {
                Some(tx) => {
                    let r = tx.result();
                    ok_json(json!({"height": tx.height().to_string(), "txhash": hash.to_uppercase(),
                        "codespace": r.codespace, "code": r.code, "raw_log": r.log,
                        "gas_wanted": r.gas_wanted.to_string(), "gas_used": r.gas_used.to_string(),
                        "events": events_json(&r.events)}))
                }
                None => error(format!("tx ({}) not found", hash.to_uppercase())),
            }
        }
        _ => return None,
    })
}
