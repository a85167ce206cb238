//! Scale benchmark of the monitor: N loopback TCP targets (default 5,000) probed every 5 s for
//! a minute by one process; reports probes per second, the share of rounds started late, the
//! rounds skipped, failed probes and the monitor process's CPU use.
//!
//! ```text
//! cargo run --release -p rendan-netwatch --example probe_bench -- [TARGETS] [INTERVAL_S] [DURATION_S]
//! ```
//! The targets are TCP echo listeners of the agent code, one per address 127.1.x.y:7400, served
//! by child processes (this same binary with `serve FROM TO`) at nice 10, at most 12,000
//! listeners each so that each stays under the 20,000 open files a process may hold here, and
//! so that the monitor's CPU is measured alone. Every process raises its open-file limit to the hard limit. The monitor writes to an
//! in-memory store here; `rendan-netwatch-sqlite`'s `probe_bench_sqlite` example runs this same
//! code over the SQLite store.

use jiff::Timestamp;
use rendan_domain::{LatLon, Node, NodeId, Region};
use rendan_netwatch::config::Target;
use rendan_netwatch::contract::Contract;
use rendan_netwatch::judge::Quorum;
use rendan_netwatch::{MemoryStore, Netwatch, NetwatchConfig, NetwatchStore, SliceLen};
use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

const PORT: u16 = 7400;

fn addr(i: usize) -> SocketAddr {
    // 127.1.0.1 .. 127.1.x.250: loopback has the whole /8.
    SocketAddr::from(([127, 1, (i / 250) as u8, (i % 250 + 1) as u8], PORT))
}

fn raise_nofile() -> u64 {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let mut l = getrlimit(Resource::Nofile);
    l.current = l.maximum;
    let _ = setrlimit(Resource::Nofile, l);
    getrlimit(Resource::Nofile).current.unwrap_or(0)
}

/// User + system CPU seconds of this process so far.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the parenthesised command name; utime and stime are the 12th and 13th.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = f.get(11).and_then(|v| v.parse().ok()).unwrap_or(0)
        + f.get(12).and_then(|v| v.parse().ok()).unwrap_or(0);
    ticks as f64 / rustix::param::clock_ticks_per_second() as f64
}

/// Listeners per target-server process.
const PER_SERVER: usize = 12_000;

/// Peak resident memory of this process (VmHWM), in MiB.
fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .unwrap_or(0.0)
        / 1024.0
}

async fn serve(from: usize, to: usize) {
    raise_nofile();
    // The stand-ins play other machines: on this one they yield the cores to the monitor
    // under test (nice 10), so that what is measured is the monitor, not the contest for two
    // cores with 50,000 loopback servers.
    let _ = rustix::process::setpriority_process(None, 10);
    let (_source, stop) = rendan_netwatch::stop::channel();
    for i in from..to {
        let l = match tokio::net::TcpListener::bind(addr(i)).await {
            Ok(l) => l,
            Err(e) => {
                eprintln!("cannot bind {}: {e}", addr(i));
                std::process::exit(2);
            }
        };
        tokio::spawn(rendan_netwatch::agent::serve_echo_listener(l, stop.clone()));
    }
    println!("ready");
    let _ = std::io::stdout().flush();
    // Serve until the parent closes our stdin.
    let _ = tokio::task::spawn_blocking(|| {
        let mut s = String::new();
        let _ = std::io::stdin().read_line(&mut s);
    })
    .await;
}

fn config(n: usize, interval: Duration) -> NetwatchConfig {
    let region = Region::parse("bench", "region").unwrap_or_else(|_| unreachable!());
    let mut nodes = Vec::with_capacity(n);
    let mut targets = Vec::with_capacity(n);
    for i in 0..n {
        let id = NodeId::parse(&format!("t{i:05}"), "id").unwrap_or_else(|_| unreachable!());
        nodes.push(Node {
            id: id.clone(),
            name: id.to_string(),
            region: region.clone(),
            location: LatLon::new(0.0, 0.0, "node").unwrap_or_else(|_| unreachable!()),
            availability_target: 99.8,
            zone: jiff::tz::TimeZone::UTC,
            agent: Some(addr(i).to_string()),
            main: false,
        });
        targets.push(Target {
            node: id,
            region: region.clone(),
            addr: addr(i).to_string(),
            tcp: true,
            http: None,
            classes: vec![],
            interval,
            timeout: Duration::from_secs(1),
        });
    }
    NetwatchConfig {
        contracts: vec![Contract::default_for(&nodes)],
        nodes,
        slice: SliceLen::from_secs(5).unwrap_or(SliceLen::MINUTE),
        targets,
        vantages: vec![],
        probe_key: None,
        quorum: Quorum::default(),
        open_after: 3,
        close_after: 3,
        webhooks: vec![],
        maintenance_notice: jiff::SignedDuration::from_hours(1),
        sample_retention: jiff::SignedDuration::from_hours(35 * 24),
    }
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    entry(&args, Arc::new(MemoryStore::default()), "in-memory").await;
}

