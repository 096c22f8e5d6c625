//! The opt-in `cgroup/` directory of a service (or of `log/`): run each
//! `./run` and `./finish` in a cgroup v2 of its own, with limits.
//!
//! | Entry | Meaning |
//! |---|---|
//! | `cgroup/` (directory) | contain the service; alone: in `ROOT/NAME` |
//! | `cgroup/path` | the cgroup's location below ROOT instead of `NAME` (one line; a leading `/` is ignored, `..` is refused) |
//! | `cgroup/required` | never run the service uncontained: stay down when the cgroup cannot be set up |
//! | `cgroup/CTRL.FILE` | any other regular file: a kernel interface file (`memory.max`, `pids.max`, `cpu.max`, `io.max`, ...) written verbatim into the cgroup before `./run` starts |
//!
//! ROOT is the unified hierarchy runsv finds (or `RUNIT_CGROUP_ROOT`). NAME
//! is the service directory's name; the log service's cgroup is the
//! SIBLING `NAME.log`, not a child: a child would count in the service's
//! limits and `populated` state, and `cgroup.kill` on the service would end
//! its logger before the logger had read the service's last lines.
//!
//! Names starting with `.` are skipped silently (editor and `.new` files);
//! the core files runsv itself manages (`cgroup.procs`, `cgroup.kill`, ...)
//! and names that are no interface file are reported and skipped.

use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

pub const CGROUP_DIR: &str = "cgroup";
pub const PATH_FILE: &str = "path";
pub const REQUIRED_FILE: &str = "required";
/// Largest interface file accepted (`io.max` lines for a few devices).
pub const MAX_FILE: u64 = 4096;
/// Core files a service may set; every other `cgroup.*` is runsv's.
const CORE_ALLOWED: [&str; 2] = ["cgroup.max.depth", "cgroup.max.descendants"];

/// What one name in `cgroup/` is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Entry {
    Path,
    Required,
    /// A kernel interface file, written into the cgroup.
    Interface,
    /// Skipped without a word (hidden files).
    Hidden,
    /// Skipped with a warning: why.
    Refused(&'static str),
}

/// Classifies a name found in `cgroup/`.
pub fn classify(name: &[u8]) -> Entry {
    if name.first() == Some(&b'.') {
        return Entry::Hidden;
    }
    match name {
        b"path" => return Entry::Path,
        b"required" => return Entry::Required,
        _ => {}
    }
    let Ok(s) = std::str::from_utf8(name) else { return Entry::Refused("not an interface file name") };
    if s.starts_with("cgroup.") {
        return if CORE_ALLOWED.contains(&s) { Entry::Interface } else { Entry::Refused("managed by runsv") };
    }
    let ok_chars = s.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'.' || c == b'_');
    match unix::cgroup::controller_of(s) {
        Some(_) if ok_chars => Entry::Interface,
        _ => Entry::Refused("not an interface file name"),
    }
}

/// `cgroup/path`: one line, a relative location; a leading `/`, empty
/// components and `.` are dropped; `..` and NUL make it invalid.
pub fn parse_path(b: &[u8]) -> Option<PathBuf> {
    let line = b.strip_suffix(b"\n").unwrap_or(b);
    if line.contains(&b'\n') || line.contains(&0) {
        return None;
    }
    let mut out = PathBuf::new();
    for comp in Path::new(std::ffi::OsStr::from_bytes(line)).components() {
        match comp {
            Component::Normal(c) => out.push(c),
            Component::RootDir | Component::CurDir => {}
            Component::ParentDir | Component::Prefix(_) => return None,
        }
    }
    (!out.as_os_str().is_empty()).then_some(out)
}

/// The default location below ROOT: the last component of the service
/// directory as runsv was given it (`cwd`'s when that is `.`, `..` or
/// empty), plus `.log` for the log service.
pub fn default_name(arg: &[u8], cwd: &Path, is_log: bool) -> Option<PathBuf> {
    let from_arg = Path::new(std::ffi::OsStr::from_bytes(arg)).components().next_back().and_then(|c| match c {
        Component::Normal(n) => Some(n.to_os_string()),
        _ => None,
    });
    let mut name = from_arg.or_else(|| cwd.file_name().map(|n| n.to_os_string()))?;
    if is_log {
        name.push(".log");
    }
    Some(PathBuf::from(name))
}

/// The content of a `cgroup/` directory.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CgroupConfig {
    /// From `cgroup/path`; `None`: the default name.
    pub path: Option<PathBuf>,
    pub required: bool,
    /// Interface files by name, in name order, with their bytes.
    pub files: Vec<(String, Vec<u8>)>,
    /// Entries skipped, each a warning for the caller: (name, why).
    pub skipped: Vec<(Vec<u8>, String)>,
}

