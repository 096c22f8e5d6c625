//! Where runit's files are, and whether it runs as a container's init.
//!
//! Every path has a build-time default (set with an environment variable when
//! compiling, read through `option_env!`), falling back to upstream runit's:
//!
//! | build-time variable | default |
//! |---|---|
//! | `RUNIT_RS_STAGE1`, `RUNIT_RS_STAGE2`, `RUNIT_RS_STAGE3` | `/etc/runit/1`, `2`, `3` |
//! | `RUNIT_RS_CTRLALTDEL` | `/etc/runit/ctrlaltdel` |
//! | `RUNIT_RS_STOPIT` | `/etc/runit/stopit` (Debian: `/run/runit.stopit`) |
//! | `RUNIT_RS_REBOOT` | `/etc/runit/reboot` (Debian: `/run/runit.reboot`) |
//! | `RUNIT_RS_NOSYNC` | `/etc/runit/nosync` |
//! | `RUNIT_RS_RUNIT` | `/sbin/runit` (what `runit-init` execs as PID 1) |
//! | `RUNIT_RS_SVDIR` | `/etc/service` (the built-in stage 3's services directory) |
//!
//! At run time one variable moves all seven runit files at once:
//! `RUNIT_RS_ETC=DIR` means `DIR/1`, `DIR/2`, `DIR/3`, `DIR/ctrlaltdel`,
//! `DIR/stopit`, `DIR/reboot` and `DIR/nosync`. runit reads it only once it
//! knows it is PID 1; `runit-init` reads it too, so that `runit-init 0`
//! creates the stopit file the running runit looks at.

use std::ffi::OsString;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The run-time override of the directory holding runit's files.
pub const ETC_VAR: &str = "RUNIT_RS_ETC";
/// `1` forces container mode on, `0` off; unset (or anything else): detect.
pub const CONTAINER_VAR: &str = "RUNIT_RS_CONTAINER";
/// Container mode's grace period in seconds (decimal fractions allowed).
pub const GRACE_VAR: &str = "RUNIT_RS_GRACE";
/// Services directory of the built-in stage 3 (then `SVDIR`, then the default).
pub const SVDIR_VAR: &str = "RUNIT_RS_SVDIR";
/// A file whose decimal contents, if present at exit, become the exit code.
pub const EXIT_FILE_VAR: &str = "RUNIT_RS_EXIT_FILE";

/// The default grace period, below docker's and podman's 10 s stop timeout.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(8);
/// Exit code of a container whose init was asked to reboot (`runit-init 6`);
/// the same number a shell shows for an init that called `reboot()` inside a
/// PID namespace (the kernel reports it killed by SIGHUP: 128 + 1).
pub const REBOOT_EXIT: i32 = 129;

/// The inode of the initial PID namespace (`PROC_PID_INIT_INO`, fixed by the
/// kernel since Linux 3.8).
const INIT_PID_NS_INO: u64 = 0xEFFF_FFFC;

/// The files runit and runit-init act on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Paths {
    pub stage: [PathBuf; 3],
    pub ctrlaltdel: PathBuf,
    pub stopit: PathBuf,
    pub reboot: PathBuf,
    pub nosync: PathBuf,
}

impl Paths {
    /// The build-time paths.
    pub fn built_in() -> Paths {
        Paths {
            stage: [
                PathBuf::from(option_env!("RUNIT_RS_STAGE1").unwrap_or("/etc/runit/1")),
                PathBuf::from(option_env!("RUNIT_RS_STAGE2").unwrap_or("/etc/runit/2")),
                PathBuf::from(option_env!("RUNIT_RS_STAGE3").unwrap_or("/etc/runit/3")),
            ],
            ctrlaltdel: PathBuf::from(option_env!("RUNIT_RS_CTRLALTDEL").unwrap_or("/etc/runit/ctrlaltdel")),
            stopit: PathBuf::from(option_env!("RUNIT_RS_STOPIT").unwrap_or("/etc/runit/stopit")),
            reboot: PathBuf::from(option_env!("RUNIT_RS_REBOOT").unwrap_or("/etc/runit/reboot")),
            nosync: PathBuf::from(option_env!("RUNIT_RS_NOSYNC").unwrap_or("/etc/runit/nosync")),
        }
    }

