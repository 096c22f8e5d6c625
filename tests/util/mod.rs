//! Fixtures shared by the integration tests: paths of the real binaries,
//! service directories built on disk, a guard that stops every process a
//! test started, and waiting on real state with a deadline.
//!
//! Each test file includes this with `mod util;`; not every file uses every
//! helper.
#![allow(dead_code)]

pub mod procfs;
pub mod public;
pub mod scan;

use std::fs;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a test waits for something that should happen "at once". Large,
/// because the suite runs many tests in parallel on 2 cores; a passing test
/// never waits this long.
pub const DEADLINE: Duration = Duration::from_secs(15);

/// Path of one of our binaries, built by Cargo for this test run.
pub fn bin(name: &str) -> PathBuf {
    PathBuf::from(match name {
        "runsv" => env!("CARGO_BIN_EXE_runsv"),
        "runsvdir" => env!("CARGO_BIN_EXE_runsvdir"),
        "runsvchdir" => env!("CARGO_BIN_EXE_runsvchdir"),
        "sv" => env!("CARGO_BIN_EXE_sv"),
        "svlogd" => env!("CARGO_BIN_EXE_svlogd"),
        "chpst" => env!("CARGO_BIN_EXE_chpst"),
        "utmpset" => env!("CARGO_BIN_EXE_utmpset"),
        "runit" => env!("CARGO_BIN_EXE_runit"),
        "runit-init" => env!("CARGO_BIN_EXE_runit-init"),
        other => panic!("no binary {other}"),
    })
}

/// Path of Debian's runit program of that name (installed by `.ci/run`).
/// Interop tests fail loudly when it is missing rather than pass silently.
pub fn debian(name: &str) -> PathBuf {
    for dir in ["/usr/bin", "/usr/sbin", "/sbin", "/bin"] {
        let p = Path::new(dir).join(name);
        if p.exists() {
            return p;
        }
    }
    panic!("Debian's {name} is not installed: run `apt-get install -y runit` (.ci/run does)");
}

/// Polls `cond` every 5 ms until it holds; panics with `what` after `DEADLINE`.
pub fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    wait_for_within(what, DEADLINE, &mut cond)
}

