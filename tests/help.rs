//! `--help` and `--version`: the only additions to runit's command lines.
//! Each is recognised only as the sole argument, before anything else the
//! program does, prints on stdout and exits 0; every other argument keeps
//! runit's bytes (the programs' own tests check those).

mod util;

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
    let (code, out, err) = run(Command::new(bin("svlogd")).args(["--version", "x"]));
    assert_eq!((code, out.as_str()), (111, ""));
    assert!(err.starts_with("svlogd: illegal option -- -\nusage: "), "{err}");
}

#[test]
fn utmpset_help_and_version() {
    check_help("utmpset", "utmpset [-w] line", &["-w"]);
    check_version("utmpset");
    let (code, out, err) = run(Command::new(bin("utmpset")).args(["--help", "tty1"]));
    assert_eq!((code, out.as_str()), (1, ""));
    assert!(err.starts_with("utmpset: illegal option -- -\nusage: ") && err.ends_with(" [-w] line\n\n"), "{err}");
}

#[test]
fn chpst_help_and_version_go_to_stdout_and_runit_bytes_stay_for_the_rest() {
    let (code, out, err) = run(Command::new(bin("chpst")).arg("--help"));
    assert_eq!((code, err.as_str()), (0, ""));
    assert!(out.starts_with("usage: chpst "), "{out}");
    assert!(out.contains("Exit codes: 100 usage, 111 failure"), "{out}");
    let (code, out, err) = run(Command::new(bin("chpst")).arg("--version"));
    assert_eq!((code, out, err), (0, format!("chpst (runit-rs) {}\n", env!("CARGO_PKG_VERSION")), String::new()));
    // Not alone: an ordinary (unknown) option, runit's usage and exit 100.
    let (code, out, err) = run(Command::new(bin("chpst")).args(["--help", "true"]));
    assert_eq!((code, out.as_str()), (100, ""));
    assert!(err.starts_with("chpst: illegal option -- -\nusage: chpst [-vVP012] "), "{err}");
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
