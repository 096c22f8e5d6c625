//! Starting a child: one builder for every `fork` + `exec` of runit-rs.
//!
//! A [`Spawn`] lists what the child does between `fork` and `exec` as
//! ordered steps (descriptor moves, working directory, session, signal
//! mask, ...). Everything the child touches is allocated by [`Spawn::spawn`]
//! before `fork`: argv and envp pointer arrays, the candidate paths of a
//! `PATH` search, the buffer for a pid-valued variable. Between `fork` and
//! `exec` the child only makes async-signal-safe calls on that memory and
//! a fixed stack buffer; it must not allocate (another thread of the parent
//! may have held the allocator's lock at `fork`).
//!
//! A failing step is reported in one way only: the step's prefix, runit's
//! errno text and a newline, written to fd 2 in one write, then
//! `_exit(exit code)` (111 unless the program says otherwise). A step can
//! instead only warn (write the same line, carry on) or ignore failures.
//!
//! Raw `libc` is used in the child on purpose: the steps work on
//! descriptor numbers no Rust object owns (0, 1, 2, the targets of moves),
//! which nix's ownership-typed descriptor API cannot express without
//! fabricating owners that would close them, and nix's `execve` builds its
//! pointer arrays on the heap. The few nix calls used there (`setsid`,
//! `setpgid`, `getpid`, the errno) neither allocate nor take ownership.

use std::ffi::{CStr, CString};
use std::io;
use std::os::fd::RawFd;

use nix::errno::Errno;
use nix::sys::signal::{SigSet, SigmaskHow, Signal};
use nix::unistd::Pid;

/// What a failing step does in the child.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OnError {
    /// Carry on silently.
    Ignore,
    /// Write `PREFIX` + errno text + `\n` to fd 2, carry on.
    Warn(Vec<u8>),
    /// Write `PREFIX` + errno text + `\n` to fd 2, `_exit` with the
    /// spawn's exit code.
    Fail(Vec<u8>),
}

impl OnError {
    pub fn fail(prefix: &[u8]) -> OnError {
        OnError::Fail(prefix.to_vec())
    }
    pub fn warn(prefix: &[u8]) -> OnError {
        OnError::Warn(prefix.to_vec())
    }
}

/// The signal mask the child execs with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mask {
    /// Nothing blocked.
    Empty,
    /// The parent's mask at `spawn` (the default when no mask step is given).
    Inherited,
    /// The parent's mask minus these signals.
    InheritedUnblocking(Vec<libc::c_int>),
}

#[derive(Clone, Debug)]
enum Step {
    Dup2 { from: RawFd, to: RawFd, on_err: OnError },
    Close(RawFd),
    Chdir { dir: CString, on_err: OnError },
    Fchdir { fd: RawFd, on_err: OnError },
    Setsid,
    Setpgid,
    ControllingTty { fd: RawFd, on_err: OnError },
    Open { path: CString, flags: libc::c_int, mode: libc::mode_t, to: RawFd, on_err: OnError, create: Option<OnError> },
    DefaultSignals(Vec<libc::c_int>),
    Mask(Mask),
    RestoreSigpipe,
    Write { fd: RawFd, bytes: Vec<u8>, on_err: OnError },
    PassFds { fds: Vec<RawFd>, on_err: OnError },
}

/// A prepared child: program, argv, environment changes and steps.
#[derive(Clone, Debug)]
pub struct Spawn {
    path: CString,
    argv: Vec<CString>,
    search_path: Vec<CString>,
    env_set: Vec<(Vec<u8>, Vec<u8>)>,
    env_unset: Vec<Vec<u8>>,
    env_pid: Option<Vec<u8>>,
    steps: Vec<Step>,
    exec_err: OnError,
    exit_code: i32,
    parent_setpgid: bool,
}

/// Exit code of a child whose step or exec failed, unless changed.
pub const CHILD_FAILED: i32 = 111;

fn cstring(b: &[u8]) -> io::Result<CString> {
    CString::new(b).map_err(|_| io::Error::from(Errno::EINVAL))
}

