//! One probe round of one node: every probe from every vantage point, turned into verdicts.
//!
//! The monitor's own vantage point (`monitor`) runs the TCP echo, the HTTP check and a UDP burst
//! per class concurrently; each agent configured as a vantage point is asked over HTTP for a TCP
//! probe of the same node. A vantage point that cannot be asked does not report (it is not a vote
//! for DOWN): the quorum counts only the vantage points that reported.

use crate::config::{ClassSpec, Target};
use crate::judge::Verdict;
use crate::probe::{self, udp::BurstResult};
use crate::store::Sample;
use jiff::Timestamp;
use std::time::Duration;

/// The name of the monitor's own vantage point.
pub const LOCAL_VANTAGE: &str = "monitor";

/// A class measurement of the local vantage point.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassOutcome {
    /// The class spec measured.
    pub spec: ClassSpec,
    /// The burst, or why it could not run.
    pub result: Result<BurstResult, probe::ProbeError>,
}

/// Everything one round found.
#[derive(Debug, Clone)]
pub struct RoundResult {
    /// Index of the target in the configuration.
    pub target: usize,
    /// Scheduled start of the round (slices are assigned by it).
    pub at: Timestamp,
    /// Verdict of each vantage point that reported.
    pub verdicts: Vec<(String, Verdict)>,
    /// Why the local vantage point did not say UP, if it did not.
    pub reason: Option<String>,
    /// Samples for percentiles.
    pub samples: Vec<Sample>,
    /// TCP connect + echo time of the local vantage point.
    pub tcp_ms: Option<f64>,
}

/// How a round of probes is run: over the network in production ([`NetworkProber`]), from a
/// script in tests, so that the monitor's scheduling, slicing and incidents can be tested on
/// simulated time.
#[async_trait::async_trait]
pub trait Prober: Send + Sync + 'static {
    /// Runs one round of `target` (index `idx` in the configuration) scheduled at `at`.
    async fn round(&self, idx: usize, target: &Target, at: Timestamp) -> RoundResult;
}

/// Probes over the network: TCP, HTTP and UDP bursts from the monitor, and the vantage points.
#[derive(Clone)]
pub struct NetworkProber {
    vantages: Vec<String>,
    probe_key: Option<String>,
    client: reqwest::Client,
}

impl NetworkProber {
    /// A prober asking `vantages` too, with requests signed by `probe_key`.
    pub fn new(vantages: Vec<String>, probe_key: Option<String>) -> Self {
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(0)
            .build()
            .unwrap_or_default();
        NetworkProber {
            vantages,
            probe_key,
            client,
        }
    }
}

#[async_trait::async_trait]
impl Prober for NetworkProber {
    async fn round(&self, idx: usize, target: &Target, at: Timestamp) -> RoundResult {
        run(
            idx,
            target,
            &self.vantages,
            self.probe_key.as_deref(),
            &self.client,
            at,
        )
        .await
    }
}

/// Judges one class's burst against its thresholds; `Some(reason)` when over one.
pub fn class_problem(spec: &ClassSpec, r: &BurstResult) -> Option<String> {
    let loss = r.loss_pct();
    if loss > spec.max_loss_pct {
        return Some(format!(
            "{}: loss {loss:.1}% > {}%",
            spec.class, spec.max_loss_pct
        ));
    }
    if let Some(rtt) = r.mean_rtt_ms()
        && rtt > spec.max_rtt_ms
    {
        return Some(format!(
            "{}: rtt {rtt:.1} ms > {} ms",
            spec.class, spec.max_rtt_ms
        ));
    }
    if r.jitter_ms > spec.max_jitter_ms {
        return Some(format!(
            "{}: jitter {:.1} ms > {} ms",
            spec.class, r.jitter_ms, spec.max_jitter_ms
        ));
    }
    None
}

