//! One supervised process (the main service or its log service) and the
//! actions runsv takes on it: start, stop, control letters, reaping.

use std::fs::{self, File};
use std::io::{self, Read};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};
use supervise::status::{stat_line, write_files};
use supervise::{State, Status, SuperviseDir, Want};
use unix::msg::Label;
use unix::proc::{ChildSpec, WaitStatus};
use unix::tai64n::Tai64n;

/// runit's minimum time between two starts of a service that exited fast.
const RESTART_DELAY: Duration = Duration::from_secs(1);
/// How long runit waits before retrying a failed `fork`.
const FORK_RETRY: Duration = Duration::from_secs(5);

/// The state runsv keeps for one process slot.
pub struct Service {
    sup: SuperviseDir,
    is_log: bool,
    pid: libc::pid_t,
    state: State,
    want: Want,
    paused: bool,
    term: bool,
    /// The status timestamp: last start of `./run`, or when it went down.
    stamp: Tai64n,
    /// Monotonic time of the last start of `./run`, for the 1-second rule.
    started: Instant,
    /// How the last `./run` (or `./finish`, see `k`) ended: `./finish` args.
    wstat: WaitStatus,
    pid_changed: bool,
    /// No start before this (the restart delay, or a fork retry).
    not_before: Option<Instant>,
    /// `o` arrived while a restart delay ran: start once when it ends.
    once_pending: bool,
    control: File,
    _control_writer: File,
    _lock: File,
}

impl Service {
    pub fn new(sup: SuperviseDir, is_log: bool, want: Want, lock: File, control: File, writer: File) -> Service {
        Service {
            sup,
            is_log,
            pid: 0,
            state: State::Down,
            want,
            paused: false,
            term: false,
            stamp: Tai64n::now(),
            started: Instant::now(),
            wstat: WaitStatus(0),
            pid_changed: true,
            not_before: None,
            once_pending: false,
            control,
            _control_writer: writer,
            _lock: lock,
        }
    }

    /// Whether this slot should be started now or when its delay ends.
    fn wants_start(&self) -> bool {
        self.pid == 0 && (self.want == Want::Up || self.state == State::Finish || self.once_pending)
    }

    fn delayed(&self, now: Instant) -> bool {
        self.not_before.is_some_and(|t| now < t)
    }

    /// The deadline the main loop must wake up for, if any.
    fn deadline(&self) -> Option<Instant> {
        if self.wants_start() {
            self.not_before
        } else {
            None
        }
    }

    /// Reads at most one pending control byte.
    fn read_control(&mut self) -> Option<u8> {
        let mut b = [0u8; 1];
        match self.control.read(&mut b) {
            Ok(1) => Some(b[0]),
            _ => None,
        }
    }
}

/// What every action needs besides the slot itself.
pub struct Ctx {
    label: Label,
    /// The log pipe (read end, write end) while a log service exists.
    log_pipe: Option<(OwnedFd, OwnedFd)>,
}

impl Ctx {
    pub fn new(label: Label, log_pipe: Option<(OwnedFd, OwnedFd)>) -> Ctx {
        Ctx { label, log_pipe }
    }

    fn prefix(&self, tail: &[u8]) -> Vec<u8> {
        [self.label.as_bytes(), b": fatal: ", tail].concat()
    }

    /// Rewrites `pid` (if changed), `stat` and `status` for the slot.
    pub fn update(&self, s: &mut Service) {
        let st = Status::new(s.stamp, s.pid as u32, s.state, s.want, s.paused, s.term);
        let stat = stat_line(s.state, s.paused, s.term, s.want);
        let pid_current = write_files(&s.sup, &st, &stat, s.pid_changed, |text, e| match e {
            Some(e) => self.label.warn_err(&[&text], &e),
            None => self.label.warn(&[&text]),
        });
        if pid_current {
            s.pid_changed = false;
        }
    }

    /// Runs the override script `control/C` if it is usable and returns
    /// whether it vetoed the action (exit 0, or killed by a signal).
    fn custom(&self, s: &Service, c: u8) -> bool {
        if s.is_log {
            return false;
        }
        let name = [b"control/", &[c][..]].concat();
        let path = std::ffi::OsStr::new(std::str::from_utf8(&name).unwrap_or("control/?"));
        match fs::metadata(path) {
            Ok(m) if m.permissions().mode() & 0o100 != 0 => {}
            Ok(_) => return false,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return false,
            Err(e) => {
                self.label.warn_err(&[b"unable to stat ", &name], &e);
                return false;
            }
        }
        let Ok(mut spec) = ChildSpec::new(&name, &[&name], &self.prefix(b"unable to run control/?: ")) else {
            return false;
        };
        if let Some((_, w)) = &self.log_pipe {
            spec.dups.push((w.as_raw_fd(), 1));
        }
        spec.default_signals = vec![libc::SIGCHLD, libc::SIGTERM];
        spec.keep_mask = true;
        let pid = match spec.spawn() {
            Ok(p) => p,
            Err(e) => {
                self.label.warn_err(&[b"unable to fork for ", &name], &e);
                return false;
            }
        };
        match unix::proc::wait_pid(pid) {
            // The high byte is the exit code; 0 also for death by a signal.
            Ok(st) => (st.0 >> 8) & 0xff == 0,
            Err(e) => {
                self.label.warn_err(&[b"unable to wait for child ", &name], &e);
                false
            }
        }
    }