impl Spawn {
    /// A child running `path` (a path, or a bare name with
    /// [`search`](Spawn::search)) with `argv` (argv[0] included). A failed
    /// exec is reported with `exec_fail` as prefix and exit code 111.
    pub fn new(path: &[u8], argv: &[&[u8]], exec_fail: &[u8]) -> io::Result<Spawn> {
        let argv = argv.iter().map(|a| cstring(a)).collect::<io::Result<_>>()?;
        Ok(Spawn::from_c(cstring(path)?, argv, exec_fail))
    }

    /// [`Spawn::new`] from strings already checked for NUL bytes.
    pub fn from_c(path: CString, argv: Vec<CString>, exec_fail: &[u8]) -> Spawn {
        Spawn {
            path,
            argv,
            search_path: Vec::new(),
            env_set: Vec::new(),
            env_unset: Vec::new(),
            env_pid: None,
            steps: Vec::new(),
            exec_err: OnError::fail(exec_fail),
            exit_code: CHILD_FAILED,
            parent_setpgid: false,
        }
    }

    /// Exit code after a failed step or exec (runit's stages and sv's
    /// check scripts exit 0: a missing script counts as success).
    pub fn exit_code(&mut self, code: i32) -> &mut Self {
        self.exit_code = code;
        self
    }

    /// How a failed exec is reported (replaces the prefix given to `new`).
    pub fn exec_error(&mut self, on_err: OnError) -> &mut Self {
        self.exec_err = on_err;
        self
    }

    /// Directories to try, like `execvp`, when the path has no `/`.
    pub fn search(&mut self, dirs: Vec<CString>) -> &mut Self {
        self.search_path = dirs;
        self
    }

    /// `dup2(from, to)`; `from == to` clears close-on-exec instead.
    pub fn dup2(&mut self, from: RawFd, to: RawFd, on_err: OnError) -> &mut Self {
        self.steps.push(Step::Dup2 { from, to, on_err });
        self
    }

    /// `close(fd)` (errors ignored: the descriptor is gone either way).
    pub fn close(&mut self, fd: RawFd) -> &mut Self {
        self.steps.push(Step::Close(fd));
        self
    }

    pub fn chdir(&mut self, dir: &[u8], on_err: OnError) -> io::Result<&mut Self> {
        Ok(self.chdir_c(cstring(dir)?, on_err))
    }

    /// [`Spawn::chdir`] with a string already checked for NUL bytes.
    pub fn chdir_c(&mut self, dir: CString, on_err: OnError) -> &mut Self {
        self.steps.push(Step::Chdir { dir, on_err });
        self
    }

    pub fn fchdir(&mut self, fd: RawFd, on_err: OnError) -> &mut Self {
        self.steps.push(Step::Fchdir { fd, on_err });
        self
    }

    /// A new session (errors ignored: a group leader stays in its session).
    pub fn setsid(&mut self) -> &mut Self {
        self.steps.push(Step::Setsid);
        self
    }

    /// A new process group led by the child, created by both sides so that
    /// it exists when `spawn` returns.
    pub fn setpgid(&mut self) -> &mut Self {
        self.parent_setpgid = true;
        self.steps.push(Step::Setpgid);
        self
    }

    /// Makes the terminal open on `fd` the controlling terminal
    /// (`TIOCSCTTY`; needs a session leader without one).
    pub fn controlling_tty(&mut self, fd: RawFd, on_err: OnError) -> &mut Self {
        self.steps.push(Step::ControllingTty { fd, on_err });
        self
    }

    /// Opens `path` (relative to the working directory at that step) and
    /// moves it to `to`. With `create`, a missing file is first created
    /// empty (mode 0644, umask applies) and opened again; `create` says how
    /// a failed creation is reported.
    pub fn open(
        &mut self,
        path: &[u8],
        flags: libc::c_int,
        mode: libc::mode_t,
        to: RawFd,
        on_err: OnError,
        create: Option<OnError>,
    ) -> io::Result<&mut Self> {
        self.steps.push(Step::Open { path: cstring(path)?, flags, mode, to, on_err, create });
        Ok(self)
    }

