//! The ids a relayer path must carry, read from chain state. The chart keeps `config.yaml` on
//! an emptyDir, so a recreated relayer pod loses every path with its client and connection ids
//! while the channels stay OPEN on chain; `rly start` relays only paths whose ids match the
//! channel ends. For each OPEN gateway channel on gwc this reads (gwc's REST) the channel's
//! connection hop, that connection's client and its counterparty connection and client, and
//! confirms on the counterparty chain (its REST, one read) that its channel end is OPEN on that
//! connection — or TRYOPEN there, facing gwc's channel: the handshake stopped after
//! ChanOpenAck (a relayer pod recreated mid-link), and `rly start` sends the ChanOpenConfirm
//! when it sees the Ack in its block history. connect then rebuilds or corrects the path with
//! these ids instead of linking again: a pair with an OPEN channel never gets a second client,
//! connection or channel. Any other counterparty end (INIT, CLOSED, another connection or
//! channel) is refused.
use super::gateway::{GatewayChannel, open_channel};
use super::run::Run;
use crate::chain::ibc_query;
use crate::chart::{GATEWAY_PORT, GWC, OPEN, TRYOPEN, dst_port};
use crate::k8s::script::is_plain;
use crate::system::relayer::PathState;
use std::collections::BTreeMap;

/// Both ends of a gwc↔chain pair as the chains record them (src = gwc, as in the path).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PairIds {
    pub src_channel: String,
    pub src_connection: String,
    pub src_client: String,
    pub dst_channel: String,
    pub dst_connection: String,
    pub dst_client: String,
    /// Why the counterparty's channel end was not confirmed (None: confirmed on its REST).
    pub unconfirmed: Option<String>,
    /// The counterparty's end is STATE_TRYOPEN (the channel handshake stopped after
    /// ChanOpenAck): `rly start` completes it with ChanOpenConfirm.
    pub unfinished: bool,
}

/// What connect knows of a pair with an OPEN gateway channel: its ids, or why they are unknown.
pub type Observed = Result<PairIds, String>;

impl PairIds {
    /// `channel-1 on connection-1 (client 07-tendermint-1) ↔ fdsc-0 channel-0 on …`.
    pub fn describe(&self, chain: &str) -> String {
        let mut check = match &self.unconfirmed {
            None => String::new(),
            Some(why) => format!("; {chain}'s end not confirmed: {why}"),
        };
        if self.unfinished {
            check.push_str(&format!(
                "; channel handshake unfinished: {chain}'s {} is {TRYOPEN}, `rly start` completes it (ChanOpenConfirm)",
                self.dst_channel
            ));
        }
        format!(
            "{} on {} (client {}) ↔ {chain} {} on {} (client {}){check}",
            self.src_channel,
            self.src_connection,
            self.src_client,
            self.dst_channel,
            self.dst_connection,
            self.dst_client
        )
    }

    /// Each of the path's four ids that differs from the chains' (empty when they agree).
    pub fn differences(&self, path: &PathState) -> Vec<String> {
        let pairs = [
            ("src client", &path.src_client, &self.src_client),
            ("src connection", &path.src_connection, &self.src_connection),
            ("dst client", &path.dst_client, &self.dst_client),
            ("dst connection", &path.dst_connection, &self.dst_connection),
        ];
        pairs
            .into_iter()
            .filter(|(_, has, want)| has != want)
            .map(|(what, has, want)| {
                let has = if has.is_empty() { "(none)" } else { has.as_str() };
                format!("{what} {has} → {want}")
            })
            .collect()
    }

