//! chpst and its personalities, driven as real processes. The tests run as
//! root: they read `/proc/self/status` inside the executed program to see
//! the ids it really got, build small chroots (in private mount namespaces)
//! to check that names are looked up in the new root, and compare results
//! with Debian's chpst side by side.

mod util;

use std::fs;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

use util::{bin, debian, run, wait_for, Proc};

const USAGE: &str = "[-vVP012] [-u user[:group]] [-U user[:group]] [-b argv0] [-e dir] [-/ root] [-C pwd] [-n nice] [-l|-L lock] [-m n] [-d n] [-o n] [-p n] [-f n] [-c n] [-t n] prog";
const SOFTLIMIT_USAGE: &str = "[-a allbytes] [-c corebytes] [-d databytes] [-f filebytes] [-l lockbytes] [-m membytes] [-o openfiles] [-p processes] [-r residentbytes] [-s stackbytes] [-t cpusecs] child";

fn usage(name: &str) -> String {
    format!("usage: {name} {USAGE}\n\n")
}

fn tmpdir() -> tempfile::TempDir {
    tempfile::Builder::new().prefix("runit-rs-chpst").tempdir().unwrap()
}

/// `chpst ARGS` (ours), run in `dir`.
fn chpst(dir: &Path, args: &[&str]) -> (i32, String, String) {
    run(Command::new(bin("chpst")).args(args).current_dir(dir))
}

/// A link named `name` to `target` inside `dir` (how personalities are
/// installed).
fn link(dir: &Path, name: &str, target: &Path) -> PathBuf {
    let p = dir.join(name);
    let _ = fs::remove_file(&p);
    symlink(target, &p).unwrap();
    p
}

/// The Uid, Gid and Groups lines of a `/proc/self/status` dump.
fn id_lines(status: &str) -> Vec<&str> {
    status.lines().filter(|l| l.starts_with("Uid:") || l.starts_with("Gid:") || l.starts_with("Groups:")).collect()
}

fn ids(uid: u32, gid: u32, groups: &[u32]) -> Vec<String> {
    let g: String = groups.iter().map(|g| format!("{g} ")).collect();
    vec![
        format!("Uid:\t{uid}\t{uid}\t{uid}\t{uid}"),
        format!("Gid:\t{gid}\t{gid}\t{gid}\t{gid}"),
        format!("Groups:\t{g}"),
    ]
}

fn status_line<'a>(status: &'a str, key: &str) -> &'a str {
    status.lines().find(|l| l.starts_with(key)).unwrap_or_else(|| panic!("no {key} in {status}"))
}

#[test]
fn usage_errors_exit_100_with_the_usage_text() {
    let d = tmpdir();
    let d = d.path();
    assert_eq!(chpst(d, &[]), (100, String::new(), usage("chpst")));
    assert_eq!(
        chpst(d, &["-z", "true"]),
        (100, String::new(), format!("chpst: illegal option -- z\n{}", usage("chpst")))
    );
    assert_eq!(
        chpst(d, &["-u"]),
        (100, String::new(), format!("chpst: option requires an argument -- u\n{}", usage("chpst")))
    );
    for bad in [
        &["-m", "12k", "true"][..],
        &["-o", "-1", "true"],
        &["-n", "--2", "true"],
        &["-l", "a", "-L", "b", "true"],
        &["-v"],
    ] {
        assert_eq!(chpst(d, bad), (100, String::new(), usage("chpst")), "{bad:?}");
    }
    let (code, out, err) = chpst(d, &["-V", "true"]);
    assert_eq!((code, out.as_str()), (100, ""));
    assert!(err.starts_with("$Id: ") && err.ends_with(&usage("chpst")), "{err:?}");
    // The usage names the program as invoked, minus one leading `d`.
    let l = link(d, "dmychpst", &bin("chpst"));
    assert_eq!(run(&mut Command::new(&l)), (100, String::new(), usage("mychpst")));
}

#[test]
fn u_sets_exactly_the_primary_or_listed_groups_then_gid_then_uid() {
    let d = tmpdir();
    let d = d.path();
    let (code, out, err) = chpst(d, &["-u", "nobody", "cat", "/proc/self/status"]);
    assert_eq!((code, err.as_str()), (0, ""));
    assert_eq!(id_lines(&out), ids(65534, 65534, &[65534]));
    // No capabilities are left, so uid 0 cannot be regained.
    assert_eq!(status_line(&out, "CapEff:"), "CapEff:\t0000000000000000");
    assert_eq!(status_line(&out, "CapPrm:"), "CapPrm:\t0000000000000000");
    let (_, out, _) = chpst(d, &["-u", "nobody:nogroup:daemon", "cat", "/proc/self/status"]);
    assert_eq!(id_lines(&out), ids(65534, 65534, &[1, 65534]));
    let (_, out, _) = chpst(d, &["-u", ":65534:65534:100:5", "cat", "/proc/self/status"]);
    assert_eq!(id_lines(&out), ids(65534, 65534, &[5, 100, 65534]));
    let (_, out, _) = chpst(d, &["-u", ":123:456", "cat", "/proc/self/status"]);
    assert_eq!(id_lines(&out), ids(123, 456, &[456]));
}

