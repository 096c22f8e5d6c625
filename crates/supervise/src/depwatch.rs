//! Waking up when another service changes, instead of polling: inotify
//! watches on the services directory, on service directories (their
//! `depends`, `oneshot`, `supervise` ... entries) and on their
//! `supervise/` (the `status`, `ready`, `waiting` and `oneshot` records).
//!
//! The watcher only says "something that matters changed"; the caller then
//! reads the files again ([`crate::depstate::evaluate`]) and sets the
//! watches anew with [`DepWatch::watch`] (directories come and go). Events
//! that cannot matter, such as `sv` probing `supervise/ok` or runsv's own
//! `status.new`, are dropped here so that an idle system stays asleep.

use std::collections::HashMap;
use std::os::fd::RawFd;
use std::path::{Path, PathBuf};
use unix::inotify::{Event, Inotify, Mask, NotAvailable, Watch, DIR_CHANGES};

/// Entries of a dependency's directory whose change can change a
/// dependent's decision.
const SERVICE_NAMES: &[&[u8]] =
    &[b"supervise", b"depends", b"oneshot", b"notification-fd", b"check", b"log", b"down", b"run"];
/// The one entry that matters in a directory further along the graph (or
/// the dependent's own): an edit may open or close a cycle.
const GRAPH_NAMES: &[&[u8]] = &[b"depends"];
/// Records under `supervise/` that runsv replaces by rename or removes.
const SUPERVISE_NAMES: &[&[u8]] = &[b"status", b"ready", b"waiting", b"oneshot"];
/// Of those, the one every runsv writes (runit's too). runit-rs's own
/// records, `ready`, `waiting` and `oneshot`, are written only by a runsv
/// that pokes the dependents entered in its index after each change of
/// what they read ([`crate::depstate::DEPS_CHANGED`]): for a dependent so
/// entered, watching them would only wake it a second time.
const POKED_SUPERVISE_NAMES: &[&[u8]] = &[b"status"];

/// What a watched directory is to the dependent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// A directory further along the graph (or the dependent's own): only
    /// its `depends` matters.
    Graph,
    /// A dependency (or a dependent a stop waits for): the directory and
    /// its `supervise/`. `poked`: its runsv tells of its changes (the
    /// dependent is entered in its index), so only `status` is watched
    /// there.
    Service { poked: bool },
}

impl Role {
    pub fn is_service(self) -> bool {
        matches!(self, Role::Service { .. })
    }
}

/// runsv writes its records as `NAME.new` + rename: a rename into place
/// or a removal is all a reader needs (no `IN_CLOSE_WRITE`, which every
/// `sv` opening `control` or `ok` would cause, and so would a dependent
/// probing `ok`).
const SUPERVISE_MASK: Mask = Mask::IN_MOVED_TO
    .union(Mask::IN_DELETE)
    .union(Mask::IN_DELETE_SELF)
    .union(Mask::IN_MOVE_SELF)
    .union(Mask::IN_ONLYDIR);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// The services directory, or the parent of a missing directory:
    /// any entry may be the one awaited.
    Any,
    /// A dependency's directory.
    Service,
    /// A directory only read for its `depends`.
    Graph,
    /// `supervise/` of a dependency; `poked` as in [`Role::Service`].
    Supervise { poked: bool },
}

impl Kind {
    /// Of two roles of one watched directory, the one that sees more.
    fn breadth(self) -> u8 {
        match self {
            Kind::Any => 4,
            Kind::Service => 3,
            Kind::Graph => 2,
            Kind::Supervise { poked: true } => 0,
            Kind::Supervise { poked: false } => 1,
        }
    }
}

/// The arguments of one [`DepWatch::watch`]: the services directory, and
/// each directory with its role.
type Wanted = (Option<PathBuf>, Vec<(PathBuf, Role)>);

/// One inotify instance and what each of its watches is for.
#[derive(Debug)]
pub struct DepWatch {
    ino: Inotify,
    watches: HashMap<Watch, Kind>,
    /// The arguments of the last [`DepWatch::watch`], while nothing has
    /// happened since that could make the same arguments watch other
    /// inodes (a directory appearing, replaced or removed): the same
    /// arguments again then change nothing and cost no system call.
    last: Option<Wanted>,
    /// Since [`DepWatch::take_reshaped`]: an event other than a record
    /// rewritten under a watched `supervise/` (a `depends` edited, a
    /// directory come or gone), which the graph of `depends` files may
    /// show.
    reshaped: bool,
    /// Directories watched by [`DepWatch::watch_before_read`] since the
    /// last [`DepWatch::watch`].
    pre: HashMap<PathBuf, Watch>,
}

