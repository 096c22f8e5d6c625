//! The world as the step table sees it: [`SystemIo`] implements
//! [`machine::Io`](crate::machine::Io) with real processes, signals and
//! files, relative to the service directory runsv works in.

use crate::contain::{self, Contained, Env, SlotContain};
use crate::machine::{Containment, Event, Io, Kind, Listen, Slot, Spawn};
use std::fs::{self, File};
use std::io::{self, Read};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use supervise::extras::{self, Ready};
use supervise::status::{stat_line, write_files};
use supervise::{listen, notify};
use supervise::{Status, SuperviseDir};
use unix::msg::Label;
use unix::spawn::{Mask, OnError, Spawn as Child};
use unix::tai64n::Tai64n;

/// The signals runsv catches; children get them back at their default.
pub const CAUGHT_SIGNALS: [libc::c_int; 2] = [libc::SIGCHLD, libc::SIGTERM];

/// What every child of runsv gets last: the signals runsv catches back at
/// their defaults (they stay blocked from `fork` until then), SIGPIPE as
/// runsv found it, and runsv's inherited mask without the caught signals.
pub(crate) fn child_signals(spec: &mut Child) {
    spec.default_signals(&CAUGHT_SIGNALS).restore_sigpipe().mask(Mask::InheritedUnblocking(CAUGHT_SIGNALS.to_vec()));
}

/// What runsv holds open for one slot besides its state.
pub struct SlotFiles {
    /// `supervise/` (or `log/supervise/`), held open.
    pub sup: SuperviseDir,
    /// Read end of the `notification-fd` pipe while `./run` may still
    /// report readiness.
    pub ready_pipe: Option<File>,
    /// Its cgroup and the orphan of an earlier runsv, if any.
    pub contain: SlotContain,
    /// A `./run` just started whose `supervise/start` record is written
    /// right after the status files (which is what a waiting `sv` reads):
    /// its pid and cgroup.
    pub start_pending: Option<(libc::pid_t, Option<PathBuf>)>,
}

/// The service's sockets: those of `listen`, and the notify socket.
#[derive(Default)]
pub struct Sockets {
    held: Vec<listen::Bound>,
    /// The content of `listen` the held sockets were bound from; `None`
    /// after a failure, so that the next `u` tries again.
    bound_from: Option<Vec<u8>>,
    notify: Option<unix::notify::NotifySocket>,
    /// The `STATUS=` text of the datagram being handled.
    pending_status: Option<Vec<u8>>,
}

/// Longest `listen` file read (64 sockets of long unix paths fit).
const MAX_LISTEN: u64 = 64 * 1024;

pub struct SystemIo {
    pub label: Label,
    pub sockets: Sockets,
    /// The log pipe (read end, write end) while a log service exists.
    pub log_pipe: Option<(OwnedFd, OwnedFd)>,
    pub main: SlotFiles,
    pub log: Option<SlotFiles>,
    /// Dependencies (opt-in `depends`, `oneshot`).
    pub deps: crate::deps::DepsIo,
    pub env: Env,
}

impl SystemIo {
    fn files(&mut self, kind: Kind) -> Option<&mut SlotFiles> {
        match kind {
            Kind::Main => Some(&mut self.main),
            Kind::Log => self.log.as_mut(),
        }
    }

