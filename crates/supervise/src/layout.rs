//! The service directory layout.
//!
//! A service directory holds `run` and optionally `finish`, `down`, `check`,
//! `log/` and `control/C` override scripts; runsv keeps its state in
//! `supervise/` (`log/supervise/` for the log service), which may be a
//! symlink, e.g. into a tmpfs. Paths are relative to the service directory,
//! because runsv and sv `chdir` there first and runit's messages name them so.

use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use unix::atomic::ReplaceError;

/// Files of the service directory that runit programs read.
pub const RUN: &str = "run";
pub const FINISH: &str = "finish";
pub const DOWN: &str = "down";
pub const CHECK: &str = "check";
pub const LOG: &str = "log";
pub const CONTROL_DIR: &str = "control";

/// Files of a `supervise/` directory.
pub const LOCK: &str = "lock";
/// The FIFO clients write command letters to.
pub const CONTROL: &str = "control";
/// The FIFO whose non-blocking open tells a client that runsv is alive.
pub const OK: &str = "ok";
/// The 20-byte binary record ([`crate::status`]).
pub const STATUS: &str = "status";
/// The human-readable state line.
pub const STAT: &str = "stat";
/// The pid of the running process, or empty.
pub const PID: &str = "pid";

/// A `supervise/` directory: `supervise` for the main service,
/// `log/supervise` for its log service.
#[derive(Clone, Debug)]
pub struct SuperviseDir {
    base: PathBuf,
    /// The directory itself, once [`SuperviseDir::opened`]: files are then
    /// replaced relative to it rather than through `base`.
    fd: Option<Arc<OwnedFd>>,
}

impl SuperviseDir {
    /// `supervise` (main service).
    pub fn main() -> SuperviseDir {
        SuperviseDir { base: PathBuf::from("supervise"), fd: None }
    }

    /// `log/supervise` (the log service).
    pub fn log() -> SuperviseDir {
        SuperviseDir { base: PathBuf::from("log/supervise"), fd: None }
    }

    /// `DIR/supervise` for any service directory path.
    pub fn of(service_dir: &Path) -> SuperviseDir {
        SuperviseDir { base: service_dir.join("supervise"), fd: None }
    }

    /// The directory itself.
    pub fn path(&self) -> &Path {
        &self.base
    }

    /// `BASE/NAME`: the path of one of its files (`lock`, `control`, `ok`,
    /// `status`, `stat`, `pid`, and their `.new` temporaries).
    pub fn file(&self, name: &str) -> PathBuf {
        self.base.join(name)
    }

    /// The same directory, held open: later [`SuperviseDir::replace`] calls
    /// write into this very directory even if the service directory that
    /// led to it is removed or recreated meanwhile (void-linux/runit#25).
    /// Messages still name the files by their usual paths.
    pub fn opened(self) -> std::io::Result<SuperviseDir> {
        let f = std::fs::File::open(&self.base)?;
        if !f.metadata()?.is_dir() {
            return Err(std::io::Error::from_raw_os_error(libc::ENOTDIR));
        }
        Ok(SuperviseDir { fd: Some(Arc::new(OwnedFd::from(f))), ..self })
    }

    /// Replaces file `name` with `data` through `tmp` (see
    /// [`unix::atomic::replace`]), relative to the open directory if any.
    pub fn replace(&self, tmp: &str, name: &str, data: &[u8], mode: u32) -> Result<(), ReplaceError> {
        match &self.fd {
            Some(fd) => unix::atomic::replace_at(fd.as_raw_fd(), Path::new(tmp), Path::new(name), data, mode),
            None => unix::atomic::replace(&self.file(tmp), &self.file(name), data, mode),
        }
    }

    /// `BASE/NAME` as bytes, for messages.
    pub fn name(&self, name: &str) -> Vec<u8> {
        let mut v = unix::path_bytes(&self.base).to_vec();
        v.push(b'/');
        v.extend_from_slice(name.as_bytes());
        v
    }
}

/// `control/C`: the override script runsv runs for command letter `c`.
pub fn control_script(c: u8) -> PathBuf {
    let mut p = PathBuf::from(CONTROL_DIR);
    p.push(std::str::from_utf8(&[c]).unwrap_or("?"));
    p
}
