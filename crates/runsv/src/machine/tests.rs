//! The step table driven directly: a fake [`Io`] records what runsv would
//! do, and each test reads like the rule it pins.

use super::*;
use std::collections::HashMap;
use supervise::listen::FLAG_ON_DEMAND;
use supervise::notify::NOTIFY_SOCKET;

/// What the fake world did, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Did {
    Spawn(Kind, Spawn, i32),
    Kill(i32, i32),
    Script(u8, i32),
    Ready(Kind, i32),
    Unready(Kind, bool),
    CloseLogPipe,
    Waiting(Kind, bool),
    Oneshot(Kind, Option<bool>),
    LoadSockets,
    CloseSockets,
    NotifyStatus,
    WithdrawReady(Kind),
    Drain(Kind),
    Release(Kind),
    OrphanSignal(Kind, i32),
    OrphanDrain(Kind),
}

#[derive(Default)]
struct Fake {
    did: Vec<Did>,
    /// Opt-in files: (slot, name) -> content.
    files: HashMap<(Kind, &'static str), &'static [u8]>,
    finish: bool,
    /// Usable control scripts: letter -> vetoes (exit 0).
    scripts: HashMap<u8, bool>,
    next_pid: i32,
    fork_fails: bool,
    group_alive: bool,
    /// A hard dependent of the service runs.
    dependents: bool,
    /// Every status written: (slot, pid, state, want, paused, term).
    published: Vec<(Kind, i32, State, Want, bool, bool)>,
    /// What the next `load_sockets` returns.
    listen: Listen,
    /// (pid, ancestor) pairs that are descendants.
    descendants: Vec<(i32, i32)>,
    /// What `contain` answers (`Off` by default: no `cgroup/`).
    containment: Containment,
    /// Whether a drained cgroup still has processes.
    cgroup_populated: bool,
}

impl Fake {
    fn new() -> Fake {
        Fake { next_pid: 100, ..Fake::default() }
    }
    fn with(mut self, kind: Kind, name: &'static str, content: &'static [u8]) -> Fake {
        self.files.insert((kind, name), content);
        self
    }
    fn take(&mut self) -> Vec<Did> {
        std::mem::take(&mut self.did)
    }
    fn kills(&mut self) -> Vec<(i32, i32)> {
        self.take()
            .into_iter()
            .filter_map(|d| match d {
                Did::Kill(t, s) => Some((t, s)),
                _ => None,
            })
            .collect()
    }
    fn spawns(&mut self) -> Vec<Spawn> {
        self.take()
            .into_iter()
            .filter_map(|d| match d {
                Did::Spawn(_, what, _) => Some(what),
                _ => None,
            })
            .collect()
    }
}

impl Io for Fake {
    fn config<T>(&mut self, slot: Kind, name: &str, parse: fn(&[u8]) -> Option<T>) -> Option<T> {
        self.files.iter().find(|((k, n), _)| *k == slot && *n == name).and_then(|(_, v)| parse(v))
    }
    fn flag(&mut self, slot: Kind, name: &str) -> bool {
        self.files.keys().any(|(k, n)| *k == slot && *n == name)
    }
    fn finish_exists(&mut self) -> bool {
        self.finish
    }
    fn control_script(&mut self, letter: u8, pid: i32) -> bool {
        match self.scripts.get(&letter) {
            Some(&veto) => {
                self.did.push(Did::Script(letter, pid));
                veto
            }
            None => false,
        }
    }
    fn spawn(&mut self, slot: Kind, what: &Spawn) -> Option<i32> {
        if self.fork_fails {
            return None;
        }
        self.next_pid += 1;
        self.did.push(Did::Spawn(slot, what.clone(), self.next_pid));
        Some(self.next_pid)
    }
    fn kill(&mut self, target: i32, sig: i32) {
        self.did.push(Did::Kill(target, sig));
    }
    fn group_alive(&mut self, _pgid: i32) -> bool {
        self.group_alive
    }
    fn publish(&mut self, s: &Slot) -> bool {
        self.published.push((s.kind, s.pid, s.state, s.want, s.paused, s.term));
        true
    }
    fn set_ready(&mut self, slot: Kind, pid: i32) {
        self.did.push(Did::Ready(slot, pid));
    }
    fn unready(&mut self, slot: Kind, remove: bool) {
        self.did.push(Did::Unready(slot, remove));
    }
    fn close_log_pipe(&mut self) {
        self.did.push(Did::CloseLogPipe);
    }
    fn dependents_running(&mut self) -> bool {
        self.dependents
    }
    fn show_waiting(&mut self, slot: Kind, on: bool) {
        self.did.push(Did::Waiting(slot, on));
    }
    fn oneshot_record(&mut self, slot: Kind, ok: Option<bool>) {
        self.did.push(Did::Oneshot(slot, ok));
    }
    fn load_sockets(&mut self) -> Listen {
        self.did.push(Did::LoadSockets);
        self.listen
    }
    fn close_sockets(&mut self) {
        self.did.push(Did::CloseSockets);
    }
    fn is_descendant(&mut self, pid: i32, ancestor: i32) -> bool {
        self.descendants.contains(&(pid, ancestor))
    }
    fn notify_status(&mut self) {
        self.did.push(Did::NotifyStatus);
    }
    fn withdraw_ready(&mut self, slot: Kind) {
        self.did.push(Did::WithdrawReady(slot));
    }
    fn contain(&mut self, slot: Kind) -> Containment {
        // Not in `did`: every start asks, and most tests have no cgroup/.
        let _ = slot;
        self.containment
    }
    fn cgroup_drain(&mut self, slot: Kind) -> bool {
        self.did.push(Did::Drain(slot));
        !self.cgroup_populated
    }
    fn cgroup_release(&mut self, slot: Kind) {
        self.did.push(Did::Release(slot));
    }
    fn orphan_signal(&mut self, slot: Kind, sig: i32) {
        self.did.push(Did::OrphanSignal(slot, sig));
    }
    fn orphan_drain(&mut self, slot: Kind) -> bool {
        self.did.push(Did::OrphanDrain(slot));
        !self.cgroup_populated
    }
}

const RUN: Spawn = Spawn::Run { notification_fd: None, own_group: false, sockets: false, notify: false };
const TERM: i32 = libc::SIGTERM;
const CONT: i32 = libc::SIGCONT;
const KILL: i32 = libc::SIGKILL;

/// A clock the tests move by hand.
struct Clock {
    base: Instant,
    ms: u64,
}

impl Clock {
    fn new() -> Clock {
        Clock { base: Instant::now(), ms: 0 }
    }
    fn now(&self) -> Now {
        Now { mono: self.base + Duration::from_millis(self.ms), tai: Tai64n::default() }
    }
    fn advance(&mut self, ms: u64) -> Now {
        self.ms += ms;
        self.now()
    }
}

/// A runsv with one service (no log), at its first tick.
struct Rig {
    m: Machine,
    io: Fake,
    clock: Clock,
}

impl Rig {
    fn new(want: Want, io: Fake) -> Rig {
        Rig::with_log(want, None, io)
    }
    fn with_log(want: Want, log: Option<Want>, io: Fake) -> Rig {
        let clock = Clock::new();
        let mut r = Rig { m: Machine::new(want, log, clock.now()), io, clock };
        r.m.publish_all(&mut r.io);
        r.tick();
        r
    }
    fn step(&mut self, ev: Event) -> Flow {
        self.m.step(ev, self.clock.now(), &mut self.io)
    }
    fn tick(&mut self) -> Flow {
        self.step(Event::Tick)
    }
    fn letter(&mut self, c: u8) {
        self.step(Event::Control(Kind::Main, c));
    }
    fn exit(&mut self, kind: Kind, code: i32) {
        self.step(Event::Exited(kind, WaitStatus(code << 8)));
    }
    fn later(&mut self, ms: u64) -> Flow {
        self.clock.advance(ms);
        self.tick()
    }
    fn main(&self) -> &Slot {
        &self.m.main
    }
}

/// A running service: started, its spawn consumed.
fn running(io: Fake) -> Rig {
    let mut r = Rig::new(Want::Up, io);
    assert_eq!(r.io.spawns(), vec![RUN]);
    assert_eq!((r.main().pid, r.main().state), (101, State::Run));
    r
}

#[test]
fn a_service_wanted_up_starts_at_the_first_tick() {
    let mut r = running(Fake::new());
    assert_eq!(r.io.published.last(), Some(&(Kind::Main, 101, State::Run, Want::Up, false, false)));
    assert_eq!(r.m.deadline(), None, "nothing to wake up for while it runs");
    r.tick();
    assert!(r.io.take().is_empty(), "a second tick starts nothing");
}

#[test]
fn a_service_with_down_waits_for_a_letter() {
    let mut r = Rig::new(Want::Down, Fake::new());
    assert!(r.io.take().is_empty());
    assert_eq!(r.io.published, vec![(Kind::Main, 0, State::Down, Want::Down, false, false)]);
    assert_eq!(r.m.deadline(), None);
}

#[test]
fn the_log_service_starts_before_the_service() {
    let mut r = Rig::with_log(Want::Up, Some(Want::Up), Fake::new());
    let order: Vec<Kind> =
        r.io.take()
            .into_iter()
            .filter_map(|d| match d {
                Did::Spawn(k, _, _) => Some(k),
                _ => None,
            })
            .collect();
    assert_eq!(order, vec![Kind::Log, Kind::Main]);
}

/// How a slot is set up before a letter arrives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Setup {
    /// `./run` up (pid 101), wanted up.
    Running,
    /// Nothing running, wanted down.
    Stopped,
    /// `./finish` running (pid 102) after `./run` exited, wanted up.
    Finishing,
    /// `./run` up and paused.
    Paused,
}