/// Reads `DIR/cgroup/`: `Ok(None)` when there is no such directory (the
/// service is not contained).
pub fn read(service_dir: &Path) -> io::Result<Option<CgroupConfig>> {
    let dir = service_dir.join(CGROUP_DIR);
    let entries = match std::fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) if matches!(e.raw_os_error(), Some(libc::ENOENT) | Some(libc::ENOTDIR)) => return Ok(None),
        Err(e) => return Err(e),
    };
    let mut cfg = CgroupConfig::default();
    for ent in entries {
        let ent = ent?;
        let name = ent.file_name();
        let nb = name.as_bytes();
        let kind = classify(nb);
        if kind == Entry::Hidden {
            continue;
        }
        if kind == Entry::Required {
            cfg.required = true;
            continue;
        }
        if let Entry::Refused(why) = kind {
            cfg.skipped.push((nb.to_vec(), why.to_string()));
            continue;
        }
        let path = ent.path();
        let is_file = std::fs::symlink_metadata(&path).map(|m| m.is_file())?;
        if !is_file {
            cfg.skipped.push((nb.to_vec(), "not a regular file".into()));
            continue;
        }
        let bytes = match unix::cgroup::read_small(&path, MAX_FILE + 1) {
            Ok(b) if b.len() as u64 <= MAX_FILE => b,
            Ok(_) => {
                cfg.skipped.push((nb.to_vec(), "larger than 4096 bytes".into()));
                continue;
            }
            Err(e) => {
                cfg.skipped.push((nb.to_vec(), unix::errtext::io_text(&e).to_string()));
                continue;
            }
        };
        if kind == Entry::Path {
            match parse_path(&bytes) {
                Some(p) => cfg.path = Some(p),
                None => cfg.skipped.push((nb.to_vec(), "invalid location".into())),
            }
            continue;
        }
        // Only Interface is left; names are ASCII by classify.
        cfg.files.push((String::from_utf8_lossy(nb).into_owned(), bytes));
    }
    cfg.files.sort();
    cfg.skipped.sort();
    Ok(Some(cfg))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn names_are_classified() {
        assert_eq!(classify(b"path"), Entry::Path);
        assert_eq!(classify(b"required"), Entry::Required);
        for ok in ["memory.max", "memory.high", "cpu.max", "pids.max", "io.max", "cpu.weight", "cgroup.max.depth"] {
            assert_eq!(classify(ok.as_bytes()), Entry::Interface, "{ok}");
        }
        for hidden in [".memory.max.swp", ".", ".new"] {
            assert_eq!(classify(hidden.as_bytes()), Entry::Hidden);
        }
        for core in ["cgroup.procs", "cgroup.kill", "cgroup.subtree_control", "cgroup.freeze", "cgroup.threads"] {
            assert_eq!(classify(core.as_bytes()), Entry::Refused("managed by runsv"), "{core}");
        }
        for bad in [&b"README"[..], b"memory.max~", b"memory.", b"x y.max", b"\xff.max"] {
            assert_eq!(classify(bad), Entry::Refused("not an interface file name"), "{bad:?}");
        }
    }

    #[test]
    fn paths_stay_below_the_root() {
        assert_eq!(parse_path(b"web\n"), Some(PathBuf::from("web")));
        assert_eq!(parse_path(b"/system/web/"), Some(PathBuf::from("system/web")));
        assert_eq!(parse_path(b"./a//b"), Some(PathBuf::from("a/b")));
        for bad in [&b""[..], b"/", b"\n", b"../x", b"a/../../b", b"a\nb", b"a\0b", b"a\n\n"] {
            assert_eq!(parse_path(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn default_names() {
        let cwd = Path::new("/etc/sv/web");
        assert_eq!(default_name(b"web", cwd, false), Some(PathBuf::from("web")));
        assert_eq!(default_name(b"/service/web/", cwd, false), Some(PathBuf::from("web")));
        assert_eq!(default_name(b"web", cwd, true), Some(PathBuf::from("web.log")));
        assert_eq!(default_name(b".", cwd, false), Some(PathBuf::from("web")));
        assert_eq!(default_name(b"", cwd, true), Some(PathBuf::from("web.log")));
        assert_eq!(default_name(b".", Path::new("/"), false), None);
    }

    #[test]
    fn a_directory_is_read() {
        let d = tempfile::tempdir().unwrap();
        assert_eq!(read(d.path()).unwrap(), None);
        std::fs::write(d.path().join("cgroup"), "not a dir").unwrap();
        assert_eq!(read(d.path()).unwrap(), None);
        std::fs::remove_file(d.path().join("cgroup")).unwrap();
        let c = d.path().join("cgroup");
        std::fs::create_dir(&c).unwrap();
        assert_eq!(read(d.path()).unwrap(), Some(CgroupConfig::default()));
        std::fs::write(c.join("pids.max"), "20\n").unwrap();
        std::fs::write(c.join("memory.max"), "64M").unwrap();
        std::fs::write(c.join("path"), "/system/web\n").unwrap();
        std::fs::write(c.join("required"), "").unwrap();
        std::fs::write(c.join(".pids.max.swp"), "x").unwrap();
        std::fs::write(c.join("cgroup.procs"), "0").unwrap();
        std::fs::write(c.join("cpu.max"), vec![b'1'; 5000]).unwrap();
        std::fs::create_dir(c.join("io.max")).unwrap();
        let cfg = read(d.path()).unwrap().unwrap();
        assert_eq!(cfg.path, Some(PathBuf::from("system/web")));
        assert!(cfg.required);
        assert_eq!(cfg.files, vec![("memory.max".into(), b"64M".to_vec()), ("pids.max".into(), b"20\n".to_vec())]);
        let skipped: Vec<&[u8]> = cfg.skipped.iter().map(|(n, _)| &n[..]).collect();
        assert_eq!(skipped, vec![&b"cgroup.procs"[..], b"cpu.max", b"io.max"]);
    }

    proptest! {
        #[test]
        fn parsed_paths_never_climb(b in proptest::collection::vec(any::<u8>(), 0..60)) {
            if let Some(p) = parse_path(&b) {
                prop_assert!(p.is_relative());
                prop_assert!(p.components().all(|c| matches!(c, Component::Normal(_))));
            }
        }
    }
}
