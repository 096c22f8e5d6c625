//! `runsvdir [-P] DIR [LOG]`: keep one `runsv NAME` per service directory
//! in DIR (runit's runsvdir(8); ours is described in `man/runsvdir.8`).
//!
//! Every entry of DIR that is a directory, or a symlink to one, and whose
//! name does not start with a dot, gets a `runsv NAME` started in DIR.
//! Entries are known by the device and inode of their target, so renaming
//! an entry keeps its runsv while repointing a symlink replaces it; an
//! entry that disappears gets its runsv sent SIGTERM. SIGHUP stops every
//! runsv and exits 111; SIGTERM exits 0 at once and leaves them running
//! (except as PID 1, see below).
//! The optional LOG argument becomes a status area in the process title
//! ([`title`]).
//!
//! Where runit polls DIR every 5 seconds, we watch it ([`watch`]) and scan
//! as soon as something changes, with runit's poll kept as the fallback
//! when inotify is unavailable; when the watch works runsvdir sleeps until
//! an event (no periodic wake-ups). A runsv that dies is noticed at once
//! (SIGCHLD) and restarted, at most once a second per service. There is no
//! limit on the number of services (runit stops at 1000).
//!
//! The modules: [`table`] (the services and the scan), [`watch`]
//! (inotify), [`title`] (the LOG area).
//!
//! # Differences from runit
//!
//! - Timers run on the monotonic clock, so the wall clock going back never
//!   stalls a scan and `time warp: resetting time stamp.` is never printed.
//! - A new entry made with `mkdir`, or one that newly fails to stat, is
//!   looked at again a second later (see [`table`]); runit's equivalent is
//!   its one-second sleep when DIR changed within the current second.
//! - Opt-in, as PID 1 (a container's entrypoint) with `RUNIT_RS_CONTAINER=1`
//!   in the environment: SIGTERM first stops every runsv (SIGTERM, so each
//!   stops its service and log) and waits for them, at most
//!   [`PID1_GRACE`], then exits 0. runit exits at once, and the kernel then
//!   SIGKILLs every process of the container: no service gets to stop
//!   cleanly, no `finish` runs. Otherwise SIGTERM is runit's. (Adopted
//!   orphans are reaped at once in every case: runsvdir reaps on SIGCHLD.)
//! - SIGALRM scans at once (as Debian's does) without writing Debian's
//!   `.forced-rescan` marker.
//! - The LOG area is rewritten through `/proc/self/mem`; without `/proc`
//!   the messages are still read from the pipe but not shown.
//! - Changes that inotify does not report (e.g. on some network file
//!   systems) wait for the next event: with a working watch there is no
//!   periodic poll.

pub mod table;
pub mod title;
pub mod watch;

use std::ffi::OsString;
use std::fs::File;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStringExt;
use std::time::{Duration, Instant};
use unix::msg::Label;

/// How often the LOG area gets a `.` so old messages scroll away.
const DOT_EVERY: Duration = Duration::from_secs(900);

/// As PID 1, how long SIGTERM waits for the runsv processes to finish
/// (container engines usually SIGKILL 10 s after SIGTERM).
pub const PID1_GRACE: Duration = Duration::from_secs(9);

/// Entry point of the `runsvdir` program.
pub fn main() -> ! {
    let args: Vec<Vec<u8>> = std::env::args_os().map(OsString::into_vec).collect();
    let argv0 = args.first().cloned().unwrap_or_else(|| b"runsvdir".to_vec());
    let usage = || unix::msg::usage(&argv0, b"[-P] dir", 1);

    // runit looks only at the first argument, and only at its second
    // character: `-P...` sets the flag, `--...` is skipped, anything else
    // (even `-x`) is DIR.
    let mut i = 1;
    let mut setsid = false;
    let Some(first) = args.get(i) else { usage() };
    if first.first() == Some(&b'-') {
        match first.get(1) {
            Some(b'P') => {
                setsid = true;
                i += 1;
            }
            Some(b'-') => i += 1,
            _ => {}
        }
    }
    let Some(dir) = args.get(i).cloned() else { usage() };
    let label = Label::with_arg(b"runsvdir", &dir);

    let signals = match unix::selfpipe::SelfPipe::new(&[libc::SIGTERM, libc::SIGHUP, libc::SIGCHLD, libc::SIGALRM]) {
        Ok(s) => s,
        Err(e) => label.die(100, &[b"unable to catch signals"], Some(&e)),
    };

    let log = args.get(i + 1).and_then(|_| setup_log(&label, &args, i + 1));

    let curdir = match File::open(".") {
        Ok(f) => OwnedFd::from(f),
        Err(e) => label.die(100, &[b"unable to open current directory"], Some(&e)),
    };

    let mut table = table::Table::new(dir, label, setsid, curdir);
    run(&mut table, &signals, log)
}

