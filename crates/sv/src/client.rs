//! One run of sv: sending letters, printing status, and the wait phase.
//!
//! The structure follows runit's sv closely because its output depends on
//! it: sv changes into each service directory and uses relative paths
//! (`supervise/ok`, `down`, `log`), keeps one 20-byte status buffer that a
//! short read only partly overwrites, and prints every line on stdout with
//! the same flush points (so `2>&1` transcripts interleave as runit's do).

use crate::checkscript;
use crate::json;
use crate::render::status_text;
use crate::watch;
use std::ffi::OsStr;
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::time::{Duration, Instant};
use supervise::control::{self, FifoError};
use supervise::layout::{self, SuperviseDir};
use supervise::status::{self as record, ReadError, Status, STATUS_LEN};
use unix::errtext;
use unix::inotify::{Inotify, Mask, Watch};
use unix::procstat::Activity;
use unix::tai64n::Tai64n;

/// How often pending services are re-evaluated when one of them has a
/// `./check` script or no inotify watch: inotify cannot see a script's
/// answer change.
pub const FALLBACK: Duration = Duration::from_millis(100);

/// How often they are re-evaluated otherwise, as a safety net under the
/// inotify events (runit's own interval, so never slower than runit).
pub const SAFETY_NET: Duration = Duration::from_millis(420);

/// runit's sv checks at 0 s and then every 420 ms, so it never reports a
/// timeout earlier than this (not even with `-w 0`); neither does this one.
pub const FIRST_TIMEOUT: Duration = Duration::from_millis(420);

/// How long to wait for runsv to answer letters before checking anyway:
/// longer than the second runsv pauses after a service exited quickly.
pub const ACK_PATIENCE: Duration = Duration::from_millis(1200);

/// How long a process must have been in state run before a wait reports
/// it up without more evidence (see [`Client::up_settled`]): far longer
/// than a crashing `./run` lives before runsv records its exit, and still
/// well before runit's first 420 ms re-check. A process seen waiting in
/// the kernel is reported up at once.
pub const UP_SETTLE: Duration = Duration::from_millis(150);

/// How often a starting process is looked at again until it waits or
/// [`UP_SETTLE`] has passed.
pub const SETTLE_POLL: Duration = Duration::from_millis(3);

/// A record in state run as the wait phase first read it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Seen {
    pid: u32,
    stamp: Tai64n,
    at: Instant,
}

/// How long before `now` the state of a record with `stamp` began (zero
/// for a stamp in the future).
fn up_for(stamp: Tai64n, now: Tai64n) -> Duration {
    let ns = |t: Tai64n| u128::from(t.secs) * 1_000_000_000 + u128::from(t.nanos);
    let d = ns(now).saturating_sub(ns(stamp));
    Duration::from_nanos(d.min(u128::from(u64::MAX)) as u64)
}

/// The instant at which a wait of `wait` seconds started at `started` times
/// out: runit checks every 420 ms and reports a timeout at the first check
/// at which more than `wait` seconds have passed, so at the first multiple
/// of 420 ms beyond the limit (420 ms for `-w 0`, 2.1 s for `-w 2`).
/// `None` when that lies beyond what an `Instant` can hold.
pub fn timeout_at(started: Instant, wait: u64) -> Option<Instant> {
    let ticks = wait.saturating_mul(1000) / FIRST_TIMEOUT.as_millis() as u64 + 1;
    started.checked_add(FIRST_TIMEOUT.checked_mul(u32::try_from(ticks).ok()?)?)
}

/// Exit codes (man/sv.8, EXIT STATUS and LSB MODE). Otherwise sv exits
/// with the number of failures, at most [`code::MAX_COUNT`].
pub mod code {
    pub const USAGE: i32 = 100;
    pub const FATAL: i32 = 100;
    pub const LSB_USAGE: i32 = 2;
    pub const LSB_FATAL: i32 = 151;
    /// LSB `status`: the service has a process (run or finish).
    pub const LSB_RUNNING: i32 = 0;
    /// LSB `status`: no process.
    pub const LSB_NOT_RUNNING: i32 = 3;
    /// LSB `status`: the state could not be read.
    pub const LSB_UNKNOWN: i32 = 4;
    /// Failures are counted up to this.
    pub const MAX_COUNT: u32 = 99;
}

/// Why sv stops early: what `main` prints on stderr and the exit code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SvError {
    /// A bad invocation (unknown option or command, no service) or `-V`:
    /// `before` (getopt's line, the version) and then the usage.
    Usage { before: Vec<u8>, progname: Vec<u8>, lsb: bool },
    /// `fatal: WHAT: ERR`.
    Fatal { text: Vec<u8>, lsb: bool },
}