#[test]
fn u_failures_stop_before_exec_with_exit_111() {
    let d = tmpdir();
    let d = d.path();
    let marker = d.join("ran");
    let touch = ["touch", marker.to_str().unwrap()];
    let cases: &[(&str, &str)] = &[
        ("nosuchuser", "chpst: fatal: unknown user/group: nosuchuser\n"),
        ("nobody:nosuchgroup", "chpst: fatal: unknown user/group: nobody:nosuchgroup\n"),
        ("nobody:", "chpst: fatal: unknown user/group: nobody:\n"),
        (":12", "chpst: fatal: invalid uid/gids: 12\n"),
        (":x:1", "chpst: fatal: invalid uid/gids: x:1\n"),
        (":1:2x", "chpst: fatal: invalid uid/gids: 1:2x\n"),
        // runit reads an empty gid as 0 (root's group); we refuse it.
        (":12:", "chpst: fatal: invalid uid/gids: 12:\n"),
        (":4294967296:0", "chpst: fatal: invalid uid/gids: 4294967296:0\n"),
    ];
    for (spec, msg) in cases {
        let mut args = vec!["-u", spec];
        args.extend(touch);
        assert_eq!(chpst(d, &args), (111, String::new(), msg.to_string()), "-u {spec}");
        let mut args = vec!["-U", spec];
        args.extend(touch);
        assert_eq!(chpst(d, &args), (111, String::new(), msg.to_string()), "-U {spec}");
    }
    assert!(!marker.exists(), "the program ran after a failed -u");
    // Not root: setgroups fails, and nothing runs.
    let (code, _, err) = chpst(d, &["-u", "nobody", "chpst", "-u", "daemon", "touch", marker.to_str().unwrap()]);
    assert_eq!((code, err.as_str()), (111, "chpst: fatal: unable to setgroups: permission denied\n"));
    assert!(!marker.exists());
}

#[test]
fn capital_u_sets_uid_and_gid_variables_only() {
    let d = tmpdir();
    let (code, out, _) = chpst(d.path(), &["-U", ":123:456:789", "sh", "-c", "echo $UID/$GID; id -u"]);
    assert_eq!((code, out.as_str()), (0, "123/456\n0\n"));
    let (_, out, _) = chpst(d.path(), &["-U", "nobody", "sh", "-c", "echo $UID/$GID"]);
    assert_eq!(out, "65534/65534\n");
}

/// A minimal root: /usr bound from the host (so the usual programs run),
/// its own /etc/passwd and /etc/group, and /proc mounted. Only usable
/// inside [`in_namespace`].
fn fake_root(dir: &Path) -> PathBuf {
    let root = dir.join("root");
    for sub in ["usr", "proc", "etc", "srv/work"] {
        fs::create_dir_all(root.join(sub)).unwrap();
    }
    for l in ["bin", "lib", "lib64", "sbin"] {
        symlink(format!("usr/{l}"), root.join(l)).unwrap();
    }
    fs::write(root.join("etc/passwd"), "root:x:0:0::/:/bin/sh\nsvc:x:4242:4343::/srv:/bin/sh\n").unwrap();
    // svc is a listed member of `extra`: chpst must not add it.
    fs::write(root.join("etc/group"), "root:x:0:\nsvcgrp:x:4343:\nextra:x:4444:svc\nother:x:4545:\n").unwrap();
    fs::write(root.join("etc/nsswitch.conf"), "passwd: files\ngroup: files\n").unwrap();
    root
}

/// Runs `sh -c SCRIPT` in a private mount namespace after binding /usr and
/// mounting /proc inside `root`.
fn in_namespace(root: &Path, script: &str) -> (i32, String, String) {
    let setup =
        format!("mount --bind /usr {r}/usr && mount -t proc proc {r}/proc || exit 97; {script}", r = root.display());
    let r = run(Command::new("unshare").args(["-m", "--propagation", "private", "sh", "-c", &setup]));
    assert_ne!(r.0, 97, "namespace setup failed: {r:?}");
    r
}

#[test]
fn names_are_looked_up_inside_the_new_root_and_memberships_are_never_added() {
    let d = tmpdir();
    let root = fake_root(d.path());
    for prog in [bin("chpst"), debian("chpst")] {
        let p = prog.display();
        let r = root.display();
        let (code, out, err) = in_namespace(&root, &format!("{p} -/ {r} -u svc cat /proc/self/status"));
        assert_eq!((code, err.as_str()), (0, ""), "{p}");
        assert_eq!(id_lines(&out), ids(4242, 4343, &[4343]), "{p}");
        let (_, out, _) = in_namespace(&root, &format!("{p} -/ {r} -u svc:other:extra cat /proc/self/status"));
        assert_eq!(id_lines(&out), ids(4242, 4545, &[4444, 4545]), "{p}");
        let (_, out, _) = in_namespace(&root, &format!("{p} -/ {r} -U svc sh -c 'echo $UID $GID; pwd'"));
        assert_eq!(out, "4242 4343\n/\n", "{p}");
        // `nobody` exists outside only.
        let (code, _, err) = in_namespace(&root, &format!("{p} -/ {r} -u nobody true"));
        assert_eq!((code, err.as_str()), (111, "chpst: fatal: unknown user/group: nobody\n"), "{p}");
    }
}

