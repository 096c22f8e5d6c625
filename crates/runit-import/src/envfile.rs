//! `EnvironmentFile=` syntax (systemd's, not sh's): `KEY=VALUE` lines,
//! `#`/`;` comment lines, single quotes (literal), double quotes (with `\"`,
//! `\\`, `` \` ``, `\$` escapes), backslash escapes and continuations
//! outside quotes, and trailing blanks of unquoted values dropped.
//!
//! Generated run scripts read these files at every start through
//! `runit-import --env-file FILE`, which prints `export KEY='VALUE'` lines
//! for the script to `eval`: the file is parsed here, never by sh, so
//! nothing in it is executed.

use crate::command::sh_quote;

/// The assignments of an environment file, in order, and the lines that
/// were not assignments.
pub fn parse(text: &str) -> (Vec<(String, String)>, Vec<String>) {
    #[derive(Clone, Copy, PartialEq)]
    enum S {
        PreKey,
        Key,
        PreValue,
        Value,
        ValueEscape,
        Single,
        Double,
        DoubleEscape,
        Comment,
        CommentEscape,
    }
    let mut out = Vec::new();
    let mut bad = Vec::new();
    let mut state = S::PreKey;
    let mut key = String::new();
    let mut value = String::new();
    // Length of `value` up to its last character that is not an unquoted blank.
    let mut keep = 0;
    let mut line = 1;
    let emit = |key: &mut String, value: &mut String, keep: usize, out: &mut Vec<(String, String)>| {
        value.truncate(keep);
        out.push((key.trim().to_string(), std::mem::take(value)));
        key.clear();
    };
    for c in text.chars() {
        match state {
            S::PreKey => match c {
                '#' | ';' => state = S::Comment,
                c if c.is_whitespace() => {}
                c => {
                    key.push(c);
                    state = S::Key;
                }
            },
            S::Key => match c {
                '=' => state = S::PreValue,
                '\n' => {
                    bad.push(format!("line {line}: no '=' in {:?}", key.trim()));
                    key.clear();
                    state = S::PreKey;
                }
                c => key.push(c),
            },
            S::PreValue | S::Value => match c {
                '\n' => {
                    emit(&mut key, &mut value, keep, &mut out);
                    keep = 0;
                    state = S::PreKey;
                }
                c if c.is_whitespace() && state == S::PreValue => {}
                '\'' => state = S::Single,
                '"' => state = S::Double,
                '\\' => state = S::ValueEscape,
                c => {
                    value.push(c);
                    if !c.is_whitespace() {
                        keep = value.len();
                    }
                    state = S::Value;
                }
            },
            S::ValueEscape => {
                // Backslash-newline continues the value on the next line.
                if c != '\n' {
                    value.push(c);
                    keep = value.len();
                }
                state = S::Value;
            }
            S::Single => {
                if c == '\'' {
                    state = S::Value;
                } else {
                    value.push(c);
                    keep = value.len();
                }
            }
            S::Double => match c {
                '"' => state = S::Value,
                '\\' => state = S::DoubleEscape,
                c => {
                    value.push(c);
                    keep = value.len();
                }
            },
            S::DoubleEscape => {
                match c {
                    '"' | '\\' | '`' | '$' => value.push(c),
                    '\n' => {}
                    c => {
                        value.push('\\');
                        value.push(c);
                    }
                }
                keep = value.len();
                state = S::Double;
            }
            S::Comment => match c {
                '\\' => state = S::CommentEscape,
                '\n' => state = S::PreKey,
                _ => {}
            },
            S::CommentEscape => state = S::Comment,
        }
        if c == '\n' {
            line += 1;
        }
    }
    match state {
        S::PreValue | S::Value | S::ValueEscape | S::Single | S::Double | S::DoubleEscape => {
            emit(&mut key, &mut value, keep, &mut out)
        }
        S::Key => bad.push(format!("line {line}: no '=' in {:?}", key.trim())),
        _ => {}
    }
    (out, bad)
}

