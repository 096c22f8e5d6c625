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
pub fn write_all_fd(fd: i32, mut buf: &[u8]) {
    while !buf.is_empty() {
        // SAFETY: buf is a valid readable slice for its length.
        let n = unsafe { libc::write(fd, buf.as_ptr().cast(), buf.len()) };
        if n < 0 {
            if io::Error::last_os_error().kind() == io::ErrorKind::Interrupted {
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

    /// `LABEL: fatal: PARTS`
    pub fn fatal(&self, parts: &[&[u8]]) {
        self.emit(b"fatal: ", parts);
    }

    /// `LABEL: warning: PARTS: ERRTEXT`
    pub fn warn_err(&self, parts: &[&[u8]], e: &io::Error) {
        let mut all = parts.to_vec();
        all.push(b": ");
        all.push(crate::errtext::io_text(e).as_bytes());
        self.warn(&all);
    }

    /// `LABEL: fatal: PARTS: ERRTEXT`
    pub fn fatal_err(&self, parts: &[&[u8]], e: &io::Error) {
        let mut all = parts.to_vec();
        all.push(b": ");
        all.push(crate::errtext::io_text(e).as_bytes());
        self.fatal(&all);
    }

    /// Prints `LABEL: fatal: PARTS[: ERRTEXT]` and exits with `code`.
    pub fn die(&self, code: i32, parts: &[&[u8]], e: Option<&io::Error>) -> ! {
        match e {
            Some(e) => self.fatal_err(parts, e),
            None => self.fatal(parts),
        }
        std::process::exit(code)
    }
}

/// Prints `usage: ARGV0 SYNOPSIS` and the empty line every runit program
/// adds, then exits with `code`.
pub fn usage(argv0: &[u8], synopsis: &[u8], code: i32) -> ! {
    let mut v = b"usage: ".to_vec();
    v.extend_from_slice(argv0);
    v.push(b' ');
    v.extend_from_slice(synopsis);
    v.extend_from_slice(b"\n\n");
    write_all_fd(2, &v);
    std::process::exit(code)
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
    fn joined_adds_one_newline() {
        assert_eq!(joined(&[b"a", b": ", b"b"]), b"a: b\n");
    }
}