    /// Resets these signals to `SIG_DFL`. List every signal the parent
    /// catches: all signals stay blocked from `fork` on, so none can run
    /// the parent's handler in the child before this step.
    pub fn default_signals(&mut self, sigs: &[libc::c_int]) -> &mut Self {
        self.steps.push(Step::DefaultSignals(sigs.to_vec()));
        self
    }

    /// Sets the signal mask (without this step the child gets the parent's).
    pub fn mask(&mut self, mask: Mask) -> &mut Self {
        self.steps.push(Step::Mask(mask));
        self
    }

    /// Puts SIGPIPE back as it was before Rust's runtime ignored it.
    pub fn restore_sigpipe(&mut self) -> &mut Self {
        self.steps.push(Step::RestoreSigpipe);
        self
    }

    /// Writes `bytes` to the already open `fd` in one write (e.g. `0` to a
    /// cgroup's `cgroup.procs`: the child joins it before exec).
    pub fn write(&mut self, fd: RawFd, bytes: &[u8], on_err: OnError) -> &mut Self {
        self.steps.push(Step::Write { fd, bytes: bytes.to_vec(), on_err });
        self
    }

    /// Makes `fds` the child's descriptors 3, 4, 5, ... in order, without
    /// close-on-exec (socket passing, `LISTEN_FDS`).
    pub fn pass_fds(&mut self, fds: &[RawFd], on_err: OnError) -> &mut Self {
        self.steps.push(Step::PassFds { fds: fds.to_vec(), on_err });
        self
    }

    /// Sets `key=value` in the child's environment (on top of the
    /// inherited one, as of `spawn`).
    pub fn env_set(&mut self, key: &[u8], value: &[u8]) -> &mut Self {
        self.env_set.retain(|(k, _)| k != key);
        self.env_unset.retain(|k| k != key);
        self.env_set.push((key.to_vec(), value.to_vec()));
        self
    }

    /// Removes `key` from the child's environment.
    pub fn env_unset(&mut self, key: &[u8]) -> &mut Self {
        self.env_set.retain(|(k, _)| k != key);
        self.env_unset.push(key.to_vec());
        self
    }

    /// Sets `key` to the child's own pid (systemd's `LISTEN_PID`), written
    /// by the child into a buffer allocated before `fork`.
    pub fn env_pid(&mut self, key: &[u8]) -> &mut Self {
        self.env_unset(key);
        self.env_pid = Some(key.to_vec());
        self
    }

    fn env_changed(&self) -> bool {
        !self.env_set.is_empty() || !self.env_unset.is_empty() || self.env_pid.is_some()
    }

    /// The child's environment entries (`KEY=VALUE`), without the pid one.
    fn env_entries(&self) -> Vec<CString> {
        use std::os::unix::ffi::OsStrExt;
        let skip = |k: &[u8]| {
            self.env_unset.iter().any(|u| u == k)
                || self.env_set.iter().any(|(s, _)| s == k)
                || self.env_pid.as_deref() == Some(k)
        };
        let mut out = Vec::new();
        for (k, v) in std::env::vars_os() {
            if skip(k.as_bytes()) {
                continue;
            }
            if let Ok(c) = CString::new([k.as_bytes(), b"=", v.as_bytes()].concat()) {
                out.push(c);
            }
        }
        for (k, v) in &self.env_set {
            if let Ok(c) = CString::new([k.as_slice(), b"=", v.as_slice()].concat()) {
                out.push(c);
            }
        }
        out
    }

