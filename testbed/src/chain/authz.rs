//! The SDK's `x/authz` and `x/feegrant` as gwc's upload flow uses them: generic
//! authorizations (and the gateway's `SessionBoundAuthorization`) granted by a session owner
//! to the executor, and a basic fee allowance the ante handler draws on when a tx names a
//! fee granter (`x/feegrant/keeper.UseGrantedFees`).

use super::coins::{Coin, coins_from_proto};
use super::events::Event;
use super::gw_wire::{SESSION_BOUND_AUTHORIZATION, SessionBoundAuthorization};
use super::ledger::Ledger;
use super::msgs::{MsgHandler, MsgOutcome};
use super::sdk_error::{SdkError, codes};
use cosmrs::Any;
use prost::Message as _;
use serde_json::{Value, json};
use std::collections::BTreeMap;

pub const MSG_GRANT: &str = "/cosmos.authz.v1beta1.MsgGrant";
pub const MSG_REVOKE: &str = "/cosmos.authz.v1beta1.MsgRevoke";
pub const GENERIC_AUTHORIZATION: &str = "/cosmos.authz.v1beta1.GenericAuthorization";
pub const MSG_GRANT_ALLOWANCE: &str = "/cosmos.feegrant.v1beta1.MsgGrantAllowance";
pub const MSG_REVOKE_ALLOWANCE: &str = "/cosmos.feegrant.v1beta1.MsgRevokeAllowance";
pub const BASIC_ALLOWANCE: &str = "/cosmos.feegrant.v1beta1.BasicAllowance";