/// Runs one round of `target` (index `idx`) scheduled at `at`; the vantages are asked with
/// requests signed by `probe_key`.
pub async fn run(
    idx: usize,
    target: &Target,
    vantages: &[String],
    probe_key: Option<&str>,
    client: &reqwest::Client,
    at: Timestamp,
) -> RoundResult {
    let tcp = async {
        if target.tcp {
            Some(probe::tcp::probe(&target.addr, target.timeout).await)
        } else {
            None
        }
    };
    let http = async {
        match &target.http {
            Some(h) => {
                Some(probe::http::probe(client, &h.url, h.expect_status, target.timeout).await)
            }
            None => None,
        }
    };
    let bursts = async {
        let mut set = tokio::task::JoinSet::new();
        for (i, spec) in target.classes.iter().enumerate() {
            let (addr, spec, timeout) = (target.addr.clone(), spec.clone(), target.timeout);
            set.spawn(async move {
                let result = probe::udp::probe(&addr, &spec, timeout).await;
                (i, ClassOutcome { spec, result })
            });
        }
        let mut out: Vec<(usize, ClassOutcome)> = Vec::new();
        while let Some(r) = set.join_next().await {
            if let Ok(x) = r {
                out.push(x);
            }
        }
        out.sort_by_key(|(i, _)| *i);
        out.into_iter().map(|(_, c)| c).collect::<Vec<_>>()
    };
    let remote = async {
        let mut set = tokio::task::JoinSet::new();
        let key = probe_key.map(str::to_string);
        for v in vantages
            .iter()
            .filter(|v| **v != target.addr)
            .filter(|_| key.is_some())
        {
            let (c, v, node, timeout, key) = (
                client.clone(),
                v.clone(),
                target.node.to_string(),
                target.timeout,
                key.clone().unwrap_or_default(),
            );
            set.spawn(async move {
                ask_vantage(&c, &v, &node, key.as_bytes(), timeout)
                    .await
                    .map(|ok| (v, ok))
            });
        }
        let mut out = Vec::new();
        while let Some(r) = set.join_next().await {
            if let Ok(Some((v, ok))) = r {
                out.push((v, if ok { Verdict::Up } else { Verdict::Down }));
            }
        }
        out.sort();
        out
    };
    let (tcp, http, bursts, remote) = tokio::join!(tcp, http, bursts, remote);

    let node = &target.node;
    let mut samples = Vec::new();
    let mut reason = None;
    let mut verdict = Verdict::Up;
    let mut tcp_ms = None;
    match &tcp {
        Some(Ok(r)) => {
            let ms = (r.connect + r.echo).as_secs_f64() * 1e3;
            tcp_ms = Some(ms);
            metrics::histogram!("rendan_netwatch_tcp_rtt_seconds").record(ms / 1e3);
            samples.push(Sample {
                node: node.clone(),
                class: "tcp".into(),
                at,
                rtt_ms: Some(ms),
                sent: 1,
                received: 1,
                jitter_ms: None,
            });
        }
        Some(Err(e)) => {
            verdict = Verdict::Down;
            reason = Some(format!("tcp {}: {e}", target.addr));
            samples.push(Sample {
                node: node.clone(),
                class: "tcp".into(),
                at,
                rtt_ms: None,
                sent: 1,
                received: 0,
                jitter_ms: None,
            });
        }
        None => {}
    }
    if let Some(Err(e)) = &http
        && verdict != Verdict::Down
    {
        verdict = Verdict::Down;
        reason = Some(format!("http: {e}"));
    }
    let mut any_burst_answered = false;
    for c in &bursts {
        match &c.result {
            Ok(b) => {
                any_burst_answered |= b.received > 0;
                samples.push(Sample {
                    node: node.clone(),
                    class: c.spec.class.as_str().into(),
                    at,
                    rtt_ms: b.mean_rtt_ms(),
                    sent: b.sent,
                    received: b.received,
                    jitter_ms: (b.received > 1).then_some(b.jitter_ms),
                });
                if verdict == Verdict::Up
                    && let Some(p) = class_problem(&c.spec, b)
                {
                    verdict = Verdict::Degraded;
                    reason = Some(p);
                }
            }
            Err(e) => {
                if verdict == Verdict::Up {
                    verdict = Verdict::Degraded;
                    reason = Some(format!("{}: {e}", c.spec.class));
                }
            }
        }
    }
    // With neither TCP nor HTTP configured, the bursts alone decide reachability.
    if tcp.is_none() && http.is_none() && !bursts.is_empty() && !any_burst_answered {
        verdict = Verdict::Down;
        reason = Some("no UDP echo in any class".into());
    }
    let mut verdicts = vec![(LOCAL_VANTAGE.to_string(), verdict)];
    verdicts.extend(remote);
    RoundResult {
        target: idx,
        at,
        verdicts,
        reason,
        samples,
        tcp_ms,
    }
}

/// Asks the agent at `vantage` to TCP-probe `node` (a signed request: [`crate::peer`]);
/// `None` when the agent did not answer or refused.
async fn ask_vantage(
    client: &reqwest::Client,
    vantage: &str,
    node: &str,
    key: &[u8],
    timeout: Duration,
) -> Option<bool> {
    #[derive(serde::Deserialize)]
    struct Answer {
        ok: bool,
    }
    let query = crate::peer::signed_query(key, node, timeout.as_millis() as u64, Timestamp::now());
    let url = format!("http://{vantage}/probe?{query}");
    let resp = client
        .get(url)
        .timeout(timeout + Duration::from_millis(200))
        .send()
        .await
        .ok()?;
    if !resp.status().is_success() {
        return None;
    }
    resp.json::<Answer>().await.ok().map(|a| a.ok)
}