impl SvError {
    /// `fatal: WHAT: ERR` and the exit code of the mode.
    pub fn fatal(what: &[u8], e: &io::Error, lsb: bool) -> SvError {
        let text = [&b"fatal: "[..], what, b": ", errtext::io_text(e).as_bytes(), b"\n"].concat();
        SvError::Fatal { text, lsb }
    }
}

impl unix::msg::ProgramError for SvError {
    fn exit_code(&self) -> i32 {
        match self {
            SvError::Usage { lsb: false, .. } => code::USAGE,
            SvError::Usage { lsb: true, .. } => code::LSB_USAGE,
            SvError::Fatal { lsb: false, .. } => code::FATAL,
            SvError::Fatal { lsb: true, .. } => code::LSB_FATAL,
        }
    }

    fn message(&self) -> Vec<u8> {
        match self {
            SvError::Usage { before, progname, lsb } => {
                let synopsis: &[u8] = if *lsb { b"[-w sec] command" } else { b"[-v] [-w sec] command service ..." };
                [&before[..], &unix::msg::usage_text(progname, synopsis)].concat()
            }
            SvError::Fatal { text, .. } => text.clone(),
        }
    }
}

/// State shared by all services of one invocation.
pub struct Client {
    pub lsb: bool,
    /// The command's letters; `x` as the first one turns "runsv not
    /// running" into an `ok:` line.
    pub acts: Vec<u8>,
    /// `fail:`/`warning:` lines and timeouts so far.
    pub rc: u32,
    /// sv's start, as a TAI64 seconds label, and as a monotonic instant.
    pub tstart: u64,
    pub started: Instant,
    /// The clock used for the seconds field: `tstart` until the wait phase
    /// re-reads it.
    pub tnow: u64,
    /// The service currently worked on, exactly as typed.
    pub name: Vec<u8>,
    /// Messages are about `NAME/log`.
    islog: bool,
    /// The last record read: one buffer for a service and its log
    /// service, which a short read only partly overwrites (as runit's).
    buf: [u8; STATUS_LEN],
    rec: Status,
    out: Vec<u8>,
    curdir: File,
    /// The current directory is not `curdir` any more.
    away: bool,
    /// `$SVDIR`, where bare names are looked up.
    svdir_fd: Result<OwnedFd, i32>,
    /// inotify, when the command waits and the system has it.
    watcher: Option<Inotify>,
    /// `-j` with `status`: one JSON object per service, errors included.
    pub json: bool,
}

/// A service the wait phase still has to see reach its state.
#[derive(Debug)]
pub struct Pending {
    /// As typed.
    pub name: Vec<u8>,
    /// Its `supervise/` watch.
    pub wd: Option<Watch>,
    /// Letters were written that runsv answers with a new `status`, and
    /// that answer has not been seen yet.
    pub unacked: bool,
    /// Until when to wait for that answer before looking anyway.
    ack_by: Instant,
    /// Needs re-checking every [`FALLBACK`] (no watch, or a `./check`).
    polled: bool,
    /// The run record being watched for [`UP_SETTLE`], and when to look
    /// at it again.
    seen: Option<Seen>,
    settle_at: Option<Instant>,
    dirty: bool,
    done: bool,
}

impl Pending {
    /// `patience`: how long runsv may take to answer the letters just
    /// sent (see [`Client::answer_patience`]); `None` if no answer is due.
    pub fn new(name: Vec<u8>, wd: Option<Watch>, patience: Option<Duration>) -> Pending {
        let unacked = wd.is_some() && patience.is_some();
        let ack_by = Instant::now() + patience.unwrap_or_default();
        Pending { name, wd, unacked, ack_by, polled: true, seen: None, settle_at: None, dirty: false, done: false }
    }
}

fn chdir(p: &[u8]) -> io::Result<()> {
    std::env::set_current_dir(OsStr::from_bytes(p))
}

fn fchdir(fd: impl AsFd) -> io::Result<()> {
    Ok(nix::unistd::fchdir(fd)?)
}

/// `$SVDIR` opened for `fchdir` (searching it is checked then, as `chdir`
/// would), or the errno `chdir($SVDIR)` would fail with.
fn open_svdir(svdir: &[u8]) -> Result<OwnedFd, i32> {
    use nix::fcntl::OFlag;
    let flags = OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC;
    nix::fcntl::open(OsStr::from_bytes(svdir), flags, nix::sys::stat::Mode::empty()).map_err(|e| e as i32)
}

