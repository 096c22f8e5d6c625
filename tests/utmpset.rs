//! utmpset against temporary utmp/wtmp files (through RUNIT_RS_UTMP and
//! RUNIT_RS_WTMP), and side by side with Debian's utmpset, which cannot be
//! redirected: both run in a private mount namespace where a tmpfs covers
//! /run and a scratch file is bound over /var/log/wtmp, so the real files
//! are never touched.

mod util;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use util::{bin, debian, run};

const SIZE: usize = 384;
const DEAD_PROCESS: i16 = 8;
const USER_PROCESS: i16 = 7;

/// One record built through libc's own `utmpx` struct, as bytes.
fn record(kind: i16, pid: i32, line: &[u8], user: &[u8], host: &[u8], sec: i32) -> Vec<u8> {
    // SAFETY: utmpx is plain old data; all-zero is a valid value.
    let mut u: libc::utmpx = unsafe { std::mem::zeroed() };
    u.ut_type = kind;
    u.ut_pid = pid;
    for (d, s) in u.ut_line.iter_mut().zip(line) {
        *d = *s as libc::c_char;
    }
    for (d, s) in u.ut_id.iter_mut().zip(b"t1") {
        *d = *s as libc::c_char;
    }
    for (d, s) in u.ut_user.iter_mut().zip(user) {
        *d = *s as libc::c_char;
    }
    for (d, s) in u.ut_host.iter_mut().zip(host) {
        *d = *s as libc::c_char;
    }
    u.ut_tv.tv_sec = sec;
    u.ut_tv.tv_usec = 1234;
    assert_eq!(std::mem::size_of::<libc::utmpx>(), SIZE);
    // SAFETY: u is SIZE bytes of initialised plain data.
    unsafe { std::slice::from_raw_parts((&u as *const libc::utmpx).cast::<u8>(), SIZE) }.to_vec()
}

fn parse(bytes: &[u8]) -> Vec<libc::utmpx> {
    assert_eq!(bytes.len() % SIZE, 0, "file size {} is not whole records", bytes.len());
    bytes
        .chunks(SIZE)
        .map(|c| {
            // SAFETY: c is exactly SIZE bytes; read_unaligned copies them.
            unsafe { std::ptr::read_unaligned(c.as_ptr().cast::<libc::utmpx>()) }
        })
        .collect()
}

fn cstr(f: &[libc::c_char]) -> Vec<u8> {
    f.iter().map(|&c| c as u8).take_while(|&c| c != 0).collect()
}

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

/// A scratch directory with a utmp holding three logins.
struct Files {
    _tmp: tempfile::TempDir,
    utmp: PathBuf,
    wtmp: PathBuf,
}

fn files() -> Files {
    let tmp = tempfile::Builder::new().prefix("runit-rs-utmpset").tempdir().unwrap();
    let utmp = tmp.path().join("utmp");
    let wtmp = tmp.path().join("wtmp");
    let mut u = record(USER_PROCESS, 100, b"tty1", b"", b"", 1000); // no user: never matched
    u.extend(record(USER_PROCESS, 101, b"tty10", b"alice", b"far.example", 1001));
    u.extend(record(USER_PROCESS, 102, b"tty1", b"bob", b"near.example", 1002));
    u.extend(record(USER_PROCESS, 103, b"tty1", b"carol", b"", 1003));
    fs::write(&utmp, u).unwrap();
    Files { _tmp: tmp, utmp, wtmp }
}

fn ours(f: &Files, args: &[&str]) -> (i32, String, String) {
    run(Command::new(bin("utmpset")).args(args).env("RUNIT_RS_UTMP", &f.utmp).env("RUNIT_RS_WTMP", &f.wtmp))
}

