//! The VFS itself: C callbacks that wrap the platform VFS's file and forward every call.
//!
//! Unsafe code is allowed here alone: SQLite's VFS interface is a C struct of function
//! pointers over raw file structs, and there is no safe way to register one.
#![allow(unsafe_code)]

use crate::{Tracked, code, forget, track};
use libsqlite3_sys as sys;
use std::ffi::{CStr, c_char, c_int, c_void};
use std::path::{Path, PathBuf};
use std::ptr::{null, null_mut};
use std::sync::Arc;
use std::sync::atomic::{AtomicPtr, Ordering};

/// Our file: SQLite allocates `szOsFile` bytes; ours come first, the platform's file follows.
#[repr(C)]
struct Shim {
    base: sys::sqlite3_file,
    real: *const sys::sqlite3_io_methods,
    tracked: *const Tracked,
}

const SHIM: usize = size_of::<Shim>();
const _: () = assert!(
    SHIM.is_multiple_of(8),
    "the platform's file must stay 8-byte aligned"
);

/// The VFS we wrap.
static REAL: AtomicPtr<sys::sqlite3_vfs> = AtomicPtr::new(null_mut());

static METHODS: sys::sqlite3_io_methods = sys::sqlite3_io_methods {
    iVersion: 3,
    xClose: Some(x_close),
    xRead: Some(x_read),
    xWrite: Some(x_write),
    xTruncate: Some(x_truncate),
    xSync: Some(x_sync),
    xFileSize: Some(x_file_size),
    xLock: Some(x_lock),
    xUnlock: Some(x_unlock),
    xCheckReservedLock: Some(x_check_reserved_lock),
    xFileControl: Some(x_file_control),
    xSectorSize: Some(x_sector_size),
    xDeviceCharacteristics: Some(x_device_characteristics),
    xShmMap: Some(x_shm_map),
    xShmLock: Some(x_shm_lock),
    xShmBarrier: Some(x_shm_barrier),
    xShmUnmap: Some(x_shm_unmap),
    xFetch: Some(x_fetch),
    xUnfetch: Some(x_unfetch),
};

/// Registers a copy of the default VFS under `name` with our `xOpen` and `xDelete`.
pub(crate) fn register(name: &'static CStr) -> Result<(), String> {
    // SAFETY: sqlite3_vfs_find initialises SQLite and returns a VFS that lives as long as the
    // process; the copy we register is leaked, so it does too. The platform VFS's other
    // methods ignore the VFS pointer they are given, which is why copying them is sound.
    unsafe {
        let real = sys::sqlite3_vfs_find(null());
        if real.is_null() {
            return Err("SQLite has no default VFS".into());
        }
        REAL.store(real, Ordering::SeqCst);
        let mut vfs: sys::sqlite3_vfs = *real;
        vfs.szOsFile = (*real).szOsFile + SHIM as c_int;
        vfs.pNext = null_mut();
        vfs.zName = name.as_ptr();
        vfs.xOpen = Some(x_open);
        vfs.xDelete = Some(x_delete);
        let rc = sys::sqlite3_vfs_register(Box::leak(Box::new(vfs)), 0);
        if rc == code::OK {
            Ok(())
        } else {
            Err(format!("sqlite3_vfs_register failed with code {rc}"))
        }
    }
}

/// The files whose durability is modelled.
const TRACKED: c_int =
    sys::SQLITE_OPEN_MAIN_DB | sys::SQLITE_OPEN_WAL | sys::SQLITE_OPEN_MAIN_JOURNAL;

fn path_of(name: *const c_char) -> Option<PathBuf> {
    if name.is_null() {
        return None;
    }
    // SAFETY: SQLite passes a NUL-terminated file name that outlives the call.
    let name = unsafe { CStr::from_ptr(name) };
    name.to_str().ok().map(PathBuf::from)
}

unsafe extern "C" fn x_open(
    _vfs: *mut sys::sqlite3_vfs,
    name: sys::sqlite3_filename,
    file: *mut sys::sqlite3_file,
    flags: c_int,
    out_flags: *mut c_int,
) -> c_int {
    // SAFETY: SQLite gives us szOsFile bytes at `file`, so the platform's file fits after
    // ours; REAL was set before the VFS was registered.
    unsafe {
        let real_vfs = REAL.load(Ordering::SeqCst);
        let shim = file.cast::<Shim>();
        let inner = file.cast::<u8>().add(SHIM).cast::<sys::sqlite3_file>();
        (*file).pMethods = null();
        let Some(open) = (*real_vfs).xOpen else {
            return sys::SQLITE_CANTOPEN;
        };
        let rc = open(real_vfs, name, inner, flags, out_flags);
        if rc != code::OK {
            return rc;
        }
        let tracked = match path_of(name) {
            Some(path) if flags & TRACKED != 0 => Arc::into_raw(track(path)),
            _ => null(),
        };
        (*shim).real = (*inner).pMethods;
        (*shim).tracked = tracked;
        (*shim).base.pMethods = &METHODS;
        code::OK
    }
}

