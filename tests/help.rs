//! `--help` and `--version`: the only additions to each program's
//! command line (every other argument keeps runit's meaning).

mod util;

use std::process::Command;

use util::{bin, run};

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