#[test]
fn envdir_is_read_before_the_chroot_and_c_changes_directory_inside() {
    let d = tmpdir();
    let root = fake_root(d.path());
    fs::create_dir(d.path().join("env")).unwrap();
    fs::write(d.path().join("env/WHERE"), "outside\n").unwrap();
    let (code, out, err) = in_namespace(
        &root,
        &format!(
            "cd {} && {} -e env -/ root -C /srv/work -u svc sh -c 'echo $WHERE; pwd; id -u'",
            d.path().display(),
            bin("chpst").display()
        ),
    );
    assert_eq!((code, out.as_str(), err.as_str()), (0, "outside\n/srv/work\n4242\n", ""));
    let (code, _, err) =
        in_namespace(&root, &format!("{} -/ {} -C /nowhere true", bin("chpst").display(), root.display()));
    assert_eq!(
        (code, err.as_str()),
        (111, "chpst: fatal: unable to change directory: /nowhere: file does not exist\n")
    );
}

#[test]
fn a_new_root_without_account_files_is_an_error_not_an_unknown_user() {
    let d = tmpdir();
    let root = d.path().join("root");
    fs::create_dir_all(root.join("etc")).unwrap();
    let r = root.to_str().unwrap();
    for prog in [bin("chpst"), debian("chpst")] {
        let msg = "chpst: fatal: unable to get password/group file entry: file does not exist\n";
        let (code, _, err) = run(Command::new(&prog).args(["-/", r, "-u", "svc", "/true"]));
        assert_eq!((code, err.as_str()), (111, msg), "{prog:?}");
        let (code, _, err) = run(Command::new(&prog).args(["-/", r, "-U", "svc:grp", "/true"]));
        assert_eq!((code, err.as_str()), (111, msg), "{prog:?}");
        // Numeric ids need no files; the chroot holds no program, though.
        let (code, _, err) = run(Command::new(&prog).args(["-/", r, "-u", ":1:2", "/true"]));
        assert_eq!(
            (code, err.as_str()),
            (111, "chpst: fatal: unable to run: /true: file does not exist\n"),
            "{prog:?}"
        );
    }
}

#[test]
fn chroot_into_a_missing_directory_fails() {
    let d = tmpdir();
    assert_eq!(
        chpst(d.path(), &["-/", "missing", "true"]),
        (111, String::new(), "chpst: fatal: unable to change directory: missing: file does not exist\n".into())
    );
}

/// An env directory covering every rule.
fn envdir(dir: &Path) -> PathBuf {
    let e = dir.join("env");
    fs::create_dir_all(e.join("sub")).unwrap();
    fs::write(e.join("FIRST"), "hello  \t\nsecond line\n").unwrap();
    fs::write(e.join("EMPTYLINE"), "\n").unwrap();
    fs::write(e.join("LEAD"), " lead").unwrap();
    fs::write(e.join("NULS"), b"a\0b").unwrap();
    fs::write(e.join("HOME"), "").unwrap();
    fs::write(e.join(".hidden"), "x").unwrap();
    fs::write(e.join("PATH"), "/nonexistent").unwrap();
    e
}

#[test]
fn e_applies_the_envdir_rules_for_the_program_only() {
    let d = tmpdir();
    envdir(d.path());
    let script = "printf '%s|' \"$FIRST\" \"${EMPTYLINE-unset}\" \"$LEAD\" \"$NULS\" \"${HOME-unset}\" \"${hidden-unset}\" \"$PATH\"";
    // `true`, `sh` are still found through chpst's own PATH.
    let (code, out, err) = run(Command::new(bin("chpst"))
        .args(["-e", "env", "sh", "-c", script])
        .current_dir(d.path())
        .env("HOME", "/root"));
    assert_eq!((code, err.as_str()), (0, ""));
    assert_eq!(out, "hello|| lead|a\nb|unset|unset|/nonexistent|");
    // A subdirectory is skipped, with a warning under -v.
    let (code, _, err) = chpst(d.path(), &["-v", "-e", "env", "true"]);
    assert_eq!((code, err.as_str()), (0, "chpst: warning: unable to read env/sub: is a directory\n"));
    assert_eq!(
        chpst(d.path(), &["-e", "missing", "true"]),
        (111, String::new(), "chpst: fatal: unable to switch to directory: missing: file does not exist\n".into())
    );
}

