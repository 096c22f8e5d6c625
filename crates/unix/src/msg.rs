//! Diagnostics in runit's vocabulary.
//!
//! Every message is one line on stderr, written with a single `write(2)` so
//! that lines from many processes sharing one pipe (runsvdir's log area, a
//! container's stderr) never interleave mid-line. The shape is
//! `LABEL: fatal: TEXT[: ERRTEXT]` or `LABEL: warning: ...`; some programs
//! (sv) use no label.

use std::io;

/// Writes all of `buf` to `fd`, retrying on `EINTR` and short writes.
/// Errors are ignored: there is nowhere left to report them.
///
/// Async-signal-safe (children use it between `fork` and `exec`), hence
/// raw `write` on a descriptor number that no Rust object owns.
pub fn write_all_fd(fd: i32, mut buf: &[u8]) {
    while !buf.is_empty() {
        // SAFETY: buf is a valid readable slice for its length.
        let n = unsafe { libc::write(fd, buf.as_ptr().cast(), buf.len()) };
        if n < 0 {
            if nix::errno::Errno::last() == nix::errno::Errno::EINTR {
                continue;
            }
            return;
        }
        if n == 0 {
            return;
        }
        buf = &buf[n as usize..];
    }
}

fn joined(parts: &[&[u8]]) -> Vec<u8> {
    let mut line = Vec::with_capacity(parts.iter().map(|p| p.len()).sum::<usize>() + 1);
    for p in parts {
        line.extend_from_slice(p);
    }
    line.push(b'\n');
    line
}

/// Writes the concatenation of `parts` plus `\n` to stderr in one write.
pub fn line(parts: &[&[u8]]) {
    write_all_fd(2, &joined(parts));
}

/// Writes the concatenation of `parts` plus `\n` to stdout in one write.
pub fn out_line(parts: &[&[u8]]) {
    write_all_fd(1, &joined(parts));
}

/// A program's message label, e.g. `runsv DIR` or `svlogd`; empty for none.
#[derive(Clone, Debug, Default)]
pub struct Label(Vec<u8>);

impl Label {
    pub fn new(label: &[u8]) -> Label {
        Label(label.to_vec())
    }

    /// `runsv` + ` ` + `DIR`, the usual two-part label.
    pub fn with_arg(prog: &[u8], arg: &[u8]) -> Label {
        let mut v = prog.to_vec();
        v.push(b' ');
        v.extend_from_slice(arg);
        Label(v)
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    fn emit(&self, kind: &[u8], parts: &[&[u8]]) {
        let mut all: Vec<&[u8]> = Vec::with_capacity(parts.len() + 3);
        if !self.0.is_empty() {
            all.push(&self.0);
            all.push(b": ");
        }
        all.push(kind);
        all.extend_from_slice(parts);
        line(&all);
    }

    /// `LABEL: warning: PARTS`
    pub fn warn(&self, parts: &[&[u8]]) {
        self.emit(b"warning: ", parts);
    }

    /// `LABEL: warning: PARTS: ERRTEXT`
    pub fn warn_err(&self, parts: &[&[u8]], e: &io::Error) {
        let mut all = parts.to_vec();
        all.push(b": ");
        all.push(crate::errtext::io_text(e).as_bytes());
        self.warn(&all);
    }

    /// `LABEL: fatal: PARTS[: ERRTEXT]\n` as a [`Fatal`] with `code`, for
    /// `main` to print.
    pub fn fatal_error(&self, code: i32, parts: &[&[u8]], e: Option<&io::Error>) -> Fatal {
        let mut all: Vec<&[u8]> = Vec::with_capacity(parts.len() + 5);
        if !self.0.is_empty() {
            all.push(&self.0);
            all.push(b": ");
        }
        all.push(b"fatal: ");
        all.extend_from_slice(parts);
        let text;
        if let Some(e) = e {
            text = crate::errtext::io_text(e);
            all.push(b": ");
            all.push(text.as_bytes());
        }
        Fatal { code, text: joined(&all) }
    }
}

/// `usage: ARGV0 SYNOPSIS` and the empty line every runit program adds.
pub fn usage_text(argv0: &[u8], synopsis: &[u8]) -> Vec<u8> {
    let mut v = b"usage: ".to_vec();
    v.extend_from_slice(argv0);
    v.push(b' ');
    v.extend_from_slice(synopsis);
    v.extend_from_slice(b"\n\n");
    v
}

/// What each program's error type tells its `main`: the bytes to write on
/// stderr (one or more complete lines, possibly none) and the exit code.
/// Library code returns such errors; only `main` calls [`exit_with`].
pub trait ProgramError {
    /// The process exit code, as the program's man page documents it.
    fn exit_code(&self) -> i32;
    /// Everything to write on stderr before exiting, in one write.
    fn message(&self) -> Vec<u8>;
}

/// Writes the error's message in one write and exits with its code.
pub fn exit_with(e: &impl ProgramError) -> ! {
    let m = e.message();
    if !m.is_empty() {
        write_all_fd(2, &m);
    }
    std::process::exit(e.exit_code())
}

/// A fatal error already worded: the complete line(s) and the exit code.
/// Programs whose failures are all "print this line, exit with that code"
/// can use it as (part of) their error type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fatal {
    pub code: i32,
    pub text: Vec<u8>,
}

