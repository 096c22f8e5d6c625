//! Every decision runsv makes, in one place.
//!
//! runsv supervises two process slots, the service (`./run`, `./finish`)
//! and, when `log/` exists, its log service (`./log/run`). [`Machine`]
//! holds what runsv knows about both; [`Machine::step`] takes one
//! [`Event`] (a control letter, a child that exited, a readiness line, a
//! SIGTERM, a change in what holds a start back, or the end of a loop
//! round) and decides what to do. It touches the world only through the
//! [`Io`] trait: spawning, signalling, reading the opt-in files and
//! publishing the status files. The I/O loop in `lib.rs` turns descriptors
//! into events; the unit tests at the bottom drive the table with a fake
//! [`Io`], without forking.
//!
//! The order runit's loop gives is kept by the caller: one [`Event::Tick`]
//! starts every round (deadlines that passed, the exit check, then the
//! starts that are due, log first), then the events of the round in
//! runit's order: exited children, readiness, one control byte per FIFO,
//! SIGTERM.
//!
//! The rules, as docs/PROTOCOL.md and runsv(8) state them:
//! - a slot is started when it has no process and is wanted up, or is in
//!   state finish (`./finish` runs after every `./run` of the service), or
//!   a `o` is pending; never twice within a second of the previous start
//!   of `./run` (runit's rule; a deadline here, not a sleep), nor while a
//!   [`Holds`] reason holds it back (opt-in features);
//! - a stop sends the down-signal (TERM unless `down-signal` says
//!   otherwise), then CONT, and runs the `control/d` or `control/x` script
//!   when the service is wanted down or told to exit;
//! - `restart-backoff`, `timeout-kill`, `timeout-finish`, `flag-killpg` and
//!   `flag-timeout-killpg` refine the delays and signals (docs/EXTENSIONS.md).
//! - `listen` (man/runsv.8, SOCKETS AND NOTIFICATION): the service's
//!   sockets are bound at the first tick and again by `u` after an edit;
//!   while they cannot be, [`Hold::Sockets`] keeps the service down. They
//!   go to every `./run`, and are closed by `x`. With `flag-on-demand`, a
//!   start of `./run` waits under [`Hold::OnDemand`] until
//!   [`Event::ConnectionPending`]. `notify-socket`: [`Event::Notify`] from
//!   `./run` or its descendants marks readiness (`READY=1`), withdraws it
//!   (`STOPPING=1`) and keeps the `STATUS=` text.
//!
//! Dependencies (opt-in, `depends` and `oneshot`, docs/EXTENSIONS.md):
//! - the loop reads the dependencies' files and reports a [`DepView`] with
//!   [`Event::Deps`]; a slot that is down is held while any dependency
//!   holds it ([`Hold::Dependencies`], `supervise/waiting` shown), a
//!   running one only while a hard dependency is not ready, and is then
//!   stopped, to start again by itself when they are;
//! - a stop of the service's `./run` (`d`, `x`, SIGTERM, or a lost hard
//!   dependency) first lets its running hard dependents stop: the want is
//!   published at once, the stop signal waits for [`Event::Dependents`]
//!   saying they are down, at most `timeout-kill` (else 7 s);
//! - a `oneshot` service's `./run` is not restarted: exit 0 is "done"
//!   (recorded in `supervise/oneshot`, want down), any other end "failed"
//!   (want down too, unless `restart-backoff` retries it).

use std::time::{Duration, Instant};
use supervise::extras;
use supervise::listen::{FLAG_ON_DEMAND, LISTEN};
use supervise::notify::NOTIFY_SOCKET;
use supervise::{State, Want};
use unix::proc::WaitStatus;
use unix::tai64n::Tai64n;

/// runit's minimum time between two starts of a service that exited fast.
pub const RESTART_DELAY: Duration = Duration::from_secs(1);
/// How long runsv waits before retrying a failed `fork`.
pub const FORK_RETRY: Duration = Duration::from_secs(5);
/// The longest a stop waits for hard dependents without `timeout-kill`
/// (sv's default wait).
pub const DEPENDENTS_WAIT: Duration = Duration::from_secs(7);

/// What the loop last read about a slot's dependencies.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DepView {
    /// Some dependency holds back a start (or a cycle does).
    pub blocked: bool,
    /// Some hard dependency is not ready: a running service must stop.
    pub hard_unready: bool,
}
/// How long an orphaned `./run` (see [`Orphan`]) gets between the
/// down-signal and KILL when the service has no `timeout-kill`.
pub const ORPHAN_KILL_AFTER: Duration = Duration::from_secs(7);
/// How long an orphaned log service gets to exit by itself on
/// end-of-file, once the orphaned service is gone, before it is stopped.
pub const ORPHAN_LOG_EOF: Duration = Duration::from_secs(3);

/// Which of the two slots.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    Main,
    Log,
}

/// How the current `./run` uses a process group of its own (opt-in).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Group {
    /// runit's way: runsv's group; every signal goes to the pid.
    Shared,
    /// `flag-timeout-killpg` (s6): own group, only the `timeout-kill` KILL
    /// goes to the group.
    TimeoutKill,
    /// `flag-killpg`: own group; stops (down-signal, CONT) and KILLs go to
    /// the group.
    Stops,
}

