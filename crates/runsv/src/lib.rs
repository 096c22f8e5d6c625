//! `runsv DIR`: supervise one service and, if `DIR/log/` exists, its log
//! service (`shared/spec/runsv.md`, runit's runsv(8)).
//!
//! runsv changes into DIR, runs `./run` (and `./log/run`, its stdin fed by a
//! pipe from `./run`'s stdout), runs `./finish CODE STATUS` after each exit,
//! restarts the service while it is wanted up, and serves the
//! `supervise/control` FIFO and the `supervise/status`, `stat` and `pid`
//! files that `sv` and daemontools' tools read.
//!
//! The loop keeps runit's order: start what should run, wait (poll on the
//! self-pipe and the control FIFOs, with a deadline only when a restart is
//! pending), drain the self-pipe, reap every dead child, read one control
//! byte per FIFO, act on SIGTERM, check for exit.
//!
//! Differences from runit, all invisible in the interfaces:
//! - the 1-second pause between fast restarts is a deadline, not a blocking
//!   `sleep`, so control letters and reaping keep working during it (runit
//!   could leave a service down for good after `sv up` then `sv down` inside
//!   that second, void-linux/runit#33);
//! - no periodic wake-ups while idle (runit wakes hourly);
//! - fork failures are retried after 5 s the same way, without blocking;
//! - each service tracks its own "pid changed" flag (runit shares one, so a
//!   log update could swallow the main service's `pid` file rewrite);
//! - `status`, `stat` and `pid` are written through the `supervise/`
//!   directories held open, and a runsv whose service directory was
//!   removed re-enters DIR before the next start when DIR's `supervise` is
//!   still its own (module `home`): a reinstalled service with `supervise`
//!   linked outside stays controllable (runit soft-locks,
//!   void-linux/runit#25);
//! - `supervise/lock`, `control` and `ok` are never opened through a
//!   symlink (a fatal `symbolic link loop` instead).
//!
//! Opt-in extras (issue 8; `supervise::extras` has the file formats). A
//! service directory (or `log/`) without these files behaves as above:
//! - `notification-fd` N: `./run` gets the write end of a pipe on fd N; the
//!   first newline written there creates `supervise/ready` (`@TAI64N PID`),
//!   removed when that `./run` ends; end-of-file first means "not ready";
//! - `down-signal`: stops (`d`, `x`, `t`, SIGTERM to runsv) send it instead
//!   of TERM (the "got TERM" flag still means "stop signal sent");
//! - `timeout-kill` ms: KILL when a stop signal did not end `./run` in time;
//! - `timeout-finish` ms: KILL a `./finish` still running then;
//! - `flag-killpg`: `./run` leads its own process group, and stops, `k` and
//!   `timeout-kill` signal the whole group (a group whose leader already
//!   died still gets the `timeout-kill` KILL, and runsv waits for it before
//!   exiting); `flag-timeout-killpg` (s6): own group, only the
//!   `timeout-kill` KILL goes to the group;
//! - `restart-backoff` `[INITIAL] MAX` ms: a `./run` that fails (ends
//!   without being stopped) before MAX is restarted after INITIAL, then
//!   twice as long each time up to MAX; a run that lasts MAX, a stop, or an
//!   explicit `u`/`o` resets it; never less than runit's 1-second rule;
//! - `control/C` scripts get the service's pid as `argv[1]` when it has one.

mod home;
mod service;

use service::{Ctx, Runsv, Service};
use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::Path;
use supervise::{SuperviseDir, Want};
use unix::msg::Label;

/// Entry point of the `runsv` program.
pub fn main() -> ! {
    let args: Vec<OsString> = std::env::args_os().collect();
    if args.len() != 2 {
        let argv0 = args.first().map(|a| a.as_bytes().to_vec()).unwrap_or_else(|| b"runsv".to_vec());
        unix::msg::usage(&argv0, b"dir", 1);
    }
    let dir = args[1].clone().into_vec();
    let label = Label::with_arg(b"runsv", &dir);
    let mut runsv = start(&dir, label);
    runsv.run()
}