#[test]
fn logout_rewrites_the_first_matching_login_in_place() {
    let f = files();
    let before = parse(&fs::read(&f.utmp).unwrap());
    let t0 = now();
    assert_eq!(ours(&f, &["tty1"]), (0, String::new(), String::new()));
    let after = parse(&fs::read(&f.utmp).unwrap());
    assert_eq!(after.len(), 4);
    // Record 0 has no user and record 1 is tty10: both untouched.
    assert_eq!(record_bytes(&after[0]), record_bytes(&before[0]));
    assert_eq!(record_bytes(&after[1]), record_bytes(&before[1]));
    // Record 2 is bob's: dead, no user, no host, stamped now; pid, id, line kept.
    let r = &after[2];
    assert_eq!(r.ut_type, DEAD_PROCESS);
    assert_eq!((r.ut_pid, cstr(&r.ut_line), cstr(&r.ut_id)), (102, b"tty1".to_vec(), b"t1".to_vec()));
    assert!(cstr(&r.ut_user).is_empty() && cstr(&r.ut_host).is_empty());
    assert!(i64::from(r.ut_tv.tv_sec) >= t0 && i64::from(r.ut_tv.tv_sec) <= now());
    assert_eq!(r.ut_tv.tv_usec, 1234);
    assert_eq!(record_bytes(&after[3]), record_bytes(&before[3]));
    // A second call finds carol's login, a third none.
    assert_eq!(ours(&f, &["tty1"]).0, 0);
    assert_eq!(parse(&fs::read(&f.utmp).unwrap())[3].ut_type, DEAD_PROCESS);
    assert_eq!(
        ours(&f, &["tty1"]),
        (111, String::new(), "utmpset: warning: unable to logout line tty1 in utmp: no such entry\n".into())
    );
    assert!(!f.wtmp.exists(), "wtmp is only written with -w");
}

fn record_bytes(u: &libc::utmpx) -> Vec<u8> {
    // SAFETY: u is SIZE bytes of plain data.
    unsafe { std::slice::from_raw_parts((u as *const libc::utmpx).cast::<u8>(), SIZE) }.to_vec()
}

#[test]
fn w_appends_a_dead_record_to_wtmp_created_0600() {
    let f = files();
    let t0 = now();
    assert_eq!(ours(&f, &["-w", "tty10"]), (0, String::new(), String::new()));
    let meta = fs::metadata(&f.wtmp).unwrap();
    assert_eq!(meta.permissions().mode() & 0o7777, 0o600);
    let w = parse(&fs::read(&f.wtmp).unwrap());
    assert_eq!(w.len(), 1);
    // All zero except type, line and time.
    let mut want = vec![0u8; SIZE];
    want[0..2].copy_from_slice(&DEAD_PROCESS.to_ne_bytes());
    want[8..13].copy_from_slice(b"tty10");
    want[340..344].copy_from_slice(&w[0].ut_tv.tv_sec.to_ne_bytes());
    assert_eq!(record_bytes(&w[0]), want);
    assert!(i64::from(w[0].ut_tv.tv_sec) >= t0);
    // A second logout of another line appends.
    assert_eq!(ours(&f, &["-w", "tty1"]).0, 0);
    assert_eq!(parse(&fs::read(&f.wtmp).unwrap()).len(), 2);
}

#[test]
fn wtmp_is_left_alone_when_the_line_is_not_in_utmp() {
    let f = files();
    let (code, _, err) = ours(&f, &["-w", "tty7"]);
    assert_eq!((code, err.as_str()), (111, "utmpset: warning: unable to logout line tty7 in utmp: no such entry\n"));
    assert!(!f.wtmp.exists());
}

#[test]
fn lines_compare_exactly_and_a_too_long_name_is_refused() {
    let f = files();
    let before = fs::read(&f.utmp).unwrap();
    // "tty" is a prefix of "tty1": no match.
    assert_eq!(ours(&f, &["tty"]).0, 111);
    let long = "x".repeat(33);
    assert_eq!(
        ours(&f, &[&long]),
        (111, String::new(), format!("utmpset: fatal: unable to logout line {long} in utmp: name too long\n"))
    );
    assert_eq!(fs::read(&f.utmp).unwrap(), before);
    // A name of exactly 32 bytes fills the field and is compared as such.
    let full = "y".repeat(32);
    let mut u = before.clone();
    u.extend(record(USER_PROCESS, 104, full.as_bytes(), b"dave", b"", 5));
    fs::write(&f.utmp, &u).unwrap();
    assert_eq!(ours(&f, &[&full]).0, 0);
    assert_eq!(parse(&fs::read(&f.utmp).unwrap())[4].ut_type, DEAD_PROCESS);
}

#[test]
fn missing_utmp_and_unwritable_wtmp_are_reported() {
    let f = files();
    let missing = f.utmp.with_file_name("nope");
    let (code, _, err) =
        run(Command::new(bin("utmpset")).arg("tty1").env("RUNIT_RS_UTMP", &missing).env("RUNIT_RS_WTMP", &f.wtmp));
    assert_eq!(
        (code, err),
        (111, format!("utmpset: fatal: unable to open {}: file does not exist\n", missing.display()))
    );
    let dir = f.utmp.with_file_name("adir");
    fs::create_dir(&dir).unwrap();
    let (code, _, err) =
        run(Command::new(bin("utmpset")).args(["-w", "tty1"]).env("RUNIT_RS_UTMP", &f.utmp).env("RUNIT_RS_WTMP", &dir));
    assert_eq!((code, err), (111, format!("utmpset: fatal: unable to open {}: is a directory\n", dir.display())));
}

