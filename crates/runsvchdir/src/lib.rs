//! `runsvchdir DIR`: switch runsvdir's services directory (runit's
//! runsvchdir(8); ours is described in `man/runsvchdir.8`).
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
use unix::msg::Label;

/// The runsvdir directory when `$RUNSVDIR` is not set.
pub const DEFAULT_DIR: &[u8] = b"/etc/runit/runsvdir";

const CURRENT: &str = "current";
const CURRENT_NEW: &str = "current.new";
const PREVIOUS: &str = "previous";

/// Entry point of the `runsvchdir` program.
pub fn main() -> ! {
    let args: Vec<Vec<u8>> = std::env::args_os().map(OsString::into_vec).collect();
    let argv0 = args.first().cloned().unwrap_or_else(|| b"runsvchdir".to_vec());
    let Some(new) = args.get(1) else { unix::msg::usage(&argv0, b"dir", 1) };
    let wd = std::env::var_os("RUNSVDIR").map(OsString::into_vec).unwrap_or_else(|| DEFAULT_DIR.to_vec());
    let label = Label::new(&argv0);
    std::process::exit(switch(&label, &wd, new))
}

fn ignore_missing(r: io::Result<()>) -> io::Result<()> {
    match r {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        r => r,
    }
}

/// Makes `new` current in the directory `wd`; prints what happened and
/// returns the exit code.
fn switch(label: &Label, wd: &[u8], new: &[u8]) -> i32 {
    let die = |parts: &[&[u8]], e: Option<&io::Error>| -> i32 {
        match e {
            Some(e) => label.fatal_err(parts, e),
            None => label.fatal(parts),
        }
        111
    };
    if new.first() == Some(&b'.') {
        return die(&[new, b": must not start with a dot."], None);
    }
    if let Err(e) = std::env::set_current_dir(OsStr::from_bytes(wd)) {
        return die(&[b"unable to chdir: ", wd], Some(&e));
    }
    let new_path = Path::new(OsStr::from_bytes(new));
    let target = match std::fs::metadata(new_path) {
        Ok(md) => md,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return die(&[new], Some(&e)),
        Err(e) => return die(&[b"unable to stat: ", new], Some(&e)),
    };
    if !target.is_dir() {
        // runit prints no separator here.
        return die(&[new, b"not a directory."], None);
    }
    let current = match std::fs::metadata(CURRENT) {
        Ok(md) => md,
        Err(e) => return die(&[b"unable to stat: current"], Some(&e)),
    };
    if (current.dev(), current.ino()) == (target.dev(), target.ino()) {
        unix::msg::out_line(&[b"runsvchdir: ", new, b": current."]);
        return 0;
    }

    if let Err(e) = ignore_missing(std::fs::remove_file(CURRENT_NEW)) {
        return die(&[b"unable to unlink: current.new"], Some(&e));
    }
    if let Err(e) = std::os::unix::fs::symlink(new_path, CURRENT_NEW) {
        return die(&[b"unable to create: current.new -> ", new], Some(&e));
    }
    if let Err(e) = ignore_missing(std::fs::remove_file(PREVIOUS)) {
        return die(&[b"unable to unlink: previous"], Some(&e));
    }
    match std::fs::read_link(CURRENT) {
        // A symlink: copy it to `previous`, then replace `current` in one
        // rename, so `current` always exists.
        Ok(old) => {
            if let Err(e) = std::os::unix::fs::symlink(&old, PREVIOUS) {
                return die(&[b"unable to copy: current to previous"], Some(&e));
            }
            if let Err(e) = std::fs::rename(CURRENT_NEW, CURRENT) {
                label.fatal_err(&[b"unable to move: current.new to current"], &e);
                // As after runit's failed switch: `current` unchanged, no
                // `previous`.
                let _ = std::fs::remove_file(PREVIOUS);
                return 111;
            }
        }
        // Not a symlink (a directory): runit's two renames.
        Err(_) => {
            if let Err(e) = std::fs::rename(CURRENT, PREVIOUS) {
                return die(&[b"unable to copy: current to previous"], Some(&e));
            }
            if let Err(e) = std::fs::rename(CURRENT_NEW, CURRENT) {
                label.fatal_err(&[b"unable to move: current.new to current"], &e);
                if let Err(e) = std::fs::rename(PREVIOUS, CURRENT) {
                    return die(&[b"unable to move previous back to current"], Some(&e));
                }
                return 111;
            }
        }
    }
    unix::msg::out_line(&[b"runsvchdir: ", new, b": now current."]);
    0
}
