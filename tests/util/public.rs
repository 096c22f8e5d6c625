//! Copies of our binaries that other users can run.
//!
//! Tests that switch to `nobody` (chpst -u, setpriv) exec our binaries as
//! that user. Cargo builds them inside the checkout, which may live in a
//! directory only its owner can enter (`/root`, a `mktemp -d`); then the
//! exec fails with "access denied" whatever the test meant to check. A
//! [`Public`] is a world-readable directory in the system's temporary
//! directory holding copies, removed on drop.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

pub struct Public {
    dir: tempfile::TempDir,
}

impl Public {
    /// An empty directory that every user may enter and read.
    pub fn new() -> Public {
        let dir = tempfile::Builder::new().prefix("runit-rs-public").tempdir().unwrap();
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
        Public { dir }
    }

    /// A directory with copies of the named binaries of ours (see
    /// [`super::bin`]).
    pub fn bins(names: &[&str]) -> Public {
        let p = Public::new();
        for name in names {
            p.copy(&super::bin(name), name);
        }
        p
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `DIR/name`.
    pub fn join(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Copies an executable to `DIR/name`, mode 0755. The copy is made by
    /// a child process (`install`): a descriptor open for writing in this
    /// multi-threaded test process could leak into a sibling test's fork
    /// and make the exec fail with ETXTBSY (see [`super::script`]).
    pub fn copy(&self, from: &Path, name: &str) -> PathBuf {
        let to = self.join(name);
        let st = Command::new("install").arg("-m755").arg(from).arg(&to).status().unwrap();
        assert!(st.success(), "install {} {}", from.display(), to.display());
        to
    }
}

impl Default for Public {
    fn default() -> Self {
        Public::new()
    }
}
