//! The services runsvdir knows, and the scan that keeps them in step with
//! the directory.
//!
//! A service is keyed by the (device, inode) of its directory, never by
//! name: a renamed entry is the same service, a repointed symlink a new
//! one. The scan starts `runsv NAME` (cwd = DIR) for every entry not yet
//! known and for known ones whose runsv has died, and sends SIGTERM to the
//! runsv of every known service that is gone from the directory.
//!
//! When scans run:
//! - with a working watch ([`crate::watch`]), right after the events that
//!   announce a change, and never otherwise;
//! - without one, as runit does: every 5 s (every second while a retry is
//!   pending) runsvdir stats DIR and scans if its mtime, inode or device
//!   changed;
//! - when a runsv died, as soon as its minimum restart delay has passed
//!   (one second after it was started), so a runsv that fails at start-up
//!   is retried once a second instead of spinning;
//! - on SIGALRM, at once.
//!
//! The runsvs one scan starts are started dependencies first, level by
//! level: a service whose `depends` (or `log/depends`) names another
//! service started in the same scan comes after it and after all others of
//! that one's level; otherwise directory order is kept. At boot a
//! dependency is then up (or on its way) when its dependents' runsvs first
//! look, instead of being started last by chance of the directory order.
//! Plain services cost two failed `open`s each (`depends`, `log/depends`).
//!
//! An entry created with `mkdir` (rather than renamed or symlinked in) is
//! given one second before its runsv starts, so `cp -r` or `mkdir` +
//! populate can finish first: runsv reads `log/` and `down` only when it
//! starts. Likewise an entry that newly cannot be stat'ed (a symlink made
//! before its target) is looked at once more a second later. runit gives
//! the same grace by sleeping a second when DIR changed within the current
//! second.