    /// Where the slot's opt-in files live.
    fn dir(kind: Kind) -> &'static str {
        match kind {
            Kind::Main => "",
            Kind::Log => "log/",
        }
    }

    fn prefix(&self, tail: &[u8]) -> Vec<u8> {
        [self.label.as_bytes(), b": fatal: ", tail].concat()
    }

    fn report(&self, text: &[u8], e: Option<io::Error>) {
        match e {
            Some(e) => self.label.warn_err(&[text], &e),
            None => self.label.warn(&[text]),
        }
    }

    /// Drains the slot's readiness pipe; returns whether a newline came.
    /// End-of-file (or an error) closes it: no readiness for this run.
    /// Later writes are read and ignored until the service closes the
    /// descriptor, so writing more than one line never gets it a SIGPIPE.
    pub fn read_ready_pipe(&mut self, kind: Kind) -> bool {
        let Some(files) = self.files(kind) else { return false };
        let Some(pipe) = &files.ready_pipe else { return false };
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
            files.ready_pipe = None;
        }
        newline
    }

    /// Looks for the processes an earlier, killed runsv left running:
    /// `(service, log service)`. Before the first status is written.
    pub fn find_orphans(&mut self) -> (bool, bool) {
        let mut warned = false;
        let mut found = [false, false];
        for (i, kind) in [Kind::Main, Kind::Log].into_iter().enumerate() {
            let (label, env) = (self.label.clone(), &self.env);
            let Some(files) = (match kind {
                Kind::Main => Some(&mut self.main),
                Kind::Log => self.log.as_mut(),
            }) else {
                continue;
            };
            files.contain.orphan = contain::find_orphan(&files.sup, kind == Kind::Log, env, &label, &mut warned);
            found[i] = files.contain.orphan.is_some();
        }
        (found[0], found[1])
    }

    /// Descriptors for the poll set: orphans' pidfds, draining cgroups.
    pub fn contain_fds(&self, out: &mut Vec<libc::pollfd>) {
        for f in [Some(&self.main), self.log.as_ref()].into_iter().flatten() {
            contain::poll_fds(&f.contain, out);
        }
    }

    /// Whether an orphan must be looked at again soon (no pidfd).
    pub fn needs_recheck(&self) -> bool {
        [Some(&self.main), self.log.as_ref()].into_iter().flatten().any(|f| contain::needs_recheck(&f.contain))
    }

    /// What happened to orphans and draining cgroups since the last look,
    /// as events for the step table. `draining` lists the slots whose
    /// cgroup the table waits on.
    pub fn contain_events(&mut self, draining: &[Kind]) -> Vec<Event> {
        let mut evs = Vec::new();
        for kind in [Kind::Main, Kind::Log] {
            let Some(files) = self.files(kind) else { continue };
            if let Some(o) = &mut files.contain.orphan {
                if !o.exited && o.proc.exited() {
                    evs.push(Event::OrphanExited(kind));
                } else if o.exited && contain::emptied(&o.watch) {
                    files.contain.orphan = None;
                    evs.push(Event::OrphanGone(kind));
                }
            }
            if draining.contains(&kind) {
                if let Some(a) = &files.contain.active {
                    if contain::emptied(&a.watch) {
                        evs.push(Event::CgroupEmpty(kind));
                    }
                }
            }
        }
        evs
    }

    /// The held `listen` sockets, for the poll set while an on-demand start
    /// waits for a client.
    pub fn listen_fds(&self) -> impl Iterator<Item = i32> + '_ {
        self.sockets.held.iter().map(|b| b.fd.as_raw_fd())
    }

    /// Whether a client waits on one of the held sockets.
    pub fn connection_pending(&self) -> bool {
        self.sockets.held.iter().any(|b| unix::socket::pending(&b.fd))
    }

    /// The notify socket, for the poll set.
    pub fn notify_fd(&self) -> Option<i32> {
        self.sockets.notify.as_ref().map(|n| n.as_fd().as_raw_fd())
    }

    /// The next datagram on the notify socket: its sender and what it
    /// says; its `STATUS=` text is kept for [`Io::notify_status`].
    pub fn read_notify(&mut self) -> Option<(i32, notify::Message)> {
        let d = self.sockets.notify.as_ref()?.recv()?;
        let msg = notify::parse(&d.data);
        self.sockets.pending_status = msg.status.clone();
        Some((d.pid.unwrap_or(0), msg))
    }

    fn listen_failed(&mut self, text: &[u8]) -> Listen {
        self.sockets.bound_from = None;
        self.label.warn(&[text]);
        let line = [text, b"\n"].concat();
        if let Err(e) = notify::write_record(&self.main.sup, listen::LISTEN_ERROR, &line) {
            self.label.warn_err(&[b"unable to write ", &self.main.sup.name(listen::LISTEN_ERROR)], &e);
        }
        Listen::Failed
    }

    fn listen_fine(&mut self) {
        if let Err(e) = notify::remove_record(&self.main.sup, listen::LISTEN_ERROR) {
            self.label.warn_err(&[b"unable to remove ", &self.main.sup.name(listen::LISTEN_ERROR)], &e);
        }
    }

    /// The notify socket, bound on first use; `NOTIFY_SOCKET` is its
    /// absolute path, so that `./run` may change directory.
    #[inline(never)]
    fn notify_path(&mut self) -> Option<Vec<u8>> {
        use std::os::unix::ffi::OsStrExt;
        if self.sockets.notify.is_none() {
            let abs = match std::env::current_dir() {
                Ok(d) => d.join("supervise").join(notify::SOCKET),
                Err(e) => {
                    self.label.warn_err(&[b"unable to bind supervise/notify"], &e);
                    return None;
                }
            };
            match unix::notify::NotifySocket::bind(&abs) {
                Ok(n) => self.sockets.notify = Some(n),
                Err(e) => {
                    self.label.warn(&[b"unable to bind supervise/notify: ", e.to_string().as_bytes()]);
                    return None;
                }
            }
        }
        self.sockets.notify.as_ref().map(|n| n.path().as_os_str().as_bytes().to_vec())
    }

    /// The readiness pipes to poll.
    pub fn ready_fds(&self) -> impl Iterator<Item = i32> + '_ {
        [Some(&self.main), self.log.as_ref()]
            .into_iter()
            .flatten()
            .filter_map(|f| f.ready_pipe.as_ref())
            .map(|p| p.as_raw_fd())
    }
}

