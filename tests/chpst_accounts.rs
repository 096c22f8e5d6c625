//! How chpst (linked statically, so without glibc's NSS modules) resolves
//! `-u`/`-U` names: by reading the files itself when nsswitch.conf names
//! `files` first, through the system's `getent` otherwise. Every case runs
//! ours and Debian's chpst (dynamic, real NSS) in the same small chroot and
//! expects the same ids or the same refusal.

mod util;

use std::fs;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

use util::{bin, debian, run};

/// A root with /usr bound from the host (the host's getent and NSS modules
/// included), its own accounts and the given nsswitch.conf.
fn root_with(dir: &Path, nsswitch: &str) -> PathBuf {
    let root = dir.join("root");
    for sub in ["usr", "proc", "etc"] {
        fs::create_dir_all(root.join(sub)).unwrap();
    }
    for l in ["bin", "lib", "lib64", "sbin"] {
        symlink(format!("usr/{l}"), root.join(l)).unwrap();
    }
    fs::write(root.join("etc/passwd"), "root:x:0:0::/:/bin/sh\nsvc:x:4242:4343::/:/bin/sh\n").unwrap();
    fs::write(root.join("etc/group"), "root:x:0:\nsvcgrp:x:4343:\nother:x:4545:\n").unwrap();
    fs::write(root.join("etc/nsswitch.conf"), nsswitch).unwrap();
    // The commands run as svc (4242) inside: whatever the umask and the
    // checkout's location, that user may enter the root and read the files.
    for p in ["", "usr", "proc", "etc", "etc/passwd", "etc/group", "etc/nsswitch.conf"] {
        let mode = if root.join(p).is_dir() { 0o755 } else { 0o644 };
        fs::set_permissions(root.join(p), fs::Permissions::from_mode(mode)).unwrap();
    }
    root
}

/// `PROG -/ ROOT ARGS`, in a private mount namespace with /usr and /proc
/// mounted inside ROOT.
fn chpst_in(prog: &Path, root: &Path, args: &str) -> (i32, String, String) {
    let r = root.display();
    let script = format!(
        "mount --bind /usr {r}/usr && mount -t proc proc {r}/proc || exit 97; {} -/ {r} {args}",
        prog.display()
    );
    let out = run(Command::new("unshare").args(["-m", "--propagation", "private", "sh", "-c", &script]));
    assert_ne!(out.0, 97, "namespace setup failed: {out:?}");
    out
}

fn ids_of(status: &str) -> Vec<&str> {
    status.lines().filter(|l| l.starts_with("Uid:") || l.starts_with("Gid:") || l.starts_with("Groups:")).collect()
}

const SVC: [&str; 3] = ["Uid:\t4242\t4242\t4242\t4242", "Gid:\t4545\t4545\t4545\t4545", "Groups:\t4545 "];

#[test]
fn ours_resolves_as_glibc_does_for_every_kind_of_nsswitch_line() {
    let d = tempfile::Builder::new().prefix("runit-rs-chpst-accounts").tempdir().unwrap();
    for (i, conf) in [
        // Read here: files alone; files first (a name it lacks goes to
        // getent, where the unavailable source finds nothing).
        "passwd: files\ngroup: files\n",
        "passwd: files nosuchsource\ngroup: files nosuchsource\n",
        // Through getent: another source first, action items, compat.
        "passwd: nosuchsource files\ngroup: nosuchsource files\n",
        "passwd: files [NOTFOUND=return] nosuchsource\ngroup: files [SUCCESS=merge] nosuchsource\n",
        "passwd: compat\ngroup: compat\n",
    ]
    .into_iter()
    .enumerate()
    {
        let dir = d.path().join(i.to_string());
        let root = root_with(&dir, conf);
        for prog in [bin("chpst"), debian("chpst")] {
            let (code, out, err) = chpst_in(&prog, &root, "-u svc:other cat /proc/self/status");
            assert_eq!((code, err.as_str(), ids_of(&out)), (0, "", SVC.to_vec()), "{prog:?} with {conf:?}");
            let (code, out, err) = chpst_in(&prog, &root, "-U svc sh -c 'echo $UID $GID'");
            assert_eq!((code, out.as_str(), err.as_str()), (0, "4242 4343\n", ""), "{prog:?} with {conf:?}");
            // Known outside the root only, or nowhere: refused, nothing runs.
            for spec in ["nobody", "svc:nogroup", "nosuchuser"] {
                let (code, out, err) = chpst_in(&prog, &root, &format!("-u {spec} echo ran"));
                let want = format!("chpst: fatal: unknown user/group: {spec}\n");
                assert_eq!((code, out.as_str(), err.as_str()), (111, "", want.as_str()), "{prog:?} with {conf:?}");
            }
        }
    }
}

#[test]
fn an_all_digit_name_is_a_name_not_an_id() {
    // getent takes an all-digit key as an id; getpwnam never does.
    let d = tempfile::Builder::new().prefix("runit-rs-chpst-accounts").tempdir().unwrap();
    let root = root_with(d.path(), "passwd: compat\ngroup: compat\n");
    for prog in [bin("chpst"), debian("chpst")] {
        let (code, _, err) = chpst_in(&prog, &root, "-u 4242 true");
        assert_eq!((code, err.as_str()), (111, "chpst: fatal: unknown user/group: 4242\n"), "{prog:?}");
    }
}
