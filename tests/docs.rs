//! The documentation and packaging stay next to the code: every program has
//! a man page that renders cleanly and names every option its parser
//! accepts, `scripts/install` produces the expected tree, the sv
//! completions load and complete, and `docs/BUILD.md` lists every
//! build-time setting.

use std::collections::BTreeSet;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Programs installed to sbin and to bin, as scripts/install does.
const SBIN: [&str; 7] = ["runsv", "runsvdir", "runsvchdir", "runit", "runit-init", "utmpset", "runit-import"];
const BIN: [&str; 3] = ["sv", "svlogd", "chpst"];
const PERSONALITIES: [&str; 6] = ["envdir", "envuidgid", "pgrphack", "setuidgid", "setlock", "softlimit"];

/// The directory Cargo built our binaries into for this test run.
fn built_binaries() -> PathBuf {
    Path::new(env!("CARGO_BIN_EXE_runsv")).parent().expect("binary directory").to_path_buf()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn run(cmd: &mut Command) -> Output {
    cmd.output().unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
}

/// The `[[bin]]` names of the root Cargo.toml: every program we ship.
fn programs() -> Vec<String> {
    let toml = fs::read_to_string(root().join("Cargo.toml")).unwrap();
    let mut out = Vec::new();
    let mut in_bin = false;
    for line in toml.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_bin = line == "[[bin]]";
        } else if in_bin {
            if let Some(v) = line.strip_prefix("name = \"") {
                out.push(v.trim_end_matches('"').to_string());
            }
        }
    }
    assert!(out.len() >= 9, "found only {out:?} in Cargo.toml");
    out
}

fn man_page(program: &str) -> PathBuf {
    root().join("man").join(format!("{program}.8"))
}

/// Every `.rs` file under `dir`.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(rd) = fs::read_dir(dir) else { return out };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(rust_files(&p));
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
    out.sort();
    out
}

/// The option letters a program's parser accepts, read from its crate's
/// source: every `Getopt::new(ARGS, b"OPTSTRING")` (chpst's personalities
/// included); for programs that look at argv by hand (runsvdir, runit-init),
/// the letters they match as `Some(b'X') =>` or `== Some(&b'X')`.
fn parser_options(program: &str) -> BTreeSet<char> {
    let sources: Vec<String> = rust_files(&root().join("crates").join(program).join("src"))
        .iter()
        .map(|p| fs::read_to_string(p).unwrap())
        .collect();
    let mut opts = BTreeSet::new();
    let mut getopt = false;
    for src in &sources {
        for (i, _) in src.match_indices("Getopt::new(") {
            getopt = true;
            let rest = &src[i..];
            let start = rest.find("b\"").expect("Getopt::new without a byte-string optstring") + 2;
            let end = rest[start..].find('"').unwrap() + start;
            opts.extend(rest[start..end].chars().filter(|&c| c != ':'));
        }
    }
    if !getopt {
        for src in &sources {
            for pat in ["Some(b'", "== Some(&b'"] {
                for (i, _) in src.match_indices(pat) {
                    let rest = &src[i + pat.len()..];
                    let mut chars = rest.chars();
                    let (Some(c), Some('\''), Some(')')) = (chars.next(), chars.next(), chars.next()) else { continue };
                    let hand_option = pat.starts_with("==") || rest[3..].trim_start().starts_with("=>");
                    if c.is_ascii_alphabetic() && hand_option {
                        opts.insert(c);
                    }
                }
            }
        }
    }
    opts
}

/// Whether the roff text names option `-c`: `\-c` not followed by another
/// letter or digit (so `\-tt` alone does not count for `-t`).
fn names_option(roff: &str, c: char) -> bool {
    let needle = format!("\\-{c}");
    roff.match_indices(&needle)
        .any(|(i, _)| roff[i + needle.len()..].chars().next().is_none_or(|n| !n.is_ascii_alphanumeric()))
}

#[test]
fn the_option_extractor_sees_the_known_options() {
    // Guards the test below against finding nothing and passing vacuously.
    let chpst = parser_options("chpst");
    for c in ['u', 'U', '/', 'C', '0', 'V', 'n', 'N', 'x', 'X', 'a', 's'] {
        assert!(chpst.contains(&c), "chpst: {c} missing from {chpst:?}");
    }
    assert_eq!(parser_options("runsvdir"), BTreeSet::from(['P']));
    assert_eq!(parser_options("runit-init"), BTreeSet::from(['V']));
    assert_eq!(parser_options("utmpset"), BTreeSet::from(['w', 'V']));
    assert!(parser_options("svlogd").is_superset(&BTreeSet::from(['t', 'T', 'r', 'R', 'l', 'b', 'v', 'V'])));
    assert!(parser_options("runsv").is_empty());
    assert!(names_option(".B \\-t\n", 't'));
    assert!(!names_option(".B \\-tt\n", 't'));
    assert!(names_option(".BI \\-/ \" root\"\n", '/'));
}

