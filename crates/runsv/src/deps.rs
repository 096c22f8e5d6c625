//! The I/O side of dependencies (docs/EXTENSIONS.md): reading the
//! `depends` files and the dependencies' state, watching them with
//! inotify, publishing `supervise/waiting`, and finding the hard
//! dependents a stop waits for. Every decision is the step table's
//! ([`crate::machine`]); this module only turns files into
//! [`Event::Deps`] and [`Event::Dependents`].
//!
//! A runsv whose service has no `depends` file does nothing here until
//! it stops: then it lists its `supervise/dependents/` (where dependents
//! enter themselves), and only if one of them runs does it watch
//! anything.

use crate::machine::{DepView, Event, Kind};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use supervise::depends::{self, Depends, Waiting};
use supervise::depstate::{self, Assessment, DepState};
use supervise::depwatch::{DepWatch, Role};
use supervise::SuperviseDir;
use unix::msg::Label;

/// Without inotify, how often the dependencies are read again while only
/// a re-read can tell (see [`recheck_after`]).
const POLL_WITHOUT_INOTIFY: Duration = Duration::from_secs(1);

/// When to read everything again: soon after a failing `./check`
/// (`check_failed`); without inotify (`polling`) every second, but only
/// while waiting for something no runsv announces with
/// [`depstate::DEPS_CHANGED`] (`unannounced`: a dependency not linked yet,
/// a cycle an edit may break; a stop waiting for dependents run by
/// another supervisor). Everything else wakes the loop through the poke.
fn recheck_after(check_failed: bool, polling: bool, unannounced: bool) -> Option<Duration> {
    if check_failed {
        Some(depstate::RECHECK)
    } else if polling && unannounced {
        Some(POLL_WITHOUT_INOTIFY)
    } else {
        None
    }
}

/// One slot's dependencies.
struct SlotDeps {
    kind: Kind,
    /// `.` or `log`, relative to the service directory.
    dir: &'static str,
    /// How messages and cycles name the slot: `web`, `web/log`.
    name: Vec<u8>,
    sup: SuperviseDir,
    /// How the slot enters itself in its dependencies' index.
    mark: Option<depstate::Mark>,
    /// The slot has (or had) a `depends` file.
    active: bool,
    /// Its `depends` and, once it was held, the graph from it, as last
    /// read: kept while inotify shows no change but to `supervise/`
    /// records. A slot whose dependencies are all ready at once never
    /// reads the graph (no cycle can hold it: a member of one never is).
    read: Option<(Depends, Option<depends::Graph>)>,
    /// Its dependencies' indexes entered and the watches wanted, for
    /// `read`.
    plan: depstate::Plan,
    last: Assessment,
    view: Option<DepView>,
    /// `supervise/waiting` is shown (the step table holds the slot).
    shown: bool,
    /// Malformed lines and the cycle already reported.
    reported: Vec<(usize, Vec<u8>)>,
    reported_cycle: Vec<Vec<u8>>,
}

pub struct DepsIo {
    label: Label,
    /// The directory runsv was started in (absolute), where NAMEs live.
    scan_dir: Option<PathBuf>,
    slots: Vec<SlotDeps>,
    watch: Option<DepWatch>,
    /// inotify could not be had (reported once): poll instead.
    polling: bool,
    /// How the watcher is made (tests make it fail).
    new_watch: fn() -> Result<DepWatch, unix::inotify::NotAvailable>,
    /// The hard dependents a stop waits for.
    dependents: Vec<PathBuf>,
    /// Read everything again then (a failing `./check`, or no inotify).
    recheck_at: Option<Instant>,
    /// Something dependents read may have been written since the last
    /// [`DepsIo::announce`].
    dirty: bool,
    /// What dependents saw of the service (main, log) at the last poke.
    announced: (Seen, Option<Seen>),
    /// Changes went untold (nobody depended on the service then): the
    /// next announcement tells whatever it finds.
    announced_stale: bool,
}

/// What a dependent's decisions can tell apart of a dependency: whether a
/// hard and a soft dependent wait (and why, for `supervise/waiting`),
/// whether a `./check` is to run, and whether it is down (a stop waits
/// for that of its dependents). A change of anything else wakes nobody.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Seen {
    /// Read for dependents (someone is entered in the index); without
    /// them only `down` is read, and the first full reading must differ
    /// from any partial one (or a dependent entered meanwhile would miss
    /// the change to what it awaits).
    full: bool,
    hard: Option<depends::Why>,
    soft: Option<depends::Why>,
    check: bool,
    down: bool,
}

