//! One run of sv: sending letters, printing status, and the wait phase.
//!
//! The structure follows runit's sv closely because its output depends on
//! it: sv changes into each service directory and uses relative paths
//! (`supervise/ok`, `down`, `log`), keeps one 20-byte status buffer that a
//! short read only partly overwrites, and prints every line on stdout with
//! the same flush points (so `2>&1` transcripts interleave as runit's do).

use crate::checkscript;
use crate::json;
use crate::render::{status_text, Record};
use crate::watch::{self, Watcher};
use std::ffi::{CStr, CString, OsStr};
use std::fs::File;
use std::io::{self, Read};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::time::{Duration, Instant};
use supervise::control::{self, FifoError};
use unix::errtext;

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

/// Exit codes outside the counted failures.
pub mod code {
    pub const USAGE: i32 = 100;
    pub const FATAL: i32 = 100;
    pub const LSB_USAGE: i32 = 2;
    pub const LSB_FATAL: i32 = 151;
    /// Failures are counted up to this.
    pub const MAX_COUNT: u32 = 99;
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
    rec: Record,
    out: Vec<u8>,
    curdir: File,
    /// The current directory is not `curdir` any more.
    away: bool,
    /// `$SVDIR`, where bare names are looked up.
    svdir_fd: Result<OwnedFd, i32>,
    /// inotify, when the command waits and the system has it.
    watcher: Option<Watcher>,
    /// `-j` with `status`: one JSON object per service, errors included.
    pub json: bool,
}

/// A service the wait phase still has to see reach its state.
#[derive(Debug)]
pub struct Pending {
    /// As typed.
    pub name: Vec<u8>,
    /// Its `supervise/` watch.
    pub wd: Option<i32>,
    /// Letters were written that runsv answers with a new `status`, and
    /// that answer has not been seen yet.
    pub unacked: bool,
    /// Until when to wait for that answer before looking anyway.
    ack_by: Instant,
    /// Needs re-checking every [`FALLBACK`] (no watch, or a `./check`).
    polled: bool,
    dirty: bool,
    done: bool,
}

impl Pending {
    /// `patience`: how long runsv may take to answer the letters just
    /// sent (see [`Client::answer_patience`]); `None` if no answer is due.
    pub fn new(name: Vec<u8>, wd: Option<i32>, patience: Option<Duration>) -> Pending {
        let unacked = wd.is_some() && patience.is_some();
        let ack_by = Instant::now() + patience.unwrap_or_default();
        Pending { name, wd, unacked, ack_by, polled: true, dirty: false, done: false }
    }
}

fn chdir(p: &[u8]) -> io::Result<()> {
    std::env::set_current_dir(OsStr::from_bytes(p))
}