#[derive(Clone, PartialEq, prost::Message)]
pub struct ProtoAny {
    #[prost(string, tag = "1")]
    pub type_url: String,
    #[prost(bytes = "vec", tag = "2")]
    pub value: Vec<u8>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Timestamp {
    #[prost(int64, tag = "1")]
    pub seconds: i64,
    #[prost(int32, tag = "2")]
    pub nanos: i32,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct GenericAuthorization {
    #[prost(string, tag = "1")]
    pub msg: String,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct GrantProto {
    #[prost(message, optional, tag = "1")]
    pub authorization: Option<ProtoAny>,
    #[prost(message, optional, tag = "2")]
    pub expiration: Option<Timestamp>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct MsgGrant {
    #[prost(string, tag = "1")]
    pub granter: String,
    #[prost(string, tag = "2")]
    pub grantee: String,
    #[prost(message, optional, tag = "3")]
    pub grant: Option<GrantProto>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct MsgRevoke {
    #[prost(string, tag = "1")]
    pub granter: String,
    #[prost(string, tag = "2")]
    pub grantee: String,
    #[prost(string, tag = "3")]
    pub msg_type_url: String,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct BasicAllowance {
    #[prost(message, repeated, tag = "1")]
    pub spend_limit: Vec<cosmrs::proto::cosmos::base::v1beta1::Coin>,
    #[prost(message, optional, tag = "2")]
    pub expiration: Option<Timestamp>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct MsgGrantAllowance {
    #[prost(string, tag = "1")]
    pub granter: String,
    #[prost(string, tag = "2")]
    pub grantee: String,
    #[prost(message, optional, tag = "3")]
    pub allowance: Option<ProtoAny>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct MsgRevokeAllowance {
    #[prost(string, tag = "1")]
    pub granter: String,
    #[prost(string, tag = "2")]
    pub grantee: String,
}

/// A stored authorization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Authorization {
    Generic { msg: String },
    SessionBound { session_id: String, msg_type_url: String },
}

impl Authorization {
    pub fn msg_type_url(&self) -> &str {
        match self {
            Self::Generic { msg } => msg,
            Self::SessionBound { msg_type_url, .. } => msg_type_url,
        }
    }

    fn to_json(&self) -> Value {
        match self {
            Self::Generic { msg } => json!({"@type": GENERIC_AUTHORIZATION, "msg": msg}),
            Self::SessionBound { session_id, msg_type_url } => {
                json!({"@type": SESSION_BOUND_AUTHORIZATION, "session_id": session_id, "msg_type_url": msg_type_url})
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub authorization: Authorization,
    /// Unix seconds; `None` never expires.
    pub expiration: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allowance {
    pub spend_limit: Vec<Coin>,
    pub expiration: Option<i64>,
}

/// authz grants by (granter, grantee, msg type URL); fee allowances by (granter, grantee).
#[derive(Debug, Clone, Default)]
pub struct AuthzStore {
    pub grants: BTreeMap<(String, String, String), Grant>,
    pub allowances: BTreeMap<(String, String), Allowance>,
}

fn rfc3339(secs: i64) -> String {
    jiff::Timestamp::from_second(secs).map(|t| t.to_string()).unwrap_or_default()
}

fn now_secs(ledger: &Ledger) -> i64 {
    (ledger.block_time_ns() / 1_000_000_000) as i64
}

impl AuthzStore {
    /// `GetAuthorization`: the live grant for a message type, if any.
    pub fn authorization(
        &self,
        granter: &str,
        grantee: &str,
        msg_type_url: &str,
        now: i64,
    ) -> Option<&Grant> {
        self.grants
            .get(&(granter.to_string(), grantee.to_string(), msg_type_url.to_string()))
            .filter(|g| g.expiration.is_none_or(|e| e > now))
    }

    /// `q authz grants GRANTER GRANTEE -o json`.
    pub fn grants_json(&self, granter: &str, grantee: &str) -> Value {
        let grants: Vec<Value> = self
            .grants
            .iter()
            .filter(|((g, e, _), _)| g == granter && e == grantee)
            .map(|(_, g)| json!({"authorization": g.authorization.to_json(), "expiration": g.expiration.map(rfc3339)}))
            .collect();
        json!({"grants": grants, "pagination": {"next_key": null, "total": "0"}})
    }

    /// `q feegrant grant GRANTER GRANTEE -o json`, or `None` when there is none.
    pub fn allowance_json(&self, granter: &str, grantee: &str) -> Option<Value> {
        let a = self.allowances.get(&(granter.to_string(), grantee.to_string()))?;
        let limit: Vec<Value> =
            a.spend_limit.iter().map(|c| json!({"denom": c.denom, "amount": c.amount.to_string()})).collect();
        Some(json!({"allowance": {"granter": granter, "grantee": grantee, "allowance": {
            "@type": BASIC_ALLOWANCE, "spend_limit": limit, "expiration": a.expiration.map(rfc3339)}}}))
    }
}

/// `UseGrantedFees`: the granter's allowance to `grantee` must exist, be live and cover `fee`.
pub fn use_granted_fees(
    ledger: &mut Ledger,
    granter: &str,
    grantee: &str,
    fee: &[Coin],
) -> Result<(), SdkError> {
    let now = now_secs(ledger);
    let key = (granter.to_string(), grantee.to_string());
    let no_allowance = || SdkError {
        codespace: "feegrant",
        code: 5,
        log: format!("{granter} does not allow to pay fees for {grantee}: fee-grant not found"),
    };
    let Some(mut a) = ledger.authz().allowances.get(&key).cloned() else { return Err(no_allowance()) };
    if a.expiration.is_some_and(|e| e <= now) {
        ledger.authz_mut().allowances.remove(&key);
        return Err(SdkError { codespace: "feegrant", code: 3, log: "fee allowance expired".into() });
    }
    if !a.spend_limit.is_empty() {
        for c in fee {
            let Some(limit) =
                a.spend_limit.iter_mut().find(|l| l.denom == c.denom).filter(|l| l.amount >= c.amount)
            else {
                return Err(SdkError {
                    codespace: "feegrant",
                    code: 2,
                    log: "basic allowance: fee limit exceeded".into(),
                });
            };
            limit.amount -= c.amount;
        }
        ledger.authz_mut().allowances.insert(key, a);
    }
    Ok(())
}

fn decode<M: prost::Message + Default>(value: &[u8]) -> Result<M, SdkError> {
    M::decode(value).map_err(|e| SdkError::tx_decode(e.to_string()))
}

fn response(type_url: &str) -> Any {
    Any { type_url: format!("{type_url}Response"), value: Vec::new() }
}

fn expiration(ts: Option<&Timestamp>) -> Option<i64> {
    ts.map(|t| t.seconds)
}

macro_rules! simple_handler {
    ($name:ident, $msg:ty, $url:expr, $gas:expr, $deliver:expr) => {
        pub struct $name;
        impl MsgHandler for $name {
            fn type_url(&self) -> &'static str {
                $url
            }
            fn signer(&self, value: &[u8]) -> Result<String, SdkError> {
                Ok(decode::<$msg>(value)?.granter)
            }
            fn to_json(&self, value: &[u8]) -> Value {
                let m = decode::<$msg>(value).unwrap_or_default();
                json!({"granter": m.granter, "grantee": m.grantee})
            }
            fn gas(&self) -> u64 {
                $gas
            }
            fn deliver(&self, ledger: &mut Ledger, value: &[u8]) -> Result<MsgOutcome, SdkError> {
                let m = decode::<$msg>(value)?;
                if m.granter == m.grantee {
                    return Err(SdkError::wrap(codes::INVALID_ADDRESS, "granter and grantee cannot be same"));
                }
                let f: fn(&mut Ledger, $msg) -> Result<Vec<Event>, SdkError> = $deliver;
                Ok(MsgOutcome { events: f(ledger, m)?, response: response($url) })
            }
        }
    };
}

simple_handler!(GrantHandler, MsgGrant, MSG_GRANT, 20_000, |ledger, m| {
    let grant = m.grant.unwrap_or_default();
    let any = grant.authorization.unwrap_or_default();
    let authorization = match any.type_url.as_str() {
        GENERIC_AUTHORIZATION => {
            Authorization::Generic { msg: decode::<GenericAuthorization>(&any.value)?.msg }
        }
        SESSION_BOUND_AUTHORIZATION => {
            let a = decode::<SessionBoundAuthorization>(&any.value)?;
            if a.session_id.is_empty() || a.msg_type_url.is_empty() {
                return Err(SdkError::wrap(
                    codes::INVALID_REQUEST,
                    "session_id and msg_type_url must not be empty",
                ));
            }
            Authorization::SessionBound { session_id: a.session_id, msg_type_url: a.msg_type_url }
        }
        other => return Err(SdkError::tx_decode(format!("unable to resolve type URL {other}"))),
    };
    let exp = expiration(grant.expiration.as_ref());
    if exp.is_some_and(|e| e <= now_secs(ledger)) {
        return Err(SdkError::wrap(
            codes::INVALID_REQUEST,
            "expiration must be after the current block time",
        ));
    }
    let url = authorization.msg_type_url().to_string();
    ledger.authz_mut().grants.insert(
        (m.granter.clone(), m.grantee.clone(), url.clone()),
        Grant { authorization, expiration: exp },
    );
    Ok(vec![Event::new(
        "cosmos.authz.v1beta1.EventGrant",
        &[
            ("grantee", &format!("\"{}\"", m.grantee)),
            ("granter", &format!("\"{}\"", m.granter)),
            ("msg_type_url", &format!("\"{url}\"")),
        ],
    )])
});

simple_handler!(RevokeHandler, MsgRevoke, MSG_REVOKE, 20_000, |ledger, m| {
    let key = (m.granter.clone(), m.grantee.clone(), m.msg_type_url.clone());
    if ledger.authz_mut().grants.remove(&key).is_none() {
        return Err(SdkError::wrap((4, "authorization not found"), "authorization not found"));
    }
    Ok(Vec::new())
});

simple_handler!(GrantAllowanceHandler, MsgGrantAllowance, MSG_GRANT_ALLOWANCE, 20_000, |ledger, m| {
    let any = m.allowance.unwrap_or_default();
    if any.type_url != BASIC_ALLOWANCE {
        return Err(SdkError::tx_decode(format!("unable to resolve type URL {}", any.type_url)));
    }
    let basic = decode::<BasicAllowance>(&any.value)?;
    let key = (m.granter.clone(), m.grantee.clone());
    if ledger.authz().allowances.contains_key(&key) {
        return Err(SdkError { codespace: "feegrant", code: 2, log: "fee allowance already exists".into() });
    }
    let allowance = Allowance {
        spend_limit: coins_from_proto(&basic.spend_limit)?,
        expiration: expiration(basic.expiration.as_ref()),
    };
    ledger.ensure_account(&m.grantee);
    ledger.authz_mut().allowances.insert(key, allowance);
    Ok(vec![Event::new("set_feegrant", &[("granter", &m.granter), ("grantee", &m.grantee)])])
});

simple_handler!(RevokeAllowanceHandler, MsgRevokeAllowance, MSG_REVOKE_ALLOWANCE, 20_000, |ledger, m| {
    if ledger.authz_mut().allowances.remove(&(m.granter.clone(), m.grantee.clone())).is_none() {
        return Err(SdkError { codespace: "feegrant", code: 5, log: "fee-grant not found".into() });
    }
    Ok(vec![Event::new("revoke_feegrant", &[("granter", &m.granter), ("grantee", &m.grantee)])])
});

/// A `MsgGrant` of a generic authorization, packed as the CLI builds it.
pub fn grant_generic(granter: &str, grantee: &str, msg_type_url: &str, expiration: Option<i64>) -> Any {
    let auth = GenericAuthorization { msg: msg_type_url.to_string() };
    let grant = GrantProto {
        authorization: Some(ProtoAny { type_url: GENERIC_AUTHORIZATION.into(), value: auth.encode_to_vec() }),
        expiration: expiration.map(|seconds| Timestamp { seconds, nanos: 0 }),
    };
    let m = MsgGrant { granter: granter.into(), grantee: grantee.into(), grant: Some(grant) };
    Any { type_url: MSG_GRANT.into(), value: m.encode_to_vec() }
}

/// A `MsgGrantAllowance` of a basic allowance.
pub fn grant_allowance(granter: &str, grantee: &str, spend_limit: &[Coin], expiration: Option<i64>) -> Any {
    let basic = BasicAllowance {
        spend_limit: spend_limit.iter().map(Coin::to_proto).collect(),
        expiration: expiration.map(|seconds| Timestamp { seconds, nanos: 0 }),
    };
    let m = MsgGrantAllowance {
        granter: granter.into(),
        grantee: grantee.into(),
        allowance: Some(ProtoAny { type_url: BASIC_ALLOWANCE.into(), value: basic.encode_to_vec() }),
    };
    Any { type_url: MSG_GRANT_ALLOWANCE.into(), value: m.encode_to_vec() }
}

pub(super) fn handlers() -> Vec<std::sync::Arc<dyn MsgHandler>> {
    vec![
        std::sync::Arc::new(GrantHandler),
        std::sync::Arc::new(RevokeHandler),
        std::sync::Arc::new(GrantAllowanceHandler),
        std::sync::Arc::new(RevokeAllowanceHandler),
    ]
}
