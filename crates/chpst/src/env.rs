//! The program's environment: reading an env directory into staged edits,
//! and applying the edits to chpst's own environment the way runit does.
//!
//! An edit is `NAME=VALUE` (set) or `NAME` (remove). Applying one removes
//! the first existing entry with that name (the last entry moves into its
//! slot, as in runit, so `env` output keeps runit's order) and appends the
//! edit when it sets a value.

use std::ffi::CStr;
use std::fs::File;
use std::io::{self, Read};
use std::os::fd::OwnedFd;

use nix::errno::Errno;
use nix::fcntl::{open, OFlag};
use nix::sys::stat::Mode;
use std::os::unix::ffi::OsStrExt;

use crate::Fatal;

/// Edits staged for the program, in the order they were made.
#[derive(Debug, Default)]
pub struct Edits(pub Vec<Vec<u8>>);

impl Edits {
    /// Stages `NAME=VALUE`.
    pub fn set(&mut self, name: &[u8], value: &[u8]) {
        let mut e = name.to_vec();
        e.push(b'=');
        e.extend_from_slice(value);
        self.0.push(e);
    }

    /// Stages the removal of `NAME`.
    pub fn unset(&mut self, name: &[u8]) {
        self.0.push(name.to_vec());
    }
}

extern "C" {
    static environ: *const *const libc::c_char;
}

/// chpst's own environment, in order, as raw entries.
pub fn current() -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    // SAFETY: environ is libc's NULL-terminated array of C strings; nothing
    // modifies it while we read (single-threaded, no setenv here).
    unsafe {
        let mut p = environ;
        while !p.is_null() && !(*p).is_null() {
            out.push(CStr::from_ptr(*p).to_bytes().to_vec());
            p = p.add(1);
        }
    }
    out
}

/// The value of `name` in `env` (first match), like runit's `env_get`.
pub fn get<'a>(env: &'a [Vec<u8>], name: &[u8]) -> Option<&'a [u8]> {
    env.iter().find_map(|e| e.strip_prefix(name)?.strip_prefix(b"="))
}

/// Applies `edits` to `env` (runit's `pathexec_env_run` rules).
pub fn apply(mut env: Vec<Vec<u8>>, edits: &Edits) -> Vec<Vec<u8>> {
    for edit in &edits.0 {
        let split = edit.iter().position(|&b| b == b'=').unwrap_or(edit.len());
        let name = &edit[..split];
        if let Some(t) = env.iter().position(|e| e.len() > split && e.starts_with(name) && e[split] == b'=') {
            env.swap_remove(t);
        }
        if split < edit.len() {
            env.push(edit.clone());
        }
    }
    env
}

/// The value an env-directory file gives: `None` (remove) for an empty
/// file, else the first line with trailing spaces and tabs removed and NUL
/// bytes turned into newlines.
pub fn file_value(content: &[u8]) -> Option<Vec<u8>> {
    if content.is_empty() {
        return None;
    }
    let line = match content.iter().position(|&b| b == b'\n') {
        Some(i) => &content[..i],
        None => content,
    };
    let end = line.iter().rposition(|&b| b != b' ' && b != b'\t').map_or(0, |i| i + 1);
    Some(line[..end].iter().map(|&b| if b == 0 { b'\n' } else { b }).collect())
}

/// What to do with a subdirectory (or anything unreadable as `EISDIR`).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Subdirs {
    /// `chpst -e`: skip it, with a warning when verbose.
    Skip { verbose: bool },
    /// The `envdir` personality: fatal.
    Fatal,
}

fn open_cwd() -> io::Result<OwnedFd> {
    Ok(open(".", OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC, Mode::empty())?)
}