#[test]
fn usage_goes_to_stderr_with_exit_1() {
    let f = files();
    let b = bin("utmpset");
    let usage = format!("usage: {} [-w] line\n\n", b.display());
    assert_eq!(ours(&f, &[]), (1, String::new(), usage.clone()));
    assert_eq!(ours(&f, &["-z", "tty1"]), (1, String::new(), format!("utmpset: illegal option -- z\n{usage}")));
    let (code, _, err) = ours(&f, &["-V"]);
    assert_eq!(code, 1);
    assert!(err.starts_with("$Id: ") && err.ends_with(&usage), "{err:?}");
}

/// (code, stdout, stderr), utmp afterwards, wtmp afterwards.
type Outcome = ((i32, String, String), Vec<u8>, Option<Vec<u8>>);

/// Runs `prog ARGS` in a private mount namespace where /run/utmp is a copy
/// of `utmp` and /var/log/wtmp is a copy of `wtmp` (if given); returns the
/// result and the two files afterwards.
fn in_namespace(prog: &Path, args: &str, utmp: &[u8], wtmp: Option<&[u8]>) -> Outcome {
    let tmp = tempfile::Builder::new().prefix("runit-rs-utmpns").tempdir().unwrap();
    let d = tmp.path();
    fs::write(d.join("utmp.in"), utmp).unwrap();
    let wtmp_setup = match wtmp {
        Some(w) => {
            fs::write(d.join("wtmp"), w).unwrap();
            format!("mount --bind {0}/wtmp /var/log/wtmp || exit 98", d.display())
        }
        None => format!(
            "touch {0}/wtmp && chmod 644 {0}/wtmp && mount --bind {0}/wtmp /var/log/wtmp || exit 98",
            d.display()
        ),
    };
    let script = format!(
        "mount -t tmpfs tmpfs /run || exit 97; cp {d}/utmp.in /run/utmp; {wtmp_setup}; \
         {prog} {args}; rc=$?; cp /run/utmp {d}/utmp.out; exit $rc",
        d = d.display(),
        prog = prog.display(),
    );
    let r = run(Command::new("unshare")
        .args(["-m", "--propagation", "private", "sh", "-c", &script])
        .env_remove("RUNIT_RS_UTMP")
        .env_remove("RUNIT_RS_WTMP"));
    assert!(r.0 != 97 && r.0 != 98, "namespace setup failed: {r:?}");
    let w = fs::read(d.join("wtmp")).ok();
    (r, fs::read(d.join("utmp.out")).unwrap(), w)
}

/// Zeroes the time field (offset 340) of every record.
fn timeless(mut b: Vec<u8>) -> Vec<u8> {
    for c in b.chunks_mut(SIZE) {
        c[340..344].fill(0);
    }
    b
}

#[test]
fn same_results_as_debians_utmpset_on_the_default_paths() {
    let f = files();
    let utmp = fs::read(&f.utmp).unwrap();
    let old_wtmp = record(USER_PROCESS, 9, b"tty9", b"eve", b"", 77);
    for args in ["tty1", "-w tty1", "-w tty10", "tty7", "-w tty7", "tty", "", "-z tty1"] {
        let (a, au, aw) = in_namespace(&bin("utmpset"), args, &utmp, Some(&old_wtmp));
        let (b, bu, bw) = in_namespace(&debian("utmpset"), args, &utmp, Some(&old_wtmp));
        let fix = |s: &str, p: &Path| s.replace(&p.display().to_string(), "UTMPSET");
        assert_eq!(
            (a.0, fix(&a.1, &bin("utmpset")), fix(&a.2, &bin("utmpset"))),
            (b.0, fix(&b.1, &debian("utmpset")), fix(&b.2, &debian("utmpset"))),
            "utmpset {args}"
        );
        if args == "tty1" {
            assert_ne!(au, utmp, "the logout must have changed utmp");
        }
        assert_eq!(timeless(au), timeless(bu), "utmp after utmpset {args}");
        assert_eq!(aw.map(timeless), bw.map(timeless), "wtmp after utmpset {args}");
    }
}