fn setup(s: Setup) -> Rig {
    match s {
        Setup::Running => running(Fake::new()),
        Setup::Stopped => Rig::new(Want::Down, Fake::new()),
        Setup::Finishing => {
            let mut io = Fake::new();
            io.finish = true;
            let mut r = running(io);
            r.exit(Kind::Main, 0);
            r.tick();
            assert_eq!(r.io.spawns(), vec![Spawn::Finish { code: 0, status: 0 }]);
            assert_eq!((r.main().pid, r.main().state), (102, State::Finish));
            r
        }
        Setup::Paused => {
            let mut r = running(Fake::new());
            r.letter(b'p');
            r.io.take();
            r
        }
    }
}

/// One row of the letter table: setup, letter, then the want, state,
/// signals and whether `./run` was started.
type Row = (Setup, u8, Want, State, Vec<(i32, i32)>, bool);

/// Every control letter in every state: the want, state and pid that
/// follow, the signals sent, and whether `./run` was started.
#[test]
fn every_letter_in_every_state() {
    use Setup::*;
    let sig = |c| letter_signal(c).unwrap();
    #[rustfmt::skip]
    let table: Vec<Row> = vec![
        // running ./run, wanted up
        (Running, b'u', Want::Up, State::Run, vec![], false),
        (Running, b'd', Want::Down, State::Run, vec![(101, TERM), (101, CONT)], false),
        (Running, b'o', Want::Down, State::Run, vec![], false),
        (Running, b'x', Want::Exit, State::Run, vec![(101, TERM), (101, CONT)], false),
        (Running, b't', Want::Up, State::Run, vec![(101, TERM)], false),
        (Running, b'k', Want::Up, State::Down, vec![(101, KILL)], false),
        (Running, b'p', Want::Up, State::Run, vec![(101, libc::SIGSTOP)], false),
        (Running, b'c', Want::Up, State::Run, vec![(101, CONT)], false),
        (Running, b'h', Want::Up, State::Run, vec![(101, sig(b'h'))], false),
        (Running, b'a', Want::Up, State::Run, vec![(101, sig(b'a'))], false),
        (Running, b'i', Want::Up, State::Run, vec![(101, sig(b'i'))], false),
        (Running, b'q', Want::Up, State::Run, vec![(101, sig(b'q'))], false),
        (Running, b'1', Want::Up, State::Run, vec![(101, sig(b'1'))], false),
        (Running, b'2', Want::Up, State::Run, vec![(101, sig(b'2'))], false),
        (Running, b'z', Want::Up, State::Run, vec![], false),
        // nothing running, wanted down
        (Stopped, b'u', Want::Up, State::Run, vec![], true),
        (Stopped, b'd', Want::Down, State::Down, vec![], false),
        (Stopped, b'o', Want::Down, State::Run, vec![], true),
        (Stopped, b'x', Want::Exit, State::Down, vec![], false),
        (Stopped, b't', Want::Down, State::Down, vec![], false),
        (Stopped, b'k', Want::Down, State::Down, vec![], false),
        (Stopped, b'p', Want::Down, State::Down, vec![], false),
        (Stopped, b'c', Want::Down, State::Down, vec![], false),
        (Stopped, b'h', Want::Down, State::Down, vec![], false),
        (Stopped, b'a', Want::Down, State::Down, vec![], false),
        (Stopped, b'i', Want::Down, State::Down, vec![], false),
        (Stopped, b'q', Want::Down, State::Down, vec![], false),
        (Stopped, b'1', Want::Down, State::Down, vec![], false),
        (Stopped, b'2', Want::Down, State::Down, vec![], false),
        (Stopped, b'z', Want::Down, State::Down, vec![], false),
        // ./finish running: letters change the want, never signal ./finish
        (Finishing, b'u', Want::Up, State::Finish, vec![], false),
        (Finishing, b'd', Want::Down, State::Finish, vec![], false),
        (Finishing, b'o', Want::Down, State::Finish, vec![], false),
        (Finishing, b'x', Want::Exit, State::Finish, vec![], false),
        (Finishing, b't', Want::Up, State::Finish, vec![], false),
        // runit marks it down, sends nothing
        (Finishing, b'k', Want::Up, State::Down, vec![], false),
        (Finishing, b'p', Want::Up, State::Finish, vec![], false),
        (Finishing, b'c', Want::Up, State::Finish, vec![], false),
        (Finishing, b'h', Want::Up, State::Finish, vec![], false),
        (Finishing, b'a', Want::Up, State::Finish, vec![], false),
        (Finishing, b'i', Want::Up, State::Finish, vec![], false),
        (Finishing, b'q', Want::Up, State::Finish, vec![], false),
        (Finishing, b'1', Want::Up, State::Finish, vec![], false),
        (Finishing, b'2', Want::Up, State::Finish, vec![], false),
        (Finishing, b'z', Want::Up, State::Finish, vec![], false),
        // paused ./run
        (Paused, b'u', Want::Up, State::Run, vec![], false),
        (Paused, b'd', Want::Down, State::Run, vec![(101, TERM), (101, CONT)], false),
        (Paused, b'x', Want::Exit, State::Run, vec![(101, TERM), (101, CONT)], false),
        (Paused, b'c', Want::Up, State::Run, vec![(101, CONT)], false),
        (Paused, b'k', Want::Up, State::Down, vec![(101, KILL)], false),
    ];
    for (s, c, want, state, kills, spawned) in table {
        let mut r = setup(s);
        r.letter(c);
        let what = format!("{s:?} + {}", c as char);
        let did = r.io.take();
        let got_kills: Vec<(i32, i32)> = did
            .iter()
            .filter_map(|d| match d {
                Did::Kill(t, s) => Some((*t, *s)),
                _ => None,
            })
            .collect();
        assert_eq!(got_kills, kills, "{what}: signals");
        assert_eq!(did.iter().any(|d| matches!(d, Did::Spawn(..))), spawned, "{what}: spawn");
        assert_eq!((r.main().want, r.main().state), (want, state), "{what}: want/state");
        match c {
            b'p' => assert!(r.main().paused, "{what}: paused"),
            b'c' | b'u' | b'o' if spawned => assert!(!r.main().paused),
            b'c' => assert!(!r.main().paused, "{what}: not paused"),
            _ => {}
        }
        if matches!(c, b'd' | b'x') && s != Stopped && s != Finishing {
            assert!(r.main().term, "{what}: got TERM");
        }
    }
}

