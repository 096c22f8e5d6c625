//! Signals as bytes on a pipe (the self-pipe trick).
//!
//! A handler only sets a flag and writes one byte to a non-blocking,
//! close-on-exec pipe; the main loop polls the pipe's read end together with
//! its other descriptors and then asks which signals arrived. Handled signals
//! revert to their default action in children at `exec`, so services never
//! inherit them.

use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use nix::sys::signal::{pthread_sigmask, SigSet, SigmaskHow, Signal};

/// The set of signals this process turns into pipe bytes.
pub struct SelfPipe {
    read: OwnedFd,
    _write: OwnedFd,
    flags: Vec<(libc::c_int, Arc<AtomicBool>)>,
}

impl SelfPipe {
    /// Installs handlers for `signals`. The pipe is created close-on-exec
    /// here (signal-hook's own helper does not set it).
    pub fn new(signals: &[libc::c_int]) -> io::Result<SelfPipe> {
        let (read, write) = crate::fd::pipe_cloexec()?;
        crate::fd::set_nonblock(read.as_raw_fd(), true)?;
        crate::fd::set_nonblock(write.as_raw_fd(), true)?;
        // The signals stay blocked until both the flag and the pipe byte are
        // in place: one arriving in between would set the flag without
        // waking the poll, and be seen only at the next unrelated wake-up
        // (a runsv TERMed by runsvdir right after it started kept running
        // for ever). Blocked, it waits and is delivered to both at once.
        let mut set = SigSet::empty();
        for &sig in signals {
            set.add(Signal::try_from(sig)?);
        }
        let mut old_mask = SigSet::empty();
        pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&set), Some(&mut old_mask))?;
        let register = || -> io::Result<Vec<(libc::c_int, Arc<AtomicBool>)>> {
            let mut flags = Vec::new();
            for &sig in signals {
                let flag = Arc::new(AtomicBool::new(false));
                signal_hook::flag::register(sig, Arc::clone(&flag))?;
                // try_clone duplicates with F_DUPFD_CLOEXEC, so the copy stays close-on-exec.
                signal_hook::low_level::pipe::register_raw(sig, write.try_clone()?)?;
                flags.push((sig, flag));
            }
            Ok(flags)
        };
        let flags = register();
        pthread_sigmask(SigmaskHow::SIG_SETMASK, Some(&old_mask), None)?;
        Ok(SelfPipe { read, _write: write, flags: flags? })
    }

    /// The descriptor to poll for readability.
    pub fn fd(&self) -> RawFd {
        self.read.as_raw_fd()
    }

    /// Empties the pipe and returns the signals that arrived since the last
    /// call, in the order they were registered.
    pub fn drain(&self) -> Vec<libc::c_int> {
        let mut buf = [0u8; 64];
        // Non-blocking: ends with EAGAIN once empty.
        while let Ok(1..) = nix::unistd::read(&self.read, &mut buf) {}
        self.flags.iter().filter(|(_, f)| f.swap(false, Ordering::SeqCst)).map(|(s, _)| *s).collect()
    }
}