/// A reason to keep a slot that should run from starting. Opt-in features
/// set and clear them with [`Event::Hold`]; the status files keep runit's
/// bytes meanwhile (down, wanted up).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Hold {
    /// Something this service needs is not ready (or not there yet).
    Dependencies = 1,
    /// The service's sockets could not be set up.
    Sockets = 2,
    /// Started on demand only: no client is waiting yet.
    OnDemand = 4,
    /// A process of an earlier supervisor is still being stopped.
    Orphan = 8,
    /// Containment is required and not available.
    Containment = 16,
}

impl Hold {
    /// Whether setting this hold also stops a running `./run` (which is
    /// then started again when the hold is released).
    pub fn stops_running(self) -> bool {
        matches!(self, Hold::Dependencies)
    }
}

/// The set of [`Hold`]s on a slot.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Holds(u8);

impl Holds {
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
    pub fn contains(self, h: Hold) -> bool {
        self.0 & h as u8 != 0
    }
    fn set(&mut self, h: Hold, on: bool) {
        if on {
            self.0 |= h as u8;
        } else {
            self.0 &= !(h as u8);
        }
    }
}

/// The service's `listen` sockets, as far as the table knows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Listen {
    /// No `listen` file (or not read yet).
    #[default]
    Absent,
    /// Every socket of `listen` is bound and held.
    Held,
    /// `listen` could not be read, parsed or bound (already reported).
    Failed,
}

/// What a slot knows about its process. The first fields are what the
/// status files show; the rest drive the decisions.
#[derive(Clone, Debug)]
pub struct Slot {
    pub kind: Kind,
    pub pid: i32,
    pub state: State,
    pub want: Want,
    pub paused: bool,
    /// A stop signal was sent to the current process.
    pub term: bool,
    /// The status timestamp: last start of `./run`, or when it went down.
    pub stamp: Tai64n,
    /// The pid changed since the `pid` file was last written.
    pub pid_changed: bool,
    /// Monotonic time of the last start of `./run`, for the 1-second rule.
    started: Instant,
    /// How the last `./run` ended, for `./finish`'s arguments.
    wstat: WaitStatus,
    /// No start before this (the restart delay, or a fork retry).
    not_before: Option<Instant>,
    /// `o` arrived while a delay ran: start once when it ends.
    once_pending: bool,
    /// `supervise/ready` was written for the current `./run`.
    ready: bool,
    group: Group,
    /// KILL the current process then: `timeout-kill` after a stop of
    /// `./run`, or `timeout-finish` for `./finish`.
    kill_at: Option<Instant>,
    /// The group of a `./run` that is gone, still to be KILLed then.
    linger: Option<(i32, Instant)>,
    /// runsv stopped or killed the current `./run`: its end is no failure.
    stop_sent: bool,
    /// The next `restart-backoff` delay; `None`: INITIAL.
    backoff_next: Option<Duration>,
    /// runit's own 1-second hold on the next start (kept when `u` cuts a
    /// back-off short).
    floor: Option<Instant>,
    pub holds: Holds,
    /// The main slot's `listen` sockets.
    pub listen: Listen,
    /// `listen` was read at least once (the first tick does it).
    listen_read: bool,
    /// A client is waiting (`flag-on-demand`): the next start may go.
    demand: bool,
    /// The dependencies as last reported; `None` without `depends`.
    deps: Option<DepView>,
    /// A stop of `./run` waits for the hard dependents to go down, at
    /// most until then.
    stop_wait: Option<Instant>,
    /// How the last `./run` ended, when it was not stopped by runsv:
    /// whether it exited 0 (a `oneshot`'s outcome).
    run_ok: Option<bool>,
    /// The current process runs in a cgroup of its own (`cgroup/`).
    contained: bool,
    /// The contained process was reaped, but its cgroup is not empty yet:
    /// how it ended, kept until [`Event::CgroupEmpty`]. The slot counts as
    /// running until then, and its pid is never signalled again.
    draining: Option<WaitStatus>,
}

impl Slot {
    fn new(kind: Kind, want: Want, now: Now) -> Slot {
        Slot {
            kind,
            pid: 0,
            state: State::Down,
            want,
            paused: false,
            term: false,
            stamp: now.tai,
            pid_changed: true,
            started: now.mono,
            wstat: WaitStatus(0),
            not_before: None,
            once_pending: false,
            ready: false,
            group: Group::Shared,
            kill_at: None,
            linger: None,
            stop_sent: false,
            backoff_next: None,
            floor: None,
            holds: Holds::default(),
            listen: Listen::Absent,
            listen_read: false,
            demand: false,
            deps: None,
            stop_wait: None,
            run_ok: None,
            contained: false,
            draining: None,
        }
    }

    /// Whether the slot should be started now or when its delay ends.
    fn wants_start(&self) -> bool {
        self.pid == 0
            && (self.state == State::Finish || ((self.want == Want::Up || self.once_pending) && self.holds.is_empty()))
    }

    fn delayed(&self, now: Instant) -> bool {
        self.not_before.is_some_and(|t| now < t)
    }

    /// The deadline the loop must wake up for, if any.
    fn deadline(&self) -> Option<Instant> {
        let start = if self.wants_start() { self.not_before } else { None };
        [start, self.kill_at, self.linger.map(|(_, t)| t), self.stop_wait].into_iter().flatten().min()
    }

    fn running(&self) -> bool {
        self.state == State::Run && self.pid > 0
    }

    /// A stop of `./run` is waiting for the hard dependents.
    pub fn stop_waiting(&self) -> bool {
        self.stop_wait.is_some()
    }
}

/// The two clocks a decision may need: monotonic for delays, TAI64N for
/// the status timestamp.
#[derive(Clone, Copy, Debug)]
pub struct Now {
    pub mono: Instant,
    pub tai: Tai64n,
}

