//! A scan directory for runsvdir: `sd/` with entries (mostly symlinks) to
//! service directories kept beside it in `sv/`, and the runsvdir watching
//! it. Dropping it stops runsvdir, every runsv and every service.
//!
//! runsvdir starts the runsv built beside it (ours). With
//! `RUNSVDIR_TEST_RUNSV` set to another runsv (e.g. Debian's
//! `/usr/bin/runsv`), [`runsvdir`] is a copy of ours placed beside that
//! one instead.

use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::procfs::alive;
use super::{wait_for, Proc};

pub struct Scan {
    pub tmp: tempfile::TempDir,
    /// The directory runsvdir scans.
    pub sd: PathBuf,
    pub runsvdir: Option<Proc>,
    /// The binary [`Scan::start`] ran (a copy is removed when dropped).
    bin: Option<RunsvdirBin>,
}

impl Scan {
    pub fn new() -> Scan {
        let tmp = tempfile::Builder::new().prefix("runit-rs-scan").tempdir().unwrap();
        let sd = tmp.path().join("sd");
        fs::create_dir(&sd).unwrap();
        fs::create_dir(tmp.path().join("sv")).unwrap();
        Scan { tmp, sd, runsvdir: None, bin: None }
    }

    /// A path in the temporary directory (beside `sd` and `sv`).
    pub fn path(&self, rel: &str) -> PathBuf {
        self.tmp.path().join(rel)
    }

    /// `sv/NAME` (not created).
    pub fn sv(&self, name: &str) -> PathBuf {
        self.path("sv").join(name)
    }

    /// A service directory `sv/NAME` whose run sleeps.
    pub fn service(&self, name: &str) -> PathBuf {
        self.service_with(name, "exec sleep 100000")
    }

    /// A service directory `sv/NAME` with the given run script.
    pub fn service_with(&self, name: &str, run: &str) -> PathBuf {
        let dir = self.sv(name);
        fs::create_dir_all(&dir).unwrap();
        super::script(&dir.join("run"), run);
        dir
    }

    /// `sd/NAME -> sv/NAME`, a sleeping service; returns `sv/NAME`.
    pub fn link(&self, name: &str) -> PathBuf {
        self.link_run(name, "exec sleep 100000")
    }

    /// `sd/NAME -> sv/NAME` with the given run script; returns `sv/NAME`.
    pub fn link_run(&self, name: &str, run: &str) -> PathBuf {
        let target = self.service_with(name, run);
        symlink(&target, self.sd.join(name)).unwrap();
        target
    }

    /// Starts `runsvdir BEFORE... sd AFTER...` with stderr in `stderr`;
    /// returns its pid.
    pub fn start(&mut self, before: &[&str], after: &[&str]) -> i32 {
        let bin = runsvdir();
        let pid = self.start_with(&bin, before, after, |_| {});
        self.bin = Some(bin);
        pid
    }

    /// Like [`Scan::start`] with another runsvdir binary and a last say on
    /// the command.
    pub fn start_with(&mut self, bin: &Path, before: &[&str], after: &[&str], tweak: impl FnOnce(&mut Command)) -> i32 {
        let err = fs::File::create(self.path("stderr")).unwrap();
        let mut cmd = Command::new(bin);
        cmd.args(before).arg(&self.sd).args(after).stdin(Stdio::null()).stdout(Stdio::null()).stderr(err);
        tweak(&mut cmd);
        let p = Proc::spawn(&mut cmd);
        let pid = p.pid();
        self.runsvdir = Some(p);
        pid
    }

    pub fn pid(&self) -> i32 {
        self.runsvdir.as_ref().unwrap().pid()
    }

    /// What runsvdir wrote to stderr so far.
    pub fn stderr(&self) -> String {
        fs::read_to_string(self.path("stderr")).unwrap_or_default()
    }

    /// `sd/NAME/supervise/stat`, "" if absent.
    pub fn stat(&self, name: &str) -> String {
        fs::read_to_string(self.sd.join(name).join("supervise/stat")).unwrap_or_default()
    }

    pub fn wait_run(&self, name: &str) {
        wait_for(&format!("{name} to run (stat {:?})", self.stat(name)), || self.stat(name) == "run\n");
    }