use crate::watch::Watcher;
use std::collections::{HashMap, HashSet};
use std::ffi::CString;
use std::os::fd::{OwnedFd, RawFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use unix::msg::Label;

/// Least time between two starts of one service's runsv.
pub const RESTART_DELAY: Duration = Duration::from_secs(1);
/// Grace given to a directory created in place before its runsv starts.
pub const NEW_DIR_GRACE: Duration = Duration::from_secs(1);
/// runit's poll interval, and the shorter one while a retry is pending.
pub const POLL: Duration = Duration::from_secs(5);
pub const POLL_RETRY: Duration = Duration::from_secs(1);

/// A service directory's identity: (st_dev, st_ino) of its target.
pub type Key = (u64, u64);

#[derive(Debug)]
struct Svc {
    /// The runsv's pid, 0 when none is running.
    pid: libc::pid_t,
    /// When its runsv was last started (or a start was attempted).
    started: Option<Instant>,
    /// Seen during the current scan.
    seen: bool,
}

/// All the state of one runsvdir.
pub struct Table {
    dir: Vec<u8>,
    dir_path: PathBuf,
    label: Label,
    setsid: bool,
    /// Where to look for runsv: our own directory, then $PATH.
    search: Vec<CString>,
    curdir: OwnedFd,
    svcs: HashMap<Key, Svc>,
    pids: HashMap<libc::pid_t, Key>,
    /// Names of entries just created with mkdir, and when they may start.
    held: HashMap<Vec<u8>, Instant>,
    /// Names that could not be stat'ed in the last scan (dangling links).
    unstatable: HashSet<Vec<u8>>,
    watcher: Option<Watcher>,
    /// A scan is wanted at this time (events, restarts, retries).
    scan_at: Option<Instant>,
    /// Next poll of DIR when it is not watched.
    next_poll: Option<Instant>,
    /// runit's check flag: poll sooner and scan even if DIR looks unchanged.
    check: bool,
    /// DIR's (mtime, dev, ino) at the last scan, for the fallback poll.
    last_dir: Option<(i64, u64, u64)>,
}

impl Table {
    pub fn new(dir: Vec<u8>, label: Label, setsid: bool, curdir: OwnedFd) -> Table {
        let mut search = Vec::new();
        if let Some(own) = std::env::current_exe().ok().and_then(|p| p.parent().map(|d| d.to_path_buf())) {
            if let Ok(c) = CString::new(own.into_os_string().into_vec()) {
                search.push(c);
            }
        }
        let path = std::env::var_os("PATH").map(OsStringExt::into_vec);
        search.extend(unix::proc::path_dirs(path.as_deref()));
        let dir_path = PathBuf::from(std::ffi::OsStr::from_bytes(&dir));
        Table {
            dir,
            dir_path,
            label,
            setsid,
            search,
            curdir,
            svcs: HashMap::new(),
            pids: HashMap::new(),
            held: HashMap::new(),
            unstatable: HashSet::new(),
            watcher: Watcher::new().ok(),
            scan_at: None,
            next_poll: None,
            check: true,
            last_dir: None,
        }
    }

    pub fn label(&self) -> &Label {
        &self.label
    }

    /// The inotify descriptor to poll, if there is one.
    pub fn watch_fd(&self) -> Option<RawFd> {
        self.watcher.as_ref().map(Watcher::fd)
    }

    /// Sets the watches up (before the first scan, so nothing is missed)
    /// and scans.
    pub fn start(&mut self, now: Instant) {
        self.rewatch(now);
        if self.next_poll.is_none() {
            self.scan_at = Some(now);
        }
    }

    /// The earliest time something is due.
    pub fn deadline(&self) -> Option<Instant> {
        match (self.scan_at, self.next_poll) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn schedule(&mut self, at: Instant) {
        self.scan_at = Some(self.scan_at.map_or(at, |s| s.min(at)));
    }

    /// SIGALRM: scan at once.
    pub fn rescan_now(&mut self, now: Instant) {
        self.schedule(now);
    }

    /// Sets the watches on DIR again; without a watch on DIR, falls back
    /// to polling.
    fn rewatch(&mut self, now: Instant) {
        let watching = match &mut self.watcher {
            Some(w) => w.setup(&self.dir_path).is_ok(),
            None => false,
        };
        self.next_poll = if watching { None } else { Some(now) };
    }

    /// Handles the queued inotify events.
    pub fn events(&mut self, now: Instant) {
        let Some(w) = &mut self.watcher else { return };
        let changes = w.read();
        for name in changes.new_dirs {
            self.held.insert(name, now + NEW_DIR_GRACE);
            self.schedule(now + NEW_DIR_GRACE);
        }
        if changes.rewatch {
            self.rewatch(now);
            self.schedule(now);
        }
        if changes.scan {
            self.schedule(now);
        }
    }

    /// Runs whatever is due: the fallback poll and any scheduled scan.
    pub fn due(&mut self, now: Instant) {
        if self.next_poll.is_some_and(|t| t <= now) {
            if self.watcher.is_some() {
                self.rewatch(now);
            }
            // Still not watching: poll like runit; else scan once now.
            let force = self.next_poll.is_none();
            self.tick(now, force);
            if self.next_poll.is_some() {
                self.next_poll = Some(now + if self.check { POLL_RETRY } else { POLL });
            }
        }
        if self.scan_at.is_some_and(|t| t <= now) {
            self.scan_at = None;
            self.tick(now, true);
        }
    }

    /// runit's check step: stat DIR, and scan if asked to (`force`), if a
    /// retry is pending, or if DIR changed since the last scan.
    fn tick(&mut self, now: Instant, force: bool) {
        let md = match std::fs::metadata(&self.dir_path) {
            Ok(md) => md,
            Err(e) => {
                self.label.warn_err(&[b"unable to stat ", &self.dir], &e);
                return;
            }
        };
        let id = (md.mtime(), md.dev(), md.ino());
        if !(force || self.check || self.last_dir != Some(id)) {
            return;
        }
        if let Err(e) = std::env::set_current_dir(&self.dir_path) {
            self.label.warn_err(&[b"unable to change directory to ", &self.dir], &e);
            self.retry(now);
            return;
        }
        self.last_dir = Some(id);
        self.check = false;
        // Changes later in the same second would not change the mtime the
        // fallback poll compares: look again in a second (runit sleeps
        // for one second before scanning instead).
        let secs = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
        if self.next_poll.is_some() && id.0 >= secs {
            self.check = true;
        }
        self.scan(now);
        while let Err(e) = nix::unistd::fchdir(&self.curdir) {
            let e = std::io::Error::from(e);
            self.label.warn_err(&[b"unable to change directory, pausing"], &e);
            std::thread::sleep(Duration::from_secs(5));
        }
    }

    /// Something failed: try again in a second.
    fn retry(&mut self, now: Instant) {
        self.check = true;
        if self.next_poll.is_none() {
            self.schedule(now + POLL_RETRY);
        }
    }

    /// The scan itself, with the current directory = DIR.
    fn scan(&mut self, now: Instant) {
        let rd = match std::fs::read_dir(".") {
            Ok(rd) => rd,
            Err(e) => {
                self.label.warn_err(&[b"unable to open directory ", &self.dir], &e);
                self.retry(now);
                return;
            }
        };
        for s in self.svcs.values_mut() {
            s.seen = false;
        }
        let mut unstatable = HashSet::new();
        let mut starts: Vec<(Key, Vec<u8>)> = Vec::new();
        for ent in rd {
            let ent = match ent {
                Ok(ent) => ent,
                Err(e) => {
                    self.label.warn_err(&[b"unable to read directory ", &self.dir], &e);
                    self.retry(now);
                    return;
                }
            };
            let name = ent.file_name().into_vec();
            if name.first() == Some(&b'.') {
                continue;
            }
            let md = match std::fs::metadata(std::ffi::OsStr::from_bytes(&name)) {
                Ok(md) => md,
                Err(e) => {
                    self.label.warn_err(&[b"unable to stat ", &name], &e);
                    // A link made before its target: look once more a
                    // second later (the grace runit's 1 s sleep gives).
                    if !self.unstatable.contains(&name) {
                        self.schedule(now + NEW_DIR_GRACE);
                    }
                    unstatable.insert(name);
                    continue;
                }
            };
            if !md.is_dir() {
                continue;
            }
            let key = (md.dev(), md.ino());
            if let Some(s) = self.svcs.get_mut(&key) {
                s.seen = true;
                if s.pid == 0 {
                    let due = s.started.map_or(now, |t| t + RESTART_DELAY);
                    if due <= now {
                        starts.push((key, name));
                    } else {
                        self.schedule(due);
                    }
                }
                continue;
            }
            if let Some(&until) = self.held.get(&name) {
                if until > now {
                    self.schedule(until);
                    continue;
                }
            }
            self.svcs.insert(key, Svc { pid: 0, started: None, seen: true });
            starts.push((key, name));
            self.check = true;
        }
        for i in dependencies_first(std::path::Path::new("."), &starts) {
            let (key, name) = &starts[i];
            self.start_runsv(*key, name, now);
        }
        if !starts.is_empty() {
            // Reading the `depends` files (and the directory) left freed
            // heap behind that would stay dirty for runsvdir's whole life.
            drop(starts);
            unix::heap::release_free();
        }
        self.held.retain(|_, until| *until > now);
        self.unstatable = unstatable;

        let gone: Vec<Key> = self.svcs.iter().filter(|(_, s)| !s.seen).map(|(k, _)| *k).collect();
        for key in gone {
            if let Some(s) = self.svcs.remove(&key) {
                if s.pid != 0 {
                    let _ = unix::proc::kill(s.pid, libc::SIGTERM);
                    self.pids.remove(&s.pid);
                }
            }
        }
    }

    /// Forks and execs `runsv NAME` for the service `key`.
    fn start_runsv(&mut self, key: Key, name: &[u8], now: Instant) {
        let mut fail = self.label.as_bytes().to_vec();
        fail.extend_from_slice(b": fatal: unable to start runsv ");
        fail.extend_from_slice(name);
        fail.extend_from_slice(b": ");
        let sigs = [libc::SIGHUP, libc::SIGTERM, libc::SIGCHLD, libc::SIGALRM];
        let spawned = unix::spawn::Spawn::new(b"runsv", &[b"runsv", name], &fail).and_then(|mut spec| {
            spec.search(self.search.clone()).exit_code(100);
            if self.setsid {
                spec.setsid();
            }
            // The signals we catch go back to their defaults, SIGPIPE to how
            // runsvdir found it, and nothing stays blocked.
            spec.default_signals(&sigs).restore_sigpipe().mask(unix::spawn::Mask::Empty);
            spec.spawn()
        });
        let pid = match spawned {
            Ok(pid) => pid,
            Err(e) => {
                self.label.warn_err(&[b"unable to fork for ", name], &e);
                self.retry(now);
                0
            }
        };
        if let Some(s) = self.svcs.get_mut(&key) {
            s.pid = pid;
            s.started = Some(now);
        }
        if pid != 0 {
            self.pids.insert(pid, key);
        }
    }

    /// Collects dead children; a known runsv that died is restarted once
    /// its minimum delay has passed.
    pub fn reap(&mut self, now: Instant) {
        while let Some((pid, _)) = unix::proc::reap_one() {
            let Some(key) = self.pids.remove(&pid) else { continue };
            let Some(s) = self.svcs.get_mut(&key) else { continue };
            if s.pid == pid {
                s.pid = 0;
                let due = s.started.map_or(now, |t| t + RESTART_DELAY).max(now);
                self.check = true;
                self.schedule(due);
            }
        }
    }

    /// Forgets every service (so nothing is restarted); their runsv pids
    /// are kept for [`Table::reap_stopping`].
    pub fn forget_all(&mut self) {
        self.svcs.clear();
        self.scan_at = None;
        self.next_poll = None;
    }

    /// Reaps what has exited; whether some runsv is still running.
    pub fn reap_stopping(&mut self) -> bool {
        while let Some((pid, _)) = unix::proc::reap_one() {
            self.pids.remove(&pid);
        }
        !self.pids.is_empty()
    }

    /// SIGHUP: SIGTERM to every runsv.
    pub fn term_all(&self) {
        for &pid in self.pids.keys() {
            let _ = unix::proc::kill(pid, libc::SIGTERM);
        }
    }
}

/// The order in which to start the runsvs of `starts` (entries of the
/// services directory `base`): indexes into it, each service after the ones its
/// `depends` and `log/depends` name among them (by identity, so a NAME and
/// an absolute path to the same directory match), directory order kept
/// otherwise. A cycle is cut where it is entered: its runsvs report it.
fn dependencies_first(base: &std::path::Path, starts: &[(Key, Vec<u8>)]) -> Vec<usize> {
    use supervise::depends;
    let index: HashMap<Key, usize> = starts.iter().enumerate().map(|(i, (k, _))| (*k, i)).collect();
    let edges: Vec<Vec<usize>> = starts
        .iter()
        .map(|(_, name)| {
            let dir = base.join(std::ffi::OsStr::from_bytes(name));
            let mut out = Vec::new();
            for slot in [dir.clone(), dir.join("log")] {
                let Ok(Some(d)) = depends::read(&slot) else { continue };
                for x in &d.deps {
                    let Ok(m) = std::fs::metadata(depends::resolve(base, &x.name)) else { continue };
                    out.extend(index.get(&(m.dev(), m.ino())));
                }
            }
            out
        })
        .collect();
    by_level(&edges)
}

/// Every node of the graph `edges` once, by level: first the nodes whose
/// edges lead nowhere, then those whose edges lead only to the first, and
/// so on (a cycle is cut where it is entered), index order kept within a
/// level. A whole level's runsvs are started before the next level's, so
/// a dependency has had the time of its level to get up when its
/// dependents' runsvs first look.
fn by_level(edges: &[Vec<usize>]) -> Vec<usize> {
    let mut level: Vec<Option<usize>> = vec![None; edges.len()];
    for node in post_order(edges) {
        let below = edges[node].iter().filter_map(|&to| level[to]).max();
        level[node] = Some(below.map_or(0, |l| l + 1));
    }
    let mut order: Vec<usize> = (0..edges.len()).collect();
    order.sort_by_key(|&n| level[n]);
    order
}

/// Every node of the graph `edges` once, each after the nodes its edges
/// lead to (unless a cycle leads back), roots taken in index order.
fn post_order(edges: &[Vec<usize>]) -> Vec<usize> {
    let mut order = Vec::with_capacity(edges.len());
    let mut entered = vec![false; edges.len()];
    for root in 0..edges.len() {
        if entered[root] {
            continue;
        }
        entered[root] = true;
        // Each frame: a node and how many of its edges were followed.
        let mut stack = vec![(root, 0)];
        while let Some((node, next)) = stack.last_mut() {
            let node = *node;
            match edges[node].get(*next) {
                Some(&to) => {
                    *next += 1;
                    if !entered[to] {
                        entered[to] = true;
                        stack.push((to, 0));
                    }
                }
                None => {
                    order.push(node);
                    stack.pop();
                }
            }
        }
    }
    order
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn post_order_puts_what_is_needed_first_and_survives_cycles() {
        // 0 -> 2 -> 1; 3 alone; 4 <-> 5.
        let edges = vec![vec![2], vec![], vec![1], vec![], vec![5], vec![4]];
        assert_eq!(post_order(&edges), vec![1, 2, 0, 3, 5, 4]);
        assert_eq!(post_order(&[vec![], vec![], vec![]]), vec![0, 1, 2], "no edges: order kept");
        assert_eq!(post_order(&[vec![0]]), vec![0], "a service needing itself");
    }

    #[test]
    fn levels_start_whole_and_in_order() {
        // 0 -> 2 -> 1; 3 alone; 4 <-> 5.
        let edges = vec![vec![2], vec![], vec![1], vec![], vec![5], vec![4]];
        assert_eq!(by_level(&edges), vec![1, 3, 5, 2, 4, 0]);
        // A binary tree listed leaves first: root, then each level.
        let tree = vec![vec![4], vec![4], vec![5], vec![5], vec![6], vec![6], vec![]];
        assert_eq!(by_level(&tree), vec![6, 4, 5, 0, 1, 2, 3]);
    }

    #[test]
    fn a_tree_starts_from_its_root_whatever_the_directory_order() {
        let d = tempfile::tempdir().unwrap();
        let sv = d.path().join("sv");
        for (name, deps) in [("web", "db\n"), ("db", ""), ("plain", ""), ("worker", "queue soft\n"), ("queue", "")] {
            fs::create_dir_all(d.path().join(name)).unwrap();
            if !deps.is_empty() {
                fs::write(d.path().join(name).join("depends"), deps).unwrap();
            }
        }
        // A log service's dependency counts too; an absolute path matches
        // by identity; a dependency not being started is ignored.
        fs::create_dir_all(sv.join("cache")).unwrap();
        std::os::unix::fs::symlink(sv.join("cache"), d.path().join("cache")).unwrap();
        fs::create_dir_all(d.path().join("api/log")).unwrap();
        fs::write(d.path().join("api/log/depends"), format!("{}\nnothere\nplain\n", sv.join("cache").display()))
            .unwrap();
        let names = ["web", "api", "plain", "worker", "db", "queue", "cache"];
        let starts: Vec<(Key, Vec<u8>)> = names
            .iter()
            .map(|n| {
                let m = fs::metadata(d.path().join(n)).unwrap();
                ((m.dev(), m.ino()), n.as_bytes().to_vec())
            })
            .collect();
        let order: Vec<&str> = dependencies_first(d.path(), &starts).into_iter().map(|i| names[i]).collect();
        assert_eq!(order, ["plain", "db", "queue", "cache", "web", "api", "worker"]);
    }
}
