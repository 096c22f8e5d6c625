//! `runsv DIR`: supervise one service and, if `DIR/log/` exists, its log
//! service (man/runsv.8; the files it serves: docs/PROTOCOL.md).
//!
//! runsv changes into DIR, runs `./run` (and `./log/run`, its stdin fed by a
//! pipe from `./run`'s stdout), runs `./finish CODE STATUS` after each exit,
//! restarts the service while it is wanted up, and serves the
//! `supervise/control` FIFO and the `supervise/status`, `stat` and `pid`
//! files that `sv` and daemontools' tools read.
//!
//! Every decision lives in one step table, [`machine`]: the loop here only
//! turns the world into [`machine::Event`]s and [`io`] carries out what the
//! table asks for. The loop keeps runit's order: a tick (deadlines, exit
//! check, start what should run), wait (poll on the self-pipe, the control
//! FIFOs and readiness pipes, with a deadline only when one is pending),
//! drain the self-pipe, reap every dead child, read readiness, read one
//! control byte per FIFO, act on SIGTERM.
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
//!   symlink (a fatal `symbolic link loop` instead);
//! - a `./run` (and log service) left running by a runsv killed with
//!   SIGKILL is found through `supervise/start` (pid, start time, boot id;
//!   a new file runit's tools ignore), stopped service first, then the log
//!   after it read everything, before anything starts: no second instance
//!   (runit starts one beside the orphan; module `contain`,
//!   [`machine::Orphan`]).
//!
//! Opt-in extras (docs/EXTENSIONS.md; `supervise` has the file formats). A
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
//! - `control/C` scripts get the service's pid as `argv[1]` when it has one;
//! - `listen` (man/runsv.8, SOCKETS AND NOTIFICATION): sockets bound
//!   before the first start and held across restarts, crashes and `d`,
//!   passed to every `./run` from fd 3 with `LISTEN_FDS`, `LISTEN_PID`
//!   (the new process's own pid) and `LISTEN_FDNAMES`; read again by `u`
//!   after an edit; a line that cannot be used holds the service down
//!   (`supervise/listen-error`) until `u` finds it fixed;
//! - `flag-on-demand` next to `listen`: `./run` only once a client waits
//!   on a socket (the loop polls them only then), and again only for the
//!   next client;
//! - `notify-socket`: `supervise/notify`, `NOTIFY_SOCKET`; `READY=1` from
//!   `./run` or a descendant is readiness, `STATUS=` goes to
//!   `supervise/notify-status`, `STOPPING=1` withdraws readiness;
//! - `depends` and `oneshot` (`supervise::depends`, module `deps`): start
//!   after the dependencies are ready, stop before them, run once;
//! - `cgroup/`: `./run` and `./finish` in a cgroup v2 of their own, with
//!   limits from the files there; whatever is left when the process ends
//!   is killed, and the service is down only once the cgroup is empty
//!   (`supervise::cgroupdir`, `unix::cgroup`).

mod contain;
mod deps;
mod home;
pub mod io;
pub mod machine;

use io::{SlotFiles, SystemIo};
use machine::{Event, Flow, Kind, Machine, Now};
use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Read};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::Path;
use supervise::{depstate, SuperviseDir, Want};
use unix::msg::{Fatal, Label};

/// runsv's exit codes (man/runsv.8, EXIT STATUS).
pub mod exit {
    /// Told to exit, and everything is down.
    pub const OK: i32 = 0;
    /// Wrong usage.
    pub const USAGE: i32 = 1;
    /// A fatal error while starting (or a second runsv for the same
    /// directory).
    pub const FATAL: i32 = 111;
}

const HELP: &str = "\
usage: runsv dir