    /// All files in one directory (the `RUNIT_RS_ETC` layout).
    pub fn in_dir(dir: &Path) -> Paths {
        Paths {
            stage: [dir.join("1"), dir.join("2"), dir.join("3")],
            ctrlaltdel: dir.join("ctrlaltdel"),
            stopit: dir.join("stopit"),
            reboot: dir.join("reboot"),
            nosync: dir.join("nosync"),
        }
    }

    /// `RUNIT_RS_ETC` if set and non-empty, else the build-time paths.
    pub fn from_env() -> Paths {
        match std::env::var_os(ETC_VAR) {
            Some(d) if !d.is_empty() => Paths::in_dir(Path::new(&d)),
            _ => Paths::built_in(),
        }
    }
}

/// The program `runit-init` execs when it is PID 1.
pub fn runit_program() -> &'static str {
    option_env!("RUNIT_RS_RUNIT").unwrap_or("/sbin/runit")
}

/// Whether `path` exists and its owner-execute bit is set (how runit reads
/// the stopit, reboot and ctrlaltdel files).
pub fn owner_executable(path: &Path) -> bool {
    std::fs::metadata(path).map(|m| m.mode() & 0o100 != 0).unwrap_or(false)
}

/// `Some(true)` in the initial PID namespace, `Some(false)` in any other,
/// `None` when `/proc` cannot tell (not mounted yet, as early in a boot).
pub fn initial_pid_namespace() -> Option<bool> {
    std::fs::metadata("/proc/self/ns/pid").ok().map(|m| m.ino() == INIT_PID_NS_INO)
}

/// Why container mode is on or off, for the boot message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ContainerReason {
    /// `RUNIT_RS_CONTAINER=1` or `=0`.
    Forced,
    /// `/proc/self/ns/pid` is (or is not) the initial PID namespace.
    Namespace,
    /// No `/proc`: `/.dockerenv`, `/run/.containerenv` or `container=` decided.
    Markers,
}

/// Decides container mode: the explicit variable first; then the PID
/// namespace (a real machine's init always runs in the initial one); when
/// `/proc` is not available, the markers container engines leave.
pub fn container_mode(
    var: Option<&[u8]>,
    initial_ns: Option<bool>,
    markers: impl FnOnce() -> bool,
) -> (bool, ContainerReason) {
    match var {
        Some(b"1") => return (true, ContainerReason::Forced),
        Some(b"0") => return (false, ContainerReason::Forced),
        _ => {}
    }
    match initial_ns {
        Some(initial) => (!initial, ContainerReason::Namespace),
        None => (markers(), ContainerReason::Markers),
    }
}

/// Whether the files or variable container engines leave behind are there.
pub fn container_markers() -> bool {
    Path::new("/.dockerenv").exists()
        || Path::new("/run/.containerenv").exists()
        || std::env::var_os("container").is_some_and(|v| !v.is_empty())
}

/// Parses a grace period: decimal seconds, optionally with a fraction
/// (`8`, `2.5`), at most one hour.
pub fn parse_grace(s: &[u8]) -> Option<Duration> {
    let (int, frac) = match s.iter().position(|&b| b == b'.') {
        Some(i) => (&s[..i], &s[i + 1..]),
        None => (s, &b""[..]),
    };
    if int.is_empty() || int.len() > 4 || !int.iter().all(u8::is_ascii_digit) || !frac.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let secs: u64 = std::str::from_utf8(int).ok()?.parse().ok()?;
    let mut nanos: u64 = 0;
    let mut scale = 100_000_000;
    for &d in frac.iter().take(9) {
        nanos += u64::from(d - b'0') * scale;
        scale /= 10;
    }
    let d = Duration::new(secs, nanos as u32);
    (d <= Duration::from_secs(3600)).then_some(d)
}

/// Parses an exit-code file: a decimal number 0..=255, optional whitespace.
pub fn parse_exit_code(s: &[u8]) -> Option<i32> {
    let t = s.trim_ascii();
    if t.is_empty() || t.len() > 3 || !t.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let n: i32 = std::str::from_utf8(t).ok()?.parse().ok()?;
    (n <= 255).then_some(n)
}