impl Io for SystemIo {
    fn config<T>(&mut self, slot: Kind, name: &str, parse: fn(&[u8]) -> Option<T>) -> Option<T> {
        let path = format!("{}{name}", Self::dir(slot));
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

    fn flag(&mut self, slot: Kind, name: &str) -> bool {
        extras::flag(Path::new(&format!("{}{name}", Self::dir(slot))))
    }

    fn finish_exists(&mut self) -> bool {
        // runit tests for `finish` by opening it, not by its mode.
        File::open(supervise::layout::FINISH).is_ok()
    }

    fn control_script(&mut self, c: u8, pid: i32) -> bool {
        let path = supervise::layout::control_script(c);
        let name = unix::path_bytes(&path).to_vec();
        match fs::metadata(&path) {
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
        let pid_arg = pid.to_string().into_bytes();
        let argv: &[&[u8]] = if pid > 0 { &[&name, &pid_arg] } else { &[&name] };
        let Ok(mut spec) = Child::new(&name, argv, &self.prefix(b"unable to run control/?: ")) else {
            return false;
        };
        if let Some((_, w)) = &self.log_pipe {
            spec.dup2(w.as_raw_fd(), 1, OnError::fail(&self.prefix(b"unable to run control/?: ")));
        }
        child_signals(&mut spec);
        let child = match spec.spawn() {
            Ok(p) => p,
            Err(e) => {
                self.label.warn_err(&[b"unable to fork for ", &name], &e);
                return false;
            }
        };
        match unix::proc::wait_pid(child) {
            // The high byte is the exit code; 0 also for death by a signal.
            Ok(st) => (st.0 >> 8) & 0xff == 0,
            Err(e) => {
                self.label.warn_err(&[b"unable to wait for child ", &name], &e);
                false
            }
        }
    }

    // The helpers marked `#[inline(never)]` here (opt-in files, sockets,
    // cgroups) keep their locals out of the frames under every start:
    // runsv's stack pages, once touched, stay dirty for its whole life.
    fn spawn(&mut self, slot: Kind, what: &Spawn) -> Option<i32> {
        crate::home::reenter_if_removed();
        let is_log = slot == Kind::Log;
        let spec = match what {
            Spawn::Finish { code, status } => {
                let (code, status) = (code.to_string().into_bytes(), status.to_string().into_bytes());
                let argv: [&[u8]; 3] = [b"./finish", &code, &status];
                Child::new(b"./finish", &argv, &self.prefix(b"unable to start ./finish: "))
            }
            Spawn::Run { .. } => {
                let fail: &[u8] = if is_log { b"unable to start log/./run: " } else { b"unable to start ./run: " };
                Child::new(b"./run", &[b"./run"], &self.prefix(fail))
            }
        };
        let Ok(mut spec) = spec else { return None };
        // Into the cgroup before anything else; runsv itself stays out.
        let cgroup = self
            .files(slot)
            .and_then(|f| f.contain.active.as_ref())
            .map(|a| (a.procs.as_raw_fd(), a.cg.path().to_path_buf()));
        if let Some((fd, _)) = &cgroup {
            let what: &[u8] = match what {
                Spawn::Finish { .. } => b"./finish: ",
                Spawn::Run { .. } if is_log => b"./log/run: ",
                Spawn::Run { .. } => b"./run: ",
            };
            spec.write(*fd, b"0", OnError::fail(&self.prefix(&[&b"unable to join cgroup for "[..], what].concat())));
        }
        let own_group = matches!(what, Spawn::Run { own_group: true, .. });
        if own_group {
            spec.setpgid();
        }
        // runit's messages name the step that failed: the log service's
        // directory, its stdin, or the service's stdout.
        let fd_fail = |io: &SystemIo, log: bool| {
            let what: &[u8] = if log { b"./log/run: " } else { b"./run: " };
            OnError::fail(&io.prefix(&[&b"unable to setup filedescriptor for "[..], what].concat()))
        };
        if let Some((r, w)) = &self.log_pipe {
            if is_log {
                let _ = spec.chdir(b"./log", OnError::fail(&self.prefix(b"unable to change directory to ./log: ")));
                spec.dup2(r.as_raw_fd(), 0, fd_fail(self, true));
            } else {
                spec.dup2(w.as_raw_fd(), 1, fd_fail(self, false));
            }
        }

        // The descriptor steps below come after the log pipe's (so an
        // inetd-style socket wins fd 1), sockets before the readiness pipe.
        // Descriptors below `above` are the sockets' targets (3..) and the
        // scratch range their move uses: the readiness pipe's source must
        // start above, or the move would overwrite it.
        let mut above = 3;
        if let Spawn::Run { sockets: true, .. } = *what {
            let held = &self.sockets.held;
            let fds: Vec<i32> = held.iter().map(|b| b.fd.as_raw_fd()).collect();
            for key in [&b"LISTEN_FDS"[..], b"LISTEN_PID", b"LISTEN_FDNAMES"] {
                spec.env_unset(key);
            }
            match &held[..] {
                [one] if one.socket.stdio => {
                    spec.dup2(fds[0], 0, fd_fail(self, false)).dup2(fds[0], 1, fd_fail(self, false));
                }
                _ => {
                    let n = fds.len() as i32;
                    above = fds.iter().map(|&fd| fd + 1).max().unwrap_or(0).max(3 + n) + n;
                    let names: Vec<listen::Socket> = held.iter().map(|b| b.socket.clone()).collect();
                    spec.pass_fds(&fds, fd_fail(self, false))
                        .env_set(b"LISTEN_FDS", n.to_string().as_bytes())
                        .env_set(b"LISTEN_FDNAMES", listen::fd_names(&names).as_bytes())
                        .env_pid(b"LISTEN_PID");
                }
            }
        }
        // The readiness pipe's dup comes last, so fd N cannot be clobbered.
        let mut ready_pipe = None;
        if let Spawn::Run { notification_fd: Some(fd), .. } = *what {
            match unix::fd::pipe_cloexec().and_then(|(r, w)| Ok((r, unix::fd::dup_above(&w, above)?))) {
                Ok((r, w)) => {
                    spec.dup2(w.as_raw_fd(), fd, fd_fail(self, is_log));
                    ready_pipe = Some((r, w));
                }
                Err(e) => self.label.warn_err(&[b"unable to create notification pipe"], &e),
            }
        }
        if let Spawn::Run { notify, .. } = *what {
            if is_log {
                // The log service has no notify socket: the service's
                // stays as it is.
            } else if notify {
                if let Some(path) = self.notify_path() {
                    spec.env_set(b"NOTIFY_SOCKET", &path);
                }
                // A new run starts without the status text of the last.
                let _ = notify::remove_record(&self.main.sup, notify::STATUS_TEXT);
            } else {
                self.sockets.notify = None;
            }
        }
        child_signals(&mut spec);
        let pid = match spec.spawn() {
            Ok(p) => p,
            Err(e) => {
                self.label.warn_err(&[b"unable to fork, sleeping"], &e);
                return None;
            }
        };
        if let (Some((r, w)), Some(files)) = (ready_pipe, self.files(slot)) {
            // Only the service holds the write end now: its exit is EOF.
            drop(w);
            let _ = unix::fd::set_nonblock(r.as_raw_fd(), true);
            files.ready_pipe = Some(File::from(r));
        }
        if let Spawn::Run { .. } = what {
            if let Some(files) = self.files(slot) {
                files.start_pending = Some((pid, cgroup.as_ref().map(|(_, p)| p.clone())));
            }
        }
        Some(pid)
    }

    fn kill(&mut self, target: i32, sig: i32) {
        let _ = unix::proc::kill(target, sig);
    }

    fn group_alive(&mut self, pgid: i32) -> bool {
        unix::proc::kill(-pgid, 0).is_ok()
    }

    fn publish(&mut self, s: &Slot) -> bool {
        self.deps.touched();
        let Some(files) = self.files(s.kind) else { return false };
        let sup = files.sup.clone();
        let st = Status::new(s.stamp, s.pid as u32, s.state, s.want, s.paused, s.term);
        let stat = stat_line(s.state, s.paused, s.term, s.want);
        let written = write_files(&sup, &st, &stat, s.pid_changed, |text, e| self.report(&text, e));
        if let Some((pid, cgroup)) = self.files(s.kind).and_then(|f| f.start_pending.take()) {
            contain::record_start(&sup, pid, cgroup.as_deref(), &self.env, &self.label);
        }
        written
    }

    fn set_ready(&mut self, slot: Kind, pid: i32) {
        self.deps.touched();
        let Some(files) = self.files(slot) else { return };
        let r = Ready { stamp: Tai64n::now(), pid: pid as u32 };
        if let Err((text, e)) = extras::write_ready(&files.sup, &r) {
            self.report(&text, e);
        }
    }

    fn unready(&mut self, slot: Kind, remove: bool) {
        self.deps.touched();
        let Some(files) = self.files(slot) else { return };
        files.ready_pipe = None;
        if remove {
            if let Err(e) = extras::remove_ready(&files.sup) {
                let name = files.sup.name(extras::READY);
                self.label.warn_err(&[b"unable to remove ", &name], &e);
            }
        }
    }

    fn close_log_pipe(&mut self) {
        self.log_pipe = None;
    }

    fn load_sockets(&mut self) -> Listen {
        let raw = match File::open(listen::LISTEN).and_then(|f| {
            let mut v = Vec::new();
            f.take(MAX_LISTEN).read_to_end(&mut v).map(|_| v)
        }) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                self.sockets.held.clear();
                self.sockets.bound_from = None;
                self.listen_fine();
                return Listen::Absent;
            }
            Err(e) => {
                let text = [b"unable to read listen: ", unix::errtext::io_text(&e).as_bytes()].concat();
                return self.listen_failed(&text);
            }
            Ok(raw) => raw,
        };
        if self.sockets.bound_from.as_deref() == Some(&raw[..]) {
            return Listen::Held;
        }
        let notification_fd = self.config(Kind::Main, extras::NOTIFICATION_FD, extras::parse_notification_fd);
        let bound = listen::parse(&raw).and_then(|want| match listen::clash(&want, notification_fd) {
            Some(e) => Err(e),
            None => listen::rebind(&mut self.sockets.held, want),
        });
        match bound {
            Ok(()) => {
                self.sockets.bound_from = Some(raw);
                self.listen_fine();
                Listen::Held
            }
            Err(e) => self.listen_failed(e.to_string().as_bytes()),
        }
    }

