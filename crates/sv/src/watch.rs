//! Waking up when a service's state changes, instead of every 420 ms.
//!
//! runsv replaces `supervise/status` with `status.new` + `rename`, so an
//! inotify watch on the `supervise/` directory sees every update as an
//! `IN_MOVED_TO` for `status`. When runsv exits its descriptors close,
//! which shows up as `IN_CLOSE_NOWRITE` on the `ok` FIFO (nothing else opens
//! `ok` for reading). sv's own activity (reading `status`, probing `ok`,
//! writing `control`) produces only events that [`relevant`] ignores, so a
//! wait never wakes itself up.
//!
//! The watch is an accelerator only: the wait loop still re-evaluates every
//! pending service on a short fallback interval, for what inotify cannot
//! see (a `./check` script's answer) and for systems without inotify.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// One event: which watch, what happened, and the file name in the
/// watched directory (empty for events on the directory itself).
#[derive(Debug, PartialEq, Eq)]
pub struct Event<'a> {
    pub wd: i32,
    pub mask: u32,
    pub name: &'a [u8],
}

/// The events sv asks for on each `supervise/` directory.
pub const MASK: u32 = libc::IN_MOVED_TO
    | libc::IN_CREATE
    | libc::IN_ATTRIB
    | libc::IN_CLOSE_WRITE
    | libc::IN_CLOSE_NOWRITE
    | libc::IN_DELETE_SELF
    | libc::IN_MOVE_SELF;

/// Whether an event can mean that the service's state changed: a new
/// `status` (renamed into place, or written in place), runsv closing `ok`
/// on exit, the directory going away, or lost events. Everything else is
/// ignored: `stat` and `pid` are replaced *before* `status`, so waking on
/// them would read the old record, and closes of `status`, `ok` and
/// `control` by readers (sv itself included) say nothing.
pub fn relevant(ev: &Event) -> bool {
    let m = ev.mask;
    if m & (libc::IN_Q_OVERFLOW | libc::IN_IGNORED | libc::IN_DELETE_SELF | libc::IN_MOVE_SELF) != 0 {
        return true;
    }
    match ev.name {
        b"status" => m & (libc::IN_MOVED_TO | libc::IN_CREATE | libc::IN_CLOSE_WRITE | libc::IN_ATTRIB) != 0,
        b"ok" => m & (libc::IN_CLOSE_NOWRITE | libc::IN_MOVED_TO | libc::IN_CREATE) != 0,
        // runsv renames `ready.new` over it when a service with
        // `notification-fd` reports readiness.
        b"ready" => m & (libc::IN_MOVED_TO | libc::IN_CREATE) != 0,
        _ => false,
    }
}

/// An inotify instance (close-on-exec, non-blocking).
pub struct Watcher {
    fd: OwnedFd,
}

impl Watcher {
    /// `None` when inotify is unavailable (the wait loop then polls).
    pub fn new() -> Option<Watcher> {
        // SAFETY: inotify_init1 has no memory-safety preconditions.
        let fd = unsafe { libc::inotify_init1(libc::IN_CLOEXEC | libc::IN_NONBLOCK) };
        if fd < 0 {
            return None;
        }
        // SAFETY: fd is a fresh descriptor that nothing else owns.
        Some(Watcher { fd: unsafe { OwnedFd::from_raw_fd(fd) } })
    }