    fn signal(s: &Service, sig: libc::c_int) {
        // Never 0 or negative: that would signal a whole process group.
        if s.pid > 0 {
            let _ = unix::proc::kill(s.pid, sig);
        }
    }

    /// The stop procedure (runsv.md §1.5).
    fn stop(&self, s: &mut Service) {
        if s.pid > 0 && !self.custom(s, b't') {
            Self::signal(s, libc::SIGTERM);
            s.term = true;
            self.update(s);
        }
        let after = match s.want {
            Want::Down => b'd',
            Want::Exit => b'x',
            Want::Up => return,
        };
        Self::signal(s, libc::SIGCONT);
        self.custom(s, after);
    }

    /// Starts `./finish CODE STATUS` when in state finish, else `./run`
    /// (after `control/u`). A failed exec shows up as an exit with 111.
    fn start(&self, s: &mut Service) {
        crate::home::reenter_if_removed();
        let finishing = s.state == State::Finish;
        let (code, status);
        let mut argv: Vec<&[u8]> = Vec::with_capacity(3);
        let spec = if finishing {
            code = match s.wstat.term_signal() {
                Some(_) => b"-1".to_vec(),
                None => ((s.wstat.0 >> 8) & 0xff).to_string().into_bytes(),
            };
            status = s.wstat.low_byte().to_string().into_bytes();
            argv.extend_from_slice(&[b"./finish", &code, &status]);
            ChildSpec::new(b"./finish", &argv, &self.prefix(b"unable to start ./finish: "))
        } else {
            self.custom(s, b'u');
            let fail: &[u8] = if s.is_log { b"unable to start log/./run: " } else { b"unable to start ./run: " };
            ChildSpec::new(b"./run", &[b"./run"], &self.prefix(fail))
        };
        let Ok(mut spec) = spec else { return };
        if let Some((r, w)) = &self.log_pipe {
            if s.is_log {
                spec.dups.push((r.as_raw_fd(), 0));
                spec.fd_fail = self.prefix(b"unable to setup filedescriptor for ./log/run: ");
                spec.cwd = std::ffi::CString::new("./log").ok();
                spec.cwd_fail = self.prefix(b"unable to change directory to ./log: ");
            } else {
                spec.dups.push((w.as_raw_fd(), 1));
                spec.fd_fail = self.prefix(b"unable to setup filedescriptor for ./run: ");
            }
        }
        spec.default_signals = vec![libc::SIGCHLD, libc::SIGTERM];
        spec.keep_mask = true;

        if s.pid != 0 {
            self.stop(s);
        }
        let pid = match spec.spawn() {
            Ok(p) => p,
            Err(e) => {
                self.label.warn_err(&[b"unable to fork, sleeping"], &e);
                s.not_before = Some(Instant::now() + FORK_RETRY);
                return;
            }
        };
        if !finishing {
            s.stamp = Tai64n::now();
            s.started = Instant::now();
            s.state = State::Run;
        }
        s.pid = pid;
        s.pid_changed = true;
        s.paused = false;
        s.term = false;
        s.not_before = None;
        s.once_pending = false;
        self.update(s);
    }

    /// Starts the slot if it should run and no delay holds it back.
    fn start_if_due(&self, s: &mut Service, now: Instant) {
        if s.wants_start() && !s.delayed(now) {
            self.start(s);
        }
    }

