//! A simulated power cut for SQLite, for durability tests.
//!
//! A `SIGKILL` cannot show that a store syncs what it acknowledges: the operating system keeps
//! the killed process's writes in its page cache and the next process reads them back, synced
//! or not. This crate registers an SQLite VFS, [`register`], that passes every call through to
//! the platform's VFS and also keeps, for each database, WAL and journal file, the image the
//! file would have on disk after a power cut: a write joins the image only when a later `xSync`
//! of that file returns. [`power_cut`] freezes those images (every later write or sync through
//! the VFS fails, as on a machine without power) and writes them out, to be opened with the
//! real VFS like a disk after the reboot.
//!
//! What it models: unsynced writes are lost whole, synced ones kept whole, file creation and
//! deletion are durable at once. It does not model torn sectors or reordering within a sync.

mod ffi;

use std::collections::HashMap;
use std::ffi::CStr;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

/// The name the VFS is registered under (pass it to `SqliteConnectOptions::vfs`).
pub const VFS_NAME: &str = "rendan-powercut";

const VFS_CSTR: &CStr = c"rendan-powercut";

/// Registers the VFS (once per process) and returns its name.
pub fn register() -> Result<&'static str, String> {
    static DONE: OnceLock<Result<(), String>> = OnceLock::new();
    DONE.get_or_init(|| ffi::register(VFS_CSTR))
        .clone()
        .map(|()| VFS_NAME)
}

/// Cuts the power under `dir`: every file the VFS tracks there stops accepting writes and
/// syncs, and its durable image is written into `image_dir` under the same file name.
/// Returns the files written.
pub fn power_cut(dir: &Path, image_dir: &Path) -> io::Result<Vec<PathBuf>> {
    let dir = std::fs::canonicalize(dir)?;
    let files: Vec<(PathBuf, Arc<Tracked>)> = lock(registry())
        .iter()
        .filter(|(path, _)| path.parent() == Some(dir.as_path()))
        .map(|(path, t)| (path.clone(), t.clone()))
        .collect();
    let mut written = Vec::new();
    for (path, tracked) in files {
        let mut state = lock(&tracked.state);
        state.dead = true;
        let Some(name) = path.file_name() else {
            continue;
        };
        let to = image_dir.join(name);
        std::fs::write(&to, &state.durable)?;
        written.push(to);
    }
    Ok(written)
}

/// A change not yet synced.
enum Op {
    Write { offset: usize, data: Vec<u8> },
    Truncate(usize),
}

struct State {
    /// What a power cut now would leave on disk.
    durable: Vec<u8>,
    /// Changes since the last sync, in order.
    pending: Vec<Op>,
    /// The power is off: nothing reaches the disk any more.
    dead: bool,
}

/// One file's durable image and unsynced changes, shared by every connection that opens it.
pub(crate) struct Tracked {
    state: Mutex<State>,
}

/// SQLite result codes the VFS answers with itself.
pub(crate) mod code {
    pub const OK: i32 = 0;
    pub const IOERR_WRITE: i32 = 778;
    pub const IOERR_FSYNC: i32 = 1034;
    pub const IOERR_TRUNCATE: i32 = 1546;
}

impl Tracked {
    /// Passes a write on (through `real`) and remembers it as unsynced.
    pub(crate) fn write(&self, offset: i64, data: &[u8], real: impl FnOnce() -> i32) -> i32 {
        let mut state = lock(&self.state);
        if state.dead {
            return code::IOERR_WRITE;
        }
        let rc = real();
        if rc == code::OK {
            let offset = usize::try_from(offset).unwrap_or(usize::MAX);
            state.pending.push(Op::Write {
                offset,
                data: data.to_vec(),
            });
        }
        rc
    }

    /// Passes a truncation on and remembers it as unsynced.
    pub(crate) fn truncate(&self, size: i64, real: impl FnOnce() -> i32) -> i32 {
        let mut state = lock(&self.state);
        if state.dead {
            return code::IOERR_TRUNCATE;
        }
        let rc = real();
        if rc == code::OK {
            state
                .pending
                .push(Op::Truncate(usize::try_from(size).unwrap_or(0)));
        }
        rc
    }

    /// Passes a sync on; once it returns, every change before it is durable.
    pub(crate) fn sync(&self, real: impl FnOnce() -> i32) -> i32 {
        let mut state = lock(&self.state);
        if state.dead {
            return code::IOERR_FSYNC;
        }
        let rc = real();
        if rc == code::OK {
            let State {
                durable, pending, ..
            } = &mut *state;
            for op in pending.drain(..) {
                match op {
                    Op::Write { offset, data } => {
                        let end = offset.saturating_add(data.len());
                        if durable.len() < end {
                            durable.resize(end, 0);
                        }
                        durable[offset..end].copy_from_slice(&data);
                    }
                    Op::Truncate(size) => durable.truncate(size),
                }
            }
        }
        rc
    }
}

fn registry() -> &'static Mutex<HashMap<PathBuf, Arc<Tracked>>> {
    static FILES: OnceLock<Mutex<HashMap<PathBuf, Arc<Tracked>>>> = OnceLock::new();
    FILES.get_or_init(Default::default)
}

/// A poisoned lock only means a test panicked elsewhere; the data is still what it was.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The shared state of the file at `path`, just opened; a file seen for the first time is
/// durable as it stands.
pub(crate) fn track(path: PathBuf) -> Arc<Tracked> {
    lock(registry())
        .entry(path)
        .or_insert_with_key(|path| {
            Arc::new(Tracked {
                state: Mutex::new(State {
                    durable: std::fs::read(path).unwrap_or_default(),
                    pending: Vec::new(),
                    dead: false,
                }),
            })
        })
        .clone()
}

/// The file at `path` was deleted (durably, in this model).
pub(crate) fn forget(path: &Path) {
    lock(registry()).remove(path);
}