Supervise the service in DIR: run ./run (and ./log/run, its stdin fed by
./run's stdout), restart it, run ./finish after each exit, and serve
DIR/supervise/control and DIR/supervise/status for sv(8).

Without ./down the service starts at once. runsv is normally started by
runsvdir(8), one per entry of the scan directory.

Example:
  runsv /etc/sv/getty-5

  --help     show this help and exit
  --version  show the version and exit
See runsv(8) and docs/PROTOCOL.md.
";

/// Entry point of the `runsv` program.
pub fn main() -> ! {
    let args = unix::getopt::args_bytes();
    if let Some(text) = unix::msg::help_or_version(&args, "runsv", HELP) {
        unix::msg::print_and_exit(&text);
    }
    if args.len() != 2 {
        let argv0 = args.first().cloned().unwrap_or_else(|| b"runsv".to_vec());
        unix::msg::exit_with(&Fatal { code: exit::USAGE, text: unix::msg::usage_text(&argv0, b"dir") });
    }
    let dir = &args[1];
    let label = Label::with_arg(b"runsv", dir);
    match start(dir, label) {
        Ok(mut runsv) => {
            runsv.run();
            std::process::exit(exit::OK)
        }
        Err(e) => unix::msg::exit_with(&e),
    }
}

/// A running runsv: the step table, the world it acts on, and the
/// descriptors the loop waits on.
struct Runsv {
    machine: Machine,
    io: SystemIo,
    signals: unix::selfpipe::SelfPipe,
    /// `supervise/control` of the service and of its log service: read end
    /// and runsv's own write end (so the FIFO never reports end-of-file).
    main_control: (File, File),
    log_control: Option<(File, File)>,
    /// `supervise/ok` (and `log/supervise/ok`) held open for reading.
    _ok: Vec<OwnedFd>,
    /// The `supervise/lock` files, locked for runsv's lifetime.
    _locks: Vec<File>,
}

/// How often an orphan is looked at where the kernel has no pidfd.
const ORPHAN_RECHECK: std::time::Duration = std::time::Duration::from_millis(100);

/// Reads `supervise/control` one byte at a time, as runit does: whether
/// any [`depstate::DEPS_CHANGED`] came first (however many: one reading
/// of the dependencies answers them all), and the first other byte, the
/// letter to act on now (the rest waits for the next round).
fn read_control(fifo: &File) -> (bool, Option<u8>) {
    let mut poked = false;
    loop {
        let mut b = [0u8; 1];
        match (&*fifo).read(&mut b) {
            Ok(1) if b[0] == depstate::DEPS_CHANGED => poked = true,
            Ok(1) => return (poked, Some(b[0])),
            _ => return (poked, None),
        }
    }
}

impl Runsv {
    /// The loop: returns when the service was told to exit and everything
    /// is down.
    fn run(&mut self) {
        for ev in self.io.deps.initial() {
            self.step(ev);
        }
        loop {
            if self.step(Event::Tick) == Flow::Exit {
                return;
            }
            let want_client = self.wait();
            self.dispatch(want_client);
        }
    }

    /// Waits in `poll` for any descriptor of the loop or the next deadline;
    /// returns whether the held listen sockets were in the set. Kept out of
    /// line (like [`Runsv::dispatch`]): whatever is inlined into the loop
    /// sits on the stack under every start and status write, and the stack
    /// pages touched then stay dirty in every runsv for its whole life.
    #[inline(never)]
    fn wait(&mut self) -> bool {
        let mut fds =
            vec![unix::poll::readable(self.signals.fd()), unix::poll::readable(self.main_control.0.as_raw_fd())];
        if let Some((r, _)) = &self.log_control {
            fds.push(unix::poll::readable(r.as_raw_fd()));
        }
        fds.extend(self.io.ready_fds().map(unix::poll::readable));
        fds.extend(self.io.notify_fd().map(unix::poll::readable));
        let want_client = self.machine.wants_connection();
        if want_client {
            fds.extend(self.io.listen_fds().map(unix::poll::readable));
        }
        fds.extend(self.io.deps.fd().map(unix::poll::readable));
        self.io.contain_fds(&mut fds);
        let mut deadline = [self.machine.deadline(), self.io.deps.deadline()].into_iter().flatten().min();
        if self.io.needs_recheck() {
            // Old kernels: no pidfd tells when an orphan ends.
            let soon = std::time::Instant::now() + ORPHAN_RECHECK;
            deadline = Some(deadline.map_or(soon, |d| d.min(soon)));
        }
        // Poll errors (EINVAL, ENOMEM) are transient at worst: the loop
        // simply goes round again.
        let _ = unix::poll::poll_until(&mut fds, deadline);
        want_client
    }

    /// Turns what the poll found into events for the step table.
    #[inline(never)]
    fn dispatch(&mut self, want_client: bool) {
        let sigterm = self.signals.drain().contains(&libc::SIGTERM);
        while let Some((pid, st)) = unix::proc::reap_one() {
            if let Some(kind) = self.machine.slot_of(pid) {
                self.step(Event::Exited(kind, st));
            }
        }
        for kind in [Kind::Main, Kind::Log] {
            if self.io.read_ready_pipe(kind) {
                self.step(Event::ReadyLine(kind));
            }
        }
        while let Some((sender, m)) = self.io.read_notify() {
            let status = m.status.is_some();
            self.step(Event::Notify { sender, ready: m.ready, stopping: m.stopping, status });
        }
        if want_client && self.io.connection_pending() {
            self.step(Event::ConnectionPending);
        }
        let (main_poked, main_byte) = read_control(&self.main_control.0);
        let (log_poked, log_byte) = self.log_control.as_ref().map_or((false, None), |(r, _)| read_control(r));
        // A dependency's (or dependent's) runsv says its state changed:
        // read the dependencies as an inotify event would.
        if self.io.deps.due(std::time::Instant::now()) || main_poked || log_poked {
            for ev in self.io.deps.refresh() {
                self.step(ev);
            }
        }
        for (kind, byte) in [(Kind::Main, main_byte), (Kind::Log, log_byte)] {
            if let Some(c) = byte {
                self.step(Event::Control(kind, c));
            }
        }
        if sigterm {
            self.step(Event::Terminate);
        }
        let draining: Vec<Kind> = self.machine.draining().collect();
        for ev in self.io.contain_events(&draining) {
            self.step(ev);
        }
    }

    fn step(&mut self, ev: Event) -> Flow {
        let flow = self.machine.step(ev, Now::read(), &mut self.io);
        self.io.deps.announce();
        flow
    }
}

/// The start-up sequence (man/runsv.8): any failure is fatal (exit 111).
/// Out of line, and the result boxed, so that neither its locals nor the
/// (large) `Runsv` are part of `main`'s frame, which lies under every later
/// call for runsv's life.
#[inline(never)]
fn start(dir: &[u8], label: Label) -> Result<Box<Runsv>, Fatal> {
    let fatal = |what: &[&[u8]], e: Option<&std::io::Error>| label.fatal_error(exit::FATAL, what, e);

    let signals = unix::selfpipe::SelfPipe::new(&io::CAUGHT_SIGNALS)
        .map_err(|e| fatal(&[b"unable to create selfpipe"], Some(&e)))?;
    let start_dir = File::open(".").ok();
    // Dependency names are entries of the directory runsv starts in.
    let scan_dir = std::env::current_dir().ok();
    std::env::set_current_dir(Path::new(std::ffi::OsStr::from_bytes(dir)))
        .map_err(|e| fatal(&[b"unable to change to directory"], Some(&e)))?;

    let main_want = if fs::metadata(supervise::layout::DOWN).is_ok() { Want::Down } else { Want::Up };

    let mut log_pipe = None;
    let mut log_want = Want::Up;
    match fs::metadata(supervise::layout::LOG) {
        Err(e) if e.kind() == ErrorKind::NotFound => {}
        // runit's text has a doubled colon here; scripts may match it.
        Err(e) => label.warn_err(&[b"unable to stat() ./log: "], &e),
        Ok(m) if !m.is_dir() => label.warn(&[b"./log: not a directory."]),
        Ok(_) => {
            if fs::metadata("log/down").is_ok() {
                log_want = Want::Down;
            }
            log_pipe = Some(unix::fd::pipe_cloexec().map_err(|e| fatal(&[b"unable to create log pipe"], Some(&e)))?);
        }
    }
    let has_log = log_pipe.is_some();

    make_supervise_dir(Path::new("."), "supervise", &label)?;
    let mut locks = vec![open_lock("supervise/lock", false, &label)?];
    if has_log {
        make_supervise_dir(Path::new("log"), "log/supervise", &label)?;
        // runit waits for the log lock (a blocking flock), unlike the main one.
        locks.push(open_lock("log/supervise/lock", true, &label)?);
    }
    // A readiness record left by an earlier runsv describes a process that
    // is not ours; only a new newline on notification-fd makes it ready.
    let _ = supervise::extras::remove_ready(&SuperviseDir::main());
    if has_log {
        let _ = supervise::extras::remove_ready(&SuperviseDir::log());
    }

    if let Some(d) = start_dir {
        home::remember(d, dir);
    }
    // Status files are written through the supervise directories held
    // open, so they stay right if the service directory is replaced.
    let opened = |d: SuperviseDir| SlotFiles {
        sup: d.clone().opened().unwrap_or(d),
        ready_pipe: None,
        contain: Default::default(),
        start_pending: None,
    };

    let mut machine = Machine::new(main_want, has_log.then_some(log_want), Now::read());
    let main_control = open_control("supervise/control", &label)?;
    let log_control = if has_log { Some(open_control("log/supervise/control", &label)?) } else { None };
    // So is a status text or listen error of an earlier runsv's service.
    for record in [supervise::notify::STATUS_TEXT, supervise::listen::LISTEN_ERROR] {
        let _ = supervise::notify::remove_record(&SuperviseDir::main(), record);
    }
    let main = opened(SuperviseDir::main());
    let log = has_log.then(|| opened(SuperviseDir::log()));
    let deps = deps::DepsIo::new(label.clone(), scan_dir, dir, main.sup.clone(), log.as_ref().map(|l| l.sup.clone()));
    let mut io = SystemIo {
        label: label.clone(),
        sockets: io::Sockets::default(),
        log_pipe,
        main,
        log,
        deps,
        env: contain::Env::new(dir),
    };
    // Read before the first status write replaces the old runsv's.
    let (orphan_main, orphan_log) = io.find_orphans();
    machine.publish_all(&mut io);
    machine.orphans_found(orphan_main, orphan_log, Now::read(), &mut io);

    let mut ok = vec![open_ok("supervise/ok", &label)?];
    if has_log {
        ok.push(open_ok("log/supervise/ok", &label)?);
    }
    Ok(Box::new(Runsv { machine, io, signals, main_control, log_control, _ok: ok, _locks: locks }))
}

/// `mkdir NAME 0700`; if that fails and NAME is a symlink, create its
/// target (last component only; relative to the directory holding the link),
/// which is how distributions put `supervise/` on a tmpfs.
fn make_supervise_dir(parent: &Path, name: &str, label: &Label) -> Result<(), Fatal> {
    let builder = {
        let mut b = fs::DirBuilder::new();
        b.mode(0o700);
        b
    };
    if builder.create(name).is_ok() {
        return Ok(());
    }
    match fs::read_link(name) {
        Ok(target) => {
            if target.as_os_str().len() >= 256 {
                return Err(label.fatal_error(
                    exit::FATAL,
                    &[b"unable to readlink ./", name.as_bytes(), b": name too long"],
                    None,
                ));
            }
            let _ = builder.create(parent.join(target));
            Ok(())
        }
        Err(e) if matches!(e.raw_os_error(), Some(libc::ENOENT) | Some(libc::EINVAL)) => Ok(()),
        Err(e) => Err(label.fatal_error(exit::FATAL, &[b"unable to readlink ./", name.as_bytes()], Some(&e))),
    }
}

/// Opens `supervise/lock` (0600, append) and takes the exclusive lock.
/// Like the FIFOs below it is never opened through a symlink: in a
/// `supervise/` owned by someone else, a planted `lock` link would make a
/// root runsv create any file it names (runit follows it).
fn open_lock(path: &str, wait: bool, label: &Label) -> Result<File, Fatal> {
    let f = OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o600)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOFOLLOW)
        .open(path)
        .map_err(|e| label.fatal_error(exit::FATAL, &[b"unable to open ", path.as_bytes()], Some(&e)))?;
    unix::lock::lock_exclusive(f.as_raw_fd(), wait)
        .map_err(|e| label.fatal_error(exit::FATAL, &[b"unable to lock ", path.as_bytes()], Some(&e)))?;
    Ok(f)
}

