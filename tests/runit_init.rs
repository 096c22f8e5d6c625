//! runit-init: usage, the stopit/reboot files it arms, and exec'ing runit
//! as PID 1. Whatever would signal PID 1 runs inside a PID namespace of its
//! own (`unshare --pid --fork --mount-proc`), whose PID 1 is a shell that
//! records the SIGCONT it gets.

mod util;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use util::{bin, run};

fn mode(p: &Path) -> u32 {
    fs::metadata(p).unwrap().permissions().mode() & 0o7777
}

/// Runs `runit-init ARG` inside a fresh PID namespace whose PID 1 is a
/// shell trapping SIGCONT; returns (runit-init's exit code, whether PID 1
/// got SIGCONT, stderr).
fn init_in_namespace(etc: &Path, arg: &str) -> (i32, bool, String) {
    let log = etc.parent().unwrap().join("log");
    fs::create_dir_all(&log).unwrap();
    let body = r#"trap 'echo cont > "$LOG/cont"' CONT
"$INIT" "$ARG"
echo $? > "$LOG/rc"
:"#;
    let (code, _, err) = run(Command::new("unshare")
        .args(["--pid", "--fork", "--mount-proc", "--kill-child", "sh", "-c", body])
        .env("INIT", bin("runit-init"))
        .env("ARG", arg)
        .env("LOG", &log)
        .env("RUNIT_RS_ETC", etc));
    assert_eq!(code, 0, "{err}");
    let rc = fs::read_to_string(log.join("rc")).unwrap().trim().parse().unwrap();
    let cont = log.join("cont").exists();
    fs::remove_file(log.join("rc")).unwrap();
    let _ = fs::remove_file(log.join("cont"));
    (rc, cont, err)
}

fn etc_dir() -> (tempfile::TempDir, std::path::PathBuf) {
    let tmp = tempfile::Builder::new().prefix("runit-rs-init").tempdir().unwrap();
    let etc = tmp.path().join("etc");
    fs::create_dir(&etc).unwrap();
    (tmp, etc)
}

#[test]
fn without_an_argument_it_prints_usage_and_exits_0() {
    let init = bin("runit-init");
    let (code, out, err) = run(&mut Command::new(&init));
    assert_eq!((code, out.as_str()), (0, ""));
    assert_eq!(err, format!("usage: {} 0|6\n\n", init.display()));
    for arg in ["", "5", "x0", "-h"] {
        let (code, _, err) = run(Command::new(&init).arg(arg));
        assert_eq!(code, 0, "{arg:?}");
        assert_eq!(err, format!("usage: {} 0|6\n\n", init.display()), "{arg:?}");
    }
}

#[test]
fn dash_v_prints_the_version_before_the_usage() {
    let init = bin("runit-init");
    let (code, _, err) = run(Command::new(&init).arg("-V"));
    assert_eq!(code, 0);
    assert_eq!(err, format!("$Id: runit-rs 0.1.0 $\n\nusage: {} 0|6\n\n", init.display()));
}

#[test]
fn init_6_arms_stopit_and_reboot_with_mode_0100_and_signals_pid_1() {
    let (_tmp, etc) = etc_dir();
    fs::write(etc.join("stopit"), "old contents").unwrap();
    let (rc, cont, err) = init_in_namespace(&etc, "6");
    assert_eq!((rc, cont, err.as_str()), (0, true, ""));
    for f in ["stopit", "reboot"] {
        let m = fs::metadata(etc.join(f)).unwrap();
        assert!(m.is_file());
        assert_eq!(m.len(), 0, "{f} truncated");
        assert_eq!(mode(&etc.join(f)), 0o100, "{f}");
    }
}

#[test]
fn init_0_arms_stopit_and_disarms_reboot_and_only_the_first_byte_counts() {
    let (_tmp, etc) = etc_dir();
    // No reboot file: that is fine.
    let (rc, cont, err) = init_in_namespace(&etc, "0");
    assert_eq!((rc, cont, err.as_str()), (0, true, ""));
    assert_eq!(mode(&etc.join("stopit")), 0o100);
    assert!(!etc.join("reboot").exists(), "init 0 never creates the reboot file");
    // An armed reboot file is disarmed; `0abc` means `0`.
    fs::write(etc.join("reboot"), "").unwrap();
    fs::set_permissions(etc.join("reboot"), fs::Permissions::from_mode(0o100)).unwrap();
    let (rc, cont, _) = init_in_namespace(&etc, "0abc");
    assert_eq!((rc, cont), (0, true));
    assert_eq!(mode(&etc.join("reboot")), 0);
    assert_eq!(mode(&etc.join("stopit")), 0o100);
}

#[test]
fn a_file_that_cannot_be_created_is_fatal_with_111_and_pid_1_is_not_signalled() {
    let (_tmp, etc) = etc_dir();
    let missing = etc.join("missing");
    let (rc, cont, err) = init_in_namespace(&missing, "6");
    assert_eq!((rc, cont), (111, false));
    assert_eq!(err, format!("init: fatal: unable to create {}/stopit: file does not exist\n", missing.display()));
}

#[test]
fn as_pid_1_a_runit_that_cannot_be_executed_is_fatal_with_111() {
    let (tmp, _etc) = etc_dir();
    // A non-executable file mounted on /sbin/runit inside the namespace.
    let fake = tmp.path().join("runit");
    fs::write(&fake, "not a program").unwrap();
    fs::set_permissions(&fake, fs::Permissions::from_mode(0o644)).unwrap();
    let (code, _, err) = run(Command::new("unshare")
        .args(["--pid", "--fork", "--mount-proc", "--kill-child", "sh", "-c"])
        .arg(r#"mount --bind "$1" /sbin/runit && exec "$2""#)
        .arg("sh")
        .arg(&fake)
        .arg(bin("runit-init")));
    assert_eq!(code, 111, "{err}");
    assert_eq!(err, "init: fatal: unable to start runit: access denied\n");
}
