//! `rendan import orders FILE.csv`: bulk intake through the same path as the API.
//!
//! Rows are grouped into orders by consecutive (channel, external_ref). Each order's
//! idempotency key is derived from those two, so importing the same file twice creates
//! nothing new. A bad row is reported with its line number and the import goes on.

use crate::Place;
use crate::platform;
use anyhow::{Context, Result, bail};
use indicatif::{ProgressBar, ProgressStyle};
use rendan_domain::access::{Principal, Role};
use rendan_domain::idempotency::Key;
use rendan_domain::order::{NewOrder, RawCustomer};
use rendan_store::{Placed, Store};
use rendan_usecases::Error;
use serde::Deserialize;
use std::path::Path;

/// The importer's token hash. 17 bytes: no SHA-256 digest (32 bytes) can equal it, so no
/// bearer token can ever authenticate as the importer.
const IMPORT_TOKEN: &[u8] = b"rendan:csv-import";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Row {
    channel: String,
    external_ref: String,
    name: String,
    phone: String,
    address: String,
    lat: f64,
    lon: f64,
    sku: String,
    qty: i64,
}

/// Prints a rejected row on stderr, above the bar when there is one (a hidden bar would
/// swallow `println`).
fn report(bar: &ProgressBar, message: String) {
    bar.suspend(|| eprintln!("{message}"));
}

/// One order's rows as read, before validation.
struct Pending {
    channel: String,
    external_ref: String,
    name: String,
    phone: String,
    address: String,
    lat: f64,
    lon: f64,
    lines: Vec<(String, i64)>,
}

impl Pending {
    fn to_order(&self) -> Result<NewOrder, rendan_domain::Invalids> {
        let lines: Vec<(&str, i64)> = self.lines.iter().map(|(s, q)| (s.as_str(), *q)).collect();
        let customer = RawCustomer {
            name: &self.name,
            phone: &self.phone,
            address: &self.address,
            lat: self.lat,
            lon: self.lon,
        };
        NewOrder::new(&self.channel, &self.external_ref, customer, &lines)
    }
}

async fn importer(store: &dyn Store) -> Result<Principal> {
    if let Some(p) = store.principal(IMPORT_TOKEN).await? {
        return Ok(p);
    }
    store
        .create_token(
            IMPORT_TOKEN,
            &Role::Channel,
            "csv import",
            jiff::Timestamp::now(),
        )
        .await?;
    store
        .principal(IMPORT_TOKEN)
        .await?
        .context("the importer's token vanished")
}

/// Imports `file`; fails (after importing the good orders) if any row was rejected.
pub async fn orders(file: &Path, place: &Place) -> Result<()> {
    let platform = platform::open(place).await?;
    let caller = importer(platform.store.as_ref()).await?;
    let cases = platform.cases();
    let size = std::fs::metadata(file)
        .with_context(|| format!("cannot read {}", file.display()))?
        .len();
    let mut reader =
        csv::Reader::from_path(file).with_context(|| format!("cannot read {}", file.display()))?;
    let bar = ProgressBar::new(size).with_style(ProgressStyle::with_template(
        "{spinner} {bar:40} {bytes}/{total_bytes} {msg} ({eta})",
    )?);
    let (mut created, mut replayed, mut rejected) = (0u64, 0u64, 0u64);
    let mut pending: Option<(u64, Pending)> = None;
    let headers = reader.headers().context("reading the CSV header")?.clone();
    let mut record = csv::StringRecord::new();
    loop {
        let more = match reader.read_record(&mut record) {
            Ok(more) => more,
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                report(&bar, format!("line {line}: {e}"));
                rejected += 1;
                if matches!(e.kind(), csv::ErrorKind::Io(_)) {
                    break;
                }
                continue;
            }
        };
        let line = record.position().map_or(0, |p| p.line());
        bar.set_position(reader.position().byte());
        let row = if more {
            match record.deserialize::<Row>(Some(&headers)) {
                Ok(row) => Some(row),
                Err(e) => {
                    report(&bar, format!("line {line}: {e}"));
                    rejected += 1;
                    continue;
                }
            }
        } else {
            None
        };
        let same = match (&pending, &row) {
            (Some((_, body)), Some(r)) => {
                body.channel == r.channel && body.external_ref == r.external_ref
            }
            _ => false,
        };
        if let (true, Some(r), Some((_, body))) = (same, &row, pending.as_mut()) {
            body.lines.push((r.sku.clone(), r.qty));
            continue;
        }
        if let Some((first_line, body)) = pending.take() {
            let key = format!("import:{}:{}", body.channel, body.external_ref);
            let placed = match (body.to_order(), Key::parse(&key, "key")) {
                (Ok(order), Ok(key)) => cases.place_order(&caller, key, order).await,
                (Err(e), _) => Err(Error::Invalid(e)),
                (_, Err(e)) => Err(e.into()),
            };
            match placed {
                Ok(Placed::Created(_)) => created += 1,
                Ok(Placed::Replayed(_)) => replayed += 1,
                Err(e) => {
                    report(&bar, format!("order starting at line {first_line}: {e}"));
                    rejected += 1;
                }
            }
            bar.set_message(format!("{created} created"));
        }
        let Some(r) = row else { break };
        pending = Some((
            line,
            Pending {
                channel: r.channel,
                external_ref: r.external_ref,
                name: r.name,
                phone: r.phone,
                address: r.address,
                lat: r.lat,
                lon: r.lon,
                lines: vec![(r.sku, r.qty)],
            },
        ));
    }
    bar.finish_and_clear();
    println!("{created} orders created, {replayed} already imported, {rejected} rejected");
    if rejected > 0 {
        bail!("{rejected} rows or orders were rejected");
    }
    Ok(())
}
