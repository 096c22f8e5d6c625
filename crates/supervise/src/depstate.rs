//! How one dependency looks from outside: what a dependent runsv reads in
//! the dependency's service directory and `supervise/` to decide whether
//! it may start (see [`crate::depends`] for the files).
//!
//! Ready means what `sv check` means by up (docs/EXTENSIONS.md): `./run`
//! is running and wanted up; with `notification-fd` or `notify-socket`,
//! `supervise/ready` names that very pid; with a `./check` script, the
//! script exits 0 (the caller runs it, [`run_check`], since that takes
//! time). A `oneshot` whose `./run` exited 0 counts as ready too.

use crate::control::probe_ok;
use crate::depends::{self, Outcome, Waiting, Why};
use crate::depwatch::Role;
use crate::extras;
use crate::layout::{SuperviseDir, CHECK};
use crate::status::{read_status, ReadError};
use nix::sys::signal::{kill, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use unix::spawn::{OnError, Spawn};

/// What a dependency is doing, as far as its dependents care.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DepState {
    /// No such service directory.
    Missing,
    /// The directory exists but no runsv serves it (not yet, or no more).
    NotSupervised,
    /// Up, wanted up, and ready by its files.
    Ready,
    /// As [`DepState::Ready`], but its `./check` must pass first.
    NeedsCheck,
    /// Up and wanted up, not ready yet.
    Starting,
    /// Held back by its own dependencies (`supervise/waiting`).
    Waiting,
    /// Wanted up but down: crashed, in its restart pause, or `./finish`.
    Down,
    /// A `oneshot` whose `./run` exited 0.
    Done,
    /// A `oneshot` whose `./run` failed.
    Failed,
    /// Wanted down (an administrator's `sv down`, or a stop in progress).
    WantedDown,
}

impl DepState {
    /// `None` when a dependent may go ahead, else why it keeps waiting.
    /// A hard dependency must be ready; a soft one only must not be on
    /// its way up.
    pub fn holds(self, soft: bool) -> Option<Why> {
        match (self, soft) {
            (DepState::Ready | DepState::Done, _) => None,
            (DepState::Missing | DepState::Failed | DepState::WantedDown | DepState::Down, true) => None,
            (DepState::Missing, false) => Some(Why::Missing),
            (DepState::Failed, false) => Some(Why::Failed),
            (DepState::WantedDown, false) => Some(Why::WantedDown),
            _ => Some(Why::NotReady),
        }
    }
}

/// Reads the state of the service directory `dir` (main service: its
/// `supervise/`; pass `DIR/log` for a log service).
pub fn evaluate(dir: &Path) -> DepState {
    evaluate_and_down(dir).0
}

/// [`evaluate`] and [`is_down`] together, reading `status` and probing
/// `ok` once.
pub fn evaluate_and_down(dir: &Path) -> (DepState, bool) {
    let sup = SuperviseDir::of(dir);
    let st = match read_status(&sup.file("status")) {
        Ok(st) => st,
        Err(ReadError::Open(_) | ReadError::Read(_) | ReadError::BadFormat) => {
            let state = match std::fs::metadata(dir) {
                Ok(m) if m.is_dir() => DepState::NotSupervised,
                _ => DepState::Missing,
            };
            return (state, true);
        }
    };
    let alive = probe_ok(&sup.file("ok")).is_ok();
    (evaluate_status(dir, &sup, &st, alive), !alive || st.state == 0)
}

fn evaluate_status(dir: &Path, sup: &SuperviseDir, st: &crate::status::Status, alive: bool) -> DepState {
    if !alive {
        // A runsv writes its first status before it opens `ok`: a service
        // recorded as down and not wanted up counts as wanted down either
        // way (no later change would announce its runsv).
        return if st.pid == 0 && st.want != b'u' { DepState::WantedDown } else { DepState::NotSupervised };
    }
    let running = st.pid != 0 && st.state == 1;
    if running {
        if st.want != b'u' {
            return DepState::WantedDown;
        }
        if matches!(depends::read_waiting(sup), Ok(Some(_))) {
            // Lost a dependency of its own and about to stop.
            return DepState::Starting;
        }
        if extras::flag(&dir.join(depends::ONESHOT)) {
            // A oneshot is ready only once it has finished.
            return DepState::Starting;
        }
        // Both ways of saying READY=1 write the same `supervise/ready`.
        if extras::flag(&dir.join(extras::NOTIFICATION_FD)) || extras::flag(&dir.join(crate::notify::NOTIFY_SOCKET)) {
            match extras::read_ready(sup) {
                Ok(Some(r)) if r.pid == st.pid => {}
                _ => return DepState::Starting,
            }
        }
        return if extras::flag(&dir.join(CHECK)) { DepState::NeedsCheck } else { DepState::Ready };
    }
    if extras::flag(&dir.join(depends::ONESHOT)) {
        match depends::read_oneshot(sup) {
            Ok(Some(r)) if r.outcome == Outcome::Done => return DepState::Done,
            Ok(Some(_)) if st.want != b'u' => return DepState::Failed,
            _ => {}
        }
    }
    if st.want != b'u' {
        return DepState::WantedDown;
    }
    if matches!(depends::read_waiting(sup), Ok(Some(_))) {
        return DepState::Waiting;
    }
    DepState::Down
}

