//! The chain binaries' client commands beyond `start` and `status` (Cryptomeria-core
//! `apps/gwc/x/gateway/client/cli`, `apps/mdsc/x/metastore/client/cli`, `apps/fdsc`, and the
//! SDK's `keys`, `bank`, `authz`, `feegrant`, `auth` and `q tx` commands as `lib/upload.ts` and
//! `lib/initialize.ts` run them): `None` leaves a command to the daemon's own table.

use super::chain_keys::{Keyring, Reply, broadcast, error, flag, ok_json};
use crate::chain::ChainNode;
use crate::chain::authz::{grant_allowance, grant_generic};
use crate::chain::coins::{Coin, DENOM};
use crate::chain::events::events_json;
use crate::chain::packets::any_of;
use crate::chain::sessions::{self as s, fragment_json, manifest_json};
use crate::pod::Fs;
use serde_json::{Value, json};

/// Flags of the chain CLIs that take no value.
const BOOL_FLAGS: &[&str] = &["-a", "--address", "-y", "--yes", "--generate-only", "--dry-run"];

/// argv without its flags (`--x v`, `--x=v`, bool flags).
pub(crate) fn positionals(args: &[String]) -> Vec<&str> {
    let mut out = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if a.starts_with('-') && a.len() > 1 {
            if !a.contains('=') && !BOOL_FLAGS.contains(&a.as_str()) {
                it.next();
            }
        } else {
            out.push(a.as_str());
        }
    }
    out
}

/// What a command runs against.
pub struct Ctx<'a> {
    pub node: &'a ChainNode,
    pub binary: &'a str,
    pub chain_id: &'a str,
    pub fs: &'a Fs,
    pub cwd: &'a str,
}

impl Ctx<'_> {
    fn keyring(&self) -> Keyring<'_> {
        let app = self.binary.trim_end_matches('d');
        Keyring { fs: self.fs, chain_id: self.chain_id, home: format!("/home/{app}/.{app}") }
    }

    fn resolve(&self, path: &str) -> String {
        if path.starts_with('/') {
            path.to_string()
        } else {
            format!("{}/{path}", self.cwd.trim_end_matches('/'))
        }
    }
}

/// Every client command handled here; `None` for the rest.
pub fn client(cx: &Ctx<'_>, args: &[String]) -> Option<Reply> {
    let pos = positionals(args);
    let json_out = matches!(flag(args, "-o").or(flag(args, "--output")), Some("json"));
    Some(match pos.as_slice() {
        ["keys", "add", name] => cx.keyring().add(name, json_out),
        ["keys", "show", name] => {
            let a = args.iter().any(|x| x == "-a" || x == "--address");
            cx.keyring().show(name, a)
        }
        ["tx", rest @ ..] => return tx(cx, args, rest),
        ["q" | "query", rest @ ..] => return query(cx, rest),
        _ => return None,
    })
}

fn signer_of(cx: &Ctx<'_>, args: &[String]) -> Result<crate::chain::keys::TestKey, Reply> {
    let from = flag(args, "--from").unwrap_or_default();
    cx.keyring()
        .get(from)
        .map(|(_, k)| k)
        .ok_or_else(|| error(format!("{from} is not a valid name or address: key not found")))
}

fn parse_coins(text: &str) -> Result<Vec<Coin>, String> {
    text.split(',')
        .filter(|c| !c.is_empty())
        .map(|c| {
            let amount = c.trim_end_matches(DENOM);
            amount
                .parse::<u128>()
                .map(|a| Coin::new(a, DENOM))
                .map_err(|_| format!("invalid decimal coin expression: {c}"))
        })
        .collect()
}