/// The startup sequence of runsv.md §1.1; any failure is fatal (exit 111).
fn start(dir: &[u8], label: Label) -> Runsv {
    let die = |what: &str, e: &io::Error| -> ! { label.die(111, &[what.as_bytes()], Some(e)) };

    let signals = unix::selfpipe::SelfPipe::new(&[libc::SIGCHLD, libc::SIGTERM])
        .unwrap_or_else(|e| die("unable to create selfpipe", &e));
    let start_dir = File::open(".").ok();
    if let Err(e) = std::env::set_current_dir(Path::new(std::ffi::OsStr::from_bytes(dir))) {
        die("unable to change to directory", &e);
    }

    let main_want = if fs::metadata("down").is_ok() { Want::Down } else { Want::Up };

    let mut log_pipe = None;
    let mut log_want = Want::Up;
    match fs::metadata("log") {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        // runit's text has a doubled colon here; scripts may match it.
        Err(e) => label.warn_err(&[b"unable to stat() ./log: "], &e),
        Ok(m) if !m.is_dir() => label.warn(&[b"./log: not a directory."]),
        Ok(_) => {
            if fs::metadata("log/down").is_ok() {
                log_want = Want::Down;
            }
            log_pipe = Some(unix::fd::pipe_cloexec().unwrap_or_else(|e| die("unable to create log pipe", &e)));
        }
    }

    make_supervise_dir(Path::new("."), "supervise", &label);
    let main_lock = open_lock("supervise/lock", false, &label);
    let log_lock = log_pipe.as_ref().map(|_| {
        make_supervise_dir(Path::new("log"), "log/supervise", &label);
        // runit waits for the log lock (a blocking flock), unlike the main one.
        open_lock("log/supervise/lock", true, &label)
    });
    // A readiness record left by an earlier runsv describes a process that
    // is not ours; only a new newline on notification-fd makes it ready.
    let _ = supervise::extras::remove_ready(&SuperviseDir::main());
    if log_lock.is_some() {
        let _ = supervise::extras::remove_ready(&SuperviseDir::log());
    }

    if let Some(d) = start_dir {
        home::remember(d, dir);
    }
    // Status files are written through the supervise directories held
    // open, so they stay right if the service directory is replaced.
    let opened = |d: SuperviseDir| d.clone().opened().unwrap_or(d);

    let ctx = Ctx::new(label.clone(), log_pipe);
    let (main_r, main_w) = open_control("supervise/control", &label);
    let mut main = Service::new(opened(SuperviseDir::main()), false, main_want, main_lock, main_r, main_w);
    ctx.update(&mut main);
    let log = log_lock.map(|lock| {
        let (r, w) = open_control("log/supervise/control", &label);
        let mut log = Service::new(opened(SuperviseDir::log()), true, log_want, lock, r, w);
        ctx.update(&mut log);
        log
    });

    let mut ok = vec![open_ok("supervise/ok", &label)];
    if log.is_some() {
        ok.push(open_ok("log/supervise/ok", &label));
    }
    Runsv::new(ctx, signals, main, log, ok)
}

/// `mkdir NAME 0700`; if that fails and NAME is a symlink, create its
/// target (last component only; relative to the directory holding the link),
/// which is how distributions put `supervise/` on a tmpfs.
fn make_supervise_dir(parent: &Path, name: &str, label: &Label) {
    let builder = {
        let mut b = fs::DirBuilder::new();
        b.mode(0o700);
        b
    };
    if builder.create(name).is_ok() {
        return;
    }
    match fs::read_link(name) {
        Ok(target) => {
            if target.as_os_str().len() >= 256 {
                label.die(111, &[b"unable to readlink ./", name.as_bytes(), b": name too long"], None);
            }
            let _ = builder.create(parent.join(target));
        }
        Err(e) if matches!(e.raw_os_error(), Some(libc::ENOENT) | Some(libc::EINVAL)) => {}
        Err(e) => label.die(111, &[b"unable to readlink ./", name.as_bytes()], Some(&e)),
    }
}

/// Opens `supervise/lock` (0600, append) and takes the exclusive lock.
/// Like the FIFOs below it is never opened through a symlink: in a
/// `supervise/` owned by someone else, a planted `lock` link would make a
/// root runsv create any file it names (runit follows it).
fn open_lock(path: &str, wait: bool, label: &Label) -> File {
    let f = OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o600)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOFOLLOW)
        .open(path)
        .unwrap_or_else(|e| label.die(111, &[b"unable to open ", path.as_bytes()], Some(&e)));
    if let Err(e) = unix::lock::lock_exclusive(f.as_raw_fd(), wait) {
        label.die(111, &[b"unable to lock ", path.as_bytes()], Some(&e));
    }
    f
}

/// Makes `control` (a FIFO, 0600) and opens it for reading (non-blocking)
/// and for writing, so runsv never sees end-of-file on it.
fn open_control(path: &str, label: &Label) -> (File, File) {
    let _ = unix::fifo::mkfifo(Path::new(path), 0o600);
    match fs::metadata(path) {
        Err(e) => label.die(111, &[b"unable to stat ", path.as_bytes()], Some(&e)),
        Ok(m) if !unix::fifo::is_fifo(&m) => label.die(111, &[path.as_bytes(), b" exists but is not a fifo"], None),
        Ok(_) => {}
    }
    let open = |read: bool| {
        OpenOptions::new()
            .read(read)
            .write(!read)
            .custom_flags(libc::O_NONBLOCK | libc::O_NOFOLLOW)
            .open(path)
            .unwrap_or_else(|e| label.die(111, &[b"unable to open ", path.as_bytes()], Some(&e)))
    };
    let r = open(true);
    let w = open(false);
    (r, w)
}

/// Makes `ok` (a FIFO, 0600) and holds it open for reading: clients that
/// can open it for writing know a runsv is alive.
fn open_ok(path: &str, label: &Label) -> OwnedFd {
    let _ = unix::fifo::mkfifo(Path::new(path), 0o600);
    OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOFOLLOW)
        .open(path)
        .map(OwnedFd::from)
        .unwrap_or_else(|e| label.die(111, &[b"unable to read ", path.as_bytes()], Some(&e)))
}
