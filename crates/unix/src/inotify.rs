//! Directory watches with inotify (Linux), over `nix::sys::inotify`.
//!
//! One wrapper for every program that wants to wake up when files in a
//! directory change instead of polling: sv waits on a service's
//! `supervise/` directory, runsvdir on its services directory. The
//! instance is non-blocking and close-on-exec, so it can sit in a
//! `poll(2)` set ([`Inotify::fd`]) and be drained with [`Inotify::read`]
//! without ever blocking the caller.
//!
//! A watch is always an accelerator: callers keep a periodic re-check for
//! what the kernel does not report (and for lost events). Where inotify
//! does not exist or the per-user limit is reached, [`Inotify::new`]
//! returns [`NotAvailable`]; a program then warns once (or stays quiet)
//! and polls as runit does.

use std::fmt;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::os::unix::ffi::OsStringExt;
use std::path::Path;

use nix::errno::Errno;
use nix::sys::inotify::{InitFlags, Inotify as NixInotify};

/// Event and watch flags (`IN_*`), e.g. `Mask::IN_MOVED_TO`.
pub use nix::sys::inotify::AddWatchFlags as Mask;
/// A watch, as returned by [`Inotify::add_watch`] and carried by [`Event`].
pub use nix::sys::inotify::WatchDescriptor as Watch;

/// What a watcher of a directory of state files usually wants: entries
/// created, deleted, renamed into place (`x.new` + `rename`), written in
/// place, or with changed metadata, and the directory itself going away.
pub const DIR_CHANGES: Mask = Mask::IN_CREATE
    .union(Mask::IN_DELETE)
    .union(Mask::IN_MOVED_TO)
    .union(Mask::IN_MOVED_FROM)
    .union(Mask::IN_CLOSE_WRITE)
    .union(Mask::IN_ATTRIB)
    .union(Mask::IN_DELETE_SELF)
    .union(Mask::IN_MOVE_SELF);

/// inotify cannot be used here (no kernel support, or the per-user limit
/// of instances is reached); the caller polls instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotAvailable(pub Errno);

impl fmt::Display for NotAvailable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "inotify not available: {}", self.0.desc())
    }
}

impl std::error::Error for NotAvailable {}

/// One event: which watch, what happened, and the name of the entry in
/// the watched directory (empty for events on the directory itself and
/// for `IN_Q_OVERFLOW`, whose watch is not one of ours).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub wd: Watch,
    pub mask: Mask,
    pub name: Vec<u8>,
}

impl Event {
    /// Whether the kernel dropped events (the queue overflowed): the
    /// caller must re-read everything it watches.
    pub fn overflow(&self) -> bool {
        self.mask.contains(Mask::IN_Q_OVERFLOW)
    }

    /// Whether this watch is gone (removed, or its directory deleted or
    /// unmounted); no further events come for it.
    pub fn watch_gone(&self) -> bool {
        self.mask.contains(Mask::IN_IGNORED)
    }
}

/// An inotify instance (non-blocking, close-on-exec).
#[derive(Debug)]
pub struct Inotify {
    inner: NixInotify,
}

impl Inotify {
    /// A new instance with no watches.
    pub fn new() -> Result<Inotify, NotAvailable> {
        NixInotify::init(InitFlags::IN_NONBLOCK | InitFlags::IN_CLOEXEC)
            .map(|inner| Inotify { inner })
            .map_err(NotAvailable)
    }

    /// Watches `path` for `mask` (a relative path is taken from the current
    /// directory; symlinks are followed). Watching the same inode again
    /// returns the same [`Watch`] with the mask replaced.
    pub fn add_watch(&self, path: &Path, mask: Mask) -> io::Result<Watch> {
        Ok(self.inner.add_watch(path, mask)?)
    }

    /// Watches the directory `path` for [`DIR_CHANGES`] (fails with
    /// `ENOTDIR` if it is not a directory).
    pub fn watch_dir(&self, path: &Path) -> io::Result<Watch> {
        self.add_watch(path, DIR_CHANGES | Mask::IN_ONLYDIR)
    }

    /// Removes a watch. A watch the kernel already dropped (its directory
    /// was deleted) yields `EINVAL`, which callers may ignore.
    pub fn remove(&self, wd: Watch) -> io::Result<()> {
        Ok(self.inner.rm_watch(wd)?)
    }

