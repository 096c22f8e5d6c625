//! runsvchdir: switching `current`, keeping `previous`, and the error
//! cases with runit's exact messages and exit codes. `$RUNSVDIR` points each
//! test at its own runsvdir directory (runit 2.3.0 behaviour).
mod util;

use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A runsvdir directory with `default` and `single`, `current -> default`.
fn setup() -> tempfile::TempDir {
    let tmp = tempfile::Builder::new().prefix("runsvchdir-test").tempdir().unwrap();
    fs::create_dir(tmp.path().join("default")).unwrap();
    fs::create_dir(tmp.path().join("single")).unwrap();
    symlink("default", tmp.path().join("current")).unwrap();
    tmp
}

fn chdir_to(wd: &Path, arg: &str) -> (i32, String, String) {
    util::run(Command::new(util::bin("runsvchdir")).arg(arg).env("RUNSVDIR", wd))
}

fn link(p: PathBuf) -> String {
    fs::read_link(p).map(|l| l.display().to_string()).unwrap_or_default()
}

fn fatal(msg: &str) -> String {
    format!("{}: fatal: {msg}\n", util::bin("runsvchdir").display())
}

#[test]
fn switching_makes_the_new_directory_current_and_the_old_one_previous() {
    let tmp = setup();
    let (code, out, err) = chdir_to(tmp.path(), "single");
    assert_eq!((code, out.as_str(), err.as_str()), (0, "runsvchdir: single: now current.\n", ""));
    assert_eq!(link(tmp.path().join("current")), "single");
    assert_eq!(link(tmp.path().join("previous")), "default");
    assert!(!tmp.path().join("current.new").exists());

    // And back: previous is replaced.
    let (code, out, _) = chdir_to(tmp.path(), "default");
    assert_eq!((code, out.as_str()), (0, "runsvchdir: default: now current.\n"));
    assert_eq!(link(tmp.path().join("current")), "default");
    assert_eq!(link(tmp.path().join("previous")), "single");
}

#[test]
fn an_absolute_target_is_linked_as_given() {
    let tmp = setup();
    let abs = tmp.path().join("single").display().to_string();
    let (code, out, _) = chdir_to(tmp.path(), &abs);
    assert_eq!((code, out), (0, format!("runsvchdir: {abs}: now current.\n")));
    assert_eq!(link(tmp.path().join("current")), abs);
}

#[test]
fn the_current_target_is_left_alone() {
    let tmp = setup();
    let (code, out, err) = chdir_to(tmp.path(), "default");
    assert_eq!((code, out.as_str(), err.as_str()), (0, "runsvchdir: default: current.\n", ""));
    assert!(!tmp.path().join("previous").exists());
}

#[test]
fn a_missing_target_is_fatal() {
    let tmp = setup();
    let (code, out, err) = chdir_to(tmp.path(), "nosuch");
    assert_eq!((code, out.as_str(), err), (111, "", fatal("nosuch: file does not exist")));
    assert_eq!(link(tmp.path().join("current")), "default");
}

#[test]
fn a_target_that_is_not_a_directory_is_fatal_without_a_separator() {
    let tmp = setup();
    fs::write(tmp.path().join("file"), "").unwrap();
    let (code, _, err) = chdir_to(tmp.path(), "file");
    assert_eq!((code, err), (111, fatal("filenot a directory.")));
}

#[test]
fn a_dotted_target_is_refused() {
    let tmp = setup();
    let (code, _, err) = chdir_to(tmp.path(), ".hidden");
    assert_eq!((code, err), (111, fatal(".hidden: must not start with a dot.")));
}

#[test]
fn a_missing_runsvdir_directory_is_fatal() {
    let tmp = setup();
    let wd = tmp.path().join("nowhere");
    let (code, _, err) = chdir_to(&wd, "single");
    assert_eq!((code, err), (111, fatal(&format!("unable to chdir: {}: file does not exist", wd.display()))));
}

#[test]
fn a_missing_current_link_is_fatal() {
    let tmp = setup();
    fs::remove_file(tmp.path().join("current")).unwrap();
    let (code, _, err) = chdir_to(tmp.path(), "single");
    assert_eq!((code, err), (111, fatal("unable to stat: current: file does not exist")));
}

#[test]
fn usage_without_an_argument() {
    let (code, _, err) = util::run(&mut Command::new(util::bin("runsvchdir")));
    assert_eq!((code, err), (1, format!("usage: {} dir\n\n", util::bin("runsvchdir").display())));
}

#[test]
fn a_current_that_is_a_directory_becomes_previous() {
    let tmp = setup();
    fs::remove_file(tmp.path().join("current")).unwrap();
    fs::create_dir(tmp.path().join("current")).unwrap();
    fs::write(tmp.path().join("current/marker"), "").unwrap();
    let (code, out, _) = chdir_to(tmp.path(), "single");
    assert_eq!((code, out.as_str()), (0, "runsvchdir: single: now current.\n"));
    assert_eq!(link(tmp.path().join("current")), "single");
    assert!(tmp.path().join("previous/marker").exists());
}

#[test]
fn a_stale_current_new_is_replaced() {
    let tmp = setup();
    symlink("nowhere", tmp.path().join("current.new")).unwrap();
    let (code, _, _) = chdir_to(tmp.path(), "single");
    assert_eq!(code, 0);
    assert_eq!(link(tmp.path().join("current")), "single");
    assert!(fs::symlink_metadata(tmp.path().join("current.new")).is_err());
}