/// Whether the service in the current directory reports readiness
/// (`notification-fd`, or `notify-socket` for a main service: runsv has
/// no notify socket for a log service), so that `supervise/ready` counts.
fn reports_readiness(main: bool) -> bool {
    stat_errno(supervise::extras::NOTIFICATION_FD).is_none()
        || (main && stat_errno(supervise::notify::NOTIFY_SOCKET).is_none())
}

/// The `-j` fields of `listen`, `flag-on-demand` and `notify-socket`, for a
/// main service that has any of them.
fn sockets_report(rec: &Status) -> Option<json::Sockets> {
    use supervise::{listen, notify, SuperviseDir};
    let listen = stat_errno(listen::LISTEN).is_none();
    let notify = stat_errno(notify::NOTIFY_SOCKET).is_none();
    if !listen && !notify {
        return None;
    }
    let sup = SuperviseDir::main();
    let listen_error = listen.then(|| notify::read_record(&sup, listen::LISTEN_ERROR)).flatten();
    let on_demand = listen && stat_errno(listen::FLAG_ON_DEMAND).is_none();
    Some(json::Sockets {
        listen,
        waiting: on_demand && listen_error.is_none() && rec.state == 0 && rec.want == b'u',
        listen_error: listen_error.map(|t| t.strip_suffix(b"\n").map(<[u8]>::to_vec).unwrap_or(t)),
        on_demand,
        notify,
        notify_status: notify.then(|| notify::read_record(&sup, notify::STATUS_TEXT)).flatten(),
    })
}

/// `stat(path)`: `None` if it exists, else the errno.
fn stat_errno(path: &str) -> Option<i32> {
    nix::sys::stat::stat(path).err().map(|e| e as i32)
}

/// `chdir("log")`, into the log service of the current directory.
fn chdir_log() -> io::Result<()> {
    Ok(nix::unistd::chdir(layout::LOG)?)
}

impl Client {
    pub fn new(
        lsb: bool,
        svdir: &[u8],
        acts: Vec<u8>,
        tstart: u64,
        started: Instant,
        curdir: File,
        watch: bool,
    ) -> Client {
        Client {
            lsb,
            acts,
            rc: 0,
            tstart,
            started,
            tnow: tstart,
            name: Vec::new(),
            islog: false,
            buf: [0; STATUS_LEN],
            rec: Status::from_record(&[0; STATUS_LEN]),
            out: Vec::new(),
            svdir_fd: open_svdir(svdir),
            curdir,
            away: false,
            watcher: if watch { Inotify::new().ok() } else { None },
            json: false,
        }
    }

    /// The exit code for the failures counted so far.
    pub fn exit_code(&self) -> i32 {
        self.rc.min(code::MAX_COUNT) as i32
    }

    fn flush(&mut self) {
        if !self.out.is_empty() {
            unix::msg::write_all_fd(1, &self.out);
            self.out.clear();
        }
    }

    fn puts(&mut self, s: &[u8]) {
        self.out.extend_from_slice(s);
    }

    /// `PREFIX NAME[/log]: WHAT[: ERR]` and a newline, flushed (runit's `out`).
    fn out_line(&mut self, prefix: &[u8], what: &[u8], e: Option<&io::Error>) {
        if self.json {
            let mut text = what.to_vec();
            if let Some(e) = e {
                text.extend_from_slice(b": ");
                text.extend_from_slice(errtext::io_text(e).as_bytes());
            }
            let mut name = self.name.clone();
            if self.islog {
                name.extend_from_slice(b"/log");
            }
            let mut o = json::Object::new(&mut self.out);
            o.name(&name);
            o.str(if prefix == b"ok: " { "ok" } else { "error" }, &text);
            o.end();
            self.out.push(b'\n');
            self.flush();
            return;
        }
        self.out.extend_from_slice(prefix);
        self.out.extend_from_slice(&self.name);
        if self.islog {
            self.out.extend_from_slice(b"/log");
        }
        self.out.extend_from_slice(b": ");
        self.out.extend_from_slice(what);
        if let Some(e) = e {
            self.out.extend_from_slice(b": ");
            self.out.extend_from_slice(errtext::io_text(e).as_bytes());
        }
        self.out.push(b'\n');
        self.flush();
    }

    fn fail(&mut self, what: &[u8], e: Option<&io::Error>) {
        self.rc += 1;
        self.out_line(b"fail: ", what, e);
    }

