//! `runit`: a UNIX init scheme with service supervision, as PID 1.
//!
//! runit runs three stages (see runit(8)): `/etc/runit/1` (one-time boot
//! tasks), `/etc/runit/2` (normally `runsvdir`, should not return) and
//! `/etc/runit/3` (shutdown tasks), then kills every process and halts,
//! powers off or reboots. While stage 2 runs, SIGCONT with an
//! owner-executable `stopit` file, or SIGINT (Ctrl-Alt-Del) with an
//! owner-executable `ctrlaltdel` script, stops stage 2 and moves on to stage 3.
//! Zombies are reaped at every moment, also after stage 3.
//!
//! **Container mode** (on when runit is PID 1 of a PID namespace other than
//! the initial one, or with `RUNIT_RS_CONTAINER=1`; see [`config`]): SIGTERM
//! and SIGPWR also request an orderly shutdown, all of it bounded by a grace
//! period (`RUNIT_RS_GRACE`, default 8 s); a missing stage 3 is replaced by a
//! built-in one that sends `x` to every runsv in the services directory; the
//! inherited stdout/stderr are kept instead of `/dev/console`; and at the end
//! runit exits (0 for halt, [`config::REBOOT_EXIT`] for reboot, or the number
//! in `RUNIT_RS_EXIT_FILE`) instead of calling `reboot()` and pausing.
//!
//! Signals are kept blocked and read from a signalfd, so a signal is never
//! lost between a check and a sleep, and children start with a clean mask.

pub mod config;
mod spawn;

