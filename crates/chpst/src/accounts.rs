//! Looking up a user or group by name, as glibc's `getpwnam`/`getgrnam`
//! would answer, without glibc's NSS machinery in the process.
//!
//! chpst is linked statically (it starts before every service, and a
//! dynamically linked Rust program starts measurably slower than runit's
//! C chpst: see bench/README.md). A static glibc cannot use NSS modules
//! safely (`libnss_systemd` loaded into a static chpst crashed it), so the
//! lookup is done here, in the same order NSS would do it:
//!
//! - `/etc/nsswitch.conf` (read after `-/`, so inside the new root) is
//!   consulted for the database. When its first source is `files` with no
//!   action item after it, `/etc/passwd` (or `/etc/group`) is searched
//!   here; a name found there is NSS's answer too (default action
//!   `[SUCCESS=return]`). When `files` is the only source, a name missing
//!   there is unknown.
//! - Otherwise (a name `files` lacks and more sources follow, another
//!   source first, action items) the system's own `getent` answers, a
//!   dynamically linked glibc program that loads the configured NSS
//!   modules exactly as a dynamically linked chpst would.
//! - Without `/etc/nsswitch.conf`, or without a line for the database,
//!   glibc reads the files: so do we.

use std::io;
use std::os::unix::ffi::OsStrExt;
use std::process::{Command, Stdio};

/// The outcome of one passwd/group lookup.
#[derive(Debug)]
pub enum Lookup<T> {
    Found(T),
    Missing,
    Failed(io::Error),
}

/// What `/etc/nsswitch.conf` says about one database.
#[derive(Debug, PartialEq, Eq)]
pub enum Sources {
    /// `files` alone (or no line at all: glibc's default).
    FilesOnly,
    /// `files`, then other sources with the default actions.
    FilesFirst,
    /// Anything else: only glibc can tell.
    Other,
}

/// The sources `conf` (an nsswitch.conf) names for database `db`.
pub fn sources(conf: &[u8], db: &[u8]) -> Sources {
    for line in conf.split(|&b| b == b'\n') {
        let line = line.split(|&b| b == b'#').next().unwrap_or(b"");
        let Some(colon) = line.iter().position(|&b| b == b':') else { continue };
        if !line[..colon].trim_ascii().eq_ignore_ascii_case(db) {
            continue;
        }
        let mut words = line[colon + 1..].split(|b| b.is_ascii_whitespace()).filter(|w| !w.is_empty());
        return match (words.next(), words.next()) {
            (None, _) => Sources::FilesOnly,
            (Some(b"files"), None) => Sources::FilesOnly,
            (Some(b"files"), Some(next)) if !next.starts_with(b"[") => Sources::FilesFirst,
            _ => Sources::Other,
        };
    }
    Sources::FilesOnly
}

/// `name`'s uid and gid, as `getpwnam` answers.
pub fn passwd(name: &[u8]) -> Lookup<(u32, u32)> {
    lookup(b"passwd", b"/etc/passwd", name, |f| Some((number(f.get(2)?)?, number(f.get(3)?)?)))
}

/// `name`'s gid, as `getgrnam` answers.
pub fn group(name: &[u8]) -> Lookup<u32> {
    lookup(b"group", b"/etc/group", name, |f| number(f.get(2)?))
}

fn lookup<T>(db: &[u8], file: &[u8], name: &[u8], ids: impl Fn(&[&[u8]]) -> Option<T>) -> Lookup<T> {
    if name.contains(&0) {
        return Lookup::Missing;
    }
    let sources = match std::fs::read("/etc/nsswitch.conf") {
        Ok(conf) => sources(&conf, db),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Sources::FilesOnly,
        Err(e) => return Lookup::Failed(e),
    };
    if sources != Sources::Other {
        // An unreadable file is glibc's UNAVAIL: the error when `files`
        // is alone, the next source's answer otherwise.
        match std::fs::read(std::ffi::OsStr::from_bytes(file)) {
            Ok(text) => {
                if let Some(found) = find(&text, name, &ids) {
                    return Lookup::Found(found);
                }
                if sources == Sources::FilesOnly {
                    return Lookup::Missing;
                }
            }
            Err(e) if sources == Sources::FilesOnly => return Lookup::Failed(e),
            Err(_) => {}
        }
    }
    getent(db, name, &ids)
}