#[test]
fn a_stop_is_published_with_the_term_flag() {
    let mut r = running(Fake::new());
    r.letter(b'd');
    assert_eq!(r.io.published.last(), Some(&(Kind::Main, 101, State::Run, Want::Down, false, true)));
    r.exit(Kind::Main, 0);
    assert_eq!(r.io.published.last(), Some(&(Kind::Main, 0, State::Down, Want::Down, false, false)));
}

#[test]
fn k_leaves_the_status_for_the_reaping_to_write() {
    let mut r = running(Fake::new());
    let before = r.io.published.len();
    r.letter(b'k');
    assert_eq!(r.io.published.len(), before, "runit writes nothing on k");
}

#[test]
fn the_log_service_ignores_x() {
    let mut r = Rig::with_log(Want::Up, Some(Want::Up), Fake::new());
    r.io.take();
    r.step(Event::Control(Kind::Log, b'x'));
    assert_eq!(r.m.log.as_ref().unwrap().want, Want::Up);
    assert!(r.io.take().is_empty());
}

#[test]
fn a_fast_exit_is_restarted_one_second_after_the_start() {
    let mut r = running(Fake::new());
    r.clock.advance(300);
    r.exit(Kind::Main, 1);
    assert_eq!(r.io.published.last(), Some(&(Kind::Main, 0, State::Down, Want::Up, false, false)));
    r.tick();
    assert!(r.io.spawns().is_empty(), "not within the second");
    assert_eq!(r.m.deadline(), Some(r.clock.now().mono + RESTART_DELAY));
    r.later(999);
    assert!(r.io.spawns().is_empty());
    r.later(1);
    assert_eq!(r.io.spawns(), vec![RUN]);
}

#[test]
fn a_run_that_lasted_a_second_restarts_at_once() {
    let mut r = running(Fake::new());
    r.clock.advance(1500);
    r.exit(Kind::Main, 0);
    r.tick();
    assert_eq!(r.io.spawns(), vec![RUN]);
}

#[test]
fn finish_gets_the_exit_code_or_minus_one_and_the_signal() {
    for (wstat, code, status) in [(3 << 8, 3, 0), (libc::SIGKILL, -1, libc::SIGKILL)] {
        let mut io = Fake::new();
        io.finish = true;
        let mut r = running(io);
        r.clock.advance(2000);
        r.step(Event::Exited(Kind::Main, WaitStatus(wstat)));
        assert_eq!(r.main().state, State::Finish);
        r.tick();
        assert_eq!(r.io.spawns(), vec![Spawn::Finish { code, status }]);
        // The pid shown is ./finish's, the state "finish".
        assert_eq!(r.io.published.last().map(|p| (p.1, p.2)), Some((102, State::Finish)));
        r.exit(Kind::Main, 0);
        assert_eq!(r.main().state, State::Down);
        r.tick();
        assert_eq!(r.io.spawns(), vec![RUN], "restarted after finish");
    }
}

#[test]
fn finish_runs_even_when_the_service_is_wanted_down() {
    let mut io = Fake::new();
    io.finish = true;
    let mut r = running(io);
    r.letter(b'd');
    r.exit(Kind::Main, 0);
    r.tick();
    assert_eq!(r.io.spawns(), vec![Spawn::Finish { code: 0, status: 0 }]);
    r.exit(Kind::Main, 0);
    r.later(5000);
    assert!(r.io.spawns().is_empty(), "down after finish");
}

#[test]
fn a_failed_fork_is_retried_after_five_seconds() {
    let mut io = Fake::new();
    io.fork_fails = true;
    let mut r = Rig::new(Want::Up, io);
    assert_eq!(r.main().state, State::Down);
    assert_eq!(r.m.deadline(), Some(r.clock.now().mono + FORK_RETRY));
    r.io.fork_fails = false;
    r.later(4999);
    assert!(r.io.spawns().is_empty());
    r.later(1);
    assert_eq!(r.io.spawns(), vec![RUN]);
}

#[test]
fn once_runs_once() {
    let mut r = Rig::new(Want::Down, Fake::new());
    r.letter(b'o');
    assert_eq!(r.io.spawns(), vec![RUN]);
    r.clock.advance(2000);
    r.exit(Kind::Main, 0);
    r.later(5000);
    assert!(r.io.spawns().is_empty());
}

#[test]
fn u_during_the_restart_delay_waits_for_it() {
    let mut r = running(Fake::new());
    r.letter(b'd');
    r.exit(Kind::Main, 0);
    r.io.take();
    r.letter(b'u');
    assert!(r.io.spawns().is_empty(), "still within the second");
    r.later(1000);
    assert_eq!(r.io.spawns(), vec![RUN]);
}

#[test]
fn u_then_d_inside_the_delay_leaves_it_down() {
    let mut r = running(Fake::new());
    r.exit(Kind::Main, 0);
    r.letter(b'u');
    r.letter(b'd');
    r.later(2000);
    assert!(r.io.spawns().is_empty());
}

#[test]
fn down_signal_replaces_term() {
    let mut r = running(Fake::new().with(Kind::Main, extras::DOWN_SIGNAL, b"HUP\n"));
    r.letter(b'd');
    assert_eq!(r.io.kills(), vec![(101, libc::SIGHUP), (101, CONT)]);
}

#[test]
fn timeout_kill_kills_what_the_stop_did_not_end() {
    let mut r = running(Fake::new().with(Kind::Main, extras::TIMEOUT_KILL, b"500"));
    r.letter(b'd');
    r.io.take();
    assert_eq!(r.m.deadline(), Some(r.clock.now().mono + Duration::from_millis(500)));
    r.later(499);
    assert!(r.io.kills().is_empty());
    r.later(1);
    assert_eq!(r.io.kills(), vec![(101, KILL)]);
    assert_eq!(r.m.deadline(), None);
}

#[test]
fn timeout_kill_is_disarmed_by_the_exit() {
    let mut r = running(Fake::new().with(Kind::Main, extras::TIMEOUT_KILL, b"500"));
    r.letter(b'd');
    r.exit(Kind::Main, 0);
    r.io.take();
    r.later(1000);
    assert!(r.io.kills().is_empty());
}

#[test]
fn timeout_finish_kills_a_slow_finish() {
    let mut io = Fake::new().with(Kind::Main, extras::TIMEOUT_FINISH, b"200");
    io.finish = true;
    let mut r = running(io);
    r.exit(Kind::Main, 0);
    r.tick();
    r.io.take();
    r.later(200);
    assert_eq!(r.io.kills(), vec![(102, KILL)]);
}

#[test]
fn flag_killpg_sends_stops_to_the_group() {
    let mut r = Rig::new(Want::Up, Fake::new().with(Kind::Main, extras::FLAG_KILLPG, b""));
    assert_eq!(
        r.io.spawns(),
        vec![Spawn::Run { notification_fd: None, own_group: true, sockets: false, notify: false }]
    );
    r.letter(b'h');
    assert_eq!(r.io.kills(), vec![(101, libc::SIGHUP)], "other letters go to the pid");
    r.letter(b'd');
    assert_eq!(r.io.kills(), vec![(-101, TERM), (-101, CONT)]);
    r.letter(b'k');
    assert_eq!(r.io.kills(), vec![(-101, KILL)]);
}

