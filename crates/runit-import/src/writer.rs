//! Writing a service directory: everything goes into a temporary directory
//! beside the target (a dotted name, which runsvdir ignores), which is then
//! renamed into place, so a service directory is never seen half-written.
//! With `--force` an existing one is swapped out atomically
//! (`renameat2(RENAME_EXCHANGE)`) and then removed.

use crate::mapping::ServiceDir;
use crate::report::errno_words;
use std::fs;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Every file and directory that `write` would create, with modes and
/// contents, for `--dry-run`.
pub fn describe(dir: &ServiceDir, target: &Path) -> String {
    let mut out = format!("==> {}/ (directory, mode 0755)\n", target.display());
    for d in all_dirs(dir) {
        out.push_str(&format!("==> {}/ (directory, mode 0755)\n", target.join(d).display()));
    }
    for f in &dir.files {
        let path = target.join(&f.path);
        if f.contents.is_empty() {
            out.push_str(&format!("==> {} (mode {:04o}, empty)\n", path.display(), f.mode));
        } else {
            out.push_str(&format!("==> {} (mode {:04o})\n{}", path.display(), f.mode, f.contents));
            if !f.contents.ends_with('\n') {
                out.push('\n');
            }
        }
    }
    out
}

/// The subdirectories to create: those named, and those holding files.
fn all_dirs(dir: &ServiceDir) -> Vec<String> {
    let mut dirs: Vec<String> = dir.dirs.clone();
    for f in &dir.files {
        if let Some((d, _)) = f.path.rsplit_once('/') {
            dirs.push(d.to_string());
        }
    }
    dirs.sort();
    dirs.dedup();
    dirs
}

/// Why `target` may not be written, if it may not.
pub fn check_target(target: &Path, force: bool) -> Result<(), String> {
    if fs::symlink_metadata(target).is_err() {
        return Ok(());
    }
    if !force {
        return Err(format!("{} exists (use --force to replace it)", target.display()));
    }
    if !target.is_dir() {
        return Err(format!("{} exists and is not a directory", target.display()));
    }
    if target.join("supervise").exists() || target.join("log/supervise").exists() {
        return Err(format!(
            "{} has a supervise directory (it is or was supervised): stop it (sv exit) and remove it first",
            target.display()
        ));
    }
    Ok(())
}

fn err(what: &str, p: &Path, e: std::io::Error) -> String {
    format!("unable to {what} {}: {}", p.display(), errno_words(&e))
}

fn fill(tmp: &Path, dir: &ServiceDir) -> Result<(), String> {
    let mut b = fs::DirBuilder::new();
    b.mode(0o755);
    for d in all_dirs(dir) {
        let p = tmp.join(d);
        b.recursive(true).create(&p).map_err(|e| err("create", &p, e))?;
    }
    for f in &dir.files {
        let p = tmp.join(&f.path);
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(f.mode)
            .open(&p)
            .map_err(|e| err("create", &p, e))?;
        file.write_all(f.contents.as_bytes()).map_err(|e| err("write", &p, e))?;
        // The mode as asked for, whatever the umask.
        file.set_permissions(fs::Permissions::from_mode(f.mode)).map_err(|e| err("chmod", &p, e))?;
        file.sync_all().map_err(|e| err("sync", &p, e))?;
    }
    Ok(())
}

/// Writes `dir` as `target`.
pub fn write(dir: &ServiceDir, target: &Path, force: bool) -> Result<(), String> {
    check_target(target, force)?;
    let parent = target.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    fs::DirBuilder::new().recursive(true).mode(0o755).create(parent).map_err(|e| err("create", parent, e))?;
    let name = target.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp: PathBuf = parent.join(format!(".{name}.runit-import.{}", std::process::id()));
    if tmp.exists() {
        fs::remove_dir_all(&tmp).map_err(|e| err("remove", &tmp, e))?;
    }
    fs::DirBuilder::new().mode(0o755).create(&tmp).map_err(|e| err("create", &tmp, e))?;
    let _ = fs::set_permissions(&tmp, fs::Permissions::from_mode(0o755));
    let result = fill(&tmp, dir).and_then(|()| {
        if fs::symlink_metadata(target).is_ok() {
            nix::fcntl::renameat2(
                nix::fcntl::AT_FDCWD,
                &tmp,
                nix::fcntl::AT_FDCWD,
                target,
                nix::fcntl::RenameFlags::RENAME_EXCHANGE,
            )
            .map_err(|e| err("replace", target, std::io::Error::from(e)))
        } else {
            fs::rename(&tmp, target).map_err(|e| err("rename into place", target, e))
        }
    });
    // After an exchange, tmp holds the old directory; after an error, the partial new one.
    if fs::symlink_metadata(&tmp).is_ok() {
        let _ = fs::remove_dir_all(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mapping::OutFile;

    fn sample() -> ServiceDir {
        ServiceDir {
            name: "x".into(),
            dirs: vec!["cgroup".into()],
            files: vec![
                OutFile { path: "run".into(), mode: 0o755, contents: "#!/bin/sh\nexec true\n".into() },
                OutFile { path: "log/run".into(), mode: 0o755, contents: "#!/bin/sh\n".into() },
                OutFile { path: "oneshot".into(), mode: 0o644, contents: String::new() },
            ],
        }
    }

    #[test]
    fn writes_files_with_modes_and_leaves_no_temporary() {
        let d = tempfile::tempdir().unwrap();
        let t = d.path().join("sv/x");
        write(&sample(), &t, false).unwrap();
        assert_eq!(fs::read_to_string(t.join("run")).unwrap(), "#!/bin/sh\nexec true\n");
        assert_eq!(fs::metadata(t.join("run")).unwrap().permissions().mode() & 0o7777, 0o755);
        assert_eq!(fs::metadata(t.join("oneshot")).unwrap().permissions().mode() & 0o7777, 0o644);
        assert!(t.join("cgroup").is_dir() && t.join("log/run").is_file());
        let names: Vec<_> = fs::read_dir(d.path().join("sv")).unwrap().flatten().map(|e| e.file_name()).collect();
        assert_eq!(names, ["x"]);
    }

    #[test]
    fn an_existing_directory_needs_force_and_is_replaced_whole() {
        let d = tempfile::tempdir().unwrap();
        let t = d.path().join("x");
        fs::create_dir(&t).unwrap();
        fs::write(t.join("old"), "").unwrap();
        assert!(write(&sample(), &t, false).unwrap_err().contains("exists (use --force"));
        assert!(t.join("old").exists());
        write(&sample(), &t, true).unwrap();
        assert!(!t.join("old").exists() && t.join("run").exists());
        assert_eq!(fs::read_dir(d.path()).unwrap().count(), 1);
        fs::create_dir(t.join("supervise")).unwrap();
        assert!(write(&sample(), &t, true).unwrap_err().contains("supervise"));
    }

    #[test]
    fn the_description_lists_every_path_mode_and_content() {
        let s = describe(&sample(), Path::new("/etc/sv/x"));
        assert!(s.starts_with("==> /etc/sv/x/ (directory, mode 0755)\n"), "{s}");
        assert!(s.contains("==> /etc/sv/x/cgroup/ (directory, mode 0755)\n"));
        assert!(s.contains("==> /etc/sv/x/run (mode 0755)\n#!/bin/sh\nexec true\n"));
        assert!(s.contains("==> /etc/sv/x/oneshot (mode 0644, empty)\n"));
    }
}