/// How long a dependency's `./check` may run before it counts as failed
/// (runsv waits for it, so it must be short).
pub const CHECK_TIMEOUT: Duration = Duration::from_secs(1);

/// Runs `DIR/check` as `sv check` does: argv `./check`, cwd DIR, the
/// caller's environment, stdin and stderr, stdout closed. Exit 0 passes;
/// so does a script that cannot be executed (the child prints `warn`, e.g.
/// `runsv web: warning: unable to run db/check: `, plus the error, and
/// exits 0, as runit's sv's child does) and one killed by a signal (runit
/// looks at the exit-code byte only). One still running after `timeout`
/// is killed and fails. `setup` adds the caller's steps (signals).
pub fn run_check(dir: &Path, warn: &[u8], setup: &dyn Fn(&mut Spawn), timeout: Duration) -> bool {
    match std::fs::metadata(dir.join(CHECK)) {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return true,
        Err(_) => return false,
    }
    let Ok(mut spec) = Spawn::new(b"./check", &[b"./check"], warn) else { return false };
    spec.exit_code(0).close(1);
    if spec.chdir(dir.as_os_str().as_encoded_bytes(), OnError::fail(warn)).is_err() {
        return false;
    }
    setup(&mut spec);
    let Ok(pid) = spec.spawn() else { return false };
    let pid = Pid::from_raw(pid);
    let deadline = Instant::now() + timeout;
    let mut nap = Duration::from_millis(1);
    loop {
        match waitpid(pid, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::Exited(_, code)) => return code == 0,
            Ok(WaitStatus::Signaled(..)) => return true,
            Ok(_) if Instant::now() < deadline => {
                std::thread::sleep(nap);
                nap = (nap * 2).min(Duration::from_millis(20));
            }
            Err(nix::errno::Errno::EINTR) => {}
            Ok(_) => {
                let _ = kill(pid, Signal::SIGKILL);
                let _ = waitpid(pid, None);
                return false;
            }
            Err(_) => return false,
        }
    }
}

/// The state of `dir`, with `check` run (see [`run_check`]) when it would
/// be ready.
pub fn evaluate_checked(dir: &Path, check: &mut dyn FnMut(&Path) -> bool) -> DepState {
    match evaluate(dir) {
        DepState::NeedsCheck if check(dir) => DepState::Ready,
        DepState::NeedsCheck => DepState::Starting,
        s => s,
    }
}

/// Everything a held-back (or running) service needs to know about its
/// dependencies at one moment.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Assessment {
    /// What `supervise/waiting` should say: empty when `./run` may start.
    pub waiting: Waiting,
    /// A hard dependency is not ready (a running service must stop).
    pub hard_unready: bool,
    /// A `./check` script failed: nothing on disk will announce when it
    /// passes, so the caller asks again after [`RECHECK`].
    pub recheck: bool,
}

/// How often a failing dependency `./check` is run again while waiting.
pub const RECHECK: Duration = Duration::from_millis(500);

/// What a dependent does before it reads its dependencies' state: enter
/// itself in their indexes ([`DEPENDENTS_MARK`]), so that their runsvs
/// tell it of each later change, and know what to watch.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Plan {
    /// The directories to watch for changes: every dependency, and every
    /// service directory on the dependency graph (their `depends` may
    /// close or open a cycle), `me` included.
    pub watch: Vec<(PathBuf, Role)>,
    /// A dependency has no runsv yet (or could not be marked as depended
    /// on): its runsv will not tell us about its changes.
    pub unmarked: bool,
}