#[test]
fn flag_timeout_killpg_sends_only_the_timeout_kill_to_the_group() {
    let io =
        Fake::new().with(Kind::Main, extras::FLAG_TIMEOUT_KILLPG, b"").with(Kind::Main, extras::TIMEOUT_KILL, b"100");
    let mut r = Rig::new(Want::Up, io);
    assert_eq!(
        r.io.spawns(),
        vec![Spawn::Run { notification_fd: None, own_group: true, sockets: false, notify: false }]
    );
    r.letter(b'd');
    assert_eq!(r.io.kills(), vec![(101, TERM), (101, CONT)]);
    r.later(100);
    assert_eq!(r.io.kills(), vec![(-101, KILL)]);
}

#[test]
fn a_group_that_outlives_its_leader_still_gets_the_kill_and_delays_the_exit() {
    let io = Fake::new().with(Kind::Main, extras::FLAG_KILLPG, b"").with(Kind::Main, extras::TIMEOUT_KILL, b"300");
    let mut r = Rig::new(Want::Up, io);
    r.io.group_alive = true;
    r.letter(b'x');
    r.exit(Kind::Main, 0);
    r.io.take();
    assert_eq!(r.tick(), Flow::Continue, "the group is still alive");
    assert_eq!(r.later(299), Flow::Continue);
    assert!(r.io.kills().is_empty());
    // The KILL is sent first; then nothing of the service is left to wait for.
    assert_eq!(r.later(1), Flow::Exit);
    assert_eq!(r.io.kills(), vec![(-101, KILL)]);
}

#[test]
fn restart_backoff_doubles_up_to_max_and_a_good_run_resets_it() {
    let mut r = running(Fake::new().with(Kind::Main, extras::RESTART_BACKOFF, b"2000 8000"));
    let mut delays = vec![];
    for _ in 0..4 {
        r.clock.advance(1500);
        r.exit(Kind::Main, 1);
        let d = r.m.deadline().unwrap() - r.clock.now().mono;
        delays.push(d.as_millis());
        r.clock.advance(d.as_millis() as u64);
        r.tick();
        assert_eq!(r.io.spawns(), vec![RUN]);
    }
    assert_eq!(delays, vec![2000, 4000, 8000, 8000]);
    r.clock.advance(8000);
    r.exit(Kind::Main, 1);
    r.tick();
    assert_eq!(r.io.spawns(), vec![RUN], "a run that lasted MAX resets the back-off");
}

#[test]
fn restart_backoff_does_not_apply_to_a_stop_and_u_cuts_it_short() {
    let mut r = running(Fake::new().with(Kind::Main, extras::RESTART_BACKOFF, b"5000 60000"));
    r.clock.advance(1500);
    r.exit(Kind::Main, 1);
    r.tick();
    assert!(r.io.spawns().is_empty(), "backing off");
    r.letter(b'u');
    assert_eq!(r.io.spawns(), vec![RUN], "u starts it at once (the second has passed)");
    r.clock.advance(100);
    r.letter(b't');
    r.exit(Kind::Main, 0);
    r.later(1000);
    assert_eq!(r.io.spawns(), vec![RUN], "a stop is no failure: runit's second only");
}

#[test]
fn notification_fd_readiness_lasts_as_long_as_the_run() {
    let mut r = Rig::new(Want::Up, Fake::new().with(Kind::Main, extras::NOTIFICATION_FD, b"5\n"));
    let did = r.io.take();
    assert!(did.contains(&Did::Spawn(
        Kind::Main,
        Spawn::Run { notification_fd: Some(5), own_group: false, sockets: false, notify: false },
        101
    )));
    r.step(Event::ReadyLine(Kind::Main));
    r.step(Event::ReadyLine(Kind::Main));
    assert_eq!(r.io.take(), vec![Did::Ready(Kind::Main, 101)], "once per run");
    r.exit(Kind::Main, 0);
    assert_eq!(r.io.take(), vec![Did::Unready(Kind::Main, true)]);
    r.step(Event::ReadyLine(Kind::Main));
    assert!(r.io.take().is_empty(), "nothing to be ready");
}

#[test]
fn control_scripts_can_replace_a_signal_and_run_after_a_stop() {
    let mut io = Fake::new();
    io.scripts.insert(b'h', true);
    io.scripts.insert(b't', true);
    io.scripts.insert(b'd', false);
    let mut r = running(io);
    r.letter(b'h');
    assert_eq!(r.io.take(), vec![Did::Script(b'h', 101)], "vetoed: no HUP");
    r.letter(b'd');
    // control/t replaced the TERM; CONT and control/d follow as in runit.
    assert_eq!(r.io.take(), vec![Did::Script(b't', 101), Did::Kill(101, CONT), Did::Script(b'd', 101)]);
    assert!(!r.main().term, "no stop signal was sent");
}

#[test]
fn control_u_runs_before_each_start_of_run_and_the_log_has_no_scripts() {
    let mut io = Fake::new();
    io.scripts.insert(b'u', true);
    io.scripts.insert(b'h', true);
    let mut r = Rig::with_log(Want::Up, Some(Want::Up), io);
    let did = r.io.take();
    assert_eq!(did.iter().filter(|d| matches!(d, Did::Script(b'u', 0))).count(), 1);
    r.step(Event::Control(Kind::Log, b'h'));
    assert_eq!(r.io.kills(), vec![(101, libc::SIGHUP)], "the log's letters are never vetoed");
}

#[test]
fn x_with_a_log_service_closes_the_pipe_and_exits_when_both_are_down() {
    let mut r = Rig::with_log(Want::Up, Some(Want::Up), Fake::new());
    r.io.take();
    r.letter(b'x');
    assert_eq!(r.io.kills(), vec![(102, TERM), (102, CONT)]);
    r.exit(Kind::Main, 0);
    assert_eq!(r.tick(), Flow::Continue);
    assert!(r.io.take().contains(&Did::CloseLogPipe));
    assert_eq!(r.m.log.as_ref().unwrap().want, Want::Exit);
    assert_eq!(r.tick(), Flow::Continue, "the log service still runs");
    assert!(r.io.take().is_empty(), "the pipe is closed once");
    r.exit(Kind::Log, 0);
    assert_eq!(r.tick(), Flow::Exit);
}

#[test]
fn sigterm_is_x() {
    let mut r = running(Fake::new());
    r.step(Event::Terminate);
    assert_eq!(r.main().want, Want::Exit);
    assert_eq!(r.io.kills(), vec![(101, TERM), (101, CONT)]);
    r.exit(Kind::Main, 0);
    assert_eq!(r.tick(), Flow::Exit);
}

#[test]
fn exit_waits_for_finish() {
    let mut io = Fake::new();
    io.finish = true;
    let mut r = running(io);
    r.letter(b'x');
    r.exit(Kind::Main, 0);
    assert_eq!(r.tick(), Flow::Continue, "./finish runs first");
    assert_eq!(r.io.spawns(), vec![Spawn::Finish { code: 0, status: 0 }]);
    r.exit(Kind::Main, 0);
    assert_eq!(r.tick(), Flow::Exit);
}

#[test]
fn a_hold_keeps_a_wanted_service_down_until_released() {
    let clock = Clock::new();
    let mut m = Machine::new(Want::Up, None, clock.now());
    let mut io = Fake::new();
    m.step(Event::Hold(Kind::Main, Hold::OnDemand, true), clock.now(), &mut io);
    m.step(Event::Tick, clock.now(), &mut io);
    assert!(io.spawns().is_empty());
    assert_eq!(m.deadline(), None, "no wake-ups while held");
    m.step(Event::Control(Kind::Main, b'u'), clock.now(), &mut io);
    assert!(io.spawns().is_empty(), "u does not override a hold");
    m.step(Event::Hold(Kind::Main, Hold::OnDemand, false), clock.now(), &mut io);
    m.step(Event::Tick, clock.now(), &mut io);
    assert_eq!(io.spawns(), vec![RUN]);
}

