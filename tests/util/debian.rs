//! Debian packages fetched at test time with `apt-get download` and
//! unpacked with `dpkg-deb -x` into a temporary directory (never
//! committed, never installed). Without apt or the network the tests
//! that need them print why and skip.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// The unpacked packages: `root` holds their files as `dpkg-deb -x` left
/// them (`root/usr/sbin/...`, `root/etc/...`).
pub struct Debian {
    pub tmp: tempfile::TempDir,
    pub root: PathBuf,
}

impl Debian {
    /// The directory of the packages' systemd units.
    pub fn units(&self) -> PathBuf {
        for d in ["lib/systemd/system", "usr/lib/systemd/system"] {
            let p = self.root.join(d);
            if p.is_dir() {
                return p;
            }
        }
        panic!("no systemd units in the extracted packages under {}", self.root.display());
    }
}

/// Whether a program is on PATH.
pub fn have(program: &str) -> bool {
    Command::new("sh").arg("-c").arg(format!("command -v {program}")).output().is_ok_and(|o| o.status.success())
}

/// Downloads and unpacks `packages`; None (after printing why) when apt
/// or dpkg is missing or the download fails.
pub fn fetch(packages: &[&str]) -> Option<Debian> {
    if !have("apt-get") || !have("dpkg-deb") {
        println!("skipped: apt-get or dpkg-deb is not available");
        return None;
    }
    let tmp = tempfile::Builder::new().prefix("import-debian").tempdir().unwrap();
    let dl = tmp.path().join("debs");
    fs::create_dir(&dl).unwrap();
    // Readable by apt's sandbox user, so apt does not warn.
    fs::set_permissions(tmp.path(), fs::Permissions::from_mode(0o755)).unwrap();
    fs::set_permissions(&dl, fs::Permissions::from_mode(0o777)).unwrap();
    let st = Command::new("apt-get")
        .args(["download", "-q"])
        .args(packages)
        .current_dir(&dl)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    if !st.status.success() {
        println!("skipped: apt-get download failed: {}", String::from_utf8_lossy(&st.stderr).trim());
        return None;
    }
    let root = tmp.path().join("root");
    for e in fs::read_dir(&dl).unwrap().flatten() {
        let ok = Command::new("dpkg-deb").arg("-x").arg(e.path()).arg(&root).status().unwrap();
        assert!(ok.success(), "dpkg-deb -x {}", e.path().display());
    }
    Some(Debian { tmp, root })
}