use std::io;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sys::signal::{SigSet, SigmaskHow, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::stat::Mode;
use nix::sys::wait::WaitPidFlag;
use nix::unistd::Pid;

use config::{Container, Paths};
use unix::msg::ProgramError;
use unix::path_bytes;
use unix::proc::WaitStatus;

pub(crate) const INFO: &[u8] = b"- runit: ";
pub(crate) const WARNING: &[u8] = b"- runit: warning: ";
pub(crate) const FATAL: &[u8] = b"- runit: fatal: ";

fn info(parts: &[&[u8]]) {
    let mut v = vec![INFO];
    v.extend_from_slice(parts);
    unix::msg::line(&v);
}

fn warn(parts: &[&[u8]]) {
    let mut v = vec![WARNING];
    v.extend_from_slice(parts);
    unix::msg::line(&v);
}

fn warn_err(parts: &[&[u8]], e: &io::Error, fatal: bool) {
    let mut v = vec![if fatal { FATAL } else { WARNING }];
    v.extend_from_slice(parts);
    v.push(unix::errtext::io_text(e).as_bytes());
    unix::msg::line(&v);
}

/// How long runit sleeps at most without a signal (as upstream).
const WAKE: Duration = Duration::from_secs(14);
/// Pause after a failed fork, a failed selfpipe, a crashed stage 2.
const PAUSE: Duration = Duration::from_secs(5);

/// Exit codes of `runit` (see runit(8)).
pub mod exit {
    /// Not started as process 1.
    pub const FATAL: i32 = 111;
    /// Container mode, halt.
    pub const HALT: i32 = 0;
    /// Container mode, reboot.
    pub const REBOOT: i32 = super::config::REBOOT_EXIT;
}

/// Why `runit` exits.
#[derive(Debug, PartialEq, Eq)]
pub enum RunitError {
    /// Not process 1: nothing was done.
    NotPid1,
}

impl ProgramError for RunitError {
    fn exit_code(&self) -> i32 {
        match self {
            RunitError::NotPid1 => exit::FATAL,
        }
    }
    fn message(&self) -> Vec<u8> {
        match self {
            RunitError::NotPid1 => [FATAL, b"must be run as process no 1.\n"].concat(),
        }
    }
}

/// `runit --help`.
pub const HELP: &str = "\
usage: runit

runit is process 1 (the init of a machine or container): it runs
/etc/runit/1 (boot), then /etc/runit/2 (normally runsvdir, supervision),
then /etc/runit/3 (shutdown), and finally halts, powers off or reboots.
runit takes no options; it refuses to run unless it is process 1.

  --help      print this help and exit
  --version   print the version and exit

Example (as the kernel's init, or in a container):
  exec /sbin/runit
";

/// Entry point of the `runit` program: prints and exits, nothing else does.
pub fn main() -> ! {
    let args = unix::getopt::args_bytes();
    if let Some(text) = unix::msg::help_or_version(&args, "runit", HELP) {
        unix::msg::print_and_exit(&text);
    }
    match run() {
        Ok(code) => std::process::exit(code),
        Err(e) => unix::msg::exit_with(&e),
    }
}

/// Runs runit; returns the exit code in container mode (a machine's init
/// never returns).
pub fn run() -> Result<i32, RunitError> {
    if nix::unistd::getpid().as_raw() != 1 {
        return Err(RunitError::NotPid1);
    }
    let initial_ns = config::initial_pid_namespace();
    let (container, reason) = config::container_mode(
        config::env_bytes(config::CONTAINER_VAR).as_deref(),
        initial_ns,
        config::container_markers,
    );
    let paths = Paths::from_env();
    let container = container.then(Container::from_env);

    // Fails only if runit already leads a process group (the kernel's
    // init does): then it is a session leader anyway.
    let _ = nix::unistd::setsid();
    let sigfd = loop {
        match SigFd::new(container.is_some()) {
            Ok(s) => break s,
            Err(e) => {
                warn_err(&[b"unable to create selfpipe, pausing: "], &e, true);
                std::thread::sleep(PAUSE);
            }
        }
    };
    if container.is_none() {
        console_on_stdio();
        // Ctrl-Alt-Del then sends SIGINT to PID 1 instead of rebooting.
        // A failure (no CAP_SYS_BOOT) is harmless and ignored, as upstream.
        let _ = nix::sys::reboot::set_cad_enabled(false);
    }
    let id = concat!("$Id: runit-rs ", env!("CARGO_PKG_VERSION"), " $");
    info(&[id.as_bytes(), b": booting."]);
    if let Some(c) = &container {
        let grace = format!("{}.{:03}s", c.grace.as_secs(), c.grace.subsec_millis());
        let why: &[u8] = match reason {
            config::ContainerReason::Forced => b"RUNIT_RS_CONTAINER=1",
            config::ContainerReason::Namespace => b"pid namespace",
            config::ContainerReason::Markers => b"container markers",
        };
        info(&[b"container mode (", why, b"), grace period ", grace.as_bytes(), b"."]);
    }
    let mut init = Init {
        paths,
        container,
        initial_ns,
        sigfd,
        children: Vec::new(),
        exited: Vec::new(),
        childless: false,
        sigc: 0,
        sigi: 0,
        shutdown: None,
    };
    Ok(init.run())
}

/// `/dev/console`, opened write-only and non-blocking, if it opens.
fn open_console() -> Option<std::os::fd::OwnedFd> {
    nix::fcntl::open(c"/dev/console", OFlag::O_WRONLY | OFlag::O_NONBLOCK, Mode::empty()).ok()
}

/// Makes `/dev/console` fds 0, 1 and 2; keeps the inherited ones when it
/// cannot be opened.
fn console_on_stdio() {
    if let Some(fd) = open_console() {
        let _ = nix::unistd::dup2_stdin(&fd);
        let _ = nix::unistd::dup2_stdout(&fd);
        let _ = nix::unistd::dup2_stderr(&fd);
        // A console opened on 0, 1 or 2 (they were closed) must stay open.
        if fd.as_raw_fd() <= 2 {
            std::mem::forget(fd);
        }
    }
}

/// Points fd 2 at `/dev/console` again, if it opens (runit does this after
/// every wake-up, so a console that appears later is used).
fn reget_stderr() {
    if let Some(fd) = open_console() {
        let _ = nix::unistd::dup2_stderr(&fd);
        if fd.as_raw_fd() <= 2 {
            std::mem::forget(fd);
        }
    }
}

/// Signals runit keeps blocked, in machine mode; container mode adds SIGPWR.
const BLOCKED: [Signal; 7] = [
    Signal::SIGALRM,
    Signal::SIGCHLD,
    Signal::SIGCONT,
    Signal::SIGHUP,
    Signal::SIGINT,
    Signal::SIGPIPE,
    Signal::SIGTERM,
];

/// The blocked signals runit acts on, read from a signalfd. SIGTERM is read
/// only in container mode; otherwise it stays pending forever, as upstream.
struct SigFd {
    fd: SignalFd,
}

fn sigset(sigs: &[Signal]) -> SigSet {
    let mut set = SigSet::empty();
    for &s in sigs {
        set.add(s);
    }
    set
}

impl SigFd {
    fn new(container: bool) -> io::Result<SigFd> {
        let mut blocked = BLOCKED.to_vec();
        let mut read = vec![Signal::SIGCHLD, Signal::SIGCONT, Signal::SIGINT];
        if container {
            blocked.push(Signal::SIGPWR);
            read.extend([Signal::SIGTERM, Signal::SIGPWR]);
        }
        nix::sys::signal::sigprocmask(SigmaskHow::SIG_BLOCK, Some(&sigset(&blocked)), None)?;
        let fd = SignalFd::with_flags(&sigset(&read), SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK)?;
        Ok(SigFd { fd })
    }

    /// The signals that arrived since the last call.
    fn drain(&self) -> Vec<libc::c_int> {
        let mut out = Vec::new();
        while let Ok(Some(si)) = self.fd.read_signal() {
            out.push(si.ssi_signo as libc::c_int);
        }
        out
    }
}

/// What happens after a stage ended.
enum Next {
    /// The following stage.
    Stage,
    /// From stage 1 straight to stage 3.
    SkipStage2,
    /// Stage 2 again.
    RestartStage2,
}

/// A shutdown request in container mode: when it came, and the deadline
/// by which every process must be gone.
#[derive(Clone, Copy)]
struct Shutdown {
    at: Instant,
    deadline: Instant,
}

struct Init {
    paths: Paths,
    container: Option<Container>,
    initial_ns: Option<bool>,
    sigfd: SigFd,
    /// Children runit started and has not reaped yet.
    children: Vec<libc::pid_t>,
    /// Reaped children of ours, not yet looked at.
    exited: Vec<(libc::pid_t, WaitStatus)>,
    /// The last reap found no child at all (every process is gone).
    childless: bool,
    sigc: u32,
    sigi: u32,
    shutdown: Option<Shutdown>,
}

impl Init {
    /// Runs the stages; returns only in container mode, with the exit code.
    fn run(&mut self) -> i32 {
        let mut st = 0;
        while st < 3 {
            if st == 2 {
                self.begin_shutdown(false);
                if self.container.is_some() && !exists(&self.paths.stage[2]) {
                    self.builtin_stage3();
                    break;
                }
            }
            let pid = self.spawn_stage(st);
            match self.wait_stage(st, pid) {
                Next::Stage => st += 1,
                Next::SkipStage2 => st = 2,
                Next::RestartStage2 => {}
            }
        }
        self.final_phase()
    }

    /// In container mode, starts the grace period (once): at a shutdown
    /// request, or when stage 3 begins for any other reason.
    fn begin_shutdown(&mut self, announce: bool) -> bool {
        let Some(c) = &self.container else { return false };
        if self.shutdown.is_some() {
            return false;
        }
        if announce {
            info(&[b"shutdown request..."]);
        }
        let now = Instant::now();
        self.shutdown = Some(Shutdown { at: now, deadline: now + c.grace });
        true
    }

    fn grace(&self) -> Duration {
        self.container.as_ref().map(|c| c.grace).unwrap_or(DEFAULT_ZERO)
    }

    fn stage_path(&self, st: usize) -> Vec<u8> {
        path_bytes(&self.paths.stage[st]).to_vec()
    }

    /// Forks stage `st`, retrying every 5 s while fork fails.
    fn spawn_stage(&mut self, st: usize) -> libc::pid_t {
        let path = self.stage_path(st);
        let mut stage = spawn::Stage::new(&path);
        stage.console = st == 0 && self.container.is_none();
        stage.setsid = st != 0;
        self.spawn_retrying(&stage, &path)
    }

    fn spawn_retrying(&mut self, stage: &spawn::Stage, path: &[u8]) -> libc::pid_t {
        loop {
            match stage.spawn() {
                Ok(pid) => {
                    self.children.push(pid);
                    return pid;
                }
                Err(e) => {
                    warn_err(&[b"unable to fork for \"", path, b"\" pausing: "], &e, true);
                    self.sleep(PAUSE);
                }
            }
        }
    }

    /// Sleeps until a signal arrives or `deadline`, then reaps every child
    /// that has terminated and records the signals.
    fn pause(&mut self, deadline: Option<Instant>) {
        let mut fds = [unix::poll::readable(self.sigfd.fd.as_raw_fd())];
        if let Err(e) = unix::poll::poll_until(&mut fds, deadline) {
            warn_err(&[b"poll: "], &e, false);
        }
        for sig in self.sigfd.drain() {
            match sig {
                libc::SIGCONT => self.sigc += 1,
                libc::SIGINT => self.sigi += 1,
                libc::SIGTERM | libc::SIGPWR => {
                    self.begin_shutdown(true);
                }
                _ => {}
            }
        }
        self.reap();
    }

    /// Collects every terminated child (ours or adopted orphans).
    fn reap(&mut self) {
        loop {
            match nix::sys::wait::waitpid(None, Some(WaitPidFlag::WNOHANG)) {
                Ok(nix::sys::wait::WaitStatus::StillAlive) => {
                    self.childless = false;
                    return;
                }
                Ok(ws) => {
                    self.childless = false;
                    let Some((pid, status)) = unix::proc::decode(ws) else { continue };
                    if let Some(i) = self.children.iter().position(|&c| c == pid) {
                        self.children.swap_remove(i);
                        self.exited.push((pid, status));
                    }
                }
                Err(Errno::EINTR) => continue,
                Err(Errno::ECHILD) => {
                    self.childless = true;
                    return;
                }
                Err(e) => {
                    warn_err(&[b"wait_nohang, pausing: "], &e.into(), false);
                    std::thread::sleep(PAUSE);
                    return;
                }
            }
        }
    }

    /// Sleeps for `d` while still reaping.
    fn sleep(&mut self, d: Duration) {
        let end = Instant::now() + d;
        while Instant::now() < end {
            self.pause(Some(end));
        }
    }

    fn take_exit(&mut self, pid: libc::pid_t) -> Option<WaitStatus> {
        let i = self.exited.iter().position(|&(p, _)| p == pid)?;
        Some(self.exited.swap_remove(i).1)
    }

    fn reget_stderr(&self) {
        if self.container.is_none() {
            reget_stderr();
        }
    }

    /// Waits for stage `st` (pid `pid`) to end, acting on signals meanwhile.
    fn wait_stage(&mut self, st: usize, pid: libc::pid_t) -> Next {
        let path = self.stage_path(st);
        // How far a container-mode stop of this stage has gone: 0 nothing,
        // 1 TERM sent, 2 KILL sent.
        let mut stopping = 0u8;
        loop {
            if st < 2 && stopping == 0 && self.shutdown.is_some() {
                // A request in stage 1 or 2: stop the stage.
                let _ = unix::proc::kill(pid, libc::SIGTERM);
                stopping = 1;
            }
            let limit = self.stop_limit(st, stopping);
            let wake = Instant::now() + WAKE;
            self.pause(Some(limit.map_or(wake, |l| l.min(wake))));
            self.reget_stderr();

            if let Some(ws) = self.take_exit(pid) {
                if stopping > 0 {
                    info(&[b"leave stage: ", &path]);
                    if st == 0 {
                        warn(&[b"skipping stage 2..."]);
                        return Next::SkipStage2;
                    }
                    return Next::Stage;
                }
                return self.stage_ended(st, pid, ws);
            }
            if let Some(limit) = limit {
                if Instant::now() >= limit {
                    if stopping < 2 {
                        let n = [b'1' + st as u8];
                        warn(&[b"stage ", &n, b" not terminated, sending sigkill..."]);
                        if st > 0 {
                            let _ = unix::proc::kill(-pid, libc::SIGKILL);
                        }
                        let _ = unix::proc::kill(pid, libc::SIGKILL);
                        stopping = 2;
                    } else {
                        // Past the deadline: leave it to the final phase.
                        info(&[b"leave stage: ", &path]);
                        return if st == 0 { Next::SkipStage2 } else { Next::Stage };
                    }
                    continue;
                }
            }
            if self.sigc == 0 && self.sigi == 0 {
                continue;
            }
            if st != 1 {
                warn(&[b"signals only work in stage 2."]);
                self.sigc = 0;
                self.sigi = 0;
                continue;
            }
            if self.sigi > 0 && config::owner_executable(&self.paths.ctrlaltdel) {
                self.ctrlaltdel();
                self.sigi = 0;
                self.sigc += 1;
            }
            if self.sigc > 0 && config::owner_executable(&self.paths.stopit) {
                let _ =
                    std::fs::set_permissions(&self.paths.stopit, std::os::unix::fs::PermissionsExt::from_mode(0o000));
                self.sigc = 0;
                self.sigi = 0;
                if self.container.is_some() {
                    // The graceful path: the loop's top sends TERM.
                    self.begin_shutdown(true);
                    continue;
                }
                self.stop_stage2(pid);
                info(&[b"leave stage: ", &path]);
                return Next::Stage;
            }
            self.sigc = 0;
            self.sigi = 0;
        }
    }

    /// Container mode: when the stop of stage `st` escalates (TERM → KILL),
    /// or when waiting for it ends.
    fn stop_limit(&self, st: usize, stopping: u8) -> Option<Instant> {
        let s = self.shutdown?;
        let g = self.grace();
        if stopping == 2 {
            return Some(s.deadline);
        }
        if st == 2 {
            Some(s.deadline.checked_sub(g / 4).unwrap_or(s.deadline))
        } else if stopping == 1 {
            Some(s.at + g / 2)
        } else {
            None
        }
    }

    /// The upstream stop of stage 2 (SIGCONT with stopit): TERM to its pid,
    /// checked at once and then every second, five times; then KILL.
    fn stop_stage2(&mut self, pid: libc::pid_t) {
        let _ = unix::proc::kill(pid, libc::SIGTERM);
        for _ in 0..5 {
            self.reap();
            if self.take_exit(pid).is_some() {
                return;
            }
            self.sleep(Duration::from_secs(1));
        }
        if self.take_exit(pid).is_some() {
            return;
        }
        warn(&[b"stage 2 not terminated, sending sigkill..."]);
        let _ = unix::proc::kill(pid, libc::SIGKILL);
        while self.children.contains(&pid) {
            self.pause(Some(Instant::now() + WAKE));
        }
        self.take_exit(pid);
    }

    /// Runs the ctrlaltdel script and waits for it (reaping everything else).
    fn ctrlaltdel(&mut self) {
        info(&[b"ctrl-alt-del request..."]);
        let path = path_bytes(&self.paths.ctrlaltdel).to_vec();
        let stage = spawn::Stage::new(&path);
        let pid = self.spawn_retrying(&stage, &path);
        let ws = loop {
            if let Some(ws) = self.take_exit(pid) {
                break ws;
            }
            self.pause(Some(Instant::now() + WAKE));
        };
        if ws.term_signal().is_some() {
            warn(&[b"child crashed: ", &path]);
        }
        info(&[b"leave stage: ", &path]);
    }

    /// The exit rules of a stage that ended on its own.
    fn stage_ended(&mut self, st: usize, pid: libc::pid_t, ws: WaitStatus) -> Next {
        let path = self.stage_path(st);
        let crashed = ws.term_signal().is_some();
        let code = ws.exit_code().unwrap_or(0);
        if crashed || code != 0 {
            if crashed {
                warn(&[b"child crashed: ", &path]);
            } else {
                warn(&[b"child failed: ", &path]);
            }
            if st == 0 && (crashed || code == 100) {
                info(&[b"leave stage: ", &path]);
                warn(&[b"skipping stage 2..."]);
                return Next::SkipStage2;
            }
            if st == 1 && (crashed || code == 111) {
                warn(&[b"killing all processes in stage 2..."]);
                let _ = unix::proc::kill(-pid, libc::SIGKILL);
                let end = Instant::now() + PAUSE;
                while Instant::now() < end {
                    self.pause(Some(end));
                    if self.shutdown.is_some() {
                        // Container mode: a stop request wins over the restart.
                        return Next::Stage;
                    }
                }
                warn(&[b"restarting."]);
                return Next::RestartStage2;
            }
        }
        info(&[b"leave stage: ", &path]);
        Next::Stage
    }

    /// Container mode without a stage 3 script: send `x` to every runsv in
    /// the services directory and wait (bounded) until they have exited.
    fn builtin_stage3(&mut self) {
        let Some(c) = &self.container else { return };
        let svdir = c.svdir.clone();
        let path = self.stage_path(2);
        info(&[b"enter stage: ", &path, b" (built-in: x to every runsv in ", path_bytes(&svdir), b")"]);
        let mut running: Vec<PathBuf> = Vec::new();
        if let Ok(rd) = std::fs::read_dir(&svdir) {
            let mut names: Vec<_> = rd.filter_map(|e| e.ok()).map(|e| e.file_name()).collect();
            names.sort();
            for name in names {
                if path_bytes(Path::new(&name)).first() == Some(&b'.') {
                    continue;
                }
                let dir = svdir.join(&name);
                let sup = supervise::SuperviseDir::of(&dir);
                if supervise::control::send(&sup.file("control"), b"x").is_ok() {
                    running.push(dir);
                }
            }
        }
        let limit = self.stop_limit(2, 0).unwrap_or_else(Instant::now);
        loop {
            running.retain(|d| supervise::control::probe_ok(&supervise::SuperviseDir::of(d).file("ok")).is_ok());
            if running.is_empty() || Instant::now() >= limit {
                break;
            }
            let next = (Instant::now() + Duration::from_millis(50)).min(limit);
            self.pause(Some(next));
        }
        for d in &running {
            warn(&[b"runsv not stopped in time: ", path_bytes(d)]);
        }
        info(&[b"leave stage: ", &path]);
    }

    /// After stage 3.
    fn final_phase(&mut self) -> i32 {
        self.reget_stderr();
        if let Some(s) = self.shutdown.filter(|_| self.container.is_some()) {
            info(&[b"sending TERM signal to all processes..."]);
            kill_all(Signal::SIGTERM);
            kill_all(Signal::SIGCONT);
            self.reap();
            while !self.childless && Instant::now() < s.deadline {
                self.pause(Some(s.deadline));
            }
            info(&[b"sending KILL signal to all processes..."]);
            kill_all(Signal::SIGKILL);
            let end = Instant::now() + Duration::from_secs(2);
            self.reap();
            while !self.childless && Instant::now() < end {
                self.pause(Some(end));
            }
            let reboot = config::owner_executable(&self.paths.reboot);
            if self.initial_ns != Some(true) {
                sync_if_needed(&self.paths.nosync);
                let code = self.container.as_ref().and_then(Container::stored_exit_code);
                let code = code.unwrap_or(if reboot { exit::REBOOT } else { exit::HALT });
                let n = code.to_string();
                let what: &[u8] = if reboot { b"reboot" } else { b"halt" };
                info(&[what, b": exit ", n.as_bytes(), b"."]);
                return code;
            }
        } else {
            info(&[b"sending KILL signal to all processes..."]);
            kill_all(Signal::SIGKILL);
        }
        self.reboot_system()
    }

    /// Halts, powers off or reboots (in a child, as upstream). If that is
    /// not permitted and runit is not the init of the whole machine,
    /// returns the exit code instead of pausing forever; otherwise keeps
    /// reaping forever.
    fn reboot_system(&mut self) -> i32 {
        let reboot = config::owner_executable(&self.paths.reboot);
        let nosync = std::ffi::CString::new(path_bytes(&self.paths.nosync)).unwrap_or_default();
        // SAFETY: the child below only calls async-signal-safe functions
        // (write, stat, sync, reboot, sleep) on memory prepared before.
        match unsafe { nix::unistd::fork() } {
            Ok(nix::unistd::ForkResult::Child) => {
                reboot_now(reboot, &nosync);
                // SAFETY: in the child; the kernel refused every request.
                unsafe { libc::_exit(REBOOT_REFUSED) };
            }
            Err(_) => reboot_now(reboot, &nosync),
            Ok(nix::unistd::ForkResult::Parent { child }) => {
                let pid = child.as_raw();
                self.children.push(pid);
                let ws = loop {
                    if let Some(ws) = self.take_exit(pid) {
                        break ws;
                    }
                    self.pause(Some(Instant::now() + WAKE));
                };
                if ws.exit_code() == Some(REBOOT_REFUSED) && self.initial_ns == Some(false) {
                    let code = if reboot { exit::REBOOT } else { exit::HALT };
                    let n = code.to_string();
                    let what: &[u8] = if reboot { b"reboot" } else { b"halt" };
                    info(&[what, b": exit ", n.as_bytes(), b"."]);
                    return code;
                }
            }
        }
        loop {
            self.pause(None);
        }
    }
}

const DEFAULT_ZERO: Duration = Duration::ZERO;

/// Exit code of the reboot child when the kernel refused every request.
const REBOOT_REFUSED: i32 = 111;

fn exists(p: &Path) -> bool {
    std::fs::metadata(p).is_ok()
}

fn kill_all(sig: Signal) {
    let _ = nix::sys::signal::kill(Pid::from_raw(-1), sig);
}

fn sync_if_needed(nosync: &Path) {
    if !exists(nosync) {
        nix::unistd::sync();
    }
}

/// The reboot, power-off or halt sequence; returns only if the kernel
/// refused. Async-signal-safe (it runs in a forked child): constant
/// messages and a path prepared before the fork.
fn reboot_now(reboot: bool, nosync: &std::ffi::CStr) {
    use nix::sys::reboot::RebootMode;
    // A CStr path: nix's stat does not allocate for it.
    let sync_if_needed = || {
        if nix::sys::stat::stat(nosync).is_err() {
            nix::unistd::sync();
        }
    };
    let say = |m: &[u8]| unix::msg::write_all_fd(2, m);
    // A refusal is seen by returning.
    let sys = |how: RebootMode| {
        let _ = nix::sys::reboot::reboot(how);
    };
    if reboot {
        say(b"- runit: system reboot.\n");
        sync_if_needed();
        sys(RebootMode::RB_AUTOBOOT);
    } else {
        say(b"- runit: power off...\n");
        sync_if_needed();
        sys(RebootMode::RB_POWER_OFF);
        nix::unistd::sleep(2);
        say(b"- runit: system halt.\n");
        sync_if_needed();
        sys(RebootMode::RB_HALT_SYSTEM);
    }
}
