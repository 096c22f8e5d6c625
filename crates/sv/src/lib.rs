//! `sv`: control and query services supervised by runsv (runit's sv(8)).
//!
//! ```text
//! sv [-v] [-w sec] command service ...
//! NAME [-w sec] command            (LSB mode: any argv[0] basename but `sv`)
//! ```
//!
//! sv is stateless. For each service it changes into the service directory
//! (bare names are looked up in `$SVDIR`), checks that runsv is alive by
//! opening `supervise/ok`, reads the 20-byte `supervise/status` and writes
//! the command's letters into `supervise/control`. Commands with a wait
//! condition then wait until every service reached it or the timeout
//! passed. Everything it prints, and its exit codes, are runit 2.3.0's
//! byte for byte (see man/sv.8); scripts and configuration
//! management tools parse them.
//!
//! The modules:
//! - [`command`]: command words to letters, wait and kill rules;
//! - [`render`]: the status text as a pure function of the raw record;
//! - [`client`]: the per-service actions and the wait phase;
//! - [`checkscript`]: running `./check`;
//! - [`watch`]: inotify on `supervise/`, so waits end as soon as the state
//!   is reached instead of on runit's 420 ms ticks.
//!
//! Build-time setting: the default service directory is `/etc/service/`;
//! set `RUNIT_RS_SVDIR` when compiling to change it (e.g.
//! `RUNIT_RS_SVDIR=/var/service/ cargo build --release`).
//!
//! Where this sv differs from runit's (never in what it prints):
//! - waits end when the state is reached, not on runit's 420 ms ticks:
//!   inotify on each pending `supervise/`, a re-check every 100 ms while
//!   a `./check` script is involved (inotify cannot see its answer) or
//!   inotify is unavailable, every 420 ms otherwise as a safety net, and
//!   no extra sleep after the last service timed out. A service counts as
//!   up once its process has stayed in state run for
//!   [`client::UP_SETTLE`], so that the start of a crash loop, which
//!   runit's sampling almost never sees, is not reported `ok`; a timeout
//!   is reported on runit's tick ([`client::timeout_at`]);
//! - after sending letters runsv answers by rewriting `status`, the first
//!   check waits for that answer (at most 1.2 s), so a `restart` within
//!   the second of the last start no longer reports the old pid;
//! - `-V` prints `$Id: runit-rs VERSION $`;
//! - `$SVDIR` is opened once at the start rather than looked up by name
//!   for every service (same directories, same error words).
//!
//! Opt-in extras (docs/EXTENSIONS.md), invisible unless used:
//! - for a service with `notification-fd`, "up" (in `start`, `up -w`,
//!   `restart`, `check`, `try-restart`) also needs `supervise/ready` to
//!   name the running pid, i.e. runsv saw the service write its newline;
//!   `./check` runs only after that. inotify sees `ready` appear, so the
//!   wait ends at once;
//! - `-j` with `status` prints one JSON object per service ([`json`]),
//!   errors included (not in LSB mode); the usage line does not mention
//!   it (runit's is kept).

pub mod checkscript;
pub mod client;
pub mod command;
pub mod json;
pub mod render;
pub mod watch;

pub use client::{code, SvError};
use client::{Client, Pending};
use command::Act;
use std::time::Instant;
use unix::getopt::{self, Getopt, Opt};

/// The service directory used when `$SVDIR` is not set, fixed at build time.
pub const DEFAULT_SVDIR: &str = match option_env!("RUNIT_RS_SVDIR") {
    Some(d) => d,
    None => "/etc/service/",
};

/// Printed on stderr by `-V`.
pub const VERSION: &str = concat!("$Id: runit-rs ", env!("CARGO_PKG_VERSION"), " $");

/// Default timeout in seconds when neither `-w` nor `$SVWAIT` is given.
pub const DEFAULT_WAIT: u64 = 7;

/// runit's `scan_ulong`: leading decimal digits, anything else ends the
/// number (so garbage is 0); overflow wraps like C's unsigned long.
pub fn scan_ulong(s: &[u8]) -> u64 {
    s.iter().take_while(|c| c.is_ascii_digit()).fold(0u64, |n, &c| n.wrapping_mul(10).wrapping_add(u64::from(c - b'0')))
}

fn env_bytes(name: &str) -> Option<Vec<u8>> {
    use std::os::unix::ffi::OsStringExt;
    std::env::var_os(name).map(|v| v.into_vec())
}

/// `sv --help`.
pub const HELP: &str = "\
usage: sv [-v] [-w sec] command service ...
       NAME [-w sec] command      (LSB mode, through a link named NAME)

Control and query services supervised by runsv. A bare service name is
looked up in $SVDIR (default DEFAULT_SVDIR_HERE); a name starting with
/ or . is a path.

options (only before the command):
  -v        wait until each command's state is reached (7 s, $SVWAIT)
  -w sec    wait at most sec seconds; implies -v
  -j        with status: one JSON object per service
  -V        print the version and the usage, exit 100