impl Seen {
    /// What a dependent decides by.
    fn for_dependents(self) -> (bool, Option<depends::Why>, Option<depends::Why>, bool) {
        (self.full, self.hard, self.soft, self.check)
    }

    /// What dependents see of the service in `dir`; with `dependents`
    /// false (nobody entered in its index) only whether it is down, which
    /// its own dependencies may wait for.
    fn of(dir: &Path, dependents: bool) -> Seen {
        if !dependents {
            let down = depstate::is_down(dir);
            return Seen { full: false, hard: None, soft: None, check: false, down };
        }
        let (st, down) = depstate::evaluate_and_down(dir);
        Seen { full: true, hard: st.holds(false), soft: st.holds(true), check: st == DepState::NeedsCheck, down }
    }
}

impl DepsIo {
    /// `name` is runsv's argument; `sups` the open `supervise/` of the
    /// service and of its log service, if any.
    pub fn new(
        label: Label,
        scan_dir: Option<PathBuf>,
        name: &[u8],
        main: SuperviseDir,
        log: Option<SuperviseDir>,
    ) -> DepsIo {
        // The service directory as runsvdir (or whoever started runsv)
        // reaches it: where dependents are poked and their NAMEs resolved.
        let home = scan_dir.as_ref().map(|s| s.join(std::ffi::OsStr::from_bytes(name)));
        let slot = |kind, dir, name: Vec<u8>, sup| SlotDeps {
            kind,
            dir,
            name,
            sup,
            mark: home.as_deref().and_then(|h| depstate::Mark::of(h, kind == Kind::Log)),
            active: false,
            read: None,
            plan: depstate::Plan::default(),
            last: Assessment::default(),
            view: None,
            shown: false,
            reported: Vec::new(),
            reported_cycle: Vec::new(),
        };
        // As dependents see the service before this runsv serves it: a
        // first state that looks the same to them (held back, say) needs
        // no poke.
        let seen = |dir: &str| Seen::of(Path::new(dir), depstate::is_depended_on(Path::new(dir)));
        let announced = (seen("."), log.is_some().then(|| seen("log")));
        let mut slots = vec![slot(Kind::Main, ".", name.to_vec(), main)];
        if let Some(sup) = log {
            slots.push(slot(Kind::Log, "log", [name, b"/log"].concat(), sup));
        }
        DepsIo {
            label,
            scan_dir,
            slots,
            watch: None,
            polling: false,
            new_watch: DepWatch::new,
            dependents: Vec::new(),
            recheck_at: None,
            dirty: true,
            announced,
            announced_stale: false,
        }
    }

    /// The first reading, before the first start: an event for each slot
    /// with a `depends` file. A `waiting` left by an earlier runsv goes.
    pub fn initial(&mut self) -> Vec<Event> {
        for s in &self.slots {
            let _ = depends::write_waiting(&s.sup, &Waiting::default());
        }
        self.refresh()
    }

    /// The descriptor to poll, if watching.
    pub fn fd(&self) -> Option<i32> {
        self.watch.as_ref().map(DepWatch::fd)
    }

    pub fn deadline(&self) -> Option<Instant> {
        self.recheck_at
    }

    /// After poll: whether anything watched changed (or a recheck is
    /// due); then [`DepsIo::refresh`] is to be called.
    pub fn due(&mut self, now: Instant) -> bool {
        let changed = self.watch.as_mut().is_some_and(DepWatch::changed);
        changed || self.recheck_at.is_some_and(|t| now >= t)
    }