impl DepWatch {
    pub fn new() -> Result<DepWatch, NotAvailable> {
        Ok(DepWatch {
            ino: Inotify::new()?,
            watches: HashMap::new(),
            last: None,
            reshaped: false,
            pre: Default::default(),
        })
    }

    /// The descriptor to poll.
    pub fn fd(&self) -> RawFd {
        self.ino.fd()
    }

    /// Watches the directory `dir` (as [`Role::Graph`] would) before the
    /// caller reads a file in it, ahead of [`DepWatch::watch`], which then
    /// does not count it as new. Whether it is watched.
    pub fn watch_before_read(&mut self, dir: &Path) -> bool {
        match self.ino.add_watch(dir, DIR_CHANGES | Mask::IN_ONLYDIR) {
            Ok(wd) => {
                self.pre.insert(dir.to_path_buf(), wd);
                true
            }
            Err(_) => false,
        }
    }

    /// Watches exactly: `scan_dir` (if given); each directory in `dirs`
    /// (or, while it does not exist, its parent) and, where the flag is
    /// set, its `supervise/` (without it only its `depends` matters).
    /// Watches no longer needed are removed.
    /// Directories that cannot be watched are skipped: the caller gets
    /// its event from the parent once they appear. Returns whether a
    /// directory is watched now that was not before its files were read
    /// (neither watched then nor by [`DepWatch::watch_before_read`]; a
    /// `supervise/` does not count): the caller then reads the `depends`
    /// files again, as they may have changed before the watch was set.
    pub fn watch(&mut self, scan_dir: Option<&Path>, dirs: &[(PathBuf, Role)]) -> bool {
        let pre = std::mem::take(&mut self.pre);
        if self.last.as_ref().is_some_and(|(s, d)| s.as_deref() == scan_dir && d == dirs) {
            for wd in pre.values().filter(|wd| !self.watches.contains_key(wd)) {
                let _ = self.ino.remove(*wd);
            }
            return false;
        }
        self.last = Some((scan_dir.map(Path::to_path_buf), dirs.to_vec()));
        let mut want: HashMap<Watch, Kind> = HashMap::new();
        let mut add = |p: &Path, mask: Mask, kind: Kind| -> bool {
            // Watched just before its reading, with the same mask.
            let known = pre.get(p).copied().filter(|_| mask == DIR_CHANGES);
            match known.map(Ok).unwrap_or_else(|| self.ino.add_watch(p, mask | Mask::IN_ONLYDIR)) {
                Ok(wd) => {
                    // One inode watched in two roles: the broader wins.
                    let k = want.entry(wd).or_insert(kind);
                    if kind.breadth() > k.breadth() {
                        *k = kind;
                    }
                    true
                }
                Err(_) => false,
            }
        };
        if let Some(s) = scan_dir {
            add(s, DIR_CHANGES, Kind::Any);
        }
        for (dir, role) in dirs {
            if !add(dir, DIR_CHANGES, if role.is_service() { Kind::Service } else { Kind::Graph }) {
                if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
                    add(parent, DIR_CHANGES, Kind::Any);
                }
                continue;
            }
            if let Role::Service { poked } = *role {
                add(&dir.join("supervise"), SUPERVISE_MASK, Kind::Supervise { poked });
            }
        }
        for wd in self.watches.keys().chain(pre.values()) {
            if !want.contains_key(wd) {
                let _ = self.ino.remove(*wd);
            }
        }
        let pre: std::collections::HashSet<&Watch> = pre.values().collect();
        let added = want.iter().any(|(wd, kind)| {
            !self.watches.contains_key(wd) && !pre.contains(wd) && !matches!(kind, Kind::Supervise { .. })
        });
        self.watches = want;
        added
    }

    /// Reads every queued event; whether any of them can matter (lost
    /// events and vanished directories always do).
    pub fn changed(&mut self) -> bool {
        let events = match self.ino.read() {
            Ok(e) => e,
            Err(_) => {
                self.reshaped = true;
                return true;
            }
        };
        let mut any = false;
        for e in &events {
            let matters = self.matters(e);
            any |= matters;
            // Only a record rewritten under a watched `supervise/` leaves
            // every watched path on the same inode.
            let reshaped = e.overflow()
                || e.watch_gone()
                || e.mask.intersects(Mask::IN_DELETE_SELF | Mask::IN_MOVE_SELF)
                || !matches!(self.watches.get(&e.wd), Some(Kind::Supervise { .. }));
            if matters && reshaped {
                self.last = None;
                self.reshaped = true;
            }
            if e.watch_gone() {
                self.watches.remove(&e.wd);
            }
        }
        any
    }

    fn matters(&self, e: &Event) -> bool {
        if e.overflow() {
            return true;
        }
        // Unknown: a watch removed by `watch` (its IN_IGNORED comes later).
        let Some(kind) = self.watches.get(&e.wd) else { return false };
        if e.watch_gone() || e.mask.intersects(Mask::IN_DELETE_SELF | Mask::IN_MOVE_SELF) {
            return true;
        }
        match kind {
            // Entries that come, go or are replaced; not files written there.
            Kind::Any => e.mask.intersects(
                Mask::IN_CREATE | Mask::IN_DELETE | Mask::IN_MOVED_FROM | Mask::IN_MOVED_TO | Mask::IN_ATTRIB,
            ),
            Kind::Service => SERVICE_NAMES.contains(&e.name.as_slice()),
            Kind::Graph => GRAPH_NAMES.contains(&e.name.as_slice()),
            Kind::Supervise { poked: false } => SUPERVISE_NAMES.contains(&e.name.as_slice()),
            Kind::Supervise { poked: true } => POKED_SUPERVISE_NAMES.contains(&e.name.as_slice()),
        }
    }

    /// Whether [`DepWatch::changed`] saw anything but a `supervise/`
    /// record change since the last call (the caller reads everything
    /// once after making the watcher, before any event).
    pub fn take_reshaped(&mut self) -> bool {
        std::mem::take(&mut self.reshaped)
    }

    /// How many directories are watched (for tests and diagnostics).
    pub fn len(&self) -> usize {
        self.watches.len()
    }

    pub fn is_empty(&self) -> bool {
        self.watches.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::time::{Duration, Instant};

    const UNPOKED: Role = Role::Service { poked: false };

    /// Waits (bounded) for the watcher to report a change; false if none
    /// came within `limit`.
    fn wait_change(w: &mut DepWatch, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        loop {
            let mut fds = [unix::poll::readable(w.fd())];
            let _ = unix::poll::poll_until(&mut fds, Some(deadline));
            if w.changed() {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
        }
    }

    #[test]
    fn records_wake_up_probes_do_not() {
        let d = tempfile::tempdir().unwrap();
        let scan = d.path();
        let db = scan.join("db");
        fs::create_dir_all(db.join("supervise")).unwrap();
        let mut w = DepWatch::new().expect("inotify");
        w.watch(Some(scan), &[(db.clone(), UNPOKED)]);
        assert_eq!(w.len(), 3);

        // Noise: runsv's temporary file, a FIFO being opened and closed,
        // a reader of status.
        fs::write(db.join("supervise/status.new"), b"x").unwrap();
        fs::write(db.join("supervise/status"), b"x").unwrap();
        fs::write(db.join("supervise/control"), b"x").unwrap();
        fs::write(db.join("README"), b"x").unwrap();
        assert!(!wait_change(&mut w, Duration::from_millis(200)), "noise woke the watcher");

        assert!(!wait_change(&mut w, Duration::from_millis(200)), "noise woke the watcher");
        let _ = fs::read(db.join("supervise/status")).unwrap();
        assert!(!wait_change(&mut w, Duration::from_millis(200)), "a reader woke the watcher");
        fs::write(db.join("supervise/ok"), b"").unwrap();
        assert!(!wait_change(&mut w, Duration::from_millis(200)), "ok opened");
        fs::rename(db.join("supervise/status.new"), db.join("supervise/status")).unwrap();
        assert!(wait_change(&mut w, Duration::from_secs(10)), "status rename");
        fs::write(db.join("depends"), b"x\n").unwrap();
        assert!(wait_change(&mut w, Duration::from_secs(10)), "depends written");
        fs::write(scan.join("newentry"), b"").unwrap();
        assert!(wait_change(&mut w, Duration::from_secs(10)), "entry in the services directory");
        fs::write(scan.join("newentry"), b"more").unwrap();
        assert!(!wait_change(&mut w, Duration::from_millis(200)), "a file written there");
    }

    /// Two service directories `db` and `cache` in `base`, each with the
    /// subdirectory `sub` (none if empty).
    fn db_and_cache(base: &Path, sub: &str) -> (PathBuf, PathBuf) {
        let (db, cache) = (base.join("db"), base.join("cache"));
        for s in [&db, &cache] {
            fs::create_dir_all(s.join(sub)).unwrap();
        }
        (db, cache)
    }

    #[test]
    fn a_directory_watched_before_its_reading_is_not_new() {
        let d = tempfile::tempdir().unwrap();
        let (db, cache) = db_and_cache(d.path(), "");
        let mut w = DepWatch::new().expect("inotify");
        assert!(w.watch_before_read(&db));
        assert!(!w.watch_before_read(&d.path().join("nothere")));
        assert!(w.watch(None, &[(db.clone(), Role::Graph), (cache.clone(), Role::Graph)]), "cache was not");
        assert!(w.watch_before_read(&db));
        assert!(w.watch_before_read(&cache));
        assert!(!w.watch(None, &[(db.clone(), Role::Graph), (cache.clone(), Role::Graph)]));
        assert!(w.watch_before_read(&d.path().join("db")));
        assert!(!w.watch(None, &[(db.clone(), Role::Graph)]), "fewer: none new");
        assert_eq!(w.len(), 1, "cache dropped");
        fs::write(cache.join("depends"), b"x\n").unwrap();
        assert!(!wait_change(&mut w, Duration::from_millis(100)), "no longer watched");
    }

    #[test]
    fn a_poked_dependency_wakes_on_status_only() {
        let d = tempfile::tempdir().unwrap();
        let (db, cache) = db_and_cache(d.path(), "supervise");
        let mut w = DepWatch::new().expect("inotify");
        w.watch(None, &[(db.clone(), Role::Service { poked: true }), (cache.clone(), UNPOKED)]);
        let replace = |dir: &Path, name: &str| {
            fs::write(dir.join("supervise/x.new"), b"x").unwrap();
            fs::rename(dir.join("supervise/x.new"), dir.join("supervise").join(name)).unwrap();
        };
        for name in ["ready", "waiting", "oneshot"] {
            replace(&db, name);
            assert!(!wait_change(&mut w, Duration::from_millis(100)), "{name} of a poked dependency");
            replace(&cache, name);
            assert!(wait_change(&mut w, Duration::from_secs(10)), "{name} of one that does not poke");
        }
        replace(&db, "status");
        assert!(wait_change(&mut w, Duration::from_secs(10)), "status, which any runsv writes");
        assert!(!w.take_reshaped(), "records do not reshape the graph");
        fs::write(db.join("depends"), b"x\n").unwrap();
        assert!(wait_change(&mut w, Duration::from_secs(10)));
        assert!(w.take_reshaped(), "an edited depends does");
    }

    #[test]
    fn a_missing_directory_is_awaited_through_its_parent() {
        let d = tempfile::tempdir().unwrap();
        let db = d.path().join("sv/db");
        fs::create_dir(d.path().join("sv")).unwrap();
        let mut w = DepWatch::new().expect("inotify");
        assert!(w.watch(None, &[(db.clone(), UNPOKED)]));
        assert_eq!(w.len(), 1);
        assert!(!w.watch(None, &[(db.clone(), UNPOKED)]), "nothing new");
        fs::create_dir(&db).unwrap();
        assert!(wait_change(&mut w, Duration::from_secs(10)));
        assert!(w.watch(None, &[(db.clone(), UNPOKED)]), "the same path, now itself watched");
        assert_eq!(w.len(), 1, "db watched, its supervise/ not there yet; parent dropped");
        fs::create_dir(db.join("supervise")).unwrap();
        assert!(wait_change(&mut w, Duration::from_secs(10)));
        assert!(!w.watch(None, &[(db.clone(), UNPOKED)]), "a supervise/ needs no new reading of depends");
        assert_eq!(w.len(), 2);
        w.watch(None, &[]);
        assert!(w.is_empty());
        fs::write(db.join("depends"), b"x\n").unwrap();
        assert!(!wait_change(&mut w, Duration::from_millis(100)), "unwatched");
    }
}