#[test]
fn envdir_personality_fails_on_subdirectories_and_unreadable_files() {
    let d = tmpdir();
    let e = envdir(d.path());
    let envdir_link = link(d.path(), "envdir", &bin("chpst"));
    let (code, _, err) = run(Command::new(&envdir_link).args(["env", "true"]).current_dir(d.path()));
    assert_eq!((code, err.as_str()), (111, "chpst: fatal: unable to read env/sub: is a directory\n"));
    fs::remove_dir(e.join("sub")).unwrap();
    let (code, out, _) = run(Command::new(&envdir_link).args(["env", "sh", "-c", "echo $FIRST"]).current_dir(d.path()));
    assert_eq!((code, out.as_str()), (0, "hello\n"));
    // Unreadable for the user running envdir.
    fs::write(e.join("SECRET"), "s").unwrap();
    fs::set_permissions(e.join("SECRET"), fs::Permissions::from_mode(0o600)).unwrap();
    fs::set_permissions(d.path(), fs::Permissions::from_mode(0o755)).unwrap();
    // envdir runs as nobody: from a copy nobody can reach wherever the
    // checkout lives.
    let public = util::public::Public::bins(&["chpst"]);
    let public_envdir = link(public.path(), "envdir", &public.join("chpst"));
    let (code, _, err) = run(Command::new(bin("chpst"))
        .arg("-u")
        .arg("nobody")
        .arg(&public_envdir)
        .args([e.to_str().unwrap(), "true"])
        .current_dir(d.path()));
    assert_eq!((code, err), (111, format!("chpst: fatal: unable to read {}/SECRET: access denied\n", e.display())));
    assert_eq!(run(Command::new(&envdir_link).arg("env")), (100, String::new(), "usage: envdir dir child\n\n".into()));
}

#[test]
fn limits_are_soft_only_and_capped_at_the_hard_limit() {
    let d = tmpdir();
    let limits = |args: &[&str]| -> String {
        let mut a = args.to_vec();
        a.extend(["cat", "/proc/self/limits"]);
        let (code, out, err) = chpst(d.path(), &a);
        assert_eq!((code, err.as_str()), (0, ""), "{args:?}");
        out
    };
    let row = |out: &str, name: &str| -> Vec<String> {
        let l = out.lines().find(|l| l.starts_with(name)).unwrap();
        l[name.len()..].split_whitespace().take(2).map(str::to_string).collect()
    };
    let out = limits(&["-o", "50", "-p", "77", "-f", "100000", "-c", "0", "-r", "123456", "-t", "9"]);
    assert_eq!(row(&out, "Max open files")[0], "50");
    assert_eq!(row(&out, "Max processes")[0], "77");
    assert_eq!(row(&out, "Max file size")[0], "100000");
    assert_eq!(row(&out, "Max core file size")[0], "0");
    assert_eq!(row(&out, "Max resident set")[0], "123456");
    assert_eq!(row(&out, "Max cpu time")[0], "9");
    let out = limits(&["-m", "400000000"]);
    for name in ["Max data size", "Max stack size", "Max address space"] {
        assert_eq!(row(&out, name)[0], "400000000", "{name}");
    }
    let memlock = row(&out, "Max locked memory");
    let hard: u64 = memlock[1].parse().unwrap_or(u64::MAX);
    assert_eq!(memlock[0], 400000000u64.min(hard).to_string());
    let out = limits(&["-m", "1000000000", "-d", "30000000"]);
    assert_eq!(row(&out, "Max data size")[0], "30000000");
    // Above the hard limit: silently the hard limit.
    let (code, out, _) = run(Command::new("sh")
        .args(["-c", &format!("ulimit -n 64; exec {} -o 1000 sh -c 'ulimit -n'", bin("chpst").display())]));
    assert_eq!((code, out.as_str()), (0, "64\n"));
    // Limits are set after dropping privileges, inside what the hard limit allows.
    let (_, out, _) = chpst(d.path(), &["-u", "nobody", "-o", "40", "sh", "-c", "ulimit -n; ulimit -Hn"]);
    let hard = run(Command::new("sh").args(["-c", "ulimit -Hn"])).1;
    assert_eq!(out, format!("40\n{hard}"));
}

#[test]
fn nice_levels_change_relative_to_the_current_one() {
    let d = tmpdir();
    let base: i32 = chpst(d.path(), &["nice"]).1.trim().parse().unwrap();
    for (arg, delta) in [("5", 5), ("+3", 3), ("-2", -2), ("0", 0)] {
        let (code, out, _) = chpst(d.path(), &["-n", arg, "nice"]);
        assert_eq!((code, out.trim().parse::<i32>().unwrap()), (0, (base + delta).clamp(-20, 19)), "-n {arg}");
    }
}