    /// Reads the dependencies (and the awaited dependents) again: the
    /// events for what changed.
    pub fn refresh(&mut self) -> Vec<Event> {
        let had_dependents = !self.dependents.is_empty();
        let mut views: Vec<(Kind, DepView)> = Vec::new();
        // The `depends` files only when they may have changed: a watch saw
        // more than a `supervise/` record change, or nothing watches them.
        let mut graph = self.watch.as_mut().is_none_or(DepWatch::take_reshaped);
        // The `depends` files are read with the watches of the last
        // reading in place; if they show other directories to watch (or
        // one that appeared), the watches are set and the files read once
        // more, so that no change falls between a read and its watch. The
        // dependencies' state is read last, with everything watched (and
        // this runsv entered in their indexes).
        for _ in 0..3 {
            for i in 0..self.slots.len() {
                self.prepare(i, graph);
            }
            self.dependents.retain(|d| !depstate::is_down(d));
            let want = self.wanted_watches();
            if !self.set_watches(&want) {
                break;
            }
            graph = true;
        }
        let mut recheck = false;
        for i in 0..self.slots.len() {
            if let Some(view) = self.assess(i) {
                recheck |= self.slots[i].last.recheck;
                views.push((self.slots[i].kind, view));
            }
        }
        // After set_watches: that is where a missing inotify shows.
        self.recheck_at = recheck_after(recheck, self.polling, self.unannounced()).map(|d| Instant::now() + d);
        let mut events = Vec::new();
        for (kind, view) in views {
            if let Some(s) = self.slots.iter_mut().find(|s| s.kind == kind) {
                if s.view != Some(view) {
                    s.view = Some(view);
                    events.push(Event::Deps(kind, view));
                }
            }
        }
        if had_dependents && self.dependents.is_empty() {
            events.push(Event::Dependents(false));
        }
        events
    }

    /// Waiting for something only a re-read can see (see
    /// [`recheck_after`]).
    fn unannounced(&self) -> bool {
        let waits = self.slots.iter().filter(|s| s.active).any(|s| {
            !s.last.waiting.cycle.is_empty()
                || s.plan.unmarked
                || s.last.waiting.deps.iter().any(|(why, _)| *why == depends::Why::Missing)
        });
        waits || !self.dependents.is_empty()
    }

    /// Something dependents read was (or may have been) written.
    pub fn touched(&mut self) {
        self.dirty = true;
    }

    /// After a step: if the service's state as dependents read it changed,
    /// pokes every runsv that may care (its dependents, and its own
    /// dependencies, whose ordered stop may wait for it) with
    /// [`depstate::DEPS_CHANGED`], so that they need no inotify.
    pub fn announce(&mut self) {
        if !std::mem::take(&mut self.dirty) {
            return;
        }
        // A plain service nobody depends on has nothing to tell: one stat,
        // not a reading of its own state (this runs between a reap and
        // the restart). What it last told is then unknown.
        let main_marked = depstate::is_depended_on(Path::new("."));
        let log_marked = self.slots.len() > 1 && depstate::is_depended_on(Path::new("log"));
        if !main_marked && !log_marked && !self.slots.iter().any(|s| s.active) {
            self.announced_stale = true;
            return;
        }
        let now = (
            Seen::of(Path::new("."), main_marked),
            (self.slots.len() > 1).then(|| Seen::of(Path::new("log"), log_marked)),
        );
        let before = std::mem::replace(&mut self.announced, now);
        let stale = std::mem::take(&mut self.announced_stale);
        if before == now && !stale {
            return;
        }
        let seen = |s: &SlotDeps, of: &(Seen, Option<Seen>)| if s.kind == Kind::Log { of.1 } else { Some(of.0) };
        let mut to: Vec<PathBuf> = Vec::new();
        for s in &self.slots {
            let (was, is) = (seen(s, &before), seen(s, &now));
            // Its dependents, entered in its index (a plain service has
            // none), read whether it holds them and whether to check it.
            if stale || was.map(Seen::for_dependents) != is.map(Seen::for_dependents) {
                to.extend(depstate::dependents_of(Path::new(s.dir)).into_iter().map(|d| d.slot()));
            }
            // Its own dependencies only that it is down now: a stop of
            // theirs may wait for that.
            let went_down = is.is_some_and(|x| x.down) && !was.is_some_and(|x| x.down);
            if s.active && (stale || went_down) {
                to.extend(s.plan.watch.iter().filter(|(_, role)| role.is_service()).map(|(d, _)| d.clone()));
            }
        }
        to.sort();
        to.dedup();
        for d in &to {
            depstate::poke(d);
        }
        drop(to);
        // The directory stream's 32 KiB buffer left free but dirty heap
        // pages behind, for the whole life of the runsv otherwise.
        unix::heap::release_free();
    }

    fn wanted_watches(&self) -> Vec<(PathBuf, Role)> {
        let mut want: Vec<(PathBuf, Role)> = Vec::new();
        for s in self.slots.iter().filter(|s| s.active) {
            want.extend(s.plan.watch.iter().cloned());
        }
        // A stop waits for them to be down: `status` tells.
        want.extend(self.dependents.iter().map(|d| (d.clone(), Role::Service { poked: true })));
        want
    }