    fn warn(&mut self, what: &[u8], e: Option<&io::Error>) {
        self.rc += 1;
        self.out_line(b"warning: ", what, e);
    }

    fn ok(&mut self, what: &[u8]) {
        self.out_line(b"ok: ", what, None);
    }

    fn not_running(&mut self, exit_letter: bool) {
        if exit_letter {
            self.ok(b"runsv not running");
        } else {
            self.fail(b"runsv not running", None);
        }
    }

    /// Changes into the service directory of the current name. Bare names
    /// (not starting with `/` or `.`) are looked up in `$SVDIR`; in the
    /// first phase an empty name or one ending in `/` is taken as a path,
    /// in the wait phase it is not (runit's quirk).
    ///
    /// runit returns to the original directory after every service and
    /// changes to `$SVDIR` by name for every bare one. Here `$SVDIR` was
    /// opened once at the start (so a relative `$SVDIR` still means the
    /// same directory) and the original directory is only restored before
    /// a name that is a path: same directories and error words, fewer
    /// system calls over a thousand services.
    /// Ok(false) after a `fail:` line; an error when sv cannot return to
    /// its original directory.
    pub fn enter(&mut self, wait_phase: bool) -> Result<bool, SvError> {
        let n = &self.name;
        let bare =
            !n.starts_with(b"/") && !n.starts_with(b".") && (wait_phase || (!n.is_empty() && !n.ends_with(b"/")));
        let r = if bare {
            self.away = true;
            match &self.svdir_fd {
                Ok(fd) => fchdir(fd),
                Err(errno) => Err(io::Error::from_raw_os_error(*errno)),
            }
            .and_then(|_| chdir(&self.name))
        } else {
            self.home()?;
            self.away = true;
            chdir(&self.name)
        };
        match r {
            Ok(()) => Ok(true),
            Err(e) => {
                self.fail(b"unable to change to service directory", Some(&e));
                Ok(false)
            }
        }
    }

    /// Back to the directory sv started in, if not there.
    fn home(&mut self) -> Result<(), SvError> {
        if !self.away {
            return Ok(());
        }
        if let Err(e) = fchdir(&self.curdir) {
            return Err(SvError::fatal(b"unable to change to original directory", &e, self.lsb));
        }
        self.away = false;
        Ok(())
    }

    /// Reads the status record of the current directory's service: 1 when
    /// read, 0 when runsv is not running (line printed), -1 on any other
    /// problem (warning printed).
    fn svstatus_get(&mut self) -> i32 {
        let dir = SuperviseDir::main();
        match control::probe_ok(&dir.file(layout::OK)) {
            Ok(()) => {}
            Err(FifoError::NotRunning) => {
                self.not_running(self.acts.first() == Some(&b'x'));
                return 0;
            }
            Err(FifoError::Open(e)) | Err(FifoError::Write(Some(e))) => {
                self.warn(&[&b"unable to open "[..], &dir.name(layout::OK)].concat(), Some(&e));
                return -1;
            }
            Err(FifoError::Write(None)) => {
                self.warn(&[&b"unable to open "[..], &dir.name(layout::OK)].concat(), None);
                return -1;
            }
        }
        let r = record::read_record(&dir.file(layout::STATUS), &mut self.buf);
        // Even a short read changed the buffer the log part is printed from.
        self.rec = Status::from_record(&self.buf);
        let status = dir.name(layout::STATUS);
        match r {
            Ok(_) => 1,
            Err(ReadError::Open(e)) => {
                self.warn(&[&b"unable to open "[..], &status].concat(), Some(&e));
                -1
            }
            Err(ReadError::BadFormat) => {
                self.warn(&[&b"unable to read "[..], &status, b": bad format"].concat(), None);
                -1
            }
            Err(ReadError::Read(e)) => {
                self.warn(&[&b"unable to read "[..], &status].concat(), Some(&e));
                -1
            }
        }
    }

    /// Appends the status text of the record to the line being built.
    /// Returns 1 (pid), 2 (no pid), or 0 when `down` could not be examined
    /// (warning on stderr, nothing appended).
    fn svstatus_print(&mut self, label: &[u8]) -> u32 {
        let normally_up = match stat_errno(layout::DOWN) {
            None => false,
            Some(libc::ENOENT) => true,
            Some(e) => {
                unix::msg::line(&[b"warning: unable to stat ", &self.name, b"/down: ", errtext::text(e).as_bytes()]);
                return 0;
            }
        };
        status_text(&mut self.out, &self.rec, label, normally_up, self.tnow)
    }