#[test]
fn zero_one_two_close_the_descriptors() {
    let d = tmpdir();
    // Which of 0, 1, 2 the shell (the executed program itself) has open;
    // `[` is a builtin, so nothing else opens a descriptor first.
    let check = "for i in 0 1 2; do [ -e /proc/$$/fd/$i ] && echo $i >&2; done; :";
    assert_eq!(chpst(d.path(), &["sh", "-c", check]), (0, String::new(), "0\n1\n2\n".into()));
    assert_eq!(chpst(d.path(), &["-0", "sh", "-c", check]), (0, String::new(), "1\n2\n".into()));
    assert_eq!(chpst(d.path(), &["-1", "sh", "-c", check]), (0, String::new(), "0\n2\n".into()));
    let check1 = check.replace(">&2", "");
    assert_eq!(chpst(d.path(), &["-2", "-0", "sh", "-c", &check1]), (0, "1\n".into(), String::new()));
    // Closing a descriptor that is not open is fatal.
    let (code, _, err) =
        run(Command::new("sh").args(["-c", &format!("exec 0<&-; {} -0 true", bin("chpst").display())]));
    assert_eq!((code, err.as_str()), (111, "chpst: fatal: unable to close stdin: file descriptor not open\n"));
    // A descriptor closed by the caller reaches the program closed, with
    // ours as with Debian's.
    for prog in [bin("chpst"), debian("chpst")] {
        let script = format!("exec 1>&-; {} sh -c '{check}'", prog.display());
        assert_eq!(run(Command::new("sh").args(["-c", &script])), (0, String::new(), "0\n2\n".into()), "{prog:?}");
    }
}

#[test]
fn signal_dispositions_reach_the_program_unchanged() {
    // The runtime ignores SIGPIPE inside chpst; the program must not inherit that.
    let d = tmpdir();
    let sigign = |out: &str| u64::from_str_radix(out.trim().strip_prefix("SigIgn:\t").unwrap(), 16).unwrap();
    let direct = sigign(&run(Command::new("grep").args(["^SigIgn", "/proc/self/status"])).1);
    assert_eq!(direct & 0x1000, 0, "the test itself must start programs with SIGPIPE default");
    let (code, out, _) = chpst(d.path(), &["grep", "^SigIgn", "/proc/self/status"]);
    assert_eq!((code, sigign(&out)), (0, direct));
    // But a SIGPIPE ignored by the caller stays ignored.
    let script = format!("trap '' PIPE; {} grep ^SigIgn /proc/self/status", bin("chpst").display());
    let (code, out, _) = run(Command::new("sh").args(["-c", &script]));
    assert_eq!((code, sigign(&out)), (0, direct | 0x1000));
}

/// (pid, session id) of the program, read from its /proc/self/stat.
fn pid_and_sid(stat: &str) -> (String, String) {
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = after.split(' ').collect();
    (stat.split(' ').next().unwrap().to_string(), f[3].to_string())
}

#[test]
fn capital_p_and_pgrphack_start_a_new_session() {
    let d = tmpdir();
    let pgrphack = link(d.path(), "pgrphack", &bin("chpst"));
    // Started from a shell, so chpst is not a process group leader.
    let sh = |args: &str| run(Command::new("sh").args(["-c", &format!("{args} cat /proc/self/stat; :")]));
    let (_, out, _) = sh(&format!("{} -P", bin("chpst").display()));
    let (pid, sid) = pid_and_sid(&out);
    assert_eq!(pid, sid);
    let (_, out, _) = sh(&pgrphack.display().to_string());
    let (pid, sid) = pid_and_sid(&out);
    assert_eq!(pid, sid);
    let (_, out, _) = sh(&bin("chpst").display().to_string());
    let (pid, sid) = pid_and_sid(&out);
    assert_ne!(pid, sid);
    assert_eq!(run(&mut Command::new(&pgrphack)), (100, String::new(), "usage: pgrphack child\n\n".into()));
}

/// Whether some process other than the test holds an flock on `f`.
fn locked(f: &Path) -> bool {
    let Ok(file) = fs::OpenOptions::new().append(true).open(f) else { return false };
    use std::os::fd::AsRawFd;
    // SAFETY: flock on a valid fd; the lock dies with `file`.
    unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) != 0 }
}

/// Whether `pid` is blocked waiting for an flock (a `->` line in /proc/locks).
fn waiting_for_lock(pid: u32) -> bool {
    fs::read_to_string("/proc/locks")
        .unwrap_or_default()
        .lines()
        .any(|l| l.contains("->") && l.split_whitespace().any(|w| w == pid.to_string()))
}

#[test]
fn capital_l_fails_at_once_and_l_waits_for_the_lock() {
    let d = tmpdir();
    let f = d.path().join("lock");
    let got = d.path().join("got");
    let holder = Proc::spawn(Command::new(bin("chpst")).arg("-L").arg(&f).args(["sleep", "60"]));
    wait_for("the program holds the lock", || locked(&f));
    assert_eq!(fs::metadata(&f).unwrap().permissions().mode() & 0o777, 0o600);
    let (code, _, err) = chpst(d.path(), &["-L", "lock", "true"]);
    assert_eq!((code, err.as_str()), (111, "chpst: fatal: unable to lock: lock: temporary failure\n"));
    let mut waiter = Proc::spawn(Command::new(bin("chpst")).arg("-l").arg(&f).args(["touch"]).arg(&got));
    let pid = waiter.pid() as u32;
    wait_for("chpst -l blocks in flock", || waiting_for_lock(pid));
    assert!(!got.exists() && waiter.running());
    drop(holder);
    assert!(waiter.wait_exit().success());
    assert!(got.exists());
}

