//! The monitor's settings: the topology's nodes plus the `[netwatch]` table and per-node `probe`
//! tables of the same TOML file, validated into typed values with the offending key named.
//!
//! Every setting has a default, so a topology without `[netwatch]` is watched as it is: 60 s
//! slices, a round every 10 s with a 2 s timeout, TCP echo + HTTP `/health` + UDP bursts for the
//! `voice`, `video` and `data` classes on every node that has an agent, K = M = 3, a strict
//! majority quorum, and the default contract. Command-line flags override the file afterwards.

use crate::contract::Contract;
use crate::judge::Quorum;
use crate::slice::{SliceLen, parse_duration};
use jiff::tz::TimeZone;
use rendan_domain::{Node, NodeId, Region};
use rendan_topology::TopologyFile;
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::time::Duration;

/// A setting that cannot be used, with its key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key}: {message}")]
pub struct ConfigError {
    /// Dotted path, e.g. `netwatch.class.voice.dscp`.
    pub key: String,
    /// What is wrong.
    pub message: String,
}

fn cerr(key: impl Into<String>, message: impl fmt::Display) -> ConfigError {
    ConfigError {
        key: key.into(),
        message: message.to_string(),
    }
}

/// A traffic class measured by UDP bursts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TrafficClass {
    /// Voice: small packets, expedited forwarding.
    Voice,
    /// Video: larger packets, AF41.
    Video,
    /// Best-effort data.
    Data,
}

impl TrafficClass {
    /// All classes.
    pub const ALL: [TrafficClass; 3] =
        [TrafficClass::Voice, TrafficClass::Video, TrafficClass::Data];

    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            TrafficClass::Voice => "voice",
            TrafficClass::Video => "video",
            TrafficClass::Data => "data",
        }
    }

    /// Parses a lower-case name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// The class's default burst and thresholds.
    pub fn defaults(self) -> ClassSpec {
        let (dscp, size, spacing, rtt, loss, jitter) = match self {
            TrafficClass::Voice => (46, 160, 20, 150.0, 1.0, 30.0),
            TrafficClass::Video => (34, 1000, 10, 200.0, 1.0, 50.0),
            TrafficClass::Data => (0, 512, 10, 300.0, 2.0, 100.0),
        };
        ClassSpec {
            class: self,
            dscp,
            packets: 10,
            size,
            spacing: Duration::from_millis(spacing),
            max_rtt_ms: rtt,
            max_loss_pct: loss,
            max_jitter_ms: jitter,
        }
    }
}

impl fmt::Display for TrafficClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A class's UDP burst and its thresholds.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassSpec {
    /// Which class.
    pub class: TrafficClass,
    /// DSCP mark (0-63) put in the IP header of every packet.
    pub dscp: u8,
    /// Packets per burst.
    pub packets: u32,
    /// Bytes per packet (at least the 40-byte probe header).
    pub size: usize,
    /// Gap between packets.
    pub spacing: Duration,
    /// Mean round-trip time above which the node is DEGRADED.
    pub max_rtt_ms: f64,
    /// Loss percentage above which the node is DEGRADED.
    pub max_loss_pct: f64,
    /// RFC 3550 jitter above which the node is DEGRADED.
    pub max_jitter_ms: f64,
}

/// An HTTP check: a URL and the status it must answer.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpCheck {
    /// `http://` URL.
    pub url: String,
    /// Expected status code.
    pub expect_status: u16,
}

/// Everything the monitor probes on one node.
#[derive(Debug, Clone)]
pub struct Target {
    /// The node.
    pub node: NodeId,
    /// Its region.
    pub region: Region,
    /// `host:port` of its agent (TCP echo and UDP echo).
    pub addr: String,
    /// Whether to do the TCP connect + echo probe.
    pub tcp: bool,
    /// Optional HTTP check.
    pub http: Option<HttpCheck>,
    /// UDP burst classes.
    pub classes: Vec<ClassSpec>,
    /// Time between rounds.
    pub interval: Duration,
    /// Timeout of each probe.
    pub timeout: Duration,
}

impl Target {
    /// Longest a round can take: the timeout plus the longest burst.
    pub fn round_budget(&self) -> Duration {
        let burst = self
            .classes
            .iter()
            .map(|c| c.spacing * c.packets)
            .max()
            .unwrap_or_default();
        // TCP, HTTP, bursts and vantage requests run concurrently, each bounded by `timeout`
        // after its start (a vantage request by `timeout` + 200 ms, covered by the close grace).
        self.timeout + burst
    }
}