unsafe extern "C" fn x_delete(
    _vfs: *mut sys::sqlite3_vfs,
    name: *const c_char,
    sync_dir: c_int,
) -> c_int {
    // SAFETY: forwards SQLite's own arguments to the platform VFS.
    let rc = unsafe {
        let real_vfs = REAL.load(Ordering::SeqCst);
        match (*real_vfs).xDelete {
            Some(delete) => delete(real_vfs, name, sync_dir),
            None => sys::SQLITE_IOERR_DELETE,
        }
    };
    if (rc == code::OK || rc == sys::SQLITE_IOERR_DELETE_NOENT)
        && let Some(path) = path_of(name)
    {
        forget(Path::new(&path));
    }
    rc
}

/// The platform's methods and file behind ours, and the file's tracked state if any.
///
/// SAFETY: `file` must be a file opened by `x_open` and not yet closed.
unsafe fn parts<'a>(
    file: *mut sys::sqlite3_file,
) -> (
    &'a sys::sqlite3_io_methods,
    *mut sys::sqlite3_file,
    Option<&'a Tracked>,
) {
    unsafe {
        let shim = file.cast::<Shim>();
        let inner = file.cast::<u8>().add(SHIM).cast::<sys::sqlite3_file>();
        (&*(*shim).real, inner, (*shim).tracked.as_ref())
    }
}

unsafe extern "C" fn x_close(file: *mut sys::sqlite3_file) -> c_int {
    // SAFETY: called once per opened file; the Arc was leaked into it by x_open.
    unsafe {
        let (m, inner, _) = parts(file);
        let rc = m.xClose.map_or(code::OK, |f| f(inner));
        let shim = file.cast::<Shim>();
        if !(*shim).tracked.is_null() {
            drop(Arc::from_raw((*shim).tracked));
            (*shim).tracked = null();
        }
        rc
    }
}

unsafe extern "C" fn x_read(
    file: *mut sys::sqlite3_file,
    buf: *mut c_void,
    amt: c_int,
    off: sys::sqlite3_int64,
) -> c_int {
    // SAFETY: forwards SQLite's own arguments.
    unsafe {
        let (m, inner, _) = parts(file);
        m.xRead
            .map_or(sys::SQLITE_IOERR_READ, |f| f(inner, buf, amt, off))
    }
}

unsafe extern "C" fn x_write(
    file: *mut sys::sqlite3_file,
    buf: *const c_void,
    amt: c_int,
    off: sys::sqlite3_int64,
) -> c_int {
    // SAFETY: SQLite's buffer holds `amt` bytes for the duration of the call.
    unsafe {
        let (m, inner, tracked) = parts(file);
        let forward = || {
            m.xWrite
                .map_or(code::IOERR_WRITE, |f| f(inner, buf, amt, off))
        };
        match tracked {
            Some(t) => {
                let data =
                    std::slice::from_raw_parts(buf.cast::<u8>(), usize::try_from(amt).unwrap_or(0));
                t.write(off, data, forward)
            }
            None => forward(),
        }
    }
}

unsafe extern "C" fn x_truncate(file: *mut sys::sqlite3_file, size: sys::sqlite3_int64) -> c_int {
    // SAFETY: forwards SQLite's own arguments.
    unsafe {
        let (m, inner, tracked) = parts(file);
        let forward = || m.xTruncate.map_or(code::IOERR_TRUNCATE, |f| f(inner, size));
        match tracked {
            Some(t) => t.truncate(size, forward),
            None => forward(),
        }
    }
}

unsafe extern "C" fn x_sync(file: *mut sys::sqlite3_file, flags: c_int) -> c_int {
    // SAFETY: forwards SQLite's own arguments.
    unsafe {
        let (m, inner, tracked) = parts(file);
        let forward = || m.xSync.map_or(code::IOERR_FSYNC, |f| f(inner, flags));
        match tracked {
            Some(t) => t.sync(forward),
            None => forward(),
        }
    }
}

unsafe extern "C" fn x_file_size(
    file: *mut sys::sqlite3_file,
    size: *mut sys::sqlite3_int64,
) -> c_int {
    // SAFETY: forwards SQLite's own arguments.
    unsafe {
        let (m, inner, _) = parts(file);
        m.xFileSize
            .map_or(sys::SQLITE_IOERR_FSTAT, |f| f(inner, size))
    }
}