/// The [`Plan`] of `me` (in the services directory `scan_dir`) for the
/// dependencies `deps` and the `graph` read from it ([`depends::Graph`]).
/// `mark` is how `me` enters each dependency's index (none: it is not
/// entered, and counts as unmarked).
pub fn plan(
    scan_dir: &Path,
    me: &Path,
    graph: Option<&depends::Graph>,
    mark: Option<&Mark>,
    deps: &depends::Depends,
) -> Plan {
    let mut p = Plan::default();
    for d in &deps.deps {
        let dir = depends::resolve(scan_dir, &d.name);
        let marked = mark.is_some_and(|m| mark_depended_on(&SuperviseDir::of(&dir), m));
        p.unmarked |= !marked;
        if !p.watch.iter().any(|(w, _)| *w == dir) {
            p.watch.push((dir, Role::Service { poked: marked }));
        }
    }
    for dir in graph.iter().flat_map(|g| g.dirs.iter()) {
        if !p.watch.iter().any(|(w, _)| w == dir) {
            p.watch.push((dir.clone(), Role::Graph));
        }
    }
    p.watch.push((me.to_path_buf(), Role::Graph));
    p
}

/// Reads the state of every dependency in `deps` (from the `depends` of a
/// service in the services directory `scan_dir`), after its [`plan`], and
/// looks for a dependency cycle through it in `graph` if given (read from
/// it, see [`depends::Graph::read`]; a caller may keep it while no
/// `depends` file changed, and need read it only while the service is
/// held: a member of a cycle never is ready). A service in a cycle waits for the cycle only (its members
/// never start). `check` runs a dependency's `./check` (see
/// [`run_check`]).
pub fn assess(
    scan_dir: &Path,
    graph: Option<&depends::Graph>,
    deps: &depends::Depends,
    check: &mut dyn FnMut(&Path) -> bool,
) -> Assessment {
    let mut a = Assessment::default();
    for d in &deps.deps {
        let dir = depends::resolve(scan_dir, &d.name);
        let mut state = evaluate(&dir);
        if state == DepState::NeedsCheck {
            if check(&dir) {
                state = DepState::Ready;
            } else {
                state = DepState::Starting;
                a.recheck = true;
            }
        }
        if let Some(why) = state.holds(d.soft) {
            a.waiting.deps.push((why, d.name.clone()));
        }
        a.hard_unready |= !d.soft && state.holds(false).is_some();
    }
    if let Some(g) = graph {
        a.apply_cycle(g);
    }
    a
}

impl Assessment {
    /// A cycle through the service in `graph` is all it waits for.
    pub fn apply_cycle(&mut self, graph: &depends::Graph) {
        if let Some(cycle) = graph.cycle() {
            self.waiting.cycle = cycle[..cycle.len() - 1].to_vec();
            self.waiting.deps.clear();
            self.hard_unready = true;
        }
    }
}

/// The running-or-not hard dependents of the service directory `me` (a
/// slot: `DIR` or `DIR/log`) among those entered in its
/// [`DEPENDENTS_MARK`], whose `depends` (or `log/depends`) still lists
/// `me` as a hard dependency: what must stop before `me` does. Identity is
/// by inode, so `db` and `/etc/sv/db` match. A relative NAME is resolved
/// in the dependent's services directory (and, for a runsv started by
/// hand elsewhere, in `my_scan`, where `me`'s runsv was started).
pub fn hard_dependents(me: &Path, my_scan: &Path) -> Vec<PathBuf> {
    let Some(me_node) = depends::Node::of(me, b"") else { return Vec::new() };
    let mut out = Vec::new();
    for dep in dependents_of(me) {
        let slot = dep.slot();
        let Ok(Some(d)) = depends::read(&slot) else { continue };
        let scans = [dep.scan_dir(), Some(my_scan)];
        let lists_me = d.hard().any(|x| {
            scans
                .iter()
                .flatten()
                .any(|scan| depends::Node::of(&depends::resolve(scan, &x.name), &x.name).is_some_and(|n| n == me_node))
        });
        if lists_me && depends::Node::of(&slot, b"").is_some_and(|n| n != me_node) {
            out.push(slot);
        }
    }
    out.sort();
    out.dedup();
    out
}