fn fchdir(fd: RawFd) -> io::Result<()> {
    // SAFETY: fchdir has no memory-safety preconditions.
    if unsafe { libc::fchdir(fd) } == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// `$SVDIR` opened for `fchdir` (searching it is checked then, as `chdir`
/// would), or the errno `chdir($SVDIR)` would fail with.
fn open_svdir(svdir: &[u8]) -> Result<OwnedFd, i32> {
    let path = CString::new(svdir).map_err(|_| libc::ENOENT)?;
    // SAFETY: path is a valid NUL-terminated string.
    let fd = unsafe { libc::open(path.as_ptr(), libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC) };
    if fd < 0 {
        return Err(unix::errtext::errno());
    }
    // SAFETY: fd is a fresh descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// `stat(path)`: `None` if it exists, else the errno.
fn stat_errno(path: &CStr) -> Option<i32> {
    let mut st = std::mem::MaybeUninit::<libc::stat>::uninit();
    // SAFETY: path is NUL-terminated and st is large enough for a stat.
    if unsafe { libc::stat(path.as_ptr(), st.as_mut_ptr()) } == 0 {
        None
    } else {
        Some(unix::errtext::errno())
    }
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
            rec: Record::default(),
            out: Vec::new(),
            svdir_fd: open_svdir(svdir),
            curdir,
            away: false,
            watcher: if watch { Watcher::new() } else { None },
            json: false,
        }
    }

    /// The exit code for the failures counted so far.
    pub fn exit_code(&self) -> i32 {
        self.rc.min(code::MAX_COUNT) as i32
    }

    /// Prints `fatal: WHAT: ERR` on stderr and exits 100 (151 in LSB mode).
    pub fn fatal(&self, what: &[u8], e: &io::Error) -> ! {
        unix::msg::line(&[b"fatal: ", what, b": ", errtext::io_text(e).as_bytes()]);
        std::process::exit(if self.lsb { code::LSB_FATAL } else { code::FATAL })
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
    /// in the wait phase it is not (runit's quirk, sv.md §1.3).
    ///
    /// runit returns to the original directory after every service and
    /// changes to `$SVDIR` by name for every bare one. Here `$SVDIR` was
    /// opened once at the start (so a relative `$SVDIR` still means the
    /// same directory) and the original directory is only restored before
    /// a name that is a path: same directories and error words, fewer
    /// system calls over a thousand services.
    pub fn enter(&mut self, wait_phase: bool) -> bool {
        let n = &self.name;
        let bare =
            !n.starts_with(b"/") && !n.starts_with(b".") && (wait_phase || (!n.is_empty() && !n.ends_with(b"/")));
        let r = if bare {
            self.away = true;
            match &self.svdir_fd {
                Ok(fd) => fchdir(fd.as_raw_fd()),
                Err(errno) => Err(io::Error::from_raw_os_error(*errno)),
            }
            .and_then(|_| chdir(&self.name))
        } else {
            self.home();
            self.away = true;
            chdir(&self.name)
        };
        match r {
            Ok(()) => true,
            Err(e) => {
                self.fail(b"unable to change to service directory", Some(&e));
                false
            }
        }
    }

    /// Back to the directory sv started in, if not there.
    fn home(&mut self) {
        if !self.away {
            return;
        }
        if let Err(e) = fchdir(self.curdir.as_raw_fd()) {
            self.fatal(b"unable to change to original directory", &e);
        }
        self.away = false;
    }

    /// Reads the status record of the current directory's service: 1 when
    /// read, 0 when runsv is not running (line printed), -1 on any other
    /// problem (warning printed).
    fn svstatus_get(&mut self) -> i32 {
        match control::probe_ok("supervise/ok".as_ref()) {
            Ok(()) => {}
            Err(FifoError::NotRunning) => {
                self.not_running(self.acts.first() == Some(&b'x'));
                return 0;
            }
            Err(FifoError::Open(e)) | Err(FifoError::Write(Some(e))) => {
                self.warn(b"unable to open supervise/ok", Some(&e));
                return -1;
            }
            Err(FifoError::Write(None)) => {
                self.warn(b"unable to open supervise/ok", None);
                return -1;
            }
        }
        let mut f = match std::fs::OpenOptions::new().read(true).custom_flags(libc::O_NONBLOCK).open("supervise/status")
        {
            Ok(f) => f,
            Err(e) => {
                self.warn(b"unable to open supervise/status", Some(&e));
                return -1;
            }
        };
        // One read of 20 bytes, as runit: a short read leaves the rest of
        // the previous record in the buffer.
        let r = loop {
            match f.read(&mut self.rec.0) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                r => break r,
            }
        };
        match r {
            Ok(20) => 1,
            Ok(_) => {
                self.warn(b"unable to read supervise/status: bad format", None);
                -1
            }
            Err(e) => {
                self.warn(b"unable to read supervise/status", Some(&e));
                -1
            }
        }
    }

    /// Appends the status text of the record to the line being built.
    /// Returns 1 (pid), 2 (no pid), or 0 when `down` could not be examined
    /// (warning on stderr, nothing appended).
    fn svstatus_print(&mut self, label: &[u8]) -> u32 {
        let normally_up = match stat_errno(c"down") {
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
    /// as ready: always without `notification-fd`; with it, once runsv
    /// recorded the readiness of that very process in `supervise/ready`.
    fn ready_for(&self, pid: u32) -> bool {
        if stat_errno(c"notification-fd").is_some() {
            return true;
        }
        matches!(supervise::extras::read_ready(&supervise::SuperviseDir::main()), Ok(Some(r)) if r.pid == pid)
    }

    /// The fields of `-j` for the service (or log service) in the current
    /// directory, or the error text.
    fn json_report(&self) -> Result<json::Report, Vec<u8>> {
        let with = |what: &[u8], e: &io::Error| [what, b": ", errtext::io_text(e).as_bytes()].concat();
        match control::probe_ok("supervise/ok".as_ref()) {
            Ok(()) => {}
            Err(FifoError::NotRunning) => return Err(b"runsv not running".to_vec()),
            Err(FifoError::Open(e)) | Err(FifoError::Write(Some(e))) => {
                return Err(with(b"unable to open supervise/ok", &e))
            }
            Err(FifoError::Write(None)) => return Err(b"unable to open supervise/ok".to_vec()),
        }
        let raw = std::fs::read("supervise/status").map_err(|e| with(b"unable to read supervise/status", &e))?;
        let Ok(bytes) = <[u8; 20]>::try_from(raw.as_slice()) else {
            return Err(b"unable to read supervise/status: bad format".to_vec());
        };
        let rec = Record(bytes);
        let normally_up = match stat_errno(c"down") {
            None => Some(false),
            Some(libc::ENOENT) => Some(true),
            Some(_) => None,
        };
        let ready = if stat_errno(c"notification-fd").is_some() {
            None
        } else {
            match supervise::extras::read_ready(&supervise::SuperviseDir::main()) {
                Ok(Some(r)) if r.pid == rec.pid() && rec.state() == 1 => {
                    Some(Some((self.tnow.saturating_sub(r.stamp.secs), r.stamp)))
                }
                _ => Some(None),
            }
        };
        Ok(json::Report {
            state: rec.state(),
            pid: rec.pid(),
            seconds: self.tnow.saturating_sub(rec.stamp()),
            want: rec.want(),
            paused: rec.paused() != 0,
            term: rec.term() != 0,
            normally_up,
            ready,
            cgroup: contained(rec.pid(), rec.state()),
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
        match self.json_report() {
            Err(text) => {
                errors += 1;
                o.str("error", &text);
            }
            Ok(r) => {
                r.fields(&mut o);
                // SAFETY: chdir with a static NUL-terminated path.
                let cd =
                    if unsafe { libc::chdir(c"log".as_ptr()) } == 0 { Ok(()) } else { Err(io::Error::last_os_error()) };
                match cd {
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
                        let log = self.json_report();
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

    /// The `status` command for the current service.
    pub fn status(&mut self) -> u32 {
        match self.svstatus_get() {
            -1 => {
                if self.lsb {
                    std::process::exit(4);
                }
                return 0;
            }
            0 => return 0,
            _ => {}
        }
        let name = self.name.clone();
        let rc = self.svstatus_print(&name);
        self.islog = true;
        // SAFETY: chdir with a static NUL-terminated path.
        let r = if unsafe { libc::chdir(c"log".as_ptr()) } == 0 { Ok(()) } else { Err(io::Error::last_os_error()) };
        match r {
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
        if self.lsb {
            std::process::exit(match rc {
                1 => 0,
                2 => 3,
                _ => 4,
            });
        }
        rc
    }

    /// Writes `letters` to the current service: 1 sent, 0 suppressed
    /// (sv.md §1.5), -1 failed (line printed).
    pub fn control(&mut self, letters: &[u8]) -> i32 {
        if self.svstatus_get() <= 0 {
            return -1;
        }
        let first = letters.first().copied().unwrap_or(0);
        if self.rec.want() == first && (first != b'd' || self.rec.term() == 1) {
            return 0;
        }
        match control::send("supervise/control".as_ref(), letters) {
            Ok(()) => 1,
            Err(FifoError::NotRunning) => {
                self.not_running(first == b'x');
                -1
            }
            Err(FifoError::Open(e)) => {
                self.warn(b"unable to open supervise/control", Some(&e));
                -1
            }
            Err(FifoError::Write(e)) => {
                self.warn(b"unable to write to supervise/control", e.as_ref());
                -1
            }
        }
    }

    /// Evaluates the check letters (sv.md §3) for the current service:
    /// 1 reached (`ok:` printed, or runsv gone for `x`), 0 not yet, -1
    /// dropped (line printed).
    pub fn check(&mut self, letters: &[u8]) -> i32 {
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
                b'C' if rec.want() == b'd' => b'd',
                b'C' => b'u',
                c => c,
            };
            let pid = rec.pid();
            let pass = match c {
                b'x' => false,
                b'u' => pid != 0 && rec.state() == 1 && self.ready_for(pid) && checkscript::passes(&self.name),
                b'd' => pid == 0 && rec.state() == 0,
                b't' | b'k' => {
                    (pid == 0 && rec.want() == b'd')
                        || (self.tstart <= rec.stamp()
                            && pid != 0
                            && rec.term() == 0
                            && self.ready_for(pid)
                            && checkscript::passes(&self.name))
                }
                b'o' => !((pid == 0 && self.tstart > rec.stamp()) || (pid != 0 && rec.want() != b'd')),
                b'p' => !(pid != 0 && rec.paused() == 0),
                b'c' => !(pid != 0 && rec.paused() != 0),
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
        } else if letters.first() == Some(&b't') && self.rec.state() == 1 {
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
    pub fn watch_here(&self) -> Option<i32> {
        let w = self.watcher.as_ref()?;
        w.add(c"supervise").ok()
    }

    /// The wait phase over the services still pending after the first one.
    ///
    /// runit re-checks everything every 420 ms. Here each pending service's
    /// `supervise/` is watched with inotify and re-checked as soon as it
    /// changes, everything is re-checked every [`FALLBACK`] (every
    /// [`SAFETY_NET`] when all are watched and have no `./check`), and the
    /// timeout rule is runit's: a service times out at the first check
    /// where the time elapsed since sv started (taken as 0 on the first
    /// round, as in runit) is greater than `wait` seconds, and not before
    /// [`FIRST_TIMEOUT`] (runit's second check).
    ///
    /// A service that was just sent letters runsv acknowledges by
    /// rewriting `status` is first checked once that happened, not before:
    /// runit's first check can read the record from before the command and
    /// report, e.g., a restart as done with the old pid. Without an
    /// answer the check happens anyway when the patience runs out (see
    /// [`Client::answer_patience`]), at the timeout, or when runsv exits.
    pub fn wait_phase(&mut self, mut pending: Vec<Pending>, kill: bool, wait: u64) {
        let letters = self.acts.clone();
        let limit = wait as f64;
        // The first instant at which "elapsed > wait" holds.
        let deadline = self
            .started
            .checked_add(Duration::from_secs(wait))
            .and_then(|d| d.checked_add(Duration::from_millis(1)))
            .map(|d| d.max(self.started + FIRST_TIMEOUT));
        let mut first = true;
        let mut last_full = Instant::now();
        self.collect_events(&mut pending, None);
        loop {
            let elapsed = if first { 0.0 } else { self.started.elapsed().as_secs_f64() };
            if !first {
                self.tnow = unix::tai64n::Tai64n::now().secs;
            }
            let timed_out = elapsed > limit && elapsed >= FIRST_TIMEOUT.as_secs_f64();
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
                if !(p.dirty || timed_out || given_up || (full && !p.unacked)) {
                    continue;
                }
                p.dirty = false;
                p.unacked = false;
                self.name.clone_from(&p.name);
                if !self.enter(true) {
                    p.done = true;
                    continue;
                }
                if p.wd.is_none() {
                    p.wd = self.watch_here();
                }
                p.polled = p.wd.is_none() || stat_errno(c"check").is_none();
                if self.check(&letters) != 0 {
                    p.done = true;
                } else if timed_out {
                    self.time_out(kill);
                    p.done = true;
                }
            }
            pending.retain(|p| !p.done);
            if pending.is_empty() {
                return;
            }
            let interval = if pending.iter().any(|p| p.polled) { FALLBACK } else { SAFETY_NET };
            let mut next = last_full + interval;
            if let Some(d) = deadline {
                next = next.min(d);
            }
            if let Some(a) = pending.iter().filter(|p| p.unacked).map(|p| p.ack_by).min() {
                next = next.min(a);
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
        w.drain(|ev| {
            if !watch::relevant(ev) {
                return;
            }
            let everyone = ev.mask & libc::IN_Q_OVERFLOW != 0;
            for p in pending.iter_mut().filter(|p| everyone || p.wd == Some(ev.wd)) {
                p.dirty = true;
                if ev.mask & libc::IN_IGNORED != 0 {
                    p.wd = None;
                }
            }
        });
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