/// Where webhook notifications go.
#[derive(Clone)]
pub struct WebhookSpec {
    /// `http://` URL receiving `POST`s.
    pub url: String,
    /// HMAC-SHA256 key.
    pub secret: String,
    /// The wait after the first failed attempt, doubled after each (at most an hour; retries
    /// stop 24 h after the change).
    pub backoff: jiff::SignedDuration,
    /// How long the receiver has to answer.
    pub timeout: Duration,
}

impl fmt::Debug for WebhookSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The secret never reaches a log line.
        f.debug_struct("WebhookSpec")
            .field("url", &self.url)
            .field("secret", &"<redacted>")
            .field("backoff", &self.backoff)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// The validated settings of the network watch.
#[derive(Debug, Clone)]
pub struct NetwatchConfig {
    /// The topology's nodes.
    pub nodes: Vec<Node>,
    /// Slice length.
    pub slice: SliceLen,
    /// One target per node with an agent.
    pub targets: Vec<Target>,
    /// Agents asked to probe the targets too (`host:port` of their HTTP page).
    pub vantages: Vec<String>,
    /// The key the monitor signs its requests to vantage points with (required with
    /// vantages; the agents hold the same one).
    pub probe_key: Option<String>,
    /// Share of reporting vantage points that must agree on DOWN.
    pub quorum: Quorum,
    /// K: failed rounds that open an incident.
    pub open_after: u32,
    /// M: good rounds that close it.
    pub close_after: u32,
    /// Webhooks notified on open and close.
    pub webhooks: Vec<WebhookSpec>,
    /// How long before it starts a planned maintenance window must be recorded.
    pub maintenance_notice: jiff::SignedDuration,
    /// How long raw samples are kept (their hourly rollups are kept for good).
    pub sample_retention: jiff::SignedDuration,
    /// Contracts, the first being the default for reports.
    pub contracts: Vec<Contract>,
}

impl NetwatchConfig {
    /// The node with `id`.
    pub fn node(&self, id: &NodeId) -> Option<&Node> {
        self.nodes.iter().find(|n| &n.id == id)
    }

    /// The contract named `name`, or the first.
    pub fn contract(&self, name: Option<&str>) -> Option<&Contract> {
        match name {
            None => self.contracts.first(),
            Some(n) => self.contracts.iter().find(|c| c.name == n),
        }
    }

    /// Sets the slice length, interval of every target, or both (command-line overrides).
    pub fn override_timing(&mut self, slice: Option<SliceLen>, interval: Option<Duration>) {
        if let Some(s) = slice {
            self.slice = s;
        }
        if let Some(i) = interval {
            for t in &mut self.targets {
                t.interval = i;
                // A round must end before the next one starts.
                t.timeout = t.timeout.min(i.mul_f64(0.6));
            }
        }
    }

    /// Builds the settings from a loaded topology file.
    pub fn from_topology(file: &TopologyFile) -> Result<Self, ConfigError> {
        let nodes = file.topology.nodes().to_vec();
        let table = file.netwatch.clone().unwrap_or_default();
        let doc: Doc = toml::Value::Table(table)
            .try_into()
            .map_err(|e| cerr("netwatch", e))?;
        Self::build(nodes, doc, &file.node_probe)
    }