impl Now {
    pub fn read() -> Now {
        Now { mono: Instant::now(), tai: Tai64n::now() }
    }
}

/// Something that happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// A byte read from the slot's `supervise/control`.
    Control(Kind, u8),
    /// The slot's process was reaped.
    Exited(Kind, WaitStatus),
    /// The current `./run` wrote a newline on its `notification-fd`.
    ReadyLine(Kind),
    /// runsv got SIGTERM: the service is told to exit (as `x`).
    Terminate,
    /// A hold was set (`true`) or released.
    Hold(Kind, Hold, bool),
    /// The slot's dependencies as read now (only for a slot with
    /// `depends`).
    Deps(Kind, DepView),
    /// Whether a hard dependent of the service still runs (reported while
    /// a stop waits for them, see [`Io::dependents_running`]).
    Dependents(bool),
    /// The orphan of the slot (a process an earlier runsv started) ended.
    OrphanExited(Kind),
    /// Nothing is left of the orphan, its cgroup included.
    OrphanGone(Kind),
    /// The cgroup of the slot's reaped process is empty.
    CgroupEmpty(Kind),
    /// The start of a loop round: deadlines, the exit check, due starts.
    Tick,
    /// A connection or datagram waits on one of the `listen` sockets
    /// (polled only while [`Machine::wants_connection`]).
    ConnectionPending,
    /// A datagram on the notify socket from process `sender`: what it said
    /// (the `STATUS=` text itself stays with the [`Io`]).
    Notify { sender: i32, ready: bool, stopping: bool, status: bool },
}

/// What runsv does after a step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flow {
    Continue,
    /// Everything is down and the service was told to exit: exit 0.
    Exit,
}

/// The process to start in a slot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Spawn {
    /// `./run` (or `./log/run`): the readiness pipe on fd N if asked for,
    /// and a process group of its own if a flag asks for one.
    /// `sockets`: the held `listen` sockets (fd 3 up, `LISTEN_*`);
    /// `notify`: the notify socket (`NOTIFY_SOCKET`).
    Run { notification_fd: Option<i32>, own_group: bool, sockets: bool, notify: bool },
    /// `./finish CODE STATUS`: CODE is the exit code or -1 after a signal,
    /// STATUS the low byte of the wait status (the signal number).
    Finish { code: i32, status: i32 },
}

/// Everything the table needs from the world.
pub trait Io {
    /// Reads and parses the slot's opt-in file `NAME`; `None` when absent
    /// (an unreadable or invalid file is reported and counts as absent).
    fn config<T>(&mut self, slot: Kind, name: &str, parse: fn(&[u8]) -> Option<T>) -> Option<T>;
    /// Whether the slot has the opt-in flag file `NAME`.
    fn flag(&mut self, slot: Kind, name: &str) -> bool;
    /// Whether the service has a `./finish` (runit opens it to find out).
    fn finish_exists(&mut self) -> bool;
    /// Runs the service's `control/C` script if usable, with the pid as
    /// argument when there is one; returns whether it vetoed the default
    /// action (exit 0).
    fn control_script(&mut self, letter: u8, pid: i32) -> bool;
    /// Starts the process and returns its pid; `None` when it could not
    /// (fork failed), which the implementation has already reported.
    fn spawn(&mut self, slot: Kind, what: &Spawn) -> Option<i32>;
    /// `kill(target, sig)`: a pid, or a negated process group.
    fn kill(&mut self, target: i32, sig: i32);
    /// Whether any process is left in the group.
    fn group_alive(&mut self, pgid: i32) -> bool;
    /// Rewrites `pid` (if changed), `stat` and `status`; returns whether
    /// the `pid` file is now current.
    fn publish(&mut self, slot: &Slot) -> bool;
    /// Writes `supervise/ready` for `pid`.
    fn set_ready(&mut self, slot: Kind, pid: i32);
    /// Forgets the readiness pipe of the `./run` that ended (or is being
    /// replaced), and removes `supervise/ready` when `remove`.
    fn unready(&mut self, slot: Kind, remove: bool);
    /// Closes runsv's ends of the log pipe, so the log service reads EOF.
    fn close_log_pipe(&mut self);
    /// Reads `listen` and binds its sockets unless the file is unchanged
    /// since they were bound; reports a failure (one warning line, and
    /// `supervise/listen-error` until it is fixed).
    fn load_sockets(&mut self) -> Listen;
    /// Closes the held `listen` sockets (`x`).
    fn close_sockets(&mut self);
    /// Whether process `pid` is `ancestor` or one of its descendants.
    fn is_descendant(&mut self, pid: i32, ancestor: i32) -> bool;
    /// Keeps the `STATUS=` text of the datagram being handled.
    fn notify_status(&mut self);
    /// Removes `supervise/ready` (the service said `STOPPING=1`).
    fn withdraw_ready(&mut self, slot: Kind);
    /// Whether a hard dependent of the service runs; if so the loop keeps
    /// watching them and reports [`Event::Dependents`].
    fn dependents_running(&mut self) -> bool;
    /// Shows (or removes) `supervise/waiting` with what the slot waits for.
    fn show_waiting(&mut self, slot: Kind, on: bool);
    /// Records a `oneshot`'s outcome in `supervise/oneshot` (exit 0 or
    /// not), or removes the record (`None`, when `./run` starts).
    fn oneshot_record(&mut self, slot: Kind, ok: Option<bool>);
    /// Sets up the slot's cgroup before `./run` starts (`cgroup/`).
    fn contain(&mut self, slot: Kind) -> Containment;
    /// After the contained process was reaped: ends whatever is left in
    /// its cgroup (`cgroup.kill`); returns whether the cgroup is empty.
    fn cgroup_drain(&mut self, slot: Kind) -> bool;
    /// The slot is down: removes its (empty) cgroup.
    fn cgroup_release(&mut self, slot: Kind);
    /// Signals the slot's orphan, only while it is still that process.
    fn orphan_signal(&mut self, slot: Kind, sig: i32);
    /// The orphan ended: ends what is left in its cgroup; returns whether
    /// nothing is left.
    fn orphan_drain(&mut self, slot: Kind) -> bool;
}

