//! cgroup v2 containment: finding the hierarchy, creating and removing a
//! service's cgroup, writing its interface files, ending everything in it
//! (`cgroup.kill`) and watching it empty (`cgroup.events`).
//!
//! Only the unified (v2) hierarchy is used: at `/sys/fs/cgroup` on a pure v2
//! system, at `/sys/fs/cgroup/unified` on a hybrid one, or wherever
//! `RUNIT_CGROUP_ROOT` names (a delegated subtree, or a test's). Wherever
//! the hierarchy is missing, read-only or not ours to write, the functions
//! return [`CgroupError::NotAvailable`], which callers turn into one warning
//! and run the service uncontained.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::fs::{DirBuilderExt, FileExt};
use std::path::{Path, PathBuf};

/// Environment variable naming the cgroup under which services' cgroups
/// are created, instead of the one found at `/sys/fs/cgroup`.
pub const ROOT_ENV: &str = "RUNIT_CGROUP_ROOT";

/// Where the unified hierarchy is mounted, pure v2 first, then hybrid.
const MOUNTS: [&str; 2] = ["/sys/fs/cgroup", "/sys/fs/cgroup/unified"];

/// Why containment could not be set up or an operation failed.
#[derive(Debug)]
pub enum CgroupError {
    /// No usable cgroup v2 hierarchy here (absent, read-only, not
    /// delegated): the service runs uncontained.
    NotAvailable(String),
    /// Any other failure, with what was being done.
    Io(String, io::Error),
}

impl std::fmt::Display for CgroupError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CgroupError::NotAvailable(why) => f.write_str(why),
            CgroupError::Io(what, e) => write!(f, "{what}: {}", crate::errtext::io_text(e)),
        }
    }
}

impl CgroupError {
    /// The error of an operation on `path`, as "not available" when the
    /// file system refuses us (read-only, not delegated).
    fn of(what: &str, path: &Path, e: io::Error) -> CgroupError {
        let what = format!("{what} {}", path.display());
        match e.raw_os_error() {
            Some(libc::EROFS) | Some(libc::EACCES) | Some(libc::EPERM) => {
                CgroupError::NotAvailable(format!("{what}: {}", crate::errtext::io_text(&e)))
            }
            _ => CgroupError::Io(what, e),
        }
    }
}

/// Whether `path` is a directory of a cgroup v2 file system.
pub fn is_cgroup2(path: &Path) -> bool {
    use nix::sys::statfs::{statfs, CGROUP2_SUPER_MAGIC};
    statfs(path).is_ok_and(|st| st.filesystem_type() == CGROUP2_SUPER_MAGIC)
}

/// The cgroup under which services' cgroups go: `RUNIT_CGROUP_ROOT` when
/// set and non-empty, else the unified mount.
pub fn find_root() -> Result<PathBuf, CgroupError> {
    if let Some(v) = std::env::var_os(ROOT_ENV).filter(|v| !v.is_empty()) {
        let p = PathBuf::from(v);
        return if is_cgroup2(&p) {
            Ok(p)
        } else {
            Err(CgroupError::NotAvailable(format!("{ROOT_ENV}={} is not a cgroup2 directory", p.display())))
        };
    }
    MOUNTS.iter().map(Path::new).find(|p| is_cgroup2(p)).map(Path::to_path_buf).ok_or_else(|| {
        CgroupError::NotAvailable("no cgroup2 hierarchy at /sys/fs/cgroup or /sys/fs/cgroup/unified".into())
    })
}

/// `populated N` from the text of `cgroup.events`.
pub fn parse_populated(events: &[u8]) -> Option<bool> {
    events.split(|&c| c == b'\n').find_map(|line| match line.strip_prefix(b"populated ") {
        Some(b"0") => Some(false),
        Some(b"1") => Some(true),
        _ => None,
    })
}

/// The controller an interface file belongs to: `memory` for
/// `memory.max`; `None` for core files (`cgroup.*`) and odd names.
pub fn controller_of(file: &str) -> Option<&str> {
    let (c, rest) = file.split_once('.')?;
    (!c.is_empty() && !rest.is_empty() && c != "cgroup").then_some(c)
}

/// Why an interface file could not be written.
#[derive(Debug)]
pub enum WriteError {
    /// The file does not exist: its controller is not enabled for this
    /// cgroup (and could not be), or the kernel lacks it.
    ControllerMissing(String),
    Io(io::Error),
}

/// One cgroup directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cgroup {
    root: PathBuf,
    path: PathBuf,
}

impl Cgroup {
    /// The cgroup `rel` below `root`, without touching the file system.
    /// `rel` must be relative and free of `..` (see
    /// `supervise::cgroupdir`), which keeps it below `root`.
    pub fn at(root: &Path, rel: &Path) -> Cgroup {
        Cgroup { root: root.to_path_buf(), path: root.join(rel) }
    }