    /// The pid of the live runsv running for NAME (as named in its argv).
    pub fn runsv_of(&self, name: &str) -> Option<i32> {
        runsv_children(self.pid()).into_iter().find(|(_, n)| n == name).map(|(p, _)| p)
    }

    pub fn wait_runsv(&self, name: &str) -> i32 {
        let mut pid = None;
        wait_for(&format!("a runsv for {name}"), || {
            pid = self.runsv_of(name);
            pid.is_some()
        });
        pid.unwrap()
    }

    /// Proves a scan happened after whatever the test just did: a fresh
    /// entry appears and gets its runsv.
    pub fn sync(&self, name: &str) {
        self.link(name);
        self.wait_runsv(name);
    }
}

impl Default for Scan {
    fn default() -> Self {
        Scan::new()
    }
}

impl Drop for Scan {
    fn drop(&mut self) {
        // runsv processes in their own sessions (-P) are outside the
        // runsvdir's process group: stop them and their services first.
        // runsvdir is frozen meanwhile, or it would restart a killed runsv
        // in a new session that the group kill of util::Proc cannot reach.
        if let Some(p) = &self.runsvdir {
            // SAFETY: kill has no memory-safety preconditions.
            unsafe { libc::kill(p.pid(), libc::SIGSTOP) };
            let stopped = || {
                fs::read_to_string(format!("/proc/{}/stat", p.pid()))
                    .map(|st| st.rsplit(')').next().is_some_and(|r| !r.starts_with(" S") && !r.starts_with(" R")))
                    .unwrap_or(true)
            };
            let end = Instant::now() + super::DEADLINE;
            while !stopped() && Instant::now() < end {
                std::thread::sleep(Duration::from_millis(5));
            }
            for (pid, _) in runsv_children(p.pid()) {
                // SAFETY: kill has no memory-safety preconditions.
                unsafe {
                    libc::kill(-pid, libc::SIGKILL);
                    libc::kill(pid, libc::SIGKILL);
                }
            }
        }
    }
}

/// The live runsv processes whose parent is `ppid`: (pid, name from argv).
pub fn runsv_children(ppid: i32) -> Vec<(i32, String)> {
    let mut out = Vec::new();
    for (pid, _) in super::procfs::children(ppid) {
        if !alive(pid) {
            continue;
        }
        let cmd = fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        let args: Vec<&[u8]> = cmd.split(|&b| b == 0).collect();
        if args.first() == Some(&&b"runsv"[..]) && args.len() >= 2 {
            out.push((pid, String::from_utf8_lossy(args[1]).into_owned()));
        }
    }
    out
}

/// A runsvdir binary to start: ours where Cargo built it, or a copy in a
/// temporary directory of its own (removed when this is dropped, so keep
/// it until that runsvdir has exited).
pub struct RunsvdirBin {
    path: PathBuf,
    _dir: Option<tempfile::TempDir>,
}

impl std::ops::Deref for RunsvdirBin {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.path
    }
}

impl AsRef<std::ffi::OsStr> for RunsvdirBin {
    fn as_ref(&self) -> &std::ffi::OsStr {
        self.path.as_os_str()
    }
}

/// The runsvdir to test: ours, or a copy of it beside `$RUNSVDIR_TEST_RUNSV`.
pub fn runsvdir() -> RunsvdirBin {
    match std::env::var_os("RUNSVDIR_TEST_RUNSV") {
        None => RunsvdirBin { path: super::bin("runsvdir"), _dir: None },
        Some(runsv) => beside(Some(Path::new(&runsv))),
    }
}

/// A copy of our runsvdir in a directory of its own, with `runsv` (a
/// symlink to the given one) beside it or nothing.
pub fn beside(runsv: Option<&Path>) -> RunsvdirBin {
    let dir = tempfile::Builder::new().prefix("runsvdir-bin").tempdir().unwrap();
    let bin = dir.path().join("runsvdir");
    let st = Command::new("install").arg("-m755").arg(super::bin("runsvdir")).arg(&bin).status().unwrap();
    assert!(st.success(), "install runsvdir");
    if let Some(r) = runsv {
        symlink(r, dir.path().join("runsv")).unwrap();
    }
    RunsvdirBin { path: bin, _dir: Some(dir) }
}
