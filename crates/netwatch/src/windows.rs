//! Recording maintenance windows: the rules of [`crate::maintenance`] applied before a version
//! is appended to the store's history.

use crate::maintenance::{self, MaintenanceWindow, WindowRefusal, WindowSpec, WindowVersion};
use crate::monitor::Netwatch;
use crate::store::{RequestKey, StoreError};

/// Why a window could not be recorded.
#[derive(Debug, thiserror::Error)]
pub enum WindowError {
    /// The rules refuse it.
    #[error(transparent)]
    Refused(#[from] WindowRefusal),
    /// No window has this id.
    #[error("no maintenance window {0}")]
    Unknown(i64),
    /// Another change reached the window first; read it again.
    #[error("maintenance window {0} changed meanwhile; read it again and retry")]
    Raced(i64),
    /// The Idempotency-Key was used for another request.
    #[error("the Idempotency-Key was used for another request")]
    KeyReused,
    /// The store failed.
    #[error(transparent)]
    Store(StoreError),
}

/// A window as recorded, and whether this request only repeated an earlier one.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// The window as it stands.
    pub window: MaintenanceWindow,
    /// True when nothing new was recorded (a retried request).
    pub replayed: bool,
}

impl From<StoreError> for WindowError {
    fn from(e: StoreError) -> Self {
        WindowError::Store(e)
    }
}

impl Netwatch {
    /// Every window as it stands now, deleted ones included (marked).
    pub async fn windows(&self) -> Result<Vec<MaintenanceWindow>, StoreError> {
        Ok(maintenance::current(&self.store().window_history().await?))
    }

    /// Records a new window announced now by `by`. Under a `key`, a retry of the same request
    /// finds the window the first created (even once its notice has run), and another request
    /// under the same key is refused.
    pub async fn create_window(
        &self,
        spec: WindowSpec,
        by: &str,
        key: Option<RequestKey>,
    ) -> Result<Recorded, WindowError> {
        if let Some(k) = &key
            && let Some(found) = self.replay(k).await?
        {
            return Ok(found);
        }
        let now = self.now();
        maintenance::check_notice(&spec, now, self.config().maintenance_notice)?;
        let v = match self
            .store()
            .create_window(&spec, now, by, key.as_ref())
            .await
        {
            Ok(v) => v,
            // A concurrent request under the same key got there first.
            Err(StoreError::Conflict(_)) if key.is_some() => {
                let k = key.as_ref().ok_or(WindowError::KeyReused)?;
                return self.replay(k).await?.ok_or(WindowError::KeyReused);
            }
            Err(e) => return Err(e.into()),
        };
        Ok(Recorded {
            window: stood(std::slice::from_ref(&v), v.window)?,
            replayed: false,
        })
    }

    async fn replay(&self, k: &RequestKey) -> Result<Option<Recorded>, WindowError> {
        let Some((id, request)) = self.store().window_by_key(&k.principal, &k.key).await? else {
            return Ok(None);
        };
        if request != k.request {
            return Err(WindowError::KeyReused);
        }
        Ok(Some(Recorded {
            window: stood(&self.versions_of(id).await?, id)?,
            replayed: true,
        }))
    }

    /// Records a change (`Some(spec)`) or the deletion (`None`) of window `id` as its next
    /// version. A change to what the window already says records nothing (a retried PUT).
    pub async fn revise_window(
        &self,
        id: i64,
        spec: Option<WindowSpec>,
        by: &str,
    ) -> Result<Recorded, WindowError> {
        let now = self.now();
        let mut versions = self.versions_of(id).await?;
        if versions.is_empty() {
            return Err(WindowError::Unknown(id));
        }
        let current = stood(&versions, id)?;
        if current.deleted.is_some() {
            return Err(WindowRefusal::Deleted(id).into());
        }
        if let Some(s) = &spec
            && s.scope == current.scope
            && s.schedule == current.schedule
            && s.note == current.note
            && s.emergency == current.emergency
        {
            return Ok(Recorded {
                window: current,
                replayed: true,
            });
        }
        if let Some(s) = &spec {
            maintenance::check_notice(s, now, self.config().maintenance_notice)?;
        }
        let v = WindowVersion {
            window: id,
            version: current.version + 1,
            recorded_at: now,
            recorded_by: by.to_string(),
            spec,
        };
        match self.store().append_window_version(&v).await {
            Err(StoreError::Conflict(_)) => return Err(WindowError::Raced(id)),
            r => r?,
        }
        versions.push(v);
        Ok(Recorded {
            window: stood(&versions, id)?,
            replayed: false,
        })
    }

    /// The versions of window `id`, oldest first (none for an unknown window).
    pub async fn versions_of(&self, id: i64) -> Result<Vec<WindowVersion>, StoreError> {
        let mut all = self.store().window_history().await?;
        all.retain(|v| v.window == id);
        Ok(all)
    }
}

/// Window `id` as `versions` (its own, oldest first) leave it.
fn stood(versions: &[WindowVersion], id: i64) -> Result<MaintenanceWindow, StoreError> {
    maintenance::current(versions)
        .pop()
        .ok_or_else(|| StoreError::Backend(format!("window {id} has no versions")))
}
