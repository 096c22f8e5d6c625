//! Watching the services directory with inotify.
//!
//! runit notices a new or removed entry only when it next polls (every 5
//! s). We ask the kernel instead: a watch on DIR reports entries created,
//! deleted, renamed in or out, and metadata changes, so the scan runs at
//! once. DIR itself may be replaced (a symlink such as
//! `/etc/runit/runsvdir/current` repointed by runsvchdir, or the directory
//! renamed): for that we also watch the directory that holds each link of
//! DIR's symlink chain, for events naming that link.
//!
//! When inotify is unavailable, a watch cannot be set, or the event queue
//! overflows, the caller falls back to (or adds) a full scan; the periodic
//! poll then runs as in runit.

use std::collections::HashMap;
use std::os::fd::RawFd;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use unix::inotify::{Event, Inotify, Mask, NotAvailable, Watch};

const DIR_MASK: Mask = Mask::IN_CREATE
    .union(Mask::IN_DELETE)
    .union(Mask::IN_MOVED_FROM)
    .union(Mask::IN_MOVED_TO)
    .union(Mask::IN_ATTRIB)
    .union(Mask::IN_DELETE_SELF)
    .union(Mask::IN_MOVE_SELF)
    .union(Mask::IN_ONLYDIR);

const PARENT_MASK: Mask = Mask::IN_CREATE
    .union(Mask::IN_DELETE)
    .union(Mask::IN_MOVED_FROM)
    .union(Mask::IN_MOVED_TO)
    .union(Mask::IN_DELETE_SELF)
    .union(Mask::IN_MOVE_SELF)
    .union(Mask::IN_ONLYDIR);

/// Events after which a watch says nothing more about its directory.
const GONE: Mask = Mask::IN_DELETE_SELF.union(Mask::IN_MOVE_SELF).union(Mask::IN_UNMOUNT);

/// What a batch of events asks the main loop to do.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Changes {
    /// Scan DIR now.
    pub scan: bool,
    /// Entries just created with `mkdir` (possibly still being filled).
    pub new_dirs: Vec<Vec<u8>>,
    /// DIR (or a link leading to it) changed, or events were lost: set the
    /// watches up again, then scan.
    pub rewatch: bool,
}

/// An inotify instance with the watches for one services directory.
pub struct Watcher {
    inotify: Inotify,
    /// The watch on DIR itself, if set.
    dir_wd: Option<Watch>,
    /// Watches on directories holding a link of DIR's chain: wd -> names.
    parents: HashMap<Watch, Vec<Vec<u8>>>,
}

impl Watcher {
    /// A new inotify instance (non-blocking, close-on-exec), no watches yet.
    pub fn new() -> Result<Watcher, NotAvailable> {
        Ok(Watcher { inotify: Inotify::new()?, dir_wd: None, parents: HashMap::new() })
    }

    /// The descriptor to poll.
    pub fn fd(&self) -> RawFd {
        self.inotify.fd()
    }

    /// Whether DIR itself is watched (then no periodic poll is needed).
    pub fn watching(&self) -> bool {
        self.dir_wd.is_some()
    }

    fn remove_all(&mut self) {
        let wds: Vec<Watch> = self.dir_wd.take().into_iter().chain(self.parents.drain().map(|(wd, _)| wd)).collect();
        for wd in wds {
            // A watch the kernel already dropped yields EINVAL: nothing to undo.
            let _ = self.inotify.remove(wd);
        }
    }

    /// (Re)sets every watch for `dir` (relative paths are taken from the
    /// current directory). Returns the error of the watch on DIR itself;
    /// the link watches are best effort.
    pub fn setup(&mut self, dir: &Path) -> std::io::Result<()> {
        self.remove_all();
        for (parent, name) in link_chain(dir) {
            if let Ok(wd) = self.inotify.add_watch(&parent, PARENT_MASK) {
                let names = self.parents.entry(wd).or_default();
                if !names.contains(&name) {
                    names.push(name);
                }
            }
        }
        let wd = self.inotify.add_watch(dir, DIR_MASK)?;
        self.dir_wd = Some(wd);
        Ok(())
    }