#[test]
fn a_dependency_hold_stops_a_running_service_and_restarts_it_when_released() {
    let mut r = running(Fake::new());
    r.step(Event::Hold(Kind::Main, Hold::Dependencies, true));
    assert_eq!(r.io.kills(), vec![(101, TERM)]);
    assert_eq!(r.main().want, Want::Up, "still wanted up");
    r.clock.advance(2000);
    r.exit(Kind::Main, 0);
    r.later(5000);
    assert!(r.io.spawns().is_empty());
    r.step(Event::Hold(Kind::Main, Hold::Dependencies, false));
    r.tick();
    assert_eq!(r.io.spawns(), vec![RUN]);
}

#[test]
fn an_on_demand_hold_leaves_a_running_service_alone() {
    let mut r = running(Fake::new());
    r.step(Event::Hold(Kind::Main, Hold::OnDemand, true));
    assert!(r.io.take().is_empty());
}

#[test]
fn finish_runs_even_while_held() {
    let mut io = Fake::new();
    io.finish = true;
    let mut r = running(io);
    r.step(Event::Hold(Kind::Main, Hold::Dependencies, true));
    r.exit(Kind::Main, 0);
    r.tick();
    assert_eq!(r.io.spawns(), vec![Spawn::Finish { code: 0, status: 0 }]);
}

#[test]
fn exited_children_are_matched_by_pid() {
    let r = Rig::with_log(Want::Up, Some(Want::Up), Fake::new());
    assert_eq!(r.m.slot_of(101), Some(Kind::Log));
    assert_eq!(r.m.slot_of(102), Some(Kind::Main));
    assert_eq!(r.m.slot_of(0), None);
    assert_eq!(r.m.slot_of(7), None);
}

// Dependencies (`depends`, ordered stop, `oneshot`).

const BLOCKED: DepView = DepView { blocked: true, hard_unready: true };
const SOFT_ONLY: DepView = DepView { blocked: true, hard_unready: false };
const CLEAR: DepView = DepView { blocked: false, hard_unready: false };

/// A runsv whose dependencies are reported before its first tick.
fn with_deps(view: DepView, io: Fake) -> Rig {
    let clock = Clock::new();
    let mut r = Rig { m: Machine::new(Want::Up, None, clock.now()), io, clock };
    r.m.publish_all(&mut r.io);
    r.step(Event::Deps(Kind::Main, view));
    r.tick();
    r
}

#[test]
fn a_blocked_service_waits_shows_why_and_starts_when_clear() {
    let mut r = with_deps(BLOCKED, Fake::new());
    assert_eq!(r.io.take(), vec![Did::Waiting(Kind::Main, true)], "waiting shown, nothing started");
    assert_eq!((r.main().state, r.main().want), (State::Down, Want::Up), "status: down, want up");
    assert_eq!(r.m.deadline(), None, "no wake-ups while waiting");
    r.step(Event::Deps(Kind::Main, BLOCKED));
    assert!(r.io.take().is_empty(), "the same view changes nothing");
    r.step(Event::Deps(Kind::Main, CLEAR));
    assert_eq!(r.io.take(), vec![Did::Waiting(Kind::Main, false)]);
    r.tick();
    assert_eq!(r.io.spawns(), vec![RUN]);
}

#[test]
fn a_clear_service_starts_at_once_and_without_depends_nothing_changes() {
    let mut r = with_deps(CLEAR, Fake::new());
    assert_eq!(r.io.spawns(), vec![RUN]);
    let mut plain = running(Fake::new());
    plain.step(Event::Dependents(false));
    assert!(plain.io.take().is_empty(), "no stop waits: nothing to do");
}

#[test]
fn soft_dependencies_hold_a_start_but_never_stop_a_running_service() {
    let mut r = with_deps(SOFT_ONLY, Fake::new());
    assert!(r.io.spawns().is_empty());
    r.step(Event::Deps(Kind::Main, CLEAR));
    r.tick();
    assert_eq!(r.io.spawns(), vec![RUN]);
    r.step(Event::Deps(Kind::Main, SOFT_ONLY));
    assert!(r.io.take().is_empty(), "running: soft is ignored");
    // Once down (it crashed), the soft dependency is waited for again.
    r.clock.advance(2000);
    r.exit(Kind::Main, 1);
    r.later(2000);
    assert!(r.io.take().contains(&Did::Waiting(Kind::Main, true)));
    assert!(r.io.spawns().is_empty());
    assert!(r.main().holds.contains(Hold::Dependencies));
}

#[test]
fn a_lost_hard_dependency_stops_the_service_which_comes_back_by_itself() {
    let mut r = with_deps(CLEAR, Fake::new());
    r.io.take();
    r.step(Event::Deps(Kind::Main, BLOCKED));
    assert_eq!(
        r.io.take(),
        vec![Did::Waiting(Kind::Main, true), Did::Kill(101, TERM)],
        "waiting shown before the stop"
    );
    assert_eq!(r.main().want, Want::Up);
    r.clock.advance(3000);
    r.exit(Kind::Main, 0);
    r.later(3000);
    assert!(r.io.spawns().is_empty(), "held");
    r.step(Event::Deps(Kind::Main, CLEAR));
    r.tick();
    assert_eq!(r.io.spawns(), vec![RUN]);
}

#[test]
fn a_lost_dependency_stop_uses_the_down_signal_and_timeout_kill() {
    let io = Fake::new().with(Kind::Main, extras::DOWN_SIGNAL, b"QUIT").with(Kind::Main, extras::TIMEOUT_KILL, b"500");
    let mut r = with_deps(CLEAR, io);
    r.io.take();
    r.step(Event::Deps(Kind::Main, BLOCKED));
    assert_eq!(r.io.kills(), vec![(101, libc::SIGQUIT)]);
    r.later(600);
    assert_eq!(r.io.kills(), vec![(101, KILL)]);
}

#[test]
fn a_stop_waits_for_running_hard_dependents_then_signals() {
    let mut io = Fake::new();
    io.dependents = true;
    let mut r = running(io);
    r.io.published.clear();
    r.letter(b'd');
    assert!(r.io.kills().is_empty(), "no signal while dependents run");
    assert_eq!(r.io.published.last().map(|p| p.3), Some(Want::Down), "want down published at once");
    assert!(r.main().stop_waiting());
    r.later(100);
    assert!(r.io.kills().is_empty());
    r.step(Event::Dependents(false));
    assert_eq!(r.io.kills(), vec![(101, TERM), (101, CONT)]);
    assert!(!r.main().stop_waiting());
}

#[test]
fn the_wait_for_dependents_is_bounded_by_timeout_kill_or_seven_seconds() {
    let mut io = Fake::new();
    io.dependents = true;
    let mut r = running(io);
    r.step(Event::Terminate);
    r.later(6900);
    assert!(r.io.kills().is_empty());
    r.later(200);
    assert_eq!(r.io.kills(), vec![(101, TERM), (101, CONT)], "7 s without timeout-kill");

    let mut io = Fake::new().with(Kind::Main, extras::TIMEOUT_KILL, b"300");
    io.dependents = true;
    let mut r = running(io);
    r.letter(b'x');
    assert!(r.m.deadline().is_some());
    r.later(301);
    assert_eq!(r.io.kills(), vec![(101, TERM), (101, CONT)]);
    r.later(301);
    assert_eq!(r.io.kills(), vec![(101, KILL)], "then timeout-kill as usual");
}

