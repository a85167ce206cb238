//! Failures inside a transaction, split into those worth running the transaction again for
//! (another process won a race) and those that are the answer.

use rendan_domain::Invalid;
use rendan_domain::access::RoleMismatch;
use rendan_domain::order::{DuplicateReference, IllegalTransition};
use rendan_domain::stock::StockError;
use rendan_store::StoreError;

/// SQLSTATE of a unique violation: another transaction got there first, and a rerun reads
/// the winner's key or reference and answers as a replay or a conflict.
const UNIQUE_VIOLATION: &str = "23505";

/// SQLSTATEs after which the whole transaction is gone and must run again from the start:
/// serialization failure and deadlock.
const ABORTED: &[&str] = &["40001", "40P01"];

/// Why a transaction body stopped.
#[derive(Debug)]
pub(crate) enum Fail {
    /// Lost a race on a unique constraint: roll back this body's writes and run it again.
    Retry(String),
    /// The database gave up the whole transaction (deadlock, serialization failure): roll it
    /// back and run it again from the start.
    Abort(String),
    /// The answer to give the caller.
    Store(StoreError),
}

impl From<sqlx::Error> for Fail {
    fn from(e: sqlx::Error) -> Self {
        if let Some(db) = e.as_database_error()
            && let Some(code) = db.code()
        {
            if code == UNIQUE_VIOLATION {
                return Fail::Retry(db.to_string());
            }
            if ABORTED.contains(&code.as_ref()) {
                return Fail::Abort(db.to_string());
            }
        }
        Fail::Store(backend(e))
    }
}

impl Fail {
    /// The error to give a caller that cannot retry (a read, or a transaction out of tries).
    pub(crate) fn into_store(self) -> StoreError {
        match self {
            Fail::Store(e) => e,
            Fail::Retry(why) | Fail::Abort(why) => StoreError::Backend(why),
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

impl From<Fail> for rendan_store::tx::Fail {
    fn from(f: Fail) -> Self {
        match f {
            Fail::Retry(why) => rendan_store::tx::Fail::Retry(why),
            Fail::Abort(why) => rendan_store::tx::Fail::Abort(why),
            Fail::Store(e) => rendan_store::tx::Fail::Store(e),
        }
    }
}

/// A database failure that no retry can mend.
pub(crate) fn backend(e: sqlx::Error) -> StoreError {
    StoreError::Backend(e.to_string())
}
