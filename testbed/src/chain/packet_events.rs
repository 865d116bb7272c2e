//! The events ibc-go v10's 04-channel keeper emits for a packet's lifecycle
//! (`modules/core/04-channel/keeper/events.go`): `send_packet` on the source, `recv_packet`
//! and `write_acknowledgement` on the destination, `acknowledge_packet` or `timeout_packet`
//! back on the source. v10 names the connection `connection_id` (the deprecated
//! `packet_connection` and the non-hex `packet_data`/`packet_ack` are gone). Each is followed
//! by a `message` event naming the `ibc_channel` module.

use super::events::Event;
use super::ibc::IbcChannel;
use super::packets::Packet;

/// `clienttypes.Height.String()`: `<revision>-<height>`.
fn height_string(p: &Packet) -> String {
    let h = p.timeout_height.clone().unwrap_or_default();
    format!("{}-{}", h.revision_number, h.revision_height)
}

/// What each event kind carries beyond the packet's route.
#[derive(Clone, Copy)]
enum Kind<'a> {
    Send,
    Recv,
    WriteAck(&'a [u8]),
    Ack,
    Timeout,
}

fn packet_event(kind: Kind<'_>, p: &Packet, channel: Option<&IbcChannel>) -> Vec<Event> {
    let name = match kind {
        Kind::Send => "send_packet",
        Kind::Recv => "recv_packet",
        Kind::WriteAck(_) => "write_acknowledgement",
        Kind::Ack => "acknowledge_packet",
        Kind::Timeout => "timeout_packet",
    };
    let ordering = channel.map_or("ORDER_UNORDERED", |c| c.ordering);
    let connection = channel.map(|c| c.connection_id.clone()).unwrap_or_default();
    let mut attrs: Vec<(String, String)> = Vec::new();
    let mut push = |k: &str, v: String| attrs.push((k.to_string(), v));
    if matches!(kind, Kind::Send | Kind::Recv | Kind::WriteAck(_)) {
        push("packet_data_hex", hex::encode(&p.data));
    }
    push("packet_timeout_height", height_string(p));
    push("packet_timeout_timestamp", p.timeout_timestamp.to_string());
    push("packet_sequence", p.sequence.to_string());
    push("packet_src_port", p.source_port.clone());
    push("packet_src_channel", p.source_channel.clone());
    push("packet_dst_port", p.destination_port.clone());
    push("packet_dst_channel", p.destination_channel.clone());
    if let Kind::WriteAck(ack) = kind {
        push("packet_ack_hex", hex::encode(ack));
    }
    // timeout_packet lists the connection before the ordering; the others after.
    if matches!(kind, Kind::Timeout) {
        push("connection_id", connection);
        push("packet_channel_ordering", ordering.to_string());
    } else {
        push("packet_channel_ordering", ordering.to_string());
        push("connection_id", connection);
    }
    vec![
        Event { kind: name.to_string(), attributes: attrs },
        Event::new("message", &[("module", "ibc_channel")]),
    ]
}

/// `SendPacket` on `channel` (the source end).
pub fn send(p: &Packet, channel: Option<&IbcChannel>) -> Vec<Event> {
    packet_event(Kind::Send, p, channel)
}

/// `RecvPacket` and the acknowledgement written with it, on `channel` (the destination end).
pub fn recv_and_write_ack(p: &Packet, channel: Option<&IbcChannel>, ack: &[u8]) -> Vec<Event> {
    let mut events = packet_event(Kind::Recv, p, channel);
    events.extend(packet_event(Kind::WriteAck(ack), p, channel));
    events
}

/// `AcknowledgePacket` on `channel` (the source end).
pub fn acknowledge(p: &Packet, channel: Option<&IbcChannel>) -> Vec<Event> {
    packet_event(Kind::Ack, p, channel)
}

/// `TimeoutPacket` on `channel` (the source end).
pub fn timeout(p: &Packet, channel: Option<&IbcChannel>) -> Vec<Event> {
    packet_event(Kind::Timeout, p, channel)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_carry_ibc_go_v10_attribute_names() {
        let p = Packet {
            sequence: 7,
            data: vec![0xab],
            source_channel: "channel-1".into(),
            ..Default::default()
        };
        let names = |e: &Event| e.attributes.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>();
        let send = send(&p, None);
        assert_eq!(send[0].kind, "send_packet");
        assert_eq!(send[0].value("packet_data_hex"), Some("ab"));
        assert_eq!(send[0].value("packet_timeout_height"), Some("0-0"));
        assert!(names(&send[0]).contains(&"connection_id".to_string()));
        assert!(!names(&send[0]).iter().any(|k| k == "packet_connection" || k == "packet_data"));
        let recv = recv_and_write_ack(&p, None, b"{}");
        assert_eq!(recv[2].kind, "write_acknowledgement");
        assert_eq!(recv[2].value("packet_ack_hex"), Some("7b7d"));
        assert_eq!(acknowledge(&p, None)[0].value("packet_sequence"), Some("7"));
        assert!(!names(&acknowledge(&p, None)[0]).contains(&"packet_data_hex".to_string()));
        assert_eq!(timeout(&p, None)[0].kind, "timeout_packet");
    }
}