    fn build(
        nodes: Vec<Node>,
        doc: Doc,
        probes: &HashMap<NodeId, toml::Table>,
    ) -> Result<Self, ConfigError> {
        let dur =
            |key: &str, v: &Option<String>, default: Duration| -> Result<Duration, ConfigError> {
                match v {
                    None => Ok(default),
                    Some(s) => parse_duration(s)
                        .map_err(|m| cerr(key, m))?
                        .try_into()
                        .map_err(|e| cerr(key, e)),
                }
            };
        let slice = match &doc.slice {
            None => SliceLen::MINUTE,
            Some(s) => {
                let d = parse_duration(s).map_err(|m| cerr("netwatch.slice", m))?;
                SliceLen::from_duration(d).map_err(|e| cerr("netwatch.slice", e))?
            }
        };
        let interval = dur("netwatch.interval", &doc.interval, Duration::from_secs(10))?;
        let timeout = dur("netwatch.timeout", &doc.timeout, Duration::from_secs(2))?;
        let quorum = match doc.quorum {
            None => Quorum::default(),
            Some(q) => Quorum::new(q).map_err(|e| cerr("netwatch.quorum", e))?,
        };
        let mut class_specs: BTreeMap<TrafficClass, ClassSpec> = TrafficClass::ALL
            .into_iter()
            .map(|c| (c, c.defaults()))
            .collect();
        for (name, over) in &doc.class {
            let key = format!("netwatch.class.{name}");
            let c = TrafficClass::parse(name)
                .ok_or_else(|| cerr(&key, "unknown class (voice, video, data)"))?;
            if let Some(spec) = class_specs.get_mut(&c) {
                over.apply(spec, &key)?;
            }
        }
        let default_classes = parse_classes("netwatch.classes", doc.classes.as_deref())?;
        let mut targets = Vec::new();
        for (i, n) in nodes.iter().enumerate() {
            let Some(addr) = n.agent.clone() else {
                continue;
            };
            let key = format!("node[{i}].probe");
            let p: ProbeDoc = match probes.get(&n.id) {
                None => ProbeDoc::default(),
                Some(t) => toml::Value::Table(t.clone())
                    .try_into()
                    .map_err(|e| cerr(&key, e))?,
            };
            if p.enabled == Some(false) {
                continue;
            }
            let mut classes: Vec<ClassSpec> = match &p.classes {
                Some(list) => parse_classes(&format!("{key}.classes"), Some(list))?,
                None => default_classes.clone(),
            }
            .into_iter()
            .filter_map(|c| class_specs.get(&c).cloned())
            .collect();
            for (name, over) in &p.class {
                let ck = format!("{key}.class.{name}");
                let c = TrafficClass::parse(name)
                    .ok_or_else(|| cerr(&ck, "unknown class (voice, video, data)"))?;
                if let Some(spec) = classes.iter_mut().find(|s| s.class == c) {
                    over.apply(spec, &ck)?;
                }
            }
            let http = match (&p.http, doc.http_health.unwrap_or(true)) {
                (Some(url), _) if url.is_empty() => None,
                (Some(url), _) => Some(url.clone()),
                (None, true) => Some(format!("http://{addr}/health")),
                (None, false) => None,
            }
            .map(|url| {
                if url.starts_with("http://") {
                    Ok(HttpCheck {
                        url,
                        expect_status: p.expect_status.unwrap_or(200),
                    })
                } else {
                    Err(cerr(format!("{key}.http"), "only http:// URLs are probed"))
                }
            })
            .transpose()?;
            let t_interval = dur(&format!("{key}.interval"), &p.interval, interval)?;
            let t_timeout = dur(&format!("{key}.timeout"), &p.timeout, timeout)?;
            if t_timeout >= t_interval {
                return Err(cerr(
                    format!("{key}.timeout"),
                    "the timeout must be shorter than the interval",
                ));
            }
            targets.push(Target {
                node: n.id.clone(),
                region: n.region.clone(),
                addr,
                tcp: p.tcp.unwrap_or(true),
                http,
                classes,
                interval: t_interval,
                timeout: t_timeout,
            });
        }
        let webhooks = doc
            .webhook
            .iter()
            .enumerate()
            .map(|(i, w)| {
                let key = format!("netwatch.webhook[{i}]");
                if !w.url.starts_with("http://") {
                    return Err(cerr(
                        format!("{key}.url"),
                        "only http:// URLs are supported",
                    ));
                }
                let secret = match (&w.secret, &w.secret_env) {
                    (Some(s), _) => s.clone(),
                    (None, Some(var)) => std::env::var(var).map_err(|_| {
                        cerr(format!("{key}.secret_env"), format!("{var} is not set"))
                    })?,
                    (None, None) => return Err(cerr(key, "needs secret or secret_env")),
                };
                Ok(WebhookSpec {
                    url: w.url.clone(),
                    secret,
                    backoff: match &w.backoff {
                        None => jiff::SignedDuration::from_secs(10),
                        Some(b) => {
                            parse_duration(b).map_err(|m| cerr(format!("{key}.backoff"), m))?
                        }
                    },
                    timeout: dur(
                        &format!("{key}.timeout"),
                        &w.timeout,
                        Duration::from_secs(10),
                    )?,
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut contracts = Vec::new();
        for (i, c) in doc.contract.iter().enumerate() {
            let key = format!("netwatch.contract[{i}]");
            let tz = TimeZone::get(c.tz.as_deref().unwrap_or(crate::contract::DEFAULT_ZONE))
                .map_err(|e| cerr(format!("{key}.tz"), e))?;
            let mut targets = BTreeMap::new();
            for n in &nodes {
                let listed = c
                    .nodes
                    .as_ref()
                    .is_none_or(|l| l.iter().any(|x| x == n.id.as_str()));
                let in_region = c
                    .regions
                    .as_ref()
                    .is_none_or(|l| l.iter().any(|x| x == n.region.as_str()));
                if listed && in_region {
                    targets.insert(n.id.clone(), c.target.unwrap_or(n.availability_target));
                }
            }
            for id in c.nodes.iter().flatten() {
                if !nodes.iter().any(|n| n.id.as_str() == id) {
                    return Err(cerr(format!("{key}.nodes"), format!("unknown node {id:?}")));
                }
            }
            if let Some(t) = c.target
                && !(t > 0.0 && t <= 100.0)
            {
                return Err(cerr(
                    format!("{key}.target"),
                    "must be a percentage in (0, 100]",
                ));
            }
            contracts.push(Contract {
                name: c.name.clone(),
                tz,
                degraded_is_down: c.degraded_is_down.unwrap_or(false),
                targets,
            });
        }
        if contracts.is_empty() {
            contracts.push(Contract::default_for(&nodes));
        }
        let has_vantages = doc.vantages.as_ref().is_some_and(|v| !v.is_empty());
        match &doc.probe_key {
            None if has_vantages => {
                return Err(cerr(
                    "netwatch.probe_key",
                    "vantages answer only signed requests: set the key they share",
                ));
            }
            Some(k) if k.len() < 16 => {
                return Err(cerr("netwatch.probe_key", "must be at least 16 bytes"));
            }
            _ => {}
        }
        Ok(NetwatchConfig {
            nodes,
            slice,
            targets,
            vantages: doc.vantages.unwrap_or_default(),
            probe_key: doc.probe_key,
            quorum,
            open_after: doc.open_after.unwrap_or(3),
            close_after: doc.close_after.unwrap_or(3),
            webhooks,
            sample_retention: match &doc.sample_retention {
                None => jiff::SignedDuration::from_hours(35 * 24),
                Some(s) => {
                    let d = parse_duration(s).map_err(|m| cerr("netwatch.sample_retention", m))?;
                    if d < jiff::SignedDuration::from_hours(2) {
                        return Err(cerr(
                            "netwatch.sample_retention",
                            "at least 2h: an hour is rolled up after it ends",
                        ));
                    }
                    d
                }
            },
            maintenance_notice: match &doc.maintenance_notice {
                None => jiff::SignedDuration::from_hours(1),
                Some(s) => parse_duration(s).map_err(|m| cerr("netwatch.maintenance_notice", m))?,
            },
            contracts,
        })
    }
}

fn parse_classes(key: &str, list: Option<&[String]>) -> Result<Vec<TrafficClass>, ConfigError> {
    match list {
        None => Ok(TrafficClass::ALL.to_vec()),
        Some(l) => l
            .iter()
            .map(|s| {
                TrafficClass::parse(s).ok_or_else(|| cerr(key, format!("unknown class {s:?}")))
            })
            .collect(),
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Doc {
    slice: Option<String>,
    interval: Option<String>,
    timeout: Option<String>,
    quorum: Option<f64>,
    open_after: Option<u32>,
    close_after: Option<u32>,
    classes: Option<Vec<String>>,
    http_health: Option<bool>,
    vantages: Option<Vec<String>>,
    probe_key: Option<String>,
    maintenance_notice: Option<String>,
    sample_retention: Option<String>,
    #[serde(default)]
    class: BTreeMap<String, ClassDoc>,
    #[serde(default)]
    webhook: Vec<WebhookDoc>,
    #[serde(default)]
    contract: Vec<ContractDoc>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ProbeDoc {
    enabled: Option<bool>,
    interval: Option<String>,
    timeout: Option<String>,
    tcp: Option<bool>,
    http: Option<String>,
    expect_status: Option<u16>,
    classes: Option<Vec<String>>,
    #[serde(default)]
    class: BTreeMap<String, ClassDoc>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ClassDoc {
    dscp: Option<u8>,
    packets: Option<u32>,
    size: Option<usize>,
    spacing: Option<String>,
    max_rtt_ms: Option<f64>,
    max_loss_pct: Option<f64>,
    max_jitter_ms: Option<f64>,
}

impl ClassDoc {
    fn apply(&self, spec: &mut ClassSpec, key: &str) -> Result<(), ConfigError> {
        if let Some(d) = self.dscp {
            if d > 63 {
                return Err(cerr(format!("{key}.dscp"), "DSCP is 0-63"));
            }
            spec.dscp = d;
        }
        if let Some(p) = self.packets {
            if !(1..=1000).contains(&p) {
                return Err(cerr(
                    format!("{key}.packets"),
                    "1 to 1000 packets per burst",
                ));
            }
            spec.packets = p;
        }
        if let Some(s) = self.size {
            if !(crate::probe::udp::HEADER_LEN..=1472).contains(&s) {
                return Err(cerr(format!("{key}.size"), "40 to 1472 bytes"));
            }
            spec.size = s;
        }
        if let Some(s) = &self.spacing {
            spec.spacing = parse_duration(s)
                .map_err(|m| cerr(format!("{key}.spacing"), m))?
                .try_into()
                .map_err(|e| cerr(format!("{key}.spacing"), e))?;
        }
        spec.max_rtt_ms = self.max_rtt_ms.unwrap_or(spec.max_rtt_ms);
        spec.max_loss_pct = self.max_loss_pct.unwrap_or(spec.max_loss_pct);
        spec.max_jitter_ms = self.max_jitter_ms.unwrap_or(spec.max_jitter_ms);
        Ok(())
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WebhookDoc {
    url: String,
    secret: Option<String>,
    secret_env: Option<String>,
    backoff: Option<String>,
    timeout: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ContractDoc {
    name: String,
    tz: Option<String>,
    target: Option<f64>,
    degraded_is_down: Option<bool>,
    nodes: Option<Vec<String>>,
    regions: Option<Vec<String>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_topology_watches_sixteen_agents() {
        let file = rendan_topology::load(None).unwrap();
        let c = NetwatchConfig::from_topology(&file).unwrap();
        assert_eq!(c.targets.len(), 16);
        assert_eq!(c.slice, SliceLen::MINUTE);
        assert_eq!(c.contracts.len(), 1);
        let seoul = NodeId::parse("seoul", "n").unwrap();
        assert_eq!(c.contracts[0].targets[&seoul], 99.7);
        assert_eq!(c.contracts[0].zone_name(), "Asia/Shanghai");
        assert_eq!(c.targets[0].classes.len(), 3);
        assert_eq!(c.targets[0].classes[0].dscp, 46);
    }

    #[test]
    fn per_node_probe_tables_override() {
        let text = r#"
[[node]]
id = "seoul"
name = "Seoul"
region = "asia"
lat = 37.57
lon = 126.98
availability_target = 99.7
agent = "127.0.0.1:7403"
probe = { interval = "30s", timeout = "3s", http = "http://127.0.0.1:7403/health", expect_status = 204, classes = ["voice"], class.voice = { packets = 50, dscp = 40 } }

[[node]]
id = "osaka"
name = "Osaka"
region = "asia"
lat = 34.69
lon = 135.5
availability_target = 99.7
agent = "127.0.0.1:7404"
probe = { enabled = false }

[netwatch]
interval = "5s"
quorum = 0.5
[[netwatch.contract]]
name = "asia-strict"
tz = "Asia/Tokyo"
target = 99.9
degraded_is_down = true
regions = ["asia"]
"#;
        let file = rendan_topology::parse(text, "t").unwrap();
        let c = NetwatchConfig::from_topology(&file).unwrap();
        assert_eq!(c.targets.len(), 1, "osaka is not probed");
        let t = &c.targets[0];
        assert_eq!(t.interval, Duration::from_secs(30));
        assert_eq!(t.timeout, Duration::from_secs(3));
        assert_eq!(t.http.as_ref().unwrap().expect_status, 204);
        assert_eq!(t.classes.len(), 1);
        assert_eq!((t.classes[0].packets, t.classes[0].dscp), (50, 40));
        let k = &c.contracts[0];
        assert_eq!(
            (k.name.as_str(), k.zone_name()),
            ("asia-strict", "Asia/Tokyo")
        );
        assert!(k.degraded_is_down);
        assert_eq!(k.targets.len(), 2);
        assert!(k.targets.values().all(|t| *t == 99.9));
    }

    #[test]
    fn webhook_secrets_are_not_printed() {
        let w = WebhookSpec {
            url: "http://127.0.0.1:9/h".into(),
            secret: "hunter2".into(),
            backoff: jiff::SignedDuration::from_millis(1),
            timeout: Duration::from_millis(1),
        };
        assert!(!format!("{w:?}").contains("hunter2"));
    }

    #[test]
    fn errors_name_the_key() {
        let text = format!(
            "{}\n[netwatch]\nslice = \"7s\"\n",
            rendan_topology::DEFAULT_TOML
        );
        let file = rendan_topology::parse(&text, "t").unwrap();
        let e = NetwatchConfig::from_topology(&file).unwrap_err();
        assert_eq!(e.key, "netwatch.slice");
        let text = format!(
            "{}\n[netwatch.class.voice]\ndscp = 99\n",
            rendan_topology::DEFAULT_TOML
        );
        let file = rendan_topology::parse(&text, "t").unwrap();
        let e = NetwatchConfig::from_topology(&file).unwrap_err();
        assert_eq!(e.key, "netwatch.class.voice.dscp");
    }
}