/// Container mode's settings.
#[derive(Clone, Debug)]
pub struct Container {
    pub grace: Duration,
    pub svdir: PathBuf,
    pub exit_file: Option<PathBuf>,
}

impl Container {
    /// Reads `RUNIT_RS_GRACE`, `RUNIT_RS_SVDIR` (or `SVDIR`) and
    /// `RUNIT_RS_EXIT_FILE`; a bad grace value falls back to the default.
    pub fn from_env() -> Container {
        let grace = std::env::var_os(GRACE_VAR).and_then(|v| parse_grace(v.as_bytes())).unwrap_or(DEFAULT_GRACE);
        let nonempty = |v: Option<OsString>| v.filter(|v| !v.is_empty());
        let svdir = nonempty(std::env::var_os(SVDIR_VAR))
            .or_else(|| nonempty(std::env::var_os("SVDIR")))
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(option_env!("RUNIT_RS_SVDIR").unwrap_or("/etc/service")));
        let exit_file = nonempty(std::env::var_os(EXIT_FILE_VAR)).map(PathBuf::from);
        Container { grace, svdir, exit_file }
    }

    /// The exit code stored in the exit file, if any.
    pub fn stored_exit_code(&self) -> Option<i32> {
        let f = self.exit_file.as_ref()?;
        parse_exit_code(&std::fs::read(f).ok()?)
    }
}

/// The bytes of an environment value, for [`container_mode`].
pub fn env_bytes(name: &str) -> Option<Vec<u8>> {
    std::env::var_os(name).map(OsStringExt::into_vec)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_directory_holds_every_file() {
        let p = Paths::in_dir(Path::new("/tmp/x"));
        assert_eq!(p.stage[0], Path::new("/tmp/x/1"));
        assert_eq!(p.stage[2], Path::new("/tmp/x/3"));
        assert_eq!(p.stopit, Path::new("/tmp/x/stopit"));
        assert_eq!(p.nosync, Path::new("/tmp/x/nosync"));
    }

    #[test]
    fn built_in_paths_are_upstreams() {
        let p = Paths::built_in();
        assert_eq!(p.stage[1], Path::new("/etc/runit/2"));
        assert_eq!(p.ctrlaltdel, Path::new("/etc/runit/ctrlaltdel"));
        assert_eq!(p.reboot, Path::new("/etc/runit/reboot"));
        assert_eq!(runit_program(), "/sbin/runit");
    }

    #[test]
    fn container_mode_prefers_the_variable_then_the_namespace() {
        assert_eq!(container_mode(Some(b"1"), Some(true), || false), (true, ContainerReason::Forced));
        assert_eq!(container_mode(Some(b"0"), Some(false), || true), (false, ContainerReason::Forced));
        assert_eq!(container_mode(Some(b"yes"), Some(false), || false), (true, ContainerReason::Namespace));
        assert_eq!(container_mode(None, Some(true), || true), (false, ContainerReason::Namespace));
        assert_eq!(container_mode(None, None, || true), (true, ContainerReason::Markers));
        assert_eq!(container_mode(None, None, || false), (false, ContainerReason::Markers));
    }

    #[test]
    fn grace_periods_parse_as_decimal_seconds() {
        assert_eq!(parse_grace(b"8"), Some(Duration::from_secs(8)));
        assert_eq!(parse_grace(b"2.5"), Some(Duration::from_millis(2500)));
        assert_eq!(parse_grace(b"0.125"), Some(Duration::from_millis(125)));
        assert_eq!(parse_grace(b"3."), Some(Duration::from_secs(3)));
        for bad in [&b""[..], b"-1", b"x", b".5", b"1e3", b"99999", b"1.2.3"] {
            assert_eq!(parse_grace(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn exit_code_files_hold_one_small_number() {
        assert_eq!(parse_exit_code(b"3\n"), Some(3));
        assert_eq!(parse_exit_code(b" 255 "), Some(255));
        for bad in [&b""[..], b"256", b"-1", b"abc", b"1 2"] {
            assert_eq!(parse_exit_code(bad), None, "{bad:?}");
        }
    }
}
