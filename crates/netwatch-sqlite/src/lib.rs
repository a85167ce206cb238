//! SQLite storage of rendan's network watch: [`SqliteNetwatchStore`] implements
//! [`rendan_netwatch::NetwatchStore`] over its own database file, `netwatch.db` in the data
//! directory, with its own migrations.
//!
//! The database runs in WAL mode so the API can read reports while the monitor writes. Slices are
//! inserted once per closed period and a trigger aborts any UPDATE or DELETE of them: the
//! "never rewritten" invariant does not depend on the code above being right. Instants are
//! stored as Unix milliseconds, slice starts as Unix seconds; time zones by IANA name.

#![warn(missing_docs)]

use async_trait::async_trait;
use jiff::civil::{Time, Weekday};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use rendan_domain::{NodeId, Region};
use rendan_netwatch::incident::{Incident, TimelineEntry};
use rendan_netwatch::maintenance::{Schedule, Scope, WindowSpec, WindowVersion};
use rendan_netwatch::rollup::{ClassHour, Histogram};
use rendan_netwatch::store::{
    NetwatchStore, Notice, NoticeEvent, NoticeOutcome, RequestKey, Sample, SliceHour, SliceRow,
    StoreError,
};
use rendan_netwatch::{MonitorHandle, Netwatch, NetwatchConfig};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row, SqlitePool};
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// The database file's name inside the data directory.
pub const DB_FILE: &str = "netwatch.db";

/// Why the store could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The data directory could not be created.
    #[error("cannot create {path}: {source}")]
    Dir {
        /// The directory.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The database could not be opened.
    #[error("cannot open {path}: {source}")]
    Db {
        /// The file.
        path: String,
        /// Why.
        source: sqlx::Error,
    },
    /// Another monitor holds the data directory (or its lock file cannot be used).
    #[error("{path}: {detail}")]
    Lock {
        /// The lock file.
        path: String,
        /// What is in the way.
        detail: String,
    },
    /// The stored maintenance windows could not be read.
    #[error("loading maintenance windows: {0}")]
    Load(String),
    /// A migration failed.
    #[error("migrating {path}: {source}")]
    Migrate {
        /// The file.
        path: String,
        /// Why.
        source: sqlx::migrate::MigrateError,
    },
}

/// Opens the store in `data_dir` and the shared [`Netwatch`] state over it (for the API and
/// reports, without probing).
pub async fn open_netwatch(config: NetwatchConfig, data_dir: &Path) -> Result<Netwatch, OpenError> {
    let store = Arc::new(SqliteNetwatchStore::open(data_dir).await?);
    Netwatch::new(config, store)
        .await
        .map_err(|e| OpenError::Load(e.to_string()))
}

/// The monitor's lock file inside the data directory.
pub const MONITOR_LOCK: &str = "netwatch-monitor.lock";

/// Takes the data directory's monitor lock: two monitors writing slices into one store would
/// mix their judgements. The file holds the owner's pid, so a refusal names it.
fn lock_monitor(data_dir: &Path) -> Result<std::fs::File, OpenError> {
    use std::io::{Read, Seek, Write};
    let path = data_dir.join(MONITOR_LOCK);
    let io = |source| OpenError::Lock {
        path: path.display().to_string(),
        detail: format!("{source}"),
    };
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(io)?;
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            let mut owner = String::new();
            let _ = file.read_to_string(&mut owner);
            let owner = owner.trim();
            return Err(OpenError::Lock {
                path: path.display().to_string(),
                detail: format!(
                    "another network monitor ({}) writes into {}; stop it or choose another \
                     --data-dir",
                    if owner.is_empty() {
                        "another process".to_string()
                    } else {
                        format!("process {owner}")
                    },
                    data_dir.display()
                ),
            });
        }
        Err(std::fs::TryLockError::Error(e)) => return Err(io(e)),
    }
    file.set_len(0).map_err(io)?;
    file.rewind().map_err(io)?;
    write!(file, "{}", std::process::id()).map_err(io)?;
    Ok(file)
}

/// Opens the store in `data_dir` and starts the monitor as background tokio tasks; the handle
/// gives the [`Netwatch`] for the router and a graceful `shutdown`. One monitor per data
/// directory: a second is refused with [`OpenError::Lock`] naming the first.
pub async fn start_monitor(
    config: NetwatchConfig,
    data_dir: &Path,
) -> Result<MonitorHandle, OpenError> {
    std::fs::create_dir_all(data_dir).map_err(|source| OpenError::Dir {
        path: data_dir.display().to_string(),
        source,
    })?;
    let lock = lock_monitor(data_dir)?;
    Ok(rendan_netwatch::start(open_netwatch(config, data_dir).await?).holding(lock))
}

