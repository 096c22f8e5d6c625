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

/// Reaps one terminated child without blocking: `Some((pid, status))`, or
/// `None` when no child has terminated (or there are no children).
/// Stopped children are not reported.
pub fn reap_one() -> Option<(libc::pid_t, WaitStatus)> {
    let mut status: libc::c_int = 0;
    loop {
        // SAFETY: status is a valid out-pointer.
        let pid = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) };
        if pid > 0 {
            return Some((pid, WaitStatus(status)));
        }
        if pid < 0 && io::Error::last_os_error().kind() == io::ErrorKind::Interrupted {
            continue;
        }
        return None;
    }
}

/// Waits (blocking) for the specific child `pid`.
pub fn wait_pid(pid: libc::pid_t) -> io::Result<WaitStatus> {
    let mut status: libc::c_int = 0;
    loop {
        // SAFETY: status is a valid out-pointer.
        let r = unsafe { libc::waitpid(pid, &mut status, 0) };
        if r == pid {
            return Ok(WaitStatus(status));
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

/// Sends `sig` to `pid`.
pub fn kill(pid: libc::pid_t, sig: libc::c_int) -> io::Result<()> {
    // SAFETY: kill has no memory-safety preconditions.
    if unsafe { libc::kill(pid, sig) } == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Everything a child does between `fork` and `exec`, prepared in advance.
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
    /// `(fd, bytes)` written first in the child, each with one `write`
    /// (e.g. `0` into a cgroup's `cgroup.procs`, opened before the fork,
    /// to join the cgroup before anything else runs); a failure writes
    /// `write_fail` plus the errno text and exits with `fail_code`.
    pub writes: Vec<(RawFd, Vec<u8>)>,
    pub write_fail: Vec<u8>,
}

impl ChildSpec {
    /// A spec for `path` with argv `[argv0]` and the given exec-failure prefix.
    pub fn new(path: &[u8], argv: &[&[u8]], exec_fail: &[u8]) -> io::Result<ChildSpec> {
        let c = |b: &[u8]| CString::new(b).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL));
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
            writes: Vec::new(),
            write_fail: exec_fail.to_vec(),
        })
    }

    /// Forks and execs; returns the child's pid. Fails only if `fork` fails.
    pub fn spawn(&self) -> io::Result<libc::pid_t> {
        let mut argv: Vec<*const libc::c_char> = self.argv.iter().map(|a| a.as_ptr()).collect();
        argv.push(std::ptr::null());
        // Candidate full paths for a PATH search, built before fork.
        let candidates: Vec<CString> = self
            .search_path
            .iter()
            .filter_map(|dir| {
                let mut v = dir.as_bytes().to_vec();
                if v.is_empty() {
                    v.push(b'.');
                }
                v.push(b'/');
                v.extend_from_slice(self.path.as_bytes());
                CString::new(v).ok()
            })
            .collect();
        // Block every signal across fork: a signal arriving in the child
        // before it resets its handlers would otherwise run the parent's
        // handler there (and be lost, e.g. a TERM meant for the service).
        // SAFETY: sigset_t is plain data; sigfillset/sigprocmask only
        // read and write the sets passed.
        let old_mask = unsafe {
            let mut all: libc::sigset_t = std::mem::zeroed();
            let mut old: libc::sigset_t = std::mem::zeroed();
            libc::sigfillset(&mut all);
            libc::sigprocmask(libc::SIG_SETMASK, &all, &mut old);
            old
        };
        // SAFETY: fork has no preconditions; the child below only calls
        // async-signal-safe functions on memory prepared before the fork.
        let pid = unsafe { libc::fork() };
        if pid == 0 {
            // SAFETY: in the child, single-threaded after fork; all pointers
            // refer to data owned by self or the locals above.
            unsafe { self.child(&argv, &candidates, old_mask) }
        }
        let fork_error = io::Error::last_os_error();
        if pid > 0 && self.setpgid {
            // Both sides call it, so whichever runs first creates the group;
            // the parent's call fails harmlessly once the child has exec'd.
            // SAFETY: setpgid has no memory-safety preconditions.
            unsafe { libc::setpgid(pid, pid) };
        }
        // SAFETY: restores the mask saved above.
        unsafe { libc::sigprocmask(libc::SIG_SETMASK, &old_mask, std::ptr::null_mut()) };
        if pid < 0 {
            return Err(fork_error);
        }
        Ok(pid)
    }

    unsafe fn child(&self, argv: &[*const libc::c_char], candidates: &[CString], mut mask: libc::sigset_t) -> ! {
        // SAFETY: only async-signal-safe calls, on memory prepared before fork.
        unsafe {
            for (fd, bytes) in &self.writes {
                let n = libc::write(*fd, bytes.as_ptr().cast(), bytes.len());
                if n < 0 || n as usize != bytes.len() {
                    let e = if n < 0 { errno_now() } else { libc::EIO };
                    fail(&self.write_fail, e, self.fail_code);
                }
            }
            if self.setsid {
                libc::setsid();
            }
            if self.setpgid {
                libc::setpgid(0, 0);
            }
            if let Some(cwd) = &self.cwd {
                if libc::chdir(cwd.as_ptr()) != 0 {
                    fail(&self.cwd_fail, errno_now(), self.fail_code);
                }
            }
            for &(from, to) in &self.dups {
                if from == to {
                    let fl = libc::fcntl(from, libc::F_GETFD);
                    if fl < 0 || libc::fcntl(from, libc::F_SETFD, fl & !libc::FD_CLOEXEC) < 0 {
                        fail(&self.fd_fail, errno_now(), self.fail_code);
                    }
                } else if libc::dup2(from, to) < 0 {
                    fail(&self.fd_fail, errno_now(), self.fail_code);
                }
            }
            // Handlers back to default while everything is still blocked,
            // then the final mask: the inherited one minus the reset
            // signals (keep_mask), or nothing blocked.
            for &s in &self.default_signals {
                libc::signal(s, libc::SIG_DFL);
                libc::sigdelset(&mut mask, s);
            }
            crate::startup::restore_sigpipe();
            if !self.keep_mask {
                libc::sigemptyset(&mut mask);
            }
            libc::sigprocmask(libc::SIG_SETMASK, &mask, std::ptr::null_mut());
            if candidates.is_empty() {
                libc::execv(self.path.as_ptr(), argv.as_ptr());
                fail(&self.exec_fail, errno_now(), self.fail_code);
            }
            let mut last = libc::ENOENT;
            for c in candidates {
                libc::execv(c.as_ptr(), argv.as_ptr());
                let e = errno_now();
                // Like execvp: keep looking past directories that do not
                // have it (or cannot be searched); stop at real failures.
                if e != libc::ENOENT && e != libc::EACCES && e != libc::ENOTDIR {
                    fail(&self.exec_fail, e, self.fail_code);
                }
                if e == libc::EACCES || last == libc::ENOENT {
                    last = e;
                }
            }
            fail(&self.exec_fail, last, self.fail_code)
        }
    }
}

