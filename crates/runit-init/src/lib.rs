//! `runit-init`: the program installed as `/sbin/init` (see runit-init(8)).
//!
//! As PID 1 (started by the kernel) it replaces itself with `runit`
//! (`/sbin/runit`, settable at build time with `RUNIT_RS_RUNIT`). Otherwise
//! it asks the running runit to shut down: `init 0` halts (power off),
//! `init 6` reboots. It does so by making the stopit file (and, for a reboot,
//! the reboot file) owner-executable and sending SIGCONT to PID 1. Only the
//! first byte of the first argument counts. The files are runit's
//! (`RUNIT_RS_ETC=DIR` moves them, see `runit_runit::config`).

use std::ffi::CString;
use std::fs::{OpenOptions, Permissions};
use std::io;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use nix::sys::signal::Signal;
use nix::unistd::Pid;
use runit_runit::config::{self, Paths};
use unix::msg::{Fatal, Label, ProgramError};
use unix::path_bytes;

/// Exit codes of `runit-init` (see runit-init(8)).
pub mod exit {
    /// Done, and also after printing the usage (as upstream).
    pub const OK: i32 = 0;
    /// A file could not be changed, or runit could not be started.
    pub const FATAL: i32 = 111;
}

/// Why `runit-init` stops without asking runit to act.
#[derive(Debug)]
pub enum InitError {
    /// No `0` or `6`: the usage (after the version line for `-V`), exit 0.
    Usage { argv0: Vec<u8>, version: bool },
    /// `init: fatal: ...`.
    Fatal(Fatal),
}

impl ProgramError for InitError {
    fn exit_code(&self) -> i32 {
        match self {
            InitError::Usage { .. } => exit::OK,
            InitError::Fatal(f) => f.exit_code(),
        }
    }
    fn message(&self) -> Vec<u8> {
        match self {
            InitError::Usage { argv0, version } => {
                let mut v = Vec::new();
                if *version {
                    v.extend_from_slice(concat!("$Id: runit-rs ", env!("CARGO_PKG_VERSION"), " $\n\n").as_bytes());
                }
                v.extend_from_slice(&unix::msg::usage_text(argv0, b"0|6"));
                v
            }
            InitError::Fatal(f) => f.message(),
        }
    }
}

fn fatal(parts: &[&[u8]], e: &io::Error) -> InitError {
    InitError::Fatal(Label::new(b"init").fatal_error(exit::FATAL, parts, Some(e)))
}

/// `runit-init --help`.
pub const HELP: &str = "\
usage: init 0|6

As process 1, runit-init replaces itself with runit. Otherwise it asks
the running runit to shut the system down:

  0           halt (power off)
  6           reboot
  --help      print this help and exit
  --version   print the version and exit

Example:
  init 6
";

/// Entry point of the `runit-init` program: prints and exits, nothing
/// else does.
pub fn main() -> ! {
    let args = unix::getopt::args_bytes();
    if let Some(text) = unix::msg::help_or_version(&args, "runit-init", HELP) {
        unix::msg::print_and_exit(&text);
    }
    match run(&args) {
        Ok(()) => std::process::exit(exit::OK),
        Err(e) => unix::msg::exit_with(&e),
    }
}

/// Does what `args` ask; returns only on success or a failure to report.
pub fn run(args: &[Vec<u8>]) -> Result<(), InitError> {
    let argv0 = args.first().cloned().unwrap_or_else(|| b"init".to_vec());
    if nix::unistd::getpid().as_raw() == 1 {
        return Err(exec_runit());
    }
    let first = args.get(1).and_then(|a| a.first().copied());
    let paths = Paths::from_env();
    match first {
        Some(b'0') => {
            arm(&paths.stopit)?;
            match std::fs::set_permissions(&paths.reboot, Permissions::from_mode(0o000)) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => {
                    return Err(fatal(&[b"unable to chmod ", path_bytes(&paths.reboot)], &e))
                }
                _ => {}
            }
        }
        Some(b'6') => {
            arm(&paths.stopit)?;
            arm(&paths.reboot)?;
        }
        Some(b'-') if args[1].get(1) == Some(&b'V') => return Err(InitError::Usage { argv0, version: true }),
        _ => return Err(InitError::Usage { argv0, version: false }),
    }
    // The result is not checked, as upstream: the files say what to do.
    let _ = nix::sys::signal::kill(Pid::from_raw(1), Signal::SIGCONT);
    Ok(())
}

/// Creates (truncating) `path` and sets its mode to 0100 (owner-execute).
fn arm(path: &Path) -> Result<(), InitError> {
    if let Err(e) =
        OpenOptions::new().write(true).create(true).truncate(true).mode(0o644).custom_flags(libc::O_NONBLOCK).open(path)
    {
        return Err(fatal(&[b"unable to create ", path_bytes(path)], &e));
    }
    std::fs::set_permissions(path, Permissions::from_mode(0o100))
        .map_err(|e| fatal(&[b"unable to chmod ", path_bytes(path)], &e))
}

/// Replaces this process with runit, argv `["runit"]`, same environment;
/// returns only the error.
fn exec_runit() -> InitError {
    let e = match CString::new(config::runit_program()) {
        // An exec in place, no fork: nix may allocate here.
        Ok(path) => match nix::unistd::execv(&path, &[c"runit"]) {
            Err(e) => io::Error::from(e),
            Ok(never) => match never {},
        },
        Err(_) => io::Error::from(nix::errno::Errno::EINVAL),
    };
    fatal(&[b"unable to start runit"], &e)
}