fn tx(cx: &Ctx<'_>, args: &[String], pos: &[&str]) -> Option<Reply> {
    let send = |key: &crate::chain::keys::TestKey, msgs| broadcast(cx.node, cx.chain_id, args, key, msgs);
    match pos {
        ["bank", "send", from, to, amount] => {
            let Some((_, key)) = cx.keyring().get(from) else {
                return Some(error(format!("{from} is not a valid name or address: key not found")));
            };
            Some(match parse_coins(amount) {
                Ok(coins) => send(&key, vec![crate::chain::msgs::msg_send(&key.address, to, &coins)]),
                Err(e) => error(e),
            })
        }
        ["authz", "grant", grantee, "generic"] => {
            Some(match (signer_of(cx, args), flag(args, "--msg-type")) {
                (Err(e), _) => e,
                (_, None) => error("msg type cannot be empty"),
                (Ok(key), Some(url)) => {
                    let exp = flag(args, "--expiration").and_then(|e| e.parse::<i64>().ok());
                    send(&key, vec![grant_generic(&key.address, grantee, url, exp)])
                }
            })
        }
        ["feegrant", "grant", granter, grantee] => {
            let Some((_, key)) = cx.keyring().get(granter) else {
                return Some(error(format!("{granter} is not a valid name or address: key not found")));
            };
            let exp = flag(args, "--expiration")
                .and_then(|e| e.parse::<jiff::Timestamp>().ok())
                .map(|t| t.as_second());
            let limit = match flag(args, "--spend-limit").map(parse_coins).transpose() {
                Ok(l) => l.unwrap_or_default(),
                Err(e) => return Some(error(e)),
            };
            Some(send(&key, vec![grant_allowance(&key.address, grantee, &limit, exp)]))
        }
        ["gateway", rest @ ..] if cx.binary == "gwcd" => gateway_tx(cx, args, rest),
        _ => None,
    }
}

fn read_json(cx: &Ctx<'_>, path: &str) -> Result<Value, String> {
    let path = cx.resolve(path);
    let bytes = cx.fs.read_file(&path).ok_or_else(|| format!("open {path}: no such file or directory"))?;
    serde_json::from_slice(&bytes).map_err(|e| e.to_string())
}

fn num(v: &Value) -> u64 {
    v.as_u64().or_else(|| v.as_str().and_then(|x| x.parse().ok())).unwrap_or(0)
}

fn str_of(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_string()
}

fn proof_from(v: &Value) -> Option<s::MerkleProof> {
    let steps = v["steps"].as_array()?;
    Some(s::MerkleProof {
        steps: steps
            .iter()
            .map(|st| s::MerkleStep {
                sibling_hex: str_of(&st["sibling_hex"]),
                sibling_is_left: st["sibling_is_left"].as_bool().unwrap_or(false),
            })
            .collect(),
    })
}

/// `distribute-batch`'s items.json: path, index, fragment_bytes_base64, the two proofs, file_size.
fn items_from(doc: &Value) -> Result<Vec<s::DistributeItem>, String> {
    use base64::Engine as _;
    let items = doc["items"].as_array().filter(|a| !a.is_empty()).ok_or("items.json has no items")?;
    items
        .iter()
        .map(|it| {
            let fragment_bytes = base64::engine::general_purpose::STANDARD
                .decode(it["fragment_bytes_base64"].as_str().unwrap_or_default())
                .map_err(|e| format!("invalid fragment_bytes_base64: {e}"))?;
            Ok(s::DistributeItem {
                path: str_of(&it["path"]),
                index: num(&it["index"]),
                fragment_bytes,
                fragment_proof: proof_from(&it["fragment_proof"]),
                file_size: num(&it["file_size"]),
                file_proof: proof_from(&it["file_proof"]),
                target_fdsc_channel: String::new(),
            })
        })
        .collect()
}