    /// Whether the current directory's service, running as `pid`, counts
    /// as ready: always without `notification-fd` or `notify-socket`; with one, once runsv
    /// recorded the readiness of that very process in `supervise/ready`.
    fn ready_for(&self, pid: u32) -> bool {
        if !reports_readiness(true) {
            return true;
        }
        matches!(supervise::extras::read_ready(&supervise::SuperviseDir::main()), Ok(Some(r)) if r.pid == pid)
    }

    /// The fields of `-j` for the service (or log service) in the current
    /// directory, or the error text.
    fn json_report(&self, main: bool) -> Result<json::Report, Vec<u8>> {
        let with = |what: &[u8], e: &io::Error| [what, b": ", errtext::io_text(e).as_bytes()].concat();
        let dir = SuperviseDir::main();
        let ok = [b"unable to open ", &dir.name(layout::OK)[..]].concat();
        match control::probe_ok(&dir.file(layout::OK)) {
            Ok(()) => {}
            Err(FifoError::NotRunning) => return Err(b"runsv not running".to_vec()),
            Err(FifoError::Open(e)) | Err(FifoError::Write(Some(e))) => return Err(with(&ok, &e)),
            Err(FifoError::Write(None)) => return Err(ok),
        }
        let status = dir.name(layout::STATUS);
        let rec = match record::read_status(&dir.file(layout::STATUS)) {
            Ok(rec) => rec,
            Err(ReadError::Open(e)) | Err(ReadError::Read(e)) => {
                return Err(with(&[b"unable to read ", &status[..]].concat(), &e))
            }
            Err(ReadError::BadFormat) => return Err([b"unable to read ", &status[..], b": bad format"].concat()),
        };
        let normally_up = match stat_errno(layout::DOWN) {
            None => Some(false),
            Some(libc::ENOENT) => Some(true),
            Some(_) => None,
        };
        let ready = if !reports_readiness(main) {
            None
        } else {
            match supervise::extras::read_ready(&supervise::SuperviseDir::main()) {
                Ok(Some(r)) if r.pid == rec.pid && rec.state == 1 => {
                    Some(Some((self.tnow.saturating_sub(r.stamp.secs), r.stamp)))
                }
                _ => Some(None),
            }
        };
        Ok(json::Report {
            state: rec.state,
            pid: rec.pid,
            seconds: self.tnow.saturating_sub(rec.stamp.secs),
            want: rec.want,
            paused: rec.paused != 0,
            term: rec.term != 0,
            normally_up,
            ready,
            sockets: if main { sockets_report(&rec) } else { None },
            waiting: supervise::depends::read_waiting(&dir).ok().flatten(),
            oneshot: if stat_errno(supervise::depends::ONESHOT).is_none() {
                supervise::depends::read_oneshot(&dir).ok().flatten().map(|r| r.outcome)
            } else {
                None
            },
            cgroup: contained(rec.pid, rec.state),
        })
    }

    /// `sv -j status`: one line of JSON for the current service and its
    /// log service (`"log":null` without one). Errors are counted like
    /// the text form's `fail:`/`warning:` lines.
    pub fn status_json(&mut self) {
        let mut out = Vec::new();
        let mut o = json::Object::new(&mut out);
        o.name(&self.name);
        let mut errors = 0;
        match self.json_report(true) {
            Err(text) => {
                errors += 1;
                o.str("error", &text);
            }
            Ok(r) => {
                r.fields(&mut o);
                match chdir_log() {
                    Err(e) if e.raw_os_error() == Some(libc::ENOENT) => o.null("log"),
                    Err(e) => {
                        errors += 1;
                        let mut inner = json::Object::new(o.raw("log"));
                        inner
                            .str("error", &[b"unable to change directory: ", errtext::io_text(&e).as_bytes()].concat());
                        inner.end();
                    }
                    Ok(()) => {
                        self.away = true;
                        let log = self.json_report(false);
                        let mut inner = json::Object::new(o.raw("log"));
                        match log {
                            Ok(r) => r.fields(&mut inner),
                            Err(text) => {
                                errors += 1;
                                inner.str("error", &text);
                            }
                        }
                        inner.end();
                    }
                }
            }
        }
        o.end();
        out.push(b'\n');
        self.rc += errors;
        self.out.extend_from_slice(&out);
        self.flush();
    }