    fn close_sockets(&mut self) {
        self.sockets.held.clear();
        self.sockets.bound_from = None;
    }

    fn is_descendant(&mut self, pid: i32, ancestor: i32) -> bool {
        unix::notify::is_descendant(pid, ancestor)
    }

    fn notify_status(&mut self) {
        let text = self.sockets.pending_status.take().unwrap_or_default();
        if let Err(e) = notify::write_record(&self.main.sup, notify::STATUS_TEXT, &text) {
            self.label.warn_err(&[b"unable to write ", &self.main.sup.name(notify::STATUS_TEXT)], &e);
        }
    }

    fn withdraw_ready(&mut self, slot: Kind) {
        self.deps.touched();
        let Some(files) = self.files(slot) else { return };
        if let Err(e) = extras::remove_ready(&files.sup) {
            let name = files.sup.name(extras::READY);
            self.label.warn_err(&[b"unable to remove ", &name], &e);
        }
    }

    fn dependents_running(&mut self) -> bool {
        self.deps.dependents_running()
    }

    fn show_waiting(&mut self, slot: Kind, on: bool) {
        self.deps.touched();
        self.deps.show_waiting(slot, on);
    }

    #[inline(never)]
    fn oneshot_record(&mut self, slot: Kind, ok: Option<bool>) {
        self.deps.touched();
        use supervise::depends::{write_oneshot, OneshotRecord, Outcome};
        let Some(files) = self.files(slot) else { return };
        let sup = files.sup.clone();
        let r = ok.map(|ok| OneshotRecord {
            outcome: if ok { Outcome::Done } else { Outcome::Failed },
            stamp: Tai64n::now(),
        });
        if let Err((text, e)) = write_oneshot(&sup, r.as_ref()) {
            self.report(&text, e);
        }
    }

