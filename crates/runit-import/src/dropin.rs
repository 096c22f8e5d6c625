//! Finding a unit (by path, or by name in the unit directories, an
//! instance through its template) and merging its drop-ins
//! (`NAME.service.d/*.conf`, the template's, the `foo-.service.d` prefix
//! directories and `service.d`) the way systemd does: every `.conf` name
//! once (the directory first in the search path wins), applied in the
//! order of their names after the unit file itself, so later assignments
//! win and an empty one resets a list.

use crate::report::errno_words;
use crate::specifiers::UnitName;
use crate::unit::{self, Assignment};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The standard unit directories, most important first.
pub const UNIT_DIRS: [&str; 5] = [
    "/etc/systemd/system",
    "/run/systemd/system",
    "/usr/local/lib/systemd/system",
    "/lib/systemd/system",
    "/usr/lib/systemd/system",
];

const UNIT_TYPES: [&str; 11] =
    ["service", "socket", "target", "device", "mount", "automount", "swap", "timer", "path", "slice", "scope"];

/// A unit read with its drop-ins.
#[derive(Debug)]
pub struct Loaded {
    pub name: UnitName,
    pub file: PathBuf,
    pub assignments: Vec<Assignment>,
}

/// Completes a name given on the command line: `ssh` is `ssh.service`.
pub fn unit_name(arg: &str) -> Result<UnitName, String> {
    let full = match arg.rsplit_once('.') {
        Some((_, t)) if UNIT_TYPES.contains(&t) => arg.to_string(),
        _ => format!("{arg}.service"),
    };
    let name = UnitName::parse(&full).ok_or_else(|| format!("{arg:?} is not a unit name"))?;
    if name.suffix != "service" && name.suffix != "socket" {
        return Err(format!(
            "{} units have no runit counterpart (only .service and .socket are converted)",
            name.suffix
        ));
    }
    if name.is_bare_template() {
        return Err(format!(
            "{full} is a template: name an instance, as {}INSTANCE.{}",
            &full[..full.len() - name.suffix.len() - 1],
            name.suffix
        ));
    }
    Ok(name)
}

/// Finds the unit file for `arg` (a path when it holds a `/`) and the
/// directories its drop-ins are looked for in.
pub fn resolve(arg: &str, dirs: &[PathBuf]) -> Result<(UnitName, PathBuf, Vec<PathBuf>), String> {
    if arg.contains('/') {
        let path = Path::new(arg);
        let file_name =
            path.file_name().and_then(|f| f.to_str()).ok_or_else(|| format!("{arg}: not a unit file name"))?;
        let name = unit_name(file_name)?;
        let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let file = if path.exists() || name.instance.is_none() {
            path.to_path_buf()
        } else {
            dir.join(name.template().expect("instance has a template"))
        };
        return Ok((name, file, vec![dir]));
    }
    let name = unit_name(arg)?;
    let mut candidates = vec![name.full.clone()];
    candidates.extend(name.template());
    for candidate in &candidates {
        for d in dirs {
            let p = d.join(candidate);
            if std::fs::symlink_metadata(&p).is_ok() {
                return Ok((alias_target(name, &p), p, dirs.to_vec()));
            }
        }
    }
    let searched: Vec<String> = dirs.iter().map(|d| d.display().to_string()).collect();
    Err(format!("no unit file {} in {}", candidates.join(" or "), searched.join(", ")))
}

/// An alias (`sshd.service -> .../ssh.service`, as `Alias=` installs it)
/// is the unit it points to, as in systemd: that name, its drop-ins.
fn alias_target(name: UnitName, path: &Path) -> UnitName {
    let target = std::fs::read_link(path).ok().and_then(|t| t.file_name().map(|f| f.to_string_lossy().into_owned()));
    match target.and_then(|t| UnitName::parse(&t)) {
        Some(t) if t.suffix == name.suffix && t.full != name.full && !t.is_bare_template() => t,
        // An alias of a template, for an instance: the template's instance.
        Some(t) if t.suffix == name.suffix && t.is_bare_template() && name.instance.is_some() => {
            UnitName::parse(&format!("{}@{}.{}", t.prefix, name.instance.clone().unwrap_or_default(), t.suffix))
                .unwrap_or(name)
        }
        _ => name,
    }
}

/// The drop-in directory names for a unit, most specific first.
fn dropin_dir_names(name: &UnitName) -> Vec<String> {
    let mut out = vec![format!("{}.d", name.full)];
    if let Some(t) = name.template() {
        out.push(format!("{t}.d"));
    }
    // foo-bar-baz.service: foo-bar-.service.d, then foo-.service.d.
    let parts: Vec<&str> = name.prefix.split('-').collect();
    for n in (1..parts.len()).rev() {
        out.push(format!("{}-.{}.d", parts[..n].join("-"), name.suffix));
    }
    out.push(format!("{}.d", name.suffix));
    out
}

/// Reads the unit file and its drop-ins.
pub fn load(name: UnitName, file: PathBuf, dirs: &[PathBuf]) -> Result<Loaded, String> {
    if std::fs::canonicalize(&file).is_ok_and(|p| p == Path::new("/dev/null")) {
        return Err(format!("{} is masked (a link to /dev/null)", file.display()));
    }
    let text = read(&file)?;
    let mut assignments = unit::parse(&text, &file).map_err(|e| e.to_string())?;
    let mut confs: BTreeMap<String, PathBuf> = BTreeMap::new();
    for d in dirs {
        for sub in dropin_dir_names(&name) {
            let Ok(rd) = std::fs::read_dir(d.join(&sub)) else { continue };
            for e in rd.flatten() {
                let f = e.file_name().to_string_lossy().into_owned();
                if f.ends_with(".conf") {
                    confs.entry(f).or_insert_with(|| e.path());
                }
            }
        }
    }
    for path in confs.values() {
        if std::fs::canonicalize(path).is_ok_and(|p| p == Path::new("/dev/null")) {
            continue; // a masked drop-in
        }
        let text = read(path)?;
        assignments.extend(unit::parse(&text, path).map_err(|e| e.to_string())?);
    }
    Ok(Loaded { name, file, assignments })
}