/// What [`Io::contain`] managed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Containment {
    /// No `cgroup/`: runit's way.
    #[default]
    Off,
    /// `./run` joins its cgroup.
    Contained,
    /// Containment is not available here (reported): runs uncontained.
    Uncontained,
    /// Not available and `cgroup/required`: do not start (reported).
    Refused,
}

/// Where the stop of an orphan stands. An orphan is a `./run` (or
/// `./log/run`) that a runsv killed by SIGKILL left running; the runsv that
/// replaces it stops it the way `sv down` would, service first, then the
/// log service (which first gets the chance to read the service's last
/// lines and exit on end-of-file), and only then starts anything.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Orphan {
    /// Waits for its turn (the log orphan, while the service's runs).
    Queued,
    /// Given until then to exit by itself (the log orphan, on EOF).
    Waiting(Instant),
    /// The down-signal was sent; KILL then.
    Stopping(Instant),
    /// KILL was sent, or it ended and its cgroup is being emptied.
    Ending,
}

/// The two slots.
#[derive(Clone, Debug)]
pub struct Machine {
    pub main: Slot,
    pub log: Option<Slot>,
    /// Processes left by an earlier runsv, being stopped.
    pub orphan_main: Option<Orphan>,
    pub orphan_log: Option<Orphan>,
}

impl Machine {
    /// A runsv that has not started anything yet; `log_want` is `None`
    /// without a log service.
    pub fn new(main_want: Want, log_want: Option<Want>, now: Now) -> Machine {
        Machine {
            main: Slot::new(Kind::Main, main_want, now),
            log: log_want.map(|w| Slot::new(Kind::Log, w, now)),
            orphan_main: None,
            orphan_log: None,
        }
    }

    /// At start-up: the service (`main`) and/or the log service (`log`)
    /// of an earlier runsv still run. Nothing starts until both are gone:
    /// the service is stopped first, then the log service.
    pub fn orphans_found(&mut self, main: bool, log: bool, now: Now, io: &mut impl Io) {
        let log = log && self.log.is_some();
        if !main && !log {
            return;
        }
        self.main.holds.set(Hold::Orphan, true);
        if let Some(l) = &mut self.log {
            l.holds.set(Hold::Orphan, true);
        }
        if log {
            self.orphan_log = Some(Orphan::Queued);
        }
        if main {
            self.orphan_main = Some(stop_orphan(Kind::Main, now, io));
        } else {
            self.orphan_log = Some(Orphan::Waiting(now.mono + ORPHAN_LOG_EOF));
        }
    }

    fn orphan_mut(&mut self, kind: Kind) -> &mut Option<Orphan> {
        match kind {
            Kind::Main => &mut self.orphan_main,
            Kind::Log => &mut self.orphan_log,
        }
    }

    /// An orphan is completely gone: the log orphan's turn comes, or,
    /// with none left, the holds are released.
    fn orphan_gone(&mut self, kind: Kind, now: Now) {
        *self.orphan_mut(kind) = None;
        if kind == Kind::Main && self.orphan_log == Some(Orphan::Queued) {
            self.orphan_log = Some(Orphan::Waiting(now.mono + ORPHAN_LOG_EOF));
        }
        if self.orphan_main.is_none() && self.orphan_log.is_none() {
            self.main.holds.set(Hold::Orphan, false);
            if let Some(l) = &mut self.log {
                l.holds.set(Hold::Orphan, false);
            }
        }
    }

    /// Orphan deadlines that passed: the log orphan's wait for EOF ends in
    /// a stop, a stop's grace ends in KILL.
    fn orphan_timers(&mut self, now: Now, io: &mut impl Io) {
        for kind in [Kind::Main, Kind::Log] {
            let next = match *self.orphan_mut(kind) {
                Some(Orphan::Waiting(t)) if now.mono >= t => stop_orphan(kind, now, io),
                Some(Orphan::Stopping(t)) if now.mono >= t => {
                    io.orphan_signal(kind, libc::SIGKILL);
                    Orphan::Ending
                }
                _ => continue,
            };
            *self.orphan_mut(kind) = Some(next);
        }
    }

    /// Writes the first status files, as runsv does at start-up.
    pub fn publish_all(&mut self, io: &mut impl Io) {
        publish(&mut self.main, io);
        if let Some(log) = &mut self.log {
            publish(log, io);
        }
    }

    /// The slot whose process has this pid.
    pub fn slot_of(&self, pid: i32) -> Option<Kind> {
        if pid <= 0 {
            None
        } else if self.main.pid == pid {
            Some(Kind::Main)
        } else if self.log.as_ref().is_some_and(|l| l.pid == pid) {
            Some(Kind::Log)
        } else {
            None
        }
    }

