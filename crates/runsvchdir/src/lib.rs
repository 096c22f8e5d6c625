//! `runsvchdir DIR`: switch runsvdir's services directory (runit's
//! runsvchdir(8); see man/runsvchdir.8).
//!
//! In the runsvdir directory (`$RUNSVDIR`, as in runit 2.3.0, else
//! `/etc/runit/runsvdir`) the symlink `current` names the active services
//! directory and `previous` the one before; runsvdir is started on
//! `.../current` and picks up the switch. Afterwards `current -> DIR` (the
//! link text exactly as given) and `previous` -> the old `current`.
//!
//! Unlike runit, `current` never disappears during the switch: when it is
//! a symlink, `previous` is made as a copy of it and `current.new` is then
//! renamed over `current` in one step (runit renames `current` away first,
//! so a runsvdir looking in between finds nothing). The end state is the
//! same.

use std::ffi::{OsStr, OsString};
use std::io;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use unix::msg::{Fatal, Label, ProgramError};

/// The runsvdir directory when `$RUNSVDIR` is not set.
pub const DEFAULT_DIR: &[u8] = b"/etc/runit/runsvdir";

const CURRENT: &str = "current";
const CURRENT_NEW: &str = "current.new";
const PREVIOUS: &str = "previous";

/// Exit codes (man/runsvchdir.8).
pub mod code {
    pub const OK: i32 = 0;
    pub const USAGE: i32 = 1;
    pub const FATAL: i32 = 111;
}

/// `runsvchdir --help`.
pub const HELP: &str = "\
usage: runsvchdir dir

Make the services directory dir current for runsvdir: in $RUNSVDIR
(default /etc/runit/runsvdir) the link current then points to dir, and
previous to what current pointed to. dir must not start with a dot.

exit status: 0 done; 1 usage; 111 error.

example:
  runsvchdir single

See runsvchdir(8).
";

/// Why runsvchdir fails: what `main` prints on stderr and the exit code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChdirError {
    /// No argument: runit's usage line (with argv[0] as typed).
    Usage { argv0: Vec<u8> },
    /// `LABEL: fatal: ...` line(s), exit 111.
    Fatal(Fatal),
}

impl ProgramError for ChdirError {
    fn exit_code(&self) -> i32 {
        match self {
            ChdirError::Usage { .. } => code::USAGE,
            ChdirError::Fatal(f) => f.code,
        }
    }

    fn message(&self) -> Vec<u8> {
        match self {
            ChdirError::Usage { argv0 } => unix::msg::usage_text(argv0, b"dir"),
            ChdirError::Fatal(f) => f.text.clone(),
        }
    }
}

/// What a successful run did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Switched {
    /// `DIR` was current already.
    AlreadyCurrent,
    /// `DIR` is current now.
    Now,
}

/// Entry point of the `runsvchdir` program: the only place that exits.
pub fn main() -> ! {
    let args: Vec<Vec<u8>> = std::env::args_os().map(OsString::into_vec).collect();
    if let Some(text) = unix::msg::help_or_version(&args, "runsvchdir", HELP) {
        unix::msg::print_and_exit(&text)
    }
    match run(&args) {
        Ok((new, done)) => {
            let what: &[u8] = match done {
                Switched::AlreadyCurrent => b": current.",
                Switched::Now => b": now current.",
            };
            unix::msg::out_line(&[b"runsvchdir: ", &new, what]);
            std::process::exit(code::OK)
        }
        Err(e) => unix::msg::exit_with(&e),
    }
}

/// The whole program but printing: the directory made current and what
/// happened, or the error.
pub fn run(args: &[Vec<u8>]) -> Result<(Vec<u8>, Switched), ChdirError> {
    let argv0 = args.first().cloned().unwrap_or_else(|| b"runsvchdir".to_vec());
    let Some(new) = args.get(1) else { return Err(ChdirError::Usage { argv0 }) };
    let wd = std::env::var_os("RUNSVDIR").map(OsString::into_vec).unwrap_or_else(|| DEFAULT_DIR.to_vec());
    let label = Label::new(&argv0);
    let done = switch(&label, &wd, new).map_err(ChdirError::Fatal)?;
    Ok((new.clone(), done))
}

fn ignore_missing(r: io::Result<()>) -> io::Result<()> {
    match r {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        r => r,
    }
}

/// Makes `new` current in the directory `wd`.
fn switch(label: &Label, wd: &[u8], new: &[u8]) -> Result<Switched, Fatal> {
    let die = |parts: &[&[u8]], e: Option<&io::Error>| label.fatal_error(code::FATAL, parts, e);
    if new.first() == Some(&b'.') {
        return Err(die(&[new, b": must not start with a dot."], None));
    }
    if let Err(e) = std::env::set_current_dir(OsStr::from_bytes(wd)) {
        return Err(die(&[b"unable to chdir: ", wd], Some(&e)));
    }
    let new_path = Path::new(OsStr::from_bytes(new));
    let target = match std::fs::metadata(new_path) {
        Ok(md) => md,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(die(&[new], Some(&e))),
        Err(e) => return Err(die(&[b"unable to stat: ", new], Some(&e))),
    };
    if !target.is_dir() {
        // runit prints no separator here.
        return Err(die(&[new, b"not a directory."], None));
    }
    let current = std::fs::metadata(CURRENT).map_err(|e| die(&[b"unable to stat: current"], Some(&e)))?;
    if (current.dev(), current.ino()) == (target.dev(), target.ino()) {
        return Ok(Switched::AlreadyCurrent);
    }

    ignore_missing(std::fs::remove_file(CURRENT_NEW))
        .map_err(|e| die(&[b"unable to unlink: current.new"], Some(&e)))?;
    std::os::unix::fs::symlink(new_path, CURRENT_NEW)
        .map_err(|e| die(&[b"unable to create: current.new -> ", new], Some(&e)))?;
    ignore_missing(std::fs::remove_file(PREVIOUS)).map_err(|e| die(&[b"unable to unlink: previous"], Some(&e)))?;
    match std::fs::read_link(CURRENT) {
        // A symlink: copy it to `previous`, then replace `current` in one
        // rename, so `current` always exists.
        Ok(old) => {
            std::os::unix::fs::symlink(&old, PREVIOUS)
                .map_err(|e| die(&[b"unable to copy: current to previous"], Some(&e)))?;
            if let Err(e) = std::fs::rename(CURRENT_NEW, CURRENT) {
                // As after runit's failed switch: `current` unchanged, no
                // `previous`.
                let _ = std::fs::remove_file(PREVIOUS);
                return Err(die(&[b"unable to move: current.new to current"], Some(&e)));
            }
        }
        // Not a symlink (a directory): runit's two renames.
        Err(_) => {
            std::fs::rename(CURRENT, PREVIOUS).map_err(|e| die(&[b"unable to copy: current to previous"], Some(&e)))?;
            if let Err(e) = std::fs::rename(CURRENT_NEW, CURRENT) {
                let mut failed = die(&[b"unable to move: current.new to current"], Some(&e));
                if let Err(e) = std::fs::rename(PREVIOUS, CURRENT) {
                    // Both lines, as runit prints them.
                    failed.text.extend(die(&[b"unable to move previous back to current"], Some(&e)).text);
                }
                return Err(failed);
            }
        }
    }
    Ok(Switched::Now)
}
