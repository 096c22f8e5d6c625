//! POSIX-style option parsing, as runit's programs do it.
//!
//! A general-purpose parser (clap) cannot reproduce what scripts see from
//! runit: `NAME: illegal option -- X` on stderr, parsing that stops at the
//! first non-option word (so `sv force-stop -w 2 svc` treats `-w` as a
//! service name), grouped flags (`-tt`) and attached arguments (`-w5`).

use std::os::unix::ffi::OsStringExt;

/// The program's arguments as raw bytes (argv[0] included).
pub fn args_bytes() -> Vec<Vec<u8>> {
    std::env::args_os().map(|a| a.into_vec()).collect()
}

/// One parsed option.
#[derive(Debug, PartialEq, Eq)]
pub enum Opt<'a> {
    /// An option letter, with its argument when the optstring says it takes one.
    Flag(u8, Option<&'a [u8]>),
    /// An unknown option or a missing argument; the message is already printed.
    Error(u8),
}

/// Iterates over the options of `args[1..]`; afterwards [`Getopt::optind`]
/// is the index of the first operand.
pub struct Getopt<'a> {
    args: &'a [Vec<u8>],
    optstring: &'a [u8],
    name: Vec<u8>,
    optind: usize,
    pos: usize,
    quiet: bool,
}

impl<'a> Getopt<'a> {
    /// `optstring` as in getopt(3): a letter followed by `:` takes an argument.
    /// Error messages are prefixed with the basename of `args[0]`.
    pub fn new(args: &'a [Vec<u8>], optstring: &'a [u8]) -> Getopt<'a> {
        let name = args.first().map(|a| crate::msg::basename(a).to_vec()).unwrap_or_default();
        Getopt { args, optstring, name, optind: 1, pos: 0, quiet: false }
    }

    /// Uses `name` instead of argv[0]'s basename in error messages.
    pub fn with_name(mut self, name: &[u8]) -> Self {
        self.name = name.to_vec();
        self
    }

    /// Prints no error messages (the caller reports `Opt::Error` itself).
    pub fn quiet(mut self) -> Self {
        self.quiet = true;
        self
    }

    /// Index in `args` of the first operand.
    pub fn optind(&self) -> usize {
        self.optind
    }

    /// The operands (everything after the options).
    pub fn operands(&self) -> &'a [Vec<u8>] {
        &self.args[self.optind.min(self.args.len())..]
    }

    fn complain(&self, what: &[u8], c: u8) {
        if !self.quiet {
            crate::msg::line(&[&self.name, b": ", what, b" -- ", &[c]]);
        }
    }

    fn takes_arg(&self, c: u8) -> Option<bool> {
        let i = self.optstring.iter().position(|&o| o == c && c != b':')?;
        Some(self.optstring.get(i + 1) == Some(&b':'))
    }
}

impl<'a> Iterator for Getopt<'a> {
    type Item = Opt<'a>;

    fn next(&mut self) -> Option<Opt<'a>> {
        if self.pos == 0 {
            let arg = self.args.get(self.optind)?;
            if arg.len() < 2 || arg[0] != b'-' {
                return None;
            }
            if arg == b"--" {
                self.optind += 1;
                return None;
            }
            self.pos = 1;
        }
        let arg = &self.args[self.optind];
        let c = arg[self.pos];
        self.pos += 1;
        let at_end = self.pos >= arg.len();
        match self.takes_arg(c) {
            None => {
                if at_end {
                    self.optind += 1;
                    self.pos = 0;
                }
                self.complain(b"illegal option", c);
                Some(Opt::Error(c))
            }
            Some(false) => {
                if at_end {
                    self.optind += 1;
                    self.pos = 0;
                }
                Some(Opt::Flag(c, None))
            }
            Some(true) => {
                let value = if !at_end {
                    let v = &arg[self.pos..];
                    self.optind += 1;
                    v
                } else if let Some(v) = self.args.get(self.optind + 1) {
                    self.optind += 2;
                    v.as_slice()
                } else {
                    self.optind += 1;
                    self.pos = 0;
                    self.complain(b"option requires an argument", c);
                    return Some(Opt::Error(c));
                };
                self.pos = 0;
                Some(Opt::Flag(c, Some(value)))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(args: &[&str]) -> Vec<Vec<u8>> {
        args.iter().map(|a| a.as_bytes().to_vec()).collect()
    }

    #[test]
    fn grouped_flags_and_attached_arguments() {
        let a = v(&["svlogd", "-tt", "-l5", "-b", "64", "dir"]);
        let mut g = Getopt::new(&a, b"tl:b:").quiet();
        let got: Vec<_> = g.by_ref().collect();
        assert_eq!(
            got,
            vec![
                Opt::Flag(b't', None),
                Opt::Flag(b't', None),
                Opt::Flag(b'l', Some(b"5".as_slice())),
                Opt::Flag(b'b', Some(b"64".as_slice())),
            ]
        );
        assert_eq!(g.optind(), 5);
        assert_eq!(g.operands(), &a[5..]);
    }

    #[test]
    fn stops_at_first_operand_and_after_double_dash() {
        let a = v(&["sv", "force-stop", "-w", "2"]);
        let mut g = Getopt::new(&a, b"w:v").quiet();
        assert_eq!(g.next(), None);
        assert_eq!(g.optind(), 1);
        let a = v(&["sv", "--", "-v"]);
        let mut g = Getopt::new(&a, b"w:v").quiet();
        assert_eq!(g.next(), None);
        assert_eq!(g.optind(), 2);
        let a = v(&["x", "-", "y"]);
        let mut g = Getopt::new(&a, b"w:v").quiet();
        assert_eq!(g.next(), None);
        assert_eq!(g.optind(), 1);
    }

    #[test]
    fn unknown_and_missing_argument_are_errors() {
        let a = v(&["sv", "-z", "-w"]);
        let mut g = Getopt::new(&a, b"w:v").quiet();
        assert_eq!(g.next(), Some(Opt::Error(b'z')));
        assert_eq!(g.next(), Some(Opt::Error(b'w')));
        assert_eq!(g.next(), None);
        assert_eq!(g.optind(), 3);
    }
}
