//! `flock(2)` locks, as runit uses them on `supervise/lock` and svlogd's
//! `lock`: exclusive, either failing at once (`EWOULDBLOCK`, which runit
//! reports as "temporary failure") or waiting.

use std::io;
use std::os::fd::RawFd;

use nix::errno::Errno;

// Raw `flock`: nix's descriptor-number `flock` is deprecated for the
// owning `nix::fcntl::Flock` guard, which would take the file away from
// callers that keep reading and writing through it while it is locked.

/// Takes an exclusive lock on `fd`; `wait` chooses blocking or not.
pub fn lock_exclusive(fd: RawFd, wait: bool) -> io::Result<()> {
    let op = if wait { libc::LOCK_EX } else { libc::LOCK_EX | libc::LOCK_NB };
    loop {
        // SAFETY: flock on an integer fd has no memory-safety preconditions.
        match Errno::result(unsafe { libc::flock(fd, op) }) {
            Ok(_) => return Ok(()),
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(e.into()),
        }
    }
}
