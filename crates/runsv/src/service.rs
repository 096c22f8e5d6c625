//! One supervised process (the main service or its log service) and the
//! actions runsv takes on it: start, stop, control letters, reaping.

use std::fs::{self, File};
use std::io::{self, Read};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::{Duration, Instant};
use supervise::extras::{self, Ready};
use supervise::status::{stat_line, write_files};
use supervise::{State, Status, SuperviseDir, Want};
use unix::msg::Label;
use unix::proc::{ChildSpec, WaitStatus};
use unix::tai64n::Tai64n;

/// runit's minimum time between two starts of a service that exited fast.
const RESTART_DELAY: Duration = Duration::from_secs(1);
/// How long runit waits before retrying a failed `fork`.
const FORK_RETRY: Duration = Duration::from_secs(5);

/// How the current `./run` uses a process group of its own (opt-in).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Group {
    /// runit's way: runsv's group; every signal goes to the pid.
    Shared,
    /// `flag-timeout-killpg` (s6): own group, only the `timeout-kill` KILL
    /// goes to the group.
    TimeoutKill,
    /// `flag-killpg`: own group; stops (down-signal, CONT) and KILLs go to
    /// the group.
    Stops,
}

/// The state runsv keeps for one process slot.
pub struct Service {
    sup: SuperviseDir,
    is_log: bool,
    /// Where this slot's opt-in files live: "" or "log/".
    dir: &'static str,
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
    /// Read end of the `notification-fd` pipe while `./run` may still
    /// report readiness.
    ready_pipe: Option<File>,
    /// `supervise/ready` was written for the current `./run`.
    ready_written: bool,
    group: Group,
    /// KILL the current process then: `timeout-kill` after a stop of
    /// `./run`, or `timeout-finish` for `./finish`.
    kill_at: Option<Instant>,
    /// The group of a `./run` that is gone, still to be KILLed then
    /// (`timeout-kill` with a process group).
    linger: Option<(libc::pid_t, Instant)>,
    /// runsv stopped or killed the current `./run`: its end is no failure.
    stop_sent: bool,
    /// The next `restart-backoff` delay; `None`: INITIAL.
    backoff_next: Option<Duration>,
    /// runit's own 1-second hold on the next start (kept when `u` cuts a
    /// back-off short).
    floor: Option<Instant>,
    control: File,
    _control_writer: File,
    _lock: File,
}