    /// Forks and starts the child; returns its pid. Fails only if `fork`
    /// fails.
    pub fn spawn(&self) -> io::Result<libc::pid_t> {
        // Everything the child reads or writes, allocated now.
        let mut argv: Vec<*const libc::c_char> = self.argv.iter().map(|a| a.as_ptr()).collect();
        argv.push(std::ptr::null());
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
        let env = self.env_changed().then(|| self.env_entries());
        // KEY= followed by room for any pid and the NUL.
        let mut pid_var: Vec<u8> = match &self.env_pid {
            Some(k) => [k.as_slice(), b"=", &[0u8; 24]].concat(),
            None => Vec::new(),
        };
        // One pointer for both the child's write and execve's read.
        let pid_ptr: *mut u8 = pid_var.as_mut_ptr();
        let mut envp: Vec<*const libc::c_char> = Vec::new();
        if let Some(env) = &env {
            envp = env.iter().map(|e| e.as_ptr()).collect();
            if !pid_var.is_empty() {
                envp.push(pid_ptr.cast_const().cast());
            }
            envp.push(std::ptr::null());
        }
        let mut ctx = Child {
            spawn: self,
            argv: &argv,
            envp: if env.is_some() { Some(&envp) } else { None },
            candidates: &candidates,
            pid_var: (pid_ptr, pid_var.len()),
            parent_mask: SigSet::empty(),
        };
        // Block every signal across fork: a signal arriving in the child
        // before it resets its handlers would otherwise run the parent's
        // handler there (and be lost, e.g. a TERM meant for the service).
        let mut old = SigSet::empty();
        nix::sys::signal::sigprocmask(SigmaskHow::SIG_SETMASK, Some(&SigSet::all()), Some(&mut old))?;
        ctx.parent_mask = old;
        // SAFETY: the child only runs `Child::run`, which makes
        // async-signal-safe calls on memory prepared above.
        let forked = unsafe { nix::unistd::fork() };
        let result = match forked {
            Ok(nix::unistd::ForkResult::Child) => ctx.run(),
            Ok(nix::unistd::ForkResult::Parent { child }) => {
                if self.parent_setpgid {
                    // Whichever side runs first creates the group; the
                    // parent's call fails harmlessly once the child exec'd.
                    let _ = nix::unistd::setpgid(child, child);
                }
                Ok(child.as_raw())
            }
            Err(e) => Err(io::Error::from(e)),
        };
        let _ = nix::sys::signal::sigprocmask(SigmaskHow::SIG_SETMASK, Some(&old), None);
        result
    }
}

/// The child's view: the spawn and the memory prepared for it.
struct Child<'a> {
    spawn: &'a Spawn,
    argv: &'a [*const libc::c_char],
    envp: Option<&'a [*const libc::c_char]>,
    candidates: &'a [CString],
    /// The `KEY=` + room buffer of a pid variable: pointer and length.
    pid_var: (*mut u8, usize),
    parent_mask: SigSet,
}

/// `prefix` + runit's errno text + `\n` in one write to fd 2, from a stack
/// buffer (async-signal-safe). The one place children report failures.
fn write_error_line(prefix: &[u8], errno: i32) {
    let mut buf = [0u8; 2048];
    let mut n = 0;
    for part in [prefix, crate::errtext::text(errno).as_bytes(), b"\n"] {
        let take = part.len().min(buf.len() - n);
        buf[n..n + take].copy_from_slice(&part[..take]);
        n += take;
    }
    crate::msg::write_all_fd(2, &buf[..n]);
}