/// Samples deleted per statement when pruning, so the writer is never held up for long.
const PRUNE_CHUNK: i64 = 20_000;

/// Rows per multi-row INSERT (7 columns each, well under SQLite's 32,766 bound parameters).
const ROWS_PER_INSERT: usize = 1000;

/// The network watch's SQLite store.
#[derive(Clone, Debug)]
pub struct SqliteNetwatchStore {
    pool: SqlitePool,
}

/// Whether `e` is a UNIQUE or PRIMARY KEY violation (something written once, written again).
fn unique_violation(e: &sqlx::Error) -> bool {
    e.as_database_error()
        .is_some_and(|d| d.is_unique_violation() || d.message().contains("UNIQUE"))
}

fn backend(e: sqlx::Error) -> StoreError {
    StoreError::Backend(e.to_string())
}

fn ms(t: Timestamp) -> i64 {
    t.as_millisecond()
}

fn from_ms(v: i64) -> Result<Timestamp, StoreError> {
    Timestamp::from_millisecond(v).map_err(|e| StoreError::Backend(format!("bad instant {v}: {e}")))
}

fn node_id(s: &str) -> Result<NodeId, StoreError> {
    NodeId::parse(s, "node").map_err(|e| StoreError::Backend(e.to_string()))
}

impl SqliteNetwatchStore {
    /// Opens (creating if needed) `netwatch.db` in `data_dir` and applies the migrations.
    pub async fn open(data_dir: &Path) -> Result<Self, OpenError> {
        Self::open_with(data_dir, None).await
    }

    /// As [`SqliteNetwatchStore::open`], on the SQLite VFS registered under `vfs`: durability
    /// tests run the store on one that simulates a power cut.
    pub async fn open_on_vfs(data_dir: &Path, vfs: &'static str) -> Result<Self, OpenError> {
        Self::open_with(data_dir, Some(vfs)).await
    }

    async fn open_with(data_dir: &Path, vfs: Option<&'static str>) -> Result<Self, OpenError> {
        std::fs::create_dir_all(data_dir).map_err(|source| OpenError::Dir {
            path: data_dir.display().to_string(),
            source,
        })?;
        let file = data_dir.join(DB_FILE);
        let path = file.display().to_string();
        let mut opts = SqliteConnectOptions::new()
            .filename(&file)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // Every commit (a maintenance window, an incident's change, a slice batch) is on
            // disk before it is answered.
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5));
        if let Some(v) = vfs {
            opts = opts.vfs(v);
        }
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(opts)
            .await
            .map_err(|source| OpenError::Db {
                path: path.clone(),
                source,
            })?;
        sqlx::migrate!("./migrations")
            .run(&pool)
            .await
            .map_err(|source| OpenError::Migrate { path, source })?;
        Ok(SqliteNetwatchStore { pool })
    }

    /// Closes the pool, checkpointing the WAL.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Timelines of the incidents of `node` (or all), keyed by incident id, in insertion order.
    async fn timelines(
        &self,
        node: Option<&NodeId>,
    ) -> Result<HashMap<i64, Vec<TimelineEntry>>, StoreError> {
        let rows = sqlx::query(
            "SELECT e.incident, e.at_ms, e.kind, e.detail FROM incident_events e JOIN incidents i ON i.id = e.incident WHERE $1 IS NULL OR i.node = $1 ORDER BY e.id",
        )
        .bind(node.map(|n| n.as_str().to_string()))
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        let mut out: HashMap<i64, Vec<TimelineEntry>> = HashMap::new();
        for r in rows {
            let inc: i64 = r.try_get("incident").map_err(backend)?;
            out.entry(inc).or_default().push(TimelineEntry {
                at: from_ms(r.try_get("at_ms").map_err(backend)?)?,
                kind: r.try_get("kind").map_err(backend)?,
                detail: r.try_get("detail").map_err(backend)?,
            });
        }
        Ok(out)
    }
}

