//! Process descriptors (`pidfd_open`, `pidfd_send_signal`; Linux 5.3+).
//!
//! A pidfd refers to one process, not to a number: signals sent through it
//! can never reach a later process that got the same pid, and the
//! descriptor becomes readable when the process ends, even when it is not
//! our child (an orphan of an earlier supervisor, reparented to init). On
//! older kernels [`PidFd::open`] fails with [`PidFdError::NotAvailable`]
//! and callers fall back to `kill(2)` after their own checks.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// Why a pidfd could not be opened.
#[derive(Debug)]
pub enum PidFdError {
    /// The kernel has no `pidfd_open` (before 5.3) or forbids it (seccomp).
    NotAvailable,
    /// No process with that pid (`ESRCH`).
    NoProcess,
    Io(io::Error),
}

impl std::fmt::Display for PidFdError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PidFdError::NotAvailable => f.write_str("pidfd_open is not available (Linux 5.3 or later)"),
            PidFdError::NoProcess => f.write_str("no such process"),
            PidFdError::Io(e) => e.fmt(f),
        }
    }
}

/// An open process descriptor.
#[derive(Debug)]
pub struct PidFd {
    fd: OwnedFd,
    pid: libc::pid_t,
}

impl PidFd {
    /// Opens a descriptor for `pid` (close-on-exec).
    pub fn open(pid: libc::pid_t) -> Result<PidFd, PidFdError> {
        if pid <= 0 {
            return Err(PidFdError::NoProcess);
        }
        // SAFETY: pidfd_open takes a pid and flags by value and returns a
        // new descriptor or -1; no memory is passed. pidfds are always
        // close-on-exec.
        let r = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0 as libc::c_uint) };
        if r < 0 {
            let e = io::Error::last_os_error();
            return Err(match e.raw_os_error() {
                Some(libc::ENOSYS) | Some(libc::EPERM) => PidFdError::NotAvailable,
                Some(libc::ESRCH) => PidFdError::NoProcess,
                _ => PidFdError::Io(e),
            });
        }
        // SAFETY: the syscall returned a fresh descriptor owned by nobody else.
        let fd = unsafe { OwnedFd::from_raw_fd(r as RawFd) };
        Ok(PidFd { fd, pid })
    }

    /// The pid this descriptor was opened for.
    pub fn pid(&self) -> libc::pid_t {
        self.pid
    }

    /// Sends `sig` to the process (0: only checks that it still exists).
    /// `ESRCH` once it has ended, whoever has its pid now.
    pub fn send_signal(&self, sig: libc::c_int) -> io::Result<()> {
        // SAFETY: the descriptor is open for the lifetime of self; a null
        // siginfo pointer is allowed and means "as kill(2) would".
        let r = unsafe {
            libc::syscall(
                libc::SYS_pidfd_send_signal,
                self.fd.as_raw_fd(),
                sig,
                std::ptr::null::<libc::siginfo_t>(),
                0 as libc::c_uint,
            )
        };
        if r < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(())
        }
    }

    /// Whether the process has ended (its descriptor polls readable; a
    /// zombie counts as ended).
    pub fn exited(&self) -> bool {
        let mut p = libc::pollfd { fd: self.fd.as_raw_fd(), events: libc::POLLIN, revents: 0 };
        // SAFETY: p is one valid pollfd; a zero timeout never blocks.
        let r = unsafe { libc::poll(&mut p, 1, 0) };
        r > 0 && p.revents != 0
    }
}

impl AsRawFd for PidFd {
    /// For a poll set: readable (`POLLIN`) when the process ends.
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    #[test]
    fn a_pidfd_signals_its_process_and_polls_readable_when_it_ends() {
        let mut child = Command::new("sleep").arg("30").spawn().unwrap();
        let pid = child.id() as libc::pid_t;
        let fd = match PidFd::open(pid) {
            Ok(fd) => fd,
            Err(PidFdError::NotAvailable) => {
                eprintln!("skipped: pidfd_open is not available on this kernel");
                let _ = child.kill();
                let _ = child.wait();
                return;
            }
            Err(e) => panic!("pidfd_open: {e}"),
        };
        assert_eq!(fd.pid(), pid);
        fd.send_signal(0).unwrap();
        assert!(!fd.exited());
        fd.send_signal(libc::SIGTERM).unwrap();
        let mut p = libc::pollfd { fd: fd.as_raw_fd(), events: libc::POLLIN, revents: 0 };
        // SAFETY: one valid pollfd, bounded timeout.
        let r = unsafe { libc::poll(&mut p, 1, 20_000) };
        assert_eq!(r, 1, "pidfd readable once the child died");
        assert!(fd.exited(), "a zombie counts as ended");
        child.wait().unwrap();
        let e = fd.send_signal(0).unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::ESRCH));
    }

    #[test]
    fn no_process_no_pidfd() {
        assert!(matches!(PidFd::open(0), Err(PidFdError::NoProcess)));
        assert!(matches!(PidFd::open(-1), Err(PidFdError::NoProcess)));
    }
}