    /// Watches `path` (relative to the current directory; symlinks are
    /// followed, so a `supervise` link into a tmpfs works). Adding the same
    /// directory twice returns the same descriptor.
    pub fn add(&self, path: &std::ffi::CStr) -> io::Result<i32> {
        // SAFETY: path is a valid NUL-terminated string.
        let wd = unsafe { libc::inotify_add_watch(self.fd.as_raw_fd(), path.as_ptr(), MASK) };
        if wd < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(wd)
        }
    }

    pub fn fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    /// Reads every queued event and hands each to `f`.
    pub fn drain(&self, mut f: impl FnMut(&Event)) {
        // Large enough for many events; aligned reads are not needed since
        // the fields are decoded byte-wise.
        let mut buf = [0u8; 8192];
        loop {
            // SAFETY: buf is a valid writable buffer of the given length.
            let n = unsafe { libc::read(self.fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
            if n <= 0 {
                if n < 0 && io::Error::last_os_error().kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return;
            }
            parse(&buf[..n as usize], &mut f);
        }
    }
}

/// Decodes a buffer of `struct inotify_event` records.
pub fn parse(mut b: &[u8], f: &mut impl FnMut(&Event)) {
    const HEAD: usize = 16;
    while b.len() >= HEAD {
        let word = |i: usize| [b[i], b[i + 1], b[i + 2], b[i + 3]];
        let wd = i32::from_ne_bytes(word(0));
        let mask = u32::from_ne_bytes(word(4));
        let len = u32::from_ne_bytes(word(12)) as usize;
        let end = HEAD.saturating_add(len).min(b.len());
        let raw = &b[HEAD..end];
        let name = match raw.iter().position(|&c| c == 0) {
            Some(i) => &raw[..i],
            None => raw,
        };
        f(&Event { wd, mask, name });
        b = &b[end..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    use std::time::Instant;

    fn ev(mask: u32, name: &str) -> bool {
        relevant(&Event { wd: 1, mask, name: name.as_bytes() })
    }

    #[test]
    fn status_replacement_and_runsv_exit_are_relevant_but_our_own_reads_are_not() {
        assert!(ev(libc::IN_MOVED_TO, "status"));
        assert!(ev(libc::IN_CLOSE_NOWRITE, "ok"));
        assert!(ev(libc::IN_DELETE_SELF, ""));
        assert!(ev(libc::IN_Q_OVERFLOW, ""));
        assert!(!ev(libc::IN_CLOSE_NOWRITE, "status"));
        assert!(!ev(libc::IN_CLOSE_WRITE, "ok"));
        assert!(!ev(libc::IN_CLOSE_WRITE, "control"));
        // runsv replaces pid and stat before status: too early to look
        assert!(!ev(libc::IN_CREATE, "stat.new"));
        assert!(!ev(libc::IN_MOVED_TO, "stat"));
        assert!(!ev(libc::IN_MOVED_TO, "pid"));
        assert!(!ev(libc::IN_CREATE, "status.new"));
    }

    #[test]
    fn parse_decodes_names_with_padding() {
        let mut b = Vec::new();
        for (wd, mask, name) in [(3i32, libc::IN_MOVED_TO, &b"status\0\0"[..]), (4, libc::IN_DELETE_SELF, b"")] {
            b.extend_from_slice(&wd.to_ne_bytes());
            b.extend_from_slice(&mask.to_ne_bytes());
            b.extend_from_slice(&0u32.to_ne_bytes());
            b.extend_from_slice(&(name.len() as u32).to_ne_bytes());
            b.extend_from_slice(name);
        }
        let mut got = Vec::new();
        parse(&b, &mut |e: &Event| got.push((e.wd, e.mask, e.name.to_vec())));
        assert_eq!(got, vec![(3, libc::IN_MOVED_TO, b"status".to_vec()), (4, libc::IN_DELETE_SELF, Vec::new())]);
    }

    #[test]
    fn a_rename_into_the_watched_directory_is_seen() {
        let d = tempfile::tempdir().unwrap();
        let w = Watcher::new().expect("inotify");
        let wd = w.add(&CString::new(d.path().as_os_str().as_bytes()).unwrap()).unwrap();
        std::fs::write(d.path().join("status.new"), b"x").unwrap();
        std::fs::rename(d.path().join("status.new"), d.path().join("status")).unwrap();
        let mut fds = [unix::poll::readable(w.fd())];
        unix::poll::poll_until(&mut fds, Some(Instant::now() + std::time::Duration::from_secs(5))).unwrap();
        let mut seen = false;
        w.drain(|e| seen |= e.wd == wd && e.mask & libc::IN_MOVED_TO != 0 && e.name == b"status");
        assert!(seen);
    }
}