#[test]
fn the_lock_is_opened_as_the_new_user() {
    let d = tmpdir();
    fs::set_permissions(d.path(), fs::Permissions::from_mode(0o700)).unwrap();
    let (code, _, err) = chpst(d.path(), &["-u", "nobody", "-l", "lock", "true"]);
    assert_eq!((code, err.as_str()), (111, "chpst: fatal: unable to open lock: lock: access denied\n"));
    assert!(!d.path().join("lock").exists());
}

#[test]
fn setlock_defaults_to_not_waiting_and_n_waits() {
    let d = tmpdir();
    let setlock = link(d.path(), "setlock", &bin("chpst"));
    let f = d.path().join("lock");
    let got = d.path().join("got");
    let holder = Proc::spawn(Command::new(&setlock).arg(&f).args(["sleep", "60"]));
    wait_for("setlock holds the lock", || locked(&f));
    let sl = |args: &[&str]| run(Command::new(&setlock).args(args).current_dir(d.path()));
    assert_eq!(
        sl(&["lock", "true"]),
        (111, String::new(), "chpst: fatal: unable to lock: lock: temporary failure\n".into())
    );
    assert_eq!(sl(&["-N", "lock", "true"]).0, 111);
    assert_eq!(sl(&["-x", "lock", "touch", "got"]), (0, String::new(), String::new()));
    assert_eq!(sl(&["-xX", "lock", "true"]).0, 111);
    assert!(!got.exists());
    let mut waiter = Proc::spawn(Command::new(&setlock).arg("-n").arg(&f).arg("touch").arg(&got));
    let pid = waiter.pid() as u32;
    wait_for("setlock -n blocks in flock", || waiting_for_lock(pid));
    drop(holder);
    assert!(waiter.wait_exit().success());
    assert!(got.exists());
    // -x also hides open and exec failures.
    assert_eq!(sl(&["-x", "nodir/lock", "true"]), (0, String::new(), String::new()));
    assert_eq!(sl(&["-x", "lock", "./nonexistent"]), (0, String::new(), String::new()));
    assert_eq!(
        sl(&["lock", "./nonexistent"]),
        (111, String::new(), "chpst: fatal: unable to run: ./nonexistent: file does not exist\n".into())
    );
    let u = "usage: setlock [ -nNxX ] file program [ arg ... ]\n\n";
    assert_eq!(sl(&["lock"]), (100, String::new(), u.to_string()));
    assert_eq!(sl(&["-z", "lock", "true"]), (100, String::new(), format!("setlock: illegal option -- z\n{u}")));
}

#[test]
fn softlimit_sets_soft_limits_and_equals_means_the_hard_limit() {
    let d = tmpdir();
    let sl = link(d.path(), "softlimit", &bin("chpst"));
    let (code, out, _) = run(Command::new(&sl).args(["-o", "33", "-c", "0", "sh", "-c", "ulimit -n; ulimit -c"]));
    assert_eq!((code, out.as_str()), (0, "33\n0\n"));
    let (code, out, _) = run(Command::new("sh")
        .args(["-c", &format!("ulimit -S -n 20; {} -o = sh -c 'ulimit -Sn; ulimit -Hn'; ulimit -Hn", sl.display())]));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!((code, lines[0], lines[1]), (0, lines[2], lines[2]));
    let (_, out, _) = run(Command::new(&sl).args(["-m", "=", "-s", "8000000", "cat", "/proc/self/limits"]));
    let stack = out.lines().find(|l| l.starts_with("Max stack size")).unwrap().to_string();
    assert!(stack.split_whitespace().nth(3) == Some("8000000"), "{stack}");
    assert_eq!(run(Command::new(&sl).args(["-m", "12k", "true"])), (100, String::new(), usage("softlimit")));
    let u = format!("usage: softlimit {SOFTLIMIT_USAGE}\n\n");
    assert_eq!(
        run(Command::new(&sl).args(["-z", "true"])),
        (100, String::new(), format!("softlimit: illegal option -- z\n{u}"))
    );
    assert_eq!(run(Command::new(&sl).args(["-o", "5"])), (100, String::new(), u));
}

