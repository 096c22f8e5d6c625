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
        let mut flags = Vec::new();
        for &sig in signals {
            let flag = Arc::new(AtomicBool::new(false));
            signal_hook::flag::register(sig, Arc::clone(&flag))?;
            // try_clone duplicates with F_DUPFD_CLOEXEC, so the copy stays close-on-exec.
            signal_hook::low_level::pipe::register_raw(sig, write.try_clone()?)?;
            flags.push((sig, flag));
        }
        Ok(SelfPipe { read, _write: write, flags })
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
