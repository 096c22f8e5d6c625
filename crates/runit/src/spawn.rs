//! Starting a stage: `fork`, the stage's own preparation, `exec`.
//!
//! Everything the child needs (paths, argv, its messages) is built before
//! `fork`, so the child calls only async-signal-safe functions. The child
//! announces itself (`- runit: enter stage: PATH`) and, if `exec` fails,
//! reports it and exits 0: runit counts a missing stage as a successful one.

use std::ffi::CString;
use std::io;

/// Signals runit itself takes over; a stage gets them back at their default.
const RESET: [libc::c_int; 3] = [libc::SIGCHLD, libc::SIGCONT, libc::SIGINT];

/// A prepared stage (or ctrlaltdel) child.
pub struct Stage {
    path: CString,
    enter: Vec<u8>,
    fail: Vec<u8>,
    console_warn: Vec<u8>,
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
        let cpath = CString::new(path).unwrap_or_default();
        let line = |parts: &[&[u8]]| parts.concat();
        Stage {
            path: cpath,
            enter: line(&[crate::INFO, b"enter stage: ", path, b"\n"]),
            fail: line(&[crate::FATAL, b"unable to start child: ", path, b": "]),
            console_warn: line(&[crate::WARNING, b"unable to open /dev/console: "]),
            console: false,
            setsid: false,
        }
    }

    /// Forks the child; returns its pid.
    pub fn spawn(&self) -> io::Result<libc::pid_t> {
        let argv: [*const libc::c_char; 2] = [self.path.as_ptr(), std::ptr::null()];
        // SAFETY: fork has no preconditions; the child only calls
        // async-signal-safe functions on memory prepared before the fork.
        let pid = unsafe { libc::fork() };
        if pid < 0 {
            return Err(io::Error::last_os_error());
        }
        if pid > 0 {
            return Ok(pid);
        }
        // SAFETY: in the child; argv points into self, which outlives the call.
        unsafe { self.child(&argv) }
    }

    unsafe fn child(&self, argv: &[*const libc::c_char; 2]) -> ! {
        // SAFETY: only async-signal-safe calls on prepared memory.
        unsafe {
            if self.console {
                let fd = libc::open(c"/dev/console".as_ptr(), libc::O_RDWR);
                if fd >= 0 {
                    libc::ioctl(fd, libc::TIOCSCTTY, 0);
                    libc::dup2(fd, 0);
                    if fd > 2 {
                        libc::close(fd);
                    }
                } else {
                    write_err_line(&self.console_warn, errno());
                }
            } else if self.setsid {
                libc::setsid();
            }
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            libc::sigprocmask(libc::SIG_SETMASK, &set, std::ptr::null_mut());
            for s in RESET {
                libc::signal(s, libc::SIG_DFL);
            }
            // Rust's runtime ignored SIGPIPE in runit; stages (and so every
            // service) must not inherit that.
            unix::startup::restore_sigpipe();
            unix::msg::write_all_fd(2, &self.enter);
            extern "C" {
                static environ: *const *const libc::c_char;
            }
            libc::execve(self.path.as_ptr(), argv.as_ptr(), environ);
            write_err_line(&self.fail, errno());
            libc::_exit(0)
        }
    }
}

fn errno() -> i32 {
    // SAFETY: __errno_location always returns a valid thread-local pointer.
    unsafe { *libc::__errno_location() }
}

/// Writes `prefix` + runit's errno text + `\n` with one write, from a stack
/// buffer (async-signal-safe).
pub fn write_err_line(prefix: &[u8], errno: i32) {
    let mut buf = [0u8; 1024];
    let mut n = 0;
    for part in [prefix, unix::errtext::text(errno).as_bytes(), b"\n"] {
        let take = part.len().min(buf.len() - n);
        buf[n..n + take].copy_from_slice(&part[..take]);
        n += take;
    }
    unix::msg::write_all_fd(2, &buf[..n]);
}