    /// The descriptor to `poll(2)` for input.
    pub fn fd(&self) -> RawFd {
        self.inner.as_fd().as_raw_fd()
    }

    /// Every event queued now, without blocking (empty when none are).
    ///
    /// Never inlined: nix reads into a 4 KiB stack buffer, which inlined
    /// into a caller's frame (runsv's loop) would sit under every later
    /// deep call and keep that many more stack pages dirty for good.
    #[inline(never)]
    pub fn read(&self) -> io::Result<Vec<Event>> {
        let mut out = Vec::new();
        loop {
            match self.inner.read_events() {
                Ok(evs) if evs.is_empty() => return Ok(out),
                Ok(evs) => out.extend(evs.into_iter().map(|e| Event {
                    wd: e.wd,
                    mask: e.mask,
                    name: e.name.map(OsStringExt::into_vec).unwrap_or_default(),
                })),
                Err(Errno::EINTR) => continue,
                Err(Errno::EAGAIN) => return Ok(out),
                Err(e) => return Err(e.into()),
            }
        }
    }
}

impl AsFd for Inotify {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.inner.as_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    fn wait_readable(w: &Inotify) {
        let mut fds = [crate::poll::readable(w.fd())];
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if crate::poll::poll_until(&mut fds, Some(deadline)).unwrap() > 0 {
                return;
            }
        }
        panic!("no inotify event within 10 s");
    }

    #[test]
    fn read_without_events_does_not_block() {
        let w = Inotify::new().expect("inotify");
        let d = tempfile::tempdir().unwrap();
        w.watch_dir(d.path()).unwrap();
        assert_eq!(w.read().unwrap(), Vec::new());
    }

    #[test]
    fn rename_into_place_and_delete_are_reported_with_names() {
        let w = Inotify::new().expect("inotify");
        let d = tempfile::tempdir().unwrap();
        let wd = w.watch_dir(d.path()).unwrap();
        std::fs::write(d.path().join("status.new"), b"x").unwrap();
        std::fs::rename(d.path().join("status.new"), d.path().join("status")).unwrap();
        std::fs::remove_file(d.path().join("status")).unwrap();
        let mut seen = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(10);
        while !seen.iter().any(|e: &Event| e.mask.contains(Mask::IN_DELETE)) && Instant::now() < deadline {
            wait_readable(&w);
            seen.extend(w.read().unwrap());
        }
        let has = |m: Mask, name: &[u8]| seen.iter().any(|e| e.wd == wd && e.mask.contains(m) && e.name == name);
        assert!(has(Mask::IN_CREATE, b"status.new"), "{seen:?}");
        assert!(has(Mask::IN_CLOSE_WRITE, b"status.new"), "{seen:?}");
        assert!(has(Mask::IN_MOVED_TO, b"status"), "{seen:?}");
        assert!(has(Mask::IN_DELETE, b"status"), "{seen:?}");
    }

    #[test]
    fn a_removed_directory_ends_its_watch() {
        let w = Inotify::new().expect("inotify");
        let d = tempfile::tempdir().unwrap();
        let sub = d.path().join("supervise");
        std::fs::create_dir(&sub).unwrap();
        let wd = w.watch_dir(&sub).unwrap();
        std::fs::remove_dir(&sub).unwrap();
        let mut seen = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(10);
        while !seen.iter().any(Event::watch_gone) && Instant::now() < deadline {
            wait_readable(&w);
            seen.extend(w.read().unwrap());
        }
        assert!(seen.iter().any(|e| e.wd == wd && e.mask.contains(Mask::IN_DELETE_SELF)), "{seen:?}");
        assert!(seen.iter().any(|e| e.wd == wd && e.watch_gone()), "{seen:?}");
    }

    #[test]
    fn watching_a_file_as_a_directory_fails() {
        let w = Inotify::new().expect("inotify");
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("file");
        std::fs::write(&f, b"").unwrap();
        assert_eq!(w.watch_dir(&f).unwrap_err().raw_os_error(), Some(libc::ENOTDIR));
        assert!(w.watch_dir(&d.path().join("missing")).is_err());
    }
}