/// The byte a runsv writes to a dependent's `supervise/control` when the
/// state its dependents read may have changed (docs/PROTOCOL.md, section
/// 5). Not one of runit's letters ([`crate::control::LETTERS`]): runit's
/// runsv ignores it.
pub const DEPS_CHANGED: u8 = b'D';

/// `supervise/dependents/`: the reverse index of the dependency graph.
/// A dependent's runsv enters itself in the `supervise/` of each service
/// it reads as a dependency: a symbolic link named after the dependent's
/// directory (device and inode in hex, `-log` for its log service), whose
/// target is that directory as its runsv reaches it
/// (`/etc/service/web`). A runsv tells the dependents found there about
/// its changes (and waits for the hard ones at a stop) without reading
/// any other service's files; a plain service has no such directory and
/// looks for nothing. Entries whose directory is gone (or is another
/// directory now) are removed when read.
pub const DEPENDENTS_MARK: &str = "dependents";

/// How a dependent enters itself in a dependency's [`DEPENDENTS_MARK`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mark {
    entry: std::ffi::OsString,
    target: PathBuf,
}

impl Mark {
    /// The mark of the service directory `dir` (as its runsv reaches it
    /// from where it was started), or of its log service; `None` when
    /// `dir` cannot be read.
    pub fn of(dir: &Path, log: bool) -> Option<Mark> {
        use std::os::unix::fs::MetadataExt;
        let m = std::fs::metadata(dir).ok()?;
        let entry = entry_name((m.dev(), m.ino()), log);
        Some(Mark { entry: entry.into(), target: dir.to_path_buf() })
    }
}

fn entry_name(id: (u64, u64), log: bool) -> String {
    format!("{:x}-{:x}{}", id.0, id.1, if log { "-log" } else { "" })
}

/// One entry of a [`DEPENDENTS_MARK`].
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Dependent {
    /// The dependent's service directory.
    pub dir: PathBuf,
    /// It is that directory's log service.
    pub log: bool,
}

impl Dependent {
    /// The directory whose `depends` names the dependency, whose
    /// `supervise/` to poke: `DIR` or `DIR/log`.
    pub fn slot(&self) -> PathBuf {
        if self.log {
            self.dir.join("log")
        } else {
            self.dir.clone()
        }
    }

    /// Where the dependent's relative NAMEs live (the directory its runsv
    /// was started in, for a runsv run by runsvdir).
    fn scan_dir(&self) -> Option<&Path> {
        self.dir.parent().filter(|p| !p.as_os_str().is_empty())
    }
}

/// Enters `mark` in `sup`'s [`DEPENDENTS_MARK`] (never through a
/// symlink); whether it is there. Errors, such as a `supervise/` that does
/// not exist yet or that the caller may not write, leave it out: that
/// service's runsv then does not tell, and inotify or the re-read covers
/// it.
pub fn mark_depended_on(sup: &SuperviseDir, mark: &Mark) -> bool {
    use nix::errno::Errno;
    use nix::sys::stat::Mode;
    let dir = sup.file(DEPENDENTS_MARK);
    let entry = dir.join(&mark.entry);
    if std::fs::symlink_metadata(&entry).is_ok() {
        return true;
    }
    match std::fs::symlink_metadata(&dir) {
        Ok(m) if m.is_dir() => {}
        found => {
            // Not a directory (an empty file was the mark once, or a
            // symlink): replaced.
            if found.is_ok() && std::fs::remove_file(&dir).is_err() {
                return false;
            }
            if !matches!(nix::unistd::mkdir(&dir, Mode::from_bits_truncate(0o700)), Ok(()) | Err(Errno::EEXIST)) {
                return false;
            }
        }
    }
    if !std::fs::symlink_metadata(&dir).is_ok_and(|m| m.is_dir()) {
        return false;
    }
    match std::os::unix::fs::symlink(&mark.target, &entry) {
        Ok(()) => true,
        Err(e) => e.kind() == std::io::ErrorKind::AlreadyExists,
    }
}

/// Whether a dependent ever entered itself in the service in `dir`
/// ([`DEPENDENTS_MARK`]).
pub fn is_depended_on(dir: &Path) -> bool {
    std::fs::symlink_metadata(SuperviseDir::of(dir).file(DEPENDENTS_MARK)).is_ok()
}