fn errno_now() -> i32 {
    // SAFETY: __errno_location always returns a valid thread-local pointer.
    unsafe { *libc::__errno_location() }
}

/// Writes `prefix` + errno text + `\n` to fd 2 with one write, then `_exit`.
/// Async-signal-safe: a fixed stack buffer and a static table.
fn fail(prefix: &[u8], errno: i32, code: i32) -> ! {
    let mut buf = [0u8; 512];
    let text = crate::errtext::text(errno).as_bytes();
    let mut n = 0;
    for part in [prefix, text, b"\n"] {
        let take = part.len().min(buf.len() - n);
        buf[n..n + take].copy_from_slice(&part[..take]);
        n += take;
    }
    // SAFETY: buf[..n] is initialised; _exit never returns.
    unsafe {
        libc::write(2, buf.as_ptr().cast(), n);
        libc::_exit(code)
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
        // SAFETY: getpgid has no memory-safety preconditions.
        let pgid = unsafe { libc::getpgid(pid) };
        // SAFETY: as above.
        let mine = unsafe { libc::getpgid(0) };
        let st = wait_pid(pid).unwrap();
        assert_eq!(st.exit_code(), Some(0));
        assert_eq!(pgid, pid);
        assert_ne!(mine, pid);
    }

    #[test]
    fn writes_happen_in_the_child_before_exec() {
        let (r, w) = crate::fd::pipe_cloexec().unwrap();
        use std::os::fd::AsRawFd;
        let mut spec = ChildSpec::new(b"/bin/sh", &[b"sh", b"-c", b"exit 0"], b"x: ").unwrap();
        spec.writes.push((w.as_raw_fd(), b"0\n".to_vec()));
        let st = wait_pid(spec.spawn().unwrap()).unwrap();
        assert_eq!(st.exit_code(), Some(0));
        drop(w);
        let mut got = String::new();
        use std::io::Read;
        std::fs::File::from(r).read_to_string(&mut got).unwrap();
        assert_eq!(got, "0\n");
        let mut bad = ChildSpec::new(b"/bin/sh", &[b"sh", b"-c", b"exit 0"], b"x: ").unwrap();
        bad.writes.push((-1, b"0".to_vec()));
        bad.write_fail = b"x: unable to join cgroup: ".to_vec();
        assert_eq!(wait_pid(bad.spawn().unwrap()).unwrap().exit_code(), Some(111));
    }

    #[test]
    fn wait_status_decoding() {
        assert_eq!(WaitStatus(3 << 8).exit_code(), Some(3));
        assert_eq!(WaitStatus(15).term_signal(), Some(15));
        assert_eq!(WaitStatus(15).low_byte(), 15);
        assert_eq!(WaitStatus(9 | 0x80).low_byte(), 137);
    }
}
