//! Starting a processor: `/bin/sh -c CMD` in the log directory with
//! fd 0 = `@X.u`, 1 = `@X.t` (truncated), 2 = svlogd's stderr, 4 = `state`
//! (created empty if missing), 5 = `newstate` (truncated).
//!
//! Until its exec the child shares svlogd's descriptors, among them the
//! directories' `lock` files: an `flock` belongs to the open file, so a
//! reopen after HUP would find the lock taken by our own child. The child
//! therefore closes its directory's lock first, and svlogd can wait for
//! the exec itself (which drops the other directories' locks): the child
//! holds the write end of a close-on-exec pipe, whose read end sees
//! end-of-file once the child has exec'd or exited.
//!
//! The child is a [`unix::spawn::Spawn`]: everything is prepared before
//! `fork`; each failing step reports `svlogd: fatal: WHAT: DIR: ERR` and
//! exits 111.

use std::io;
use std::os::fd::{OwnedFd, RawFd};

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

    fn prepare(&self, dirfd: RawFd, lockfd: RawFd) -> io::Result<Spawn> {
        let mut output = self.name;
        output[26] = b't';
        let rd = libc::O_RDONLY | libc::O_NONBLOCK;
        let tr = libc::O_WRONLY | libc::O_NONBLOCK | libc::O_TRUNC | libc::O_CREAT;
        let mut s = Spawn::new(b"/bin/sh", &[b"sh", b"-c", &self.cmd], b"")?;
        s.exit_code(START_FAILED);
        // First: the shorter the child holds the lock, the better.
        s.close(lockfd);
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

    /// Forks the processor; returns its pid and the read end of its exec
    /// pipe (none when no pipe could be made: the child still closes the
    /// lock at once, only svlogd cannot tell when it did).
    pub fn spawn(&self, dirfd: RawFd, lockfd: RawFd) -> io::Result<(libc::pid_t, Option<OwnedFd>)> {
        let spawn = self.prepare(dirfd, lockfd)?;
        // Our write end is dropped on return: only the child's copy keeps
        // the pipe open.
        let (exec_done, _held_until_exec) = match unix::fd::pipe_cloexec() {
            Ok((r, w)) => (Some(r), Some(w)),
            Err(_) => (None, None),
        };
        Ok((spawn.spawn()?, exec_done))
    }
}
