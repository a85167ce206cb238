//! UDP bursts: N numbered, timestamped packets with a DSCP mark, echoed by the agent, giving
//! round-trip time, loss and RFC 3550 interarrival jitter for one traffic class.
//!
//! Packet layout (big-endian): magic `RNDU` (4), version (1), class (1), reserved (2),
//! burst id (8), sequence (4), reserved (4), sender's send time in ns since its burst began (8),
//! agent's receive time in Unix ns (8, filled by the agent), padding to the class's size.
//! Each burst uses its own socket and a random-enough burst id, so late echoes of an earlier
//! burst are recognised and ignored rather than counted.

use super::{ProbeError, resolve};
use crate::config::ClassSpec;
use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::net::UdpSocket;

/// Bytes of header every probe packet carries.
pub const HEADER_LEN: usize = 40;
/// The magic at the start of every probe packet.
pub const MAGIC: &[u8; 4] = b"RNDU";
/// Offset of the agent's receive timestamp.
pub const AGENT_TS_OFFSET: usize = 32;

/// What one burst measured.
#[derive(Debug, Clone, PartialEq)]
pub struct BurstResult {
    /// Packets sent.
    pub sent: u32,
    /// Distinct packets echoed back.
    pub received: u32,
    /// Round-trip times of the echoed packets, in ms, in arrival order.
    pub rtts_ms: Vec<f64>,
    /// RFC 3550 jitter estimate after the last arrival, in ms.
    pub jitter_ms: f64,
}

impl BurstResult {
    /// Lost share in percent.
    pub fn loss_pct(&self) -> f64 {
        if self.sent == 0 {
            return 0.0;
        }
        100.0 * f64::from(self.sent - self.received) / f64::from(self.sent)
    }

    /// Mean round-trip time, if anything came back.
    pub fn mean_rtt_ms(&self) -> Option<f64> {
        if self.rtts_ms.is_empty() {
            None
        } else {
            Some(self.rtts_ms.iter().sum::<f64>() / self.rtts_ms.len() as f64)
        }
    }
}

/// Running RFC 3550 section 6.4.1 jitter: `J += (|D| - J) / 16` over successive transits.
#[derive(Debug, Clone, Copy, Default)]
pub struct Jitter {
    last_transit: Option<f64>,
    j: f64,
}

impl Jitter {
    /// Feeds the transit time (arrival minus send, any common clock) of the next arrival.
    pub fn push(&mut self, transit: f64) {
        if let Some(prev) = self.last_transit {
            let d = (transit - prev).abs();
            self.j += (d - self.j) / 16.0;
        }
        self.last_transit = Some(transit);
    }

    /// The current estimate.
    pub fn value(&self) -> f64 {
        self.j
    }
}

fn encode(buf: &mut [u8], class: u8, burst: u64, seq: u32, send_ns: u64) {
    buf[0..4].copy_from_slice(MAGIC);
    buf[4] = 1;
    buf[5] = class;
    buf[8..16].copy_from_slice(&burst.to_be_bytes());
    buf[16..20].copy_from_slice(&seq.to_be_bytes());
    buf[24..32].copy_from_slice(&send_ns.to_be_bytes());
}

fn decode(buf: &[u8]) -> Option<(u64, u32, u64)> {
    if buf.len() < HEADER_LEN || &buf[0..4] != MAGIC {
        return None;
    }
    let burst = u64::from_be_bytes(buf[8..16].try_into().ok()?);
    let seq = u32::from_be_bytes(buf[16..20].try_into().ok()?);
    let send = u64::from_be_bytes(buf[24..32].try_into().ok()?);
    Some((burst, seq, send))
}

fn marked_socket(peer: SocketAddr, dscp: u8) -> Result<UdpSocket, ProbeError> {
    let domain = Domain::for_address(peer);
    let s = Socket::new(domain, Type::DGRAM, Some(Protocol::UDP))?;
    // The DSCP sits in the upper six bits of the TOS / traffic-class byte.
    let tos = u32::from(dscp) << 2;
    if peer.is_ipv4() {
        s.set_tos_v4(tos)?;
    } else {
        s.set_tclass_v6(tos)?;
    }
    let local: SocketAddr = if peer.is_ipv4() {
        ([0, 0, 0, 0], 0).into()
    } else {
        (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
    };
    s.bind(&SockAddr::from(local))?;
    s.connect(&SockAddr::from(peer))?;
    s.set_nonblocking(true)?;
    Ok(UdpSocket::from_std(s.into())?)
}

fn burst_id() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    // RandomState is seeded per process and per instance: enough to tell bursts apart.
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    h.finish()
}

