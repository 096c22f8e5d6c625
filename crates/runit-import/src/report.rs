//! What the conversion tells the user: warnings with file and line for
//! every directive without a faithful counterpart, units skipped with a
//! reason, and the closing summary with the commands that enable the
//! converted services (nothing is enabled here).

use crate::unit::Origin;
use std::fmt;

/// A directive kept out of the service directory, or changed on the way.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Warning {
    pub origin: Option<Origin>,
    pub directive: String,
    pub reason: String,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.origin {
            Some(o) => write!(f, "runit-import: warning: {o}: {}= {}", self.directive, self.reason),
            None => write!(f, "runit-import: warning: {}: {}", self.directive, self.reason),
        }
    }
}

/// runit's words for an I/O error ("file does not exist", ...).
pub fn errno_words(e: &std::io::Error) -> &'static str {
    unix::errtext::io_text(e)
}

/// The message for a unit that was not converted.
pub fn skipped(unit: &str, reason: &str) -> String {
    format!("runit-import: {unit}: skipped: {reason}")
}

/// The services directory runsvdir watches, as sv finds it: `$SVDIR`,
/// else the build-time default (docs/BUILD.md).
pub fn services_dir() -> String {
    let d = std::env::var("SVDIR")
        .ok()
        .filter(|d| !d.is_empty())
        .unwrap_or_else(|| option_env!("RUNIT_RS_SVDIR").unwrap_or("/etc/service").to_string());
    if d.ends_with('/') {
        d
    } else {
        format!("{d}/")
    }
}

/// The closing lines on stdout: one per converted unit, then how to enable.
pub fn summary(converted: &[(String, String)], dry_run: bool) -> String {
    summary_for(converted, dry_run, &services_dir())
}

fn summary_for(converted: &[(String, String)], dry_run: bool, svdir: &str) -> String {
    let mut s = String::new();
    for (unit, dir) in converted {
        let verb = if dry_run { "would convert" } else { "converted" };
        s.push_str(&format!("runit-import: {verb} {unit} to {dir}\n"));
    }
    if !converted.is_empty() && !dry_run {
        s.push_str("runit-import: nothing is enabled; to start supervising, run:\n");
        for (_, dir) in converted {
            s.push_str(&format!("  ln -s {dir} {svdir}\n"));
        }
    }
    s
}

/// The exit code: 0 when every unit was converted, 1 when none was,
/// 2 when some were.
pub fn exit_code(converted: usize, failed: usize) -> i32 {
    match (converted, failed) {
        (_, 0) => 0,
        (0, _) => 1,
        _ => 2,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;
    use std::rc::Rc;

    #[test]
    fn warnings_name_file_line_and_directive() {
        let w = Warning {
            origin: Some(Origin { file: Rc::new(PathBuf::from("/x/a.service")), line: 7 }),
            directive: "PrivateTmp".into(),
            reason: "not supported: no sandboxing".into(),
        };
        assert_eq!(w.to_string(), "runit-import: warning: /x/a.service:7: PrivateTmp= not supported: no sandboxing");
    }

    #[test]
    fn exit_codes_say_all_some_or_none() {
        assert_eq!(exit_code(3, 0), 0);
        assert_eq!(exit_code(0, 0), 0);
        assert_eq!(exit_code(0, 2), 1);
        assert_eq!(exit_code(1, 1), 2);
    }

    #[test]
    fn the_summary_tells_how_to_enable() {
        let s = summary_for(&[("ssh.service".into(), "/etc/sv/ssh".into())], false, "/etc/service/");
        assert!(s.contains("converted ssh.service to /etc/sv/ssh\n"), "{s}");
        assert!(s.contains("  ln -s /etc/sv/ssh /etc/service/\n"), "{s}");
        assert!(!summary_for(&[("a.service".into(), "/d/a".into())], true, "/x/").contains("ln -s"));
    }
}
