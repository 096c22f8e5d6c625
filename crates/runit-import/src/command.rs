//! `Exec*=` command lines: systemd's prefixes, word splitting with quotes
//! and C escapes, `$VAR`/`${VAR}` substitution, and their translation into
//! POSIX sh words for the generated scripts.

/// One part of a word after unquoting.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Piece {
    Lit(String),
    /// `${NAME}` (anywhere) keeps the value as one word; `$NAME` as a whole
    /// word is split at whitespace into zero or more words (`split`).
    Var {
        name: String,
        split: bool,
    },
}

pub type Word = Vec<Piece>;

/// One command of an `Exec*=` line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Command {
    /// `-`: a failure of the command is ignored.
    pub ignore_failure: bool,
    /// `+` or `!`: run without `User=`/`Group=`.
    pub privileged: bool,
    /// `@`: the second word was to be argv[0] (dropped; see `Parsed::notes`).
    pub argv0: Option<String>,
    pub words: Vec<Word>,
}

/// The commands of one line and what could not be kept of it.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Parsed {
    pub commands: Vec<Command>,
    pub notes: Vec<String>,
}

/// Splits `s` into words with systemd's rules (whitespace separates;
/// `'...'` and `"..."` quote; backslash escapes are C escapes, also inside
/// quotes). The bool says whether the word was written with no quoting or
/// escape at all (so a bare `;` separates commands).
pub fn split_words(s: &str) -> Result<Vec<(String, bool)>, String> {
    let mut words = Vec::new();
    let mut chars = s.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        if chars.peek().is_none() {
            return Ok(words);
        }
        let mut word = String::new();
        let mut plain = true;
        let mut quote: Option<char> = None;
        while let Some(c) = chars.next() {
            match (quote, c) {
                (None, c) if c.is_whitespace() => break,
                (None, '\'' | '"') => {
                    quote = Some(c);
                    plain = false;
                }
                (Some(q), c) if c == q => quote = None,
                (_, '\\') => {
                    plain = false;
                    let Some(e) = chars.next() else {
                        return Err("a backslash at the end of the line".into());
                    };
                    unescape_one(e, &mut chars, &mut word)?;
                }
                (_, c) => word.push(c),
            }
        }
        if let Some(q) = quote {
            return Err(format!("unterminated {q} quote"));
        }
        words.push((word, plain));
    }
}

fn unescape_one(e: char, chars: &mut std::iter::Peekable<std::str::Chars<'_>>, out: &mut String) -> Result<(), String> {
    let hex = |n: usize, chars: &mut std::iter::Peekable<std::str::Chars<'_>>| -> Result<u32, String> {
        let mut v = 0;
        for _ in 0..n {
            let d = chars.next().and_then(|c| c.to_digit(16)).ok_or("a bad \\x or \\u escape")?;
            v = v * 16 + d;
        }
        Ok(v)
    };
    let c = match e {
        'a' => '\x07',
        'b' => '\x08',
        'f' => '\x0c',
        'n' => '\n',
        'r' => '\r',
        't' => '\t',
        'v' => '\x0b',
        's' => ' ',
        'x' => char::from_u32(hex(2, chars)?).ok_or("a bad \\x escape")?,
        'u' => char::from_u32(hex(4, chars)?).ok_or("a bad \\u escape")?,
        'U' => char::from_u32(hex(8, chars)?).ok_or("a bad \\U escape")?,
        '0'..='7' => {
            let mut v = e.to_digit(8).unwrap_or(0);
            for _ in 0..2 {
                let d = chars.next().and_then(|c| c.to_digit(8)).ok_or("a bad octal escape")?;
                v = v * 8 + d;
            }
            char::from_u32(v).ok_or("a bad octal escape")?
        }
        // \\ \" \' \; \$ and anything else: the character itself (relaxed).
        other => other,
    };
    out.push(c);
    Ok(())
}

