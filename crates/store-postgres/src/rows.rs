//! Conversions between PostgreSQL rows and domain values; a bad row is a backend error.

use crate::error::backend;
use jiff::Timestamp;
use jiff::civil::Date;
use rendan_domain::catalogue::Sku;
use rendan_domain::order::{Channel, Customer, Fulfilment, Order, OrderLine, OrderStatus};
use rendan_domain::{Invalid, LatLon, Region, SiteId};
use rendan_store::{ProductionOrder, ProductionStatus, StoreError};
use sqlx::Row;
use sqlx::postgres::PgRow;

pub(crate) fn corrupt(e: Invalid) -> StoreError {
    StoreError::Backend(format!("stored value breaks a rule: {e}"))
}

pub(crate) fn micros(t: Timestamp) -> i64 {
    t.as_microsecond()
}

pub(crate) fn timestamp(v: i64) -> Result<Timestamp, StoreError> {
    Timestamp::from_microsecond(v)
        .map_err(|e| StoreError::Backend(format!("bad timestamp {v}: {e}")))
}

pub(crate) fn date(v: &str) -> Result<Date, StoreError> {
    v.parse()
        .map_err(|e| StoreError::Backend(format!("bad date {v:?}: {e}")))
}

pub(crate) fn get<'r, T>(row: &'r PgRow, col: &str) -> Result<T, StoreError>
where
    T: sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>,
{
    row.try_get(col).map_err(backend)
}

/// An order row without its lines (`lines` is filled by the caller).
pub(crate) fn order_head(row: &PgRow) -> Result<Order, StoreError> {
    let status: String = get(row, "status")?;
    let channel: String = get(row, "channel")?;
    let region: String = get(row, "region")?;
    let promised: String = get(row, "promised_date")?;
    Ok(Order {
        id: get(row, "id")?,
        status: OrderStatus::parse(&status, "status").map_err(corrupt)?,
        channel: Channel::parse(&channel, "channel").map_err(corrupt)?,
        external_ref: get(row, "external_ref")?,
        customer: Customer {
            name: get(row, "customer_name")?,
            phone: get(row, "customer_phone")?,
            address: get(row, "customer_address")?,
            location: LatLon::new(get(row, "lat")?, get(row, "lon")?, "customer")
                .map_err(corrupt)?,
        },
        region: Region::parse(&region, "region").map_err(corrupt)?,
        created_by: get(row, "principal_id")?,
        created_at: timestamp(get(row, "created_at")?)?,
        promised_date: date(&promised)?,
        lines: Vec::new(),
    })
}

/// An order line row: `(order_id, line)`.
pub(crate) fn order_line(row: &PgRow) -> Result<(i64, OrderLine), StoreError> {
    let kind: String = get(row, "kind")?;
    let sku: String = get(row, "sku")?;
    let qty: i64 = get(row, "qty")?;
    let site = |col: &str| -> Result<SiteId, StoreError> {
        let v: Option<String> = get(row, col)?;
        SiteId::parse(v.as_deref().unwrap_or_default(), col).map_err(corrupt)
    };
    let fulfilment = match kind.as_str() {
        "stock" => Fulfilment::Stock {
            site: site("site")?,
        },
        "production" => Fulfilment::Production {
            production_order: get::<Option<i64>>(row, "production_order")?.ok_or_else(|| {
                StoreError::Backend("production line without production order".into())
            })?,
            factory: site("factory")?,
        },
        other => return Err(StoreError::Backend(format!("unknown line kind {other:?}"))),
    };
    Ok((
        get(row, "order_id")?,
        OrderLine {
            sku: Sku::parse(&sku, "sku").map_err(corrupt)?,
            qty: u32::try_from(qty).map_err(|_| StoreError::Backend(format!("bad qty {qty}")))?,
            fulfilment,
        },
    ))
}

pub(crate) fn production_order(row: &PgRow) -> Result<ProductionOrder, StoreError> {
    let s = |col: &str| -> Result<String, StoreError> { get(row, col) };
    let qty: i64 = get(row, "qty")?;
    Ok(ProductionOrder {
        id: get(row, "id")?,
        order_id: get(row, "order_id")?,
        sku: Sku::parse(&s("sku")?, "sku").map_err(corrupt)?,
        qty: u32::try_from(qty).map_err(|_| StoreError::Backend(format!("bad qty {qty}")))?,
        factory: SiteId::parse(&s("factory")?, "factory").map_err(corrupt)?,
        destination: SiteId::parse(&s("destination")?, "destination").map_err(corrupt)?,
        region: Region::parse(&s("region")?, "region").map_err(corrupt)?,
        status: ProductionStatus::parse(&s("status")?, "status").map_err(corrupt)?,
        ready_date: date(&s("ready_date")?)?,
        created_at: timestamp(get(row, "created_at")?)?,
    })
}
