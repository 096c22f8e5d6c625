//! Option parsing as runit's programs do it (its `sgetopt`).
//!
//! What scripts see from runit, and what this reproduces:
//! - parsing stops at the first operand (`sv force-stop -w 2 svc` takes
//!   `-w` as a service name), flags group (`-tt`) and arguments attach
//!   (`-w5`);
//! - any word starting with `--` ends the options and is itself skipped:
//!   `sv --foo status x` runs `status x` (runit has no long options, and
//!   does not complain about them); a lone `-` is an operand;
//! - errors are `NAME: illegal option -- X` and `NAME: option requires an
//!   argument -- X`, and side effects happen in runit's order: the caller
//!   acts on each option as it is read (`sv -v -V -x` prints the version
//!   and the usage, and never looks at `-x`).
//!
//! clap can stop at the first operand and group flags, but not the `--word`
//! rule nor that order of side effects, and it would cost binary size in a
//! program that runs once per supervised service (runsv and its clients).
//!
//! Library code returns errors: each [`Opt::Error`] carries a
//! [`GetoptError`] whose [`GetoptError::message`] is runit's line. With
//! [`Getopt::quiet`] nothing is printed and the caller's `main` reports it;
//! without it the line is written on stderr at once, for programs whose
//! usage path still prints directly (svlogd, chpst, utmpset).

use std::os::unix::ffi::OsStringExt;

/// The program's arguments as raw bytes (argv[0] included).
pub fn args_bytes() -> Vec<Vec<u8>> {
    std::env::args_os().map(|a| a.into_vec()).collect()
}

/// What was wrong with an option.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Problem {
    /// A letter the optstring does not have.
    Illegal,
    /// A letter that takes an argument came last.
    MissingArgument,
}

/// An option error, with everything needed to word it as runit does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GetoptError {
    pub letter: u8,
    pub problem: Problem,
    /// The program name the line starts with.
    pub name: Vec<u8>,
}

impl GetoptError {
    /// `NAME: illegal option -- X\n` or `NAME: option requires an
    /// argument -- X\n`.
    pub fn message(&self) -> Vec<u8> {
        let what: &[u8] = match self.problem {
            Problem::Illegal => b"illegal option",
            Problem::MissingArgument => b"option requires an argument",
        };
        [&self.name[..], b": ", what, b" -- ", &[self.letter], b"\n"].concat()
    }
}

/// One parsed option.
#[derive(Debug, PartialEq, Eq)]
pub enum Opt<'a> {
    /// An option letter, with its argument when the optstring says it takes one.
    Flag(u8, Option<&'a [u8]>),
    /// An unknown option or a missing argument (already printed unless
    /// [`Getopt::quiet`]).
    Error(GetoptError),
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

    /// Prints nothing: errors are only returned, for `main` to report.
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

    fn error(&self, problem: Problem, letter: u8) -> Opt<'a> {
        let e = GetoptError { letter, problem, name: self.name.clone() };
        if !self.quiet {
            crate::msg::write_all_fd(2, &e.message());
        }
        Opt::Error(e)
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
            if arg[1] == b'-' {
                // `--` and every `--word`: the end of the options, skipped.
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
                Some(self.error(Problem::Illegal, c))
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
                    return Some(self.error(Problem::MissingArgument, c));
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
        let err = |letter, problem| Some(Opt::Error(GetoptError { letter, problem, name: b"sv".to_vec() }));
        assert_eq!(g.next(), err(b'z', Problem::Illegal));
        assert_eq!(g.next(), err(b'w', Problem::MissingArgument));
        assert_eq!(g.next(), None);
        assert_eq!(g.optind(), 3);
    }

    #[test]
    fn any_double_dash_word_ends_the_options_and_is_skipped() {
        let a = v(&["sv", "--foo", "status", "x"]);
        let mut g = Getopt::new(&a, b"w:v").quiet();
        assert_eq!(g.next(), None);
        assert_eq!(g.operands(), &a[2..]);
        let a = v(&["sv", "-v", "--help", "-w", "x"]);
        let mut g = Getopt::new(&a, b"w:v").quiet();
        assert_eq!(g.next(), Some(Opt::Flag(b'v', None)));
        assert_eq!(g.next(), None);
        assert_eq!(g.operands(), &a[3..]);
    }

    #[test]
    fn error_messages_are_runits_lines() {
        let e = GetoptError { letter: b'x', problem: Problem::Illegal, name: b"svlogd".to_vec() };
        assert_eq!(e.message(), b"svlogd: illegal option -- x\n");
        let e = GetoptError { letter: b'w', problem: Problem::MissingArgument, name: b"sv".to_vec() };
        assert_eq!(e.message(), b"sv: option requires an argument -- w\n");
    }
}