    #[inline(never)]
    fn contain(&mut self, slot: Kind) -> Containment {
        let label = self.label.clone();
        let is_log = slot == Kind::Log;
        let Some(files) = (match slot {
            Kind::Main => Some(&mut self.main),
            Kind::Log => self.log.as_mut(),
        }) else {
            return Containment::Off;
        };
        // A cgroup left from the previous run (it is removed when the slot
        // goes down) is replaced.
        if let Some(old) = files.contain.active.take() {
            contain::release(old, &label);
        }
        match contain::contain(is_log, &self.env, &mut files.contain, &label) {
            Contained::Off => Containment::Off,
            Contained::On(a) => {
                files.contain.active = Some(a);
                Containment::Contained
            }
            Contained::Uncontained => Containment::Uncontained,
            Contained::Refused => Containment::Refused,
        }
    }

    fn cgroup_drain(&mut self, slot: Kind) -> bool {
        let Some(a) = self.files(slot).and_then(|f| f.contain.active.as_mut()) else { return true };
        contain::drain(&a.cg, &mut a.watch)
    }

    fn cgroup_release(&mut self, slot: Kind) {
        let label = self.label.clone();
        if let Some(a) = self.files(slot).and_then(|f| f.contain.active.take()) {
            contain::release(a, &label);
        }
    }

    fn orphan_signal(&mut self, slot: Kind, sig: i32) {
        if let Some(o) = self.files(slot).and_then(|f| f.contain.orphan.as_ref()) {
            let _ = o.proc.signal(sig);
        }
    }

    fn orphan_drain(&mut self, slot: Kind) -> bool {
        let Some(files) = self.files(slot) else { return true };
        let Some(o) = &mut files.contain.orphan else { return true };
        o.exited = true;
        let empty = match &o.cgroup {
            Some(cg) => contain::drain(cg, &mut o.watch),
            None => true,
        };
        if empty {
            files.contain.orphan = None;
        }
        empty
    }
}