#[test]
fn up_during_the_wait_keeps_it_running_and_t_does_not_wait() {
    let mut io = Fake::new();
    io.dependents = true;
    let mut r = running(io);
    r.letter(b'd');
    r.letter(b'u');
    assert!(!r.main().stop_waiting());
    r.later(8000);
    assert!(r.io.kills().is_empty(), "the stop was called off");
    r.letter(b't');
    assert_eq!(r.io.kills(), vec![(101, TERM)], "a restart is no stop of the tree");
}

#[test]
fn a_service_that_exits_during_the_wait_is_not_signalled_later() {
    let mut io = Fake::new();
    io.dependents = true;
    let mut r = running(io);
    r.letter(b'd');
    r.exit(Kind::Main, 0);
    r.later(8000);
    r.step(Event::Dependents(false));
    assert!(r.io.kills().is_empty());
}

#[test]
fn a_lost_dependency_stop_also_waits_for_dependents() {
    let mut io = Fake::new();
    io.dependents = true;
    let mut r = with_deps(CLEAR, io);
    r.io.take();
    r.step(Event::Deps(Kind::Main, BLOCKED));
    assert_eq!(r.io.take(), vec![Did::Waiting(Kind::Main, true)]);
    r.step(Event::Dependents(false));
    assert_eq!(r.io.kills(), vec![(101, TERM)]);
}

#[test]
fn a_dependency_back_before_the_stop_calls_it_off() {
    let mut io = Fake::new();
    io.dependents = true;
    let mut r = with_deps(CLEAR, io);
    r.io.take();
    r.step(Event::Deps(Kind::Main, BLOCKED));
    r.step(Event::Deps(Kind::Main, CLEAR));
    assert!(!r.main().stop_waiting());
    r.later(8000);
    assert!(r.io.kills().is_empty());
}

#[test]
fn a_oneshot_that_exits_0_is_done_and_not_restarted() {
    let mut r = running(Fake::new().with(Kind::Main, supervise::depends::ONESHOT, b""));
    r.exit(Kind::Main, 0);
    assert_eq!(r.io.take(), vec![Did::Unready(Kind::Main, false), Did::Oneshot(Kind::Main, Some(true))]);
    assert_eq!((r.main().state, r.main().want), (State::Down, Want::Down), "down: NAME: 0s, normally up");
    r.later(5000);
    assert!(r.io.spawns().is_empty(), "not restarted");
    r.letter(b'u');
    r.later(1);
    let did = r.io.take();
    assert!(did.contains(&Did::Oneshot(Kind::Main, None)), "record cleared at the start: {did:?}");
    assert!(did.iter().any(|d| matches!(d, Did::Spawn(Kind::Main, Spawn::Run { .. }, _))), "sv up runs it again");
}

#[test]
fn a_failed_oneshot_is_recorded_and_retried_only_with_restart_backoff() {
    let mut r = running(Fake::new().with(Kind::Main, supervise::depends::ONESHOT, b""));
    r.exit(Kind::Main, 3);
    assert!(r.io.take().contains(&Did::Oneshot(Kind::Main, Some(false))));
    assert_eq!(r.main().want, Want::Down);
    r.later(5000);
    assert!(r.io.spawns().is_empty());

    let io = Fake::new().with(Kind::Main, supervise::depends::ONESHOT, b"").with(
        Kind::Main,
        extras::RESTART_BACKOFF,
        b"200 400",
    );
    let mut r = running(io);
    r.exit(Kind::Main, 1);
    assert!(r.io.take().contains(&Did::Oneshot(Kind::Main, Some(false))));
    assert_eq!(r.main().want, Want::Up, "to be retried");
    r.later(1000);
    assert_eq!(r.io.spawns(), vec![RUN]);
    r.clock.advance(1500);
    r.exit(Kind::Main, 0);
    assert!(r.io.take().contains(&Did::Oneshot(Kind::Main, Some(true))));
    assert_eq!(r.main().want, Want::Down);
}

#[test]
fn a_oneshot_stopped_by_down_or_finishing_records_only_its_own_end() {
    let mut r = running(Fake::new().with(Kind::Main, supervise::depends::ONESHOT, b""));
    r.letter(b'd');
    r.io.take();
    r.exit(Kind::Main, 0);
    assert!(!r.io.take().iter().any(|d| matches!(d, Did::Oneshot(_, Some(_)))), "stopped: no outcome");

    let mut io = Fake::new().with(Kind::Main, supervise::depends::ONESHOT, b"");
    io.finish = true;
    let mut r = running(io);
    r.exit(Kind::Main, 0);
    assert!(!r.io.take().iter().any(|d| matches!(d, Did::Oneshot(_, Some(_)))), "recorded after ./finish");
    r.tick();
    assert_eq!(r.io.spawns(), vec![Spawn::Finish { code: 0, status: 0 }]);
    r.exit(Kind::Main, 7);
    assert!(r.io.take().contains(&Did::Oneshot(Kind::Main, Some(true))), "./run's exit decides, not ./finish's");
}

#[test]
fn a_log_service_waits_for_its_own_dependencies() {
    let clock = Clock::new();
    let mut r = Rig { m: Machine::new(Want::Up, Some(Want::Up), clock.now()), io: Fake::new(), clock };
    r.m.publish_all(&mut r.io);
    r.step(Event::Deps(Kind::Log, BLOCKED));
    r.tick();
    let spawned: Vec<Kind> =
        r.io.take().into_iter().filter_map(|d| if let Did::Spawn(k, _, _) = d { Some(k) } else { None }).collect();
    assert_eq!(spawned, vec![Kind::Main]);
}

#[test]
fn a_service_stopped_for_its_dependencies_restarts_without_the_one_second_pause() {
    let mut r = with_deps(CLEAR, Fake::new());
    r.io.take();
    r.step(Event::Deps(Kind::Main, BLOCKED));
    r.exit(Kind::Main, 0);
    r.clock.advance(100);
    r.step(Event::Deps(Kind::Main, CLEAR));
    r.tick();
    assert_eq!(r.io.spawns(), vec![RUN], "started 100 ms after its last start");
    // A fast exit of its own keeps runit's rule.
    r.exit(Kind::Main, 1);
    r.later(100);
    assert!(r.io.spawns().is_empty());
}

const SOCKETS: Spawn = Spawn::Run { notification_fd: None, own_group: false, sockets: true, notify: false };

fn with_listen(listen: Listen) -> Fake {
    let mut io = Fake::new().with(Kind::Main, supervise::listen::LISTEN, b"tcp:127.0.0.1:1\n");
    io.listen = listen;
    io
}

#[test]
fn listen_is_read_at_the_first_tick_and_its_sockets_go_to_every_run() {
    let mut r = Rig::new(Want::Up, with_listen(Listen::Held));
    let did = r.io.take();
    assert_eq!(did.first(), Some(&Did::LoadSockets));
    assert!(did.contains(&Did::Spawn(Kind::Main, SOCKETS, 101)));
    r.exit(Kind::Main, 0);
    r.later(1000);
    assert_eq!(r.io.spawns(), vec![SOCKETS], "a restart gets the same sockets; listen is not read again");
}

#[test]
fn listen_is_read_even_for_a_service_that_starts_down() {
    let mut r = Rig::new(Want::Down, with_listen(Listen::Held));
    assert_eq!(r.io.take(), vec![Did::LoadSockets], "bound, so clients queue until sv up");
    r.letter(b'u');
    let did = r.io.take();
    assert_eq!(did.first(), Some(&Did::LoadSockets), "sv up reads it again");
    assert!(did.contains(&Did::Spawn(Kind::Main, SOCKETS, 101)));
}