/// The dependents entered in the [`DEPENDENTS_MARK`] of the service
/// directory `dir` (a slot: `DIR` or `DIR/log`), sorted. Entries whose
/// directory is gone or is another directory now are removed.
pub fn dependents_of(dir: &Path) -> Vec<Dependent> {
    use std::os::unix::fs::MetadataExt;
    let index = SuperviseDir::of(dir).file(DEPENDENTS_MARK);
    let Ok(entries) = std::fs::read_dir(&index) else { return Vec::new() };
    let mut out = Vec::new();
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(name) = name.to_str() else { continue };
        let Ok(target) = std::fs::read_link(e.path()) else { continue };
        let log = name.ends_with("-log");
        let live = match std::fs::metadata(&target) {
            Ok(m) => entry_name((m.dev(), m.ino()), log) == name,
            Err(e) => e.kind() != std::io::ErrorKind::NotFound,
        };
        if live {
            out.push(Dependent { dir: target, log });
        } else {
            let _ = std::fs::remove_file(e.path());
        }
    }
    out.sort();
    out
}

/// Tells the runsv of the service in `dir` that its dependencies may have
/// changed: [`DEPS_CHANGED`] to `supervise/control`, never blocking, never
/// through a symlink. No runsv there (or a full FIFO, which will wake it
/// anyway) is not an error.
pub fn poke(dir: &Path) {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let control = SuperviseDir::of(dir).file("control");
    if let Ok(mut f) =
        std::fs::OpenOptions::new().write(true).custom_flags(libc::O_NONBLOCK | libc::O_NOFOLLOW).open(control)
    {
        let _ = f.write(&[DEPS_CHANGED]);
    }
}

