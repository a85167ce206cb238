//! `rendan import orders FILE.csv`: bulk intake through the same use-case as the API.
//!
//! The file must start with its header row. Rows are grouped into orders by consecutive
//! (channel, external_ref). The whole file is validated before anything is placed: an order
//! with any bad row is not placed at all, and every bad row is reported with its line number
//! and reason. Each order's idempotency key is derived from its channel and reference, so
//! importing a file again places exactly the orders that are still missing (those fixed since)
//! and answers the others from the first import.

use crate::Place;
use crate::platform;
use anyhow::{Context, Result, bail};
use indicatif::{ProgressBar, ProgressStyle};
use rendan_domain::access::{Principal, PrincipalName, Role};
use rendan_domain::idempotency::Key;
use rendan_domain::order::{NewOrder, RawCustomer};
use rendan_domain::{Invalid, Invalids};
use rendan_store::{NewTokenRecord, Placed, Store};
use rendan_usecases::{Error, UseCases};
use std::path::Path;

/// The importer's token hash. 17 bytes: no SHA-256 digest (32 bytes) can equal it, so no
/// bearer token can ever authenticate as the importer.
const IMPORT_TOKEN: &[u8] = b"rendan:csv-import";

/// The header row, in order.
const COLUMNS: [&str; 9] = [
    "channel",
    "external_ref",
    "name",
    "phone",
    "address",
    "lat",
    "lon",
    "sku",
    "qty",
];

/// One line of the file, with the problems found in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadRow {
    /// 1-based line number in the file.
    pub line: u64,
    /// What is wrong, naming the column.
    pub reason: String,
}

/// One order's rows, as read.
#[derive(Debug, Clone)]
struct Group {
    channel: String,
    external_ref: String,
    /// The customer columns of the first row (name, phone, address, lat, lon).
    customer: Option<(String, String, String, f64, f64)>,
    /// Line number and (sku, qty) of each readable row.
    lines: Vec<(u64, String, i64)>,
    bad: Vec<BadRow>,
}

impl Group {
    fn first_line(&self) -> u64 {
        self.lines
            .first()
            .map(|l| l.0)
            .into_iter()
            .chain(self.bad.iter().map(|b| b.line))
            .min()
            .unwrap_or(0)
    }

    /// The domain order, or the rows at fault: errors about a line go to that line, errors
    /// about the whole order to its first line.
    fn to_order(&self) -> Result<NewOrder, Vec<BadRow>> {
        let Some((name, phone, address, lat, lon)) = &self.customer else {
            return Err(Vec::new());
        };
        let lines: Vec<(&str, i64)> = self
            .lines
            .iter()
            .map(|(_, s, q)| (s.as_str(), *q))
            .collect();
        let customer = RawCustomer {
            name,
            phone,
            address,
            lat: *lat,
            lon: *lon,
        };
        NewOrder::new(&self.channel, &self.external_ref, customer, &lines)
            .map_err(|e| self.rows_at_fault(&e))
    }

    fn rows_at_fault(&self, errors: &Invalids) -> Vec<BadRow> {
        errors
            .0
            .iter()
            .map(|e| {
                // `lines[3].qty` is the fourth row's `qty` column.
                let at_line = e
                    .field
                    .strip_prefix("lines[")
                    .and_then(|rest| rest.split_once("]."))
                    .and_then(|(i, column)| {
                        let i: usize = i.parse().ok()?;
                        Some((self.lines.get(i)?.0, column))
                    });
                let (line, column) = match at_line {
                    Some((line, column)) => (line, column),
                    None => (
                        self.first_line(),
                        e.field.strip_prefix("customer.").unwrap_or(&e.field),
                    ),
                };
                BadRow {
                    line,
                    reason: format!("{column}: {}", e.message),
                }
            })
            .collect()
    }
}

fn number<T: std::str::FromStr>(value: &str, column: &str) -> Result<T, String> {
    value
        .trim()
        .parse()
        .map_err(|_| format!("{column}: not a number: {value:?}"))
}

