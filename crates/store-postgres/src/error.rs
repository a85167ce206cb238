//! Failures inside a transaction, split into those worth running the transaction again for
//! (another process won a race) and those that are the answer.

use rendan_domain::Invalid;
use rendan_domain::access::RoleMismatch;
use rendan_domain::order::{DuplicateReference, IllegalTransition};
use rendan_domain::stock::StockError;
use rendan_store::StoreError;

/// SQLSTATEs that mean "another transaction got there first; run again": serialization
/// failure, deadlock, and a unique violation (the winner's key or reference now exists, and
/// the retry reads it and answers as a replay or a conflict).
const RETRYABLE: &[&str] = &["40001", "40P01", "23505"];

/// Why a transaction body stopped.
#[derive(Debug)]
pub(crate) enum Fail {
    /// Lost a race with another transaction: roll back and run the body again.
    Retry(String),
    /// The answer to give the caller.
    Store(StoreError),
}

impl From<sqlx::Error> for Fail {
    fn from(e: sqlx::Error) -> Self {
        if let Some(db) = e.as_database_error()
            && db.code().is_some_and(|c| RETRYABLE.contains(&c.as_ref()))
        {
            return Fail::Retry(db.to_string());
        }
        Fail::Store(backend(e))
    }
}

impl Fail {
    /// The error to give a caller that cannot retry (a read, or a transaction out of tries).
    pub(crate) fn into_store(self) -> StoreError {
        match self {
            Fail::Store(e) => e,
            Fail::Retry(why) => StoreError::Backend(why),
        }
    }
}

macro_rules! into_store {
    ($($t:ty),*) => {$(
        impl From<$t> for Fail {
            fn from(e: $t) -> Self {
                Fail::Store(e.into())
            }
        }
    )*};
}

into_store!(
    StoreError,
    StockError,
    Invalid,
    DuplicateReference,
    IllegalTransition,
    RoleMismatch
);

/// A database failure that no retry can mend.
pub(crate) fn backend(e: sqlx::Error) -> StoreError {
    StoreError::Backend(e.to_string())
}