commands (only the first letter counts, except for the full words):
  status                       print the state of the service and its log
  up, down, once               start / stop / start once (wait with -v)
  pause, cont, hup, alarm, interrupt, quit, 1, 2, term, kill
                               send STOP CONT HUP ALRM INT QUIT USR1 USR2 TERM KILL
  exit                         stop the service and its log, end runsv
  start, stop, restart, shutdown, reload, try-restart, check
                               LSB-style commands; they always wait
  force-stop, force-reload, force-restart, force-shutdown
                               as above, then KILL on timeout

exit status: 0 ok; 1-99 failures and timeouts; 100 usage or fatal error.

example:
  sv -w 30 restart /etc/service/web

See sv(8).
";

/// What sv does for the command line in `args`: the exit code, or the
/// error `main` reports.
pub fn run(args: &[Vec<u8>]) -> Result<i32, SvError> {
    let progname = args.first().map(|a| unix::msg::basename(a).to_vec()).unwrap_or_default();
    let lsb = progname != b"sv";
    let usage = |before: Vec<u8>| SvError::Usage { before, progname: progname.clone(), lsb };
    let svdir = env_bytes("SVDIR").unwrap_or_else(|| DEFAULT_SVDIR.as_bytes().to_vec());
    let mut wait = env_bytes("SVWAIT").map_or(DEFAULT_WAIT, |w| scan_ulong(&w));
    let mut verbose = false;
    let mut json = false;

    let mut opts = Getopt::new(args, b"w:vVj").with_name(&progname).quiet();
    for opt in opts.by_ref() {
        match opt {
            Opt::Flag(b'w', arg) => {
                wait = scan_ulong(arg.unwrap_or_default());
                verbose = true;
            }
            Opt::Flag(b'v', _) => verbose = true,
            Opt::Flag(b'j', _) => json = true,
            Opt::Flag(b'V', _) => return Err(usage([VERSION, "\n"].concat().into_bytes())),
            Opt::Flag(..) => return Err(usage(Vec::new())),
            Opt::Error(e) => return Err(usage(e.message())),
        }
    }
    let operands = opts.operands();
    let Some((action, rest)) = operands.split_first() else { return Err(usage(Vec::new())) };
    let names: Vec<Vec<u8>> = if lsb { vec![progname.clone()] } else { rest.to_vec() };
    if names.is_empty() {
        return Err(usage(Vec::new()));
    }

    let tstart = unix::tai64n::Tai64n::now().secs;
    let started = Instant::now();
    let curdir = std::fs::File::open(".").map_err(|e| SvError::fatal(b"unable to open current directory", &e, lsb))?;
    let Some(plan) = command::plan(action, lsb) else { return Err(usage(Vec::new())) };

    let waits = plan.waits(verbose);
    let mut sv = Client::new(lsb, &svdir, plan.letters.clone(), tstart, started, curdir, waits);
    // -j: `status` prints JSON objects, errors included (not a command
    // word: sv dispatches on first letters).
    // LSB mode keeps its exit codes and text.
    sv.json = json && !lsb && plan.act == Act::Status;
    let mut pending = Vec::new();
    for name in names {
        sv.name = name;
        if !sv.enter(false)? {
            continue;
        }
        let wd = if waits { sv.watch_here() } else { None };
        let (keep, patience) = match plan.act {
            Act::Control => match sv.control(&plan.letters) {
                -1 => (false, None),
                0 => (true, None),
                _ => (true, sv.answer_patience(&plan.letters)),
            },
            Act::Status if sv.json => {
                sv.status_json();
                (true, None)
            }
            Act::Status => {
                if let Some(code) = sv.status() {
                    return Ok(code);
                }
                (true, None)
            }
            Act::Nothing => (true, None),
        };
        if keep {
            pending.push(Pending::new(std::mem::take(&mut sv.name), wd, patience));
        }
    }
    if waits {
        sv.wait_phase(pending, plan.kill, wait)?;
    }
    Ok(sv.exit_code())
}

/// Entry point of the `sv` program: the only place that exits.
pub fn main() -> ! {
    // Like runit's sv, die quietly on a closed output pipe (`sv status |
    // head -1`) unless SIGPIPE was ignored by whoever started us; ./check
    // scripts inherit the same disposition.
    unix::startup::restore_sigpipe();
    let args = getopt::args_bytes();
    if let Some(text) = unix::msg::help_or_version(&args, "sv", &HELP.replace("DEFAULT_SVDIR_HERE", DEFAULT_SVDIR)) {
        unix::msg::print_and_exit(&text)
    }
    match run(&args) {
        Ok(code) => std::process::exit(code),
        Err(e) => unix::msg::exit_with(&e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scan_ulong_reads_leading_digits_like_runit() {
        assert_eq!(scan_ulong(b"5"), 5);
        assert_eq!(scan_ulong(b"12abc"), 12);
        assert_eq!(scan_ulong(b"abc"), 0);
        assert_eq!(scan_ulong(b""), 0);
        assert_eq!(scan_ulong(b"-3"), 0);
        assert_eq!(scan_ulong(b"18446744073709551616"), 0);
    }

    #[test]
    fn the_default_service_directory_is_set_at_build_time() {
        match option_env!("RUNIT_RS_SVDIR") {
            Some(d) => assert_eq!(DEFAULT_SVDIR, d),
            None => assert_eq!(DEFAULT_SVDIR, "/etc/service/"),
        }
    }
}
