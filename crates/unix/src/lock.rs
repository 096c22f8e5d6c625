//! `flock(2)` locks, as runit uses them on `supervise/lock` and svlogd's
//! `lock`: exclusive, either failing at once (`EWOULDBLOCK`, which runit
//! reports as "temporary failure") or waiting.

use std::io;
use std::os::fd::RawFd;

/// Takes an exclusive lock on `fd`; `wait` chooses blocking or not.
pub fn lock_exclusive(fd: RawFd, wait: bool) -> io::Result<()> {
    let op = if wait { libc::LOCK_EX } else { libc::LOCK_EX | libc::LOCK_NB };
    loop {
        // SAFETY: flock on an integer fd has no memory-safety preconditions.
        if unsafe { libc::flock(fd, op) } == 0 {
            return Ok(());
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

/// Releases a lock taken with [`lock_exclusive`].
pub fn unlock(fd: RawFd) -> io::Result<()> {
    // SAFETY: as above.
    if unsafe { libc::flock(fd, libc::LOCK_UN) } == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}
