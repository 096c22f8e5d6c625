//! Thin wrappers over the `*at` system calls svlogd uses on a log directory
//! descriptor (so svlogd never changes its working directory).

use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

fn cstr(name: &[u8]) -> io::Result<CString> {
    CString::new(name).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))
}

fn check(r: libc::c_int) -> io::Result<libc::c_int> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

/// `open` relative to `dir` (`None` = the working directory); always
/// close-on-exec.
pub fn open_at(dir: Option<RawFd>, name: &[u8], flags: libc::c_int, mode: libc::mode_t) -> io::Result<OwnedFd> {
    let c = cstr(name)?;
    let dirfd = dir.unwrap_or(libc::AT_FDCWD);
    loop {
        // SAFETY: `c` is a valid NUL-terminated string for the call.
        let fd = unsafe { libc::openat(dirfd, c.as_ptr(), flags | libc::O_CLOEXEC, libc::c_uint::from(mode)) };
        if fd >= 0 {
            // SAFETY: openat just returned this descriptor; we own it.
            return Ok(unsafe { OwnedFd::from_raw_fd(fd) });
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

pub fn fstat(fd: RawFd) -> io::Result<libc::stat> {
    // SAFETY: all-zero is a valid `stat` for the kernel to fill in.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: `st` is valid writable memory of the right type.
    check(unsafe { libc::fstat(fd, &mut st) })?;
    Ok(st)
}

/// `stat` (following symlinks) of `name` in `dir`.
pub fn stat_at(dir: RawFd, name: &[u8]) -> io::Result<libc::stat> {
    let c = cstr(name)?;
    // SAFETY: all-zero is a valid `stat` for the kernel to fill in.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: `c` and `st` are valid for the call.
    check(unsafe { libc::fstatat(dir, c.as_ptr(), &mut st, 0) })?;
    Ok(st)
}

pub fn rename_at(dir: RawFd, from: &[u8], to: &[u8]) -> io::Result<()> {
    let (f, t) = (cstr(from)?, cstr(to)?);
    // SAFETY: both names are valid NUL-terminated strings.
    check(unsafe { libc::renameat(dir, f.as_ptr(), dir, t.as_ptr()) }).map(drop)
}

pub fn unlink_at(dir: RawFd, name: &[u8]) -> io::Result<()> {
    let c = cstr(name)?;
    // SAFETY: `c` is a valid NUL-terminated string.
    check(unsafe { libc::unlinkat(dir, c.as_ptr(), 0) }).map(drop)
}

pub fn chmod_at(dir: RawFd, name: &[u8], mode: libc::mode_t) -> io::Result<()> {
    let c = cstr(name)?;
    // SAFETY: `c` is a valid NUL-terminated string.
    check(unsafe { libc::fchmodat(dir, c.as_ptr(), mode, 0) }).map(drop)
}

pub fn fchmod(fd: RawFd, mode: libc::mode_t) -> io::Result<()> {
    // SAFETY: no memory is passed.
    check(unsafe { libc::fchmod(fd, mode) }).map(drop)
}

pub fn fsync(fd: RawFd) -> io::Result<()> {
    // SAFETY: no memory is passed.
    check(unsafe { libc::fsync(fd) }).map(drop)
}

/// Whether the directory can be searched (what `fchdir` into it needs).
pub fn can_search(dir: RawFd) -> io::Result<()> {
    // SAFETY: the literal is NUL-terminated.
    check(unsafe { libc::faccessat(dir, c".".as_ptr(), libc::X_OK, libc::AT_EACCESS) }).map(drop)
}

pub fn write(fd: RawFd, buf: &[u8]) -> io::Result<usize> {
    // SAFETY: `buf` is valid for reads of its length.
    let n = unsafe { libc::write(fd, buf.as_ptr().cast(), buf.len()) };
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(n as usize)
    }
}

pub fn read(fd: RawFd, buf: &mut [u8]) -> io::Result<usize> {
    // SAFETY: `buf` is valid for writes of its length.
    let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(n as usize)
    }
}

/// Position of the first `byte` in `hay` (libc's vectorised `memchr`).
pub fn memchr(byte: u8, hay: &[u8]) -> Option<usize> {
    if hay.is_empty() {
        return None;
    }
    // SAFETY: the pointer and length describe `hay`, which outlives the call.
    let p = unsafe { libc::memchr(hay.as_ptr().cast(), libc::c_int::from(byte), hay.len()) };
    if p.is_null() {
        None
    } else {
        Some(p as usize - hay.as_ptr() as usize)
    }
}

/// Names of the entries of the directory open at `dir`.
pub fn list_dir(dir: RawFd) -> io::Result<Vec<Vec<u8>>> {
    // SAFETY: dup of a descriptor we hold.
    let dup = check(unsafe { libc::fcntl(dir, libc::F_DUPFD_CLOEXEC, 0) })?;
    // SAFETY: fdopendir takes ownership of `dup` on success.
    let d = unsafe { libc::fdopendir(dup) };
    if d.is_null() {
        let e = io::Error::last_os_error();
        // SAFETY: `dup` is still ours when fdopendir failed.
        unsafe { libc::close(dup) };
        return Err(e);
    }
    // SAFETY: `d` is a valid DIR stream.
    unsafe { libc::rewinddir(d) };
    let mut names = Vec::new();
    let mut err = None;
    loop {
        // SAFETY: errno is thread-local; resetting it distinguishes end from error.
        unsafe { *libc::__errno_location() = 0 };
        // SAFETY: `d` is a valid DIR stream.
        let ent = unsafe { libc::readdir(d) };
        if ent.is_null() {
            let e = io::Error::last_os_error();
            if e.raw_os_error() != Some(0) {
                err = Some(e);
            }
            break;
        }
        // SAFETY: d_name is NUL-terminated inside the entry readdir returned.
        let name = unsafe { std::ffi::CStr::from_ptr((*ent).d_name.as_ptr()) };
        names.push(name.to_bytes().to_vec());
    }
    // SAFETY: `d` is valid and closed once (this also closes `dup`).
    unsafe { libc::closedir(d) };
    match err {
        Some(e) => Err(e),
        None => Ok(names),
    }
}

pub fn raw(fd: &Option<OwnedFd>) -> RawFd {
    fd.as_ref().map(|f| f.as_raw_fd()).unwrap_or(-1)
}
