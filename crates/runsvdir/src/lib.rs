//! `runsvdir [-P] DIR [LOG]`: keep one `runsv NAME` per service directory
//! in DIR (runit's runsvdir(8); see man/runsvdir.8).
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
use unix::msg::{Fatal, Label, ProgramError};

/// How often the LOG area gets a `.` so old messages scroll away.
const DOT_EVERY: Duration = Duration::from_secs(900);

/// As PID 1, how long SIGTERM waits for the runsv processes to finish
/// (container engines usually SIGKILL 10 s after SIGTERM).
pub const PID1_GRACE: Duration = Duration::from_secs(9);

/// Exit codes (man/runsvdir.8).
pub mod code {
    /// SIGTERM.
    pub const TERM: i32 = 0;
    /// No DIR.
    pub const USAGE: i32 = 1;
    /// Set-up failed.
    pub const FATAL: i32 = 100;
    /// SIGHUP: every runsv was sent SIGTERM.
    pub const HUP: i32 = 111;
}

/// `runsvdir --help`.
pub const HELP: &str = "\
usage: runsvdir [-P] dir [log]

Start and keep one runsv per service directory in dir, and stop those
whose directory went away. Changes are seen at once (inotify).

options (only as the first argument):
  -P        run each runsv in a new session and process group
  log       show runsv's error messages in the process title, in place of
            this argument (at least seven characters, e.g. a row of dots)

signals: HUP stops every runsv and exits 111; TERM exits 0; ALRM rescans.

example:
  runsvdir -P /etc/service ..........................................

See runsvdir(8).
";

/// Why runsvdir cannot start: what `main` prints on stderr and the exit
/// code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RunsvdirError {
    /// No DIR: runit's usage line (with argv[0] as typed).
    Usage { argv0: Vec<u8> },
    /// `runsvdir DIR: fatal: ...`, exit 100.
    Fatal(Fatal),
}

impl ProgramError for RunsvdirError {
    fn exit_code(&self) -> i32 {
        match self {
            RunsvdirError::Usage { .. } => code::USAGE,
            RunsvdirError::Fatal(f) => f.code,
        }
    }

    fn message(&self) -> Vec<u8> {
        match self {
            RunsvdirError::Usage { argv0 } => unix::msg::usage_text(argv0, b"[-P] dir"),
            RunsvdirError::Fatal(f) => f.text.clone(),
        }
    }
}

/// The signal that ended the main loop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ended {
    Term,
    Hup,
}

/// Entry point of the `runsvdir` program: the only place that exits.
pub fn main() -> ! {
    let args: Vec<Vec<u8>> = std::env::args_os().map(OsString::into_vec).collect();
    if let Some(text) = unix::msg::help_or_version(&args, "runsvdir", HELP) {
        unix::msg::print_and_exit(&text)
    }
    match start(&args) {
        Ok(Ended::Term) => std::process::exit(code::TERM),
        Ok(Ended::Hup) => std::process::exit(code::HUP),
        Err(e) => unix::msg::exit_with(&e),
    }
}

/// Parses the arguments, sets up, and runs until SIGTERM or SIGHUP.
pub fn start(args: &[Vec<u8>]) -> Result<Ended, RunsvdirError> {
    let argv0 = args.first().cloned().unwrap_or_else(|| b"runsvdir".to_vec());
    let usage = || RunsvdirError::Usage { argv0: argv0.clone() };

    // runit looks only at the first argument, and only at its second
    // character: `-P...` sets the flag, `--...` is skipped, anything else
    // (even `-x`) is DIR.
    let mut i = 1;
    let mut setsid = false;
    let first = args.get(i).ok_or_else(usage)?;
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
    let dir = args.get(i).cloned().ok_or_else(usage)?;
    let label = Label::with_arg(b"runsvdir", &dir);
    let fatal =
        |what: &[u8], e: &std::io::Error| RunsvdirError::Fatal(label.fatal_error(code::FATAL, &[what], Some(e)));

    let signals = unix::selfpipe::SelfPipe::new(&[libc::SIGTERM, libc::SIGHUP, libc::SIGCHLD, libc::SIGALRM])
        .map_err(|e| fatal(b"unable to catch signals", &e))?;

    let log = args.get(i + 1).and_then(|_| setup_log(&label, args, i + 1));

    let curdir = File::open(".").map(OwnedFd::from).map_err(|e| fatal(b"unable to open current directory", &e))?;

    let mut table = table::Table::new(dir, label, setsid, curdir);
    Ok(run(&mut table, &signals, log))
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
    // fd 2 is replaced atomically.
    if nix::unistd::dup2_stderr(&write).is_err() {
        label.warn(&[b"unable to set filedescriptor for log."]);
        return disabled();
    }
    Some(Log { read, write, title: title::Title::new(args, index), next_dot: Instant::now() })
}

fn run(table: &mut table::Table, signals: &unix::selfpipe::SelfPipe, mut log: Option<Log>) -> Ended {
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
            drain(&log.read, &mut buf, |bytes| log.title.push(bytes));
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
                    return Ended::Term;
                }
                libc::SIGHUP => {
                    table.term_all();
                    return Ended::Hup;
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
fn drain(fd: &OwnedFd, buf: &mut [u8], mut each: impl FnMut(&[u8])) {
    loop {
        match nix::unistd::read(fd, buf) {
            Ok(0) => return,
            Ok(n) => each(&buf[..n]),
            Err(nix::errno::Errno::EINTR) => continue,
            Err(_) => return,
        }
    }
}