#[test]
fn setuidgid_and_envuidgid_take_a_plain_account() {
    let d = tmpdir();
    let su = link(d.path(), "setuidgid", &bin("chpst"));
    let eu = link(d.path(), "envuidgid", &bin("chpst"));
    let (code, out, _) = run(Command::new(&su).args(["nobody", "cat", "/proc/self/status"]));
    assert_eq!(code, 0);
    assert_eq!(id_lines(&out), ids(65534, 65534, &[65534]));
    assert_eq!(
        run(Command::new(&su).args(["nobody:nogroup", "true"])),
        (111, String::new(), "chpst: fatal: unknown account: nobody:nogroup\n".into())
    );
    assert_eq!(
        run(Command::new(&su).args(["nobody"])),
        (100, String::new(), "usage: setuidgid account child\n\n".into())
    );
    let (code, out, _) = run(Command::new(&eu).args(["nobody", "sh", "-c", "echo $UID $GID; id -u"]));
    assert_eq!((code, out.as_str()), (0, "65534 65534\n0\n"));
    assert_eq!(
        run(Command::new(&eu).args([":1:2", "true"])),
        (111, String::new(), "chpst: fatal: unknown account: :1:2\n".into())
    );
    assert_eq!(run(Command::new(&eu).args(["x"])), (100, String::new(), "usage: envuidgid account child\n\n".into()));
}

#[test]
fn the_program_is_found_on_chpsts_own_path_and_b_sets_argv0() {
    let d = tmpdir();
    let p = d.path();
    fs::create_dir_all(p.join("noexec")).unwrap();
    fs::create_dir_all(p.join("bin")).unwrap();
    fs::create_dir_all(p.join("env")).unwrap();
    // Written by a child process: a write descriptor of ours could leak into
    // a process another test is forking right now and make exec fail with
    // "text busy".
    let make =
        format!("printf '#!/bin/sh\\necho \"hello $0 $*\"\\n' > {0}/bin/hello && chmod 755 {0}/bin/hello", p.display());
    assert_eq!(run(Command::new("sh").args(["-c", &make])).0, 0);
    fs::write(p.join("noexec/hello"), "not executable").unwrap();
    fs::write(p.join("env/PATH"), "/nonexistent").unwrap();
    let path = format!("{0}/missing:{0}/noexec:{0}/bin:/usr/bin:/bin", p.display());
    let c = |args: &[&str]| run(Command::new(bin("chpst")).args(args).current_dir(p).env("PATH", &path));
    // Past a missing directory and a non-executable file, to the real one.
    assert_eq!(c(&["-e", "env", "hello", "a"]), (0, format!("hello {}/bin/hello a\n", p.display()), String::new()));
    assert_eq!(
        c(&["-b", "other", "cat", "/proc/self/cmdline"]),
        (0, "other\0/proc/self/cmdline\0".into(), String::new())
    );
    assert_eq!(
        c(&["-b", "other", "nothere"]),
        (111, String::new(), "chpst: fatal: unable to run: other: file does not exist\n".into())
    );
    assert_eq!(
        c(&["hello2"]),
        (111, String::new(), "chpst: fatal: unable to run: hello2: file does not exist\n".into())
    );
    // Only a non-executable file found: access denied.
    fs::remove_file(p.join("bin/hello")).unwrap();
    assert_eq!(c(&["hello"]), (111, String::new(), "chpst: fatal: unable to run: hello: access denied\n".into()));
    // The program's own exit code passes through.
    assert_eq!(c(&["sh", "-c", "exit 7"]).0, 7);
}