    /// Reads every queued event and sums up what they ask for.
    pub fn read(&mut self) -> Changes {
        let mut changes = Changes::default();
        match self.inotify.read() {
            Ok(events) => {
                for ev in &events {
                    self.apply(ev, &mut changes);
                }
            }
            Err(_) => {
                // The instance is unusable: fall back to polling.
                self.remove_all();
                changes.rewatch = true;
            }
        }
        changes
    }

    fn apply(&mut self, ev: &Event, changes: &mut Changes) {
        if ev.overflow() {
            changes.rewatch = true;
            changes.scan = true;
            return;
        }
        if Some(ev.wd) == self.dir_wd {
            if ev.mask.intersects(GONE) || ev.watch_gone() {
                if ev.watch_gone() {
                    self.dir_wd = None;
                }
                changes.rewatch = true;
            } else if ev.name.first() == Some(&b'.') {
                // Dot names are never services; creating or removing
                // one changes nothing.
            } else if ev.mask.contains(Mask::IN_CREATE) && ev.mask.contains(Mask::IN_ISDIR) {
                changes.new_dirs.push(ev.name.clone());
            } else {
                changes.scan = true;
            }
        }
        if let Some(names) = self.parents.get(&ev.wd) {
            if ev.mask.intersects(GONE) || names.contains(&ev.name) {
                changes.rewatch = true;
            }
            if ev.watch_gone() {
                self.parents.remove(&ev.wd);
            }
        }
    }
}

/// The directories holding each link of `dir`'s symlink chain, with the
/// link's name: for `/etc/service` -> `/etc/runit/runsvdir/current` ->
/// `default`: (`/etc`, `service`), (`/etc/runit/runsvdir`, `current`),
/// (`/etc/runit/runsvdir`, `default`).
pub fn link_chain(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut p = dir.to_path_buf();
    for _ in 0..16 {
        let Some(name) = p.file_name().map(|n| n.as_bytes().to_vec()) else { break };
        let parent = match p.parent() {
            Some(q) if !q.as_os_str().is_empty() => q.to_path_buf(),
            _ => PathBuf::from("."),
        };
        out.push((parent.clone(), name));
        match std::fs::read_link(&p) {
            Ok(target) => p = if target.is_absolute() { target } else { parent.join(target) },
            Err(_) => break,
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_of_a_plain_directory_is_its_parent() {
        assert_eq!(link_chain(Path::new("/nonexistent/sd")), vec![(PathBuf::from("/nonexistent"), b"sd".to_vec())]);
        assert_eq!(link_chain(Path::new("sd/")), vec![(PathBuf::from("."), b"sd".to_vec())]);
        assert!(link_chain(Path::new("/")).is_empty());
    }

    #[test]
    fn chain_follows_symlinks() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::create_dir(tmp.path().join("default")).unwrap();
        std::os::unix::fs::symlink("default", tmp.path().join("current")).unwrap();
        std::os::unix::fs::symlink(tmp.path().join("current"), tmp.path().join("service")).unwrap();
        let chain = link_chain(&tmp.path().join("service"));
        let names: Vec<&[u8]> = chain.iter().map(|(_, n)| n.as_slice()).collect();
        assert_eq!(names, [&b"service"[..], b"current", b"default"]);
        assert!(chain.iter().all(|(p, _)| p == tmp.path()));
    }

    #[test]
    fn a_new_service_directory_and_a_removed_services_directory_are_reported() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("sd");
        std::fs::create_dir(&dir).unwrap();
        let mut w = Watcher::new().expect("inotify");
        w.setup(&dir).unwrap();
        assert!(w.watching());
        std::fs::create_dir(dir.join(".hidden")).unwrap();
        std::fs::create_dir(dir.join("svc")).unwrap();
        let mut changes = Changes::default();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while changes.new_dirs.is_empty() && std::time::Instant::now() < deadline {
            let mut fds = [unix::poll::readable(w.fd())];
            unix::poll::poll_until(&mut fds, Some(deadline)).unwrap();
            changes = w.read();
        }
        assert_eq!(changes.new_dirs, vec![b"svc".to_vec()]);
        std::fs::rename(&dir, tmp.path().join("moved")).unwrap();
        let mut changes = Changes::default();
        while !changes.rewatch && std::time::Instant::now() < deadline {
            let mut fds = [unix::poll::readable(w.fd())];
            unix::poll::poll_until(&mut fds, Some(deadline)).unwrap();
            changes = w.read();
        }
        assert!(changes.rewatch);
    }
}
