//! Finding the service directory again after it was removed and recreated
//! (void-linux/runit#25, e.g. a package reinstall).
//!
//! runsv works relative to its working directory, the service directory.
//! When that directory is removed, runit's runsv keeps running `./run` in
//! the deleted directory (which fails) for ever. Before each start we
//! check whether the working directory was removed; if so, and DIR (as
//! given on the command line) names a directory again whose `supervise`
//! is the very directory this runsv holds the lock in, runsv moves there.
//! Any other case stays as runit has it: a recreated directory with a
//! fresh `supervise` belongs to a new runsv, never to this one, so no
//! service ever runs twice under two supervisors.

use std::fs::File;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::sync::OnceLock;

struct Home {
    /// The working directory runsv was started in (DIR may be relative).
    start: File,
    dir: Vec<u8>,
    /// (device, inode) of the `supervise` directory this runsv locked.
    supervise: (u64, u64),
}

static HOME: OnceLock<Home> = OnceLock::new();

/// Records where runsv started and which `supervise` directory it owns.
/// Called once after `supervise/lock` is held; without this nothing moves.
pub fn remember(start: File, dir: &[u8]) {
    if let Ok(m) = std::fs::metadata("supervise") {
        let _ = HOME.set(Home { start, dir: dir.to_vec(), supervise: (m.dev(), m.ino()) });
    }
}

/// If the working directory was removed and DIR leads to a directory whose
/// `supervise` is ours, changes into it. Returns whether it moved.
pub fn reenter_if_removed() -> bool {
    let Some(home) = HOME.get() else { return false };
    match std::fs::metadata(".") {
        Ok(m) if m.nlink() == 0 => {}
        _ => return false,
    }
    let Ok(here) = File::open(".") else { return false };
    let back = || {
        let _ = nix::unistd::fchdir(&here);
    };
    if nix::unistd::fchdir(&home.start).is_err() {
        return false;
    }
    let ours = std::env::set_current_dir(Path::new(std::ffi::OsStr::from_bytes(&home.dir))).is_ok()
        && std::fs::metadata("supervise").is_ok_and(|m| (m.dev(), m.ino()) == home.supervise);
    if !ours {
        back();
    }
    ours
}