#[test]
fn every_program_has_a_man_page_naming_every_option_its_parser_accepts() {
    let mut missing = Vec::new();
    for program in programs() {
        let page = man_page(&program);
        let Ok(roff) = fs::read_to_string(&page) else {
            missing.push(format!("{program}: no man page {}", page.display()));
            continue;
        };
        let th = format!(".TH {} 8 ", program.to_uppercase());
        if !roff.starts_with(&th) {
            missing.push(format!("{program}: page does not start with `{th}`"));
        }
        for c in parser_options(&program) {
            if !names_option(&roff, c) {
                missing.push(format!("{program}: option -{c} is not in {}", page.display()));
            }
        }
    }
    assert!(missing.is_empty(), "{}", missing.join("\n"));
}

fn have(program: &str) -> bool {
    Command::new("sh").arg("-c").arg(format!("command -v {program}")).output().is_ok_and(|o| o.status.success())
}

#[test]
fn every_man_page_renders_without_warnings() {
    let pages: Vec<PathBuf> = programs().iter().map(|p| man_page(p)).collect();
    if have("man") {
        for page in &pages {
            // Debian's lint command for man pages.
            let out = run(Command::new("man")
                .args(["--warnings", "-E", "UTF-8", "-l", "-Tutf8", "-Z"])
                .arg(page)
                .env("LC_ALL", "C.UTF-8")
                .env("MANROFFSEQ", "")
                .env("MANWIDTH", "80"));
            assert!(out.status.success(), "man -l {}: {}", page.display(), text(&out.stderr));
            assert_eq!(text(&out.stderr), "", "man -l {} warns", page.display());
        }
    } else {
        println!("skipped man -l: man is not installed (apt-get install man-db)");
    }
    if have("groff") {
        for page in &pages {
            let out = run(Command::new("groff").args(["-man", "-ww", "-z"]).arg(page).env("LC_ALL", "C.UTF-8"));
            assert!(out.status.success(), "groff {}: {}", page.display(), text(&out.stderr));
            assert_eq!(text(&out.stderr), "", "groff -ww {} warns", page.display());
        }
    } else {
        println!("skipped groff -ww: groff is not installed (apt-get install groff-base)");
    }
}

/// Every file and symlink under `dir`, as paths relative to it.
fn tree(dir: &Path) -> BTreeSet<String> {
    fn walk(base: &Path, dir: &Path, out: &mut BTreeSet<String>) {
        for e in fs::read_dir(dir).unwrap().flatten() {
            let p = e.path();
            let ft = e.file_type().unwrap();
            if ft.is_dir() {
                walk(base, &p, out);
            } else {
                out.insert(p.strip_prefix(base).unwrap().to_string_lossy().into_owned());
            }
        }
    }
    let mut out = BTreeSet::new();
    walk(dir, dir, &mut out);
    out
}

fn install(destdir: &Path, extra: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(root().join("scripts/install"));
    cmd.arg("--no-build").env("DESTDIR", destdir).env("PREFIX", "/usr").env("BINDIR_SRC", built_binaries());
    cmd.env_remove("RUNIT_RS_SVDIR");
    for (k, v) in extra {
        cmd.env(k, v);
    }
    run(&mut cmd)
}