/// The ids on the first well-formed line of a passwd/group file that
/// names `name` (glibc's files source skips blank, comment and malformed
/// lines).
pub fn find<T>(text: &[u8], name: &[u8], ids: impl Fn(&[&[u8]]) -> Option<T>) -> Option<T> {
    text.split(|&b| b == b'\n').find_map(|line| {
        let line = line.trim_ascii_start();
        if line.is_empty() || line[0] == b'#' {
            return None;
        }
        let fields: Vec<&[u8]> = line.split(|&b| b == b':').collect();
        if fields[0] != name {
            return None;
        }
        ids(&fields)
    })
}

fn number(s: &[u8]) -> Option<u32> {
    crate::ids::number(s)
}

/// Asks the system's `getent` (glibc's NSS, with every configured module).
/// Exit 2 is "not found"; the answer must name the account asked for
/// (`getent` takes an all-digit key as an id, `getpwnam` never does).
fn getent<T>(db: &[u8], name: &[u8], ids: &impl Fn(&[&[u8]]) -> Option<T>) -> Lookup<T> {
    let os = std::ffi::OsStr::from_bytes;
    let mut last = io::Error::from(io::ErrorKind::NotFound);
    for path in ["/usr/bin/getent", "/bin/getent"] {
        let out = Command::new(path)
            .arg("--")
            .arg(os(db))
            .arg(os(name))
            // Pipes, not /dev/null: a new root may have no /dev.
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .and_then(|child| child.wait_with_output());
        let out = match out {
            Ok(out) => out,
            Err(e) => {
                last = e;
                continue;
            }
        };
        return match out.status.code() {
            Some(0) => find(&out.stdout, name, ids).map_or(Lookup::Missing, Lookup::Found),
            Some(2) => Lookup::Missing,
            _ => Lookup::Failed(io::Error::from_raw_os_error(libc::EIO)),
        };
    }
    Lookup::Failed(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_alone_or_first_is_read_here_anything_else_asks_glibc() {
        let conf =
            b"# passwd: sss\npasswd:   files systemd # comment\ngroup: files\nshadow: files [NOTFOUND=return] nis\n";
        assert_eq!(sources(conf, b"passwd"), Sources::FilesFirst);
        assert_eq!(sources(conf, b"group"), Sources::FilesOnly);
        assert_eq!(sources(conf, b"shadow"), Sources::Other);
        assert_eq!(sources(conf, b"gshadow"), Sources::FilesOnly);
        assert_eq!(sources(b"passwd: sss files\n", b"passwd"), Sources::Other);
        assert_eq!(sources(b"passwd: compat\n", b"passwd"), Sources::Other);
        assert_eq!(sources(b"group: files [SUCCESS=merge] systemd\n", b"group"), Sources::Other);
        assert_eq!(sources(b"PASSWD:files\n", b"passwd"), Sources::FilesOnly);
        assert_eq!(sources(b"passwd:\n", b"passwd"), Sources::FilesOnly);
    }

    #[test]
    fn the_first_well_formed_line_with_the_name_wins() {
        let pw = |f: &[&[u8]]| Some((number(f.get(2)?)?, number(f.get(3)?)?));
        let text =
            b"root:x:0:0::/:/bin/sh\n# svc:x:1:1::/:\n\nsvc:x:bad:1::/:\n  svc:x:42:43::/:/bin/sh\nsvc:x:5:5::/:\n";
        assert_eq!(find(text, b"svc", pw), Some((42, 43)));
        assert_eq!(find(text, b"root", pw), Some((0, 0)));
        assert_eq!(find(text, b"sv", pw), None);
        assert_eq!(find(text, b"", pw), None);
        assert_eq!(find(b"g:x:7:a,b", b"g", |f: &[&[u8]]| number(f.get(2)?)), Some(7));
    }
}
