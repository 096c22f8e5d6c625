//! Starting a processor: `/bin/sh -c CMD` in the log directory with
//! fd 0 = `@X.u`, 1 = `@X.t` (truncated), 2 = svlogd's stderr, 4 = `state`
//! (created empty if missing), 5 = `newstate` (truncated).
//!
//! The child is a [`unix::spawn::Spawn`]: everything is prepared before
//! `fork`; each failing step reports `svlogd: fatal: WHAT: DIR: ERR` and
//! exits 111.

use std::io;
use std::os::fd::RawFd;

use unix::spawn::{Mask, OnError, Spawn};

/// The processor's exit code when it could not be started.
const START_FAILED: i32 = 111;

pub struct Child {
    name: [u8; 27],
    cmd: Vec<u8>,
    dir: Vec<u8>,
}

impl Child {
    pub fn new(dir: &[u8], name: &[u8; 27], cmd: &[u8]) -> io::Result<Child> {
        if name.contains(&0) || cmd.contains(&0) {
            return Err(io::Error::from(nix::errno::Errno::EINVAL));
        }
        Ok(Child { name: *name, cmd: cmd.to_vec(), dir: dir.to_vec() })
    }

    /// `svlogd: fatal: WHAT: DIR: `, the prefix of a failed step's line.
    fn fail(&self, what: &[u8]) -> OnError {
        OnError::Fail([b"svlogd: fatal: ".as_slice(), what, b": ", &self.dir, b": "].concat())
    }

    fn prepare(&self, dirfd: RawFd) -> io::Result<Spawn> {
        let mut output = self.name;
        output[26] = b't';
        let rd = libc::O_RDONLY | libc::O_NONBLOCK;
        let tr = libc::O_WRONLY | libc::O_NONBLOCK | libc::O_TRUNC | libc::O_CREAT;
        let mut s = Spawn::new(b"/bin/sh", &[b"sh", b"-c", &self.cmd], b"")?;
        s.exit_code(START_FAILED);
        // SIGPIPE too: Rust's runtime ignores it, and an ignored signal
        // would stay ignored in the shell (runit's processors get the
        // default).
        s.default_signals(&[libc::SIGTERM, libc::SIGALRM, libc::SIGHUP, libc::SIGPIPE]).mask(Mask::Empty);
        s.fchdir(dirfd, self.fail(b"unable to change directory, want processor"));
        s.open(&self.name, rd, 0, 0, self.fail(b"unable to open input for processor"), None)?;
        s.open(&output, tr, 0o644, 1, self.fail(b"unable to open output for processor"), None)?;
        let create = Some(self.fail(b"unable to create empty state for processor"));
        s.open(b"state", rd, 0, 4, self.fail(b"unable to open state for processor"), create)?;
        s.open(b"newstate", tr, 0o644, 5, self.fail(b"unable to open newstate for processor"), None)?;
        s.exec_error(self.fail(b"unable to run processor"));
        Ok(s)
    }

    /// Forks the processor; returns its pid.
    pub fn spawn(&self, dirfd: RawFd) -> io::Result<libc::pid_t> {
        self.prepare(dirfd)?.spawn()
    }
}
