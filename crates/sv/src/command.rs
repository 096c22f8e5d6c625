//! What a command word means: the letters written to `supervise/control`,
//! whether sv waits afterwards, and whether a timeout ends in `k`.
//!
//! Only the first byte of the word matters, except for the exact words
//! `start`, `stop`, `shutdown`, `status`, `check`, `try-restart`, `restart`,
//! `reload` and the `force-*` family (man/sv.8, COMMANDS). The capitals `X`, `E`,
//! `D` and `T` are runit's undocumented kill-on-timeout forms.

/// What sv does for each service in the first phase.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Act {
    /// Read the status record and write the letters to `supervise/control`.
    Control,
    /// Print the status line (with its log part).
    Status,
    /// Nothing (`check` only waits).
    Nothing,
}

/// When sv enters the wait phase.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wait {
    /// Never, even with `-v` (`status`).
    Never,
    /// Only with `-v` or `-w`.
    Verbose,
    /// Always.
    Always,
}

/// The plan for one command word.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    pub act: Act,
    /// Letters written in one `write`; in the wait phase the same string is
    /// read as check letters (`C` is `check`'s own letter).
    pub letters: Vec<u8>,
    pub wait: Wait,
    /// On timeout print `kill:` and send `k`.
    pub kill: bool,
}

impl Plan {
    fn new(act: Act, letters: &[u8], wait: Wait, kill: bool) -> Plan {
        Plan { act, letters: letters.to_vec(), wait, kill }
    }

    /// Whether the wait phase runs, given `-v`/`-w`.
    pub fn waits(&self, verbose: bool) -> bool {
        match self.wait {
            Wait::Never => false,
            Wait::Verbose => verbose,
            Wait::Always => true,
        }
    }
}

/// The plan for `word`, or `None` for a usage error. In LSB mode a word
/// starting with `s` must be one of the four exact words.
pub fn plan(word: &[u8], lsb: bool) -> Option<Plan> {
    use Act::*;
    use Wait::*;
    let first = *word.first()?;
    let p = match first {
        b'x' | b'e' => Plan::new(Control, b"x", Verbose, false),
        b'X' | b'E' => Plan::new(Control, b"x", Always, true),
        b'D' => Plan::new(Control, b"d", Always, true),
        b'T' => Plan::new(Control, b"tc", Always, true),
        b't' if word == b"try-restart" => Plan::new(Control, b"tc", Always, false),
        b'c' if word == b"check" => Plan::new(Nothing, b"C", Always, false),
        b't' | b'c' | b'u' | b'd' | b'o' | b'p' | b'h' | b'a' | b'i' | b'k' | b'q' | b'1' | b'2' => {
            Plan::new(Control, &[first], Verbose, false)
        }
        b's' => match word {
            b"shutdown" => Plan::new(Control, b"x", Always, false),
            b"start" => Plan::new(Control, b"u", Always, false),
            b"stop" => Plan::new(Control, b"d", Always, false),
            _ if lsb && word != b"status" => return None,
            _ => Plan::new(Status, b"s", Never, false),
        },
        b'r' => match word {
            b"restart" => Plan::new(Control, b"tcu", Always, false),
            b"reload" => Plan::new(Control, b"h", Always, false),
            _ => return None,
        },
        b'f' => match word {
            b"force-reload" => Plan::new(Control, b"tc", Always, true),
            b"force-restart" => Plan::new(Control, b"tcu", Always, true),
            b"force-shutdown" => Plan::new(Control, b"x", Always, true),
            b"force-stop" => Plan::new(Control, b"d", Always, true),
            _ => return None,
        },
        _ => return None,
    };
    Some(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(word: &str) -> Option<(Act, String, Wait, bool)> {
        plan(word.as_bytes(), false).map(|p| (p.act, String::from_utf8(p.letters).unwrap(), p.wait, p.kill))
    }

    fn lsb(word: &str) -> Option<Plan> {
        plan(word.as_bytes(), true)
    }

    #[test]
    fn the_table_of_commands() {
        use Act::*;
        use Wait::*;
        let cases: &[(&str, Act, &str, Wait, bool)] = &[
            ("status", Status, "s", Never, false),
            ("s", Status, "s", Never, false),
            ("stat", Status, "s", Never, false),
            ("sxyz", Status, "s", Never, false),
            ("start", Control, "u", Always, false),
            ("stop", Control, "d", Always, false),
            ("shutdown", Control, "x", Always, false),
            ("up", Control, "u", Verbose, false),
            ("uxx", Control, "u", Verbose, false),
            ("down", Control, "d", Verbose, false),
            ("once", Control, "o", Verbose, false),
            ("pause", Control, "p", Verbose, false),
            ("cont", Control, "c", Verbose, false),
            ("c", Control, "c", Verbose, false),
            ("checkx", Control, "c", Verbose, false),
            ("check", Nothing, "C", Always, false),
            ("hup", Control, "h", Verbose, false),
            ("alarm", Control, "a", Verbose, false),
            ("interrupt", Control, "i", Verbose, false),
            ("quit", Control, "q", Verbose, false),
            ("1", Control, "1", Verbose, false),
            ("2x", Control, "2", Verbose, false),
            ("term", Control, "t", Verbose, false),
            ("try", Control, "t", Verbose, false),
            ("try-restart", Control, "tc", Always, false),
            ("kill", Control, "k", Verbose, false),
            ("exit", Control, "x", Verbose, false),
            ("e", Control, "x", Verbose, false),
            ("X", Control, "x", Always, true),
            ("Exit", Control, "x", Always, true),
            ("Down", Control, "d", Always, true),
            ("Term", Control, "tc", Always, true),
            ("restart", Control, "tcu", Always, false),
            ("reload", Control, "h", Always, false),
            ("force-stop", Control, "d", Always, true),
            ("force-reload", Control, "tc", Always, true),
            ("force-restart", Control, "tcu", Always, true),
            ("force-shutdown", Control, "x", Always, true),
        ];
        for &(word, act, letters, wait, kill) in cases {
            assert_eq!(p(word), Some((act, letters.to_string(), wait, kill)), "{word}");
        }
    }

    #[test]
    fn unknown_words_are_usage_errors() {
        for word in ["", "r", "re", "restartx", "f", "force", "force-up", "bogus", "U", "-v", "0", "3"] {
            assert_eq!(p(word), None, "{word:?}");
        }
    }

    #[test]
    fn lsb_mode_accepts_only_exact_s_words() {
        assert_eq!(lsb("status").unwrap().act, Act::Status);
        assert_eq!(lsb("start").unwrap().letters, b"u");
        assert_eq!(lsb("stop").unwrap().letters, b"d");
        assert_eq!(lsb("shutdown").unwrap().letters, b"x");
        assert_eq!(lsb("stat"), None);
        assert_eq!(lsb("s"), None);
        assert_eq!(lsb("up").unwrap().letters, b"u");
    }

    #[test]
    fn only_status_never_waits() {
        assert!(!plan(b"status", false).unwrap().waits(true));
        assert!(plan(b"up", false).unwrap().waits(true));
        assert!(!plan(b"up", false).unwrap().waits(false));
        assert!(plan(b"check", false).unwrap().waits(false));
    }
}