fn slice_row(r: &sqlx::sqlite::SqliteRow) -> Result<SliceRow, StoreError> {
    let state: String = r.try_get("state").map_err(backend)?;
    let measured: String = r.try_get("measured").map_err(backend)?;
    let bad = |e: rendan_netwatch::slice::UnknownState| StoreError::Backend(e.to_string());
    Ok(SliceRow {
        node: node_id(r.try_get("node").map_err(backend)?)?,
        start: r.try_get("start").map_err(backend)?,
        len_s: r.try_get::<i64, _>("len_s").map_err(backend)? as u32,
        state: state.parse().map_err(bad)?,
        measured: measured.parse().map_err(bad)?,
        reporters: r.try_get::<i64, _>("reporters").map_err(backend)? as u16,
        down_votes: r.try_get::<i64, _>("down_votes").map_err(backend)? as u16,
    })
}

async fn enqueue(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    urls: &[String],
    incident: i64,
    event: NoticeEvent,
    at: Timestamp,
) -> Result<(), StoreError> {
    for url in urls {
        sqlx::query(
            "INSERT INTO webhook_outbox (url, incident, event, created_at_ms, next_at_ms) VALUES ($1, $2, $3, $4, $4)",
        )
        .bind(url)
        .bind(incident)
        .bind(event.as_str())
        .bind(ms(at))
        .execute(&mut **tx)
        .await
        .map_err(backend)?;
    }
    Ok(())
}

const NOTICE_COLUMNS: &str = "o.id, o.url, o.event, o.created_at_ms, o.attempts, o.next_at_ms, o.delivered_at_ms, o.gave_up_at_ms, o.last_error, i.id AS incident, i.node, i.opened_at_ms, i.closed_at_ms";

fn notice_row(r: &sqlx::sqlite::SqliteRow) -> Result<Notice, StoreError> {
    let event: String = r.try_get("event").map_err(backend)?;
    let opt = |c: &str| -> Result<Option<Timestamp>, StoreError> {
        r.try_get::<Option<i64>, _>(c)
            .map_err(backend)?
            .map(from_ms)
            .transpose()
    };
    Ok(Notice {
        id: r.try_get("id").map_err(backend)?,
        url: r.try_get("url").map_err(backend)?,
        event: NoticeEvent::parse(&event)
            .ok_or_else(|| StoreError::Backend(format!("unknown notice event {event}")))?,
        incident: Incident {
            id: r.try_get("incident").map_err(backend)?,
            node: node_id(r.try_get("node").map_err(backend)?)?,
            opened_at: from_ms(r.try_get("opened_at_ms").map_err(backend)?)?,
            closed_at: opt("closed_at_ms")?,
            timeline: vec![],
        },
        created_at: from_ms(r.try_get("created_at_ms").map_err(backend)?)?,
        attempts: r.try_get::<i64, _>("attempts").map_err(backend)? as u32,
        next_at: from_ms(r.try_get("next_at_ms").map_err(backend)?)?,
        delivered_at: opt("delivered_at_ms")?,
        gave_up_at: opt("gave_up_at_ms")?,
        last_error: r.try_get("last_error").map_err(backend)?,
    })
}

async fn insert_events(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    id: i64,
    entries: &[TimelineEntry],
) -> Result<(), StoreError> {
    for e in entries {
        sqlx::query(
            "INSERT INTO incident_events (incident, at_ms, kind, detail) VALUES ($1, $2, $3, $4)",
        )
        .bind(id)
        .bind(ms(e.at))
        .bind(&e.kind)
        .bind(&e.detail)
        .execute(&mut **tx)
        .await
        .map_err(backend)?;
    }
    Ok(())
}

async fn insert_version(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    v: &WindowVersion,
) -> Result<(), StoreError> {
    let q = sqlx::query(
        "INSERT INTO maintenance_versions (window, version, recorded_at_ms, recorded_by, deleted, emergency, scope_kind, scope, kind, start_ms, end_ms, weekday, at_local, length_s, tz, note) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
    )
    .bind(v.window)
    .bind(i64::from(v.version))
    .bind(ms(v.recorded_at))
    .bind(&v.recorded_by)
    .bind(v.spec.is_none())
    .bind(v.spec.as_ref().is_some_and(|s| s.emergency));
    let q = match &v.spec {
        None => q
            .bind(None::<&str>)
            .bind(None::<String>)
            .bind(None::<&str>)
            .bind(None::<i64>)
            .bind(None::<i64>)
            .bind(None::<i64>)
            .bind(None::<String>)
            .bind(None::<i64>)
            .bind(None::<String>)
            .bind(""),
        Some(spec) => {
            let (sk, sv) = match &spec.scope {
                Scope::Node(n) => ("node", n.to_string()),
                Scope::Region(r) => ("region", r.to_string()),
            };
            let q = q.bind(Some(sk)).bind(Some(sv));
            let q = match &spec.schedule {
                Schedule::OneOff { start, end } => q
                    .bind(Some("one_off"))
                    .bind(Some(ms(*start)))
                    .bind(Some(ms(*end)))
                    .bind(None::<i64>)
                    .bind(None::<String>)
                    .bind(None::<i64>)
                    .bind(None::<String>),
                Schedule::Weekly {
                    weekday,
                    at,
                    length,
                    tz,
                } => q
                    .bind(Some("weekly"))
                    .bind(None::<i64>)
                    .bind(None::<i64>)
                    .bind(Some(i64::from(weekday.to_monday_one_offset())))
                    .bind(Some(at.to_string()))
                    .bind(Some(length.as_secs()))
                    .bind(Some(tz.iana_name().unwrap_or("UTC").to_string())),
            };
            q.bind(spec.note.as_str())
        }
    };
    q.execute(&mut **tx).await.map_err(|e| {
        let dup = unique_violation(&e);
        if dup {
            StoreError::Conflict(format!(
                "window {} already has version {}",
                v.window, v.version
            ))
        } else {
            backend(e)
        }
    })?;
    Ok(())
}