impl Service {
    pub fn new(sup: SuperviseDir, is_log: bool, want: Want, lock: File, control: File, writer: File) -> Service {
        Service {
            sup,
            is_log,
            dir: if is_log { "log/" } else { "" },
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
            ready_pipe: None,
            ready_written: false,
            group: Group::Shared,
            kill_at: None,
            linger: None,
            stop_sent: false,
            backoff_next: None,
            floor: None,
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
        let start = if self.wants_start() { self.not_before } else { None };
        [start, self.kill_at, self.linger.map(|(_, t)| t)].into_iter().flatten().min()
    }

    /// The readiness pipe, for the poll set.
    fn ready_fd(&self) -> Option<i32> {
        self.ready_pipe.as_ref().map(|f| f.as_raw_fd())
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

    /// Reads the slot's opt-in file `NAME` (`log/NAME` for the log) and
    /// parses it; a file that cannot be read or parsed is reported and
    /// ignored, as if it did not exist.
    fn config<T>(&self, s: &Service, name: &str, parse: fn(&[u8]) -> Option<T>) -> Option<T> {
        let path = format!("{}{name}", s.dir);
        match extras::read_config(Path::new(&path)) {
            Ok(None) => None,
            Ok(Some(raw)) => {
                let v = parse(&raw);
                if v.is_none() {
                    self.label.warn(&[b"ignoring invalid ", path.as_bytes()]);
                }
                v
            }
            Err(e) => {
                self.label.warn_err(&[b"unable to read ", path.as_bytes()], &e);
                None
            }
        }
    }

    /// Whether the slot has the opt-in flag file `NAME`.
    fn flag(s: &Service, name: &str) -> bool {
        extras::flag(Path::new(&format!("{}{name}", s.dir)))
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
        // The service's pid as argv[1], when there is a process: a script
        // must never be handed 0, which `kill` reads as its own group.
        let pid = s.pid.to_string().into_bytes();
        let argv: &[&[u8]] = if s.pid > 0 { &[&name, &pid] } else { &[&name] };
        let Ok(mut spec) = ChildSpec::new(&name, argv, &self.prefix(b"unable to run control/?: ")) else {
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

    /// Signals the process group led by `pgid`. Only ever called with the
    /// pid of a `./run` that runsv started as a group leader, so the group
    /// is the service's own; never 0, 1 or negative.
    fn signal_group(pgid: libc::pid_t, sig: libc::c_int) {
        if pgid > 1 {
            let _ = unix::proc::kill(-pgid, sig);
        }
    }

    /// A stop signal (down-signal, CONT, KILL): to the group with
    /// `flag-killpg`, else to the pid.
    fn signal_stop(s: &Service, sig: libc::c_int) {
        if s.state == State::Run && s.group == Group::Stops && s.pid > 0 {
            Self::signal_group(s.pid, sig);
        } else {
            Self::signal(s, sig);
        }
    }

    /// The stop procedure (runsv.md §1.5), with the opt-in `down-signal`
    /// instead of TERM and the `timeout-kill` deadline.
    fn stop(&self, s: &mut Service) {
        if s.pid > 0 && !self.custom(s, b't') {
            let sig = self.config(s, extras::DOWN_SIGNAL, extras::parse_signal).unwrap_or(libc::SIGTERM);
            Self::signal_stop(s, sig);
            s.term = true;
            s.stop_sent = true;
            if s.kill_at.is_none() {
                if let Some(ms) = self.config(s, extras::TIMEOUT_KILL, extras::parse_millis).filter(|&ms| ms > 0) {
                    s.kill_at = Instant::now().checked_add(Duration::from_millis(ms));
                }
            }
            self.update(s);
        }
        let after = match s.want {
            Want::Down => b'd',
            Want::Exit => b'x',
            Want::Up => return,
        };
        Self::signal_stop(s, libc::SIGCONT);
        self.custom(s, after);
    }

    /// Deadlines that passed: `timeout-kill`, `timeout-finish`, and the
    /// group of a stopped `./run` that outlived it.
    fn timers(&self, s: &mut Service, now: Instant) {
        if s.kill_at.is_some_and(|t| now >= t) {
            s.kill_at = None;
            if s.pid > 0 {
                if s.state == State::Run && s.group != Group::Shared {
                    Self::signal_group(s.pid, libc::SIGKILL);
                } else {
                    Self::signal(s, libc::SIGKILL);
                }
            }
        }
        if let Some((pgid, t)) = s.linger {
            if now >= t {
                s.linger = None;
                Self::signal_group(pgid, libc::SIGKILL);
            }
        }
    }

    /// Reads what `./run` wrote on its `notification-fd`: the first newline
    /// makes it ready (`supervise/ready`); end-of-file before one means it
    /// never will be, for this run. Later writes are read and ignored until
    /// the service closes the descriptor, so that writing more than one
    /// line never gets it a SIGPIPE.
    fn poll_ready(&self, s: &mut Service) {
        let Some(pipe) = &s.ready_pipe else { return };
        let mut buf = [0u8; 512];
        let mut newline = false;
        let open = loop {
            match (&*pipe).read(&mut buf) {
                Ok(0) => break false,
                Ok(n) => newline |= buf[..n].contains(&b'\n'),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break true,
                Err(_) => break false,
            }
        };
        if !open {
            s.ready_pipe = None;
        }
        if newline && !s.ready_written && s.pid > 0 && s.state == State::Run {
            s.ready_written = true;
            let r = Ready { stamp: Tai64n::now(), pid: s.pid as u32 };
            if let Err((text, e)) = extras::write_ready(&s.sup, &r) {
                match e {
                    Some(e) => self.label.warn_err(&[&text], &e),
                    None => self.label.warn(&[&text]),
                }
            }
        }
    }

    /// Forgets the readiness of the `./run` that ended (or is replaced).
    fn unready(&self, s: &mut Service) {
        s.ready_pipe = None;
        if s.ready_written {
            s.ready_written = false;
            if let Err(e) = extras::remove_ready(&s.sup) {
                self.label.warn_err(&[b"unable to remove ", &s.sup.name(extras::READY)], &e);
            }
        }
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

        // Opt-in extras for ./run: the readiness pipe (its dup comes last,
        // after the log pipe's, so fd N cannot be clobbered) and the group.
        let mut notify = None;
        let mut group = Group::Shared;
        if !finishing {
            self.unready(s);
            if let Some(fd) = self.config(s, extras::NOTIFICATION_FD, extras::parse_notification_fd) {
                match unix::fd::pipe_cloexec() {
                    Ok((r, w)) => {
                        spec.dups.push((w.as_raw_fd(), fd));
                        if self.log_pipe.is_none() {
                            spec.fd_fail = self.prefix(b"unable to setup filedescriptor for ./run: ");
                        }
                        notify = Some((r, w));
                    }
                    Err(e) => self.label.warn_err(&[b"unable to create notification pipe"], &e),
                }
            }
            group = if Self::flag(s, extras::FLAG_KILLPG) {
                Group::Stops
            } else if Self::flag(s, extras::FLAG_TIMEOUT_KILLPG) {
                Group::TimeoutKill
            } else {
                Group::Shared
            };
            spec.setpgid = group != Group::Shared;
        }

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
            s.group = group;
            s.stop_sent = false;
            s.kill_at = None;
            if let Some((r, w)) = notify {
                drop(w);
                let _ = unix::fd::set_nonblock(r.as_raw_fd(), true);
                s.ready_pipe = Some(File::from(r));
            }
        } else {
            s.kill_at = self
                .config(s, extras::TIMEOUT_FINISH, extras::parse_millis)
                .filter(|&ms| ms > 0)
                .and_then(|ms| Instant::now().checked_add(Duration::from_millis(ms)));
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
                self.cut_backoff(s);
                self.update(s);
                if s.state == State::Down {
                    // During a restart delay the main loop starts it when
                    // the delay ends.
                    self.start_if_due(s, Instant::now());
                }
            }
            b'o' => {
                s.want = Want::Down;
                self.cut_backoff(s);
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
                    Self::signal_stop(s, libc::SIGKILL);
                    s.stop_sent = true;
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

    /// An explicit `u` or `o` starts a service held back by
    /// `restart-backoff` without waiting (runit's 1-second rule still
    /// holds) and resets the back-off.
    fn cut_backoff(&self, s: &mut Service) {
        if s.backoff_next.take().is_some() {
            let now = Instant::now();
            s.not_before = s.floor.filter(|&t| t > now);
        }
    }

    /// When the slot, just gone down, may start again: runit's 1 second
    /// after a run shorter than that, or the `restart-backoff` delay.
    fn schedule_restart(&self, s: &mut Service) {
        let now = Instant::now();
        let lived = s.started.elapsed();
        s.floor = if lived < RESTART_DELAY { Some(now + RESTART_DELAY) } else { None };
        s.not_before = s.floor;
        let Some(b) = self.config(s, extras::RESTART_BACKOFF, extras::parse_backoff) else {
            s.backoff_next = None;
            return;
        };
        let max = Duration::from_millis(b.max);
        if s.stop_sent || lived >= max {
            // Stopped on purpose, or up long enough: not a failing service.
            s.backoff_next = None;
            return;
        }
        let delay = s.backoff_next.unwrap_or(Duration::from_millis(b.initial)).min(max);
        s.not_before = [s.floor, now.checked_add(delay)].into_iter().flatten().max();
        s.backoff_next = Some(delay.saturating_mul(2).min(max));
    }

    /// Bookkeeping after the slot's process was reaped.
    fn reaped(&self, s: &mut Service, st: WaitStatus) {
        if s.state != State::Finish {
            // ./run is gone: so is its readiness; a pending timeout-kill
            // still reaches what is left of its group.
            self.unready(s);
            if let Some(t) = s.kill_at.filter(|_| s.state == State::Run && s.group != Group::Shared) {
                s.linger = Some((s.pid, t));
            }
        }
        s.kill_at = None;
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
        // runit sleeps a full second here, blocking everything; we only
        // hold back this slot's next start.
        self.schedule_restart(s);
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
            for fd in [self.main.ready_fd(), self.log.as_ref().and_then(Service::ready_fd)].into_iter().flatten() {
                fds.push(unix::poll::readable(fd));
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
            self.ctx.poll_ready(&mut self.main);
            if let Some(log) = &mut self.log {
                self.ctx.poll_ready(log);
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
            let now = Instant::now();
            self.ctx.timers(&mut self.main, now);
            if let Some(log) = &mut self.log {
                self.ctx.timers(log, now);
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
        // A stopped group still due for its timeout-kill KILL is waited
        // for, so that nothing the service forked outlives runsv.
        let lingering = |s: &Service| s.linger.is_some_and(|(pgid, _)| unix::proc::kill(-pgid, 0).is_ok());
        if lingering(&self.main) || self.log.as_ref().is_some_and(lingering) {
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
