//! Drills on loopback: injected delay degrades a node, a maintenance window turns its slices to
//! MAINTENANCE (keeping the measured state), and agents asked as vantage points vote.

use crate::helpers::*;
use jiff::{SignedDuration, Timestamp};
use rendan_domain::NodeId;
use rendan_netwatch::SliceState;
use rendan_netwatch::agent::{self, AgentOptions};
use rendan_netwatch::maintenance::{Schedule, Scope, WindowSpec};
use rendan_netwatch::report;
use std::time::Duration;

fn alpha() -> NodeId {
    NodeId::parse("alpha", "n").unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delay_degrades_and_maintenance_masks() {
    let mut o = AgentOptions::new("127.0.0.1:0".parse().unwrap());
    o.delay = Duration::from_millis(200);
    let a = agent::spawn(o).await.unwrap();
    let text = topology(
        &[("alpha", "asia", 99.7, a.addr())],
        "slice = \"1s\"\ninterval = \"1s\"\ntimeout = \"600ms\"\nclasses = [\"voice\"]\n",
    );
    let (nw, store) = netwatch(config(&text)).await;
    let now = Timestamp::now();
    // A window over seconds 3-5 from now.
    let w_from = Timestamp::from_second(now.as_second() + 3).unwrap();
    let w_to = w_from.checked_add(SignedDuration::from_secs(2)).unwrap();
    // Announced two hours ago, so the one-hour notice has run.
    store
        .create_window(
            &WindowSpec {
                scope: Scope::Node(alpha()),
                schedule: Schedule::OneOff {
                    start: w_from,
                    end: w_to,
                },
                note: "drill".into(),
                emergency: false,
            },
            now.checked_sub(SignedDuration::from_hours(2)).unwrap(),
            "ops",
            None,
        )
        .await
        .unwrap();
    let m = rendan_netwatch::start(nw.clone());
    tokio::time::sleep(Duration::from_secs(7)).await;
    m.shutdown().await;
    a.shutdown().await;
    let rows = store.slices(0, i64::MAX).await.unwrap();
    let first = rows.iter().map(|r| r.start).min().unwrap();
    // Slices keep what was observed, inside the window too.
    for r in rows.iter().filter(|r| r.start > first) {
        assert_eq!(
            r.measured,
            SliceState::Degraded,
            "voice RTT 200 ms > 150 ms: {r:?}"
        );
        assert_eq!(r.state, r.measured);
    }
    // The report lays the window over them.
    let contract = nw.config().contract(None).unwrap().clone();
    let f = report::figures(&nw, &contract, w_from, w_to, false, Timestamp::now())
        .await
        .unwrap();
    assert_eq!(f.nodes[0].counts.maintenance, 2, "{:?}", f.nodes[0]);
    assert_eq!(f.nodes[0].counts.degraded, 0);
    let live = nw.live();
    let reason = live[&alpha()].reason.clone().unwrap_or_default();
    assert!(reason.contains("voice: rtt"), "{reason}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agents_vote_as_vantage_points() {
    let target = agent_at(None, 0.0).await;
    let t_addr = target.addr();
    let mut vantages = Vec::new();
    let key = "a-shared-probe-key-for-the-drill";
    let peers = rendan_netwatch::peer::Peers::new(
        key.as_bytes().to_vec(),
        [("alpha".to_string(), t_addr.to_string())].into(),
    );
    for _ in 0..2 {
        let mut o = AgentOptions::new("127.0.0.1:0".parse().unwrap());
        o.peers = Some(peers.clone());
        vantages.push(agent::spawn(o).await.unwrap());
    }
    // A third vantage point that never answers: it must not count as a vote.
    let list = format!(
        "[\"{}\", \"{}\", \"127.0.0.1:9\"]",
        vantages[0].addr(),
        vantages[1].addr()
    );
    let text = topology(
        &[("alpha", "asia", 99.7, t_addr)],
        &format!(
            "slice = \"1s\"\ninterval = \"1s\"\ntimeout = \"300ms\"\nclasses = []\nvantages = {list}\nprobe_key = \"{key}\"\n"
        ),
    );
    let (nw, store) = netwatch(config(&text)).await;
    let m = rendan_netwatch::start(nw.clone());
    tokio::time::sleep(Duration::from_secs(3)).await;
    let cut = Timestamp::now().as_second();
    target.shutdown().await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    m.shutdown().await;
    for v in vantages {
        v.shutdown().await;
    }
    let rows = store.slices(0, i64::MAX).await.unwrap();
    let first = rows.iter().map(|r| r.start).min().unwrap();
    let up: Vec<_> = rows
        .iter()
        .filter(|r| r.start > first && r.start < cut - 1)
        .collect();
    assert!(!up.is_empty());
    for r in up {
        assert_eq!(
            (r.state, r.reporters, r.down_votes),
            (SliceState::Up, 3, 0),
            "{r:?}"
        );
    }
    let down: Vec<_> = rows.iter().filter(|r| r.start > cut + 1).collect();
    assert!(!down.is_empty());
    for r in down {
        assert_eq!(
            (r.state, r.reporters, r.down_votes),
            (SliceState::Down, 3, 3),
            "{r:?}"
        );
    }
}

/// An agent is no open proxy: a probe request must name a node of the topology and carry a
/// fresh signature under the shared key; an address, a forged or stale signature, or an unknown
/// node is refused with 403.
#[tokio::test]
async fn an_agent_answers_only_signed_requests_for_its_peers() {
    use rendan_netwatch::peer::{Peers, signed_query};
    let target = agent_at(None, 0.0).await;
    let key = b"a-shared-probe-key-for-the-test".to_vec();
    let mut o = AgentOptions::new("127.0.0.1:0".parse().unwrap());
    o.peers = Some(Peers::new(
        key.clone(),
        [("alpha".to_string(), target.addr().to_string())].into(),
    ));
    let vantage = agent::spawn(o).await.unwrap();
    let client = reqwest::Client::new();
    let get = |query: String| {
        let (client, base) = (client.clone(), vantage.addr());
        async move {
            let r = client
                .get(format!("http://{base}/probe?{query}"))
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }
    };
    let now = Timestamp::now();
    let (status, body) = get(format!("target={}&timeout_ms=300", target.addr())).await;
    assert_eq!(status, 403, "an address is not a peer: {body}");
    let (status, _) = get(signed_query(
        b"a-forged-key-of-some-length",
        "alpha",
        300,
        now,
    ))
    .await;
    assert_eq!(status, 403);
    let stale = now - SignedDuration::from_mins(10);
    let (status, body) = get(signed_query(&key, "alpha", 300, stale)).await;
    assert_eq!(status, 403, "{body}");
    let (status, body) = get(signed_query(&key, "bravo", 300, now)).await;
    assert_eq!(status, 403, "{body}");
    let (status, body) = get(signed_query(&key, "alpha", 300, now)).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"ok\":true"), "{body}");
    vantage.shutdown().await;
    target.shutdown().await;
}
