//! Starting a processor: `/bin/sh -c CMD` in the log directory with
//! fd 0 = `@X.u`, 1 = `@X.t` (truncated), 2 = svlogd's stderr, 4 = `state`
//! (created empty if missing), 5 = `newstate` (truncated).
//!
//! Everything the child needs is prepared before `fork`; between `fork` and
//! `exec` only async-signal-safe calls are made.

use std::ffi::CString;
use std::io;
use std::os::fd::RawFd;

pub struct Child {
    input: CString,
    output: CString,
    argv: [CString; 3],
    /// `svlogd: fatal: ` ... `: DIR: ` prefixes for the child's errors are
    /// built from these parts.
    dir: Vec<u8>,
}

fn c(b: &[u8]) -> io::Result<CString> {
    CString::new(b).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))
}

impl Child {
    pub fn new(dir: &[u8], name: &[u8; 27], cmd: &[u8]) -> io::Result<Child> {
        let mut out = *name;
        out[26] = b't';
        Ok(Child { input: c(name)?, output: c(&out)?, argv: [c(b"sh")?, c(b"-c")?, c(cmd)?], dir: dir.to_vec() })
    }

    /// Forks the processor; returns its pid.
    pub fn spawn(&self, dirfd: RawFd) -> io::Result<libc::pid_t> {
        let argv: [*const libc::c_char; 4] =
            [self.argv[0].as_ptr(), self.argv[1].as_ptr(), self.argv[2].as_ptr(), std::ptr::null()];
        // SAFETY: fork has no memory preconditions; the child only makes
        // async-signal-safe calls before exec or _exit.
        let pid = unsafe { libc::fork() };
        if pid < 0 {
            return Err(io::Error::last_os_error());
        }
        if pid > 0 {
            return Ok(pid);
        }
        // SAFETY: we are the child of a fork; see `child`.
        unsafe { self.child(dirfd, &argv) }
    }

    /// # Safety
    /// Only to be called in a freshly forked child.
    unsafe fn child(&self, dirfd: RawFd, argv: &[*const libc::c_char; 4]) -> ! {
        // SAFETY: all calls below are async-signal-safe and get valid
        // pointers to memory prepared before the fork.
        unsafe {
            // SIGPIPE too: Rust's runtime ignores it, and an ignored signal
            // would stay ignored in the shell (runit's processors get the
            // default).
            for s in [libc::SIGTERM, libc::SIGALRM, libc::SIGHUP, libc::SIGPIPE] {
                libc::signal(s, libc::SIG_DFL);
            }
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            libc::sigprocmask(libc::SIG_SETMASK, &set, std::ptr::null_mut());
            if libc::fchdir(dirfd) != 0 {
                self.die(b"unable to change directory, want processor");
            }
            let rd = libc::O_RDONLY | libc::O_NONBLOCK;
            let tr = libc::O_WRONLY | libc::O_NONBLOCK | libc::O_TRUNC | libc::O_CREAT;
            let fd = libc::open(self.input.as_ptr(), rd);
            if fd < 0 {
                self.die(b"unable to open input for processor");
            }
            self.move_fd(fd, 0);
            let fd = libc::open(self.output.as_ptr(), tr, 0o644 as libc::c_uint);
            if fd < 0 {
                self.die(b"unable to open output for processor");
            }
            self.move_fd(fd, 1);
            let mut fd = libc::open(c"state".as_ptr(), rd);
            if fd < 0 {
                if *libc::__errno_location() != libc::ENOENT {
                    self.die(b"unable to open state for processor");
                }
                let t = libc::open(c"state".as_ptr(), tr, 0o644 as libc::c_uint);
                if t < 0 {
                    self.die(b"unable to create empty state for processor");
                }
                libc::close(t);
                fd = libc::open(c"state".as_ptr(), rd);
                if fd < 0 {
                    self.die(b"unable to open state for processor");
                }
            }
            self.move_fd(fd, 4);
            let fd = libc::open(c"newstate".as_ptr(), tr, 0o644 as libc::c_uint);
            if fd < 0 {
                self.die(b"unable to open newstate for processor");
            }
            self.move_fd(fd, 5);
            extern "C" {
                static environ: *const *const libc::c_char;
            }
            libc::execve(c"/bin/sh".as_ptr(), argv.as_ptr(), environ);
            self.die(b"unable to run processor")
        }
    }

    unsafe fn move_fd(&self, from: RawFd, to: RawFd) {
        if from == to {
            return;
        }
        // SAFETY: plain descriptor calls.
        unsafe {
            if libc::dup2(from, to) < 0 {
                self.die(b"unable to move filedescriptor for processor");
            }
            libc::close(from);
        }
    }

    /// `svlogd: fatal: WHAT: DIR: ERRNO-TEXT`, then exit 111.
    unsafe fn die(&self, what: &[u8]) -> ! {
        // SAFETY: errno is thread-local and readable.
        let e = unsafe { *libc::__errno_location() };
        let mut buf = [0u8; 1024];
        let mut n = 0;
        let text = unix::errtext::text(e).as_bytes();
        for part in [b"svlogd: fatal: ".as_slice(), what, b": ", &self.dir, b": ", text, b"\n"] {
            let k = part.len().min(buf.len() - n);
            buf[n..n + k].copy_from_slice(&part[..k]);
            n += k;
        }
        // SAFETY: writing a stack buffer, then leaving without unwinding.
        unsafe {
            libc::write(2, buf.as_ptr().cast(), n);
            libc::_exit(111)
        }
    }
}
