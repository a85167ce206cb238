//! `rendan import orders FILE.csv`: bulk intake through the same path as the API.
//!
//! Rows are grouped into orders by consecutive (channel, external_ref). Each order's
//! idempotency key is derived from those two, so importing the same file twice creates
//! nothing new. A bad row is reported with its line number and the import goes on.

use crate::Place;
use crate::platform;
use anyhow::{Context, Result, bail};
use indicatif::{ProgressBar, ProgressStyle};
use rendan_api::{AppState, CustomerBody, LineBody, OrderBody};
use rendan_domain::access::Role;
use rendan_store::{Placed, Store};
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

async fn importer_token(store: &dyn Store) -> Result<i64> {
    if let Some(p) = store.principal(IMPORT_TOKEN).await? {
        return Ok(p.token_id);
    }
    Ok(store
        .create_token(
            IMPORT_TOKEN,
            &Role::Channel,
            "csv import",
            jiff::Timestamp::now(),
        )
        .await?)
}

/// Imports `file`; fails (after importing the good orders) if any row was rejected.
pub async fn orders(file: &Path, place: &Place) -> Result<()> {
    let platform = platform::open(place).await?;
    let token = importer_token(platform.store.as_ref()).await?;
    let state = AppState::new(
        platform.store.clone(),
        platform.file.topology.clone(),
        platform.file.promise,
    );
    let size = std::fs::metadata(file)
        .with_context(|| format!("cannot read {}", file.display()))?
        .len();
    let mut reader =
        csv::Reader::from_path(file).with_context(|| format!("cannot read {}", file.display()))?;
    let bar = ProgressBar::new(size).with_style(ProgressStyle::with_template(
        "{spinner} {bar:40} {bytes}/{total_bytes} {msg} ({eta})",
    )?);
    let (mut created, mut replayed, mut rejected) = (0u64, 0u64, 0u64);
    let mut pending: Option<(u64, OrderBody)> = None;
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
            body.lines.push(LineBody {
                sku: r.sku.clone(),
                qty: r.qty,
            });
            continue;
        }
        if let Some((first_line, body)) = pending.take() {
            let key = format!("import:{}:{}", body.channel, body.external_ref);
            match rendan_api::place_order(&state, token, key, &body).await {
                Ok(Placed::Created(_)) => created += 1,
                Ok(Placed::Replayed(_)) => replayed += 1,
                Err(e) => {
                    let p = &e.0;
                    let field = p.field.as_deref().unwrap_or("-");
                    report(
                        &bar,
                        format!("order starting at line {first_line}: {field}: {}", p.detail),
                    );
                    rejected += 1;
                }
            }
            bar.set_message(format!("{created} created"));
        }
        let Some(r) = row else { break };
        pending = Some((
            line,
            OrderBody {
                channel: r.channel,
                external_ref: r.external_ref,
                customer: CustomerBody {
                    name: r.name,
                    phone: r.phone,
                    address: r.address,
                    lat: r.lat,
                    lon: r.lon,
                },
                lines: vec![LineBody {
                    sku: r.sku,
                    qty: r.qty,
                }],
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
