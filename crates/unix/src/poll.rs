//! `poll(2)` on a monotonic deadline.
//!
//! Programs wait for descriptors or a deadline measured with `Instant`
//! (CLOCK_MONOTONIC), so a wall-clock jump never shortens or stretches a
//! restart delay. `None` means no deadline: a supervisor with nothing
//! scheduled sleeps until an event, with no periodic wake-ups.

use std::io;
use std::os::fd::RawFd;
use std::time::Instant;

/// Milliseconds from now until `deadline`, rounded up, for `poll`.
pub fn timeout_ms(deadline: Option<Instant>) -> libc::c_int {
    match deadline {
        None => -1,
        Some(d) => {
            let left = d.saturating_duration_since(Instant::now());
            let ms = left.as_micros().div_ceil(1000);
            ms.min(libc::c_int::MAX as u128) as libc::c_int
        }
    }
}

/// A descriptor to watch for input.
pub fn readable(fd: RawFd) -> libc::pollfd {
    libc::pollfd { fd, events: libc::POLLIN, revents: 0 }
}

/// Whether a polled descriptor has input (or hang-up / error, which a read
/// will then report).
pub fn ready(p: &libc::pollfd) -> bool {
    p.revents & (libc::POLLIN | libc::POLLHUP | libc::POLLERR) != 0
}

/// Polls `fds` until one is ready, `deadline` passes, or a signal arrives
/// (`EINTR` counts as a wake-up: the caller drains its self-pipe). Returns
/// the number of ready descriptors.
pub fn poll_until(fds: &mut [libc::pollfd], deadline: Option<Instant>) -> io::Result<usize> {
    for p in fds.iter_mut() {
        p.revents = 0;
    }
    // Raw poll: the callers (runit, runsv, runsvdir, sv, svlogd) build
    // plain `pollfd` arrays from descriptor numbers they keep in many
    // forms; nix's `PollFd` would need a borrowed owner for each.
    // SAFETY: fds is a valid, exclusively borrowed array of pollfd.
    let r = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout_ms(deadline)) };
    match nix::errno::Errno::result(r) {
        Ok(n) => Ok(n as usize),
        Err(nix::errno::Errno::EINTR) => Ok(0),
        Err(e) => Err(e.into()),
    }
}
