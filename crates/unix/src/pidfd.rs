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
        use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
        use std::os::fd::AsFd;
        let mut fds = [PollFd::new(self.fd.as_fd(), PollFlags::POLLIN)];
        poll(&mut fds, PollTimeout::ZERO).is_ok_and(|n| n > 0)
    }
}

impl AsRawFd for PidFd {
    /// For a poll set: readable (`POLLIN`) when the process ends.
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

/// A process known by pid AND start time, signalled only while it is
/// still that process: through a pidfd where the kernel has them, else by
/// `kill(2)` right after re-checking the start time (a narrow window in
/// which the pid could be reused; callers warn once about the degraded
/// mode).
#[derive(Debug)]
pub enum Process {
    Fd(PidFd),
    Pid { pid: libc::pid_t, start_time: u64 },
}

impl Process {
    /// Confirms that `pid` is the process that started at `start_time`
    /// (clock ticks since boot) and is alive: `None` otherwise, so a pid
    /// reused by an unrelated process is never returned.
    ///
    /// The pidfd is opened FIRST, then the start time is checked, then the
    /// pidfd is probed: if the process ended and the pid was reused in
    /// between, the probe of the old pidfd fails, so a confirmed pidfd
    /// always refers to the process whose start time matched.
    pub fn confirm(pid: libc::pid_t, start_time: u64) -> Option<Process> {
        match PidFd::open(pid) {
            Ok(fd) => {
                (crate::procstat::is_live(pid, start_time) && fd.send_signal(0).is_ok()).then_some(Process::Fd(fd))
            }
            Err(PidFdError::NotAvailable) => {
                crate::procstat::is_live(pid, start_time).then_some(Process::Pid { pid, start_time })
            }
            Err(_) => None,
        }
    }

    pub fn pid(&self) -> libc::pid_t {
        match self {
            Process::Fd(fd) => fd.pid(),
            Process::Pid { pid, .. } => *pid,
        }
    }

    /// Whether this is the degraded, pidfd-less handle.
    pub fn degraded(&self) -> bool {
        matches!(self, Process::Pid { .. })
    }

    /// Sends `sig` while it is still the same process; `ESRCH` otherwise.
    pub fn signal(&self, sig: libc::c_int) -> io::Result<()> {
        match self {
            Process::Fd(fd) => fd.send_signal(sig),
            Process::Pid { pid, start_time } => {
                if !crate::procstat::is_live(*pid, *start_time) {
                    return Err(io::Error::from_raw_os_error(libc::ESRCH));
                }
                crate::proc::kill(*pid, sig)
            }
        }
    }

    /// Whether the process has ended.
    pub fn exited(&self) -> bool {
        match self {
            Process::Fd(fd) => fd.exited(),
            Process::Pid { pid, start_time } => !crate::procstat::is_live(*pid, *start_time),
        }
    }

    /// A descriptor that polls readable when the process ends; `None` in
    /// the degraded mode (the caller re-checks [`Process::exited`] on a
    /// short deadline instead).
    pub fn poll_fd(&self) -> Option<RawFd> {
        match self {
            Process::Fd(fd) => Some(fd.as_raw_fd()),
            Process::Pid { .. } => None,
        }
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
    fn only_the_process_with_the_recorded_start_time_is_confirmed() {
        let mut child = Command::new("sleep").arg("30").spawn().unwrap();
        let pid = child.id() as libc::pid_t;
        let t = crate::procstat::start_time(pid).unwrap();
        assert!(Process::confirm(pid, t + 1).is_none(), "same pid, other start time: a reused pid");
        let p = Process::confirm(pid, t).expect("the live child is confirmed");
        assert_eq!(p.pid(), pid);
        assert!(!p.exited());
        p.signal(libc::SIGKILL).unwrap();
        child.wait().unwrap();
        assert!(p.exited());
        assert!(p.signal(libc::SIGTERM).is_err());
        assert!(Process::confirm(pid, t).is_none());
        // The degraded handle re-checks before each signal.
        let old = Process::Pid { pid, start_time: t };
        assert!(old.exited());
        assert_eq!(old.signal(libc::SIGTERM).unwrap_err().raw_os_error(), Some(libc::ESRCH));
    }

    #[test]
    fn no_process_no_pidfd() {
        assert!(matches!(PidFd::open(0), Err(PidFdError::NoProcess)));
        assert!(matches!(PidFd::open(-1), Err(PidFdError::NoProcess)));
    }
}
