//! The unit-file syntax: `[Section]` headers, `Key=Value` assignments,
//! comments (`#`, `;`) and line continuations (a trailing backslash), as
//! systemd reads them. Values stay raw here: quoting is the business of
//! the directive that reads them (command lines, `Environment=`, ...).

use std::fmt;
use std::path::{Path, PathBuf};
use std::rc::Rc;

/// Where an assignment was written: the file and the line it starts on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin {
    pub file: Rc<PathBuf>,
    pub line: usize,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file.display(), self.line)
    }
}

/// One `Key=Value` line of a section.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Assignment {
    pub section: String,
    pub key: String,
    pub value: String,
    pub origin: Origin,
}

/// A line that is not a unit-file line.
#[derive(Debug, PartialEq, Eq)]
pub struct SyntaxError {
    pub origin: Origin,
    pub message: String,
}

impl fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.origin, self.message)
    }
}

/// Parses the text of one unit file or drop-in. Sections are checked
/// later, by the unit type that knows which ones it has.
pub fn parse(text: &str, file: &Path) -> Result<Vec<Assignment>, SyntaxError> {
    let file = Rc::new(file.to_path_buf());
    let at = |line| Origin { file: file.clone(), line };
    let mut out = Vec::new();
    let mut section: Option<String> = None;
    // A logical line being continued: its text and first line number.
    let mut pending: Option<(String, usize)> = None;
    for (i, raw) in text.lines().enumerate() {
        let number = i + 1;
        let trimmed = raw.trim_start();
        if let Some((mut buf, start)) = pending.take() {
            // Comment lines inside a continued line are skipped, as systemd does.
            if trimmed.starts_with('#') || trimmed.starts_with(';') {
                pending = Some((buf, start));
                continue;
            }
            match raw.strip_suffix('\\') {
                Some(head) => {
                    buf.push_str(head);
                    buf.push(' ');
                    pending = Some((buf, start));
                }
                None => {
                    buf.push_str(raw);
                    line(&buf, &at(start), &mut section, &mut out)?;
                }
            }
            continue;
        }
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with(';') {
            continue;
        }
        match raw.strip_suffix('\\') {
            Some(head) if !trimmed.starts_with('[') => {
                let mut buf = head.to_string();
                buf.push(' ');
                pending = Some((buf, number));
            }
            _ => line(raw, &at(number), &mut section, &mut out)?,
        }
    }
    if let Some((buf, start)) = pending {
        line(&buf, &at(start), &mut section, &mut out)?;
    }
    Ok(out)
}

fn line(
    text: &str,
    origin: &Origin,
    section: &mut Option<String>,
    out: &mut Vec<Assignment>,
) -> Result<(), SyntaxError> {
    let text = text.trim();
    let err = |message: String| SyntaxError { origin: origin.clone(), message };
    if let Some(rest) = text.strip_prefix('[') {
        let Some(name) = rest.strip_suffix(']') else {
            return Err(err(format!("malformed section header: {text}")));
        };
        if name.is_empty() || name.contains(['[', ']']) {
            return Err(err(format!("malformed section header: {text}")));
        }
        *section = Some(name.to_string());
        return Ok(());
    }
    let Some((key, value)) = text.split_once('=') else {
        return Err(err(format!("missing '=': {text}")));
    };
    let key = key.trim();
    if key.is_empty() {
        return Err(err(format!("missing key before '=': {text}")));
    }
    let Some(section) = section else {
        return Err(err(format!("assignment outside of a section: {text}")));
    };
    out.push(Assignment {
        section: section.clone(),
        key: key.to_string(),
        value: value.trim().to_string(),
        origin: origin.clone(),
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(text: &str) -> Vec<(String, String, String, usize)> {
        parse(text, Path::new("t.service"))
            .unwrap()
            .into_iter()
            .map(|a| (a.section, a.key, a.value, a.origin.line))
            .collect()
    }

    fn t(s: &str, k: &str, v: &str, l: usize) -> (String, String, String, usize) {
        (s.into(), k.into(), v.into(), l)
    }

    #[test]
    fn sections_keys_comments_and_blank_lines() {
        let got = p("# c\n[Unit]\n; c\nDescription = A thing \n\n[Service]\nExecStart=/bin/x  -a\n");
        assert_eq!(got, [t("Unit", "Description", "A thing", 4), t("Service", "ExecStart", "/bin/x  -a", 7)]);
    }

    #[test]
    fn continuation_lines_join_with_a_space_and_skip_comments() {
        let got = p("[Service]\nExecStart=/bin/x \\\n  -a \\\n# inside\n  -b\nUser=u\n");
        assert_eq!(got, [t("Service", "ExecStart", "/bin/x    -a    -b", 2), t("Service", "User", "u", 6)]);
        // A continuation at the end of the file ends the value.
        assert_eq!(p("[Service]\nUser=a\\\n"), [t("Service", "User", "a", 2)]);
    }

    #[test]
    fn malformed_lines_are_errors_with_their_line() {
        let e = parse("[Service]\nnonsense\n", Path::new("u.service")).unwrap_err();
        assert_eq!(e.to_string(), "u.service:2: missing '=': nonsense");
        let e = parse("User=x\n", Path::new("u.service")).unwrap_err();
        assert_eq!(e.origin.line, 1);
        assert!(e.message.contains("outside of a section"));
        assert!(parse("[Service\n", Path::new("u")).is_err());
        assert!(parse("[Service]\n=x\n", Path::new("u")).is_err());
    }

    #[test]
    fn empty_values_are_kept_for_list_resets() {
        assert_eq!(p("[Service]\nExecStartPre=\n"), [t("Service", "ExecStartPre", "", 2)]);
    }
}