/// The LOG pipe and the title area it feeds.
struct Log {
    read: OwnedFd,
    write: OwnedFd,
    title: title::Title,
    next_dot: Instant,
}

/// Sets up the LOG area; on failure prints runit's warnings (on the real
/// stderr) and returns `None`.
fn setup_log(label: &Label, args: &[Vec<u8>], index: usize) -> Option<Log> {
    let disabled = || {
        label.warn(&[b"log service disabled."]);
        None
    };
    if args[index].len() < title::MIN_LEN {
        label.warn(&[b"log must have at least seven characters."]);
        return disabled();
    }
    let pipe = unix::fd::pipe_cloexec().and_then(|(r, w)| {
        unix::fd::set_nonblock(r.as_raw_fd(), true)?;
        unix::fd::set_nonblock(w.as_raw_fd(), true)?;
        Ok((r, w))
    });
    let Ok((read, write)) = pipe else {
        label.warn(&[b"unable to create pipe for log."]);
        return disabled();
    };
    // SAFETY: dup2 on two descriptors we own; fd 2 is replaced atomically.
    if unsafe { libc::dup2(write.as_raw_fd(), 2) } < 0 {
        label.warn(&[b"unable to set filedescriptor for log."]);
        return disabled();
    }
    Some(Log { read, write, title: title::Title::new(args, index), next_dot: Instant::now() })
}

fn run(table: &mut table::Table, signals: &unix::selfpipe::SelfPipe, mut log: Option<Log>) -> ! {
    table.start(Instant::now());
    let mut buf = vec![0u8; 4096];
    loop {
        table.reap(Instant::now());
        let now = Instant::now();
        table.due(now);

        let mut deadline = table.deadline();
        if let Some(log) = &mut log {
            if now >= log.next_dot {
                unix::msg::write_all_fd(log.write.as_raw_fd(), b".");
                log.next_dot = now + DOT_EVERY;
            }
            deadline = Some(deadline.map_or(log.next_dot, |d| d.min(log.next_dot)));
        }

        let mut fds = vec![unix::poll::readable(signals.fd())];
        if let Some(w) = table.watch_fd() {
            fds.push(unix::poll::readable(w));
        }
        if let Some(log) = &log {
            fds.push(unix::poll::readable(log.read.as_raw_fd()));
        }
        if let Err(e) = unix::poll::poll_until(&mut fds, deadline) {
            // Cannot really happen (bad arguments); avoid spinning.
            table.label().warn_err(&[b"unable to poll"], &e);
            std::thread::sleep(Duration::from_secs(1));
        }

        if let Some(log) = &mut log {
            drain(log.read.as_raw_fd(), &mut buf, |bytes| log.title.push(bytes));
        }
        if table.watch_fd().is_some() && fds.get(1).is_some_and(unix::poll::ready) {
            table.events(Instant::now());
        }
        for sig in signals.drain() {
            match sig {
                libc::SIGTERM => {
                    if std::process::id() == 1 && container_mode() {
                        stop_all(table, signals, Instant::now() + PID1_GRACE);
                    }
                    std::process::exit(0)
                }
                libc::SIGHUP => {
                    table.term_all();
                    std::process::exit(111)
                }
                libc::SIGALRM => table.rescan_now(Instant::now()),
                _ => {}
            }
        }
    }
}

/// Whether the container behaviour of SIGTERM was asked for
/// (`RUNIT_RS_CONTAINER=1`, the variable that also forces runit's
/// container mode).
fn container_mode() -> bool {
    std::env::var_os("RUNIT_RS_CONTAINER").is_some_and(|v| v == "1")
}

/// SIGTERM to every runsv, then waits until they have all exited or
/// `deadline` passes, reaping them (and any orphan) as they go.
fn stop_all(table: &mut table::Table, signals: &unix::selfpipe::SelfPipe, deadline: Instant) {
    table.term_all();
    table.forget_all();
    while table.reap_stopping() && Instant::now() < deadline {
        let mut fds = [unix::poll::readable(signals.fd())];
        let _ = unix::poll::poll_until(&mut fds, Some(deadline));
        signals.drain();
    }
}

/// Reads everything available from a non-blocking descriptor.
fn drain(fd: i32, buf: &mut [u8], mut each: impl FnMut(&[u8])) {
    loop {
        // SAFETY: buf is a valid writable buffer of its length.
        let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
        if n <= 0 {
            if n < 0 && unix::errtext::errno() == libc::EINTR {
                continue;
            }
            return;
        }
        each(&buf[..n as usize]);
    }
}