    /// Returns whether something is watched that was not before.
    fn set_watches(&mut self, want: &[(PathBuf, Role)]) -> bool {
        if want.is_empty() && self.watch.is_none() {
            return false;
        }
        self.make_watcher();
        match &mut self.watch {
            // Nothing to wait for: not even the services directory.
            Some(w) => w.watch(if want.is_empty() { None } else { self.scan_dir.as_deref() }, want),
            None => false,
        }
    }

    /// The inotify instance, made on first need (or the fallback, told
    /// once).
    fn make_watcher(&mut self) {
        if self.watch.is_none() && !self.polling {
            match (self.new_watch)() {
                Ok(w) => self.watch = Some(w),
                Err(e) => {
                    self.polling = true;
                    self.label.warn(&[
                        e.to_string().as_bytes(),
                        b"; reading dependencies when told, or every second while one is missing",
                    ]);
                }
            }
        }
    }

    /// Reads one slot's `depends` and the graph of `depends` files from it
    /// (if `graph`, or never yet) and enters the slot in its dependencies'
    /// indexes (then, or while one is not entered yet). A slot that had a
    /// `depends` has each directory watched before its file is read.
    fn prepare(&mut self, i: usize, graph: bool) {
        let label = self.label.clone();
        let scan = self.scan_dir.clone().unwrap_or_else(|| PathBuf::from("/"));
        if !self.slots[i].active {
            // The first `depends` seen (before anything is watched): read
            // again below, watched.
            if let Ok(None) = depends::read(Path::new(self.slots[i].dir)) {
                return;
            }
            self.slots[i].active = true;
        }
        self.make_watcher();
        let watch = &mut self.watch;
        let s = &mut self.slots[i];
        let me = Path::new(s.dir);
        let fresh = graph || s.read.is_none();
        if fresh {
            if let Some(w) = watch.as_mut() {
                w.watch_before_read(&scan);
                w.watch_before_read(me);
            }
            let file = if s.kind == Kind::Log { &b"log/depends"[..] } else { b"depends" };
            let deps = match depends::read(me) {
                Ok(Some(d)) => d,
                Ok(None) => Depends::default(),
                Err(e) => {
                    label.warn_err(&[b"unable to read ", file], &e);
                    Depends::default()
                }
            };
            for m in &deps.malformed {
                let key = (m.line, m.text.clone());
                if !s.reported.contains(&key) {
                    label.warn(&[&m.message(file), b" (line ignored)"]);
                    s.reported.push(key);
                }
            }
            s.read = Some((deps, None));
        }
        if let Some((deps, g)) = &s.read {
            if fresh || s.plan.unmarked {
                s.plan = depstate::plan(&scan, me, g.as_ref(), s.mark.as_ref(), deps);
            }
        }
    }

    /// Reads the graph of `depends` files from slot `i` (each directory
    /// watched before its file is read) and watches it.
    fn read_graph(&mut self, i: usize) {
        let scan = self.scan_dir.clone().unwrap_or_else(|| PathBuf::from("/"));
        let watch = &mut self.watch;
        let s = &mut self.slots[i];
        let Some((deps, graph)) = s.read.as_mut() else { return };
        let mut before_read = |dir: &Path| {
            if let Some(w) = watch.as_mut() {
                w.watch_before_read(dir);
            }
        };
        let g = depends::Graph::read_watching(&scan, Path::new(s.dir), &s.name, deps, &mut before_read);
        s.plan = depstate::plan(&scan, Path::new(s.dir), Some(&g), s.mark.as_ref(), deps);
        *graph = Some(g);
        let want = self.wanted_watches();
        self.set_watches(&want);
    }