fn version_row(r: &sqlx::sqlite::SqliteRow) -> Result<WindowVersion, StoreError> {
    let bad = |m: String| StoreError::Backend(m);
    let deleted: bool = r.try_get("deleted").map_err(backend)?;
    let spec = if deleted {
        None
    } else {
        let sk: String = r.try_get("scope_kind").map_err(backend)?;
        let sv: String = r.try_get("scope").map_err(backend)?;
        let scope = if sk == "node" {
            Scope::Node(node_id(&sv)?)
        } else {
            Scope::Region(Region::parse(&sv, "scope").map_err(|e| bad(e.to_string()))?)
        };
        let kind: String = r.try_get("kind").map_err(backend)?;
        let opt = |c: &str| r.try_get::<Option<i64>, _>(c).map_err(backend);
        let text = |c: &str| {
            r.try_get::<Option<String>, _>(c)
                .map_err(backend)
                .map(Option::unwrap_or_default)
        };
        let schedule = if kind == "one_off" {
            Schedule::OneOff {
                start: from_ms(opt("start_ms")?.unwrap_or(0))?,
                end: from_ms(opt("end_ms")?.unwrap_or(0))?,
            }
        } else {
            Schedule::Weekly {
                weekday: Weekday::from_monday_one_offset(opt("weekday")?.unwrap_or(1) as i8)
                    .map_err(|e| bad(e.to_string()))?,
                at: text("at_local")?
                    .parse::<Time>()
                    .map_err(|e| bad(e.to_string()))?,
                length: SignedDuration::from_secs(opt("length_s")?.unwrap_or(0)),
                tz: TimeZone::get(&text("tz")?).map_err(|e| bad(e.to_string()))?,
            }
        };
        Some(WindowSpec {
            scope,
            schedule,
            note: r.try_get("note").map_err(backend)?,
            emergency: r.try_get("emergency").map_err(backend)?,
        })
    };
    Ok(WindowVersion {
        window: r.try_get("window").map_err(backend)?,
        version: r.try_get::<i64, _>("version").map_err(backend)? as u32,
        recorded_at: from_ms(r.try_get("recorded_at_ms").map_err(backend)?)?,
        recorded_by: r.try_get("recorded_by").map_err(backend)?,
        spec,
    })
}