    /// One control letter (runsv.md §1.4).
    fn ctrl(&self, s: &mut Service, c: u8) {
        let running = s.state == State::Run;
        let sig = |c: u8| match c {
            b'h' => Some(libc::SIGHUP),
            b'a' => Some(libc::SIGALRM),
            b'i' => Some(libc::SIGINT),
            b'q' => Some(libc::SIGQUIT),
            b'1' => Some(libc::SIGUSR1),
            b'2' => Some(libc::SIGUSR2),
            _ => None,
        };
        match c {
            b'd' => {
                s.want = Want::Down;
                s.once_pending = false;
                self.update(s);
                if running {
                    self.stop(s);
                }
            }
            b'u' => {
                s.want = Want::Up;
                self.update(s);
                if s.state == State::Down {
                    // During a restart delay the main loop starts it when
                    // the delay ends.
                    self.start_if_due(s, Instant::now());
                }
            }
            b'o' => {
                s.want = Want::Down;
                self.update(s);
                if s.state == State::Down {
                    s.once_pending = true;
                    self.start_if_due(s, Instant::now());
                }
            }
            b'x' => {
                if s.is_log {
                    return;
                }
                s.want = Want::Exit;
                s.once_pending = false;
                self.update(s);
                if running {
                    self.stop(s);
                }
            }
            b't' => {
                if running {
                    self.stop(s);
                }
            }
            b'k' => {
                if running && !self.custom(s, c) {
                    Self::signal(s, libc::SIGKILL);
                }
                // runit marks it down without writing the status: the
                // files catch up when the process is reaped.
                s.state = State::Down;
            }
            b'p' => {
                if running && !self.custom(s, c) {
                    Self::signal(s, libc::SIGSTOP);
                }
                s.paused = true;
                self.update(s);
            }
            b'c' => {
                if running && !self.custom(s, c) {
                    Self::signal(s, libc::SIGCONT);
                }
                s.paused = false;
                self.update(s);
            }
            _ => {
                if let Some(sig) = sig(c) {
                    if running && !self.custom(s, c) {
                        Self::signal(s, sig);
                    }
                }
            }
        }
    }

    /// Bookkeeping after the slot's process was reaped.
    fn reaped(&self, s: &mut Service, st: WaitStatus) {
        s.pid = 0;
        s.pid_changed = true;
        s.term = false;
        if !s.is_log {
            s.wstat = st;
            // runit tests for `finish` by opening it, not by its mode.
            if s.state != State::Finish && File::open("finish").is_ok() {
                s.state = State::Finish;
                self.update(s);
                return;
            }
        }
        s.state = State::Down;
        s.stamp = Tai64n::now();
        self.update(s);
        if s.started.elapsed() < RESTART_DELAY {
            // runit sleeps a full second here, blocking everything; we only
            // hold back this slot's next start.
            s.not_before = Some(Instant::now() + RESTART_DELAY);
        }
    }
}

/// A running runsv: the two slots, the signals and the FIFOs it holds.
pub struct Runsv {
    ctx: Ctx,
    signals: unix::selfpipe::SelfPipe,
    main: Service,
    log: Option<Service>,
    _ok: Vec<OwnedFd>,
}

impl Runsv {
    pub fn new(
        ctx: Ctx,
        signals: unix::selfpipe::SelfPipe,
        main: Service,
        log: Option<Service>,
        ok: Vec<OwnedFd>,
    ) -> Runsv {
        Runsv { ctx, signals, main, log, _ok: ok }
    }

    /// The main loop; exits 0 when told to exit and everything is down.
    pub fn run(&mut self) -> ! {
        loop {
            let now = Instant::now();
            if let Some(log) = &mut self.log {
                self.ctx.start_if_due(log, now);
            }
            self.ctx.start_if_due(&mut self.main, now);

            let deadline =
                [self.main.deadline(), self.log.as_ref().and_then(Service::deadline)].into_iter().flatten().min();
            let mut fds =
                vec![unix::poll::readable(self.signals.fd()), unix::poll::readable(self.main.control.as_raw_fd())];
            if let Some(log) = &self.log {
                fds.push(unix::poll::readable(log.control.as_raw_fd()));
            }
            // Poll errors (EINVAL, ENOMEM) are transient at worst: the loop
            // simply goes round again.
            let _ = unix::poll::poll_until(&mut fds, deadline);

            let sigterm = self.signals.drain().contains(&libc::SIGTERM);
            while let Some((pid, st)) = unix::proc::reap_one() {
                if pid == self.main.pid {
                    self.ctx.reaped(&mut self.main, st);
                } else if let Some(log) = self.log.as_mut().filter(|l| l.pid == pid) {
                    self.ctx.reaped(log, st);
                }
            }
            if let Some(c) = self.main.read_control() {
                self.ctx.ctrl(&mut self.main, c);
            }
            if let Some(log) = &mut self.log {
                if let Some(c) = log.read_control() {
                    self.ctx.ctrl(log, c);
                }
            }
            if sigterm {
                self.ctx.ctrl(&mut self.main, b'x');
            }
            self.check_exit();
        }
    }

    /// runsv.md §1.6: exit once the main service is down for good; with a
    /// running log service, first close the pipe so it sees end-of-file.
    fn check_exit(&mut self) {
        if self.main.want != Want::Exit || self.main.state != State::Down {
            return;
        }
        match &mut self.log {
            Some(log) if log.pid != 0 => {
                if log.want != Want::Exit {
                    log.want = Want::Exit;
                    self.ctx.update(log);
                    self.ctx.log_pipe = None;
                }
            }
            _ => std::process::exit(0),
        }
    }
}
