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
        // SAFETY: sigset_t is plain data; the calls only read and write the
        // sets passed.
        let old_mask = unsafe {
            let mut set: libc::sigset_t = std::mem::zeroed();
            let mut old: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            for &sig in signals {
                libc::sigaddset(&mut set, sig);
            }
            libc::pthread_sigmask(libc::SIG_BLOCK, &set, &mut old);
            old
        };
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
        // SAFETY: restores the mask saved above.
        unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, &old_mask, std::ptr::null_mut()) };
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
        loop {
            // SAFETY: buf is a valid writable buffer of its length.
            let n = unsafe { libc::read(self.read.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
            if n <= 0 {
                break;
            }
        }
        self.flags.iter().filter(|(_, f)| f.swap(false, Ordering::SeqCst)).map(|(s, _)| *s).collect()
    }
}