    /// The `status` command for the current service. In LSB mode, the
    /// exit code it determines (runit's sv exits right there).
    pub fn status(&mut self) -> Option<i32> {
        match self.svstatus_get() {
            -1 if self.lsb => return Some(code::LSB_UNKNOWN),
            -1 | 0 => return None,
            _ => {}
        }
        let name = self.name.clone();
        let rc = self.svstatus_print(&name);
        self.islog = true;
        match chdir_log() {
            Err(e) if e.raw_os_error() != Some(libc::ENOENT) => {
                self.puts(b"; ");
                self.warn(b"unable to change directory", Some(&e));
            }
            Err(_) => self.puts(b"\n"),
            Ok(()) => {
                self.puts(b"; ");
                if self.svstatus_get() != 0 {
                    self.svstatus_print(b"log");
                    self.puts(b"\n");
                }
            }
        }
        self.islog = false;
        self.flush();
        self.lsb.then_some(match rc {
            1 => code::LSB_RUNNING,
            2 => code::LSB_NOT_RUNNING,
            _ => code::LSB_UNKNOWN,
        })
    }

    /// Writes `letters` to the current service: 1 sent, 0 suppressed
    /// (the same letter as the wanted state is not resent, as in runit), -1 failed (line printed).
    pub fn control(&mut self, letters: &[u8]) -> i32 {
        if self.svstatus_get() <= 0 {
            return -1;
        }
        let first = letters.first().copied().unwrap_or(0);
        // `u` is how runsv learns of an edited `listen` (or a fixed one
        // that held the service down): sent even when already wanted up.
        let reread_listen = first == b'u' && stat_errno(supervise::listen::LISTEN).is_none();
        if self.rec.want == first && !reread_listen && (first != b'd' || self.rec.term == 1) {
            return 0;
        }
        let dir = SuperviseDir::main();
        match control::send(&dir.file(layout::CONTROL), letters) {
            Ok(()) => 1,
            Err(FifoError::NotRunning) => {
                self.not_running(first == b'x');
                -1
            }
            Err(FifoError::Open(e)) => {
                self.warn(&[b"unable to open ", &dir.name(layout::CONTROL)[..]].concat(), Some(&e));
                -1
            }
            Err(FifoError::Write(e)) => {
                self.warn(&[b"unable to write to ", &dir.name(layout::CONTROL)[..]].concat(), e.as_ref());
                -1
            }
        }
    }

    /// Whether the process of `rec` (in state run) passes `./check` (when
    /// `script`) and is really up: `/proc` shows it waiting in the kernel
    /// (a daemon waiting for work; a crashing `./run` never gets there, it
    /// runs and ends), or it has stayed up for [`UP_SETTLE`]: runsv's record
    /// says it has been running that long, or sv read this very record
    /// (same pid, same stamp) that long ago, and again now. `seen`
    /// remembers the record and when it was first read; `./check` runs
    /// again only for a new record, so that a script is run once per
    /// round, as in runit.
    fn up_settled(&self, rec: &Status, seen: &mut Option<Seen>, script: bool) -> bool {
        let known = seen.filter(|s| s.pid == rec.pid && s.stamp == rec.stamp);
        if script && known.is_none() && !checkscript::passes(&self.name) {
            return false;
        }
        if up_for(rec.stamp, Tai64n::now()) >= UP_SETTLE {
            return true;
        }
        // An ended process is left to the time rule too: runsv's next
        // record says it ended long before that (and a pid from another
        // pid namespace looks the same from here).
        if unix::procstat::activity(rec.pid as libc::pid_t, rec.stamp.unix_secs()) == Activity::Waiting {
            return true;
        }
        match known {
            Some(s) => s.at.elapsed() >= UP_SETTLE,
            None => {
                *seen = Some(Seen { pid: rec.pid, stamp: rec.stamp, at: Instant::now() });
                false
            }
        }
    }

