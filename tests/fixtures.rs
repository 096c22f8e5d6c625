//! The fixtures in tests/util hold in the places the suite is run from:
//! a checkout in a directory only its owner may enter, and a caller that
//! left signals ignored (a shell's background job, `scripts/test &`).
mod util;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::process::Command;
use util::{bin, run, wait_for, ServiceDir};

fn root() -> bool {
    // SAFETY: geteuid has no preconditions.
    let r = unsafe { libc::geteuid() } == 0;
    if !r {
        println!("SKIPPED: needs root");
    }
    r
}

/// A binary inside a 0700 directory (as in a checkout under /root or a
/// `mktemp -d`) cannot be run by `nobody`; the copy `util::public` makes
/// can.
#[test]
fn binaries_in_a_private_checkout_run_as_nobody_from_a_public_copy() {
    if !root() {
        return;
    }
    let private = tempfile::Builder::new().prefix("runit-rs-private").tempdir().unwrap();
    fs::set_permissions(private.path(), fs::Permissions::from_mode(0o700)).unwrap();
    let hidden = private.path().join("chpst");
    assert!(Command::new("install").arg("-m755").arg(bin("chpst")).arg(&hidden).status().unwrap().success());
    let as_nobody = |prog: &std::path::Path| {
        run(Command::new(bin("chpst")).arg("-u").arg("nobody").arg(prog).args(["sh", "-c", "exit 7"]))
    };
    let (code, _, err) = as_nobody(&hidden);
    assert_eq!(code, 111, "the private copy ran as nobody: the test proves nothing ({err})");
    assert!(err.contains("access denied"), "{err}");
    let public = util::public::Public::new();
    let copy = public.copy(&hidden, "chpst");
    assert_eq!(as_nobody(&copy), (7, String::new(), String::new()));
}

/// The signals set in SigIgn of `/proc/PID/status`.
fn ignored(pid: u32) -> u64 {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let mask = status.lines().find_map(|l| l.strip_prefix("SigIgn:")).unwrap().trim();
    u64::from_str_radix(mask, 16).unwrap()
}

const SIGINT_BIT: u64 = 1 << (libc::SIGINT - 1);
const SIGQUIT_BIT: u64 = 1 << (libc::SIGQUIT - 1);

/// A representative scenario: a service that traps INT and QUIT gets them
/// through runsv's control letters (a shell cannot trap a signal it found
/// ignored). Run on its own, and again by the test below from a process
/// that ignores SIGINT and SIGQUIT.
#[test]
fn scenario_int_and_quit_letters_reach_a_trapping_service() {
    if std::env::var_os("RUNIT_RS_TEST_SIGNALS_IGNORED").is_some() {
        let me = std::process::id();
        assert_eq!(ignored(me) & (SIGINT_BIT | SIGQUIT_BIT), SIGINT_BIT | SIGQUIT_BIT, "set up by the caller");
    }
    let svc = ServiceDir::new(
        "trap 'echo INT >> ../got' INT\ntrap 'echo QUIT >> ../got' QUIT\n\
         echo ready >> ../got; while :; do sleep 0.05; done",
    );
    let p = util::start_runsv(&svc);
    let got = || fs::read_to_string(svc.scratch().join("got")).unwrap_or_default();
    wait_for("ready", || got().contains("ready"));
    assert_eq!(ignored(p.pid() as u32) & (SIGINT_BIT | SIGQUIT_BIT), 0, "runsv started with INT or QUIT ignored");
    for (letter, name) in [("i", "INT"), ("q", "QUIT")] {
        svc.control("supervise", letter);
        wait_for(name, || got().contains(name));
    }
}

#[test]
fn signals_ignored_by_the_caller_do_not_change_results() {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(["--exact", "scenario_int_and_quit_letters_reach_a_trapping_service", "--test-threads=1"]);
    cmd.env("RUNIT_RS_TEST_SIGNALS_IGNORED", "1");
    // As a non-interactive shell leaves a background job.
    // SAFETY: between fork and exec only sigaction is called, which is
    // async-signal-safe and allocates nothing.
    unsafe {
        cmd.pre_exec(|| {
            for sig in [libc::SIGINT, libc::SIGQUIT] {
                let mut act: libc::sigaction = std::mem::zeroed();
                act.sa_sigaction = libc::SIG_IGN;
                if libc::sigaction(sig, &act, std::ptr::null_mut()) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            Ok(())
        });
    }
    let out = cmd.output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("1 passed"), "{text}");
}