fn manifest_from(doc: &Value) -> s::ManifestPacket {
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

/// `gwcd tx gateway <cmd> …` (register-storage stays with the daemon).
fn gateway_tx(cx: &Ctx<'_>, args: &[String], pos: &[&str]) -> Option<Reply> {
    const CMDS: [&str; 5] =
        ["init-session", "commit-root-proof", "distribute-batch", "finalize-and-close", "abort-and-close"];
    if !pos.first().is_some_and(|c| CMDS.contains(c)) {
        return None;
    }
    let key = match signer_of(cx, args) {
        Ok(k) => k,
        Err(e) => return Some(e),
    };
    let me = key.address.clone();
    let msg: Result<cosmrs::Any, String> = match pos {
        ["init-session", size, deadline, n] => (|| {
            let m = s::MsgInitSession {
                owner: me.clone(),
                fragment_size: size.parse().map_err(|e| format!("invalid fragment-size: {e}"))?,
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
        ["distribute-batch", id, file] => read_json(cx, file).and_then(|doc| {
            let items = items_from(&doc)?;
            Ok(any_of(
                s::MSG_DISTRIBUTE_BATCH,
                &s::MsgDistributeBatch { executor: me.clone(), session_id: id.to_string(), items },
            ))
        }),
        ["finalize-and-close", id, file] => read_json(cx, file).map(|doc| {
            let m = s::MsgFinalizeAndCloseSession {
                executor: me.clone(),
                session_id: id.to_string(),
                manifest: Some(manifest_from(&doc)),
            };
            any_of(s::MSG_FINALIZE_AND_CLOSE, &m)
        }),
        ["abort-and-close", id, reason] => Ok(any_of(
            s::MSG_ABORT_AND_CLOSE,
            &s::MsgAbortAndCloseSession {
                executor: me.clone(),
                session_id: id.to_string(),
                reason: reason.to_string(),
            },
        )),
        [cmd, ..] => Err(format!(
            "accepts {} arg(s), received {}",
            if *cmd == "init-session" { 3 } else { 2 },
            pos.len() - 1
        )),
        [] => return None,
    };
    Some(match msg {
        Ok(any) => broadcast(cx.node, cx.chain_id, args, &key, vec![any]),
        Err(e) => error(e),
    })
}

fn not_found(what: impl std::fmt::Display) -> Reply {
    error(format!("rpc error: code = NotFound desc = {what}: key not found"))
}

fn page(list: Vec<Value>, key: &str) -> Reply {
    let total = list.len().to_string();
    ok_json(json!({key: list, "pagination": {"next_key": null, "total": total}}))
}

/// The read commands handled here.
fn query(cx: &Ctx<'_>, pos: &[&str]) -> Option<Reply> {
    let node = cx.node;
    let gw = |f: &dyn Fn(&s::GatewayStore) -> Reply| node.read_state(|l| f(l.gateway()));
    Some(match (cx.binary, pos) {
        (_, ["auth", "account", addr]) => match node.account(addr) {
            Some(a) => ok_json(json!({"account": crate::chain::rest::shapes::account_json(&a)})),
            None => not_found(format!("account {addr} not found")),
        },
        (_, ["authz", "grants", granter, grantee, rest @ ..]) => node.read_state(|l| {
            let mut v = l.authz().grants_json(granter, grantee);
            if let Some(url) = rest.first()
                && let Some(list) = v["grants"].as_array_mut()
            {
                list.retain(|g| {
                    g["authorization"]["msg"] == *url || g["authorization"]["msg_type_url"] == *url
                });
                if list.is_empty() {
                    return error(
                        "rpc error: code = NotFound desc = no authorization found: authorization not found",
                    );
                }
            }
            ok_json(v)
        }),
        (_, ["feegrant", "grant", granter, grantee]) => {
            node.read_state(|l| match l.authz().allowance_json(granter, grantee) {
                Some(v) => ok_json(v),
                None => error("rpc error: code = Internal desc = fee-grant not found: not found"),
            })
        }
        ("gwcd", ["gateway", "session", id]) => gw(&|g| match g.sessions.get(*id) {
            Some(sess) => ok_json(json!({"session": sess.to_json()})),
            None => not_found(format!("session {id} not found")),
        }),
        ("gwcd", ["gateway", "list-sessions", owner]) => gw(&|g| {
            page(
                g.sessions.values().filter(|x| x.owner == *owner).map(s::Session::to_json).collect(),
                "sessions",
            )
        }),
        ("gwcd", ["gateway", "params"]) => gw(&|g| ok_json(json!({"params": g.params.to_json()}))),
        ("fdscd", ["datastore", "list-fragment"]) => {
            gw(&|g| page(g.fragments.values().map(fragment_json).collect(), "fragment"))
        }
        ("fdscd", ["datastore", "get-fragment" | "show-fragment", id]) => {
            gw(&|g| match g.fragments.get(*id) {
                Some(f) => ok_json(json!({"fragment": fragment_json(f)})),
                None => not_found("not found"),
            })
        }
        ("mdscd", ["metastore", "list-manifest"]) => {
            gw(&|g| page(g.manifests.values().map(manifest_json).collect(), "manifest"))
        }
        ("mdscd", ["metastore", "get-manifest" | "show-manifest", name]) => {
            gw(&|g| match g.manifests.get(*name) {
                Some(m) => ok_json(json!({"manifest": manifest_json(m)})),
                None => not_found("not found"),
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