#[test]
fn a_listen_failure_holds_the_service_until_u_succeeds() {
    let mut r = Rig::new(Want::Up, with_listen(Listen::Failed));
    assert_eq!(r.io.take(), vec![Did::LoadSockets]);
    assert!(r.main().holds.contains(Hold::Sockets));
    assert_eq!(r.io.published.last(), Some(&(Kind::Main, 0, State::Down, Want::Up, false, false)));
    assert_eq!(r.m.deadline(), None, "no retry timer: only sv up reads it again");
    r.later(5000);
    assert!(r.io.take().is_empty());
    r.letter(b'u');
    assert_eq!(r.io.take(), vec![Did::LoadSockets], "still failing: still held");
    r.io.listen = Listen::Held;
    r.letter(b'u');
    assert_eq!(r.io.spawns(), vec![SOCKETS]);
    assert!(r.main().holds.is_empty());
}

#[test]
fn x_closes_the_sockets() {
    let mut r = Rig::new(Want::Up, with_listen(Listen::Held));
    r.io.take();
    r.letter(b'x');
    let did = r.io.take();
    assert!(did.contains(&Did::CloseSockets), "{did:?}");
    assert_eq!(r.main().listen, Listen::Absent);
    let mut r = Rig::new(Want::Up, with_listen(Listen::Held));
    r.step(Event::Terminate);
    assert!(r.io.take().contains(&Did::CloseSockets));
}

#[test]
fn down_and_crashes_keep_the_sockets() {
    let mut r = Rig::new(Want::Up, with_listen(Listen::Held));
    r.io.take();
    r.letter(b'd');
    r.exit(Kind::Main, 0);
    r.step(Event::Exited(Kind::Main, WaitStatus(libc::SIGSEGV)));
    r.later(2000);
    assert!(!r.io.take().contains(&Did::CloseSockets));
    assert_eq!(r.main().listen, Listen::Held);
}

fn on_demand() -> Rig {
    let mut r = Rig::new(Want::Up, with_listen(Listen::Held).with(Kind::Main, FLAG_ON_DEMAND, b""));
    assert_eq!(r.io.take(), vec![Did::LoadSockets], "no ./run before a client");
    r
}

#[test]
fn on_demand_waits_for_a_client_without_waking_up() {
    let mut r = on_demand();
    assert!(r.main().holds.contains(Hold::OnDemand));
    assert!(r.m.wants_connection());
    assert_eq!(r.m.deadline(), None, "nothing wakes up while no client comes");
    assert_eq!(r.io.published.last(), Some(&(Kind::Main, 0, State::Down, Want::Up, false, false)));
    r.later(60_000);
    assert!(r.io.take().is_empty());
    r.step(Event::ConnectionPending);
    assert!(!r.m.wants_connection(), "the socket is left to the service from here");
    r.tick();
    assert_eq!(r.io.spawns(), vec![SOCKETS]);
}

#[test]
fn on_demand_does_not_restart_until_the_next_client() {
    let mut r = on_demand();
    r.step(Event::ConnectionPending);
    r.tick();
    r.io.take();
    assert!(!r.m.wants_connection(), "not while it runs");
    r.clock.advance(3000);
    r.exit(Kind::Main, 0);
    r.later(5000);
    assert!(r.io.spawns().is_empty());
    assert!(r.m.wants_connection());
    r.step(Event::ConnectionPending);
    r.tick();
    assert_eq!(r.io.spawns(), vec![SOCKETS]);
}

#[test]
fn on_demand_keeps_runits_second_between_starts() {
    let mut r = on_demand();
    r.step(Event::ConnectionPending);
    r.tick();
    r.io.take();
    r.exit(Kind::Main, 1);
    r.tick();
    assert!(!r.m.wants_connection(), "within the second nothing could start: sockets not watched");
    assert!(r.m.deadline().is_some());
    r.later(1000);
    assert!(r.io.spawns().is_empty());
    assert!(r.m.wants_connection(), "then it waits for a client");
    assert_eq!(r.m.deadline(), None);
    r.step(Event::ConnectionPending);
    r.tick();
    assert_eq!(r.io.spawns(), vec![SOCKETS]);
}

#[test]
fn on_demand_with_the_service_down_remembers_the_client_for_sv_up() {
    let mut r = on_demand();
    r.letter(b'd');
    r.step(Event::ConnectionPending);
    r.tick();
    assert!(r.io.spawns().is_empty(), "wanted down");
    assert!(!r.m.wants_connection(), "no busy loop on a socket nobody accepts from");
    r.letter(b'u');
    assert_eq!(r.io.spawns(), vec![SOCKETS], "the waiting client gets served");
}

#[test]
fn without_listen_flag_on_demand_changes_nothing() {
    let mut r = Rig::new(Want::Up, Fake::new().with(Kind::Main, FLAG_ON_DEMAND, b""));
    assert_eq!(r.io.spawns(), vec![RUN]);
}

fn notifying() -> Rig {
    let mut r = Rig::new(Want::Up, Fake::new().with(Kind::Main, NOTIFY_SOCKET, b""));
    assert_eq!(r.main().pid, 101);
    r.io.take();
    r
}

#[test]
fn notify_socket_is_passed_and_ready_1_from_the_service_makes_it_ready() {
    let mut r = Rig::new(Want::Up, Fake::new().with(Kind::Main, NOTIFY_SOCKET, b""));
    let notify = Spawn::Run { notification_fd: None, own_group: false, sockets: false, notify: true };
    assert_eq!(r.io.spawns(), vec![notify]);
    r.step(Event::Notify { sender: 101, ready: true, stopping: false, status: true });
    assert_eq!(r.io.take(), vec![Did::NotifyStatus, Did::Ready(Kind::Main, 101)]);
    r.step(Event::Notify { sender: 101, ready: true, stopping: false, status: false });
    assert!(r.io.take().is_empty(), "ready once per run");
}

#[test]
fn notify_from_a_descendant_counts_from_anyone_else_not() {
    let mut r = notifying();
    r.step(Event::Notify { sender: 555, ready: true, stopping: false, status: true });
    assert!(r.io.take().is_empty(), "not the service's");
    r.io.descendants.push((556, 101));
    r.step(Event::Notify { sender: 556, ready: true, stopping: false, status: false });
    assert_eq!(r.io.take(), vec![Did::Ready(Kind::Main, 101)]);
}

#[test]
fn stopping_1_withdraws_readiness_and_nothing_counts_without_a_run() {
    let mut r = notifying();
    r.step(Event::Notify { sender: 101, ready: false, stopping: true, status: false });
    assert!(r.io.take().is_empty(), "not ready: nothing to withdraw");
    r.step(Event::Notify { sender: 101, ready: true, stopping: false, status: false });
    r.step(Event::Notify { sender: 101, ready: false, stopping: true, status: false });
    assert_eq!(r.io.take(), vec![Did::Ready(Kind::Main, 101), Did::WithdrawReady(Kind::Main)]);
    r.letter(b'd');
    r.exit(Kind::Main, 0);
    r.io.take();
    r.step(Event::Notify { sender: 101, ready: true, stopping: false, status: true });
    assert!(r.io.take().is_empty(), "the pid is gone: a late or reused sender is ignored");
}

// ----- orphans of a killed runsv, and cgroup/ containment --------------------

/// A runsv that found orphans at start-up, before its first tick.
fn with_orphans(main: bool, log: bool, io: Fake) -> Rig {
    let clock = Clock::new();
    let mut r = Rig { m: Machine::new(Want::Up, Some(Want::Up), clock.now()), io, clock };
    r.m.publish_all(&mut r.io);
    r.m.orphans_found(main, log, r.clock.now(), &mut r.io);
    r
}

fn orphan_signals(io: &mut Fake) -> Vec<(Kind, i32)> {
    io.take()
        .into_iter()
        .filter_map(|d| match d {
            Did::OrphanSignal(k, s) => Some((k, s)),
            _ => None,
        })
        .collect()
}