/// Writes the decimal `n` into `buf` followed by a NUL (no allocation).
fn write_decimal(buf: &mut [u8], n: i32) {
    let mut digits = [0u8; 12];
    let mut i = digits.len();
    let mut v = n.unsigned_abs();
    loop {
        i -= 1;
        digits[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    let len = (digits.len() - i).min(buf.len().saturating_sub(1));
    buf[..len].copy_from_slice(&digits[i..i + len]);
    buf[len] = 0;
}

impl Child<'_> {
    fn check(&self, ok: bool, on_err: &OnError) -> bool {
        if ok {
            return true;
        }
        let e = Errno::last_raw();
        match on_err {
            OnError::Ignore => {}
            OnError::Warn(p) => write_error_line(p, e),
            OnError::Fail(p) => self.fail(p, e),
        }
        false
    }

    fn fail(&self, prefix: &[u8], errno: i32) -> ! {
        write_error_line(prefix, errno);
        // SAFETY: leaves the child without running the parent's destructors.
        unsafe { libc::_exit(self.spawn.exit_code) }
    }

    fn set_mask(&self, mask: &Mask) {
        let mut set = self.parent_mask;
        match mask {
            Mask::Empty => set = SigSet::empty(),
            Mask::Inherited => {}
            Mask::InheritedUnblocking(sigs) => {
                for &s in sigs {
                    if let Ok(s) = Signal::try_from(s) {
                        set.remove(s);
                    }
                }
            }
        }
        let _ = nix::sys::signal::sigprocmask(SigmaskHow::SIG_SETMASK, Some(&set), None);
    }

    /// Runs the steps and execs; never returns.
    fn run(&mut self) -> ! {
        let mut mask_set = false;
        // SAFETY: between fork and exec, in the whole block: only
        // async-signal-safe system calls, on descriptors by number and on
        // memory prepared before fork.
        unsafe {
            for step in &self.spawn.steps {
                match step {
                    Step::Dup2 { from, to, on_err } => {
                        if from == to {
                            let fl = libc::fcntl(*from, libc::F_GETFD);
                            self.check(
                                fl >= 0 && libc::fcntl(*from, libc::F_SETFD, fl & !libc::FD_CLOEXEC) >= 0,
                                on_err,
                            );
                        } else {
                            self.check(libc::dup2(*from, *to) >= 0, on_err);
                        }
                    }
                    Step::Close(fd) => {
                        libc::close(*fd);
                    }
                    Step::Chdir { dir, on_err } => {
                        self.check(nix::unistd::chdir(dir.as_c_str()).is_ok(), on_err);
                    }
                    Step::Fchdir { fd, on_err } => {
                        self.check(libc::fchdir(*fd) == 0, on_err);
                    }
                    Step::Setsid => {
                        let _ = nix::unistd::setsid();
                    }
                    Step::Setpgid => {
                        let _ = nix::unistd::setpgid(Pid::from_raw(0), Pid::from_raw(0));
                    }
                    Step::ControllingTty { fd, on_err } => {
                        // nix has no TIOCSCTTY wrapper.
                        self.check(libc::ioctl(*fd, libc::TIOCSCTTY, 0) == 0, on_err);
                    }
                    Step::Open { path, flags, mode, to, on_err, create } => {
                        self.open(path, *flags, *mode, *to, on_err, create.as_ref());
                    }
                    Step::DefaultSignals(sigs) => {
                        for &s in sigs {
                            libc::signal(s, libc::SIG_DFL);
                        }
                    }
                    Step::Mask(m) => {
                        self.set_mask(m);
                        mask_set = true;
                    }
                    Step::RestoreSigpipe => crate::startup::restore_sigpipe(),
                    Step::Write { fd, bytes, on_err } => {
                        let n = libc::write(*fd, bytes.as_ptr().cast(), bytes.len());
                        if n >= 0 && n as usize != bytes.len() {
                            Errno::EIO.set();
                        }
                        self.check(n >= 0 && n as usize == bytes.len(), on_err);
                    }
                    Step::PassFds { fds, on_err } => self.pass_fds(fds, on_err),
                }
            }
            if !mask_set {
                self.set_mask(&Mask::Inherited);
            }
            if let Some(k) = &self.spawn.env_pid {
                let (p, len) = self.pid_var;
                let room = std::slice::from_raw_parts_mut(p.add(k.len() + 1), len - k.len() - 1);
                write_decimal(room, nix::unistd::getpid().as_raw());
            }
            let envp = match self.envp {
                Some(e) => e.as_ptr(),
                None => environ,
            };
            let exec = |p: &CStr| libc::execve(p.as_ptr(), self.argv.as_ptr(), envp);
            if self.candidates.is_empty() {
                exec(&self.spawn.path);
                self.check(false, &self.spawn.exec_err);
                libc::_exit(self.spawn.exit_code)
            }
            let mut last = libc::ENOENT;
            for c in self.candidates {
                exec(c);
                let e = Errno::last_raw();
                // Like execvp: keep looking past directories that do not
                // have it (or cannot be searched); stop at real failures.
                if e != libc::ENOENT && e != libc::EACCES && e != libc::ENOTDIR {
                    last = e;
                    break;
                }
                if e == libc::EACCES || last == libc::ENOENT {
                    last = e;
                }
            }
            Errno::from_raw(last).set();
            self.check(false, &self.spawn.exec_err);
            libc::_exit(self.spawn.exit_code)
        }
    }

    /// # Safety
    /// In the child only (see `run`).
    unsafe fn open(
        &self,
        path: &CStr,
        flags: libc::c_int,
        mode: libc::mode_t,
        to: RawFd,
        on_err: &OnError,
        create: Option<&OnError>,
    ) {
        // SAFETY: see `run`.
        unsafe {
            let mut fd = libc::open(path.as_ptr(), flags, libc::c_uint::from(mode));
            if fd < 0 && Errno::last_raw() == libc::ENOENT {
                if let Some(create_err) = create {
                    let wr = libc::O_WRONLY | libc::O_NONBLOCK | libc::O_TRUNC | libc::O_CREAT;
                    let t = libc::open(path.as_ptr(), wr, 0o644 as libc::c_uint);
                    if !self.check(t >= 0, create_err) {
                        return;
                    }
                    libc::close(t);
                    fd = libc::open(path.as_ptr(), flags, libc::c_uint::from(mode));
                }
            }
            if !self.check(fd >= 0, on_err) || fd == to {
                return;
            }
            self.check(libc::dup2(fd, to) >= 0, on_err);
            libc::close(fd);
        }
    }

    /// # Safety
    /// In the child only (see `run`).
    unsafe fn pass_fds(&self, fds: &[RawFd], on_err: &OnError) {
        let first: RawFd = 3;
        // Copies live on this (already existing) stack; nothing allocates.
        let mut copies: [RawFd; MAX_PASS_FDS] = [-1; MAX_PASS_FDS];
        if fds.len() > MAX_PASS_FDS {
            Errno::EMFILE.set();
            self.check(false, on_err);
            return;
        }
        // SAFETY: see `run`.
        unsafe {
            // Two passes, so that a source inside the target range is not
            // overwritten before it is moved: copy every source to a free
            // descriptor above the targets (F_DUPFD takes the lowest free
            // one, so nothing else open is clobbered), then move the copies
            // down.
            let above = first + fds.len() as RawFd;
            for (i, &fd) in fds.iter().enumerate() {
                let c = libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, above);
                if !self.check(c >= 0, on_err) {
                    return;
                }
                copies[i] = c;
            }
            for (i, &c) in copies[..fds.len()].iter().enumerate() {
                // dup2 to a different number leaves close-on-exec off.
                if !self.check(libc::dup2(c, first + i as RawFd) >= 0, on_err) {
                    return;
                }
                libc::close(c);
            }
        }
    }
}