/// Sends one burst of `spec` to `addr` and collects echoes until `timeout` after the last send.
pub async fn probe(
    addr: &str,
    spec: &ClassSpec,
    timeout: Duration,
) -> Result<BurstResult, ProbeError> {
    let peer = resolve(addr).await?;
    let sock = marked_socket(peer, spec.dscp)?;
    let id = burst_id();
    let class = spec.class as u8;
    let size = spec.size.max(HEADER_LEN);
    let t0 = Instant::now();
    let mut seen = vec![false; spec.packets as usize];
    let mut rtts = Vec::with_capacity(spec.packets as usize);
    let mut jitter = Jitter::default();
    let mut out = vec![0u8; size];
    let mut inbuf = vec![0u8; 2048];
    let mut next_seq: u32 = 0;
    let mut next_send = tokio::time::Instant::now();
    let mut deadline: Option<tokio::time::Instant> = None;
    loop {
        let wake = match (next_seq < spec.packets, deadline) {
            (true, _) => next_send,
            (false, Some(d)) => d,
            (false, None) => break,
        };
        tokio::select! {
            _ = tokio::time::sleep_until(wake) => {
                if next_seq < spec.packets {
                    let send_ns = t0.elapsed().as_nanos() as u64;
                    encode(&mut out, class, id, next_seq, send_ns);
                    // A send error (e.g. ICMP unreachable reported on a connected socket) is a
                    // lost packet, not a failed probe.
                    let _ = sock.send(&out).await;
                    next_seq += 1;
                    next_send += spec.spacing;
                    if next_seq == spec.packets {
                        deadline = Some(tokio::time::Instant::now() + timeout);
                    }
                } else {
                    break;
                }
            }
            r = sock.recv(&mut inbuf) => {
                let Ok(n) = r else { continue };
                let now_ns = t0.elapsed().as_nanos() as u64;
                let Some((bid, seq, send_ns)) = decode(&inbuf[..n]) else { continue };
                let fresh = bid == id
                    && seen.get(seq as usize).is_some_and(|s| !s)
                    && send_ns <= now_ns;
                if fresh {
                    seen[seq as usize] = true;
                    let transit = (now_ns - send_ns) as f64 / 1e6;
                    rtts.push(transit);
                    jitter.push(transit);
                    if rtts.len() == spec.packets as usize {
                        break;
                    }
                }
            }
        }
    }
    Ok(BurstResult {
        sent: next_seq,
        received: rtts.len() as u32,
        rtts_ms: rtts,
        jitter_ms: jitter.value(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3550_jitter_golden() {
        // Transits alternating 10 and 12 ms: |D| = 2 every step.
        let mut j = Jitter::default();
        for t in [10.0, 12.0, 10.0] {
            j.push(t);
        }
        // J1 = 0 + (2 - 0)/16 = 0.125; J2 = 0.125 + (2 - 0.125)/16 = 0.2421875
        assert!((j.value() - 0.242_187_5).abs() < 1e-12);
    }

    #[tokio::test]
    async fn packets_carry_the_class_dscp() {
        let sock = marked_socket("127.0.0.1:9".parse().unwrap(), 46).unwrap();
        let tos = socket2::SockRef::from(&sock).tos_v4().unwrap();
        assert_eq!(tos, 46 << 2, "EF in the upper six bits of the TOS byte");
    }

    #[test]
    fn header_round_trips() {
        let mut b = vec![0u8; HEADER_LEN];
        encode(&mut b, 2, 77, 5, 123_456);
        assert_eq!(decode(&b), Some((77, 5, 123_456)));
        b[0] = b'X';
        assert_eq!(decode(&b), None);
        assert_eq!(decode(&b[..10]), None);
    }
}