    /// Reads the state of one slot's dependencies ([`DepsIo::prepare`]
    /// first); `None` when the slot has never had a `depends` file.
    fn assess(&mut self, i: usize) -> Option<DepView> {
        let label = self.label.clone();
        let scan = self.scan_dir.clone().unwrap_or_else(|| PathBuf::from("/"));
        let mut check = |dir: &Path| {
            let warn =
                [label.as_bytes(), b": warning: unable to run ", dir.as_os_str().as_encoded_bytes(), b"/check: "]
                    .concat();
            depstate::run_check(dir, &warn, &crate::io::child_signals, depstate::CHECK_TIMEOUT)
        };
        let (deps, graph) = self.slots[i].read.as_ref()?;
        let mut a = depstate::assess(&scan, graph.as_ref(), deps, &mut check);
        if !a.waiting.is_empty() && graph.is_none() {
            // Held: a cycle may be why.
            self.read_graph(i);
            if let Some((_, Some(g))) = &self.slots[i].read {
                a.apply_cycle(g);
            }
        }
        let s = &mut self.slots[i];
        if a.waiting.cycle != s.reported_cycle {
            if !a.waiting.cycle.is_empty() {
                let mut c = a.waiting.cycle.clone();
                c.push(s.name.clone());
                label.warn(&[b"dependency cycle: ", &depends::cycle_text(&c), b" (not starting)"]);
            }
            s.reported_cycle = a.waiting.cycle.clone();
        }
        if s.shown && a.waiting != s.last.waiting {
            write_waiting(&label, &s.sup, &a.waiting);
        }
        let view = DepView { blocked: !a.waiting.is_empty(), hard_unready: a.hard_unready };
        s.last = a;
        Some(view)
    }

    /// See [`crate::machine::Io::show_waiting`].
    pub fn show_waiting(&mut self, kind: Kind, on: bool) {
        let label = self.label.clone();
        if let Some(s) = self.slots.iter_mut().find(|s| s.kind == kind) {
            s.shown = on;
            let empty = Waiting::default();
            write_waiting(&label, &s.sup, if on { &s.last.waiting } else { &empty });
        }
    }

    /// See [`crate::machine::Io::dependents_running`].
    pub fn dependents_running(&mut self) -> bool {
        let Some(scan) = &self.scan_dir else { return false };
        if !depstate::is_depended_on(Path::new(".")) {
            // No dependent ever read this service: none to wait for.
            return false;
        }
        self.dependents =
            depstate::hard_dependents(Path::new("."), scan).into_iter().filter(|d| !depstate::is_down(d)).collect();
        if self.dependents.is_empty() {
            return false;
        }
        let want = self.wanted_watches();
        self.set_watches(&want);
        // One may have stopped between the read and the watch.
        self.dependents.retain(|d| !depstate::is_down(d));
        if self.polling && !self.dependents.is_empty() {
            // Dependents under another supervisor do not poke.
            self.recheck_at = Some(Instant::now() + POLL_WITHOUT_INOTIFY);
        }
        !self.dependents.is_empty()
    }
}

fn write_waiting(label: &Label, sup: &SuperviseDir, w: &Waiting) {
    if let Err((text, e)) = depends::write_waiting(sup, w) {
        match e {
            Some(e) => label.warn_err(&[&text], &e),
            None => label.warn(&[&text]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_inotify_only_unannounced_waits_poll() {
        assert_eq!(recheck_after(true, false, false), Some(depstate::RECHECK));
        assert_eq!(recheck_after(true, true, true), Some(depstate::RECHECK));
        assert_eq!(recheck_after(false, true, true), Some(POLL_WITHOUT_INOTIFY));
        // Announced by the dependency's runsv: no periodic wake-up.
        assert_eq!(recheck_after(false, true, false), None);
        // inotify watches everything.
        assert_eq!(recheck_after(false, false, true), None);
    }

    /// The broken fallback: inotify failing on the first reading must
    /// still leave a re-read scheduled for a missing dependency.
    #[test]
    fn a_missing_dependency_is_read_again_when_inotify_fails_first() {
        let d = tempfile::tempdir().unwrap();
        let scan = d.path().join("sd");
        let me = scan.join("web");
        std::fs::create_dir_all(me.join("supervise")).unwrap();
        std::fs::write(me.join("depends"), b"db\n").unwrap();
        let sup = SuperviseDir::of(&me);
        let mut io = DepsIo::new(Label::with_arg(b"runsv", b"web"), Some(scan.clone()), b"web", sup, None);
        // As if the user had no inotify instance left.
        io.new_watch = || Err(unix::inotify::NotAvailable(nix::errno::Errno::EMFILE));
        let cwd = std::env::current_dir().unwrap();
        std::env::set_current_dir(&me).unwrap();
        let events = io.initial();
        std::env::set_current_dir(cwd).unwrap();
        assert!(matches!(events[..], [Event::Deps(Kind::Main, DepView { blocked: true, .. })]), "{events:?}");
        assert!(io.polling);
        assert!(io.deadline().is_some(), "a missing dependency must be read again");
    }
}