/// Makes `control` (a FIFO, 0600) and opens it for reading (non-blocking)
/// and for writing, so runsv never sees end-of-file on it.
fn open_control(path: &str, label: &Label) -> Result<(File, File), Fatal> {
    let _ = unix::fifo::mkfifo(Path::new(path), 0o600);
    match fs::metadata(path) {
        Err(e) => return Err(label.fatal_error(exit::FATAL, &[b"unable to stat ", path.as_bytes()], Some(&e))),
        Ok(m) if !unix::fifo::is_fifo(&m) => {
            return Err(label.fatal_error(exit::FATAL, &[path.as_bytes(), b" exists but is not a fifo"], None))
        }
        Ok(_) => {}
    }
    let open = |read: bool| {
        OpenOptions::new()
            .read(read)
            .write(!read)
            .custom_flags(libc::O_NONBLOCK | libc::O_NOFOLLOW)
            .open(path)
            .map_err(|e| label.fatal_error(exit::FATAL, &[b"unable to open ", path.as_bytes()], Some(&e)))
    };
    Ok((open(true)?, open(false)?))
}

/// Makes `ok` (a FIFO, 0600) and holds it open for reading: clients that
/// can open it for writing know a runsv is alive.
fn open_ok(path: &str, label: &Label) -> Result<OwnedFd, Fatal> {
    let _ = unix::fifo::mkfifo(Path::new(path), 0o600);
    OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOFOLLOW)
        .open(path)
        .map(OwnedFd::from)
        .map_err(|e| label.fatal_error(exit::FATAL, &[b"unable to read ", path.as_bytes()], Some(&e)))
}