fn read(path: &Path) -> Result<String, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("unable to read {}: {}", path.display(), errno_words(&e)))?;
    String::from_utf8(bytes).map_err(|_| format!("{}: not UTF-8 text", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn names_complete_to_services_and_other_types_are_refused() {
        assert_eq!(unit_name("ssh").unwrap().full, "ssh.service");
        assert_eq!(unit_name("ssh.socket").unwrap().full, "ssh.socket");
        assert_eq!(unit_name("foo.bar").unwrap().full, "foo.bar.service");
        assert!(unit_name("apt-daily.timer").unwrap_err().contains("timer units"));
        assert!(unit_name("getty@.service").unwrap_err().contains("template"));
    }

    #[test]
    fn the_first_directory_wins_and_instances_use_the_template() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        fs::write(a.path().join("x.service"), "[Service]\nExecStart=/a\n").unwrap();
        fs::write(b.path().join("x.service"), "[Service]\nExecStart=/b\n").unwrap();
        fs::write(b.path().join("getty@.service"), "[Service]\nExecStart=/g %i\n").unwrap();
        let dirs = vec![a.path().to_path_buf(), b.path().to_path_buf()];
        let (_, f, _) = resolve("x", &dirs).unwrap();
        assert_eq!(f, a.path().join("x.service"));
        let (n, f, _) = resolve("getty@tty1", &dirs).unwrap();
        assert_eq!((n.full.as_str(), f), ("getty@tty1.service", b.path().join("getty@.service")));
        assert!(resolve("nothing", &dirs).unwrap_err().starts_with("no unit file nothing.service in "));
        // A path to an instance that does not exist as a file uses the template beside it.
        let arg = b.path().join("getty@tty2.service");
        let (n, f, _) = resolve(arg.to_str().unwrap(), &dirs).unwrap();
        assert_eq!((n.instance.as_deref(), f), (Some("tty2"), b.path().join("getty@.service")));
    }

    #[test]
    fn an_alias_link_is_the_unit_it_points_to() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        fs::write(b.path().join("rsyslog.service"), "[Service]\nExecStart=/r\n").unwrap();
        std::os::unix::fs::symlink(b.path().join("rsyslog.service"), a.path().join("syslog.service")).unwrap();
        let dirs = vec![a.path().to_path_buf(), b.path().to_path_buf()];
        let (n, f, _) = resolve("syslog", &dirs).unwrap();
        assert_eq!(n.full, "rsyslog.service");
        assert_eq!(f, a.path().join("syslog.service"));
        // A masked unit stays what it was asked as, and load refuses it.
        std::os::unix::fs::symlink("/dev/null", a.path().join("masked.service")).unwrap();
        let (n, f, d) = resolve("masked", &dirs).unwrap();
        assert_eq!(n.full, "masked.service");
        assert!(load(n, f, &d).unwrap_err().contains("masked"));
    }

    #[test]
    fn dropins_merge_in_name_order_with_the_first_directory_winning() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        fs::write(b.path().join("foo-bar@.service"), "[Service]\nUser=base\n").unwrap();
        for (dir, sub, file, text) in [
            (&b, "foo-bar@.service.d", "20-b.conf", "[Service]\nUser=template\n"),
            (&b, "foo-bar@i.service.d", "30-c.conf", "[Service]\nUser=lost\n"),
            (&a, "foo-bar@i.service.d", "30-c.conf", "[Service]\nUser=etc\n"),
            (&b, "foo-.service.d", "10-a.conf", "[Service]\nUser=prefix\n"),
            (&b, "service.d", "05-all.conf", "[Service]\nUser=all\n"),
            (&b, "service.d", "99-x.txt", "[Service]\nUser=not-a-conf\n"),
        ] {
            fs::create_dir_all(dir.path().join(sub)).unwrap();
            fs::write(dir.path().join(sub).join(file), text).unwrap();
        }
        let dirs = vec![a.path().to_path_buf(), b.path().to_path_buf()];
        let (n, f, d) = resolve("foo-bar@i", &dirs).unwrap();
        let l = load(n, f, &d).unwrap();
        let users: Vec<&str> = l.assignments.iter().map(|a| a.value.as_str()).collect();
        assert_eq!(users, ["base", "all", "prefix", "template", "etc"]);
    }

    #[test]
    fn unreadable_and_malformed_files_are_errors() {
        let a = tempfile::tempdir().unwrap();
        fs::write(a.path().join("bad.service"), "[Service]\nno equals\n").unwrap();
        let dirs = vec![a.path().to_path_buf()];
        let (n, f, d) = resolve("bad", &dirs).unwrap();
        assert!(load(n, f, &d).unwrap_err().ends_with("bad.service:2: missing '=': no equals"));
        let n = unit_name("gone").unwrap();
        let e = load(n, a.path().join("gone.service"), &dirs).unwrap_err();
        assert!(e.contains("unable to read") && e.ends_with("file does not exist"), "{e}");
    }
}