/// Like [`wait_for`] with an explicit deadline.
pub fn wait_for_within(what: &str, limit: Duration, mut cond: impl FnMut() -> bool) {
    let end = Instant::now() + limit;
    while !cond() {
        if Instant::now() > end {
            panic!("timed out after {limit:?} waiting for: {what}");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Writes an executable shell script.
///
/// The file is written by a child process (`install`), never by this
/// multi-threaded test process: a descriptor open for writing here could be
/// inherited by a sibling test's fork and make the later exec fail with
/// "text busy" (ETXTBSY).
pub fn script(path: &Path, body: &str) {
    let tmp = path.with_extension("script-source");
    fs::write(&tmp, format!("#!/bin/sh\n{body}\n")).unwrap();
    let st = Command::new("install").arg("-m755").arg(&tmp).arg(path).status().unwrap();
    assert!(st.success(), "install {}", path.display());
    fs::remove_file(&tmp).unwrap();
}

/// A service directory in a temporary directory (removed on drop).
pub struct ServiceDir {
    _tmp: tempfile::TempDir,
    pub path: PathBuf,
}

impl ServiceDir {
    /// A service named `svc` whose `run` is the given shell body.
    pub fn new(run: &str) -> ServiceDir {
        let tmp = tempfile::Builder::new().prefix("runit-rs-test").tempdir().unwrap();
        let path = tmp.path().join("svc");
        fs::create_dir(&path).unwrap();
        script(&path.join("run"), run);
        ServiceDir { _tmp: tmp, path }
    }

    /// The temporary directory that contains the service (for scratch files).
    pub fn scratch(&self) -> &Path {
        self._tmp.path()
    }

    pub fn join(&self, rel: &str) -> PathBuf {
        self.path.join(rel)
    }

    /// An executable script at `rel` (parents created).
    pub fn script(&self, rel: &str, body: &str) -> &Self {
        let p = self.path.join(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        script(&p, body);
        self
    }

    /// A plain file at `rel`.
    pub fn file(&self, rel: &str, content: &str) -> &Self {
        let p = self.path.join(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, content).unwrap();
        self
    }

    /// The decoded `supervise/status` (or `log/supervise/status` with `log/`).
    pub fn status(&self, sup: &str) -> Option<supervise::Status> {
        supervise::status::read_status(&self.path.join(sup).join("status")).ok()
    }

    /// The raw 20 bytes of a status file.
    pub fn status_bytes(&self, sup: &str) -> Vec<u8> {
        fs::read(self.path.join(sup).join("status")).unwrap_or_default()
    }

    /// `supervise/stat` (or the given supervise dir's) as text, "" if absent.
    pub fn stat(&self, sup: &str) -> String {
        fs::read_to_string(self.path.join(sup).join("stat")).unwrap_or_default()
    }

    /// Writes letters to a control FIFO (`supervise` or `log/supervise`).
    pub fn control(&self, sup: &str, letters: &str) {
        supervise::control::send(&self.path.join(sup).join("control"), letters.as_bytes())
            .unwrap_or_else(|e| panic!("control {letters}: {e:?}"));
    }

    /// Waits until `supervise/stat` (of `sup`) reads exactly `line` and the
    /// 20-byte record agrees with it (runsv writes `stat` before `status`,
    /// so a reader can briefly see the new line with the old record).
    pub fn wait_stat(&self, sup: &str, line: &str) {
        let want = format!("{line}\n");
        let state = match line.split(',').next().unwrap() {
            "down" => 0,
            "run" => 1,
            "finish" => 2,
            other => panic!("not a stat line: {other}"),
        };
        let paused = line.contains(", paused") as u8;
        let term = line.contains(", got TERM") as u8;
        // the want byte is implied by the line except when down
        let want_byte = match (state, line.contains(", want ")) {
            (0, _) => None,
            (_, true) => Some(b'd'),
            (_, false) => Some(b'u'),
        };
        wait_for(&format!("{sup}/stat == {line:?} (now {:?})", self.stat(sup)), || {
            self.stat(sup) == want
                && self.status(sup).is_some_and(|s| {
                    (s.state, s.paused, s.term) == (state, paused, term) && want_byte.is_none_or(|w| s.want == w)
                })
        });
    }

    /// A service whose `./run` notes when it ran (in `../ran`) and exits 1.
    pub fn quick_exit() -> ServiceDir {
        ServiceDir::new("date +%s.%N > ../ran; exit 1")
    }

    /// For a [`ServiceDir::quick_exit`] service: waits until runsv has
    /// recorded the end of a run, i.e. the record is down and stamped after
    /// the run's own clock reading. (The record runsv writes at start-up is
    /// also "down", but older than any run.)
    pub fn wait_quick_exit(&self, sup: &str) -> supervise::Status {
        let ran = || fs::read_to_string(self.scratch().join("ran")).ok()?.trim().parse::<f64>().ok();
        let mut found = None;
        wait_for("runsv to record a run's exit", || {
            let (Some(t), Some(s)) = (ran(), self.status(sup)) else { return false };
            let stamp = s.stamp.unix_secs() as f64 + s.stamp.nanos as f64 / 1e9;
            let done = s.state == 0 && s.pid == 0 && stamp >= t && self.stat(sup) == "down\n";
            if done {
                found = Some(s);
            }
            done
        });
        found.unwrap()
    }

    /// Waits until the status pid is non-zero and differs from `old`.
    pub fn wait_new_pid(&self, sup: &str, old: u32) -> u32 {
        let mut pid = 0;
        wait_for("a new pid", || {
            pid = self.status(sup).map(|s| s.pid).unwrap_or(0);
            pid != 0 && pid != old && self.status(sup).map(|s| s.state) == Some(1)
        });
        pid
    }
}

/// A process started by a test; dropping it stops it and everything in its
/// process group (each guarded process is started as a group leader, so the
/// services it starts without `setsid` are stopped with it).
///
/// The group is killed while its leader is still unreaped (a zombie at
/// worst): until then the kernel cannot hand the number out again. Killed
/// after the reap, with pids wrapping at 32768 on a busy machine, `-pgid`
/// could name another test's new process group.
pub struct Proc {
    pub child: Child,
}

/// What `waitid(WNOWAIT)` says about a child, without reaping it.
enum Peek {
    Running,
    /// Exited (or killed), wait status as `waitpid` would give it.
    Exited(i32),
    /// Already reaped (through `child`), or not our child.
    Gone,
}

fn peek(pid: i32) -> Peek {
    // SAFETY: waitid writes one siginfo_t to the pointer we pass; zeroed
    // is a valid siginfo_t.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    // SAFETY: as above; WNOWAIT leaves the child waitable.
    let r = unsafe {
        libc::waitid(libc::P_PID, pid as libc::id_t, &mut info, libc::WEXITED | libc::WNOHANG | libc::WNOWAIT)
    };
    if r != 0 {
        return Peek::Gone;
    }
    // SAFETY: waitid filled in a SIGCHLD siginfo_t (or left it zeroed).
    let (who, code, status) = unsafe { (info.si_pid(), info.si_code, info.si_status()) };
    if who == 0 {
        return Peek::Running;
    }
    Peek::Exited(match code {
        libc::CLD_EXITED => (status & 0xff) << 8,
        libc::CLD_DUMPED => status | 0x80,
        _ => status,
    })
}

impl Proc {
    /// Starts `cmd` in a new process group (stdio as the caller set it).
    pub fn spawn(cmd: &mut Command) -> Proc {
        cmd.process_group(0);
        default_signals(cmd);
        if cmd.get_program().is_empty() {
            panic!("empty program");
        }
        let child = cmd.spawn().unwrap_or_else(|e| panic!("spawn {:?}: {e}", cmd.get_program()));
        Proc { child }
    }

    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// Sends a signal to the process itself.
    pub fn signal(&self, sig: i32) {
        // SAFETY: kill has no memory-safety preconditions.
        unsafe { libc::kill(self.pid(), sig) };
    }

    /// The exit status once the process has exited, without reaping it
    /// (see [`Proc`]); None while it runs.
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        use std::os::unix::process::ExitStatusExt;
        match peek(self.pid()) {
            Peek::Exited(st) => Some(std::process::ExitStatus::from_raw(st)),
            // Reaped by a caller through `child`: std kept the status.
            Peek::Gone => self.child.try_wait().unwrap(),
            Peek::Running => None,
        }
    }

    /// Waits for the process to exit within `DEADLINE`; returns its status.
    /// The process is left unreaped (see [`Proc`]).
    pub fn wait_exit(&mut self) -> std::process::ExitStatus {
        let end = Instant::now() + DEADLINE;
        loop {
            if let Some(st) = self.exited() {
                return st;
            }
            if Instant::now() > end {
                panic!("process {} did not exit within {DEADLINE:?}", self.pid());
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Whether the process is still running.
    pub fn running(&mut self) -> bool {
        matches!(peek(self.pid()), Peek::Running)
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let pgid = self.pid();
        match peek(pgid) {
            Peek::Running | Peek::Exited(_) => {
                // SAFETY: kill has no memory-safety preconditions. The
                // leader is unreaped, so `-pgid` is still our group.
                unsafe {
                    libc::kill(pgid, libc::SIGKILL);
                    libc::kill(-pgid, libc::SIGKILL);
                }
            }
            Peek::Gone => {
                // A caller reaped the leader. While members of its group
                // live, the number stays reserved and no process can have
                // it; a process that has it means our group is empty and
                // the number was handed out again.
                if !Path::new(&format!("/proc/{pgid}")).exists() {
                    // SAFETY: as above.
                    unsafe { libc::kill(-pgid, libc::SIGKILL) };
                }
            }
        }
        let _ = self.child.wait();
    }
}

/// Makes `cmd` start with every signal at its default disposition.
///
/// A signal ignored by whoever started the test run (a shell's background
/// job `scripts/test &` has SIGINT and SIGQUIT ignored) stays ignored
/// across exec, all the way down to the services, and a shell cannot
/// trap a signal it found ignored: the tests would then depend on how
/// they were started. (The standard library already resets SIGPIPE and
/// the signal mask in the child.)
pub fn default_signals(cmd: &mut Command) {
    let last = libc::SIGRTMAX();
    // SAFETY: the closure runs between fork and exec and only calls
    // sigaction, which is async-signal-safe and allocates nothing.
    unsafe {
        cmd.pre_exec(move || {
            for sig in 1..=last {
                if sig == libc::SIGKILL || sig == libc::SIGSTOP {
                    continue;
                }
                let mut act: libc::sigaction = std::mem::zeroed();
                act.sa_sigaction = libc::SIG_DFL;
                // Fails for the few signals glibc reserves; nothing to do.
                libc::sigaction(sig, &act, std::ptr::null_mut());
            }
            Ok(())
        });
    }
}

/// Starts `runsv DIR` (ours) on a service directory, stderr captured in
/// `DIR/../runsv.stderr`.
pub fn start_runsv(svc: &ServiceDir) -> Proc {
    start_runsv_with(&bin("runsv"), svc)
}

/// Starts the given runsv binary (ours or Debian's) on a service directory.
pub fn start_runsv_with(runsv: &Path, svc: &ServiceDir) -> Proc {
    let err = fs::File::create(svc.scratch().join("runsv.stderr")).unwrap();
    Proc::spawn(Command::new(runsv).arg(&svc.path).stdin(Stdio::null()).stdout(Stdio::null()).stderr(err))
}

/// What a runsv started by [`start_runsv`] has written to stderr so far.
pub fn runsv_stderr(svc: &ServiceDir) -> String {
    fs::read_to_string(svc.scratch().join("runsv.stderr")).unwrap_or_default()
}

/// Runs a command to completion with a deadline; returns (code, stdout, stderr).
pub fn run(cmd: &mut Command) -> (i32, String, String) {
    use std::io::Read;
    cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut p = Proc::spawn(cmd);
    let mut out = String::new();
    let mut err = String::new();
    p.child.stdout.take().unwrap().read_to_string(&mut out).unwrap();
    p.child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    let st = p.wait_exit();
    (st.code().unwrap_or(-1), out, err)
}

/// svlogd's rotated files in a log directory (`@` + 24 hex + suffix),
/// sorted by name, which is time order.
pub fn rotated_logs(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with('@'))
        .collect();
    v.sort();
    v
}

/// Every line svlogd wrote to a log directory: rotated files oldest first,
/// then `current`.
pub fn logged_lines(dir: &Path) -> Vec<String> {
    let mut text = String::new();
    for f in rotated_logs(dir).iter().chain([&dir.join("current")]) {
        text.push_str(&String::from_utf8_lossy(&fs::read(f).unwrap_or_default()));
    }
    text.lines().map(str::to_owned).collect()
}
