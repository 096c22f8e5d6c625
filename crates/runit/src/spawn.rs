//! Starting a stage: `fork`, the stage's own preparation, `exec`, through
//! [`unix::spawn::Spawn`] (everything prepared before `fork`).
//!
//! The child announces itself (`- runit: enter stage: PATH`) and, if `exec`
//! fails, reports it and exits 0: runit counts a missing stage as a
//! successful one.

use std::io;

use unix::spawn::{Mask, OnError, Spawn};

/// Signals runit itself takes over; a stage gets them back at their default.
const RESET: [libc::c_int; 3] = [libc::SIGCHLD, libc::SIGCONT, libc::SIGINT];

/// Exit code of a stage whose exec failed: success, as upstream.
const EXEC_FAILED: i32 = 0;

/// A prepared stage (or ctrlaltdel) child.
pub struct Stage {
    path: Vec<u8>,
    /// Stage 1 on a machine: `/dev/console` becomes its controlling terminal
    /// and its standard input.
    pub console: bool,
    /// Stages 2 and 3: a session (and process group) of their own.
    pub setsid: bool,
}

impl Stage {
    /// Prepares `path`. A path with a NUL byte (impossible from the
    /// environment) becomes the empty path, whose exec fails like a missing
    /// stage's.
    pub fn new(path: &[u8]) -> Stage {
        Stage { path: path.to_vec(), console: false, setsid: false }
    }

    fn prepare(&self) -> Spawn {
        let path = &self.path;
        let fail = [crate::FATAL, b"unable to start child: ", path, b": "].concat();
        let mut s = Spawn::new(path, &[path], &fail)
            .unwrap_or_else(|_| Spawn::from_c(Default::default(), vec![Default::default()], &fail));
        s.exit_code(EXEC_FAILED);
        if self.console {
            let warn = [crate::WARNING, b"unable to open /dev/console: "].concat();
            // (A literal path: `open` cannot fail to prepare it.)
            let _ = s
                .open(b"/dev/console", libc::O_RDWR, 0, 0, OnError::Warn(warn), None)
                .map(|s| s.controlling_tty(0, OnError::Ignore));
        } else if self.setsid {
            s.setsid();
        }
        s.default_signals(&RESET).mask(Mask::Empty);
        // Rust's runtime ignored SIGPIPE in runit; stages (and so every
        // service) must not inherit that.
        s.restore_sigpipe();
        s.write(2, &[crate::INFO, b"enter stage: ", path, b"\n"].concat(), OnError::Ignore);
        s
    }

    /// Forks the child; returns its pid.
    pub fn spawn(&self) -> io::Result<libc::pid_t> {
        self.prepare().spawn()
    }
}
