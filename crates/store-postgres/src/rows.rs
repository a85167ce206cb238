//! How a PostgreSQL row gives up its columns; what they mean is [`rendan_store::rows`].

use crate::error::backend;
use rendan_domain::order::{Order, OrderLine, PromiseChange};
use rendan_store::rows;
use rendan_store::{ProductionOrder, StoreError};
use sqlx::Row;
use sqlx::postgres::PgRow;

pub(crate) use rendan_store::rows::{corrupt, micros, timestamp};

/// One column in the type the caller asks for; a missing or mistyped column is a backend error.
pub(crate) fn get<'r, T>(row: &'r PgRow, col: &str) -> Result<T, StoreError>
where
    T: sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>,
{
    row.try_get(col).map_err(backend)
}

struct Cols<'r>(&'r PgRow);
rendan_store::columns_through!(Cols, get);

/// An order row without its lines.
pub(crate) fn order_head(row: &PgRow) -> Result<Order, StoreError> {
    rows::order_head(&Cols(row))
}

/// An order line row: `(order_id, line)`.
pub(crate) fn order_line(row: &PgRow) -> Result<(i64, OrderLine), StoreError> {
    rows::order_line(&Cols(row))
}

/// A production order row.
pub(crate) fn production_order(row: &PgRow) -> Result<ProductionOrder, StoreError> {
    rows::production_order(&Cols(row))
}

/// A promise history row: `(order_id, change)`.
pub(crate) fn promise(row: &PgRow) -> Result<(i64, PromiseChange), StoreError> {
    rows::promise(&Cols(row))
}

/// A crew row.
pub(crate) fn crew(row: &PgRow) -> Result<rendan_domain::crew::Crew, StoreError> {
    rows::crew(&Cols(row))
}

/// An appointment row and its position.
pub(crate) fn appointment(
    row: &PgRow,
) -> Result<(rendan_domain::appointment::Appointment, usize), StoreError> {
    rows::appointment(&Cols(row))
}

/// A booked visit's order row.
pub(crate) fn visit(row: &PgRow) -> Result<rendan_store::Visit, StoreError> {
    rows::visit(&Cols(row))
}

/// A line of a booked visit.
pub(crate) fn visit_line(
    row: &PgRow,
) -> Result<(i64, rendan_domain::catalogue::Sku, u32), StoreError> {
    rows::visit_line(&Cols(row))
}

/// A visit that went out.
pub(crate) fn attempt(row: &PgRow) -> Result<rendan_domain::stop::Attempt, StoreError> {
    rows::attempt(&Cols(row))
}

/// A stored stop event.
pub(crate) fn reported(row: &PgRow) -> Result<rendan_domain::stop::Reported, StoreError> {
    rows::reported(&Cols(row))
}

/// A webhook row.
pub(crate) fn webhook(row: &PgRow) -> Result<rendan_domain::webhook::Webhook, StoreError> {
    rows::webhook(&Cols(row))
}

/// A due outbox row.
pub(crate) fn due_delivery(row: &PgRow) -> Result<rendan_store::DueDelivery, StoreError> {
    rows::due_delivery(&Cols(row))
}

/// A delivery attempt row and its id.
pub(crate) fn delivery_attempt(
    row: &PgRow,
) -> Result<(i64, rendan_store::DeliveryAttempt), StoreError> {
    rows::delivery_attempt(&Cols(row))
}