/// Whether sh can hold `name` as a variable.
pub fn is_sh_name(name: &str) -> bool {
    let mut c = name.chars();
    c.next().is_some_and(|f| f.is_ascii_alphabetic() || f == '_') && c.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The helper mode: for each `[-]FILE`, print `export` lines; a missing
/// file with the `-` prefix is skipped. Returns the exit code.
pub fn export(files: &[String]) -> i32 {
    use std::io::Write;
    let mut text = String::new();
    for spec in files {
        let (optional, path) = match spec.strip_prefix('-') {
            Some(p) => (true, p),
            None => (false, spec.as_str()),
        };
        let content = match std::fs::read(path) {
            Ok(b) => String::from_utf8_lossy(&b).into_owned(),
            Err(e) if optional && e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => {
                eprintln!("runit-import: fatal: unable to read {path}: {}", crate::report::errno_words(&e));
                return 111;
            }
        };
        let (vars, bad) = parse(&content);
        for b in bad {
            eprintln!("runit-import: warning: {path}: {b}: ignored");
        }
        for (k, v) in vars {
            if is_sh_name(&k) {
                text.push_str(&format!("export {k}={}\n", sh_quote(&v)));
            } else {
                eprintln!("runit-import: warning: {path}: {k:?} is not a name sh can hold: ignored");
            }
        }
    }
    let mut out = std::io::stdout().lock();
    if out.write_all(text.as_bytes()).and_then(|_| out.flush()).is_err() {
        return 111;
    }
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kv(text: &str) -> Vec<(String, String)> {
        parse(text).0
    }

    fn p(k: &str, v: &str) -> (String, String) {
        (k.into(), v.into())
    }

    #[test]
    fn plain_assignments_comments_and_blanks() {
        assert_eq!(kv("# c\n; c\n\nA=1\n  B = two words  \nC=\n"), [p("A", "1"), p("B", "two words"), p("C", "")]);
    }

    #[test]
    fn quotes_escapes_and_continuations() {
        assert_eq!(kv("A='x  $y \\n'\n"), [p("A", "x  $y \\n")]);
        assert_eq!(kv("A=\"q \\\"x\\\" \\$H \\n\"\n"), [p("A", "q \"x\" $H \\n")]);
        assert_eq!(kv("A=one\\\ntwo\n"), [p("A", "onetwo")]);
        assert_eq!(kv("A=\"a\"b' c '\n"), [p("A", "ab c ")]);
        assert_eq!(kv("A=x\\ \n"), [p("A", "x ")]);
        // A comment continued by a backslash swallows the next line.
        assert_eq!(kv("# c \\\nA=1\nB=2"), [p("B", "2")]);
    }

    #[test]
    fn lines_without_equals_are_reported() {
        let (vars, bad) = parse("A=1\nnonsense\nB=2\n");
        assert_eq!(vars, [p("A", "1"), p("B", "2")]);
        assert_eq!(bad, ["line 2: no '=' in \"nonsense\""]);
    }

    #[test]
    fn the_export_lines_reproduce_the_values_in_sh() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("env");
        std::fs::write(&f, "A='it'\\''s'\nB=\"$(touch /tmp/x) `id`\"\n").unwrap();
        let (vars, _) = parse(&std::fs::read_to_string(&f).unwrap());
        let mut script = String::new();
        for (k, v) in &vars {
            script.push_str(&format!("export {k}={}\n", sh_quote(v)));
        }
        script.push_str("printf '%s|%s' \"$A\" \"$B\"");
        let out = std::process::Command::new("sh").arg("-c").arg(script).output().unwrap();
        assert_eq!(String::from_utf8(out.stdout).unwrap(), format!("{}|{}", vars[0].1, vars[1].1));
        assert_eq!(vars[1].1, "$(touch /tmp/x) `id`");
    }
}
