//! Recording maintenance windows: the rules of [`crate::maintenance`] applied before a version
//! is appended to the store's history.

use crate::maintenance::{self, MaintenanceWindow, WindowRefusal, WindowSpec, WindowVersion};
use crate::monitor::Netwatch;
use crate::store::StoreError;

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
    /// The store failed.
    #[error(transparent)]
    Store(StoreError),
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

    /// Records a new window announced now by `by`.
    pub async fn create_window(
        &self,
        spec: WindowSpec,
        by: &str,
    ) -> Result<MaintenanceWindow, WindowError> {
        let now = self.now();
        maintenance::check_notice(&spec, now, self.config().maintenance_notice)?;
        let v = self.store().create_window(&spec, now, by).await?;
        Ok(self.window_as_stored(v.window).await?)
    }

    /// Records a change (`Some(spec)`) or the deletion (`None`) of window `id` as its next
    /// version.
    pub async fn revise_window(
        &self,
        id: i64,
        spec: Option<WindowSpec>,
        by: &str,
    ) -> Result<MaintenanceWindow, WindowError> {
        let now = self.now();
        let current = self
            .windows()
            .await?
            .into_iter()
            .find(|w| w.id == id)
            .ok_or(WindowError::Unknown(id))?;
        if current.deleted.is_some() {
            return Err(WindowRefusal::Deleted(id).into());
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
        Ok(self.window_as_stored(id).await?)
    }

    async fn window_as_stored(&self, id: i64) -> Result<MaintenanceWindow, StoreError> {
        self.windows()
            .await?
            .into_iter()
            .find(|w| w.id == id)
            .ok_or_else(|| StoreError::Backend(format!("window {id} vanished")))
    }
}
