//! runit-import: turns systemd unit files (`.service`, `.socket`, with
//! drop-ins, templates and specifiers) into runit service directories,
//! and says on stderr, with file and line, what it could not carry over.
//! See man/runit-import.8.
//!
//! Modules: `unit` reads the file syntax, `specifiers` resolves `%x`,
//! `dropin` finds units and merges drop-ins, `command` parses `Exec*=`
//! lines, `envfile` reads `EnvironmentFile=` files (also at run time,
//! through `runit-import --env-file`), `mapping` decides what each
//! directive becomes, `writer` puts directories in place atomically and
//! `report` words the outcome.

pub mod command;
pub mod dropin;
pub mod envfile;
pub mod mapping;
pub mod report;
pub mod specifiers;
pub mod unit;
pub mod writer;

use clap::Parser;
use mapping::ServiceDir;
use report::Warning;
use std::path::{Path, PathBuf};

/// Exit code for a bad command line, as the other runit programs use.
const EXIT_USAGE: i32 = 100;

#[derive(Parser, Debug)]
#[command(
    name = "runit-import",
    version,
    about = "Convert systemd units into runit service directories",
    after_help = "Exit status: 0 all units converted, 2 some, 1 none (or --strict found a problem), 100 usage."
)]
struct Args {
    /// Units to convert: names (ssh, getty@tty1, ssh.socket) or paths to unit files
    #[arg(value_name = "UNIT")]
    units: Vec<String>,

    /// Where the service directories go
    #[arg(long, value_name = "DIR", default_value = "/etc/sv")]
    to: PathBuf,

    /// Look for units by name here instead of the standard unit directories (repeatable)
    #[arg(long = "unit-path", value_name = "DIR")]
    unit_path: Vec<PathBuf>,

    /// Replace existing service directories (never one with a supervise directory)
    #[arg(long)]
    force: bool,

    /// Print every file that would be written (path, mode, contents); write nothing
    #[arg(long)]
    dry_run: bool,

    /// Fail (exit 1, write nothing) if any directive is not carried over faithfully or any unit is skipped
    #[arg(long)]
    strict: bool,

    /// Helper mode for run scripts: print `export NAME='VALUE'` lines for the assignments in FILE, read with systemd's EnvironmentFile= syntax; a leading - makes a missing file no error (repeatable)
    #[arg(long = "env-file", value_name = "[-]FILE", allow_hyphen_values = true)]
    env_file: Vec<String>,
}

/// One unit given on the command line, converted or not.
struct Outcome {
    label: String,
    warnings: Vec<Warning>,
    result: Result<ServiceDir, String>,
}

pub fn main() {
    std::process::exit(run(std::env::args_os().collect()));
}

fn usage_error(msg: &str) -> i32 {
    eprintln!("runit-import: usage error: {msg} (try --help)");
    EXIT_USAGE
}