fn is_name(s: &str) -> bool {
    let mut c = s.chars();
    c.next().is_some_and(|f| f.is_ascii_alphabetic() || f == '_') && c.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Splits a word into literal text and variable references; `$$` is a `$`.
fn pieces(word: &str, substitute: bool) -> Word {
    if !substitute {
        return vec![Piece::Lit(word.to_string())];
    }
    if let Some(name) = word.strip_prefix('$') {
        if is_name(name) {
            return vec![Piece::Var { name: name.to_string(), split: true }];
        }
    }
    let mut out = Vec::new();
    let mut lit = String::new();
    let mut rest = word;
    while let Some(i) = rest.find('$') {
        lit.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            lit.push('$');
            rest = tail;
        } else if let Some((name, tail)) = after.strip_prefix('{').and_then(|a| a.split_once('}')) {
            if is_name(name) {
                if !lit.is_empty() {
                    out.push(Piece::Lit(std::mem::take(&mut lit)));
                }
                out.push(Piece::Var { name: name.to_string(), split: false });
            } else {
                lit.push_str(&rest[i..i + 3 + name.len()]);
            }
            rest = tail;
        } else {
            lit.push('$');
            rest = after;
        }
    }
    lit.push_str(rest);
    if !lit.is_empty() || out.is_empty() {
        out.push(Piece::Lit(lit));
    }
    out
}

/// Parses the value of an `Exec*=` line (specifiers already expanded in
/// each word by `expand`). `multi`: whether `;` may separate commands.
pub fn parse(value: &str, expand: &dyn Fn(&str) -> Result<String, String>) -> Result<Parsed, String> {
    let mut parsed = Parsed::default();
    let words = split_words(value)?;
    let mut groups: Vec<Vec<String>> = vec![Vec::new()];
    for (w, plain) in words {
        if plain && w == ";" {
            groups.push(Vec::new());
        } else {
            groups.last_mut().expect("one group at least").push(w);
        }
    }
    for group in groups {
        if group.is_empty() {
            continue;
        }
        let mut words = group.into_iter();
        let first = words.next().expect("non-empty group");
        let mut cmd = Command { ignore_failure: false, privileged: false, argv0: None, words: Vec::new() };
        let mut substitute = true;
        let mut at = false;
        let mut path = first.as_str();
        loop {
            match path.chars().next() {
                Some('-') => cmd.ignore_failure = true,
                Some('@') => at = true,
                Some('+') => cmd.privileged = true,
                Some(':') => substitute = false,
                Some('!') => {
                    if path.starts_with("!!") {
                        // Only for systems without ambient capabilities;
                        // Linux has them, so systemd ignores it there.
                        path = &path[1..];
                    } else {
                        cmd.privileged = true;
                    }
                }
                Some('|') => return Err("the '|' prefix (run through the user's shell) is not supported".into()),
                _ => break,
            }
            path = &path[1..];
        }
        if path.is_empty() {
            return Err("no command after the prefixes".into());
        }
        let path = expand(path)?;
        cmd.words.push(pieces(&path, substitute));
        let mut rest: Vec<String> = Vec::new();
        for w in words {
            rest.push(expand(&w)?);
        }
        if at {
            if rest.is_empty() {
                return Err("'@' prefix without an argv[0] word".into());
            }
            let argv0 = rest.remove(0);
            parsed
                .notes
                .push(format!("'@' prefix: argv[0] {argv0:?} cannot be set from sh; the program gets its path"));
            cmd.argv0 = Some(argv0);
        }
        for w in rest {
            cmd.words.push(pieces(&w, substitute));
        }
        parsed.commands.push(cmd);
    }
    if parsed.commands.is_empty() {
        return Err("no command".into());
    }
    Ok(parsed)
}

