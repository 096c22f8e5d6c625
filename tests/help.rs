//! `--help` and `--version`: the only additions to runit's command lines.
//! Each is recognised only as the sole argument, before anything else the
//! program does, prints on stdout and exits 0; every other argument keeps
//! runit's bytes (the programs' own tests check those).

mod util;

use std::path::Path;
use std::process::Command;

use util::{bin, run};

/// `PROG --help` prints a synopsis starting `usage: NAME`, the options and
/// an example on stdout, nothing on stderr, and exits 0.
fn check_help(prog: &str, synopsis: &str, options: &[&str]) {
    let (code, out, err) = run(Command::new(bin(prog)).arg("--help"));
    assert_eq!((code, err.as_str()), (0, ""), "{prog} --help");
    assert!(out.starts_with(&format!("usage: {synopsis}\n")), "{prog} --help synopsis: {out}");
    for o in options.iter().chain(&["--help", "--version", "Example"]) {
        assert!(out.contains(o), "{prog} --help lacks {o}: {out}");
    }
}

/// `PROG --version` prints `NAME (runit-rs) VERSION` on stdout, exits 0.
fn check_version(prog: &str) {
    let (code, out, err) = run(Command::new(bin(prog)).arg("--version"));
    assert_eq!((code, err.as_str()), (0, ""), "{prog} --version");
    assert_eq!(out, format!("{prog} (runit-rs) {}\n", env!("CARGO_PKG_VERSION")));
}

// ----- unixspawn's programs: runit, runit-init, svlogd, utmpset ----------

#[test]
fn runit_help_and_version_work_without_being_process_1() {
    check_help("runit", "runit", &[]);
    check_version("runit");
    // Anything else still needs PID 1, with runit's line.
    let (code, out, err) = run(Command::new(bin("runit")).arg("--helpx"));
    assert_eq!((code, out.as_str(), err.as_str()), (111, "", "- runit: fatal: must be run as process no 1.\n"));
}

#[test]
fn runit_init_help_and_version() {
    check_help("runit-init", "init 0|6", &["0 ", "6 "]);
    check_version("runit-init");
    // Only as the sole argument: otherwise runit's usage (exit 0, stderr).
    let (code, out, err) = run(Command::new(bin("runit-init")).args(["--help", "x"]));
    assert_eq!(code, 0);
    assert_eq!(out, "");
    assert!(err.starts_with("usage: ") && err.ends_with(" 0|6\n\n"), "{err}");
}

#[test]
fn svlogd_help_and_version() {
    check_help("svlogd", "svlogd [-ttv] [-r c] [-R abc] [-l len] [-b buflen] dir ...", &["-t", "-r c", "-b buflen"]);
    check_version("svlogd");
    // Not alone: runit's getopt skips any `--word`, so this is `svlogd x`.
    let d = tempfile::tempdir().unwrap();
    let with = run(Command::new(bin("svlogd")).args(["--version", "x"]).current_dir(d.path()));
    assert_eq!(with.0, 111);
    assert_eq!(with, run(Command::new(bin("svlogd")).arg("x").current_dir(d.path())));
}

#[test]
fn utmpset_help_and_version() {
    check_help("utmpset", "utmpset [-w] line", &["-w"]);
    check_version("utmpset");
    // Not alone: runit's getopt takes any `--word` as the end of the
    // options, as `--` (here `-x` becomes the line operand).
    let with = run(Command::new(bin("utmpset")).args(["--help", "-x"]));
    assert_ne!(with.0, 0);
    assert_eq!(with, run(Command::new(bin("utmpset")).args(["--", "-x"])));
}

#[test]
fn chpst_help_and_version_go_to_stdout_and_runit_bytes_stay_for_the_rest() {
    let (code, out, err) = run(Command::new(bin("chpst")).arg("--help"));
    assert_eq!((code, err.as_str()), (0, ""));
    assert!(out.starts_with("usage: chpst "), "{out}");
    assert!(out.contains("Exit codes: 100 usage, 111 failure"), "{out}");
    let (code, out, err) = run(Command::new(bin("chpst")).arg("--version"));
    assert_eq!((code, out, err), (0, format!("chpst (runit-rs) {}\n", env!("CARGO_PKG_VERSION")), String::new()));
    // Not alone: runit's getopt skips any `--word` (Debian's chpst runs
    // `true` here too).
    let (code, out, err) = run(Command::new(bin("chpst")).args(["--help", "true"]));
    assert_eq!((code, out.as_str(), err.as_str()), (0, "", ""));
    // -V: the version line, then the usage, on stderr.
    let (code, out, err) = run(Command::new(bin("chpst")).arg("-V"));
    assert_eq!((code, out.as_str()), (100, ""));
    assert!(err.starts_with(&format!("$Id: runit-rs {} $\nusage: chpst ", env!("CARGO_PKG_VERSION"))), "{err}");
}

#[test]
fn runsv_help_and_version_go_to_stdout_and_other_arguments_stay_runit_s() {
    let (code, out, err) = run(Command::new(bin("runsv")).arg("--help"));
    assert_eq!((code, err.as_str()), (0, ""));
    assert!(out.starts_with("usage: runsv dir\n"), "{out}");
    assert!(out.contains("Example:"), "{out}");
    let (code, out, err) = run(Command::new(bin("runsv")).arg("--version"));
    assert_eq!((code, out, err), (0, format!("runsv (runit-rs) {}\n", env!("CARGO_PKG_VERSION")), String::new()));
    // Two arguments: runit's usage line and exit 1, as before.
    let (code, out, err) = run(Command::new(bin("runsv")).args(["--help", "x"]));
    assert_eq!((code, out.as_str()), (1, ""));
    assert_eq!(err, format!("usage: {} dir\n\n", bin("runsv").display()));
    // Any other single word is a service directory.
    let (code, _, err) = run(Command::new(bin("runsv")).arg("/nonexistent/-V"));
    assert_eq!(code, 111);
    assert_eq!(err, "runsv /nonexistent/-V: fatal: unable to change to directory: file does not exist\n");
}

// sv, runsvdir, runsvchdir

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