/// Reads the env directory `dir` (relative to the current directory) into
/// `edits`, then returns to the starting directory.
pub fn read_dir(dir: &[u8], subdirs: Subdirs, edits: &mut Edits) -> Result<(), Fatal> {
    let start = open_cwd().map_err(|e| Fatal::err(&[b"unable to open current working directory"], e))?;
    let path = std::path::Path::new(std::ffi::OsStr::from_bytes(dir));
    std::env::set_current_dir(path).map_err(|e| Fatal::err(&[b"unable to switch to directory: ", dir], e))?;
    let entries = std::fs::read_dir(".").map_err(|e| Fatal::err(&[b"unable to open directory: ", dir], e))?;
    for entry in entries {
        let entry = entry.map_err(|e| Fatal::err(&[b"unable to read directory: ", dir], e))?;
        let name = entry.file_name();
        let name = name.as_bytes();
        if name.first() == Some(&b'.') {
            continue;
        }
        match read_file(name) {
            Ok(Some(content)) => match file_value(&content) {
                Some(v) => edits.set(name, &v),
                None => edits.unset(name),
            },
            // A dangling symlink (or a file removed meanwhile): runit would
            // reuse the previous file's value; we remove the variable.
            Ok(None) => edits.unset(name),
            Err(e) => {
                let what: &[&[u8]] = &[b"unable to read ", dir, b"/", name];
                match subdirs {
                    Subdirs::Skip { verbose } if e.raw_os_error() == Some(libc::EISDIR) => {
                        if verbose {
                            crate::label().warn_err(what, &e);
                        }
                    }
                    _ => return Err(Fatal::err(what, e)),
                }
            }
        }
    }
    nix::unistd::fchdir(&start).map_err(|e| Fatal::err(&[b"unable to switch to starting directory"], e.into()))?;
    Ok(())
}

/// The whole content of `name`, `None` if it does not exist. Opened
/// non-blocking like runit, so a FIFO without a writer reads as empty.
fn read_file(name: &[u8]) -> io::Result<Option<Vec<u8>>> {
    let mut f = match open(name, OFlag::O_RDONLY | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC, Mode::empty()) {
        Ok(fd) => File::from(fd),
        Err(Errno::ENOENT) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let mut buf = Vec::new();
    loop {
        match f.read_to_end(&mut buf) {
            Ok(_) => return Ok(Some(buf)),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(Some(buf)),
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(items: &[&str]) -> Vec<Vec<u8>> {
        items.iter().map(|s| s.as_bytes().to_vec()).collect()
    }

    #[test]
    fn file_values_follow_the_envdir_rules() {
        assert_eq!(file_value(b""), None);
        assert_eq!(file_value(b"\n"), Some(vec![]));
        assert_eq!(file_value(b"abc \t \nsecond\n"), Some(b"abc".to_vec()));
        assert_eq!(file_value(b" lead"), Some(b" lead".to_vec()));
        assert_eq!(file_value(b"a\0b\0\n"), Some(b"a\nb\n".to_vec()));
        assert_eq!(file_value(b" \t"), Some(vec![]));
    }

    #[test]
    fn edits_replace_remove_and_keep_runits_order() {
        let env = v(&["A=1", "B=2", "C=3", "AB=4"]);
        let mut e = Edits::default();
        e.unset(b"A");
        e.set(b"B", b"x");
        e.set(b"D", b"");
        let got = apply(env, &e);
        assert_eq!(got, v(&["AB=4", "C=3", "B=x", "D="]));
    }

    #[test]
    fn only_the_first_duplicate_is_replaced_and_names_match_exactly() {
        let env = v(&["A=1", "A=2", "AA=3"]);
        let mut e = Edits::default();
        e.set(b"A", b"z");
        assert_eq!(apply(env, &e), v(&["AA=3", "A=2", "A=z"]));
    }

    #[test]
    fn get_finds_the_first_entry() {
        let env = v(&["PATHX=no", "PATH=/a", "PATH=/b"]);
        assert_eq!(get(&env, b"PATH"), Some(b"/a".as_slice()));
        assert_eq!(get(&env, b"HOME"), None);
    }
}