    pub fn slot(&self, kind: Kind) -> Option<&Slot> {
        match kind {
            Kind::Main => Some(&self.main),
            Kind::Log => self.log.as_ref(),
        }
    }

    fn slot_mut(&mut self, kind: Kind) -> Option<&mut Slot> {
        match kind {
            Kind::Main => Some(&mut self.main),
            Kind::Log => self.log.as_mut(),
        }
    }

    /// Whether the loop should watch the `listen` sockets for a client:
    /// only while an on-demand start waits for one (a running service
    /// accepts them itself).
    pub fn wants_connection(&self) -> bool {
        self.main.holds.contains(Hold::OnDemand)
    }

    /// (Re)reads `listen`: a failure holds the service down until a later
    /// `u` succeeds.
    fn load_listen(&mut self, io: &mut impl Io) {
        let s = &mut self.main;
        s.listen_read = true;
        // Without the file (and nothing held from it) there is nothing
        // to read: a service without `listen` is left exactly as it was.
        if s.listen == Listen::Absent && !io.flag(Kind::Main, LISTEN) {
            return;
        }
        s.listen = io.load_sockets();
        s.holds.set(Hold::Sockets, s.listen == Listen::Failed);
        // No socket to wait on, or no longer asked to: the start decides
        // again.
        if s.listen != Listen::Held || !io.flag(Kind::Main, FLAG_ON_DEMAND) {
            s.holds.set(Hold::OnDemand, false);
        }
    }

