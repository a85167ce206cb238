//! Hourly rollups of the probe samples: what the reports read instead of every sample, and
//! what is kept once the raw samples are pruned.
//!
//! One rollup per node, traffic class and UTC hour holds the rounds, packets sent and received,
//! and the round-trip times and jitters as log-scale histograms (buckets 2% wide, from 1 µs),
//! so a percentile read from it is within 2% of the exact one. Reports read percentiles from
//! rollups only (the hours not rolled up yet are rolled up on the fly, by the same code), so a
//! report gives the same figures before and after the raw samples are gone.

use crate::store::Sample;
use jiff::Timestamp;
use rendan_domain::NodeId;
use std::collections::BTreeMap;

/// Width of a histogram bucket: each is 2% wider than the one before.
const GROWTH: f64 = 1.02;
/// The lower bound of bucket 0, in ms (1 µs).
const FLOOR_MS: f64 = 0.001;

/// Counts of values per log-scale bucket.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Histogram(BTreeMap<u16, u64>);

impl Histogram {
    /// The bucket `ms` falls in (stored beside each sample, so a store can roll up in SQL).
    pub fn bucket(ms: f64) -> u16 {
        // NaN, negative and tiny values all go to the first bucket.
        if ms.is_nan() || ms <= FLOOR_MS {
            return 0;
        }
        ((ms / FLOOR_MS).ln() / GROWTH.ln())
            .floor()
            .clamp(0.0, f64::from(u16::MAX)) as u16
    }

    /// The value a bucket stands for: its geometric middle.
    fn value(bucket: u16) -> f64 {
        FLOOR_MS * GROWTH.powf(f64::from(bucket) + 0.5)
    }

    /// Counts `ms`.
    pub fn add(&mut self, ms: f64) {
        *self.0.entry(Self::bucket(ms)).or_default() += 1;
    }

    /// Adds `n` values in `bucket`.
    pub fn add_bucket(&mut self, bucket: u16, n: u64) {
        *self.0.entry(bucket).or_default() += n;
    }

    /// Adds every count of `other`.
    pub fn merge(&mut self, other: &Histogram) {
        for (b, n) in &other.0 {
            *self.0.entry(*b).or_default() += n;
        }
    }

    /// Values counted.
    pub fn count(&self) -> u64 {
        self.0.values().sum()
    }

    /// The nearest-rank `p`th percentile (within a bucket's 2%), or `None` when empty.
    pub fn percentile(&self, p: f64) -> Option<f64> {
        let n = self.count();
        if n == 0 {
            return None;
        }
        let rank = ((p / 100.0) * n as f64).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (b, c) in &self.0 {
            seen += c;
            if seen >= rank {
                return Some(Self::value(*b));
            }
        }
        self.0.keys().last().map(|b| Self::value(*b))
    }

    /// `bucket:count` pairs separated by `;`, for storage.
    pub fn encode(&self) -> String {
        self.0
            .iter()
            .map(|(b, c)| format!("{b}:{c}"))
            .collect::<Vec<_>>()
            .join(";")
    }

    /// Reads [`Histogram::encode`]'s text; `None` when it is not that.
    pub fn decode(text: &str) -> Option<Histogram> {
        let mut h = BTreeMap::new();
        for part in text.split(';').filter(|p| !p.is_empty()) {
            let (b, c) = part.split_once(':')?;
            h.insert(b.parse().ok()?, c.parse().ok()?);
        }
        Some(Histogram(h))
    }
}

/// One node's class over one UTC hour.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassHour {
    /// The node.
    pub node: NodeId,
    /// `tcp` or a traffic class.
    pub class: String,
    /// Start of the hour, Unix seconds.
    pub hour: i64,
    /// Rounds measured.
    pub rounds: u64,
    /// Packets sent.
    pub sent: u64,
    /// Packets received.
    pub received: u64,
    /// Round-trip times, ms.
    pub rtt: Histogram,
    /// RFC 3550 jitters, ms.
    pub jitter: Histogram,
}

impl ClassHour {
    /// Adds `other` (same node and class) into this one.
    pub fn merge(&mut self, other: &ClassHour) {
        self.rounds += other.rounds;
        self.sent += other.sent;
        self.received += other.received;
        self.rtt.merge(&other.rtt);
        self.jitter.merge(&other.jitter);
    }
}

/// The start of the UTC hour `t` falls in.
pub fn hour_of(t: Timestamp) -> i64 {
    t.as_second().div_euclid(3600) * 3600
}

/// Rolls samples up per node, class and hour, sorted by hour, node and class.
pub fn rollup<'a>(samples: impl IntoIterator<Item = &'a Sample>) -> Vec<ClassHour> {
    let mut by: BTreeMap<(i64, &str, &str), ClassHour> = BTreeMap::new();
    for s in samples {
        let hour = hour_of(s.at);
        let e = by
            .entry((hour, s.node.as_str(), s.class.as_str()))
            .or_insert_with(|| ClassHour {
                node: s.node.clone(),
                class: s.class.clone(),
                hour,
                rounds: 0,
                sent: 0,
                received: 0,
                rtt: Histogram::default(),
                jitter: Histogram::default(),
            });
        e.rounds += 1;
        e.sent += u64::from(s.sent);
        e.received += u64::from(s.received);
        if let Some(r) = s.rtt_ms {
            e.rtt.add(r);
        }
        if let Some(j) = s.jitter_ms {
            e.jitter.add(j);
        }
    }
    by.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_within_two_percent() {
        let mut h = Histogram::default();
        for v in 1..=1000 {
            h.add(f64::from(v) / 10.0);
        }
        for (p, exact) in [(50.0, 50.0), (95.0, 95.0), (99.0, 99.0)] {
            let got = h.percentile(p).unwrap();
            assert!(
                (got - exact).abs() / exact <= 0.02,
                "p{p}: {got} vs {exact}"
            );
        }
        assert_eq!(Histogram::default().percentile(50.0), None);
        assert_eq!(Histogram::decode(&h.encode()), Some(h));
        assert_eq!(Histogram::decode("x"), None);
    }

    #[test]
    fn samples_roll_up_per_node_class_and_hour() {
        let node = NodeId::parse("alpha", "n").unwrap();
        let s = |at: &str, rtt: Option<f64>, received: u32| Sample {
            node: node.clone(),
            class: "tcp".into(),
            at: at.parse().unwrap(),
            rtt_ms: rtt,
            sent: 1,
            received,
            jitter_ms: None,
        };
        let rows = rollup(&[
            s("2026-11-05T02:00:00Z", Some(1.0), 1),
            s("2026-11-05T02:59:59Z", None, 0),
            s("2026-11-05T03:00:00Z", Some(2.0), 1),
        ]);
        assert_eq!(rows.len(), 2);
        assert_eq!((rows[0].rounds, rows[0].sent, rows[0].received), (2, 2, 1));
        assert_eq!(rows[0].rtt.count(), 1);
        assert_eq!(rows[1].hour - rows[0].hour, 3600);
    }
}