    /// `rly paths update` arguments setting the four ids.
    pub fn update_args(&self) -> [(&'static str, &str); 4] {
        [
            ("--src-client-id", &self.src_client),
            ("--dst-client-id", &self.dst_client),
            ("--src-connection-id", &self.src_connection),
            ("--dst-connection-id", &self.dst_connection),
        ]
    }
}

/// Whether a path carries all four ids (it may still disagree with the chains).
pub fn complete(path: &PathState) -> bool {
    [&path.src_client, &path.dst_client, &path.src_connection, &path.dst_connection]
        .iter()
        .all(|id| !id.is_empty())
}

/// The ids of every target with an OPEN gateway channel on gwc (REST reads, concurrently).
pub async fn observe(
    run: &Run,
    channels: &[GatewayChannel],
    targets: &[String],
) -> BTreeMap<String, Observed> {
    let open: Vec<(&String, &GatewayChannel)> =
        targets.iter().filter_map(|id| open_channel(channels, id, dst_port(id)).map(|ch| (id, ch))).collect();
    let reads = open.iter().map(|(id, ch)| pair(run, id, &ch.channel_id));
    let found = futures::future::join_all(reads).await;
    open.into_iter().map(|(id, _)| id.clone()).zip(found).collect()
}

/// One pair's ids: gwc's channel end → its connection → the counterparty's ids, confirmed on
/// the counterparty chain when the BFF reaches its REST.
async fn pair(run: &Run, chain: &str, channel: &str) -> Observed {
    let directory = run.ctx.directory.snapshot();
    let client = &run.ctx.chains;
    let gwc = directory.upstream_endpoints(GWC).api.ok_or("gwc's REST endpoint is not resolved")?;
    let read = |what: &str, e: crate::chain::Error| format!("reading {what} from gwc's REST failed: {e}");
    let end = ibc_query::channel(client, &gwc, GATEWAY_PORT, channel)
        .await
        .map_err(|e| read(&format!("channel {channel}"), e))?;
    let connection = end
        .connection_hops
        .first()
        .cloned()
        .ok_or_else(|| format!("gwc's {channel} names no connection hop"))?;
    let conn = ibc_query::connection(client, &gwc, &connection)
        .await
        .map_err(|e| read(&format!("connection {connection}"), e))?;
    let mut ids = PairIds {
        src_channel: channel.to_string(),
        src_connection: connection.clone(),
        src_client: conn.client_id,
        dst_channel: end.counterparty_channel_id,
        dst_connection: conn.counterparty_connection_id,
        dst_client: conn.counterparty_client_id,
        unconfirmed: None,
        unfinished: false,
    };
    let missing: Vec<&str> = [
        ("gwc client", &ids.src_client),
        ("counterparty channel", &ids.dst_channel),
        ("counterparty connection", &ids.dst_connection),
        ("counterparty client", &ids.dst_client),
    ]
    .into_iter()
    .filter(|(_, v)| v.is_empty())
    .map(|(what, _)| what)
    .collect();
    if !missing.is_empty() {
        return Err(format!(
            "gwc's {channel} / {connection} ({}) do not name the {}",
            conn.state,
            missing.join(", ")
        ));
    }
    let odd: Vec<&str> =
        [&ids.src_client, &ids.src_connection, &ids.dst_channel, &ids.dst_client, &ids.dst_connection]
            .into_iter()
            .filter(|v| !is_plain(v))
            .map(String::as_str)
            .collect();
    if !odd.is_empty() {
        return Err(format!("gwc answered ids that are not plain identifiers: {odd:?}"));
    }
    let Some(api) = directory.upstream_endpoints(chain).api else {
        ids.unconfirmed = Some(format!("{chain}'s REST endpoint is not resolved"));
        return Ok(ids);
    };
    match ibc_query::channel(client, &api, dst_port(chain), &ids.dst_channel).await {
        Err(e) => ids.unconfirmed = Some(format!("{chain}'s REST: {e}")),
        Ok(theirs) => {
            let hop = theirs.connection_hops.first().map(String::as_str).unwrap_or_default();
            let state_ok = theirs.state == OPEN || theirs.state == TRYOPEN;
            let facing = theirs.counterparty_channel_id == channel
                && (theirs.counterparty_port_id.is_empty() || theirs.counterparty_port_id == GATEWAY_PORT);
            if !state_ok || hop != ids.dst_connection || !facing {
                return Err(format!(
                    "{chain}'s {} is {} on {} facing {}/{}, but gwc's {channel} (OPEN) needs it OPEN or TRYOPEN on {} facing {GATEWAY_PORT}/{channel}",
                    ids.dst_channel,
                    theirs.state,
                    if hop.is_empty() { "no connection" } else { hop },
                    theirs.counterparty_port_id,
                    theirs.counterparty_channel_id,
                    ids.dst_connection
                ));
            }
            ids.unfinished = theirs.state == TRYOPEN;
        }
    }
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids() -> PairIds {
        PairIds {
            src_channel: "channel-1".into(),
            src_connection: "connection-1".into(),
            src_client: "07-tendermint-1".into(),
            dst_channel: "channel-0".into(),
            dst_connection: "connection-0".into(),
            dst_client: "07-tendermint-0".into(),
            unconfirmed: None,
            unfinished: false,
        }
    }

    #[test]
    fn differences_name_each_wrong_or_missing_id() {
        let want = ids();
        let path = PathState {
            src_client: "07-tendermint-1".into(),
            src_connection: "connection-9".into(),
            ..Default::default()
        };
        assert_eq!(
            want.differences(&path),
            [
                "src connection connection-9 → connection-1",
                "dst client (none) → 07-tendermint-0",
                "dst connection (none) → connection-0"
            ]
        );
        assert!(!complete(&path));
        let right = PathState {
            src_client: "07-tendermint-1".into(),
            src_connection: "connection-1".into(),
            dst_client: "07-tendermint-0".into(),
            dst_connection: "connection-0".into(),
            ..Default::default()
        };
        assert!(want.differences(&right).is_empty() && complete(&right));
    }

    #[test]
    fn describe_names_both_ends_and_an_unconfirmed_counterparty() {
        let mut p = ids();
        assert_eq!(
            p.describe("fdsc-0"),
            "channel-1 on connection-1 (client 07-tendermint-1) ↔ fdsc-0 channel-0 on connection-0 (client 07-tendermint-0)"
        );
        p.unconfirmed = Some("fdsc-0's REST: refused".into());
        assert!(p.describe("fdsc-0").ends_with("; fdsc-0's end not confirmed: fdsc-0's REST: refused"));
        p.unconfirmed = None;
        p.unfinished = true;
        assert!(p.describe("fdsc-0").ends_with("; channel handshake unfinished: fdsc-0's channel-0 is STATE_TRYOPEN, `rly start` completes it (ChanOpenConfirm)"));
    }
}