/// Whether the service in `dir` is down, `./finish` done (or has no
/// runsv): a stopping dependency waits for this of each hard dependent.
pub fn is_down(dir: &Path) -> bool {
    let sup = SuperviseDir::of(dir);
    if probe_ok(&sup.file("ok")).is_err() {
        return true;
    }
    match read_status(&sup.file("status")) {
        // Its `./finish` too: a tree stops in order, clean-ups included.
        Ok(st) => st.state == 0,
        Err(_) => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::depends::{write_oneshot, write_waiting, OneshotRecord};
    use crate::extras::{write_ready, Ready};
    use crate::status::Status;
    use crate::{State, Want};
    use std::fs;
    use std::os::unix::fs::PermissionsExt;
    use unix::tai64n::Tai64n;

    /// [`plan`] and [`assess`] with the graph read afresh.
    fn fresh(
        scan: &Path,
        me: &Path,
        name: &[u8],
        mark: Option<&Mark>,
        deps: &depends::Depends,
        check: &mut dyn FnMut(&Path) -> bool,
    ) -> (Plan, Assessment) {
        let graph = depends::Graph::read(scan, me, name, deps);
        (plan(scan, me, Some(&graph), mark, deps), assess(scan, Some(&graph), deps, check))
    }

    /// A service directory with a fake runsv: `ok` held open for reading.
    struct Fake {
        dir: tempfile::TempDir,
        _ok: Option<fs::File>,
    }

    impl Fake {
        fn new(supervised: bool) -> Fake {
            let dir = tempfile::tempdir().unwrap();
            fs::create_dir(dir.path().join("supervise")).unwrap();
            let ok = dir.path().join("supervise/ok");
            unix::fifo::mkfifo(&ok, 0o600).unwrap();
            let ok = supervised.then(|| {
                use std::os::unix::fs::OpenOptionsExt;
                fs::OpenOptions::new().read(true).custom_flags(libc::O_NONBLOCK).open(&ok).unwrap()
            });
            Fake { dir, _ok: ok }
        }
        fn path(&self) -> &Path {
            self.dir.path()
        }
        fn status(&self, pid: u32, state: State, want: Want) {
            let st = Status::new(Tai64n::now(), pid, state, want, false, false);
            fs::write(self.path().join("supervise/status"), st.encode()).unwrap();
        }
        fn touch(&self, name: &str, content: &[u8]) {
            fs::write(self.path().join(name), content).unwrap();
        }
        fn sup(&self) -> SuperviseDir {
            SuperviseDir::of(self.path())
        }
    }

    #[test]
    fn missing_and_unsupervised() {
        assert_eq!(evaluate(Path::new("/nonexistent/service")), DepState::Missing);
        let f = Fake::new(false);
        f.status(42, State::Run, Want::Up);
        assert_eq!(evaluate(f.path()), DepState::NotSupervised, "status left by a dead runsv");
        f.status(0, State::Down, Want::Down);
        assert_eq!(evaluate(f.path()), DepState::WantedDown, "recorded as wanted down");
        let empty = tempfile::tempdir().unwrap();
        assert_eq!(evaluate(empty.path()), DepState::NotSupervised, "never supervised");
    }

    #[test]
    fn running_services() {
        let f = Fake::new(true);
        f.status(42, State::Run, Want::Up);
        assert_eq!(evaluate(f.path()), DepState::Ready);
        f.status(42, State::Run, Want::Down);
        assert_eq!(evaluate(f.path()), DepState::WantedDown, "being stopped");
        f.status(0, State::Down, Want::Down);
        assert_eq!(evaluate(f.path()), DepState::WantedDown);
        f.status(0, State::Down, Want::Up);
        assert_eq!(evaluate(f.path()), DepState::Down);
        f.status(0, State::Finish, Want::Up);
        assert_eq!(evaluate(f.path()), DepState::Down);
        write_waiting(&f.sup(), &Waiting { deps: vec![(Why::NotReady, b"x".to_vec())], cycle: vec![] }).unwrap();
        f.status(0, State::Down, Want::Up);
        assert_eq!(evaluate(f.path()), DepState::Waiting);
        f.status(42, State::Run, Want::Up);
        assert_eq!(evaluate(f.path()), DepState::Starting, "stopping for its own dependencies");
    }

    #[test]
    fn readiness_needs_the_record_of_the_current_pid() {
        let f = Fake::new(true);
        f.touch("notification-fd", b"3\n");
        f.status(42, State::Run, Want::Up);
        assert_eq!(evaluate(f.path()), DepState::Starting);
        write_ready(&f.sup(), &Ready { stamp: Tai64n::now(), pid: 41 }).unwrap();
        assert_eq!(evaluate(f.path()), DepState::Starting, "an older pid's record");
        write_ready(&f.sup(), &Ready { stamp: Tai64n::now(), pid: 42 }).unwrap();
        assert_eq!(evaluate(f.path()), DepState::Ready);
    }

    #[test]
    fn a_notify_socket_service_is_ready_once_it_said_so() {
        let f = Fake::new(true);
        f.touch("notify-socket", b"");
        f.status(42, State::Run, Want::Up);
        assert_eq!(evaluate(f.path()), DepState::Starting, "running, no READY=1 yet");
        write_ready(&f.sup(), &Ready { stamp: Tai64n::now(), pid: 42 }).unwrap();
        assert_eq!(evaluate(f.path()), DepState::Ready);
    }

    #[test]
    fn check_scripts_decide() {
        let f = Fake::new(true);
        f.status(42, State::Run, Want::Up);
        f.touch("check", b"#!/bin/sh\ntest -e pass\n");
        fs::set_permissions(f.path().join("check"), fs::Permissions::from_mode(0o755)).unwrap();
        let mut check = |d: &Path| run_check(d, b"test: warning: unable to run check: ", &|_| {}, CHECK_TIMEOUT);
        assert_eq!(evaluate(f.path()), DepState::NeedsCheck);
        assert_eq!(evaluate_checked(f.path(), &mut check), DepState::Starting);
        f.touch("pass", b"");
        assert_eq!(evaluate_checked(f.path(), &mut check), DepState::Ready);
        f.touch("check", b"#!/bin/sh\necho out 2>/dev/null || exit 3\nexit 0\n");
        assert!(!check(f.path()), "stdout is closed, as with runit's sv");
        f.touch("check", b"#!/bin/sh\nexec sleep 30\n");
        let t = Instant::now();
        assert!(!run_check(f.path(), b"", &|_| {}, Duration::from_millis(100)), "a hanging check fails");
        assert!(t.elapsed() < Duration::from_secs(10));
        fs::set_permissions(f.path().join("check"), fs::Permissions::from_mode(0o644)).unwrap();
        assert!(check(f.path()), "not executable passes, as with runit");
        fs::remove_file(f.path().join("check")).unwrap();
        assert!(check(f.path()), "no check passes");
    }

    #[test]
    fn oneshots() {
        let f = Fake::new(true);
        f.touch("oneshot", b"");
        f.status(42, State::Run, Want::Up);
        assert_eq!(evaluate(f.path()), DepState::Starting, "running is not done");
        f.status(0, State::Down, Want::Down);
        write_oneshot(&f.sup(), Some(&OneshotRecord { outcome: Outcome::Done, stamp: Tai64n::now() })).unwrap();
        assert_eq!(evaluate(f.path()), DepState::Done);
        write_oneshot(&f.sup(), Some(&OneshotRecord { outcome: Outcome::Failed, stamp: Tai64n::now() })).unwrap();
        assert_eq!(evaluate(f.path()), DepState::Failed);
        f.status(0, State::Down, Want::Up);
        assert_eq!(evaluate(f.path()), DepState::Down, "failed, to be retried by restart-backoff");
    }

    #[test]
    fn hard_and_soft_rules() {
        use DepState::*;
        for s in [Ready, Done] {
            assert_eq!(s.holds(false), None);
            assert_eq!(s.holds(true), None);
        }
        assert_eq!(Missing.holds(false), Some(Why::Missing));
        assert_eq!(WantedDown.holds(false), Some(Why::WantedDown));
        assert_eq!(Failed.holds(false), Some(Why::Failed));
        for s in [Missing, Failed, WantedDown, Down] {
            assert_eq!(s.holds(true), None, "{s:?}");
        }
        for s in [NotSupervised, Starting, Waiting, NeedsCheck] {
            assert_eq!(s.holds(true), Some(Why::NotReady), "{s:?}");
            assert_eq!(s.holds(false), Some(Why::NotReady), "{s:?}");
        }
        assert_eq!(Down.holds(false), Some(Why::NotReady));
    }

    #[test]
    fn assessment_lists_what_holds_and_cycles_win() {
        let d = tempfile::tempdir().unwrap();
        let scan = d.path().join("service");
        fs::create_dir(&scan).unwrap();
        let db = Fake::new(true);
        db.status(42, State::Run, Want::Up);
        std::os::unix::fs::symlink(db.path(), scan.join("db")).unwrap();
        let web = scan.join("web");
        fs::create_dir(&web).unwrap();
        fs::write(
            web.join("depends"),
            b"db
cache soft
queue
",
        )
        .unwrap();
        let deps = depends::read(&web).unwrap().unwrap();
        let mut check = |_: &Path| true;
        let (p, a) = fresh(&scan, &web, b"web", None, &deps, &mut check);
        assert_eq!(a.waiting.deps, vec![(Why::Missing, b"queue".to_vec())]);
        assert!(a.hard_unready);
        assert!(!a.recheck);
        assert!(p.watch.contains(&(scan.join("db"), Role::Service { poked: false })), "no mark given");
        assert!(p.watch.contains(&(web.clone(), Role::Graph)));

        fs::write(
            web.join("depends"),
            b"db
",
        )
        .unwrap();
        let (_, a) = fresh(&scan, &web, b"web", None, &depends::read(&web).unwrap().unwrap(), &mut check);
        assert!(a.waiting.is_empty() && !a.hard_unready, "{a:?}");

        fs::write(
            db.path().join("depends"),
            b"web
",
        )
        .unwrap();
        let (_, a) = fresh(&scan, &web, b"web", None, &depends::read(&web).unwrap().unwrap(), &mut check);
        assert_eq!(a.waiting.cycle, vec![b"web".to_vec(), b"db".to_vec()]);
        assert!(a.waiting.deps.is_empty());
        assert!(a.hard_unready);
    }

    #[test]
    fn a_dependency_is_marked_by_its_dependents_plan_only() {
        let f = Fake::new(true);
        f.status(7, State::Run, Want::Up);
        let _ = evaluate(f.path());
        assert!(!is_depended_on(f.path()), "reading a state marks nothing");
        let deps = depends::parse(f.path().to_str().unwrap().as_bytes());
        let me = tempfile::tempdir().unwrap();
        let (p, _) = fresh(Path::new("/"), me.path(), b"me", None, &deps, &mut |_| true);
        assert!(!is_depended_on(f.path()) && p.unmarked, "no mark given, none entered");
        let mark = Mark::of(me.path(), false).unwrap();
        let (p, _) = fresh(Path::new("/"), me.path(), b"me", Some(&mark), &deps, &mut |_| true);
        assert!(is_depended_on(f.path()), "a dependent's plan marks it");
        assert!(!p.unmarked);
        assert_eq!(dependents_of(f.path()), vec![Dependent { dir: me.path().to_path_buf(), log: false }]);
        // Entered once, however often it reads.
        let _ = fresh(Path::new("/"), me.path(), b"me", Some(&mark), &deps, &mut |_| true);
        assert_eq!(fs::read_dir(f.path().join("supervise/dependents")).unwrap().count(), 1);
    }

    #[test]
    fn the_index_drops_entries_whose_directory_is_gone_or_replaced() {
        let f = Fake::new(true);
        let d = tempfile::tempdir().unwrap();
        let (web, api) = (d.path().join("web"), d.path().join("api"));
        fs::create_dir_all(web.join("log")).unwrap();
        fs::create_dir(&api).unwrap();
        for m in [Mark::of(&web, false), Mark::of(&web, true), Mark::of(&api, false)] {
            assert!(mark_depended_on(&f.sup(), &m.unwrap()));
        }
        let all = dependents_of(f.path());
        assert_eq!(all.len(), 3, "{all:?}");
        assert!(all.contains(&Dependent { dir: web.clone(), log: true }));
        assert_eq!(all.iter().find(|x| x.log).unwrap().slot(), web.join("log"));
        fs::remove_dir(&api).unwrap();
        // Same path, another directory (the old one kept, so that its
        // inode number cannot be reused for the new one).
        fs::rename(&web, d.path().join("old-web")).unwrap();
        fs::create_dir(&web).unwrap();
        assert_eq!(dependents_of(f.path()), vec![]);
        assert_eq!(fs::read_dir(f.path().join("supervise/dependents")).unwrap().count(), 0, "pruned");
    }

    #[test]
    fn an_old_style_mark_file_becomes_the_index() {
        let f = Fake::new(true);
        f.touch("supervise/dependents", b"");
        assert!(is_depended_on(f.path()));
        assert_eq!(dependents_of(f.path()), vec![]);
        let me = tempfile::tempdir().unwrap();
        assert!(mark_depended_on(&f.sup(), &Mark::of(me.path(), false).unwrap()));
        assert_eq!(dependents_of(f.path()).len(), 1);
    }

    #[test]
    fn a_symlinked_index_is_not_followed() {
        let f = Fake::new(true);
        let elsewhere = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(elsewhere.path(), f.path().join("supervise/dependents")).unwrap();
        let me = tempfile::tempdir().unwrap();
        let _ = mark_depended_on(&f.sup(), &Mark::of(me.path(), false).unwrap());
        assert_eq!(fs::read_dir(elsewhere.path()).unwrap().count(), 0, "nothing written through the link");
    }

    #[test]
    fn dependents_are_found_by_identity_and_down_is_read() {
        let d = tempfile::tempdir().unwrap();
        let scan = d.path().join("service");
        let sv = d.path().join("sv");
        for s in ["db", "web", "api", "cache"] {
            fs::create_dir_all(sv.join(s).join("log")).unwrap();
        }
        fs::create_dir(sv.join("db/supervise")).unwrap();
        fs::create_dir(&scan).unwrap();
        for s in ["db", "web", "api", "cache"] {
            std::os::unix::fs::symlink(sv.join(s), scan.join(s)).unwrap();
        }
        fs::write(
            sv.join("web/depends"),
            b"db
",
        )
        .unwrap();
        fs::write(sv.join("api/depends"), format!("{}\n", sv.join("db").display())).unwrap();
        fs::write(
            sv.join("api/log/depends"),
            b"db
",
        )
        .unwrap();
        fs::write(
            sv.join("cache/depends"),
            b"db soft
",
        )
        .unwrap();
        fs::write(
            sv.join("db/depends"),
            b"db
",
        )
        .unwrap();
        for (s, log) in [("web", false), ("api", false), ("api", true), ("cache", false), ("db", false)] {
            assert!(mark_depended_on(&SuperviseDir::of(&scan.join("db")), &Mark::of(&scan.join(s), log).unwrap()));
        }
        let got = hard_dependents(&scan.join("db"), &scan);
        assert_eq!(got, vec![scan.join("api"), scan.join("api/log"), scan.join("web")]);

        assert!(is_down(&scan.join("web")), "never supervised");
        let f = Fake::new(true);
        f.status(42, State::Run, Want::Down);
        assert!(!is_down(f.path()));
        f.status(43, State::Finish, Want::Down);
        assert!(!is_down(f.path()), "./finish still runs");
        f.status(0, State::Down, Want::Down);
        assert!(is_down(f.path()));
    }
}