    /// Evaluates the check letters (man/sv.8, WAITING) for the current
    /// service: 1 reached (`ok:` printed, or runsv gone for `x`), 0 not
    /// yet, -1 dropped (line printed).
    ///
    /// runit's conditions, plus one: a check that passes because a process
    /// is running (`u`, `t`, `k`, and `o` with a pid) also needs that
    /// process to have stayed up briefly ([`Client::up_settled`]). runit samples every 420 ms and
    /// so rarely reads the few milliseconds a crashing `./run` spends in
    /// state run; the inotify wait reads every record runsv writes, and
    /// would report `ok` for each start of a crash loop.
    pub fn check(&mut self, letters: &[u8], seen: &mut Option<Seen>) -> i32 {
        let r = self.svstatus_get();
        if r == -1 {
            return -1;
        }
        for &letter in letters {
            if r == 0 {
                return if letter == b'x' { 1 } else { -1 };
            }
            let rec = self.rec;
            let c = match letter {
                b'C' if rec.want == b'd' => b'd',
                b'C' => b'u',
                c => c,
            };
            let pid = rec.pid;
            let pass = match c {
                b'x' => false,
                b'u' => pid != 0 && rec.state == 1 && self.ready_for(pid) && self.up_settled(&rec, seen, true),
                b'd' => pid == 0 && rec.state == 0,
                b't' | b'k' => {
                    (pid == 0 && rec.want == b'd')
                        || (self.tstart <= rec.stamp.secs
                            && pid != 0
                            && rec.term == 0
                            && self.ready_for(pid)
                            && self.up_settled(&rec, seen, true))
                }
                // runit: fails if (no pid and stamp before sv's start) or
                // (a pid and want not down).
                b'o' if pid == 0 => self.tstart <= rec.stamp.secs,
                b'o' => rec.want == b'd' && self.up_settled(&rec, seen, false),
                b'p' => !(pid != 0 && rec.paused == 0),
                b'c' => !(pid != 0 && rec.paused != 0),
                _ => true,
            };
            if !pass {
                return 0;
            }
        }
        self.puts(b"ok: ");
        let name = self.name.clone();
        self.svstatus_print(&name);
        self.puts(b"\n");
        self.flush();
        1
    }

    /// After [`Client::control`] sent `letters`: how long runsv may take to
    /// answer them with a new `status`. It rewrites `status` on every
    /// `d u x o p c` (at the latest after its one-second pause following a
    /// quick exit); a lone `t` is answered only when a process runs (and
    /// no `control/t` script vetoes it); other letters are never answered.
    pub fn answer_patience(&self, letters: &[u8]) -> Option<Duration> {
        if letters.iter().any(|c| b"duxopc".contains(c)) {
            Some(ACK_PATIENCE)
        } else if letters.first() == Some(&b't') && self.rec.state == 1 {
            Some(FALLBACK)
        } else {
            None
        }
    }

    /// The wait deadline passed: `timeout:` or `kill:` with the current
    /// status, then `k` for the kill forms.
    pub fn time_out(&mut self, kill: bool) {
        self.puts(if kill { b"kill: " } else { b"timeout: " });
        if self.svstatus_get() > 0 {
            let name = self.name.clone();
            self.svstatus_print(&name);
            self.rc += 1;
        }
        self.puts(b"\n");
        self.flush();
        if kill {
            self.control(b"k");
        }
    }

    /// Starts watching `supervise/` of the current directory's service
    /// (before anything is sent, so that runsv's answer cannot be missed).
    pub fn watch_here(&self) -> Option<Watch> {
        let w = self.watcher.as_ref()?;
        w.add_watch(SuperviseDir::main().path(), watch::MASK).ok()
    }