/// Reads the whole file into orders; checks the header row first.
fn read(file: &Path) -> Result<Vec<Group>> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        // Rows with a missing or extra column are reported as bad rows, not as a read error.
        .flexible(true)
        .from_path(file)
        .with_context(|| format!("cannot read {}", file.display()))?;
    let headers = reader
        .headers()
        .with_context(|| format!("{}: reading the header row", file.display()))?
        .clone();
    let found: Vec<&str> = headers.iter().map(str::trim).collect();
    if found != COLUMNS {
        bail!(
            "{}: line 1 must be the header row `{}`; found `{}` (a file without its header row \
             would lose its first order)",
            file.display(),
            COLUMNS.join(","),
            found.join(",")
        );
    }
    let mut groups: Vec<Group> = Vec::new();
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                if matches!(e.kind(), csv::ErrorKind::Io(_)) {
                    bail!("{}: line {line}: {e}", file.display());
                }
                // Not valid UTF-8 and similar: the row cannot join any order.
                groups.push(Group {
                    channel: String::new(),
                    external_ref: String::new(),
                    customer: None,
                    lines: Vec::new(),
                    bad: vec![BadRow {
                        line,
                        reason: e.to_string(),
                    }],
                });
                continue;
            }
        };
        let line = record.position().map_or(0, |p| p.line());
        let field = |i: usize| record.get(i).unwrap_or("").to_string();
        let (channel, external_ref) = (field(0), field(1));
        let same = groups
            .last()
            .is_some_and(|g| g.channel == channel && g.external_ref == external_ref);
        if !same {
            groups.push(Group {
                channel,
                external_ref,
                customer: None,
                lines: Vec::new(),
                bad: Vec::new(),
            });
        }
        let Some(group) = groups.last_mut() else {
            continue;
        };
        if record.len() != COLUMNS.len() {
            group.bad.push(BadRow {
                line,
                reason: format!("expected {} columns, found {}", COLUMNS.len(), record.len()),
            });
            continue;
        }
        let mut reasons = Vec::new();
        let lat = number::<f64>(&field(5), "lat").map_err(|e| reasons.push(e));
        let lon = number::<f64>(&field(6), "lon").map_err(|e| reasons.push(e));
        let qty = number::<i64>(&field(8), "qty").map_err(|e| reasons.push(e));
        let (Ok(lat), Ok(lon), Ok(qty)) = (lat, lon, qty) else {
            group.bad.push(BadRow {
                line,
                reason: reasons.join("; "),
            });
            continue;
        };
        let customer = (field(2), field(3), field(4), lat, lon);
        match &group.customer {
            None => group.customer = Some(customer),
            Some(first) if *first != customer => group.bad.push(BadRow {
                line,
                reason: "name, phone, address, lat and lon must repeat the order's first row"
                    .into(),
            }),
            Some(_) => {}
        }
        group.lines.push((line, field(7), qty));
    }
    Ok(groups)
}

/// Validates one order without touching the store: rows, fields, then the topology; every
/// bad row is reported, the unreadable ones and whatever the readable ones break.
fn validate(cases: &UseCases, group: &Group) -> Result<NewOrder, Vec<BadRow>> {
    let mut bad = group.bad.clone();
    match group.to_order() {
        Err(more) => bad.extend(more),
        Ok(order) => match cases.check_order(&order) {
            Ok(()) if bad.is_empty() => return Ok(order),
            Ok(()) => {}
            Err(Error::Invalid(e)) => bad.extend(group.rows_at_fault(&e)),
            Err(other) => bad.push(BadRow {
                line: group.first_line(),
                reason: other.to_string(),
            }),
        },
    }
    Err(bad)
}

/// The idempotency key of an imported order: its channel and reference, digested when the
/// reference is not a valid key by itself (spaces, non-ASCII, very long).
fn import_key(order: &NewOrder) -> Result<Key, Invalid> {
    let plain = format!("import:{}:{}", order.channel.as_str(), order.external_ref);
    Key::parse(&plain, "key").or_else(|_| {
        let digest: String = rendan_usecases::tokens::hash(&order.external_ref)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        Key::parse(
            &format!("import:{}:sha256:{digest}", order.channel.as_str()),
            "key",
        )
    })
}

async fn importer(store: &dyn Store) -> Result<Principal> {
    if let Some(p) = store.principal(IMPORT_TOKEN).await? {
        return Ok(p);
    }
    let token = NewTokenRecord {
        hash: IMPORT_TOKEN.to_vec(),
        principal: PrincipalName::parse("csv-import", "principal")?,
        role: Role::Channel,
        label: "csv import".into(),
        now: jiff::Timestamp::now(),
    };
    store.create_token(token, None).await?;
    store
        .principal(IMPORT_TOKEN)
        .await?
        .context("the importer's token vanished")
}

/// Imports `file`: places every valid order, none of an invalid one; fails when any row was
/// bad or any order was refused.
pub async fn orders(file: &Path, place: &Place) -> Result<()> {
    let groups = read(file)?;
    let platform = platform::open(place).await?;
    let caller = importer(platform.store.as_ref()).await?;
    let cases = platform.cases();

    let mut valid = Vec::new();
    let mut bad: Vec<BadRow> = Vec::new();
    let mut rejected = 0u64;
    for g in &groups {
        match validate(&cases, g) {
            Ok(order) => valid.push((g.first_line(), order)),
            Err(rows) => {
                rejected += 1;
                bad.extend(rows);
            }
        }
    }
    bad.sort_by_key(|b| b.line);
    for b in &bad {
        eprintln!("line {}: {}", b.line, b.reason);
    }

    let bar = ProgressBar::new(valid.len() as u64).with_style(ProgressStyle::with_template(
        "{spinner} {bar:40} {pos}/{len} orders {msg} ({eta})",
    )?);
    let (mut created, mut replayed) = (0u64, 0u64);
    for (first_line, order) in valid {
        let placed = match import_key(&order) {
            Ok(key) => cases.place_order(&caller, key, order).await,
            Err(e) => Err(Error::from(e)),
        };
        match placed {
            Ok(Placed::Created(_)) => created += 1,
            Ok(Placed::Replayed(_)) => replayed += 1,
            Err(e) => {
                bar.suspend(|| eprintln!("order at line {first_line}: {e}"));
                rejected += 1;
            }
        }
        bar.inc(1);
        bar.set_message(format!("{created} created"));
    }
    bar.finish_and_clear();
    println!("{created} orders created, {replayed} already imported, {rejected} rejected");
    if rejected > 0 {
        bail!(
            "{rejected} orders were not placed ({} bad rows); fix them and import the file again",
            bad.len()
        );
    }
    Ok(())
}
