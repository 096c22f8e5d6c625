//! What the process looked like before Rust's runtime touched it.
//!
//! Before `main`, Rust's runtime ignores SIGPIPE and opens /dev/null on
//! closed standard descriptors. An ignored signal stays ignored across
//! `exec`, so without care every service, log processor or program a
//! runit-rs program starts would run with SIGPIPE ignored (a writer to a
//! closed pipe would get EPIPE errors instead of dying, unlike under runit).
//! An `.init_array` constructor, run by the C runtime before Rust's own
//! start-up, records the original state; children get it back before exec.

use std::sync::atomic::{AtomicU8, Ordering};

/// Bits 0..=2: descriptor N was closed; bit 3: SIGPIPE was ignored.
static AT_START: AtomicU8 = AtomicU8::new(0);
const SIGPIPE_IGNORED: u8 = 1 << 3;

extern "C" fn record_start_state() {
    let mut state = 0;
    for fd in 0..3 {
        // SAFETY: F_GETFD on a descriptor number has no memory-safety
        // preconditions.
        if unsafe { libc::fcntl(fd, libc::F_GETFD) } == -1 {
            state |= 1 << fd;
        }
    }
    // SAFETY: querying (not changing) a disposition into a zeroed sigaction.
    unsafe {
        let mut old: libc::sigaction = std::mem::zeroed();
        if libc::sigaction(libc::SIGPIPE, std::ptr::null(), &mut old) == 0 && old.sa_sigaction == libc::SIG_IGN {
            state |= SIGPIPE_IGNORED;
        }
    }
    AT_START.store(state, Ordering::Relaxed);
}

#[used]
#[link_section = ".init_array"]
static RECORD_START_STATE: extern "C" fn() = record_start_state;

/// Whether standard descriptor `fd` (0, 1 or 2) was closed at start.
pub fn closed_at_start(fd: i32) -> bool {
    (0..3).contains(&fd) && AT_START.load(Ordering::Relaxed) & (1 << fd) != 0
}

/// Whether SIGPIPE was ignored when the process started.
pub fn sigpipe_ignored_at_start() -> bool {
    AT_START.load(Ordering::Relaxed) & SIGPIPE_IGNORED != 0
}

/// Puts SIGPIPE back as it was at start (async-signal-safe: for use between
/// `fork` and `exec`, or right before an `exec` in place).
pub fn restore_sigpipe() {
    if !sigpipe_ignored_at_start() {
        // SAFETY: resetting a disposition to its default.
        unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_constructor_ran_before_the_runtime_ignored_sigpipe() {
        // cargo's test harness starts us with SIGPIPE at its default.
        assert!(!super::sigpipe_ignored_at_start());
    }
}
