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
use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

const DIR_MASK: u32 = libc::IN_CREATE
    | libc::IN_DELETE
    | libc::IN_MOVED_FROM
    | libc::IN_MOVED_TO
    | libc::IN_ATTRIB
    | libc::IN_DELETE_SELF
    | libc::IN_MOVE_SELF
    | libc::IN_ONLYDIR;

const PARENT_MASK: u32 = libc::IN_CREATE
    | libc::IN_DELETE
    | libc::IN_MOVED_FROM
    | libc::IN_MOVED_TO
    | libc::IN_DELETE_SELF
    | libc::IN_MOVE_SELF
    | libc::IN_ONLYDIR;

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
    fd: OwnedFd,
    /// The watch on DIR itself, if set.
    dir_wd: Option<i32>,
    /// Watches on directories holding a link of DIR's chain: wd -> names.
    parents: HashMap<i32, Vec<Vec<u8>>>,
}

fn cstr(p: &Path) -> io::Result<CString> {
    CString::new(p.as_os_str().as_bytes()).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))
}

impl Watcher {
    /// A new inotify instance (non-blocking, close-on-exec), no watches yet.
    pub fn new() -> io::Result<Watcher> {
        // SAFETY: inotify_init1 takes flags only.
        let fd = unsafe { libc::inotify_init1(libc::IN_NONBLOCK | libc::IN_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: fd was just returned to us and is owned by nobody else.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        Ok(Watcher { fd, dir_wd: None, parents: HashMap::new() })
    }

    /// The descriptor to poll.
    pub fn fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    /// Whether DIR itself is watched (then no periodic poll is needed).
    pub fn watching(&self) -> bool {
        self.dir_wd.is_some()
    }

    fn add(&self, path: &Path, mask: u32) -> io::Result<i32> {
        let c = cstr(path)?;
        // SAFETY: c is a valid NUL-terminated path.
        let wd = unsafe { libc::inotify_add_watch(self.fd.as_raw_fd(), c.as_ptr(), mask) };
        if wd < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(wd)
        }
    }

    fn remove_all(&mut self) {
        let wds: Vec<i32> = self.dir_wd.take().into_iter().chain(self.parents.drain().map(|(wd, _)| wd)).collect();
        for wd in wds {
            // SAFETY: plain syscall on our own descriptor; a stale wd only
            // yields EINVAL.
            unsafe { libc::inotify_rm_watch(self.fd.as_raw_fd(), wd) };
        }
    }

    /// (Re)sets every watch for `dir` (relative paths are taken from the
    /// current directory). Returns the error of the watch on DIR itself;
    /// the link watches are best effort.
    pub fn setup(&mut self, dir: &Path) -> io::Result<()> {
        self.remove_all();
        for (parent, name) in link_chain(dir) {
            if let Ok(wd) = self.add(&parent, PARENT_MASK) {
                let names = self.parents.entry(wd).or_default();
                if !names.contains(&name) {
                    names.push(name);
                }
            }
        }
        let wd = self.add(dir, DIR_MASK)?;
        self.dir_wd = Some(wd);
        Ok(())
    }

    /// Reads every queued event and sums up what they ask for.
    pub fn read(&mut self) -> Changes {
        let mut changes = Changes::default();
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            // SAFETY: buf is a valid writable buffer of its length.
            let n = unsafe { libc::read(self.fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
            if n < 0 {
                let e = io::Error::last_os_error();
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                if e.kind() != io::ErrorKind::WouldBlock {
                    // The instance is unusable: fall back to polling.
                    self.remove_all();
                    changes.rewatch = true;
                }
                break;
            }
            if n == 0 {
                break;
            }
            for ev in parse(&buf[..n as usize]) {
                self.apply(&ev, &mut changes);
            }
        }
        changes
    }

    fn apply(&mut self, ev: &Event, changes: &mut Changes) {
        if ev.mask & libc::IN_Q_OVERFLOW != 0 {
            changes.rewatch = true;
            changes.scan = true;
            return;
        }
        if Some(ev.wd) == self.dir_wd {
            if ev.mask & (libc::IN_DELETE_SELF | libc::IN_MOVE_SELF | libc::IN_IGNORED | libc::IN_UNMOUNT) != 0 {
                if ev.mask & libc::IN_IGNORED != 0 {
                    self.dir_wd = None;
                }
                changes.rewatch = true;
            } else if ev.name.first() == Some(&b'.') {
                // Dot names are never services; creating or removing
                // one changes nothing.
            } else if ev.mask & libc::IN_CREATE != 0 && ev.mask & libc::IN_ISDIR != 0 {
                changes.new_dirs.push(ev.name.clone());
            } else {
                changes.scan = true;
            }
        }
        if let Some(names) = self.parents.get(&ev.wd) {
            if ev.mask & (libc::IN_DELETE_SELF | libc::IN_MOVE_SELF | libc::IN_UNMOUNT) != 0 || names.contains(&ev.name)
            {
                changes.rewatch = true;
            }
            if ev.mask & libc::IN_IGNORED != 0 {
                self.parents.remove(&ev.wd);
            }
        }
    }
}

/// One inotify event.
#[derive(Debug)]
struct Event {
    wd: i32,
    mask: u32,
    name: Vec<u8>,
}

/// Splits a buffer of `struct inotify_event`s (name NUL-padded).
fn parse(mut buf: &[u8]) -> Vec<Event> {
    let mut out = Vec::new();
    let word = |b: &[u8], i: usize| u32::from_ne_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
    while buf.len() >= 16 {
        let wd = word(buf, 0) as i32;
        let mask = word(buf, 4);
        let len = word(buf, 12) as usize;
        if buf.len() < 16 + len {
            break;
        }
        let raw = &buf[16..16 + len];
        let name = raw[..raw.iter().position(|&b| b == 0).unwrap_or(raw.len())].to_vec();
        out.push(Event { wd, mask, name });
        buf = &buf[16 + len..];
    }
    out
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
    fn events_are_parsed_with_padded_names() {
        let mut buf = Vec::new();
        for (wd, mask, name) in [(1i32, libc::IN_CREATE, &b"abc"[..]), (2, libc::IN_Q_OVERFLOW, b"")] {
            let padded = if name.is_empty() { 0 } else { 16 };
            buf.extend_from_slice(&wd.to_ne_bytes());
            buf.extend_from_slice(&mask.to_ne_bytes());
            buf.extend_from_slice(&0u32.to_ne_bytes());
            buf.extend_from_slice(&(padded as u32).to_ne_bytes());
            let mut n = name.to_vec();
            n.resize(padded, 0);
            buf.extend_from_slice(&n);
        }
        let evs = parse(&buf);
        assert_eq!(evs.len(), 2);
        assert_eq!((evs[0].wd, evs[0].mask, evs[0].name.as_slice()), (1, libc::IN_CREATE, &b"abc"[..]));
        assert_eq!((evs[1].wd, evs[1].name.len()), (2, 0));
    }
}
