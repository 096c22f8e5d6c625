//! The `*at` system calls svlogd uses on a log directory descriptor (so
//! svlogd never changes its working directory), through nix.
//!
//! They take descriptor numbers: a log directory's descriptors live in
//! `Option<OwnedFd>` fields that are closed and reopened (HUP, errors), and
//! a closed one (-1) must fail like the system call would, with `EBADF`.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd, RawFd};

use nix::errno::Errno;
use nix::fcntl::{OFlag, AT_FDCWD};
use nix::sys::stat::{FchmodatFlags, FileStat, Mode};
use nix::unistd::{AccessFlags, UnlinkatFlags};

/// Borrows descriptor `fd` for one call; -1 (closed) is `EBADF`.
fn borrow<'a>(fd: RawFd) -> io::Result<BorrowedFd<'a>> {
    if fd < 0 {
        return Err(Errno::EBADF.into());
    }
    // SAFETY: non-negative, and the borrow lasts only for the single call
    // its caller makes while the owner (a field of the log directory)
    // keeps it open.
    Ok(unsafe { BorrowedFd::borrow_raw(fd) })
}

fn mode(m: libc::mode_t) -> Mode {
    Mode::from_bits_truncate(m)
}

/// `open` relative to `dir` (`None` = the working directory); always
/// close-on-exec.
pub fn open_at(dir: Option<RawFd>, name: &[u8], flags: libc::c_int, m: libc::mode_t) -> io::Result<OwnedFd> {
    let flags = OFlag::from_bits_retain(flags) | OFlag::O_CLOEXEC;
    loop {
        let r = match dir {
            None => nix::fcntl::openat(AT_FDCWD, name, flags, mode(m)),
            Some(d) => nix::fcntl::openat(borrow(d)?, name, flags, mode(m)),
        };
        match r {
            Err(Errno::EINTR) => continue,
            r => return Ok(r?),
        }
    }
}

pub fn fstat(fd: RawFd) -> io::Result<FileStat> {
    Ok(nix::sys::stat::fstat(borrow(fd)?)?)
}

/// `stat` (following symlinks) of `name` in `dir`.
pub fn stat_at(dir: RawFd, name: &[u8]) -> io::Result<FileStat> {
    Ok(nix::sys::stat::fstatat(borrow(dir)?, name, nix::fcntl::AtFlags::empty())?)
}

pub fn rename_at(dir: RawFd, from: &[u8], to: &[u8]) -> io::Result<()> {
    let d = borrow(dir)?;
    Ok(nix::fcntl::renameat(d, from, d, to)?)
}

pub fn unlink_at(dir: RawFd, name: &[u8]) -> io::Result<()> {
    Ok(nix::unistd::unlinkat(borrow(dir)?, name, UnlinkatFlags::NoRemoveDir)?)
}

pub fn chmod_at(dir: RawFd, name: &[u8], m: libc::mode_t) -> io::Result<()> {
    Ok(nix::sys::stat::fchmodat(borrow(dir)?, name, mode(m), FchmodatFlags::FollowSymlink)?)
}

pub fn fchmod(fd: RawFd, m: libc::mode_t) -> io::Result<()> {
    Ok(nix::sys::stat::fchmod(borrow(fd)?, mode(m))?)
}

pub fn fsync(fd: RawFd) -> io::Result<()> {
    Ok(nix::unistd::fsync(borrow(fd)?)?)
}

/// Whether the directory can be searched (what `fchdir` into it needs).
pub fn can_search(dir: RawFd) -> io::Result<()> {
    Ok(nix::unistd::faccessat(borrow(dir)?, ".", AccessFlags::X_OK, nix::fcntl::AtFlags::AT_EACCESS)?)
}

pub fn write(fd: RawFd, buf: &[u8]) -> io::Result<usize> {
    Ok(nix::unistd::write(borrow(fd)?, buf)?)
}

pub fn read(fd: RawFd, buf: &mut [u8]) -> io::Result<usize> {
    Ok(nix::unistd::read(borrow(fd)?, buf)?)
}

/// Position of the first `byte` in `hay` (libc's vectorised `memchr`: the
/// hot path of splitting input into lines; not a system call).
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
    // A duplicate for the directory stream to own (it shares the reading
    // position with the original).
    let dup = borrow(dir)?.try_clone_to_owned()?;
    let mut d = nix::dir::Dir::from_fd(dup)?;
    // Dropping an iterator rewinds the stream: start from the beginning
    // whatever an earlier reader left.
    drop(d.iter());
    let mut names = Vec::new();
    for entry in d.iter() {
        names.push(entry?.file_name().to_bytes().to_vec());
    }
    Ok(names)
}

pub fn raw(fd: &Option<OwnedFd>) -> RawFd {
    fd.as_ref().map(|f| f.as_raw_fd()).unwrap_or(-1)
}