    /// The wait phase over the services still pending after the first one.
    ///
    /// runit re-checks everything every 420 ms. Here each pending service's
    /// `supervise/` is watched with inotify and re-checked as soon as it
    /// changes, everything is re-checked every [`FALLBACK`] (every
    /// [`SAFETY_NET`] when all are watched and have no `./check`), and the
    /// timeout is reported when runit's would be: at its first 420 ms tick
    /// beyond `wait` seconds ([`timeout_at`]), never on the first round.
    /// A run record that has not [`Client::up_settled`] yet is looked at again
    /// when it has.
    ///
    /// A service that was just sent letters runsv acknowledges by
    /// rewriting `status` is first checked once that happened, not before:
    /// runit's first check can read the record from before the command and
    /// report, e.g., a restart as done with the old pid. Without an
    /// answer the check happens anyway when the patience runs out (see
    /// [`Client::answer_patience`]), at the timeout, or when runsv exits.
    pub fn wait_phase(&mut self, mut pending: Vec<Pending>, kill: bool, wait: u64) -> Result<(), SvError> {
        let letters = self.acts.clone();
        let deadline = timeout_at(self.started, wait);
        let mut first = true;
        let mut last_full = Instant::now();
        self.collect_events(&mut pending, None);
        loop {
            if !first {
                self.tnow = Tai64n::now().secs;
            }
            let timed_out = !first && deadline.is_some_and(|d| Instant::now() >= d);
            let interval = if pending.iter().any(|p| p.polled) { FALLBACK } else { SAFETY_NET };
            let full = first || timed_out || last_full.elapsed() >= interval;
            if full {
                last_full = Instant::now();
            }
            first = false;
            let now = Instant::now();
            for p in pending.iter_mut() {
                // No answer in time: look anyway.
                let given_up = p.unacked && p.ack_by <= now;
                let settle_due = p.settle_at.is_some_and(|t| t <= now);
                if !(p.dirty || timed_out || given_up || settle_due || (full && !p.unacked)) {
                    continue;
                }
                p.dirty = false;
                p.settle_at = None;
                p.unacked = false;
                self.name.clone_from(&p.name);
                if !self.enter(true)? {
                    p.done = true;
                    continue;
                }
                if p.wd.is_none() {
                    p.wd = self.watch_here();
                }
                p.polled = p.wd.is_none() || stat_errno(layout::CHECK).is_none();
                if self.check(&letters, &mut p.seen) != 0 {
                    p.done = true;
                } else if timed_out {
                    self.time_out(kill);
                    p.done = true;
                } else {
                    // Look again soon: it may be waiting by then.
                    let now = Instant::now();
                    p.settle_at = p.seen.map(|s| (s.at + UP_SETTLE).min(now + SETTLE_POLL)).filter(|t| *t > now);
                }
            }
            pending.retain(|p| !p.done);
            if pending.is_empty() {
                return Ok(());
            }
            let interval = if pending.iter().any(|p| p.polled) { FALLBACK } else { SAFETY_NET };
            let mut next = last_full + interval;
            if let Some(d) = deadline {
                next = next.min(d);
            }
            if let Some(a) = pending.iter().filter(|p| p.unacked).map(|p| p.ack_by).min() {
                next = next.min(a);
            }
            if let Some(t) = pending.iter().filter_map(|p| p.settle_at).min() {
                next = next.min(t);
            }
            self.collect_events(&mut pending, Some(next));
        }
    }

    /// Waits for inotify events until `until` (just reads what is queued
    /// when `None`) and marks the services they concern.
    fn collect_events(&self, pending: &mut [Pending], until: Option<Instant>) {
        let Some(w) = &self.watcher else {
            if let Some(t) = until {
                std::thread::sleep(t.saturating_duration_since(Instant::now()));
            }
            return;
        };
        if let Some(t) = until {
            let mut fds = [unix::poll::readable(w.fd())];
            if unix::poll::poll_until(&mut fds, Some(t)).is_err() {
                std::thread::sleep(t.saturating_duration_since(Instant::now()));
            }
        }
        // A broken instance only costs speed: the fallback re-checks go on.
        let events = w.read().unwrap_or_default();
        for ev in events.iter().filter(|ev| watch::relevant(ev)) {
            let everyone = ev.overflow();
            for p in pending.iter_mut().filter(|p| everyone || p.wd == Some(ev.wd)) {
                p.dirty = true;
                if ev.mask.contains(Mask::IN_IGNORED) {
                    p.wd = None;
                }
            }
        }
    }
}

/// The cgroup of the running `./run` per `supervise/start` (docs/EXTENSIONS.md,
/// `cgroup/`), with its `memory.current` and `pids.current`.
fn contained(pid: u32, state: u8) -> Option<(Vec<u8>, Option<u64>, Option<u64>)> {
    let rec = supervise::start::read_start(&supervise::SuperviseDir::main()).ok()??;
    let path = rec.cgroup.filter(|_| rec.pid == pid && state != 0)?;
    let cg = unix::cgroup::Cgroup::existing(&path);
    Some((unix::path_bytes(&path).to_vec(), cg.read_u64("memory.current"), cg.read_u64("pids.current")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_fall_on_runits_420_ms_ticks() {
        let t = Instant::now();
        let at = |w| timeout_at(t, w).map(|d| d - t);
        assert_eq!(at(0), Some(Duration::from_millis(420)));
        assert_eq!(at(1), Some(Duration::from_millis(1260)));
        assert_eq!(at(2), Some(Duration::from_millis(2100)));
        assert_eq!(at(7), Some(Duration::from_millis(7140)));
        assert_eq!(at(u64::MAX), None);
    }

    #[test]
    fn up_time_comes_from_the_record_stamp_and_is_never_negative() {
        let now = Tai64n { secs: 1000, nanos: 100_000_000 };
        assert_eq!(up_for(Tai64n { secs: 999, nanos: 900_000_000 }, now), Duration::from_millis(200));
        assert_eq!(up_for(Tai64n { secs: 1100, nanos: 0 }, now), Duration::ZERO);
    }
}
