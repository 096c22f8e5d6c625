//! Which inotify events on a service's `supervise/` can end a wait.
//!
//! runsv replaces `supervise/status` with `status.new` + `rename`, so a
//! watch on the `supervise/` directory sees every update as an
//! `IN_MOVED_TO` for `status`. When runsv exits its descriptors close,
//! which shows up as `IN_CLOSE_NOWRITE` on the `ok` FIFO (nothing else opens
//! `ok` for reading). sv's own activity (reading `status`, probing `ok`,
//! writing `control`) produces only events that [`relevant`] ignores, so a
//! wait never wakes itself up.
//!
//! The watch itself is [`unix::inotify`]. It is an accelerator only: the
//! wait loop still re-evaluates every pending service on a short fallback
//! interval, for what inotify cannot see (a `./check` script's answer) and
//! for systems without inotify.

use unix::inotify::{Event, Mask};

/// The events sv asks for on each `supervise/` directory.
pub const MASK: Mask = Mask::IN_MOVED_TO
    .union(Mask::IN_CREATE)
    .union(Mask::IN_ATTRIB)
    .union(Mask::IN_CLOSE_WRITE)
    .union(Mask::IN_CLOSE_NOWRITE)
    .union(Mask::IN_DELETE_SELF)
    .union(Mask::IN_MOVE_SELF);

/// Whether an event can mean that the service's state changed: a new
/// `status` (renamed into place, or written in place), runsv closing `ok`
/// on exit, the directory going away, or lost events. Everything else is
/// ignored: `stat` and `pid` are replaced *before* `status`, so waking on
/// them would read the old record, and closes of `status`, `ok` and
/// `control` by readers (sv itself included) say nothing.
pub fn relevant(ev: &Event) -> bool {
    let m = ev.mask;
    if m.intersects(Mask::IN_Q_OVERFLOW | Mask::IN_IGNORED | Mask::IN_DELETE_SELF | Mask::IN_MOVE_SELF) {
        return true;
    }
    match ev.name.as_slice() {
        b"status" => m.intersects(Mask::IN_MOVED_TO | Mask::IN_CREATE | Mask::IN_CLOSE_WRITE | Mask::IN_ATTRIB),
        b"ok" => m.intersects(Mask::IN_CLOSE_NOWRITE | Mask::IN_MOVED_TO | Mask::IN_CREATE),
        // runsv renames `ready.new` over it when a service with
        // `notification-fd` reports readiness.
        b"ready" => m.intersects(Mask::IN_MOVED_TO | Mask::IN_CREATE),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};
    use unix::inotify::Inotify;

    fn ev(mask: Mask, name: &str) -> bool {
        let w = Inotify::new().expect("inotify");
        let d = tempfile::tempdir().unwrap();
        let wd = w.add_watch(d.path(), MASK).unwrap();
        relevant(&Event { wd, mask, name: name.as_bytes().to_vec() })
    }

    #[test]
    fn status_replacement_and_runsv_exit_are_relevant_but_our_own_reads_are_not() {
        assert!(ev(Mask::IN_MOVED_TO, "status"));
        assert!(ev(Mask::IN_CLOSE_NOWRITE, "ok"));
        assert!(ev(Mask::IN_DELETE_SELF, ""));
        assert!(ev(Mask::IN_Q_OVERFLOW, ""));
        assert!(!ev(Mask::IN_CLOSE_NOWRITE, "status"));
        assert!(!ev(Mask::IN_CLOSE_WRITE, "ok"));
        assert!(!ev(Mask::IN_CLOSE_WRITE, "control"));
        // runsv replaces pid and stat before status: too early to look
        assert!(!ev(Mask::IN_CREATE, "stat.new"));
        assert!(!ev(Mask::IN_MOVED_TO, "stat"));
        assert!(!ev(Mask::IN_MOVED_TO, "pid"));
        assert!(!ev(Mask::IN_CREATE, "status.new"));
    }

    #[test]
    fn a_status_renamed_into_the_watched_directory_is_relevant() {
        let d = tempfile::tempdir().unwrap();
        let w = Inotify::new().expect("inotify");
        let wd = w.add_watch(d.path(), MASK).unwrap();
        std::fs::write(d.path().join("status.new"), b"x").unwrap();
        std::fs::rename(d.path().join("status.new"), d.path().join("status")).unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut seen = false;
        while !seen && Instant::now() < deadline {
            let mut fds = [unix::poll::readable(w.fd())];
            unix::poll::poll_until(&mut fds, Some(deadline)).unwrap();
            seen = w.read().unwrap().iter().any(|e| e.wd == wd && relevant(e) && e.name == b"status");
        }
        assert!(seen);
    }
}