unsafe extern "C" fn x_lock(file: *mut sys::sqlite3_file, level: c_int) -> c_int {
    // SAFETY: forwards SQLite's own arguments.
    unsafe {
        let (m, inner, _) = parts(file);
        m.xLock.map_or(sys::SQLITE_IOERR_LOCK, |f| f(inner, level))
    }
}

unsafe extern "C" fn x_unlock(file: *mut sys::sqlite3_file, level: c_int) -> c_int {
    // SAFETY: forwards SQLite's own arguments.
    unsafe {
        let (m, inner, _) = parts(file);
        m.xUnlock
            .map_or(sys::SQLITE_IOERR_UNLOCK, |f| f(inner, level))
    }
}

unsafe extern "C" fn x_check_reserved_lock(file: *mut sys::sqlite3_file, out: *mut c_int) -> c_int {
    // SAFETY: forwards SQLite's own arguments.
    unsafe {
        let (m, inner, _) = parts(file);
        m.xCheckReservedLock
            .map_or(sys::SQLITE_IOERR_CHECKRESERVEDLOCK, |f| f(inner, out))
    }
}

unsafe extern "C" fn x_file_control(
    file: *mut sys::sqlite3_file,
    op: c_int,
    arg: *mut c_void,
) -> c_int {
    // SAFETY: forwards SQLite's own arguments.
    unsafe {
        let (m, inner, _) = parts(file);
        m.xFileControl
            .map_or(sys::SQLITE_NOTFOUND, |f| f(inner, op, arg))
    }
}

unsafe extern "C" fn x_sector_size(file: *mut sys::sqlite3_file) -> c_int {
    // SAFETY: forwards SQLite's own arguments.
    unsafe {
        let (m, inner, _) = parts(file);
        m.xSectorSize.map_or(4096, |f| f(inner))
    }
}

unsafe extern "C" fn x_device_characteristics(file: *mut sys::sqlite3_file) -> c_int {
    // SAFETY: forwards SQLite's own arguments.
    unsafe {
        let (m, inner, _) = parts(file);
        m.xDeviceCharacteristics.map_or(0, |f| f(inner))
    }
}

unsafe extern "C" fn x_shm_map(
    file: *mut sys::sqlite3_file,
    page: c_int,
    size: c_int,
    extend: c_int,
    out: *mut *mut c_void,
) -> c_int {
    // SAFETY: forwards SQLite's own arguments.
    unsafe {
        let (m, inner, _) = parts(file);
        m.xShmMap.map_or(sys::SQLITE_IOERR_SHMMAP, |f| {
            f(inner, page, size, extend, out)
        })
    }
}

unsafe extern "C" fn x_shm_lock(
    file: *mut sys::sqlite3_file,
    offset: c_int,
    n: c_int,
    flags: c_int,
) -> c_int {
    // SAFETY: forwards SQLite's own arguments.
    unsafe {
        let (m, inner, _) = parts(file);
        m.xShmLock
            .map_or(sys::SQLITE_IOERR_SHMLOCK, |f| f(inner, offset, n, flags))
    }
}

unsafe extern "C" fn x_shm_barrier(file: *mut sys::sqlite3_file) {
    // SAFETY: forwards SQLite's own arguments.
    unsafe {
        let (m, inner, _) = parts(file);
        if let Some(f) = m.xShmBarrier {
            f(inner);
        }
    }
}

unsafe extern "C" fn x_shm_unmap(file: *mut sys::sqlite3_file, delete: c_int) -> c_int {
    // SAFETY: forwards SQLite's own arguments.
    unsafe {
        let (m, inner, _) = parts(file);
        m.xShmUnmap.map_or(code::OK, |f| f(inner, delete))
    }
}

unsafe extern "C" fn x_fetch(
    file: *mut sys::sqlite3_file,
    off: sys::sqlite3_int64,
    amt: c_int,
    out: *mut *mut c_void,
) -> c_int {
    // SAFETY: forwards SQLite's own arguments; without mmap support the page is read instead.
    unsafe {
        let (m, inner, _) = parts(file);
        match m.xFetch {
            Some(f) if m.iVersion >= 3 => f(inner, off, amt, out),
            _ => {
                *out = null_mut();
                code::OK
            }
        }
    }
}

unsafe extern "C" fn x_unfetch(
    file: *mut sys::sqlite3_file,
    off: sys::sqlite3_int64,
    p: *mut c_void,
) -> c_int {
    // SAFETY: forwards SQLite's own arguments.
    unsafe {
        let (m, inner, _) = parts(file);
        match m.xUnfetch {
            Some(f) if m.iVersion >= 3 => f(inner, off, p),
            _ => code::OK,
        }
    }
}