#[test]
fn install_into_a_temporary_destdir_gives_the_expected_tree() {
    let dest = tempfile::tempdir().unwrap();
    let out = install(dest.path(), &[]);
    assert!(out.status.success(), "scripts/install failed: {}{}", text(&out.stdout), text(&out.stderr));

    let mut expected = BTreeSet::new();
    for p in SBIN {
        expected.insert(format!("usr/sbin/{p}"));
    }
    for p in BIN.iter().chain(PERSONALITIES.iter()) {
        expected.insert(format!("usr/bin/{p}"));
    }
    for p in programs() {
        expected.insert(format!("usr/share/man/man8/{p}.8"));
    }
    expected.insert("usr/share/bash-completion/completions/sv".into());
    expected.insert("usr/share/zsh/site-functions/_sv".into());
    expected.insert("usr/share/bash-completion/completions/runit-import".into());
    expected.insert("usr/share/zsh/site-functions/_runit-import".into());
    assert_eq!(tree(dest.path()), expected);

    let d = dest.path();
    let mode = |rel: &str| fs::metadata(d.join(rel)).unwrap().permissions().mode() & 0o7777;
    for p in SBIN {
        let rel = format!("usr/sbin/{p}");
        assert_eq!(mode(&rel), 0o755, "{rel}");
        assert_eq!(
            fs::read(d.join(&rel)).unwrap(),
            fs::read(built_binaries().join(p)).unwrap(),
            "{rel} is not the built one"
        );
    }
    for p in BIN {
        assert_eq!(mode(&format!("usr/bin/{p}")), 0o755, "usr/bin/{p}");
    }
    for p in PERSONALITIES {
        let link = d.join("usr/bin").join(p);
        assert_eq!(fs::read_link(&link).unwrap(), Path::new("chpst"), "{p} is not a relative link to chpst");
    }
    for p in programs() {
        let rel = format!("usr/share/man/man8/{p}.8");
        assert_eq!(mode(&rel), 0o644, "{rel}");
        assert_eq!(fs::read(d.join(&rel)).unwrap(), fs::read(man_page(&p)).unwrap());
    }
    let bash = fs::read_to_string(d.join("usr/share/bash-completion/completions/sv")).unwrap();
    assert_eq!(bash, fs::read_to_string(root().join("completions/sv.bash")).unwrap());
    assert_eq!(mode("usr/share/zsh/site-functions/_sv"), 0o644);

    // A personality link really runs chpst's personality.
    let out = run(&mut Command::new(d.join("usr/bin/envdir")));
    assert_eq!(out.status.code(), Some(100));
    assert_eq!(text(&out.stderr), "usage: envdir dir child\n\n");
}

#[test]
fn install_writes_a_changed_default_service_directory_into_the_completions() {
    let dest = tempfile::tempdir().unwrap();
    let out = install(dest.path(), &[("RUNIT_RS_SVDIR", "/var/service")]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    for rel in ["usr/share/bash-completion/completions/sv", "usr/share/zsh/site-functions/_sv"] {
        let s = fs::read_to_string(dest.path().join(rel)).unwrap();
        assert!(s.contains("${SVDIR:-/var/service/}"), "{rel}:\n{s}");
        assert!(!s.contains("/etc/service"), "{rel} still names /etc/service");
    }
}

#[test]
fn install_without_built_programs_fails_and_installs_nothing() {
    let dest = tempfile::tempdir().unwrap();
    let empty = tempfile::tempdir().unwrap();
    let out = install(dest.path(), &[("BINDIR_SRC", empty.path().to_str().unwrap())]);
    assert_eq!(out.status.code(), Some(111));
    assert!(text(&out.stderr).contains("is missing"), "{}", text(&out.stderr));
    assert!(tree(dest.path()).is_empty());

    let out = run(Command::new(root().join("scripts/install")).arg("--bogus"));
    assert_eq!(out.status.code(), Some(100));
}

fn bash(script: &str, svdir: &Path) -> Output {
    run(Command::new("bash")
        .args(["--norc", "--noprofile", "-c"])
        .arg(script)
        .current_dir(root())
        .env("SVDIR", svdir)
        .env("LC_ALL", "C"))
}

/// A services directory with two services, a link to one, a dotted one
/// and a plain file.
fn services_dir() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    for s in ["alpha", "beta", ".hidden"] {
        fs::create_dir(d.path().join(s)).unwrap();
    }
    fs::write(d.path().join("notes"), "").unwrap();
    std::os::unix::fs::symlink(d.path().join("alpha"), d.path().join("alias")).unwrap();
    d
}

#[test]
fn the_bash_completion_loads_without_errors() {
    let out = bash("source completions/sv.bash && complete -p sv", Path::new("/nonexistent"));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stderr), "");
    assert_eq!(text(&out.stdout), "complete -F _sv sv\n");
}

#[test]
fn the_bash_completion_offers_services_from_svdir() {
    let d = services_dir();
    let complete = |words: &str| {
        let script = format!(
            "source completions/sv.bash; COMP_WORDS=({words}); COMP_CWORD=$((${{#COMP_WORDS[@]}} - 1)); _sv; printf '%s\\n' \"${{COMPREPLY[@]}}\""
        );
        let out = bash(&script, d.path());
        assert!(out.status.success() && out.stderr.is_empty(), "{words}: {}", text(&out.stderr));
        let mut v: Vec<String> = text(&out.stdout).lines().filter(|l| !l.is_empty()).map(String::from).collect();
        v.sort();
        v
    };
    assert_eq!(complete("sv status ''"), ["alias", "alpha", "beta"]);
    assert_eq!(complete("sv -w 5 up al"), ["alias", "alpha"]);
    assert_eq!(complete("sv down alpha b"), ["beta"]);
    assert_eq!(complete("sv res"), ["restart"]);
    assert_eq!(complete("sv force-r"), ["force-reload", "force-restart"]);
    assert_eq!(complete("sv -"), ["-V", "-j", "-v", "-w"]);
}