/// The interop table: each invocation gives the same exit code, stdout and
/// stderr with ours and Debian's (usage lines differ only by `[-C pwd]`).
#[test]
fn same_results_as_debians_chpst_and_personalities() {
    let d = tmpdir();
    let p = d.path();
    let e = envdir(p);
    fs::remove_dir(e.join("sub")).unwrap();
    fs::create_dir(p.join("env2")).unwrap();
    fs::create_dir(p.join("env2/sub")).unwrap();
    let names =
        ["chpst", "envdir", "envuidgid", "pgrphack", "setuidgid", "setlock", "softlimit", "dsetlock", "dsoftlimit"];
    for side in ["ours", "deb"] {
        fs::create_dir(p.join(side)).unwrap();
        let target = if side == "ours" { bin("chpst") } else { debian("chpst") };
        for n in names {
            link(&p.join(side), n, &target);
        }
    }
    let cases: &[&[&str]] = &[
        &["chpst"],
        &["chpst", "-z"],
        &["chpst", "-u"],
        &["chpst", "-m", "x", "true"],
        &["chpst", "-n", "x", "true"],
        &["chpst", "-l", "a", "-L", "b", "true"],
        &["chpst", "-u", "nobody", "id"],
        &["chpst", "-u", "nobody:nogroup:daemon", "id"],
        &["chpst", "-u", ":65534:65534:100:5", "id"],
        &["chpst", "-U", ":123:456", "sh", "-c", "echo $UID $GID"],
        &["chpst", "-U", "nobody", "-u", "daemon", "sh", "-c", "echo $UID $GID; id"],
        &["chpst", "-u", "nosuch", "true"],
        &["chpst", "-u", "nobody:nosuch", "true"],
        &["chpst", "-u", ":12", "true"],
        &["chpst", "-u", ":x", "true"],
        &["chpst", "-e", "env", "env"],
        &["chpst", "-v", "-e", "env2", "true"],
        &["chpst", "-e", "missing", "true"],
        &["chpst", "-/", "missing", "true"],
        &["chpst", "-m", "400000000", "sh", "-c", "ulimit -d; ulimit -s; ulimit -l; ulimit -v"],
        &[
            "chpst",
            "-d",
            "10000000",
            "-o",
            "30",
            "-p",
            "77",
            "-f",
            "100",
            "-c",
            "0",
            "-r",
            "500",
            "-t",
            "9",
            "sh",
            "-c",
            "ulimit -a",
        ],
        &["chpst", "-n", "-2", "nice"],
        &["chpst", "-n", "+3", "nice"],
        &["chpst", "-b", "foo", "sh", "-c", "echo $0"],
        &["chpst", "-b", "foo", "nosuchprog"],
        &["chpst", "nosuchprog"],
        &["chpst", "./env"],
        &["chpst", "-0", "-2", "sh", "-c", "for i in 0 1 2; do [ -e /proc/$$/fd/$i ] && echo $i; done; :"],
        &["chpst", "-u", "nobody", "-l", "lockfile", "true"],
        &["chpst", "-L", "lockfile", "sh", "-c", "echo locked"],
        &["chpst", "sh", "-c", "exit 3"],
        &["chpst", "grep", "^Sig[IB]", "/proc/self/status"],
        &["softlimit", "-o", "20", "grep", "^Sig[IB]", "/proc/self/status"],
        &["envdir"],
        &["envdir", "env"],
        &["envdir", "env", "env"],
        &["envdir", "env2", "true"],
        &["envdir", "missing", "true"],
        &["envuidgid", "nobody", "sh", "-c", "echo $UID $GID"],
        &["envuidgid", "nosuch", "true"],
        &["setuidgid", "nobody", "id"],
        &["setuidgid", "nobody:nogroup", "id"],
        &["setuidgid", "nosuch", "id"],
        &["setuidgid"],
        &["pgrphack"],
        &["pgrphack", "sh", "-c", "echo ok"],
        &["setlock"],
        &["setlock", "-z", "f", "true"],
        &["setlock", "lockfile"],
        &["setlock", "lockfile", "echo", "ok"],
        &["setlock", "-x", "nodir/lockfile", "echo", "ok"],
        &["setlock", "-x", "lockfile", "./nonexistent"],
        &["setlock", "lockfile", "./nonexistent"],
        &["dsetlock", "-q"],
        &["softlimit"],
        &["softlimit", "-z"],
        &["softlimit", "-m", "abc", "true"],
        &["softlimit", "-o", "=", "-c", "0", "-s", "300000", "sh", "-c", "ulimit -n -c -s"],
        &["dsoftlimit", "-z"],
    ];
    fs::set_permissions(p, fs::Permissions::from_mode(0o700)).unwrap();
    for case in cases {
        let go = |side: &str| run(Command::new(p.join(side).join(case[0])).args(&case[1..]).current_dir(p));
        let (oc, oo, oe) = go("ours");
        let (dc, dout, de) = go("deb");
        assert_eq!((oc, oo, oe.replace(" [-C pwd]", "")), (dc, dout, de), "{case:?}");
    }
    // Ours has -C (2.2.0); Debian's 2.1.2 does not.
    let (code, out, _) = run(Command::new(p.join("ours/chpst")).args(["-C", "/", "pwd"]));
    assert_eq!((code, out.as_str()), (0, "/\n"));
    let (code, _, err) = run(Command::new(p.join("deb/chpst")).args(["-C", "/", "pwd"]));
    assert_eq!(code, 100);
    assert!(err.starts_with("chpst: illegal option -- C\n"));
}

#[test]
fn the_install_script_creates_working_personality_links() {
    let d = tmpdir();
    let bindir = d.path().join("usr/bin");
    fs::create_dir_all(&bindir).unwrap();
    // Copied by a child process (see the "text busy" note above).
    assert_eq!(run(Command::new("cp").arg(bin("chpst")).arg(bindir.join("chpst"))).0, 0);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("crates/chpst/install-personalities.sh");
    let (code, _, err) = run(Command::new(&script).arg("/usr/bin").env("DESTDIR", d.path()));
    assert_eq!((code, err.as_str()), (0, ""));
    for name in ["envdir", "envuidgid", "pgrphack", "setuidgid", "setlock", "softlimit"] {
        assert_eq!(fs::read_link(bindir.join(name)).unwrap(), Path::new("chpst"), "{name}");
    }
    let (code, out, _) = run(Command::new(bindir.join("envuidgid")).args(["nobody", "sh", "-c", "echo $UID"]));
    assert_eq!((code, out.as_str()), (0, "65534\n"));
    // Hard links on request, and a missing chpst is refused.
    let (code, _, _) = run(Command::new(&script).arg("/usr/bin").env("DESTDIR", d.path()).env("LINK", "hard"));
    assert_eq!(code, 0);
    assert!(!fs::symlink_metadata(bindir.join("setlock")).unwrap().file_type().is_symlink());
    let (code, _, err) = run(Command::new(&script).arg("/nowhere").env("DESTDIR", d.path()));
    assert_eq!(code, 111, "{err}");
}
