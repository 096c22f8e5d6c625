//! Child processes: reaping, wait statuses, and `fork` + `exec`.
//!
//! runit's supervisors fork and exec by hand because the child must report
//! its own exec failure (`runsv DIR: fatal: unable to start ./run: ...`) and
//! exit 111, which the parent then handles like any other exit (running
//! `./finish 111 0`). Everything the child needs is prepared before `fork`,
//! so the child only calls async-signal-safe functions.

use std::ffi::CString;
use std::io;
use std::os::fd::RawFd;

use nix::errno::Errno;
use nix::sys::signal::Signal;
use nix::unistd::Pid;

use crate::spawn::{Mask, OnError, Spawn};

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

/// Everything a child does between `fork` and `exec`, prepared in advance
/// (runsv's form; it runs as a [`Spawn`], see [`ChildSpec::to_spawn`]).
///
/// Order in the child: `setsid`, `setpgid`, `chdir`, descriptor moves (`dups`, in
/// order), the signal mask cleared (or, with `keep_mask`, only
/// `default_signals` unblocked) and `default_signals` reset to `SIG_DFL`,
/// then `execv` (or `execvp`-style search when `path` has no `/` and
/// `search_path` is set). Each failure writes the matching prefix plus
/// runit's errno text and a newline to fd 2 and exits with `fail_code`.
pub struct ChildSpec {
    /// The program to exec (a path, or a bare name searched in `search_path`).
    pub path: CString,
    /// argv, argv[0] included.
    pub argv: Vec<CString>,
    /// Directories to try for a bare `path` (already split), none for a path.
    pub search_path: Vec<CString>,
    pub cwd: Option<CString>,
    /// `(from, to)` pairs applied with `dup2` (from == to clears close-on-exec).
    pub dups: Vec<(RawFd, RawFd)>,
    pub setsid: bool,
    /// Make the child the leader of a new process group (`setpgid(0, 0)`,
    /// also done by the parent right after `fork` so that the group exists
    /// before `spawn` returns). Off by default.
    pub setpgid: bool,
    /// Signals reset to `SIG_DFL` in the child. List every signal the
    /// parent catches: signals stay blocked from `fork` until these are
    /// reset, so none can run the parent's handler in the child.
    pub default_signals: Vec<libc::c_int>,
    /// Keep the inherited signal mask except for `default_signals`.
    pub keep_mask: bool,
    /// Message prefixes, e.g. `runsv svc: fatal: unable to start ./run: `.
    pub exec_fail: Vec<u8>,
    pub cwd_fail: Vec<u8>,
    pub fd_fail: Vec<u8>,
    pub fail_code: i32,
}

impl ChildSpec {
    /// A spec for `path` with argv `[argv0]` and the given exec-failure prefix.
    pub fn new(path: &[u8], argv: &[&[u8]], exec_fail: &[u8]) -> io::Result<ChildSpec> {
        let c = |b: &[u8]| CString::new(b).map_err(|_| io::Error::from(Errno::EINVAL));
        Ok(ChildSpec {
            path: c(path)?,
            argv: argv.iter().map(|a| c(a)).collect::<io::Result<_>>()?,
            search_path: Vec::new(),
            cwd: None,
            dups: Vec::new(),
            setsid: false,
            setpgid: false,
            default_signals: Vec::new(),
            keep_mask: false,
            exec_fail: exec_fail.to_vec(),
            cwd_fail: exec_fail.to_vec(),
            fd_fail: exec_fail.to_vec(),
            fail_code: 111,
        })
    }

    /// The same child as a [`Spawn`](crate::spawn::Spawn).
    pub fn to_spawn(&self) -> Spawn {
        let mut s = Spawn::from_c(self.path.clone(), self.argv.clone(), &self.exec_fail);
        s.search(self.search_path.clone()).exit_code(self.fail_code);
        if self.setsid {
            s.setsid();
        }
        if self.setpgid {
            s.setpgid();
        }
        if let Some(cwd) = &self.cwd {
            s.chdir_c(cwd.clone(), OnError::Fail(self.cwd_fail.clone()));
        }
        for &(from, to) in &self.dups {
            s.dup2(from, to, OnError::Fail(self.fd_fail.clone()));
        }
        // Handlers back to default while everything is still blocked, then
        // the final mask: the inherited one minus the reset signals
        // (keep_mask), or nothing blocked.
        s.default_signals(&self.default_signals).restore_sigpipe();
        s.mask(if self.keep_mask { Mask::InheritedUnblocking(self.default_signals.clone()) } else { Mask::Empty });
        s
    }

    /// Forks and execs; returns the child's pid. Fails only if `fork` fails.
    pub fn spawn(&self) -> io::Result<libc::pid_t> {
        self.to_spawn().spawn()
    }
}

/// Splits a `PATH` value into directories (`/bin:/usr/bin` when unset).
pub fn path_dirs(path: Option<&[u8]>) -> Vec<CString> {
    path.unwrap_or(b"/bin:/usr/bin").split(|&b| b == b':').filter_map(|d| CString::new(d).ok()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exec_failure_exits_with_the_code() {
        let mut spec = ChildSpec::new(b"/nonexistent/run", &[b"./run"], b"t: fatal: unable to start ./run: ").unwrap();
        spec.fail_code = 111;
        let pid = spec.spawn().unwrap();
        let st = wait_pid(pid).unwrap();
        assert_eq!(st.exit_code(), Some(111));
    }

    #[test]
    fn path_search_finds_true() {
        let mut spec = ChildSpec::new(b"true", &[b"true"], b"x: ").unwrap();
        spec.search_path = path_dirs(Some(b"/nonexistent:/bin:/usr/bin"));
        let st = wait_pid(spec.spawn().unwrap()).unwrap();
        assert_eq!(st.exit_code(), Some(0));
    }

    #[test]
    fn setpgid_makes_the_child_a_group_leader() {
        let mut spec = ChildSpec::new(b"/bin/sh", &[b"sh", b"-c", b"exit 0"], b"x: ").unwrap();
        spec.setpgid = true;
        let pid = spec.spawn().unwrap();
        let pgid = nix::unistd::getpgid(Some(Pid::from_raw(pid))).unwrap().as_raw();
        let mine = nix::unistd::getpgid(None).unwrap().as_raw();
        let st = wait_pid(pid).unwrap();
        assert_eq!(st.exit_code(), Some(0));
        assert_eq!(pgid, pid);
        assert_ne!(mine, pid);
    }

    #[test]
    fn keep_mask_unblocks_only_the_reset_signals() {
        use nix::sys::signal::{pthread_sigmask, SigSet, SigmaskHow};
        use std::io::Read;
        use std::os::fd::AsRawFd;
        let mut set = SigSet::empty();
        set.add(Signal::SIGUSR1);
        set.add(Signal::SIGUSR2);
        let mut old = SigSet::empty();
        pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&set), Some(&mut old)).unwrap();
        let (r, w) = crate::fd::pipe_cloexec().unwrap();
        let mut spec = ChildSpec::new(b"/bin/grep", &[b"grep", b"SigBlk", b"/proc/self/status"], b"x: ").unwrap();
        spec.dups.push((w.as_raw_fd(), 1));
        spec.default_signals = vec![libc::SIGUSR2];
        spec.keep_mask = true;
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