/// The program, returning its exit code.
pub fn run(argv: Vec<std::ffi::OsString>) -> i32 {
    let args = match Args::try_parse_from(argv) {
        Ok(a) => a,
        Err(e) => {
            use clap::error::ErrorKind;
            let code = match e.kind() {
                ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => 0,
                _ => EXIT_USAGE,
            };
            let _ = e.print();
            return code;
        }
    };
    if !args.env_file.is_empty() {
        if !args.units.is_empty() {
            return usage_error("--env-file takes no units");
        }
        return envfile::export(&args.env_file);
    }
    if args.units.is_empty() {
        return usage_error("no unit given");
    }
    let dirs: Vec<PathBuf> = if args.unit_path.is_empty() {
        dropin::UNIT_DIRS.iter().map(PathBuf::from).collect()
    } else {
        args.unit_path.clone()
    };
    let opts = mapping::Options { helper: helper_path() };

    let mut outcomes: Vec<Outcome> = Vec::new();
    for arg in &args.units {
        let mut warnings = Vec::new();
        let (label, mut result) = match convert(arg, &dirs, &opts, &mut warnings) {
            Ok((label, dir)) => (label, Ok(dir)),
            Err((label, e)) => (label, Err(e)),
        };
        let this = result.as_ref().ok().map(|d| (d.name.clone(), d.file("listen").is_some()));
        if let Some((name, listens)) = this {
            let same = outcomes.iter().position(|o| o.result.as_ref().is_ok_and(|d| d.name == name));
            if let Some(i) = same {
                let prev = outcomes.remove(i);
                let prev_listens = prev.result.as_ref().is_ok_and(|d| d.file("listen").is_some());
                if listens != prev_listens {
                    // A service and its socket given together: one directory,
                    // the socket's (it has the listen file), reported once.
                    let label = format!("{} and {label}", prev.label);
                    let mut keep =
                        if listens { Outcome { label, warnings, result } } else { Outcome { label, ..prev } };
                    // The service itself is wanted too: it starts at once,
                    // not at the first connection.
                    if let Ok(d) = &mut keep.result {
                        d.files.retain(|f| f.path != mapping::FLAG_ON_DEMAND);
                    }
                    outcomes.insert(i, keep);
                    continue;
                }
                result = Err(format!("{name} is already converted from {}", prev.label));
                outcomes.insert(i, prev);
            }
        }
        outcomes.push(Outcome { label, warnings, result });
    }

    let mut n_warnings = 0;
    let mut n_skipped = 0;
    for o in &outcomes {
        for w in &o.warnings {
            eprintln!("{w}");
            n_warnings += 1;
        }
        if let Err(e) = &o.result {
            eprintln!("{}", report::skipped(&o.label, e));
            n_skipped += 1;
        }
    }
    // Absolute, so that the ln -s printed at the end works from anywhere.
    let to = std::path::absolute(&args.to).unwrap_or_else(|_| args.to.clone());
    if args.strict {
        // A target that would be refused counts too: all or nothing.
        for o in &outcomes {
            if let Ok(dir) = &o.result {
                if let Err(e) = writer::check_target(&to.join(&dir.name), args.force) {
                    eprintln!("{}", report::skipped(&o.label, &e));
                    n_skipped += 1;
                }
            }
        }
        if n_warnings > 0 || n_skipped > 0 {
            eprintln!("runit-import: --strict: {n_warnings} warning(s), {n_skipped} unit(s) skipped: nothing written");
            return 1;
        }
    }

    let mut converted = Vec::new();
    let mut failed = n_skipped;
    for o in &outcomes {
        let Ok(dir) = &o.result else { continue };
        let target = to.join(&dir.name);
        let done = if args.dry_run {
            writer::check_target(&target, args.force).map(|()| print!("{}", writer::describe(dir, &target)))
        } else {
            writer::write(dir, &target, args.force)
        };
        match done {
            Ok(()) => converted.push((o.label.clone(), target.display().to_string())),
            Err(e) => {
                eprintln!("{}", report::skipped(&o.label, &e));
                failed += 1;
            }
        }
    }
    print!("{}", report::summary(&converted, args.dry_run));
    report::exit_code(converted.len(), failed)
}

/// How generated scripts call this program back: by the path it runs from.
fn helper_path() -> String {
    std::env::current_exe()
        .ok()
        .and_then(|p| p.canonicalize().ok())
        .and_then(|p| p.to_str().map(String::from))
        .unwrap_or_else(|| "runit-import".into())
}

type Converted = Result<(String, ServiceDir), (String, String)>;

/// Converts one command-line unit: a service, or a socket with the
/// service it activates.
fn convert(arg: &str, dirs: &[PathBuf], opts: &mapping::Options, warnings: &mut Vec<Warning>) -> Converted {
    let (name, file, search) = dropin::resolve(arg, dirs).map_err(|e| (arg.to_string(), e))?;
    let label = name.full.clone();
    let fail = |e: String| (label.clone(), e);
    let loaded = dropin::load(name, file, &search).map_err(fail)?;
    let loaded_is_socket = loaded.name.suffix == "socket";
    let (service, listen) = if loaded_is_socket {
        let sock = mapping::socket(&loaded).map_err(fail)?;
        warnings.extend(sock.warnings);
        let svc = load_by_name(&sock.service, &search).map_err(fail)?;
        (svc, sock.lines)
    } else {
        let mut listen = Vec::new();
        for s in mapping::sockets_of(&loaded) {
            let sl = load_by_name(&s, &search).map_err(fail)?;
            let sock = mapping::socket(&sl).map_err(fail)?;
            warnings.extend(sock.warnings);
            listen.extend(sock.lines);
        }
        (loaded, listen)
    };
    let (mut dir, w) = mapping::service(&service, &listen, opts).map_err(fail)?;
    warnings.extend(w);
    if loaded_is_socket {
        // Only the socket is enabled in systemd's sense: the service starts
        // when the first client comes.
        dir.files.push(mapping::OutFile { path: mapping::FLAG_ON_DEMAND.into(), mode: 0o644, contents: String::new() });
    }
    Ok((label, dir))
}

fn load_by_name(name: &str, dirs: &[PathBuf]) -> Result<dropin::Loaded, String> {
    let (n, f, d) = dropin::resolve(name, dirs)?;
    dropin::load(n, f, &d)
}

/// For tests and callers that hold a unit in memory.
pub fn convert_text(full_name: &str, text: &str, listen: &[String]) -> Result<(ServiceDir, Vec<Warning>), String> {
    let name = specifiers::UnitName::parse(full_name).ok_or("bad unit name")?;
    let file = Path::new(full_name);
    let assignments = unit::parse(text, file).map_err(|e| e.to_string())?;
    let loaded = dropin::Loaded { name, file: file.to_path_buf(), assignments };
    mapping::service(&loaded, listen, &mapping::Options { helper: "/usr/bin/runit-import".into() })
}
