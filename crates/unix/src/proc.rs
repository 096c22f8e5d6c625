//! Child processes: reaping, wait statuses, and `fork` + `exec`.
//!
//! runit's supervisors fork and exec by hand because the child must report
//! its own exec failure (`runsv DIR: fatal: unable to start ./run: ...`) and
//! exit 111, which the parent then handles like any other exit (running
//! `./finish 111 0`). Everything the child needs is prepared before `fork`,
//! so the child only calls async-signal-safe functions.

use std::ffi::CString;
use std::io;

use nix::errno::Errno;
use nix::sys::signal::Signal;
use nix::unistd::Pid;

/// A raw wait status, as `waitpid` returns it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WaitStatus(pub libc::c_int);

impl WaitStatus {
    /// The exit code if the process exited normally.
    pub fn exit_code(self) -> Option<i32> {
        if libc::WIFEXITED(self.0) {
            Some(libc::WEXITSTATUS(self.0))
        } else {
            None
        }
    }

    /// The signal number if the process was killed by a signal.
    pub fn term_signal(self) -> Option<i32> {
        if libc::WIFSIGNALED(self.0) {
            Some(libc::WTERMSIG(self.0))
        } else {
            None
        }
    }

    /// The low byte of the status: signal number plus 128 if a core was
    /// dumped (what runit passes to `./finish` as its second argument).
    pub fn low_byte(self) -> i32 {
        self.0 & 0xff
    }
}

/// A pid and raw wait status from what nix decoded (nix keeps the core-dump bit, so nothing
/// is lost: `exit << 8`, or `signal | 0x80` with a core).
pub fn decode(ws: nix::sys::wait::WaitStatus) -> Option<(libc::pid_t, WaitStatus)> {
    use nix::sys::wait::WaitStatus as W;
    match ws {
        W::Exited(pid, code) => Some((pid.as_raw(), WaitStatus((code & 0xff) << 8))),
        W::Signaled(pid, sig, core) => Some((pid.as_raw(), WaitStatus(sig as i32 | if core { 0x80 } else { 0 }))),
        _ => None,
    }
}

/// Reaps one terminated child without blocking: `Some((pid, status))`, or
/// `None` when no child has terminated (or there are no children).
/// Stopped children are not reported.
pub fn reap_one() -> Option<(libc::pid_t, WaitStatus)> {
    loop {
        match nix::sys::wait::waitpid(None, Some(nix::sys::wait::WaitPidFlag::WNOHANG)) {
            Err(Errno::EINTR) => continue,
            Err(_) | Ok(nix::sys::wait::WaitStatus::StillAlive) => return None,
            Ok(ws) => match decode(ws) {
                Some(r) => return Some(r),
                // Not a termination (WNOHANG without WUNTRACED reports
                // none); look again.
                None => continue,
            },
        }
    }
}

/// Waits (blocking) for the specific child `pid`.
pub fn wait_pid(pid: libc::pid_t) -> io::Result<WaitStatus> {
    loop {
        match nix::sys::wait::waitpid(Pid::from_raw(pid), None) {
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(e.into()),
            Ok(ws) => {
                if let Some((_, st)) = decode(ws) {
                    return Ok(st);
                }
            }
        }
    }
}

/// Sends `sig` to `pid` (`sig` 0 only checks that it exists).
pub fn kill(pid: libc::pid_t, sig: libc::c_int) -> io::Result<()> {
    let sig = if sig == 0 { None } else { Some(Signal::try_from(sig)?) };
    Ok(nix::sys::signal::kill(Pid::from_raw(pid), sig)?)
}

/// Splits a `PATH` value into directories (`/bin:/usr/bin` when unset).
pub fn path_dirs(path: Option<&[u8]>) -> Vec<CString> {
    path.unwrap_or(b"/bin:/usr/bin").split(|&b| b == b':').filter_map(|d| CString::new(d).ok()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spawn::{Mask, OnError, Spawn};

    #[test]
    fn exec_failure_exits_with_the_code() {
        let spec = Spawn::new(b"/nonexistent/run", &[b"./run"], b"t: fatal: unable to start ./run: ").unwrap();
        let pid = spec.spawn().unwrap();
        let st = wait_pid(pid).unwrap();
        assert_eq!(st.exit_code(), Some(111));
    }

    #[test]
    fn path_search_finds_true() {
        let mut spec = Spawn::new(b"true", &[b"true"], b"x: ").unwrap();
        spec.search(path_dirs(Some(b"/nonexistent:/bin:/usr/bin")));
        let st = wait_pid(spec.spawn().unwrap()).unwrap();
        assert_eq!(st.exit_code(), Some(0));
    }

    #[test]
    fn setpgid_makes_the_child_a_group_leader() {
        let mut spec = Spawn::new(b"/bin/sh", &[b"sh", b"-c", b"exit 0"], b"x: ").unwrap();
        spec.setpgid();
        let pid = spec.spawn().unwrap();
        let pgid = nix::unistd::getpgid(Some(Pid::from_raw(pid))).unwrap().as_raw();
        let mine = nix::unistd::getpgid(None).unwrap().as_raw();
        let st = wait_pid(pid).unwrap();
        assert_eq!(st.exit_code(), Some(0));
        assert_eq!(pgid, pid);
        assert_ne!(mine, pid);
    }

    #[test]
    fn an_inherited_mask_keeps_all_but_the_reset_signals() {
        use nix::sys::signal::{pthread_sigmask, SigSet, SigmaskHow};
        use std::io::Read;
        use std::os::fd::AsRawFd;
        let mut set = SigSet::empty();
        set.add(Signal::SIGUSR1);
        set.add(Signal::SIGUSR2);
        let mut old = SigSet::empty();
        pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&set), Some(&mut old)).unwrap();
        let (r, w) = crate::fd::pipe_cloexec().unwrap();
        let mut spec = Spawn::new(b"/bin/grep", &[b"grep", b"SigBlk", b"/proc/self/status"], b"x: ").unwrap();
        spec.dup2(w.as_raw_fd(), 1, OnError::fail(b"x: "))
            .default_signals(&[libc::SIGUSR2])
            .mask(Mask::InheritedUnblocking(vec![libc::SIGUSR2]));
        let pid = spec.spawn();
        pthread_sigmask(SigmaskHow::SIG_SETMASK, Some(&old), None).unwrap();
        drop(w);
        let st = wait_pid(pid.unwrap()).unwrap();
        let mut out = String::new();
        std::fs::File::from(r).read_to_string(&mut out).unwrap();
        assert_eq!(st.exit_code(), Some(0));
        let blk = u64::from_str_radix(out.trim().trim_start_matches("SigBlk:").trim(), 16).unwrap();
        assert_ne!(blk & (1 << (libc::SIGUSR1 - 1)), 0, "{out}");
        assert_eq!(blk & (1 << (libc::SIGUSR2 - 1)), 0, "{out}");
    }

    #[test]
    fn wait_status_decoding() {
        assert_eq!(WaitStatus(3 << 8).exit_code(), Some(3));
        assert_eq!(WaitStatus(15).term_signal(), Some(15));
        assert_eq!(WaitStatus(15).low_byte(), 15);
        assert_eq!(WaitStatus(9 | 0x80).low_byte(), 137);
    }
}