/// A string as one sh word: bare when it is made of safe characters,
/// else in single quotes.
pub fn sh_quote(s: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "_/.,:=@%+-".contains(c);
    if !s.is_empty() && s.chars().all(safe) {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// A word for sh; `$NAME` as a whole word stays unquoted so that sh splits
/// it (the script sets `set -f` so that it does not glob).
pub fn sh_word(word: &Word) -> String {
    let mut out = String::new();
    for p in word {
        match p {
            Piece::Lit(s) => out.push_str(&sh_quote(s)),
            Piece::Var { name, split: true } => out.push_str(&format!("${{{name}}}")),
            Piece::Var { name, split: false } => out.push_str(&format!("\"${{{name}}}\"")),
        }
    }
    out
}

impl Command {
    /// Whether some word needs sh's field splitting.
    pub fn splits(&self) -> bool {
        self.words.iter().flatten().any(|p| matches!(p, Piece::Var { split: true, .. }))
    }

    /// The command's words for sh, separated by spaces.
    pub fn sh(&self) -> String {
        self.words.iter().map(sh_word).collect::<Vec<_>>().join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn noexp(s: &str) -> Result<String, String> {
        Ok(s.to_string())
    }

    fn one(v: &str) -> Command {
        let p = parse(v, &noexp).unwrap();
        assert_eq!(p.commands.len(), 1, "{v}");
        p.commands.into_iter().next().unwrap()
    }

    #[test]
    fn words_unquote_and_unescape_like_systemd() {
        let w: Vec<String> = split_words(r#"/bin/echo "a b" 'c "d"' e\ f \x41\t"q\"x" x'y'z"#)
            .unwrap()
            .into_iter()
            .map(|(w, _)| w)
            .collect();
        assert_eq!(w, ["/bin/echo", "a b", "c \"d\"", "e f", "A\tq\"x", "xyz"]);
        assert!(split_words("'open").is_err());
        assert!(split_words("end\\").is_err());
    }

    #[test]
    fn prefixes_are_recognised() {
        let c = one("-/bin/false");
        assert!(c.ignore_failure && !c.privileged);
        let c = one("+-/bin/true x");
        assert!(c.ignore_failure && c.privileged);
        assert!(one("!/bin/x").privileged);
        assert!(!one("!!/bin/x").privileged);
        let p = parse("@/usr/sbin/daemon my-name -f", &noexp).unwrap();
        assert_eq!(p.commands[0].argv0.as_deref(), Some("my-name"));
        assert_eq!(p.commands[0].sh(), "/usr/sbin/daemon -f");
        assert_eq!(p.notes.len(), 1);
        assert!(parse("|echo hi", &noexp).is_err());
        assert!(parse("-", &noexp).is_err());
    }

    #[test]
    fn variables_become_sh_expansions() {
        assert_eq!(
            one("/bin/d $OPTS ${ONE} x${TWO}y $$HOME $9").sh(),
            "/bin/d ${OPTS} \"${ONE}\" x\"${TWO}\"y '$HOME' '$9'"
        );
        assert!(one("/bin/d $OPTS").splits());
        assert!(!one("/bin/d ${OPTS}").splits());
        // ':' turns substitution off.
        assert_eq!(one(":/bin/echo $X ${Y}").sh(), "/bin/echo '$X' '${Y}'");
    }

    #[test]
    fn a_bare_semicolon_separates_commands() {
        let p = parse("/bin/a 1 ; /bin/b '2 3' \\;", &noexp).unwrap();
        assert_eq!(p.commands.len(), 2);
        assert_eq!(p.commands[1].sh(), "/bin/b '2 3' ';'");
    }

    #[test]
    fn sh_quoting_round_trips_through_sh() {
        let nasty = "it's $HOME `id` \"q\" \\ *";
        let out =
            std::process::Command::new("sh").arg("-c").arg(format!("printf %s {}", sh_quote(nasty))).output().unwrap();
        assert_eq!(String::from_utf8(out.stdout).unwrap(), nasty);
        assert_eq!(sh_quote("/usr/sbin/sshd"), "/usr/sbin/sshd");
        assert_eq!(sh_quote(""), "''");
    }

    #[test]
    fn specifier_errors_fail_the_line() {
        let fail = |_: &str| -> Result<String, String> { Err("unknown specifier %q".into()) };
        assert!(parse("/bin/x %q", &fail).is_err());
    }
}