/// Runs the target server (`serve N`) or the benchmark with `store`.
pub async fn entry(args: &[String], store: Arc<dyn NetwatchStore>, store_name: &str) {
    if args.get(1).map(String::as_str) == Some("serve") {
        let from = args.get(2).and_then(|v| v.parse().ok()).unwrap_or(0);
        let to = args.get(3).and_then(|v| v.parse().ok()).unwrap_or(from);
        serve(from, to).await;
        return;
    }
    let n: usize = args.get(1).and_then(|v| v.parse().ok()).unwrap_or(5000);
    let interval = Duration::from_secs(args.get(2).and_then(|v| v.parse().ok()).unwrap_or(5));
    let duration = Duration::from_secs(args.get(3).and_then(|v| v.parse().ok()).unwrap_or(60));
    let limit = raise_nofile();
    let exe = std::env::current_exe().unwrap_or_else(|_| "probe_bench".into());
    let mut children = Vec::new();
    for from in (0..n).step_by(PER_SERVER) {
        let to = (from + PER_SERVER).min(n);
        let mut child = Command::new(&exe)
            .args(["serve", &from.to_string(), &to.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start a target server: {e}"));
        let mut line = String::new();
        if let Some(out) = child.stdout.take() {
            let _ = BufReader::new(out).read_line(&mut line);
        }
        assert_eq!(line.trim(), "ready", "target server {from}..{to} failed");
        children.push(child);
    }

    let nw = Netwatch::new(config(n, interval), store.clone())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let cpu0 = cpu_seconds();
    let t0 = Instant::now();
    let started = Timestamp::now();
    let monitor = rendan_netwatch::start(nw.clone());
    tokio::time::sleep(duration).await;
    let stats = nw.stats();
    let rounds = stats.rounds.load(Ordering::Relaxed);
    let late = stats.late.load(Ordering::Relaxed);
    let skipped = stats.skipped.load(Ordering::Relaxed);
    let max_late_ms = stats.max_late_us.load(Ordering::Relaxed) as f64 / 1000.0;
    let wall = t0.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu0;
    monitor.shutdown().await;
    for mut child in children {
        drop(child.stdin.take());
        let _ = child.wait();
    }

    let rss = peak_rss_mib();
    let samples = store
        .samples(started, Timestamp::now())
        .await
        .unwrap_or_default();
    let slices = store
        .slices(started.as_second() - 60, Timestamp::now().as_second() + 60)
        .await
        .map(|r| r.len())
        .unwrap_or(0);
    let failed = samples.iter().filter(|s| s.received == 0).count();
    let mut rtt: Vec<f64> = samples.iter().filter_map(|s| s.rtt_ms).collect();
    rtt.sort_by(f64::total_cmp);
    let pct = |p: f64| {
        rtt.get(((p / 100.0) * rtt.len() as f64) as usize)
            .copied()
            .unwrap_or(f64::NAN)
    };
    let expected = n as f64 * wall / interval.as_secs_f64();
    println!(
        "targets            {n} (TCP connect + echo, every {} s, timeout 1 s)",
        interval.as_secs()
    );
    println!("store              {store_name}");
    println!("open-file limit    {limit}");
    println!("wall               {wall:.1} s");
    println!("rounds started     {rounds} (expected ~{expected:.0})");
    println!("probes/s           {:.1}", rounds as f64 / wall);
    println!(
        "late (>100 ms)     {late} = {:.3}% ; max start delay {max_late_ms:.1} ms",
        100.0 * late as f64 / rounds.max(1) as f64
    );
    println!("skipped rounds     {skipped}");
    println!(
        "results stored     {} samples of {rounds} rounds; {slices} slices ({} per node)",
        samples.len(),
        slices as f64 / n as f64
    );
    println!("failed probes      {failed} of {}", samples.len());
    println!("tcp rtt p50/p99    {:.3} / {:.3} ms", pct(50.0), pct(99.0));
    println!(
        "monitor CPU        {cpu:.1} s over {wall:.1} s = {:.1}% of one core",
        100.0 * cpu / wall
    );
    println!("monitor peak RSS   {rss:.0} MiB");
}