    /// An existing cgroup known only by its path (e.g. from a record an
    /// earlier supervisor wrote): everything but [`Cgroup::enable`] works.
    pub fn existing(path: &Path) -> Cgroup {
        Cgroup { root: path.to_path_buf(), path: path.to_path_buf() }
    }

    /// Creates the cgroup (and any missing parents below `root`) and checks
    /// that processes can be moved into it.
    pub fn create(root: &Path, rel: &Path) -> Result<Cgroup, CgroupError> {
        let cg = Cgroup::at(root, rel);
        let mut b = std::fs::DirBuilder::new();
        b.recursive(true).mode(0o755);
        b.create(&cg.path).map_err(|e| CgroupError::of("unable to create", &cg.path, e))?;
        if !is_cgroup2(&cg.path) {
            return Err(CgroupError::NotAvailable(format!("{} is not a cgroup2 directory", cg.path.display())));
        }
        cg.open_procs().map_err(|e| CgroupError::of("unable to open", &cg.file("cgroup.procs"), e))?;
        Ok(cg)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The path of an interface file.
    pub fn file(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    /// `cgroup.procs` open for writing: a child writes `0` into it between
    /// `fork` and `exec` to join the cgroup (the parent stays outside).
    pub fn open_procs(&self) -> io::Result<OwnedFd> {
        Ok(OpenOptions::new().write(true).open(self.file("cgroup.procs"))?.into())
    }

    /// Writes `bytes` to the interface file `name` with one `write(2)`, as
    /// the kernel wants. A missing file whose controller the parents could
    /// enable is retried once after enabling it.
    pub fn write(&self, name: &str, bytes: &[u8]) -> Result<(), WriteError> {
        match write_once(&self.file(name), bytes) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            r => return r.map_err(WriteError::Io),
        }
        let Some(ctrl) = controller_of(name) else {
            return Err(WriteError::Io(io::ErrorKind::NotFound.into()));
        };
        if self.enable(ctrl).is_err() {
            return Err(WriteError::ControllerMissing(ctrl.to_string()));
        }
        write_once(&self.file(name), bytes).map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => WriteError::ControllerMissing(ctrl.to_string()),
            _ => WriteError::Io(e),
        })
    }

    /// Enables `ctrl` for this cgroup: `+ctrl` into `cgroup.subtree_control`
    /// of every ancestor from the root down to the parent.
    pub fn enable(&self, ctrl: &str) -> io::Result<()> {
        let rel = self.path.strip_prefix(&self.root).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
        let mut dir = self.root.clone();
        let avail = std::fs::read(dir.join("cgroup.controllers"))?;
        if !avail.split(|c| c.is_ascii_whitespace()).any(|w| w == ctrl.as_bytes()) {
            return Err(io::ErrorKind::NotFound.into());
        }
        let line = format!("+{ctrl}");
        for comp in rel.components() {
            write_once(&dir.join("cgroup.subtree_control"), line.as_bytes())?;
            dir.push(comp);
        }
        Ok(())
    }

    /// Ends every process in the cgroup with SIGKILL: `cgroup.kill`
    /// (Linux 5.14+), else one KILL to each pid listed in `cgroup.procs`.
    pub fn kill(&self) -> io::Result<()> {
        match write_once(&self.file("cgroup.kill"), b"1") {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            r => return r,
        }
        for pid in self.pids()? {
            let _ = crate::proc::kill(pid, libc::SIGKILL);
        }
        Ok(())
    }

    /// The pids in the cgroup itself (not its children).
    pub fn pids(&self) -> io::Result<Vec<libc::pid_t>> {
        let text = std::fs::read(self.file("cgroup.procs"))?;
        Ok(text.split(|&c| c == b'\n').filter_map(|l| std::str::from_utf8(l).ok()?.trim().parse().ok()).collect())
    }

    /// Whether `pid` is in the cgroup.
    pub fn contains(&self, pid: libc::pid_t) -> io::Result<bool> {
        Ok(self.pids()?.contains(&pid))
    }

    /// Whether any process is in the cgroup or below it.
    pub fn populated(&self) -> io::Result<bool> {
        let raw = std::fs::read(self.file("cgroup.events"))?;
        parse_populated(&raw).ok_or_else(|| io::ErrorKind::InvalidData.into())
    }

    /// A watch on `cgroup.events`, for a poll set (`POLLPRI`).
    pub fn watch(&self) -> io::Result<EventsWatch> {
        Ok(EventsWatch { file: File::open(self.file("cgroup.events"))? })
    }

    /// Removes the cgroup directory (only an empty cgroup without
    /// children can go); a cgroup already gone is fine.
    pub fn remove(&self) -> io::Result<()> {
        match std::fs::remove_dir(&self.path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    /// A decimal interface file such as `memory.current` or `pids.current`:
    /// `None` when absent or not a number.
    pub fn read_u64(&self, name: &str) -> Option<u64> {
        std::fs::read_to_string(self.file(name)).ok()?.trim().parse().ok()
    }
}

fn write_once(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut f = OpenOptions::new().write(true).open(path)?;
    let n = f.write(bytes)?;
    if n != bytes.len() {
        return Err(io::ErrorKind::WriteZero.into());
    }
    Ok(())
}

/// `cgroup.events` held open: the kernel flags it `POLLPRI` (with
/// `POLLERR`) whenever its content changes, so a supervisor sleeps in
/// `poll` until the cgroup empties instead of checking periodically.
#[derive(Debug)]
pub struct EventsWatch {
    file: File,
}

impl EventsWatch {
    /// Re-reads the file from the start.
    pub fn populated(&self) -> io::Result<bool> {
        let mut buf = [0u8; 256];
        let n = self.file.read_at(&mut buf, 0)?;
        parse_populated(&buf[..n]).ok_or_else(|| io::ErrorKind::InvalidData.into())
    }

    /// The poll entry for this watch.
    pub fn pollfd(&self) -> libc::pollfd {
        libc::pollfd { fd: self.file.as_raw_fd(), events: libc::POLLPRI, revents: 0 }
    }
}

impl AsRawFd for EventsWatch {
    fn as_raw_fd(&self) -> RawFd {
        self.file.as_raw_fd()
    }
}

/// Reads the whole of a small file (`cgroup/` configuration).
pub fn read_small(path: &Path, limit: u64) -> io::Result<Vec<u8>> {
    let mut v = Vec::new();
    File::open(path)?.take(limit).read_to_end(&mut v)?;
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn populated_line_is_found_anywhere() {
        assert_eq!(parse_populated(b"populated 0\nfrozen 0\n"), Some(false));
        assert_eq!(parse_populated(b"frozen 0\npopulated 1\n"), Some(true));
        assert_eq!(parse_populated(b"populated 2\n"), None);
        assert_eq!(parse_populated(b""), None);
    }

    #[test]
    fn controllers_are_the_prefix_of_interface_files() {
        assert_eq!(controller_of("memory.max"), Some("memory"));
        assert_eq!(controller_of("io.weight.default"), Some("io"));
        assert_eq!(controller_of("cgroup.max.depth"), None);
        assert_eq!(controller_of("path"), None);
        assert_eq!(controller_of(".x"), None);
        assert_eq!(controller_of("x."), None);
    }

    #[test]
    fn a_plain_directory_is_no_root() {
        let d = tempfile::tempdir().unwrap();
        assert!(!is_cgroup2(d.path()));
        let e = Cgroup::create(d.path(), Path::new("svc")).unwrap_err();
        assert!(matches!(e, CgroupError::NotAvailable(_)), "{e}");
    }

    /// A scratch cgroup under the real hierarchy, or `None` (with the
    /// reason printed) where this machine has none we may write.
    fn scratch(test: &str) -> Option<(PathBuf, Cgroup)> {
        let root = match find_root() {
            Ok(r) => r,
            Err(e) => {
                eprintln!("skipped: {e}");
                return None;
            }
        };
        let name = format!("unix-{test}-{}", std::process::id());
        match Cgroup::create(&root, Path::new(&name)) {
            Ok(cg) => Some((root, cg)),
            Err(e) => {
                eprintln!("skipped: {e}");
                None
            }
        }
    }

    #[test]
    fn a_child_in_a_cgroup_is_killed_and_the_cgroup_empties() {
        let Some((root, cg)) = scratch("kill") else { return };
        let inner = Cgroup::create(&root, &cg.path().strip_prefix(&root).unwrap().join("inner")).unwrap();
        assert!(!inner.populated().unwrap());
        let watch = inner.watch().unwrap();
        let procs = inner.open_procs().unwrap();
        let mut child = std::process::Command::new("sleep").arg("30").spawn().unwrap();
        let pid = child.id() as libc::pid_t;
        // Moving another process works the same as a child writing "0".
        let mut f = File::from(procs);
        f.write_all(pid.to_string().as_bytes()).unwrap();
        assert!(inner.contains(pid).unwrap());
        assert!(watch.populated().unwrap());
        assert!(cg.populated().unwrap(), "populated counts descendants");
        assert!(!cg.contains(pid).unwrap());
        assert!(inner.remove().is_err(), "a populated cgroup stays");
        inner.kill().unwrap();
        child.wait().unwrap();
        let mut p = watch.pollfd();
        // SAFETY: one valid pollfd, bounded timeout.
        let r = unsafe { libc::poll(&mut p, 1, 20_000) };
        assert_eq!(r, 1);
        assert!(p.revents & libc::POLLPRI != 0);
        assert!(!watch.populated().unwrap());
        inner.remove().unwrap();
        inner.remove().unwrap();
        cg.remove().unwrap();
        assert!(!cg.path().exists());
    }

    #[test]
    fn a_missing_controller_is_reported_not_fatal() {
        let Some((_, cg)) = scratch("missing") else { return };
        let r = cg.write("nosuchctl.max", b"1\n");
        assert!(matches!(r, Err(WriteError::ControllerMissing(ref c)) if c == "nosuchctl"), "{r:?}");
        cg.remove().unwrap();
    }
}