impl ProgramError for Fatal {
    fn exit_code(&self) -> i32 {
        self.code
    }
    fn message(&self) -> Vec<u8> {
        self.text.clone()
    }
}

/// `--help` or `--version` as the only argument: the text to print on
/// stdout (the program then exits 0). runit's programs have neither; every
/// other argument keeps runit's meaning, so these two words are the only
/// change (`-V`, `-h` and unknown options stay runit's).
pub fn help_or_version(args: &[Vec<u8>], prog: &str, help: &str) -> Option<Vec<u8>> {
    match args.get(1).map(Vec::as_slice) {
        Some(b"--help") if args.len() == 2 => Some(help.as_bytes().to_vec()),
        Some(b"--version") if args.len() == 2 => {
            Some(format!("{prog} (runit-rs) {}\n", env!("CARGO_PKG_VERSION")).into_bytes())
        }
        _ => None,
    }
}

/// Prints `text` on stdout and exits 0 (for `--help` and `--version`).
pub fn print_and_exit(text: &[u8]) -> ! {
    write_all_fd(1, text);
    std::process::exit(0)
}

/// The basename of argv[0] (everything after the last `/`).
pub fn basename(argv0: &[u8]) -> &[u8] {
    match argv0.iter().rposition(|&b| b == b'/') {
        Some(i) => &argv0[i + 1..],
        None => argv0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basename_takes_the_last_component() {
        assert_eq!(basename(b"/etc/init.d/foo"), b"foo");
        assert_eq!(basename(b"sv"), b"sv");
        assert_eq!(basename(b"a/"), b"");
    }

    #[test]
    fn fatal_error_is_the_whole_fatal_line() {
        let l = Label::with_arg(b"runsv", b"x");
        let e = io::Error::from_raw_os_error(libc::ENOENT);
        let f = l.fatal_error(111, &[b"unable to open ", b"lock"], Some(&e));
        assert_eq!(f.code, 111);
        assert_eq!(f.text, b"runsv x: fatal: unable to open lock: file does not exist\n");
        assert_eq!(Label::new(b"").fatal_error(1, &[b"a"], None).text, b"fatal: a\n");
    }

    #[test]
    fn help_and_version_only_as_the_sole_argument() {
        let a = |v: &[&str]| v.iter().map(|s| s.as_bytes().to_vec()).collect::<Vec<_>>();
        assert_eq!(help_or_version(&a(&["sv", "--help"]), "sv", "H\n"), Some(b"H\n".to_vec()));
        assert!(help_or_version(&a(&["sv", "--version"]), "sv", "H").unwrap().starts_with(b"sv (runit-rs) "));
        assert_eq!(help_or_version(&a(&["sv", "--help", "x"]), "sv", "H"), None);
        assert_eq!(help_or_version(&a(&["sv", "-V"]), "sv", "H"), None);
    }

    #[test]
    fn joined_adds_one_newline() {
        assert_eq!(joined(&[b"a", b": ", b"b"]), b"a: b\n");
    }
}