/// The most descriptors one [`Spawn::pass_fds`] step moves.
pub const MAX_PASS_FDS: usize = 1024;

extern "C" {
    static environ: *const *const libc::c_char;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proc::wait_pid;
    use std::io::Read;
    use std::os::fd::AsRawFd;

    /// Runs `sh -c SCRIPT` with `prep` applied, capturing stdout and
    /// stderr; returns (exit code, stdout, stderr).
    fn run_sh(script: &str, prep: impl FnOnce(&mut Spawn)) -> (Option<i32>, String, String) {
        run(b"/bin/sh", &[b"sh", b"-c", script.as_bytes()], prep)
    }

    fn run(path: &[u8], argv: &[&[u8]], prep: impl FnOnce(&mut Spawn)) -> (Option<i32>, String, String) {
        let (out_r, out_w) = crate::fd::pipe_cloexec().unwrap();
        let (err_r, err_w) = crate::fd::pipe_cloexec().unwrap();
        let mut s = Spawn::new(path, argv, b"t: unable to start: ").unwrap();
        s.dup2(out_w.as_raw_fd(), 1, OnError::fail(b"t: dup: ")).dup2(err_w.as_raw_fd(), 2, OnError::fail(b"t: dup: "));
        prep(&mut s);
        let pid = s.spawn().unwrap();
        drop((out_w, err_w));
        let st = wait_pid(pid).unwrap();
        let (mut o, mut e) = (String::new(), String::new());
        std::fs::File::from(out_r).read_to_string(&mut o).unwrap();
        std::fs::File::from(err_r).read_to_string(&mut e).unwrap();
        (st.exit_code(), o, e)
    }

    #[test]
    fn env_overrides_and_the_childs_own_pid() {
        // cargo sets both for the test binary.
        let keep = std::env::var("CARGO_MANIFEST_DIR").unwrap();
        assert!(std::env::var_os("CARGO_PKG_NAME").is_some());
        let script = "echo \"$CARGO_MANIFEST_DIR ${CARGO_PKG_NAME-unset} $NEWVAR $LISTEN_PID $$\"";
        let (code, out, _) = run_sh(script, |s| {
            s.env_set(b"NEWVAR", b"new").env_unset(b"CARGO_PKG_NAME").env_pid(b"LISTEN_PID");
        });
        assert_eq!(code, Some(0));
        let w: Vec<&str> = out.split_whitespace().collect();
        assert_eq!(&w[..3], [keep.as_str(), "unset", "new"]);
        assert_eq!(w[3], w[4], "LISTEN_PID is the child's pid");
    }

    #[test]
    fn passed_fds_become_3_4_5_without_cloexec() {
        let dir = tempfile::tempdir().unwrap();
        let files: Vec<std::fs::File> = ["a", "b", "c"]
            .iter()
            .map(|n| {
                std::fs::write(dir.path().join(n), n).unwrap();
                std::fs::File::open(dir.path().join(n)).unwrap()
            })
            .collect();
        let fds: Vec<RawFd> = files.iter().rev().map(|f| f.as_raw_fd()).collect();
        let (code, out, err) = run_sh("cat <&3; cat <&4; cat <&5", |s| {
            s.pass_fds(&fds, OnError::fail(b"t: pass: "));
        });
        assert_eq!((code, out.as_str(), err.as_str()), (Some(0), "cba", ""));
    }

    #[test]
    fn passing_fds_clobbers_no_other_open_descriptor() {
        use std::os::fd::{FromRawFd, OwnedFd};
        let dir = tempfile::tempdir().unwrap();
        let open = |n: &str| {
            std::fs::write(dir.path().join(n), n).unwrap();
            std::fs::File::open(dir.path().join(n)).unwrap()
        };
        // Sources at 200 and 201, and another descriptor right above them
        // at 202, where a copy made "above every source" would land.
        let at = |f: std::fs::File, n: RawFd| {
            // SAFETY: n is far above anything this test process opens, so
            // no other owner is closed; the new descriptor gets one owner.
            unsafe {
                let fd = nix::unistd::dup2_raw(&f, n).unwrap();
                OwnedFd::from_raw_fd(std::os::fd::IntoRawFd::into_raw_fd(fd))
            }
        };
        let (a, b, d) = (at(open("a"), 200), at(open("b"), 201), at(open("d"), 202));
        let (code, out, err) = run_sh("cat <&3; cat <&4; cat <&9", |s| {
            s.pass_fds(&[a.as_raw_fd(), b.as_raw_fd()], OnError::fail(b"t: pass: "));
            s.dup2(d.as_raw_fd(), 9, OnError::fail(b"t: dup2: "));
        });
        assert_eq!((code, out.as_str(), err.as_str()), (Some(0), "abd", ""));
    }

    #[test]
    fn write_step_writes_before_exec_and_reports_failure() {
        let dir = tempfile::tempdir().unwrap();
        let f =
            std::fs::OpenOptions::new().create(true).truncate(true).write(true).open(dir.path().join("procs")).unwrap();
        let (code, _, _) = run_sh("exit 0", |s| {
            s.write(f.as_raw_fd(), b"0", OnError::fail(b"t: cgroup: "));
        });
        assert_eq!(code, Some(0));
        assert_eq!(std::fs::read(dir.path().join("procs")).unwrap(), b"0");
        let r = std::fs::File::open(dir.path().join("procs")).unwrap();
        let (code, out, err) = run_sh("echo ran", |s| {
            s.write(r.as_raw_fd(), b"0", OnError::fail(b"t: unable to join cgroup: "));
        });
        assert_eq!(
            (code, out.as_str(), err.as_str()),
            (Some(111), "", "t: unable to join cgroup: file descriptor not open\n")
        );
    }

    #[test]
    fn steps_fail_with_one_line_and_the_exit_code() {
        let (code, out, err) = run_sh("echo ran", |s| {
            s.chdir(b"/nonexistent/dir", OnError::fail(b"t: unable to chdir: ")).unwrap();
            s.exit_code(7);
        });
        assert_eq!((code, out.as_str(), err.as_str()), (Some(7), "", "t: unable to chdir: file does not exist\n"));
        let (code, out, err) = run_sh("echo ran", |s| {
            s.chdir(b"/nonexistent/dir", OnError::warn(b"t: warning: ")).unwrap();
        });
        assert_eq!((code, out.as_str(), err.as_str()), (Some(0), "ran\n", "t: warning: file does not exist\n"));
    }

    #[test]
    fn open_with_create_makes_a_missing_file() {
        let dir = tempfile::tempdir().unwrap();
        let d = crate::path_bytes(dir.path()).to_vec();
        let (code, out, _) = run_sh("cat <&4; echo done", |s| {
            s.chdir(&d, OnError::fail(b"t: cd: ")).unwrap();
            s.open(b"state", libc::O_RDONLY, 0, 4, OnError::fail(b"t: open: "), Some(OnError::fail(b"t: create: ")))
                .unwrap();
        });
        assert_eq!((code, out.as_str()), (Some(0), "done\n"));
        assert!(dir.path().join("state").exists());
    }

    #[test]
    fn the_child_gets_the_parents_mask_unless_told_otherwise() {
        use nix::sys::signal::pthread_sigmask;
        let mut usr1 = SigSet::empty();
        usr1.add(Signal::SIGUSR1);
        let mut old = SigSet::empty();
        pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&usr1), Some(&mut old)).unwrap();
        let blocked = |prep: fn(&mut Spawn)| {
            // grep itself: a shell may clear its mask at start.
            let (code, out, _) = run(b"/bin/grep", &[b"grep", b"SigBlk", b"/proc/self/status"], prep);
            assert_eq!(code, Some(0));
            u64::from_str_radix(out.trim().trim_start_matches("SigBlk:").trim(), 16).unwrap()
        };
        let inherited = blocked(|_| {});
        let empty = blocked(|s| {
            s.mask(Mask::Empty);
        });
        pthread_sigmask(SigmaskHow::SIG_SETMASK, Some(&old), None).unwrap();
        assert_eq!(inherited, 1 << (libc::SIGUSR1 - 1));
        assert_eq!(empty, 0);
    }

    #[test]
    fn path_search_and_exec_failure() {
        let mut s = Spawn::new(b"true", &[b"true"], b"x: ").unwrap();
        s.search(crate::proc::path_dirs(Some(b"/nonexistent:/bin:/usr/bin")));
        assert_eq!(wait_pid(s.spawn().unwrap()).unwrap().exit_code(), Some(0));
        let (code, _, err) = run(b"/nonexistent/run", &[b"./run"], |s| {
            s.exit_code(0);
        });
        assert_eq!((code, err.as_str()), (Some(0), "t: unable to start: file does not exist\n"));
    }

    #[test]
    fn setsid_and_a_controlling_tty_that_is_not_a_terminal() {
        // /proc/PID/stat: pid (comm) state ppid pgrp session ...
        let (code, out, _) = run_sh("set -- $(cat /proc/$$/stat); echo $1 $5 $6", |s| {
            s.setsid();
        });
        assert_eq!(code, Some(0));
        let w: Vec<&str> = out.split_whitespace().collect();
        assert_eq!((w[0], w[0]), (w[1], w[2]), "group and session led by the child: {out}");
        let null = std::fs::File::open("/dev/null").unwrap();
        let (code, out, err) = run_sh("echo ran", |s| {
            s.setsid().controlling_tty(null.as_raw_fd(), OnError::fail(b"t: unable to set tty: "));
        });
        assert_eq!((code, out.as_str()), (Some(111), ""));
        assert!(err.starts_with("t: unable to set tty: "), "{err}");
    }

    #[test]
    fn decimal_pid_text() {
        let mut b = [0xffu8; 8];
        write_decimal(&mut b, 4711);
        assert_eq!(&b[..5], b"4711\0");
    }
}