/// The command words documented in sv.8's COMMANDS section.
fn documented_sv_commands() -> BTreeSet<String> {
    let roff = fs::read_to_string(man_page("sv")).unwrap();
    let section = roff.split(".SH COMMANDS\n").nth(1).unwrap().split("\n.SH ").next().unwrap();
    let mut words = BTreeSet::new();
    let mut after_tp = false;
    for line in section.lines() {
        if after_tp {
            for w in line.split_whitespace().skip(1) {
                let w = w.replace("\\-", "-");
                if !w.is_empty() && w.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
                    words.insert(w);
                }
            }
        }
        after_tp = line == ".TP";
    }
    words
}

#[test]
fn the_completions_offer_exactly_the_documented_sv_commands() {
    let documented = documented_sv_commands();
    assert!(documented.contains("status") && documented.contains("force-shutdown"), "{documented:?}");
    let bash_src = fs::read_to_string(root().join("completions/sv.bash")).unwrap();
    let line = bash_src.lines().find(|l| l.starts_with("_sv_commands=")).unwrap();
    let bash_words: BTreeSet<String> = line.split('\'').nth(1).unwrap().split_whitespace().map(String::from).collect();
    assert_eq!(bash_words, documented, "completions/sv.bash");

    let zsh_src = fs::read_to_string(root().join("completions/_sv")).unwrap();
    let block = zsh_src.split("commands=(\n").nth(1).unwrap().split("\n)").next().unwrap();
    let zsh_words: BTreeSet<String> = block
        .lines()
        .filter_map(|l| l.trim().strip_prefix('\'').and_then(|l| l.split_once(':')).map(|(w, _)| w.to_string()))
        .collect();
    assert_eq!(zsh_words, documented, "completions/_sv");
}

#[test]
fn the_zsh_completion_parses() {
    if !have("zsh") {
        println!("skipped: zsh is not installed");
        return;
    }
    let out = run(Command::new("zsh").args(["-n", "completions/_sv"]).current_dir(root()));
    assert!(out.status.success() && out.stderr.is_empty(), "{}", text(&out.stderr));
}

#[test]
fn build_md_lists_every_build_time_setting() {
    let doc = fs::read_to_string(root().join("docs/BUILD.md")).unwrap();
    let mut found = BTreeSet::new();
    for f in rust_files(&root().join("crates")) {
        let src = fs::read_to_string(&f).unwrap();
        for (i, _) in src.match_indices("option_env!(\"") {
            let rest = &src[i + "option_env!(\"".len()..];
            found.insert(rest[..rest.find('"').unwrap()].to_string());
        }
    }
    assert!(found.contains("RUNIT_RS_STOPIT"), "{found:?}");
    let missing: Vec<_> = found.iter().filter(|v| !doc.contains(&format!("`{v}`"))).collect();
    assert!(missing.is_empty(), "docs/BUILD.md does not list {missing:?}");
}

#[test]
fn the_runsv_page_names_every_opt_in_file_runsv_honours() {
    // Present once runsv's opt-in extras are merged; then each file name
    // must be documented.
    let Ok(src) = fs::read_to_string(root().join("crates/supervise/src/extras.rs")) else {
        println!("skipped: no opt-in files in this tree");
        return;
    };
    let roff = fs::read_to_string(man_page("runsv")).unwrap().replace("\\-", "-");
    let mut names = Vec::new();
    for line in src.lines() {
        if let Some(rest) = line.strip_prefix("pub const ") {
            if let Some((_, v)) = rest.split_once(": &str = \"") {
                names.push(v.trim_end_matches("\";").to_string());
            }
        }
    }
    assert!(!names.is_empty());
    let missing: Vec<_> = names.iter().filter(|n| !roff.contains(n.as_str())).collect();
    assert!(missing.is_empty(), "man/runsv.8 does not mention {missing:?}");
}

#[test]
fn the_completions_offer_every_option_svs_parser_accepts() {
    let options: BTreeSet<String> = parser_options("sv").iter().map(|c| format!("-{c}")).collect();
    assert!(options.contains("-w"), "{options:?}");
    let bash_src = fs::read_to_string(root().join("completions/sv.bash")).unwrap();
    let list = bash_src.split("compgen -W '").nth(1).unwrap().split('\'').next().unwrap();
    let bash_opts: BTreeSet<String> = list.split_whitespace().map(String::from).collect();
    assert_eq!(bash_opts, options, "completions/sv.bash");
    let zsh_src = fs::read_to_string(root().join("completions/_sv")).unwrap();
    for o in &options {
        assert!(
            zsh_src.contains(&format!("'{o}[")) || zsh_src.contains(&format!("'{o}+[")),
            "completions/_sv lacks {o}"
        );
    }
}