#[test]
fn orphans_hold_both_slots_and_the_service_orphan_is_stopped_first() {
    let mut r = with_orphans(true, true, Fake::new());
    assert_eq!(orphan_signals(&mut r.io), vec![(Kind::Main, TERM), (Kind::Main, CONT)], "only the service, as sv down");
    assert!(r.main().holds.contains(Hold::Orphan));
    assert!(r.m.log.as_ref().unwrap().holds.contains(Hold::Orphan));
    r.tick();
    assert!(r.io.spawns().is_empty(), "nothing starts while an orphan runs");
    assert_eq!(r.m.deadline(), Some(r.clock.now().mono + ORPHAN_KILL_AFTER));
    assert_eq!(r.io.published.last().map(|p| (p.1, p.2, p.3)), Some((0, State::Down, Want::Up)), "down, want up");
}

#[test]
fn the_log_orphan_gets_its_eof_wait_once_the_service_orphan_is_gone_then_everything_starts() {
    let mut r = with_orphans(true, true, Fake::new());
    r.io.take();
    r.step(Event::OrphanExited(Kind::Main));
    assert_eq!(r.io.take(), vec![Did::OrphanDrain(Kind::Main)]);
    assert_eq!(r.m.orphan_main, None);
    assert!(matches!(r.m.orphan_log, Some(Orphan::Waiting(_))));
    r.tick();
    assert!(r.io.spawns().is_empty(), "still held: the logger has not read everything yet");
    assert!(orphan_signals(&mut r.io).is_empty(), "the logger is not signalled during its EOF wait");
    r.step(Event::OrphanExited(Kind::Log));
    assert!(!r.main().holds.contains(Hold::Orphan));
    r.tick();
    assert_eq!(r.io.spawns(), vec![RUN, RUN], "log, then service");
}

#[test]
fn a_log_orphan_that_does_not_exit_on_eof_is_stopped_then_killed() {
    let mut r = with_orphans(false, true, Fake::new());
    assert!(orphan_signals(&mut r.io).is_empty());
    assert_eq!(r.m.deadline(), Some(r.clock.now().mono + ORPHAN_LOG_EOF));
    r.later(ORPHAN_LOG_EOF.as_millis() as u64);
    assert_eq!(orphan_signals(&mut r.io), vec![(Kind::Log, TERM), (Kind::Log, CONT)]);
    r.later(ORPHAN_KILL_AFTER.as_millis() as u64 - 1);
    assert!(orphan_signals(&mut r.io).is_empty());
    r.later(1);
    assert_eq!(orphan_signals(&mut r.io), vec![(Kind::Log, KILL)]);
    assert_eq!(r.m.deadline(), None, "after KILL only its end is awaited");
    r.step(Event::OrphanExited(Kind::Log));
    r.tick();
    assert_eq!(r.io.spawns(), vec![RUN, RUN]);
}

#[test]
fn orphan_stops_use_down_signal_and_timeout_kill() {
    let io = Fake::new().with(Kind::Main, extras::DOWN_SIGNAL, b"HUP").with(Kind::Main, extras::TIMEOUT_KILL, b"300");
    let mut r = with_orphans(true, false, io);
    assert_eq!(orphan_signals(&mut r.io), vec![(Kind::Main, libc::SIGHUP), (Kind::Main, CONT)]);
    r.later(299);
    assert!(orphan_signals(&mut r.io).is_empty());
    r.later(1);
    assert_eq!(orphan_signals(&mut r.io), vec![(Kind::Main, KILL)]);
    r.step(Event::OrphanExited(Kind::Main));
    r.tick();
    assert_eq!(r.io.spawns(), vec![RUN, RUN]);
}

#[test]
fn a_contained_orphan_counts_as_gone_only_when_its_cgroup_is_empty() {
    let mut r = with_orphans(true, false, Fake { cgroup_populated: true, ..Fake::new() });
    r.io.take();
    r.step(Event::OrphanExited(Kind::Main));
    assert_eq!(r.m.orphan_main, Some(Orphan::Ending));
    r.tick();
    assert!(r.io.spawns().is_empty());
    r.step(Event::OrphanGone(Kind::Main));
    r.tick();
    assert_eq!(r.io.spawns(), vec![RUN, RUN]);
}

#[test]
fn exit_waits_for_the_orphans() {
    let mut r = with_orphans(true, false, Fake::new());
    r.letter(b'x');
    assert_eq!(r.tick(), Flow::Continue, "an orphan half-stopped is not left behind");
    r.step(Event::OrphanExited(Kind::Main));
    // The log service never started: nothing else to wait for.
    assert_eq!(r.tick(), Flow::Exit);
}

fn contained(populated: bool, finish: bool) -> Rig {
    running(Fake { containment: Containment::Contained, cgroup_populated: populated, finish, ..Fake::new() })
}

#[test]
fn a_contained_service_is_down_only_when_its_cgroup_is_empty() {
    let mut r = contained(true, false);
    r.letter(b'd');
    assert_eq!(r.io.kills(), vec![(101, TERM), (101, CONT)]);
    r.exit(Kind::Main, 0);
    assert_eq!(r.io.take(), vec![Did::Drain(Kind::Main)]);
    assert_eq!((r.main().pid, r.main().state), (101, State::Run), "still up while the cgroup drains");
    assert_eq!(r.m.draining().collect::<Vec<_>>(), vec![Kind::Main]);
    // The reaped pid may be reused: never signalled again.
    r.letter(b'k');
    r.letter(b'h');
    assert!(r.io.kills().is_empty());
    r.step(Event::CgroupEmpty(Kind::Main));
    assert_eq!(r.io.take(), vec![Did::Unready(Kind::Main, false), Did::Release(Kind::Main)]);
    assert_eq!(r.io.published.last(), Some(&(Kind::Main, 0, State::Down, Want::Down, false, false)));
}

#[test]
fn an_empty_cgroup_goes_down_at_once_and_a_restart_contains_again() {
    let mut r = contained(false, false);
    r.exit(Kind::Main, 1);
    assert_eq!(r.io.take(), vec![Did::Drain(Kind::Main), Did::Unready(Kind::Main, false), Did::Release(Kind::Main)]);
    assert_eq!(r.main().state, State::Down);
    r.later(1000);
    assert_eq!(r.io.spawns(), vec![RUN]);
}

#[test]
fn finish_runs_in_the_same_cgroup_which_goes_after_it() {
    let mut r = contained(false, true);
    r.exit(Kind::Main, 0);
    r.tick();
    let did = r.io.take();
    assert!(did.contains(&Did::Drain(Kind::Main)) && !did.contains(&Did::Release(Kind::Main)), "{did:?}");
    assert!(did.iter().any(|d| matches!(d, Did::Spawn(_, Spawn::Finish { .. }, _))), "{did:?}");
    r.exit(Kind::Main, 0);
    assert_eq!(r.io.take(), vec![Did::Drain(Kind::Main), Did::Release(Kind::Main)]);
}

#[test]
fn containment_required_but_unavailable_holds_until_u() {
    let mut r = Rig::new(Want::Up, Fake { containment: Containment::Refused, ..Fake::new() });
    assert!(r.io.spawns().is_empty());
    assert!(r.main().holds.contains(Hold::Containment));
    r.later(5000);
    assert!(r.io.spawns().is_empty(), "no retry loop");
    r.io.containment = Containment::Contained;
    r.letter(b'u');
    assert_eq!(r.io.spawns(), vec![RUN]);
    assert!(r.main().holds.is_empty());
}

#[test]
fn uncontained_runs_as_runit_does() {
    let mut r = running(Fake { containment: Containment::Uncontained, cgroup_populated: true, ..Fake::new() });
    r.exit(Kind::Main, 0);
    assert!(!r.io.take().iter().any(|d| matches!(d, Did::Drain(_) | Did::Release(_))));
    assert_eq!(r.main().state, State::Down);
}