#[async_trait]
impl NetwatchStore for SqliteNetwatchStore {
    async fn put_slices(&self, rows: &[SliceRow]) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        // Many rows per statement: tens of thousands of targets close a slice each at once.
        for chunk in rows.chunks(ROWS_PER_INSERT) {
            let mut q = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
                "INSERT INTO slices (node, start, len_s, state, measured, reporters, down_votes) ",
            );
            q.push_values(chunk, |mut b, r| {
                b.push_bind(r.node.as_str())
                    .push_bind(r.start)
                    .push_bind(i64::from(r.len_s))
                    .push_bind(r.state.as_str())
                    .push_bind(r.measured.as_str())
                    .push_bind(i64::from(r.reporters))
                    .push_bind(i64::from(r.down_votes));
            });
            if let Err(e) = q.build().execute(&mut *tx).await {
                let conflict = unique_violation(&e);
                // Dropping the transaction rolls back the rows already inserted: all or nothing.
                return Err(if conflict {
                    StoreError::Conflict(format!(
                        "a slice of {} rows from {} is closed",
                        rows.len(),
                        rows.first().map_or(0, |r| r.start)
                    ))
                } else {
                    backend(e)
                });
            }
        }
        tx.commit().await.map_err(backend)
    }

    async fn slices(&self, from_s: i64, to_s: i64) -> Result<Vec<SliceRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT node, start, len_s, state, measured, reporters, down_votes FROM slices WHERE start >= $1 AND start < $2 ORDER BY start, node",
        )
        .bind(from_s)
        .bind(to_s)
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        rows.iter().map(slice_row).collect()
    }

    async fn slice_hours(&self, from_s: i64, to_s: i64) -> Result<Vec<SliceHour>, StoreError> {
        let rows = sqlx::query(
            "SELECT node, (start - $1) / 3600 AS hour, CASE WHEN state = 'MAINTENANCE' THEN state ELSE measured END AS measured, sum(len_s) AS secs, min(CASE WHEN 3600 % len_s = 0 THEN 1 ELSE 0 END) AS fits FROM slices WHERE start >= $1 AND start < $2 GROUP BY node, hour, 3",
        )
        .bind(from_s)
        .bind(to_s)
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        rows.iter()
            .map(|r| {
                let state: String = r.try_get("measured").map_err(backend)?;
                Ok(SliceHour {
                    node: node_id(r.try_get("node").map_err(backend)?)?,
                    hour: r.try_get("hour").map_err(backend)?,
                    state: state
                        .parse()
                        .map_err(|e: rendan_netwatch::slice::UnknownState| {
                            StoreError::Backend(e.to_string())
                        })?,
                    secs: r.try_get::<i64, _>("secs").map_err(backend)?.max(0) as u64,
                    fits_hours: r.try_get::<i64, _>("fits").map_err(backend)? == 1,
                })
            })
            .collect()
    }

    async fn put_samples(&self, rows: &[Sample]) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        for chunk in rows.chunks(ROWS_PER_INSERT) {
            let mut q = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
                "INSERT INTO samples (node, class, at_ms, rtt_ms, sent, received, jitter_ms, rtt_bucket, jitter_bucket) ",
            );
            q.push_values(chunk, |mut b, s| {
                b.push_bind(s.node.as_str())
                    .push_bind(s.class.as_str())
                    .push_bind(ms(s.at))
                    .push_bind(s.rtt_ms)
                    .push_bind(i64::from(s.sent))
                    .push_bind(i64::from(s.received))
                    .push_bind(s.jitter_ms)
                    .push_bind(s.rtt_ms.map(|v| i64::from(Histogram::bucket(v))))
                    .push_bind(s.jitter_ms.map(|v| i64::from(Histogram::bucket(v))));
            });
            q.build().execute(&mut *tx).await.map_err(backend)?;
        }
        tx.commit().await.map_err(backend)
    }

    async fn samples(&self, from: Timestamp, to: Timestamp) -> Result<Vec<Sample>, StoreError> {
        let rows = sqlx::query(
            "SELECT node, class, at_ms, rtt_ms, sent, received, jitter_ms FROM samples WHERE at_ms >= $1 AND at_ms < $2",
        )
        .bind(ms(from))
        .bind(ms(to))
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        rows.iter()
            .map(|r| {
                Ok(Sample {
                    node: node_id(r.try_get("node").map_err(backend)?)?,
                    class: r.try_get("class").map_err(backend)?,
                    at: from_ms(r.try_get("at_ms").map_err(backend)?)?,
                    rtt_ms: r.try_get("rtt_ms").map_err(backend)?,
                    sent: r.try_get::<i64, _>("sent").map_err(backend)? as u32,
                    received: r.try_get::<i64, _>("received").map_err(backend)? as u32,
                    jitter_ms: r.try_get("jitter_ms").map_err(backend)?,
                })
            })
            .collect()
    }

    async fn roll_up(&self, hour: i64) -> Result<(), StoreError> {
        let (from, to) = (hour * 1000, (hour + 3600) * 1000);
        let mut by: std::collections::BTreeMap<(String, String), ClassHour> = Default::default();
        let totals = sqlx::query(
            "SELECT node, class, count(*) AS rounds, sum(sent) AS sent, sum(received) AS received FROM samples WHERE at_ms >= $1 AND at_ms < $2 GROUP BY node, class",
        )
        .bind(from)
        .bind(to)
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        for r in &totals {
            let node: String = r.try_get("node").map_err(backend)?;
            let class: String = r.try_get("class").map_err(backend)?;
            by.insert(
                (node.clone(), class.clone()),
                ClassHour {
                    node: node_id(&node)?,
                    class,
                    hour,
                    rounds: r.try_get::<i64, _>("rounds").map_err(backend)? as u64,
                    sent: r.try_get::<i64, _>("sent").map_err(backend)? as u64,
                    received: r.try_get::<i64, _>("received").map_err(backend)? as u64,
                    rtt: Histogram::default(),
                    jitter: Histogram::default(),
                },
            );
        }
        for column in ["rtt_bucket", "jitter_bucket"] {
            // Built from the two constant column names above.
            let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT node, class, {column} AS b, count(*) AS n FROM samples WHERE at_ms >= $1 AND at_ms < $2 AND {column} IS NOT NULL GROUP BY node, class, {column}"
            )))
            .bind(from)
            .bind(to)
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
            for r in &rows {
                let key: (String, String) = (
                    r.try_get("node").map_err(backend)?,
                    r.try_get("class").map_err(backend)?,
                );
                let (b, n): (i64, i64) = (
                    r.try_get("b").map_err(backend)?,
                    r.try_get("n").map_err(backend)?,
                );
                if let Some(e) = by.get_mut(&key) {
                    let h = if column == "rtt_bucket" {
                        &mut e.rtt
                    } else {
                        &mut e.jitter
                    };
                    h.add_bucket(b.clamp(0, i64::from(u16::MAX)) as u16, n as u64);
                }
            }
        }
        // Samples written before the buckets were stored.
        let legacy = sqlx::query(
            "SELECT node, class, rtt_ms, jitter_ms, rtt_bucket, jitter_bucket FROM samples WHERE at_ms >= $1 AND at_ms < $2 AND ((rtt_ms IS NOT NULL AND rtt_bucket IS NULL) OR (jitter_ms IS NOT NULL AND jitter_bucket IS NULL))",
        )
        .bind(from)
        .bind(to)
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        for r in &legacy {
            let key: (String, String) = (
                r.try_get("node").map_err(backend)?,
                r.try_get("class").map_err(backend)?,
            );
            if let Some(e) = by.get_mut(&key) {
                if r.try_get::<Option<i64>, _>("rtt_bucket")
                    .map_err(backend)?
                    .is_none()
                    && let Some(v) = r.try_get::<Option<f64>, _>("rtt_ms").map_err(backend)?
                {
                    e.rtt.add(v);
                }
                if r.try_get::<Option<i64>, _>("jitter_bucket")
                    .map_err(backend)?
                    .is_none()
                    && let Some(v) = r.try_get::<Option<f64>, _>("jitter_ms").map_err(backend)?
                {
                    e.jitter.add(v);
                }
            }
        }
        let mut tx = self.pool.begin().await.map_err(backend)?;
        sqlx::query("DELETE FROM sample_rollups WHERE hour = $1")
            .bind(hour)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        let rows: Vec<&ClassHour> = by.values().collect();
        for chunk in rows.chunks(ROWS_PER_INSERT) {
            let mut q = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
                "INSERT INTO sample_rollups (hour, node, class, rounds, sent, received, rtt, jitter) ",
            );
            q.push_values(chunk, |mut b, r| {
                b.push_bind(r.hour)
                    .push_bind(r.node.as_str())
                    .push_bind(r.class.as_str())
                    .push_bind(r.rounds as i64)
                    .push_bind(r.sent as i64)
                    .push_bind(r.received as i64)
                    .push_bind(r.rtt.encode())
                    .push_bind(r.jitter.encode());
            });
            q.build().execute(&mut *tx).await.map_err(backend)?;
        }
        sqlx::query(
            "INSERT INTO rollup_watermark (id, until_s) VALUES (1, $1) ON CONFLICT (id) DO UPDATE SET until_s = max(until_s, excluded.until_s)",
        )
        .bind(hour + 3600)
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        tx.commit().await.map_err(backend)
    }

    async fn rollups(&self, from_hour: i64, to_hour: i64) -> Result<Vec<ClassHour>, StoreError> {
        let rows = sqlx::query(
            "SELECT hour, node, class, rounds, sent, received, rtt, jitter FROM sample_rollups WHERE hour >= $1 AND hour < $2 ORDER BY hour, node, class",
        )
        .bind(from_hour)
        .bind(to_hour)
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        rows.iter()
            .map(|r| {
                let hist = |c: &str| -> Result<Histogram, StoreError> {
                    let t: String = r.try_get(c).map_err(backend)?;
                    Histogram::decode(&t)
                        .ok_or_else(|| StoreError::Backend(format!("bad histogram {t:?}")))
                };
                Ok(ClassHour {
                    node: node_id(r.try_get("node").map_err(backend)?)?,
                    class: r.try_get("class").map_err(backend)?,
                    hour: r.try_get("hour").map_err(backend)?,
                    rounds: r.try_get::<i64, _>("rounds").map_err(backend)? as u64,
                    sent: r.try_get::<i64, _>("sent").map_err(backend)? as u64,
                    received: r.try_get::<i64, _>("received").map_err(backend)? as u64,
                    rtt: hist("rtt")?,
                    jitter: hist("jitter")?,
                })
            })
            .collect()
    }

    async fn rolled_up_until(&self) -> Result<Option<i64>, StoreError> {
        let row = sqlx::query("SELECT until_s FROM rollup_watermark WHERE id = 1")
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        row.map(|r| r.try_get("until_s").map_err(backend))
            .transpose()
    }

    async fn oldest_sample(&self) -> Result<Option<Timestamp>, StoreError> {
        let v: Option<i64> = sqlx::query("SELECT min(at_ms) AS t FROM samples")
            .fetch_one(&self.pool)
            .await
            .map_err(backend)?
            .try_get("t")
            .map_err(backend)?;
        v.map(from_ms).transpose()
    }

    async fn prune_samples(&self, before: Timestamp) -> Result<u64, StoreError> {
        let mut total = 0;
        loop {
            let done = sqlx::query(
                "DELETE FROM samples WHERE id IN (SELECT id FROM samples WHERE at_ms < $1 LIMIT $2)",
            )
            .bind(ms(before))
            .bind(PRUNE_CHUNK)
            .execute(&self.pool)
            .await
            .map_err(backend)?
            .rows_affected();
            total += done;
            if done < PRUNE_CHUNK as u64 {
                return Ok(total);
            }
        }
    }

    async fn open_incident(
        &self,
        node: &NodeId,
        opened_at: Timestamp,
        timeline: &[TimelineEntry],
        notify: &[String],
    ) -> Result<i64, StoreError> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        let id: i64 =
            sqlx::query("INSERT INTO incidents (node, opened_at_ms) VALUES ($1, $2) RETURNING id")
                .bind(node.as_str())
                .bind(ms(opened_at))
                .fetch_one(&mut *tx)
                .await
                .map_err(backend)?
                .try_get("id")
                .map_err(backend)?;
        insert_events(&mut tx, id, timeline).await?;
        enqueue(&mut tx, notify, id, NoticeEvent::Opened, opened_at).await?;
        tx.commit().await.map_err(backend)?;
        Ok(id)
    }

    async fn update_incident(
        &self,
        id: i64,
        closed_at: Option<Timestamp>,
        timeline: &[TimelineEntry],
        notify: &[String],
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        if let Some(c) = closed_at {
            let done = sqlx::query(
                "UPDATE incidents SET closed_at_ms = $1 WHERE id = $2 AND closed_at_ms IS NULL",
            )
            .bind(ms(c))
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
            if done.rows_affected() != 1 {
                return Err(StoreError::Conflict(format!("incident {id} is not open")));
            }
            enqueue(&mut tx, notify, id, NoticeEvent::Closed, c).await?;
        }
        insert_events(&mut tx, id, timeline).await?;
        tx.commit().await.map_err(backend)
    }

    async fn due_notices(&self, now: Timestamp, limit: u32) -> Result<Vec<Notice>, StoreError> {
        // The oldest unsettled notice of each webhook and node, if it is due.
        // Built from constants only.
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {NOTICE_COLUMNS} FROM webhook_outbox o JOIN incidents i ON i.id = o.incident \
             WHERE o.delivered_at_ms IS NULL AND o.gave_up_at_ms IS NULL AND o.next_at_ms <= $1 \
             AND o.id = (SELECT min(p.id) FROM webhook_outbox p JOIN incidents j ON j.id = p.incident \
                         WHERE p.url = o.url AND j.node = i.node \
                         AND p.delivered_at_ms IS NULL AND p.gave_up_at_ms IS NULL) \
             ORDER BY o.id LIMIT $2"
        )))
        .bind(ms(now))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        rows.iter().map(notice_row).collect()
    }

    async fn record_notice(
        &self,
        id: i64,
        at: Timestamp,
        outcome: &NoticeOutcome,
        error: Option<&str>,
    ) -> Result<(), StoreError> {
        let (delivered, next, gave_up) = match outcome {
            NoticeOutcome::Delivered => (Some(ms(at)), None, None),
            NoticeOutcome::RetryAt(t) => (None, Some(ms(*t)), None),
            NoticeOutcome::GaveUp => (None, None, Some(ms(at))),
        };
        sqlx::query(
            "UPDATE webhook_outbox SET attempts = attempts + 1, last_error = $2, \
             delivered_at_ms = coalesce($3, delivered_at_ms), next_at_ms = coalesce($4, next_at_ms), \
             gave_up_at_ms = coalesce($5, gave_up_at_ms) WHERE id = $1",
        )
        .bind(id)
        .bind(error)
        .bind(delivered)
        .bind(next)
        .bind(gave_up)
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(())
    }

    async fn notices(&self) -> Result<Vec<Notice>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {NOTICE_COLUMNS} FROM webhook_outbox o JOIN incidents i ON i.id = o.incident ORDER BY o.id"
        )))
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        rows.iter().map(notice_row).collect()
    }

    async fn incidents(&self, node: Option<&NodeId>) -> Result<Vec<Incident>, StoreError> {
        let rows = match node {
            Some(n) => sqlx::query("SELECT id, node, opened_at_ms, closed_at_ms FROM incidents WHERE node = $1 ORDER BY id")
                .bind(n.as_str())
                .fetch_all(&self.pool)
                .await,
            None => sqlx::query("SELECT id, node, opened_at_ms, closed_at_ms FROM incidents ORDER BY id")
                .fetch_all(&self.pool)
                .await,
        }
        .map_err(backend)?;
        let mut list = rows
            .iter()
            .map(|r| {
                let closed: Option<i64> = r.try_get("closed_at_ms").map_err(backend)?;
                Ok(Incident {
                    id: r.try_get("id").map_err(backend)?,
                    node: node_id(r.try_get("node").map_err(backend)?)?,
                    opened_at: from_ms(r.try_get("opened_at_ms").map_err(backend)?)?,
                    closed_at: closed.map(from_ms).transpose()?,
                    timeline: vec![],
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        let mut tl = self.timelines(node).await?;
        for i in &mut list {
            i.timeline = tl.remove(&i.id).unwrap_or_default();
        }
        Ok(list)
    }

    async fn create_window(
        &self,
        spec: &WindowSpec,
        at: Timestamp,
        by: &str,
        key: Option<&RequestKey>,
    ) -> Result<WindowVersion, StoreError> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        let id: i64 = sqlx::query(
            "INSERT INTO maintenance_windows (created_at_ms, principal, idempotency_key, request) VALUES ($1, $2, $3, $4) RETURNING id",
        )
        .bind(ms(at))
        .bind(key.map(|k| k.principal.as_str()))
        .bind(key.map(|k| k.key.as_str()))
        .bind(key.map(|k| k.request.as_slice()))
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| {
            if unique_violation(&e)
            {
                StoreError::Conflict("the Idempotency-Key is used".into())
            } else {
                backend(e)
            }
        })?
        .try_get("id")
        .map_err(backend)?;
        let v = WindowVersion {
            window: id,
            version: 1,
            recorded_at: at,
            recorded_by: by.to_string(),
            spec: Some(spec.clone()),
        };
        insert_version(&mut tx, &v).await?;
        tx.commit().await.map_err(backend)?;
        Ok(v)
    }

    async fn window_by_key(
        &self,
        principal: &str,
        key: &str,
    ) -> Result<Option<(i64, Vec<u8>)>, StoreError> {
        let row = sqlx::query(
            "SELECT id, request FROM maintenance_windows WHERE principal = $1 AND idempotency_key = $2",
        )
        .bind(principal)
        .bind(key)
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?;
        row.map(|r| {
            Ok((
                r.try_get("id").map_err(backend)?,
                r.try_get::<Option<Vec<u8>>, _>("request")
                    .map_err(backend)?
                    .unwrap_or_default(),
            ))
        })
        .transpose()
    }

    async fn append_window_version(&self, v: &WindowVersion) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        insert_version(&mut tx, v).await?;
        tx.commit().await.map_err(backend)
    }

    async fn window_history(&self) -> Result<Vec<WindowVersion>, StoreError> {
        let rows = sqlx::query(
            "SELECT window, version, recorded_at_ms, recorded_by, deleted, emergency, scope_kind, scope, kind, start_ms, end_ms, weekday, at_local, length_s, tz, note FROM maintenance_versions ORDER BY window, version",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        rows.iter().map(version_row).collect()
    }
}