    /// When the loop must wake up even if nothing happens.
    pub fn deadline(&self) -> Option<Instant> {
        let orphan = |o: Option<Orphan>| match o {
            Some(Orphan::Waiting(t) | Orphan::Stopping(t)) => Some(t),
            _ => None,
        };
        [
            self.main.deadline(),
            self.log.as_ref().and_then(Slot::deadline),
            orphan(self.orphan_main),
            orphan(self.orphan_log),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// The slots whose reaped process's cgroup is still being emptied.
    pub fn draining(&self) -> impl Iterator<Item = Kind> + '_ {
        [Some(&self.main), self.log.as_ref()].into_iter().flatten().filter(|s| s.draining.is_some()).map(|s| s.kind)
    }

    /// Handles one event. This is the whole of runsv's behaviour.
    pub fn step(&mut self, ev: Event, now: Now, io: &mut impl Io) -> Flow {
        match ev {
            Event::Tick => {
                self.orphan_timers(now, io);
                if !self.main.listen_read {
                    self.load_listen(io);
                }
                timers(&mut self.main, now, io);
                if let Some(log) = &mut self.log {
                    timers(log, now, io);
                }
                if self.exit_due(io) {
                    return Flow::Exit;
                }
                if let Some(log) = &mut self.log {
                    start_if_due(log, now, io);
                }
                start_if_due(&mut self.main, now, io);
            }
            Event::Control(Kind::Main, b'u') => {
                // `sv up` after an edit of `listen` applies it; the start
                // decides again whether to wait for a client.
                self.load_listen(io);
                control(&mut self.main, b'u', now, io);
            }
            Event::Control(Kind::Main, b'x') | Event::Terminate => {
                control(&mut self.main, b'x', now, io);
                if self.main.listen == Listen::Held {
                    io.close_sockets();
                    self.main.listen = Listen::Absent;
                }
                self.main.holds.set(Hold::OnDemand, false);
            }
            Event::Control(kind, c) => {
                if let Some(s) = self.slot_mut(kind) {
                    control(s, c, now, io);
                }
            }
            Event::ConnectionPending => {
                let s = &mut self.main;
                if s.holds.contains(Hold::OnDemand) {
                    // The next tick starts it (after runit's 1-second rule).
                    s.demand = true;
                    s.holds.set(Hold::OnDemand, false);
                }
            }
            Event::Notify { sender, ready, stopping, status } => {
                let s = &mut self.main;
                let from_service = s.pid > 0
                    && s.state == State::Run
                    && sender > 0
                    && (sender == s.pid || io.is_descendant(sender, s.pid));
                if !from_service {
                    return Flow::Continue;
                }
                if status {
                    io.notify_status();
                }
                if stopping && s.ready {
                    s.ready = false;
                    io.withdraw_ready(Kind::Main);
                } else if ready && !s.ready {
                    s.ready = true;
                    io.set_ready(Kind::Main, s.pid);
                }
            }
            Event::Deps(kind, view) => {
                if let Some(s) = self.slot_mut(kind) {
                    s.deps = Some(view);
                    apply_deps(s, now, io);
                }
            }
            Event::Dependents(running) => {
                if !running && self.main.stop_wait.take().is_some() {
                    stop(&mut self.main, now, io);
                }
            }
            Event::Exited(kind, st) => {
                if let Some(s) = self.slot_mut(kind) {
                    if s.contained && s.draining.is_none() && !io.cgroup_drain(kind) {
                        // Down only once nothing is left in the cgroup.
                        s.draining = Some(st);
                    } else {
                        reaped(s, st, now, io);
                    }
                }
            }
            Event::CgroupEmpty(kind) => {
                if let Some(s) = self.slot_mut(kind) {
                    if let Some(st) = s.draining.take() {
                        reaped(s, st, now, io);
                    }
                }
            }
            Event::OrphanExited(kind) => {
                if self.orphan_mut(kind).is_some() {
                    if io.orphan_drain(kind) {
                        self.orphan_gone(kind, now);
                    } else {
                        *self.orphan_mut(kind) = Some(Orphan::Ending);
                    }
                }
            }
            Event::OrphanGone(kind) => {
                if self.orphan_mut(kind).is_some() {
                    self.orphan_gone(kind, now);
                }
            }
            Event::ReadyLine(kind) => {
                if let Some(s) = self.slot_mut(kind) {
                    if !s.ready && s.pid > 0 && s.state == State::Run {
                        s.ready = true;
                        io.set_ready(kind, s.pid);
                    }
                }
            }
            Event::Hold(kind, h, on) => {
                if let Some(s) = self.slot_mut(kind) {
                    s.holds.set(h, on);
                    if on && h.stops_running() && s.state == State::Run && s.pid > 0 {
                        stop(s, now, io);
                    }
                }
            }
        }
        Flow::Continue
    }

    /// Exit once the main service is down for good; with a running log
    /// service, first close the pipe so that it sees end-of-file. A group
    /// still due for its `timeout-kill` KILL is waited for, so nothing the
    /// service forked outlives runsv.
    fn exit_due(&mut self, io: &mut impl Io) -> bool {
        if self.main.want != Want::Exit || self.main.state != State::Down {
            return false;
        }
        // An orphan being stopped is finished first: exiting half-way
        // would leave it running, or KILLed without its grace.
        if self.orphan_main.is_some() || self.orphan_log.is_some() || self.main.draining.is_some() {
            return false;
        }
        let mut lingering = |s: &Slot| s.linger.is_some_and(|(pgid, _)| io.group_alive(pgid));
        if lingering(&self.main) || self.log.as_ref().is_some_and(&mut lingering) {
            return false;
        }
        match &mut self.log {
            Some(log) if log.pid != 0 => {
                if log.want != Want::Exit {
                    log.want = Want::Exit;
                    publish(log, io);
                    io.close_log_pipe();
                }
                false
            }
            _ => true,
        }
    }
}

fn publish(s: &mut Slot, io: &mut impl Io) {
    if io.publish(s) {
        s.pid_changed = false;
    }
}

/// The service's `control/C` override; the log service has none.
fn custom(s: &Slot, c: u8, io: &mut impl Io) -> bool {
    s.kind == Kind::Main && io.control_script(c, s.pid)
}

/// The down-signal (then CONT) to an orphan, with KILL due after the
/// service's `timeout-kill` or [`ORPHAN_KILL_AFTER`].
fn stop_orphan(kind: Kind, now: Now, io: &mut impl Io) -> Orphan {
    let sig = io.config(kind, extras::DOWN_SIGNAL, extras::parse_signal).unwrap_or(libc::SIGTERM);
    io.orphan_signal(kind, sig);
    io.orphan_signal(kind, libc::SIGCONT);
    let grace = io
        .config(kind, extras::TIMEOUT_KILL, extras::parse_millis)
        .filter(|&ms| ms > 0)
        .map_or(ORPHAN_KILL_AFTER, Duration::from_millis);
    Orphan::Stopping(now.mono.checked_add(grace).unwrap_or(now.mono))
}

fn signal(s: &Slot, sig: i32, io: &mut impl Io) {
    // Never 0 or negative: that would signal a whole process group; never
    // a pid already reaped (the cgroup is draining), which may be reused.
    if s.pid > 0 && s.draining.is_none() {
        io.kill(s.pid, sig);
    }
}

/// Signals the process group led by `pgid`: only ever the pid of a
/// `./run` that runsv started as a group leader; never 0, 1 or negative.
fn signal_group(pgid: i32, sig: i32, io: &mut impl Io) {
    if pgid > 1 {
        io.kill(-pgid, sig);
    }
}

/// A stop signal (down-signal, CONT, KILL): to the group with
/// `flag-killpg`, else to the pid.
fn signal_stop(s: &Slot, sig: i32, io: &mut impl Io) {
    if s.state == State::Run && s.group == Group::Stops && s.pid > 0 && s.draining.is_none() {
        signal_group(s.pid, sig, io);
    } else {
        signal(s, sig, io);
    }
}

fn start_if_due(s: &mut Slot, now: Now, io: &mut impl Io) {
    if s.wants_start() && !s.delayed(now.mono) {
        start(s, now, io);
    }
}

/// Sets or clears the dependency hold from the last [`DepView`]: a slot
/// without a process waits for every dependency, a running one only for
/// its hard dependencies, and is stopped (in order) when one is lost.
fn apply_deps(s: &mut Slot, now: Now, io: &mut impl Io) {
    let Some(v) = s.deps else { return };
    let running = s.running();
    let hold = if running { v.hard_unready } else { v.blocked };
    let was = s.holds.contains(Hold::Dependencies);
    if hold == was {
        return;
    }
    s.holds.set(Hold::Dependencies, hold);
    // Shown before the stop, so its own dependents see it going.
    io.show_waiting(s.kind, hold);
    if hold && running {
        begin_stop(s, now, io);
    } else if !hold && s.want == Want::Up && s.stop_wait.take().is_some() {
        // Back before the stop was sent: it keeps running.
        publish(s, io);
    } else if !hold && !running && s.stop_sent && s.backoff_next.is_none() {
        // Stopped for its dependencies, not a fast exit of its own:
        // runit's one-second pause does not apply to the restart.
        s.not_before = None;
        s.floor = None;
    }
}

/// A stop of the service's `./run`, after its running hard dependents
/// (if any) have stopped: the want is already published, so they see it
/// and stop themselves; the signal waits for [`Event::Dependents`] or the
/// bound.
fn begin_stop(s: &mut Slot, now: Now, io: &mut impl Io) {
    if s.stop_wait.is_some() {
        return;
    }
    if s.kind == Kind::Main && s.running() && io.dependents_running() {
        let bound = io
            .config(s.kind, extras::TIMEOUT_KILL, extras::parse_millis)
            .filter(|&ms| ms > 0)
            .map_or(DEPENDENTS_WAIT, Duration::from_millis);
        s.stop_wait = Some(now.mono + bound);
        return;
    }
    stop(s, now, io);
}

/// Starts `./finish CODE STATUS` in state finish, else `./run`.
fn start(s: &mut Slot, now: Now, io: &mut impl Io) {
    let finishing = s.state == State::Finish;
    let what = if finishing {
        let code = if s.wstat.term_signal().is_some() { -1 } else { (s.wstat.0 >> 8) & 0xff };
        Spawn::Finish { code, status: s.wstat.low_byte() }
    } else {
        // On demand: no `./run` until a client waits on a held socket.
        if s.kind == Kind::Main && s.listen == Listen::Held && !s.demand && io.flag(s.kind, FLAG_ON_DEMAND) {
            s.holds.set(Hold::OnDemand, true);
            return;
        }
        custom(s, b'u', io);
        if io.flag(s.kind, supervise::depends::ONESHOT) {
            io.oneshot_record(s.kind, None);
        }
        // The readiness of the previous `./run` ends here.
        io.unready(s.kind, s.ready);
        s.ready = false;
        let notification_fd = io.config(s.kind, extras::NOTIFICATION_FD, extras::parse_notification_fd);
        s.group = if io.flag(s.kind, extras::FLAG_KILLPG) {
            Group::Stops
        } else if io.flag(s.kind, extras::FLAG_TIMEOUT_KILLPG) {
            Group::TimeoutKill
        } else {
            Group::Shared
        };
        match io.contain(s.kind) {
            Containment::Refused => {
                // Stays down, wanted up, until `u` or `o` tries again.
                s.holds.set(Hold::Containment, true);
                return;
            }
            c => s.contained = c == Containment::Contained,
        }
        let main = s.kind == Kind::Main;
        Spawn::Run {
            notification_fd,
            own_group: s.group != Group::Shared,
            sockets: main && s.listen == Listen::Held,
            notify: main && io.flag(s.kind, NOTIFY_SOCKET),
        }
    };
    let Some(pid) = io.spawn(s.kind, &what) else {
        s.not_before = Some(now.mono + FORK_RETRY);
        return;
    };
    if finishing {
        s.kill_at = io
            .config(s.kind, extras::TIMEOUT_FINISH, extras::parse_millis)
            .filter(|&ms| ms > 0)
            .and_then(|ms| now.mono.checked_add(Duration::from_millis(ms)));
    } else {
        s.stamp = now.tai;
        s.started = now.mono;
        s.state = State::Run;
        s.stop_sent = false;
        s.kill_at = None;
        s.demand = false;
    }
    s.pid = pid;
    s.pid_changed = true;
    s.paused = false;
    s.term = false;
    s.not_before = None;
    s.once_pending = false;
    publish(s, io);
}

/// One control letter (docs/PROTOCOL.md, section 5).
fn control(s: &mut Slot, c: u8, now: Now, io: &mut impl Io) {
    let running = s.state == State::Run;
    match c {
        b'd' => {
            s.want = Want::Down;
            s.once_pending = false;
            publish(s, io);
            if running {
                begin_stop(s, now, io);
            }
        }
        b'u' => {
            s.want = Want::Up;
            if !s.holds.contains(Hold::Dependencies) {
                // Wanted up again before the stop was sent: it keeps running.
                s.stop_wait = None;
            }
            s.holds.set(Hold::Containment, false);
            cut_backoff(s, now);
            publish(s, io);
            if s.state == State::Down {
                // During a restart delay, the Tick that ends it starts it.
                start_if_due(s, now, io);
            }
        }
        b'o' => {
            s.want = Want::Down;
            s.holds.set(Hold::Containment, false);
            cut_backoff(s, now);
            publish(s, io);
            if s.state == State::Down {
                s.once_pending = true;
                start_if_due(s, now, io);
            }
        }
        b'x' => {
            // The log service exits when the pipe closes, not on request.
            if s.kind == Kind::Log {
                return;
            }
            s.want = Want::Exit;
            s.once_pending = false;
            publish(s, io);
            if running {
                begin_stop(s, now, io);
            }
        }
        b't' => {
            if running {
                s.stop_wait = None;
                stop(s, now, io);
            }
        }
        b'k' => {
            if running && !custom(s, c, io) {
                signal_stop(s, libc::SIGKILL, io);
                s.stop_sent = true;
            }
            // runit marks it down without writing the status: the files
            // catch up when the process is reaped.
            s.state = State::Down;
        }
        b'p' => {
            if running && !custom(s, c, io) {
                signal(s, libc::SIGSTOP, io);
            }
            s.paused = true;
            publish(s, io);
        }
        b'c' => {
            if running && !custom(s, c, io) {
                signal(s, libc::SIGCONT, io);
            }
            s.paused = false;
            publish(s, io);
        }
        _ => {
            if let Some(sig) = letter_signal(c) {
                if running && !custom(s, c, io) {
                    signal(s, sig, io);
                }
            }
        }
    }
}

/// The letters that only pass a signal on.
fn letter_signal(c: u8) -> Option<i32> {
    match c {
        b'h' => Some(libc::SIGHUP),
        b'a' => Some(libc::SIGALRM),
        b'i' => Some(libc::SIGINT),
        b'q' => Some(libc::SIGQUIT),
        b'1' => Some(libc::SIGUSR1),
        b'2' => Some(libc::SIGUSR2),
        _ => None,
    }
}

/// The stop procedure, with the opt-in `down-signal` instead of TERM and
/// the `timeout-kill` deadline; the `control/t` script may replace the
/// signal, and `control/d` or `control/x` runs after it.
fn stop(s: &mut Slot, now: Now, io: &mut impl Io) {
    if s.pid > 0 && !custom(s, b't', io) {
        let sig = io.config(s.kind, extras::DOWN_SIGNAL, extras::parse_signal).unwrap_or(libc::SIGTERM);
        signal_stop(s, sig, io);
        s.term = true;
        s.stop_sent = true;
        if s.kill_at.is_none() {
            if let Some(ms) = io.config(s.kind, extras::TIMEOUT_KILL, extras::parse_millis).filter(|&ms| ms > 0) {
                s.kill_at = now.mono.checked_add(Duration::from_millis(ms));
            }
        }
        publish(s, io);
    }
    let after = match s.want {
        Want::Down => b'd',
        Want::Exit => b'x',
        Want::Up => return,
    };
    signal_stop(s, libc::SIGCONT, io);
    custom(s, after, io);
}

/// Deadlines that passed: `timeout-kill`, `timeout-finish`, and the group
/// of a stopped `./run` that outlived it.
fn timers(s: &mut Slot, now: Now, io: &mut impl Io) {
    if s.stop_wait.is_some_and(|t| now.mono >= t) {
        // The dependents took too long: stop anyway.
        s.stop_wait = None;
        stop(s, now, io);
    }
    if s.kill_at.is_some_and(|t| now.mono >= t) {
        s.kill_at = None;
        if s.pid > 0 && s.draining.is_none() {
            if s.state == State::Run && s.group != Group::Shared {
                signal_group(s.pid, libc::SIGKILL, io);
            } else {
                signal(s, libc::SIGKILL, io);
            }
        }
    }
    if let Some((pgid, t)) = s.linger {
        if now.mono >= t {
            s.linger = None;
            signal_group(pgid, libc::SIGKILL, io);
        }
    }
}

/// An explicit `u` or `o` starts a service held back by `restart-backoff`
/// without waiting (runit's 1-second rule still holds) and resets it.
fn cut_backoff(s: &mut Slot, now: Now) {
    if s.backoff_next.take().is_some() {
        s.not_before = s.floor.filter(|&t| t > now.mono);
    }
}

/// When the slot, just gone down, may start again: runit's 1 second after
/// a run shorter than that, or the `restart-backoff` delay.
fn schedule_restart(s: &mut Slot, now: Now, io: &mut impl Io) {
    let lived = now.mono.saturating_duration_since(s.started);
    s.floor = if lived < RESTART_DELAY { Some(now.mono + RESTART_DELAY) } else { None };
    s.not_before = s.floor;
    let Some(b) = io.config(s.kind, extras::RESTART_BACKOFF, extras::parse_backoff) else {
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
    s.not_before = [s.floor, now.mono.checked_add(delay)].into_iter().flatten().max();
    s.backoff_next = Some(delay.saturating_mul(2).min(max));
}

/// The slot's process was reaped.
fn reaped(s: &mut Slot, st: WaitStatus, now: Now, io: &mut impl Io) {
    if s.state != State::Finish {
        s.run_ok = (!s.stop_sent).then_some(st.exit_code() == Some(0));
        s.stop_wait = None;
        // `./run` is gone, and so is its readiness; a pending timeout-kill
        // still reaches what is left of its group.
        io.unready(s.kind, s.ready);
        s.ready = false;
        if let Some(t) = s.kill_at.filter(|_| s.state == State::Run && s.group != Group::Shared) {
            s.linger = Some((s.pid, t));
        }
    }
    s.kill_at = None;
    s.pid = 0;
    s.pid_changed = true;
    s.term = false;
    if s.kind == Kind::Main {
        s.wstat = st;
        if s.state != State::Finish && io.finish_exists() {
            s.state = State::Finish;
            publish(s, io);
            return;
        }
    }
    s.state = State::Down;
    s.stamp = now.tai;
    oneshot_ended(s, io);
    if s.contained {
        s.contained = false;
        io.cgroup_release(s.kind);
    }
    publish(s, io);
    // runit sleeps a full second here, blocking everything; only this
    // slot's next start is held back.
    schedule_restart(s, now, io);
    // Now down: a start waits for soft dependencies too.
    apply_deps(s, now, io);
}

/// A `oneshot` whose `./run` ended by itself (and whose `./finish`, if
/// any, is done) is not restarted: its outcome is recorded, and it is no
/// longer wanted up, so `sv up` runs it again. A failure with
/// `restart-backoff` stays wanted up, to be retried.
fn oneshot_ended(s: &mut Slot, io: &mut impl Io) {
    let Some(ok) = s.run_ok.take() else { return };
    if !io.flag(s.kind, supervise::depends::ONESHOT) {
        return;
    }
    io.oneshot_record(s.kind, Some(ok));
    let retry = !ok && io.config(s.kind, extras::RESTART_BACKOFF, extras::parse_backoff).is_some();
    if s.want == Want::Up && !retry {
        s.want = Want::Down;
    }
}

#[cfg(test)]
mod tests;
