//! `--help` and `--version`: the only arguments whose meaning differs
//! from runit's. Alone, they print on stdout and exit 0; every other
//! argument (`-h`, `-V`, `--help` with more words) keeps runit's meaning.

mod util;

use std::path::Path;
use std::process::Command;

fn run_in(prog: &str, cwd: &Path, args: &[&str]) -> (i32, String, String) {
    let mut c = Command::new(util::bin(prog));
    c.args(args).current_dir(cwd).env_remove("SVDIR").env_remove("SVWAIT").env_remove("RUNSVDIR");
    util::run(&mut c)
}

fn version_line(prog: &str) -> String {
    format!("{prog} (runit-rs) {}\n", env!("CARGO_PKG_VERSION"))
}

/// `--help` prints the usage, the options, one example, and exits 0.
#[track_caller]
fn assert_help(prog: &str, usage: &str, must_mention: &[&str]) {
    let d = tempfile::tempdir().unwrap();
    let (code, out, err) = run_in(prog, d.path(), &["--help"]);
    assert_eq!((code, err.as_str()), (0, ""), "{prog} --help");
    assert!(out.starts_with(usage), "{prog} --help: {out}");
    assert!(out.contains("example:"), "{prog} --help: {out}");
    for word in must_mention {
        assert!(out.contains(word), "{prog} --help does not mention {word}: {out}");
    }
    assert_eq!(run_in(prog, d.path(), &["--version"]), (0, version_line(prog), String::new()));
}

#[test]
fn sv_help_and_version() {
    assert_help(
        "sv",
        "usage: sv [-v] [-w sec] command service ...\n",
        &["-w sec", "-v", "-j", "-V", "status", "restart", "force-stop", "check", "$SVDIR"],
    );
    let d = tempfile::tempdir().unwrap();
    let usage = "usage: sv [-v] [-w sec] command service ...\n\n";
    // runit's meaning for everything else.
    assert_eq!(run_in("sv", d.path(), &["-h"]), (100, String::new(), format!("sv: illegal option -- h\n{usage}")));
    assert_eq!(run_in("sv", d.path(), &["--help", "x"]), (100, String::new(), usage.to_string()));
    let (code, out, err) = run_in("sv", d.path(), &["-V"]);
    assert_eq!((code, out.as_str()), (100, ""));
    assert!(err.starts_with("$Id: runit-rs ") && err.ends_with(usage), "{err:?}");
}

#[test]
fn runsvdir_help_and_version() {
    assert_help("runsvdir", "usage: runsvdir [-P] dir", &["-P", "log", "HUP"]);
    // runit skips a first word starting with `--`: no dir left.
    let d = tempfile::tempdir().unwrap();
    let bin = util::bin("runsvdir");
    let usage = format!("usage: {} [-P] dir\n\n", bin.display());
    assert_eq!(run_in("runsvdir", d.path(), &["--helpful"]), (1, String::new(), usage.clone()));
    assert_eq!(run_in("runsvdir", d.path(), &["-P"]), (1, String::new(), usage.clone()));
    assert_eq!(run_in("runsvdir", d.path(), &[]), (1, String::new(), usage));
}

#[test]
fn runsvchdir_help_and_version() {
    assert_help("runsvchdir", "usage: runsvchdir dir\n", &["$RUNSVDIR", "previous"]);
    let d = tempfile::tempdir().unwrap();
    let bin = util::bin("runsvchdir");
    assert_eq!(run_in("runsvchdir", d.path(), &[]), (1, String::new(), format!("usage: {} dir\n\n", bin.display())));
    // `-h` is a directory name, as in runit.
    std::fs::create_dir(d.path().join("default")).unwrap();
    std::os::unix::fs::symlink("default", d.path().join("current")).unwrap();
    let mut c = Command::new(&bin);
    c.arg("-h").env("RUNSVDIR", d.path());
    let (code, out, err) = util::run(&mut c);
    assert_eq!((code, out.as_str()), (111, ""));
    assert_eq!(err, format!("{}: fatal: -h: file does not exist\n", bin.display()));
}
