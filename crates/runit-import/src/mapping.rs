//! From unit directives to the files of a runit service directory. Every
//! directive is either mapped to a file with the same effect, or reported
//! as a warning with its file and line (see man/runit-import.8 for the
//! table and the deliberate differences).

use crate::command::{self, sh_quote, Command};
use crate::dropin::Loaded;
use crate::report::Warning;
use crate::specifiers::{self, UnitName};
use crate::unit::{Assignment, Origin};
use std::collections::BTreeMap;

/// A file of the service directory, relative to it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutFile {
    pub path: String,
    pub mode: u32,
    pub contents: String,
}

/// What one unit (with its sockets) becomes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServiceDir {
    pub name: String,
    /// Directories to create (relative), beyond those holding files.
    pub dirs: Vec<String>,
    pub files: Vec<OutFile>,
}

impl ServiceDir {
    pub fn file(&self, path: &str) -> Option<&OutFile> {
        self.files.iter().find(|f| f.path == path)
    }

    fn add(&mut self, path: &str, mode: u32, contents: String) {
        self.files.push(OutFile { path: path.into(), mode, contents });
    }
}

/// How the generated scripts reach this program for `EnvironmentFile=`.
#[derive(Clone, Debug)]
pub struct Options {
    pub helper: String,
}

/// With `listen`: start the service at the first connection.
pub const FLAG_ON_DEMAND: &str = "flag-on-demand";

/// The PATH systemd gives services.
const SYSTEMD_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// systemd's default TimeoutStopSec= and TimeoutStartSec=, in ms.
const DEFAULT_TIMEOUT_MS: u64 = 90_000;

#[derive(Default)]
struct Deps {
    hard: Vec<String>,
    soft: Vec<String>,
    after: Vec<String>,
}

#[derive(Clone, Copy, PartialEq)]
enum Out {
    Log,
    Null,
    File(&'static str),
    Inherit,
}

/// The state of a `[Service]` section after every assignment was applied.
struct Svc {
    description: Option<String>,
    ty: String,
    ty_at: Option<Origin>,
    start: Vec<Command>,
    pre: Vec<Command>,
    post: Vec<Command>,
    stop: Vec<Command>,
    stop_post: Vec<Command>,
    reload: Vec<Command>,
    condition: Vec<Command>,
    user: Option<String>,
    group: Option<String>,
    groups: Vec<String>,
    workdir: Option<String>,
    root: Option<String>,
    env: Vec<(String, String)>,
    env_files: Vec<String>,
    umask: Option<String>,
    nice: Option<i32>,
    oom: Option<i32>,
    limits: BTreeMap<char, u64>,
    restart: String,
    restart_sec: Option<u64>,
    restart_max: Option<u64>,
    timeout_stop: Option<Option<u64>>,
    timeout_start: Option<Option<u64>>,
    kill_signal: Option<String>,
    kill_mode: String,
    send_sigkill: bool,
    pid_file: Option<String>,
    deps: Deps,
    sockets: Vec<String>,
    /// (RuntimeDirectory and the like, absolute path)
    dirs: Vec<(String, String)>,
    dir_modes: BTreeMap<&'static str, String>,
    stdout: (Out, String),
    stderr: (Out, String),
    cgroup: BTreeMap<&'static str, String>,
    ignore_sigpipe: bool,
}

struct Ctx<'a> {
    unit: &'a UnitName,
    assignments: &'a [Assignment],
    warnings: Vec<Warning>,
}

impl Ctx<'_> {
    /// A warning about a setting as a whole, placed at the last line that
    /// assigned `key` (whose value contains `value`, if given).
    fn warn_key(&mut self, key: &str, value: Option<&str>, reason: impl Into<String>) {
        let origin = self
            .assignments
            .iter()
            .rev()
            .find(|a| a.key == key && value.is_none_or(|v| a.value.contains(v)))
            .map(|a| a.origin.clone());
        self.warnings.push(Warning { origin, directive: key.into(), reason: reason.into() });
    }

    fn warn(&mut self, a: &Assignment, reason: impl Into<String>) {
        self.warnings.push(Warning { origin: Some(a.origin.clone()), directive: a.key.clone(), reason: reason.into() });
    }

    fn unsupported(&mut self, a: &Assignment, why: &str) {
        self.warn(a, format!("not supported: {why}"));
    }

    fn expand(&mut self, a: &Assignment) -> Option<String> {
        // Values that systemd takes literally (percentages).
        if NO_SPECIFIERS.contains(&a.key.as_str()) {
            return Some(a.value.clone());
        }
        match specifiers::expand(&a.value, self.unit) {
            Ok(v) => Some(v),
            Err(e) => {
                self.warn(a, format!("not supported: {e}; line ignored"));
                None
            }
        }
    }
}

const NO_SPECIFIERS: [&str; 9] = [
    "CPUQuota",
    "MemoryMax",
    "MemoryHigh",
    "MemoryLow",
    "MemoryMin",
    "MemorySwapMax",
    "TasksMax",
    "CPUWeight",
    "IOWeight",
];

/// Parses a systemd time span ("90", "1min 30s", "500ms", "infinity") into
/// milliseconds; Ok(None) is infinity.
pub fn timespan_ms(s: &str) -> Result<Option<u64>, String> {
    let s = s.trim();
    if s == "infinity" {
        return Ok(None);
    }
    let mut total: f64 = 0.0;
    let mut rest = s;
    if rest.is_empty() {
        return Err("empty time span".into());
    }
    while !rest.is_empty() {
        rest = rest.trim_start();
        let num_len = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        if num_len == 0 {
            return Err(format!("bad time span {s:?}"));
        }
        let n: f64 = rest[..num_len].parse().map_err(|_| format!("bad time span {s:?}"))?;
        rest = rest[num_len..].trim_start();
        let unit_len = rest.find(|c: char| !c.is_ascii_alphabetic()).unwrap_or(rest.len());
        let factor = match &rest[..unit_len] {
            "" | "s" | "sec" | "second" | "seconds" => 1000.0,
            "us" | "usec" | "µs" => 0.001,
            "ms" | "msec" => 1.0,
            "m" | "min" | "minute" | "minutes" => 60_000.0,
            "h" | "hr" | "hour" | "hours" => 3_600_000.0,
            "d" | "day" | "days" => 86_400_000.0,
            "w" | "week" | "weeks" => 604_800_000.0,
            "M" | "month" | "months" => 2_629_800_000.0,
            "y" | "year" | "years" => 31_557_600_000.0,
            u => return Err(format!("unknown time unit {u:?} in {s:?}")),
        };
        total += n * factor;
        rest = &rest[unit_len..];
    }
    Ok(Some(total.round() as u64))
}

/// A size with systemd's binary suffixes (K, M, G, T, P, E); None for infinity.
pub fn size_bytes(s: &str) -> Result<Option<u64>, String> {
    let s = s.trim();
    if s == "infinity" {
        return Ok(None);
    }
    let (num, mult) = match s.chars().last() {
        Some('K') => (&s[..s.len() - 1], 1u64 << 10),
        Some('M') => (&s[..s.len() - 1], 1 << 20),
        Some('G') => (&s[..s.len() - 1], 1 << 30),
        Some('T') => (&s[..s.len() - 1], 1 << 40),
        Some('P') => (&s[..s.len() - 1], 1 << 50),
        Some('E') => (&s[..s.len() - 1], 1 << 60),
        Some('B') => (&s[..s.len() - 1], 1),
        _ => (s, 1),
    };
    let n: u64 = num.trim().parse().map_err(|_| format!("bad size {s:?}"))?;
    n.checked_mul(mult).map(Some).ok_or_else(|| format!("size {s:?} too large"))
}

fn bool_value(s: &str) -> Option<bool> {
    match s {
        "1" | "yes" | "y" | "true" | "t" | "on" => Some(true),
        "0" | "no" | "n" | "false" | "f" | "off" => Some(false),
        _ => None,
    }
}

const SIGNALS: [&str; 31] = [
    "HUP", "INT", "QUIT", "ILL", "TRAP", "ABRT", "BUS", "FPE", "KILL", "USR1", "SEGV", "USR2", "PIPE", "ALRM", "TERM",
    "STKFLT", "CHLD", "CONT", "STOP", "TSTP", "TTIN", "TTOU", "URG", "XCPU", "XFSZ", "VTALRM", "PROF", "WINCH", "IO",
    "PWR", "SYS",
];

/// A signal as a name without SIG (what `down-signal` holds).
fn signal_name(s: &str) -> Option<String> {
    if let Ok(n) = s.parse::<usize>() {
        return SIGNALS.get(n.checked_sub(1)?).map(|s| s.to_string());
    }
    let name = s.strip_prefix("SIG").unwrap_or(s);
    SIGNALS.contains(&name).then(|| name.to_string())
}

/// Sandboxing and hardening directives: runit has no counterpart.
const SANDBOX: [&str; 12] = [
    "Protect",
    "Private",
    "Restrict",
    "ReadWrite",
    "ReadOnly",
    "Inaccessible",
    "Exec",
    "NoExec",
    "Bind",
    "SystemCall",
    "IPAddress",
    "Device",
];

/// Systemd's own units, targets and other types: ordering against them
/// means nothing under runit.
fn no_counterpart(dep: &str) -> Option<&'static str> {
    let (stem, ty) = dep.rsplit_once('.').unwrap_or((dep, "service"));
    if ty != "service" && ty != "socket" {
        return Some("a systemd unit type with no runit counterpart");
    }
    if stem.starts_with("systemd-")
        || matches!(dep, "syslog.socket" | "dbus.socket" | "dbus.service" | "dbus-broker.service")
    {
        return Some("part of systemd itself");
    }
    None
}

fn dep_service(dep: &str) -> String {
    dep.strip_suffix(".service").or_else(|| dep.strip_suffix(".socket")).unwrap_or(dep).to_string()
}

fn out_target(v: &str) -> Result<(Out, String), String> {
    Ok(match v {
        "journal" | "syslog" | "kmsg" | "journal+console" | "syslog+console" | "kmsg+console" => {
            (Out::Log, String::new())
        }
        "inherit" => (Out::Inherit, String::new()),
        "null" => (Out::Null, String::new()),
        _ => {
            if let Some(p) = v.strip_prefix("file:") {
                (Out::File(">"), p.to_string())
            } else if let Some(p) = v.strip_prefix("truncate:") {
                (Out::File(">"), p.to_string())
            } else if let Some(p) = v.strip_prefix("append:") {
                (Out::File(">>"), p.to_string())
            } else {
                return Err(format!("{v} has no runit counterpart; the output goes to the log service"));
            }
        }
    })
}

/// The `listen` lines of a socket unit, and the service it activates.
pub struct Socket {
    pub lines: Vec<String>,
    pub service: String,
    pub warnings: Vec<Warning>,
}

/// Converts a `.socket` unit's directives into `listen` lines.
pub fn socket(loaded: &Loaded) -> Result<Socket, String> {
    let mut ctx = Ctx { unit: &loaded.name, assignments: &loaded.assignments, warnings: Vec::new() };
    let mut addrs: Vec<(String, &'static str)> = Vec::new();
    let mut opts: Vec<String> = Vec::new();
    let mut owner: (Option<String>, Option<String>) = (None, None);
    let mut mode: Option<String> = None;
    let mut name: Option<String> = None;
    let mut service = format!("{}.service", loaded.name.stem());
    let mut v6only = false;
    for a in &loaded.assignments {
        match a.section.as_str() {
            "Socket" => {}
            "Unit" => {
                if a.key.starts_with("Condition") || a.key.starts_with("Assert") {
                    ctx.unsupported(a, "conditions are not checked; the service starts regardless");
                }
                continue;
            }
            "Install" => continue,
            s if s.starts_with("X-") => continue,
            s => return Err(format!("{}: unknown section [{s}] in a socket unit", a.origin)),
        }
        let Some(v) = ctx.expand(a) else { continue };
        match a.key.as_str() {
            "ListenStream" | "ListenDatagram" => {
                if v.is_empty() {
                    addrs.clear();
                } else {
                    addrs.push((v, if a.key == "ListenStream" { "stream" } else { "dgram" }));
                }
            }
            "Accept" => {
                if bool_value(&v) == Some(true) {
                    return Err(format!(
                        "{}: Accept=yes (one service instance per connection) is not supported",
                        a.origin
                    ));
                }
            }
            "Backlog" => opts.push(format!("backlog={v}")),
            "ReusePort" if bool_value(&v) == Some(true) => opts.push("reuseport".into()),
            "ReusePort" => {}
            "BindIPv6Only" => v6only = v == "ipv6-only",
            "SocketMode" => mode = Some(v),
            "SocketUser" => owner.0 = Some(v),
            "SocketGroup" => owner.1 = Some(v),
            "FileDescriptorName" => name = Some(v),
            "Service" => service = v,
            "Description" | "Documentation" => {}
            "RemoveOnStop" | "DirectoryMode" | "PassCredentials" | "PassSecurity" | "KeepAlive" | "NoDelay" => {
                ctx.unsupported(a, "listen has no such option")
            }
            _ => ctx.unsupported(a, "listen has no such option"),
        }
    }
    let fd_name = name.unwrap_or_else(|| loaded.name.full.clone());
    let fd_name_ok = !fd_name.is_empty()
        && fd_name.len() <= 255
        && fd_name.bytes().all(|c| c.is_ascii_alphanumeric() || b"_.-".contains(&c));
    if !fd_name_ok {
        ctx.warn_key(
            "FileDescriptorName",
            None,
            format!("{fd_name:?} is not a name listen accepts (A-Z a-z 0-9 _ . -); the sockets are unnamed"),
        );
    }
    let mut lines = Vec::new();
    for (addr, kind) in addrs {
        let address = match listen_address(&addr, kind) {
            Ok(a) => a,
            Err(why) => {
                let key = if kind == "stream" { "ListenStream" } else { "ListenDatagram" };
                ctx.warn_key(key, Some(&addr), format!("{addr}: {why}; socket left out"));
                continue;
            }
        };
        let mut line = if fd_name_ok { format!("{fd_name}={address}") } else { address.clone() };
        for o in &opts {
            line.push(' ');
            line.push_str(o);
        }
        if v6only && address.contains('[') {
            line.push_str(" v6only");
        }
        if address.starts_with("unix") {
            if let Some(m) = &mode {
                line.push_str(&format!(" mode={m}"));
            }
            match &owner {
                (Some(u), Some(g)) => line.push_str(&format!(" owner={u}:{g}")),
                (Some(u), None) => line.push_str(&format!(" owner={u}")),
                (None, Some(g)) => line.push_str(&format!(" owner=root:{g}")),
                (None, None) => {}
            }
        }
        lines.push(line);
    }
    if lines.is_empty() {
        return Err(format!("{}: no ListenStream= or ListenDatagram= that runit can listen on", loaded.name.full));
    }
    Ok(Socket { lines, service, warnings: ctx.warnings })
}

/// A `Listen*=` value as a `listen` address: `tcp:`/`udp:` with an IPv4
/// literal or a bracketed IPv6 one, `unix:`/`unixgram:` with a path.
fn listen_address(addr: &str, kind: &str) -> Result<String, String> {
    use std::net::{Ipv4Addr, Ipv6Addr};
    if addr.starts_with('/') {
        if addr.len() > 107 || addr.contains(char::is_whitespace) {
            return Err("a unix socket path longer than 107 bytes or with blanks".into());
        }
        return Ok(format!("{}:{addr}", if kind == "stream" { "unix" } else { "unixgram" }));
    }
    let proto = if kind == "stream" { "tcp" } else { "udp" };
    let port_ok = |p: &str| p.parse::<u16>().is_ok_and(|p| p > 0);
    if port_ok(addr) {
        // systemd binds a bare port on every address, IPv6 and IPv4.
        return Ok(format!("{proto}:[::]:{addr}"));
    }
    if let Some((host, port)) = addr.strip_prefix('[').and_then(|r| r.split_once("]:")) {
        if host.parse::<Ipv6Addr>().is_ok() && port_ok(port) {
            return Ok(format!("{proto}:[{host}]:{port}"));
        }
    } else if let Some((host, port)) = addr.rsplit_once(':') {
        if host.parse::<Ipv4Addr>().is_ok() && port_ok(port) {
            return Ok(format!("{proto}:{host}:{port}"));
        }
    }
    Err("not an address listen takes (IP literal and port, or a path; no abstract sockets, interfaces, vsock, netlink)"
        .into())
}

/// Converts a service unit (with the `listen` lines of its sockets).
pub fn service(loaded: &Loaded, listen: &[String], opts: &Options) -> Result<(ServiceDir, Vec<Warning>), String> {
    let mut ctx = Ctx { unit: &loaded.name, assignments: &loaded.assignments, warnings: Vec::new() };
    let mut s = Svc {
        description: None,
        ty: "simple".into(),
        ty_at: None,
        start: vec![],
        pre: vec![],
        post: vec![],
        stop: vec![],
        stop_post: vec![],
        reload: vec![],
        condition: vec![],
        user: None,
        group: None,
        groups: vec![],
        workdir: None,
        root: None,
        env: vec![],
        env_files: vec![],
        umask: None,
        nice: None,
        oom: None,
        limits: BTreeMap::new(),
        restart: "no".into(),
        restart_sec: None,
        restart_max: None,
        timeout_stop: None,
        timeout_start: None,
        kill_signal: None,
        kill_mode: "control-group".into(),
        send_sigkill: true,
        pid_file: None,
        deps: Deps::default(),
        sockets: vec![],
        dirs: vec![],
        dir_modes: BTreeMap::new(),
        stdout: (Out::Log, String::new()),
        stderr: (Out::Inherit, String::new()),
        cgroup: BTreeMap::new(),
        ignore_sigpipe: true,
    };
    for a in &loaded.assignments {
        match a.section.as_str() {
            "Unit" => unit_directive(&mut ctx, &mut s, a),
            "Service" => service_directive(&mut ctx, &mut s, a)?,
            // Enabling is a symlink (the report says which).
            "Install" => {}
            x if x.starts_with("X-") => {}
            x => return Err(format!("{}: unknown section [{x}] in a service unit", a.origin)),
        }
    }
    let dir = build(loaded, &mut ctx, &s, listen, opts)?;
    // Warnings found per command (chpst's) are said once.
    let mut seen = Vec::new();
    ctx.warnings.retain(|w| {
        let new = !seen.contains(w);
        if new {
            seen.push(w.clone());
        }
        new
    });
    Ok((dir, ctx.warnings))
}

fn unit_directive(ctx: &mut Ctx, s: &mut Svc, a: &Assignment) {
    let Some(v) = ctx.expand(a) else { return };
    match a.key.as_str() {
        "Description" => s.description = Some(v),
        "Documentation" | "DefaultDependencies" | "SourcePath" => {}
        "Requires" | "Requisite" | "BindsTo" | "Wants" | "After" | "Upholds" => {
            for dep in v.split_whitespace() {
                if let Some(why) = no_counterpart(dep) {
                    // Ordering after targets and systemd's own units is implied.
                    if a.key != "After" {
                        ctx.warn(a, format!("{dep} dropped: {why}"));
                    }
                    continue;
                }
                let list = match a.key.as_str() {
                    "Wants" | "Upholds" => &mut s.deps.soft,
                    "After" => &mut s.deps.after,
                    _ => &mut s.deps.hard,
                };
                let name = dep_service(dep);
                if !list.contains(&name) {
                    list.push(name);
                }
            }
        }
        "Before" => {
            if v.split_whitespace().any(|d| no_counterpart(d).is_none()) {
                ctx.unsupported(a, "a depends file orders this service after others, not others after it")
            }
        }
        "Conflicts" => {
            if v.split_whitespace().any(|d| no_counterpart(d).is_none()) {
                ctx.unsupported(a, "runsv does not stop other services")
            }
        }
        k if k.starts_with("Condition") || k.starts_with("Assert") => {
            ctx.unsupported(a, "conditions are not checked; the service starts regardless")
        }
        k if k.starts_with("StartLimit") => ctx.unsupported(a, "runsv restarts without a limit"),
        _ => ctx.unsupported(a, "no runit counterpart"),
    }
}

fn exec_list(ctx: &mut Ctx, a: &Assignment, list: &mut Vec<Command>) {
    if a.value.is_empty() {
        list.clear();
        return;
    }
    let unit = ctx.unit.clone();
    let expand = move |w: &str| specifiers::expand(w, &unit);
    match command::parse(&a.value, &expand) {
        Ok(p) => {
            for n in p.notes {
                ctx.warn(a, n);
            }
            list.extend(p.commands);
        }
        Err(e) => ctx.warn(a, format!("not supported: {e}; line ignored")),
    }
}

fn service_directive(ctx: &mut Ctx, s: &mut Svc, a: &Assignment) -> Result<(), String> {
    let key = a.key.as_str();
    let list = match key {
        "ExecStart" => Some(&mut s.start),
        "ExecStartPre" => Some(&mut s.pre),
        "ExecStartPost" => Some(&mut s.post),
        "ExecStop" => Some(&mut s.stop),
        "ExecStopPost" => Some(&mut s.stop_post),
        "ExecReload" => Some(&mut s.reload),
        "ExecCondition" => Some(&mut s.condition),
        _ => None,
    };
    if let Some(list) = list {
        exec_list(ctx, a, list);
        return Ok(());
    }
    let Some(v) = ctx.expand(a) else { return Ok(()) };
    if v.is_empty() && reset(s, key) {
        return Ok(());
    }
    let bad = |what: &str| format!("{}: bad {}= value {v:?}: {what}", a.origin, a.key);
    match key {
        "Type" => {
            match v.as_str() {
                "simple" | "exec" | "idle" | "notify" | "notify-reload" | "oneshot" | "forking" => {}
                "dbus" => ctx.warn(a, "treated as simple: readiness on the bus name is not supported"),
                _ => return Err(bad("unknown type")),
            }
            s.ty = v;
            s.ty_at = Some(a.origin.clone());
        }
        "User" => s.user = Some(v).filter(|v| !v.is_empty()),
        "Group" => s.group = Some(v).filter(|v| !v.is_empty()),
        "SupplementaryGroups" => {
            if v.is_empty() {
                s.groups.clear()
            } else {
                s.groups.extend(v.split_whitespace().map(String::from))
            }
        }
        "WorkingDirectory" => s.workdir = Some(v).filter(|v| !v.is_empty()),
        "RootDirectory" => s.root = Some(v).filter(|v| !v.is_empty()),
        "Environment" => {
            if v.is_empty() {
                s.env.clear();
            }
            match command::split_words(&v) {
                Ok(words) => {
                    for (w, _) in words {
                        match w.split_once('=') {
                            Some((k, val)) if crate::envfile::is_sh_name(k) => {
                                s.env.retain(|(old, _)| old != k);
                                s.env.push((k.to_string(), val.to_string()));
                            }
                            _ => ctx.warn(a, format!("{w:?} dropped: not NAME=VALUE with a name sh can hold")),
                        }
                    }
                }
                Err(e) => ctx.warn(a, format!("not supported: {e}; line ignored")),
            }
        }
        "EnvironmentFile" => {
            if v.is_empty() {
                s.env_files.clear()
            } else {
                s.env_files.push(v)
            }
        }
        "UMask" => {
            if v.len() > 4 || u32::from_str_radix(&v, 8).is_err() {
                return Err(bad("not an octal mode"));
            }
            s.umask = Some(format!("{:0>4}", v));
        }
        "Nice" => s.nice = Some(v.parse().map_err(|_| bad("not a number"))?),
        "OOMScoreAdjust" => s.oom = Some(v.parse().map_err(|_| bad("not a number"))?),
        k if k.starts_with("Limit") => limit(ctx, s, a, &v)?,
        "Restart" => {
            match v.as_str() {
                "no" | "always" | "on-success" | "on-failure" | "on-abnormal" | "on-abort" | "on-watchdog" => {}
                _ => return Err(bad("unknown restart policy")),
            }
            s.restart = v;
        }
        "RestartSec" => s.restart_sec = Some(timespan_ms(&v).map_err(|e| bad(&e))?.unwrap_or(0)),
        "RestartMaxDelaySec" => s.restart_max = timespan_ms(&v).map_err(|e| bad(&e))?,
        "RestartSteps" => {}
        // A timeout of 0 is none at all, as in systemd.
        "TimeoutStopSec" => s.timeout_stop = Some(timespan_ms(&v).map_err(|e| bad(&e))?.filter(|&t| t > 0)),
        "TimeoutStartSec" => s.timeout_start = Some(timespan_ms(&v).map_err(|e| bad(&e))?.filter(|&t| t > 0)),
        "TimeoutSec" => {
            let t = timespan_ms(&v).map_err(|e| bad(&e))?.filter(|&t| t > 0);
            s.timeout_stop = Some(t);
            s.timeout_start = Some(t);
        }
        "KillSignal" => s.kill_signal = Some(signal_name(&v).ok_or_else(|| bad("unknown signal"))?),
        "KillMode" => {
            match v.as_str() {
                "control-group" | "process" | "mixed" => {}
                "none" => ctx.unsupported(a, "runsv always signals the service; treated as process"),
                _ => return Err(bad("unknown kill mode")),
            }
            s.kill_mode = v;
        }
        "IgnoreSIGPIPE" => s.ignore_sigpipe = bool_value(&v).ok_or_else(|| bad("not a boolean"))?,
        "SendSIGKILL" => s.send_sigkill = bool_value(&v).ok_or_else(|| bad("not a boolean"))?,
        "PIDFile" => s.pid_file = Some(v),
        "RemainAfterExit" | "GuessMainPID" => {}
        "Sockets" => s.sockets.extend(v.split_whitespace().map(String::from)),
        "RuntimeDirectory" | "StateDirectory" | "CacheDirectory" | "LogsDirectory" | "ConfigurationDirectory" => {
            let base = match key {
                "RuntimeDirectory" => "/run",
                "StateDirectory" => "/var/lib",
                "CacheDirectory" => "/var/cache",
                "LogsDirectory" => "/var/log",
                _ => "/etc",
            };
            for d in v.split_whitespace() {
                if d.contains(':') || d.starts_with('/') || d.split('/').any(|p| p == "..") {
                    ctx.unsupported(a, &format!("{d}: only plain relative names are supported"));
                } else {
                    s.dirs.push((key.to_string(), format!("{base}/{d}")));
                }
            }
        }
        "RuntimeDirectoryMode"
        | "StateDirectoryMode"
        | "CacheDirectoryMode"
        | "LogsDirectoryMode"
        | "ConfigurationDirectoryMode" => {
            if u32::from_str_radix(&v, 8).is_err() {
                return Err(bad("not an octal mode"));
            }
            let k: &'static str = match key {
                "RuntimeDirectoryMode" => "RuntimeDirectory",
                "StateDirectoryMode" => "StateDirectory",
                "CacheDirectoryMode" => "CacheDirectory",
                "LogsDirectoryMode" => "LogsDirectory",
                _ => "ConfigurationDirectory",
            };
            s.dir_modes.insert(k, format!("{:0>4}", v));
        }
        "RuntimeDirectoryPreserve" => {
            if v != "yes" {
                ctx.warn(a, "not supported: the directory stays when the service stops (as with yes)")
            }
        }
        "StandardOutput" | "StandardError" => {
            let t = match out_target(&v) {
                Ok(t) => t,
                Err(e) => {
                    ctx.unsupported(a, &e);
                    (Out::Log, String::new())
                }
            };
            if key == "StandardOutput" {
                s.stdout = t;
            } else {
                s.stderr = t;
            }
        }
        "StandardInput" => {
            if v != "null" {
                ctx.unsupported(a, "the service's stdin is /dev/null")
            }
        }
        "SyslogIdentifier" | "SyslogFacility" | "SyslogLevel" | "SyslogLevelPrefix" | "LogLevelMax" => {
            ctx.unsupported(a, "svlogd does not tag or filter lines by syslog fields")
        }
        "MemoryMax" | "MemoryHigh" | "MemorySwapMax" | "TasksMax" => {
            let file = match key {
                "MemoryMax" => "memory.max",
                "MemoryHigh" => "memory.high",
                "MemorySwapMax" => "memory.swap.max",
                _ => "pids.max",
            };
            if v.ends_with('%') {
                ctx.unsupported(a, "percentages are not converted; give an absolute value");
            } else if v.is_empty() {
                s.cgroup.remove(file);
            } else {
                let n = if key == "TasksMax" {
                    if v == "infinity" {
                        None
                    } else {
                        Some(v.parse::<u64>().map_err(|_| bad("not a number"))?)
                    }
                } else {
                    size_bytes(&v).map_err(|e| bad(&e))?
                };
                s.cgroup.insert(file, n.map_or("max".to_string(), |n| n.to_string()));
            }
        }
        "CPUQuota" => match v.strip_suffix('%').and_then(|p| p.parse::<f64>().ok()) {
            // cpu.max: QUOTA PERIOD in microseconds; systemd's period is 100 ms.
            Some(p) => {
                s.cgroup.insert("cpu.max", format!("{} 100000", (p * 1000.0).round() as u64));
            }
            None if v.is_empty() => {
                s.cgroup.remove("cpu.max");
            }
            None => return Err(bad("not a percentage")),
        },
        "CPUWeight" => {
            s.cgroup.insert("cpu.weight", v);
        }
        "WatchdogSec" => ctx.unsupported(a, "runsv has no watchdog"),
        "DynamicUser" => {
            if bool_value(&v) == Some(true) {
                return Err(format!(
                    "{}: DynamicUser=yes: runit has no dynamic users; create a system user and set User=",
                    a.origin
                ));
            }
        }
        "NotifyAccess" => {
            if s.ty.starts_with("notify") && v != "main" && v != "all" {
                ctx.unsupported(a, "notify-socket accepts messages from the service's processes")
            }
        }
        "BusName" => {}
        "SuccessExitStatus" | "RestartPreventExitStatus" | "RestartForceExitStatus" => {
            ctx.unsupported(a, "the finish script knows systemd's clean exits only (0, HUP, INT, TERM, PIPE)")
        }
        "PassEnvironment" => ctx.unsupported(a, "runsv's environment is passed unchanged"),
        "UnsetEnvironment" => ctx.unsupported(a, "variables are not unset"),
        "CapabilityBoundingSet"
        | "AmbientCapabilities"
        | "NoNewPrivileges"
        | "SecureBits"
        | "LockPersonality"
        | "MemoryDenyWriteExecute"
        | "KeyringMode"
        | "RemoveIPC"
        | "TemporaryFileSystem"
        | "ProcSubset" => ctx.unsupported(a, "sandboxing has no runit counterpart; the service runs without it"),
        k if SANDBOX.iter().any(|p| k.starts_with(p)) => {
            ctx.unsupported(a, "sandboxing has no runit counterpart; the service runs without it")
        }
        k if k.starts_with("CPU") || k.starts_with("IO") || k.starts_with("Memory") || k.starts_with("Tasks") => {
            ctx.unsupported(a, "no cgroup/ file for it")
        }
        _ => ctx.unsupported(a, "no runit counterpart"),
    }
    Ok(())
}

/// An empty assignment puts a setting back to its default, as in systemd;
/// false for keys that handle the empty value themselves.
fn reset(s: &mut Svc, key: &str) -> bool {
    match key {
        "Type" => s.ty = "simple".into(),
        "Restart" => s.restart = "no".into(),
        "RestartSec" => s.restart_sec = None,
        "RestartMaxDelaySec" => s.restart_max = None,
        "TimeoutStopSec" => s.timeout_stop = None,
        "TimeoutStartSec" => s.timeout_start = None,
        "TimeoutSec" => {
            s.timeout_stop = None;
            s.timeout_start = None;
        }
        "KillSignal" => s.kill_signal = None,
        "KillMode" => s.kill_mode = "control-group".into(),
        "UMask" => s.umask = None,
        "Nice" => s.nice = None,
        "OOMScoreAdjust" => s.oom = None,
        "PIDFile" => s.pid_file = None,
        "IgnoreSIGPIPE" => s.ignore_sigpipe = true,
        "SendSIGKILL" => s.send_sigkill = true,
        "Sockets" => s.sockets.clear(),
        "StandardOutput" => s.stdout = (Out::Log, String::new()),
        "StandardError" => s.stderr = (Out::Inherit, String::new()),
        "RuntimeDirectory" | "StateDirectory" | "CacheDirectory" | "LogsDirectory" | "ConfigurationDirectory" => {
            s.dirs.retain(|(k, _)| k != key)
        }
        k if k.starts_with("Limit") => {
            let flag = match k {
                "LimitNOFILE" => 'o',
                "LimitNPROC" => 'p',
                "LimitFSIZE" => 'f',
                "LimitCORE" => 'c',
                "LimitDATA" => 'd',
                "LimitCPU" => 't',
                "LimitRSS" => 'r',
                _ => return true,
            };
            s.limits.remove(&flag);
        }
        _ => return false,
    }
    true
}

fn limit(ctx: &mut Ctx, s: &mut Svc, a: &Assignment, v: &str) -> Result<(), String> {
    // The chpst option for each limit it can set (soft limit).
    let flag = match a.key.as_str() {
        "LimitNOFILE" => 'o',
        "LimitNPROC" => 'p',
        "LimitFSIZE" => 'f',
        "LimitCORE" => 'c',
        "LimitDATA" => 'd',
        "LimitCPU" => 't',
        "LimitRSS" => 'r',
        _ => {
            ctx.unsupported(a, "chpst has no option for this limit");
            return Ok(());
        }
    };
    let (soft, hard) = v.split_once(':').unwrap_or((v, v));
    let parse = |x: &str| -> Result<Option<u64>, String> {
        if flag == 't' {
            Ok(timespan_ms(x)?.map(|ms| ms.div_ceil(1000)))
        } else {
            size_bytes(x)
        }
    };
    let bad = |e: String| format!("{}: bad {}= value {v:?}: {e}", a.origin, a.key);
    match parse(soft).map_err(bad)? {
        Some(n) => {
            s.limits.insert(flag, n);
            if soft != hard {
                ctx.warn(a, "hard limit not set: chpst sets the soft limit only");
            }
        }
        None => ctx.unsupported(a, "chpst cannot raise a limit to infinity; the inherited limit stays"),
    }
    Ok(())
}

/// `chpst OPTIONS ` for a command, or nothing when there is nothing to set.
fn chpst(s: &Svc, cmd: &Command, ctx: &mut Ctx) -> String {
    let mut o = Vec::new();
    if let Some(r) = &s.root {
        o.push(format!("-/ {}", sh_quote(r)));
    }
    if !cmd.privileged && (s.user.is_some() || s.group.is_some() || !s.groups.is_empty()) {
        let user = s.user.clone().unwrap_or_else(|| "root".into());
        let group = match (&s.group, s.groups.is_empty()) {
            (Some(g), _) => Some(g.clone()),
            (None, true) => None,
            (None, false) => Some(primary_group(&user).unwrap_or_else(|| {
                ctx.warn_key(
                    "SupplementaryGroups",
                    None,
                    format!("user {user} is unknown here; its primary group is taken to be {user}"),
                );
                user.clone()
            })),
        };
        if user.bytes().all(|b| b.is_ascii_digit()) {
            ctx.warn_key(
                "User",
                None,
                format!("{user}: chpst -u takes a user name; a numeric id is looked up as a name"),
            );
        }
        let mut spec = user;
        if let Some(g) = group {
            spec.push(':');
            spec.push_str(&g);
            for g in &s.groups {
                spec.push(':');
                spec.push_str(g);
            }
        }
        o.push(format!("-u {}", sh_quote(&spec)));
    }
    if let Some(n) = s.nice {
        o.push(format!("-n {n}"));
    }
    for (f, n) in &s.limits {
        o.push(format!("-{f} {n}"));
    }
    if o.is_empty() {
        String::new()
    } else {
        format!("chpst {} ", o.join(" "))
    }
}

fn primary_group(user: &str) -> Option<String> {
    let u = nix::unistd::User::from_name(user).ok()??;
    Some(nix::unistd::Group::from_gid(u.gid).ok()??.name)
}

/// The lines every script that runs commands starts with: the service's
/// environment, umask and working directory, as systemd sets them up.
fn preamble(s: &Svc, opts: &Options) -> Vec<String> {
    let mut l = vec![format!("PATH={SYSTEMD_PATH}"), "export PATH".into()];
    if [&s.start, &s.pre, &s.post, &s.stop, &s.stop_post, &s.reload, &s.condition]
        .iter()
        .any(|l| l.iter().any(Command::splits))
    {
        l.push("# $VAR words split at blanks, as systemd does; no globbing.".into());
        l.push("set -f".into());
    }
    if let Some(u) = &s.umask {
        l.push(format!("umask {u}"));
    }
    // What systemd sets for every service with these settings.
    if let Some(u) = &s.user {
        l.push(format!("export USER={q} LOGNAME={q}", q = sh_quote(u)));
        if let Ok(Some(pw)) = nix::unistd::User::from_name(u) {
            l.push(format!(
                "export HOME={} SHELL={}",
                sh_quote(&pw.dir.to_string_lossy()),
                sh_quote(&pw.shell.to_string_lossy())
            ));
        }
    }
    for (kind, var) in [
        ("RuntimeDirectory", "RUNTIME_DIRECTORY"),
        ("StateDirectory", "STATE_DIRECTORY"),
        ("CacheDirectory", "CACHE_DIRECTORY"),
        ("LogsDirectory", "LOGS_DIRECTORY"),
        ("ConfigurationDirectory", "CONFIGURATION_DIRECTORY"),
    ] {
        let dirs: Vec<&str> = s.dirs.iter().filter(|(k, _)| k == kind).map(|(_, p)| p.as_str()).collect();
        if !dirs.is_empty() {
            l.push(format!("export {var}={}", sh_quote(&dirs.join(":"))));
        }
    }
    for (k, v) in &s.env {
        l.push(format!("export {k}={}", sh_quote(v)));
    }
    if !s.env_files.is_empty() {
        l.push("# EnvironmentFile=: read with systemd's syntax at every start (not sourced).".into());
        let mut cmd = sh_quote(&opts.helper);
        for f in &s.env_files {
            cmd.push_str(&format!(" --env-file {}", sh_quote(f)));
        }
        l.push(format!("env=$({cmd}) || exit 111"));
        l.push("eval \"$env\"".into());
    }
    match s.workdir.as_deref() {
        None => l.push("cd / || exit 111".into()),
        Some(w) => {
            let (optional, w) = match w.strip_prefix('-') {
                Some(w) => (true, w),
                None => (false, w),
            };
            let dir = if w == "~" {
                match &s.user {
                    Some(u) => format!("~{u}"),
                    None => "/root".into(),
                }
            } else {
                sh_quote(w)
            };
            if optional {
                l.push(format!("cd {dir} 2>/dev/null || cd / || exit 111"));
            } else {
                l.push(format!("cd {dir} || exit 111"));
            }
        }
    }
    l
}

/// `cmd` as a line of a script; `on_failure` is what follows `||` unless
/// the command's failure is ignored (`-`).
fn line(s: &Svc, cmd: &Command, ctx: &mut Ctx, on_failure: &str) -> String {
    let base = format!("{}{}", chpst(s, cmd, ctx), cmd.sh());
    if cmd.ignore_failure || on_failure.is_empty() {
        base
    } else {
        format!("{base} || {on_failure}")
    }
}

fn script(header: &[String], body: Vec<String>) -> String {
    let mut t = String::from("#!/bin/sh\n");
    for h in header {
        t.push_str(&format!("# {h}\n"));
    }
    for b in body {
        t.push_str(&b);
        t.push('\n');
    }
    t
}

fn build(loaded: &Loaded, ctx: &mut Ctx, s: &Svc, listen: &[String], opts: &Options) -> Result<ServiceDir, String> {
    let unit = &loaded.name;
    let mut dir = ServiceDir { name: unit.stem(), ..Default::default() };
    let origin = format!("{}", loaded.file.display());
    let mut header = vec![format!("{}: converted by runit-import from {origin}", unit.full)];
    if let Some(d) = &s.description {
        header.push(d.clone());
    }
    let oneshot = s.ty == "oneshot";
    let forking = s.ty == "forking";
    if s.start.is_empty() {
        return Err("no ExecStart= (nothing to run)".into());
    }
    if s.start.len() > 1 && !oneshot {
        return Err(format!("{} ExecStart= commands: only Type=oneshot may have more than one", s.start.len()));
    }
    if forking && s.pid_file.is_none() {
        let at = s.ty_at.as_ref().map(|o| format!("{o}: ")).unwrap_or_default();
        return Err(format!("{at}Type=forking without PIDFile=: runsv cannot find the daemon's process"));
    }
    if s.root.is_some() && s.workdir.is_some() {
        ctx.warn_key(
            "WorkingDirectory",
            None,
            "with RootDirectory=: run changes into it outside the new root; chpst -/ then starts in the root's /",
        );
    }
    if !forking && s.timeout_start.is_some_and(|t| t.is_some()) {
        // TimeoutSec= sets it too (its stop half is timeout-kill).
        let key = ctx
            .assignments
            .iter()
            .rev()
            .find(|a| a.key == "TimeoutStartSec" || a.key == "TimeoutSec")
            .map_or("TimeoutStartSec", |a| a.key.as_str());
        ctx.warn_key(key, None, "not supported: runsv does not time a start out");
    }
    if forking && s.start[0].ignore_failure {
        ctx.warn_key("ExecStart", None, "'-' ignored for Type=forking: the start fails when the daemon does");
    }

    // Output: runsv gives run the log pipe as stdout when log/ exists.
    let err = if s.stderr.0 == Out::Inherit { s.stdout.clone() } else { s.stderr.clone() };
    let out = if s.stdout.0 == Out::Inherit { (Out::Log, String::new()) } else { s.stdout.clone() };
    let needs_log = out.0 == Out::Log || err.0 == Out::Log;
    let mut body = vec!["exec </dev/null".to_string()];
    if !s.condition.is_empty() {
        // The service directory, for sv down after the cd below.
        body.push("here=$PWD".into());
    }
    let redirect = |t: &(Out, String), fd: &str| match t.0 {
        Out::Null => format!("{fd}>/dev/null"),
        Out::File(op) => format!("{fd}{op}{}", sh_quote(&t.1)),
        _ => String::new(),
    };
    // stderr first (it may copy the log pipe from stdout), then stdout.
    let mut io = Vec::new();
    match err.0 {
        Out::Log | Out::Inherit => io.push("2>&1".to_string()),
        _ => io.push(redirect(&err, "2")),
    }
    if matches!(out.0, Out::Null | Out::File(_)) {
        io.push(redirect(&out, ""));
    }
    body.push(format!("exec {}", io.join(" ")));
    body.extend(preamble(s, opts));
    if s.ignore_sigpipe {
        // IgnoreSIGPIPE=yes, systemd's default: an ignored signal stays ignored across exec.
        body.push("trap '' PIPE".into());
    }
    if let Some(o) = s.oom {
        body.push(format!("echo {o} >/proc/self/oom_score_adj || exit 111"));
    }
    for (kind, path) in &s.dirs {
        let mode = s.dir_modes.get(kind.as_str()).cloned().unwrap_or_else(|| "0755".into());
        let mut l = format!("mkdir -p {p} && chmod {mode} {p}", p = sh_quote(path));
        // user: is the user's login group for chown.
        let owner = match (&s.user, &s.group) {
            (Some(u), g) => Some(format!("{u}:{}", g.as_deref().unwrap_or_default())),
            (None, Some(g)) => Some(format!(":{g}")),
            (None, None) => None,
        };
        if let Some(o) = owner {
            l.push_str(&format!(" && chown {} {}", sh_quote(&o), sh_quote(path)));
        }
        body.push(format!("{l} || exit 111"));
    }
    if !s.condition.is_empty() {
        body.push("# ExecCondition=: exit 1-254 skips the start (down, no failure); 255 fails it.".into());
    }
    for c in &s.condition {
        body.push(line(s, c, ctx, "{ rc=$?; [ \"$rc\" -lt 255 ] && { sv down \"$here\"; exit 0; }; exit 111; }"));
    }
    for c in &s.pre {
        body.push(line(s, c, ctx, "exit 111"));
    }
    if forking {
        let pid_file = s.pid_file.clone().unwrap_or_default();
        // Tenths of a second to wait for the pid file; None: without end.
        let wait = s.timeout_start.unwrap_or(Some(DEFAULT_TIMEOUT_MS)).map(|ms| ms.div_ceil(100));
        let sig = s.kill_signal.clone().unwrap_or_else(|| "TERM".into());
        body.push("# Type=forking: start the daemon, wait for its pid file, then stay".into());
        body.push("# until that pid is gone (tail --pid checks once a second).".into());
        body.push(format!("pidfile={}", sh_quote(&pid_file)));
        body.push("rm -f \"$pidfile\"".into());
        body.push(line(s, &s.start[0], ctx, "exit 111"));
        body.push("i=0".into());
        body.push("while [ ! -s \"$pidfile\" ]; do".into());
        if let Some(wait) = wait {
            body.push(format!(
                "  i=$((i + 1)); [ \"$i\" -le {wait} ] || {{ echo \"{}: no pid in $pidfile\"; exit 111; }}",
                unit.full
            ));
        }
        body.push("  sleep 0.1".into());
        body.push("done".into());
        body.push("read -r pid <\"$pidfile\" || exit 111".into());
        body.push("MAINPID=$pid; export MAINPID".into());
        body.push("# Signals sv sends to run go to the daemon (sv hup, 1, 2, alarm, ...).".into());
        for fwd in ["HUP", "INT", "QUIT", "USR1", "USR2", "ALRM"] {
            body.push(format!("trap 'kill -{fwd} \"$pid\" 2>/dev/null' {fwd}"));
        }
        body.push("# The stop signal (sv down, restart, term) too, remembered.".into());
        body.push("stopping=".into());
        let stop_sigs = if sig == "TERM" { "TERM".to_string() } else { format!("TERM {sig}") };
        body.push(format!("trap 'stopping=1; kill -{sig} \"$pid\" 2>/dev/null' {stop_sigs}"));
        for c in &s.post {
            body.push(line(s, c, ctx, "{ kill \"$pid\"; exit 111; }"));
        }
        body.push("tail --pid=\"$pid\" -f /dev/null &".into());
        body.push("follow=$!".into());
        body.push("while kill -0 \"$follow\" 2>/dev/null; do wait \"$follow\"; done".into());
        body.push("# Stopped: end as by TERM, which leaves the restart to runsv (see finish).".into());
        body.push(format!("if [ -n \"$stopping\" ]; then trap - {stop_sigs}; kill -TERM $$; fi"));
        body.push("# Ended on its own: its exit status is unknown; count it a failure.".into());
        body.push("exit 1".into());
    } else if oneshot {
        for c in &s.start {
            body.push(line(s, c, ctx, "exit"));
        }
        for c in &s.post {
            body.push(line(s, c, ctx, "exit"));
        }
    } else {
        if !s.post.is_empty() {
            body.push("# ExecStartPost=: beside the service, which keeps this pid ($$);".into());
            body.push("# a failure stops it.".into());
            let posts: Vec<String> = s.post.iter().map(|c| line(s, c, ctx, "kill $$")).collect();
            body.push(format!("( {} ) &", posts.join("; ")));
        }
        body.push(format!("exec {}", line(s, &s.start[0], ctx, "")));
    }
    dir.add("run", 0o755, script(&header, body));

    // Stopping: control/t runs on sv down/restart/term before runsv's signal.
    let control_header = |what: &str| vec![format!("{}: {what}", unit.full)];
    // For Type=forking, $1 is run's pid, not the daemon's.
    let mainpid = if forking {
        format!("MAINPID=$(cat {} 2>/dev/null); export MAINPID", sh_quote(s.pid_file.as_deref().unwrap_or_default()))
    } else {
        "MAINPID=$1; export MAINPID".to_string()
    };
    if !s.stop.is_empty() {
        let mut b = vec![mainpid.clone()];
        b.extend(preamble(s, opts));
        for c in &s.stop {
            b.push(line(s, c, ctx, ""));
        }
        b.push("# exit 1: runsv then sends the stop signal to what is left, as systemd does.".into());
        b.push("exit 1".into());
        dir.add("control/t", 0o755, script(&control_header("ExecStop= (runs on sv down, restart, term)"), b));
    }
    if !s.reload.is_empty() {
        let mut b = vec![mainpid];
        b.extend(preamble(s, opts));
        for c in &s.reload {
            b.push(line(s, c, ctx, "exit 0"));
        }
        b.push("# exit 0 in any case: otherwise runsv also sends HUP.".into());
        b.push("exit 0".into());
        dir.add("control/h", 0o755, script(&control_header("ExecReload= (sv reload)"), b));
    }

    // finish: the restart policy, then ExecStopPost=.
    // sv is found on runsv's PATH, where the supervision tools are.
    let mut fin = Vec::new();
    let policy: Option<&str> = match s.restart.as_str() {
        "always" => None,
        // The oneshot file already keeps a finished oneshot service down.
        _ if oneshot => {
            if s.restart != "no" {
                ctx.warn_key(
                    "Restart",
                    None,
                    format!("{}: a oneshot service runs once per sv up and is not restarted", s.restart),
                );
            }
            None
        }
        "no" | "on-watchdog" => Some("sv down ."),
        "on-success" => Some("case \"$1,$2\" in 0,*|-1,1|-1,2|-1,13) ;; *) sv down . ;; esac"),
        "on-failure" => Some("case \"$1,$2\" in 0,*|-1,1|-1,2|-1,13) sv down . ;; esac"),
        _ => Some("case \"$1,$2\" in -1,1|-1,2|-1,13) sv down . ;; -1,*) ;; *) sv down . ;; esac"),
    };
    if let Some(p) = policy {
        fin.push(format!("# Restart={}: runsv restarts run unless this sets want down.", s.restart));
        fin.push("# An end by TERM is left to runsv: sv down, restart and term send it.".into());
        fin.push("if [ \"$1,$2\" != -1,15 ]; then".into());
        fin.push(format!("  {p}"));
        fin.push("fi".into());
    }
    if !s.stop_post.is_empty() {
        fin.extend(preamble(s, opts));
        for c in &s.stop_post {
            fin.push(line(s, c, ctx, ""));
        }
    }
    if policy.is_some() || !s.stop_post.is_empty() {
        fin.push("exit 0".into());
        dir.add("finish", 0o755, script(&control_header("Restart= and ExecStopPost="), fin));
    }

    // Opt-in files of runsv.
    match s.ty.as_str() {
        "notify" | "notify-reload" => dir.add("notify-socket", 0o644, String::new()),
        "oneshot" => dir.add("oneshot", 0o644, String::new()),
        _ => {}
    }
    if let Some(sig) = &s.kill_signal {
        if sig != "TERM" {
            dir.add("down-signal", 0o644, format!("{sig}\n"));
        }
    }
    if s.send_sigkill {
        if let Some(ms) = s.timeout_stop.unwrap_or(Some(DEFAULT_TIMEOUT_MS)) {
            dir.add("timeout-kill", 0o644, format!("{ms}\n"));
        }
    }
    if s.restart_sec.is_some() || s.restart_max.is_some() {
        let initial = s.restart_sec.unwrap_or(100);
        let max = s.restart_max.unwrap_or(initial).max(initial);
        dir.add("restart-backoff", 0o644, format!("{initial} {max}\n"));
    }
    match s.kill_mode.as_str() {
        "control-group" => dir.dirs.push("cgroup".into()),
        "mixed" => dir.add("flag-timeout-killpg", 0o644, String::new()),
        _ => {}
    }
    for (f, v) in &s.cgroup {
        dir.add(&format!("cgroup/{f}"), 0o644, format!("{v}\n"));
    }
    let mut depends = String::new();
    for d in &s.deps.hard {
        depends.push_str(&format!("{d}\n"));
    }
    for d in s.deps.soft.iter().chain(&s.deps.after) {
        if !s.deps.hard.contains(d) && !depends.lines().any(|l| l == format!("{d} soft")) {
            depends.push_str(&format!("{d} soft\n"));
        }
    }
    if !depends.is_empty() {
        dir.add("depends", 0o644, depends);
    }
    if !listen.is_empty() {
        dir.add("listen", 0o644, listen.iter().map(|l| format!("{l}\n")).collect());
    }
    if needs_log {
        let body = vec!["mkdir -p main || exit 111".to_string(), "exec svlogd -tt ./main".into()];
        dir.add(
            "log/run",
            0o755,
            script(&[format!("{}: the service's output, as the journal kept it", unit.full)], body),
        );
    }
    Ok(dir)
}

/// The socket unit names a service lists in `Sockets=`.
pub fn sockets_of(loaded: &Loaded) -> Vec<String> {
    let mut out = Vec::new();
    for a in &loaded.assignments {
        if a.section == "Service" && a.key == "Sockets" {
            let v = specifiers::expand(&a.value, &loaded.name).unwrap_or_else(|_| a.value.clone());
            out.extend(v.split_whitespace().map(String::from));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conv(text: &str) -> (ServiceDir, Vec<Warning>) {
        conv_named("t.service", text)
    }

    fn conv_named(name: &str, text: &str) -> (ServiceDir, Vec<Warning>) {
        let (d, w) = crate::convert_text(name, text, &[]).unwrap_or_else(|e| panic!("{e}"));
        for f in &d.files {
            if f.mode == 0o755 {
                let out = std::process::Command::new("sh").arg("-n").arg("-c").arg(&f.contents).output().unwrap();
                assert!(
                    out.status.success(),
                    "{}: sh -n: {}\n{}",
                    f.path,
                    String::from_utf8_lossy(&out.stderr),
                    f.contents
                );
            }
        }
        (d, w)
    }

    fn refused(text: &str) -> String {
        crate::convert_text("t.service", text, &[]).unwrap_err()
    }

    fn file<'a>(d: &'a ServiceDir, p: &str) -> &'a str {
        &d.file(p)
            .unwrap_or_else(|| panic!("no {p} in {:?}", d.files.iter().map(|f| &f.path).collect::<Vec<_>>()))
            .contents
    }

    fn warned(w: &[Warning], directive: &str) -> bool {
        w.iter().any(|w| w.directive == directive)
    }

    #[test]
    fn exec_start_becomes_the_exec_line_of_run() {
        let (d, w) = conv("[Unit]\nDescription=Test\n[Service]\nExecStart=/usr/bin/daemon --fg 'a b'\n");
        let run = file(&d, "run");
        assert!(run.starts_with("#!/bin/sh\n# t.service: converted by runit-import from t.service\n# Test\n"), "{run}");
        assert!(run.contains("\nexec </dev/null\nexec 2>&1\n"), "{run}");
        assert!(run.ends_with("\ncd / || exit 111\ntrap '' PIPE\nexec /usr/bin/daemon --fg 'a b'\n"), "{run}");
        let (d, _) = conv("[Service]\nExecStart=/bin/d\nIgnoreSIGPIPE=no\n");
        assert!(!file(&d, "run").contains("trap"));
        assert_eq!(d.file("run").unwrap().mode, 0o755);
        assert!(w.is_empty(), "{w:?}");
        assert_eq!(d.name, "t");
        assert!(refused("[Service]\nType=simple\n").contains("no ExecStart"));
        assert!(refused("[Service]\nExecStart=/a\nExecStart=/b\n").contains("only Type=oneshot"));
    }

    #[test]
    fn pre_and_post_commands_fail_the_start_unless_prefixed() {
        let (d, _) = conv("[Service]\nExecStartPre=/bin/check\nExecStartPre=-/bin/maybe\nExecStartPost=/bin/after\nExecStart=/bin/d\n");
        let run = file(&d, "run");
        assert!(run.contains("\n/bin/check || exit 111\n/bin/maybe\n"), "{run}");
        assert!(run.ends_with("\n( /bin/after || kill $$ ) &\nexec /bin/d\n"), "{run}");
        // An empty assignment resets the list.
        let (d, _) = conv("[Service]\nExecStartPre=/bin/check\nExecStartPre=\nExecStart=/bin/d\n");
        assert!(!file(&d, "run").contains("check"));
    }

    #[test]
    fn exec_condition_skips_the_start_without_failing() {
        let (d, _) =
            conv("[Service]\nExecCondition=/bin/sh -c 'exit $CODE'\nExecStartPre=/bin/pre\nExecStart=/bin/d\n");
        let run = file(&d, "run");
        assert!(run.contains("\nexec </dev/null\nhere=$PWD\n"), "{run}");
        assert!(run.find("exit $CODE").unwrap() < run.find("/bin/pre").unwrap(), "{run}");
        // Run the condition line alone with a stub sv: 1 skips, 255 fails, 0 goes on.
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("sv"), "#!/bin/sh\necho \"sv $*\"\n").unwrap();
        std::fs::set_permissions(tmp.path().join("sv"), std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        let cond = run.lines().find(|l| l.contains("exit $CODE")).unwrap();
        let go = |code: &str| {
            let script = format!("here=/svc\n{cond}\necho started");
            let o = std::process::Command::new("/bin/sh")
                .arg("-c")
                .arg(script)
                .env("PATH", format!("{}:/bin:/usr/bin", tmp.path().display()))
                .env("CODE", code)
                .output()
                .unwrap();
            (o.status.code(), String::from_utf8(o.stdout).unwrap())
        };
        assert_eq!(go("0"), (Some(0), "started\n".into()));
        assert_eq!(go("1"), (Some(0), "sv down /svc\n".into()));
        assert_eq!(go("255"), (Some(111), String::new()));
    }

    #[test]
    fn exec_stop_and_reload_become_control_scripts() {
        let (d, _) =
            conv("[Service]\nExecStart=/bin/d\nExecStop=/bin/d-stop $MAINPID\nExecReload=/bin/kill -HUP $MAINPID\n");
        let t = file(&d, "control/t");
        assert!(
            t.contains("MAINPID=$1; export MAINPID\n")
                && t.contains("\n/bin/d-stop ${MAINPID}\n")
                && t.ends_with("exit 1\n"),
            "{t}"
        );
        let h = file(&d, "control/h");
        assert!(h.contains("\n/bin/kill -HUP ${MAINPID} || exit 0\n") && h.ends_with("exit 0\n"), "{h}");
        let (d, _) = conv("[Service]\nExecStart=/bin/d\n");
        assert!(d.file("control/t").is_none() && d.file("control/h").is_none());
    }

    #[test]
    fn user_group_and_supplementary_groups_become_chpst_u() {
        let (d, _) = conv(
            "[Service]\nUser=www\nGroup=web\nSupplementaryGroups=a b\nExecStartPre=+/bin/as-root\nExecStart=/bin/d\n",
        );
        let run = file(&d, "run");
        assert!(run.contains("\nexec chpst -u www:web:a:b /bin/d\n"), "{run}");
        assert!(run.contains("\n/bin/as-root || exit 111\n"), "{run}");
        let (d, _) = conv("[Service]\nUser=www\nExecStart=/bin/d\n");
        assert!(file(&d, "run").contains("exec chpst -u www /bin/d\n"));
        let (d, _) = conv("[Service]\nUser=root\nExecStart=/bin/d\n");
        assert!(
            file(&d, "run").contains("\nexport USER=root LOGNAME=root\nexport HOME=/root SHELL="),
            "{}",
            file(&d, "run")
        );
        let (_, w) = conv("[Service]\nUser=1000\nExecStartPre=/bin/p\nExecStart=/bin/d\n");
        assert_eq!(w.iter().filter(|w| w.directive == "User").count(), 1, "{w:?}");
        let (d, _) = conv("[Service]\nUser=root\nSupplementaryGroups=root\nExecStart=/bin/d\n");
        assert!(file(&d, "run").contains("exec chpst -u root:root:root /bin/d\n"));
    }

    #[test]
    fn working_directory_umask_nice_and_root() {
        let (d, _) = conv("[Service]\nWorkingDirectory=/srv/x\nUMask=027\nNice=5\nExecStart=/bin/d\n");
        let run = file(&d, "run");
        assert!(
            run.contains("\numask 0027\n")
                && run.contains("\ncd /srv/x || exit 111\n")
                && run.contains("exec chpst -n 5 /bin/d\n"),
            "{run}"
        );
        let (d, _) = conv("[Service]\nWorkingDirectory=-/nope\nExecStart=/bin/d\n");
        assert!(file(&d, "run").contains("cd /nope 2>/dev/null || cd / || exit 111"));
        let (d, _) = conv("[Service]\nUser=u\nWorkingDirectory=~\nRootDirectory=/jail\nExecStart=/bin/d\n");
        let run = file(&d, "run");
        assert!(run.contains("cd ~u || exit 111") && run.contains("exec chpst -/ /jail -u u /bin/d"), "{run}");
        assert!(refused("[Service]\nUMask=abc\nExecStart=/bin/d\n").contains("UMask"));
        // An empty assignment is the default again.
        let (d, _) = conv("[Service]\nUMask=077\nUMask=\nNice=3\nNice=\nRestart=always\nRestart=\nExecStart=/bin/d\n");
        let run = file(&d, "run");
        assert!(!run.contains("umask") && !run.contains("chpst") && d.file("finish").is_some(), "{run}");
        let (d, _) = conv("[Service]\nGroup=g\nStateDirectory=s\nExecStart=/bin/d\n");
        assert!(file(&d, "run").contains("&& chown :g /var/lib/s || exit 111"));
    }

    #[test]
    fn environment_is_exported_with_systemd_quoting() {
        let (d, _) =
            conv("[Service]\nEnvironment=A=1 \"B=two words\" 'C=it''s'\nEnvironment=A=3\nExecStart=/bin/d $B ${A}\n");
        let run = file(&d, "run");
        assert!(run.contains("\nexport B='two words'\nexport C=its\nexport A=3\n"), "{run}");
        assert!(run.contains("\nset -f\n") && run.contains("exec /bin/d ${B} \"${A}\"\n"), "{run}");
        let (d, w) = conv("[Service]\nEnvironment=A=1\nEnvironment=\nEnvironment=bad-name=1\nExecStart=/bin/d\n");
        assert!(!file(&d, "run").contains("export A"));
        assert!(warned(&w, "Environment"));
    }

    #[test]
    fn environment_files_are_read_by_the_helper_at_every_start() {
        let (d, _) = conv("[Service]\nEnvironmentFile=-/etc/default/t\nEnvironmentFile=/etc/t.env\nExecStart=/bin/d\n");
        let run = file(&d, "run");
        assert!(run.contains("\nenv=$(/usr/bin/runit-import --env-file -/etc/default/t --env-file /etc/t.env) || exit 111\neval \"$env\"\n"), "{run}");
        // Environment= comes first: the files override it, as in systemd.
        let (d, _) = conv("[Service]\nEnvironmentFile=/e\nEnvironment=A=1\nExecStart=/bin/d\n");
        let run = file(&d, "run");
        assert!(run.find("export A=1").unwrap() < run.find("env=$(").unwrap());
    }

    #[test]
    fn limits_map_to_chpst_options_or_warn() {
        let (d, w) = conv("[Service]\nLimitNOFILE=65536\nLimitCORE=0\nLimitFSIZE=1M\nLimitCPU=2min\nLimitNPROC=100:200\nLimitMEMLOCK=64K\nLimitDATA=infinity\nExecStart=/bin/d\n");
        assert!(
            file(&d, "run").contains("exec chpst -c 0 -f 1048576 -o 65536 -p 100 -t 120 /bin/d\n"),
            "{}",
            file(&d, "run")
        );
        assert!(warned(&w, "LimitMEMLOCK") && warned(&w, "LimitDATA") && warned(&w, "LimitNPROC"));
        assert!(!warned(&w, "LimitNOFILE"));
    }

    #[test]
    fn restart_policies_become_finish_scripts() {
        let (d, _) = conv("[Service]\nExecStart=/bin/d\nRestart=always\n");
        assert!(d.file("finish").is_none());
        let (d, _) = conv("[Service]\nExecStart=/bin/d\n");
        let f = file(&d, "finish");
        assert!(f.contains("if [ \"$1,$2\" != -1,15 ]; then\n  sv down .\nfi\n"), "{f}");
        let (d, _) = conv("[Service]\nExecStart=/bin/d\nRestart=on-failure\n");
        assert!(file(&d, "finish").contains("0,*|-1,1|-1,2|-1,13) sv down . ;;"));
        let (d, _) = conv("[Service]\nExecStart=/bin/d\nRestart=on-abnormal\n");
        assert!(file(&d, "finish").contains("-1,*) ;; *) sv down . ;;"));
        assert!(refused("[Service]\nExecStart=/bin/d\nRestart=sometimes\n").contains("restart policy"));
        let (d, _) = conv("[Service]\nExecStart=/bin/d\nRestart=always\nExecStopPost=-/bin/cleanup\n");
        assert!(file(&d, "finish").contains("\n/bin/cleanup\nexit 0\n"));
    }

    #[test]
    fn finish_scripts_obey_the_policy_when_run() {
        let (d, _) = conv("[Service]\nExecStart=/bin/d\nRestart=on-failure\n");
        // With a stub sv on PATH, the script says when it would keep the service down.
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("sv"), "#!/bin/sh\necho \"sv $*\"\n").unwrap();
        std::fs::set_permissions(tmp.path().join("sv"), std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        let script = file(&d, "finish");
        let fin = |a: &str, b: &str| {
            let o = std::process::Command::new("/bin/sh")
                .arg("-c")
                .arg(script)
                .arg("finish")
                .arg(a)
                .arg(b)
                .env("PATH", tmp.path())
                .output()
                .unwrap();
            String::from_utf8(o.stdout).unwrap()
        };
        assert_eq!(fin("0", "0"), "sv down .\n");
        assert_eq!(fin("1", "0"), "");
        assert_eq!(fin("-1", "9"), "");
        assert_eq!(fin("-1", "15"), "");
        assert_eq!(fin("-1", "1"), "sv down .\n");
    }

    #[test]
    fn restart_sec_timeout_and_kill_signal_become_runsv_files() {
        let (d, _) = conv("[Service]\nExecStart=/bin/d\nRestartSec=5\nTimeoutStopSec=30s\nKillSignal=SIGINT\n");
        assert_eq!(file(&d, "restart-backoff"), "5000 5000\n");
        assert_eq!(file(&d, "timeout-kill"), "30000\n");
        assert_eq!(file(&d, "down-signal"), "INT\n");
        let (d, _) = conv("[Service]\nExecStart=/bin/d\nRestartSec=500ms\nRestartMaxDelaySec=1min\n");
        assert_eq!(file(&d, "restart-backoff"), "500 60000\n");
        // systemd's default stop timeout is 90 s; infinity and SendSIGKILL=no write none.
        let (d, _) = conv("[Service]\nExecStart=/bin/d\nKillSignal=TERM\n");
        assert_eq!(file(&d, "timeout-kill"), "90000\n");
        assert!(d.file("down-signal").is_none() && d.file("restart-backoff").is_none());
        let (d, _) = conv("[Service]\nExecStart=/bin/d\nTimeoutStopSec=infinity\n");
        assert!(d.file("timeout-kill").is_none());
        let (d, w) = conv("[Service]\nExecStart=/bin/d\nTimeoutSec=0\n");
        assert!(d.file("timeout-kill").is_none() && w.is_empty(), "{w:?}");
        let (d, w) = conv("[Service]\nExecStart=/bin/d\nTimeoutSec=10\n");
        assert_eq!(file(&d, "timeout-kill"), "10000\n");
        assert_eq!(
            w[0].to_string(),
            "runit-import: warning: t.service:3: TimeoutSec= not supported: runsv does not time a start out"
        );
        let (d, _) = conv("[Service]\nExecStart=/bin/d\nSendSIGKILL=no\n");
        assert!(d.file("timeout-kill").is_none());
        assert!(refused("[Service]\nExecStart=/bin/d\nKillSignal=NOPE\n").contains("unknown signal"));
    }

    #[test]
    fn kill_mode_and_resource_limits_use_cgroup_files() {
        let (d, _) = conv("[Service]\nExecStart=/bin/d\n");
        assert_eq!(d.dirs, ["cgroup"]);
        let (d, _) = conv("[Service]\nExecStart=/bin/d\nKillMode=process\n");
        assert!(d.dirs.is_empty() && d.files.iter().all(|f| !f.path.starts_with("cgroup/")));
        let (d, _) = conv("[Service]\nExecStart=/bin/d\nKillMode=mixed\n");
        assert!(d.file("flag-timeout-killpg").is_some());
        let (d, w) = conv("[Service]\nExecStart=/bin/d\nMemoryMax=512M\nCPUQuota=20%\nTasksMax=64\nMemoryHigh=50%\n");
        assert_eq!(file(&d, "cgroup/memory.max"), "536870912\n");
        assert_eq!(file(&d, "cgroup/cpu.max"), "20000 100000\n");
        assert_eq!(file(&d, "cgroup/pids.max"), "64\n");
        assert!(warned(&w, "MemoryHigh"));
        let (d, _) = conv("[Service]\nExecStart=/bin/d\nMemoryMax=infinity\nTasksMax=infinity\n");
        assert_eq!(file(&d, "cgroup/memory.max"), "max\n");
        assert_eq!(file(&d, "cgroup/pids.max"), "max\n");
    }

    #[test]
    fn types_map_to_notify_socket_oneshot_or_plain() {
        let (d, _) = conv("[Service]\nType=notify\nExecStart=/bin/d\n");
        assert_eq!(file(&d, "notify-socket"), "");
        assert_eq!(d.file("notify-socket").unwrap().mode, 0o644);
        let (d, _) = conv("[Service]\nType=exec\nExecStart=/bin/d\n");
        assert!(d.file("notify-socket").is_none() && d.file("oneshot").is_none());
        let (d, _) = conv("[Service]\nType=oneshot\nExecStart=/bin/a\nExecStart=-/bin/b\nExecStartPost=/bin/c\n");
        assert_eq!(file(&d, "oneshot"), "");
        let run = file(&d, "run");
        assert!(run.ends_with("\n/bin/a || exit\n/bin/b\n/bin/c || exit\n"), "{run}");
        assert!(d.file("finish").is_none(), "Restart=no is the oneshot file's job");
        let (d, w) = conv("[Service]\nType=oneshot\nExecStart=/bin/a\nRestart=on-failure\n");
        assert!(d.file("finish").is_none() && warned(&w, "Restart"));
        let (_, w) = conv("[Service]\nType=dbus\nBusName=org.x\nExecStart=/bin/d\n");
        assert!(warned(&w, "Type"));
        assert!(refused("[Service]\nType=weird\nExecStart=/bin/d\n").contains("unknown type"));
    }

    #[test]
    fn forking_with_a_pid_file_is_supervised_through_it() {
        let (d, _) = conv("[Service]\nType=forking\nPIDFile=/run/d.pid\nExecStart=/usr/sbin/d\nExecReload=/usr/sbin/d reload\nKillSignal=QUIT\n");
        let run = file(&d, "run");
        assert!(run.contains("pidfile=/run/d.pid\nrm -f \"$pidfile\"\n/usr/sbin/d || exit 111\n"), "{run}");
        assert!(run.contains("[ \"$i\" -le 900 ]") && run.contains("\ntail --pid=\"$pid\" -f /dev/null &\n"), "{run}");
        assert!(run.contains("\ntrap 'kill -HUP \"$pid\" 2>/dev/null' HUP\n"), "{run}");
        assert!(run.contains("\ntrap 'stopping=1; kill -QUIT \"$pid\" 2>/dev/null' TERM QUIT\n"), "{run}");
        assert!(run.ends_with("\nexit 1\n"), "{run}");
        let h = file(&d, "control/h");
        assert!(h.starts_with("#!/bin/sh\n# t.service: ExecReload= (sv reload)\nMAINPID=$(cat /run/d.pid 2>/dev/null); export MAINPID\n"), "{h}");
        assert!(h.contains("/usr/sbin/d reload || exit 0\n"), "{h}");
        assert!(d.file("control/t").is_none());
        // TimeoutStartSec=0: wait for the pid file without end.
        let (d, w) = conv("[Service]\nType=forking\nPIDFile=/p\nExecStart=-/usr/sbin/d\nTimeoutStartSec=0\n");
        assert!(!file(&d, "run").contains(" -le "), "{}", file(&d, "run"));
        assert_eq!(w[0].to_string(), "runit-import: warning: t.service:4: ExecStart= '-' ignored for Type=forking: the start fails when the daemon does");
        assert!(refused("[Service]\nType=forking\nExecStart=/usr/sbin/d\n")
            .contains("t.service:2: Type=forking without PIDFile"));
    }

    /// Starts a converted forking run script whose daemon is `sleep`;
    /// returns run and the daemon's pid.
    fn start_forking(pidfile: &std::path::Path) -> (std::process::Child, i32) {
        let (d, _) =
            conv("[Service]\nType=forking\nPIDFile=PIDFILE\nExecStart=/bin/sh -c 'sleep 30 & echo $! >PIDFILE'\n");
        let run = file(&d, "run").replace("PIDFILE", pidfile.to_str().unwrap());
        let child =
            std::process::Command::new("sh").arg("-c").arg(&run).stdout(std::process::Stdio::null()).spawn().unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        let pid: i32 = loop {
            if let Some(p) = std::fs::read_to_string(pidfile).ok().and_then(|s| s.trim().parse().ok()) {
                break p;
            }
            assert!(std::time::Instant::now() < deadline, "no pid file");
            std::thread::sleep(std::time::Duration::from_millis(20));
        };
        (child, pid)
    }

    fn wait_end(child: &mut std::process::Child) -> std::process::ExitStatus {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        loop {
            if let Some(st) = child.try_wait().unwrap() {
                return st;
            }
            assert!(std::time::Instant::now() < deadline, "run did not end");
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }

    fn alive(pid: i32) -> bool {
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None).is_ok()
            && !std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .is_ok_and(|s| s.rsplit(')').next().is_some_and(|r| r.starts_with(" Z")))
    }

    #[test]
    fn forking_run_scripts_follow_the_daemon() {
        use nix::sys::signal::{kill, Signal};
        use std::os::unix::process::ExitStatusExt;
        let tmp = tempfile::tempdir().unwrap();
        // The daemon ends on its own: run ends with 1 (a failure).
        let (mut run, pid) = start_forking(&tmp.path().join("a.pid"));
        assert!(run.try_wait().unwrap().is_none(), "run ended while the daemon runs");
        kill(nix::unistd::Pid::from_raw(pid), Signal::SIGTERM).unwrap();
        assert_eq!(wait_end(&mut run).code(), Some(1));
        // runsv's stop signal to run: the daemon gets it, run ends as by TERM.
        let (mut run, pid) = start_forking(&tmp.path().join("b.pid"));
        // Once run catches TERM (its traps are set), one TERM stops it all.
        let catches_term = || {
            std::fs::read_to_string(format!("/proc/{}/status", run.id())).ok().and_then(|st| {
                let mask = st.lines().find_map(|l| l.strip_prefix("SigCgt:"))?.trim().to_string();
                u64::from_str_radix(&mask, 16).ok()
            })
        };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while catches_term().is_none_or(|m| m & (1 << (15 - 1)) == 0) {
            assert!(std::time::Instant::now() < deadline, "run never set its TERM trap");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        kill(nix::unistd::Pid::from_raw(run.id() as i32), Signal::SIGTERM).unwrap();
        let st = wait_end(&mut run);
        assert_eq!(st.signal(), Some(15));
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while alive(pid) {
            assert!(std::time::Instant::now() < deadline, "the daemon outlived its stop");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }

    #[test]
    fn dependencies_become_depends_lines() {
        let (d, w) = conv(
            "[Unit]\nRequires=db.service\nBindsTo=cache.service\nWants=extra.service network-online.target\nAfter=db.service late.service network.target systemd-journald.socket syslog.socket\n[Service]\nExecStart=/bin/d\n",
        );
        assert_eq!(file(&d, "depends"), "db\ncache\nextra soft\nlate soft\n");
        assert!(w.iter().any(|w| w.reason.contains("network-online.target dropped")), "{w:?}");
        // Ordering after targets and systemd's own units is silent.
        assert_eq!(w.len(), 1, "{w:?}");
        let (d, _) = conv("[Service]\nExecStart=/bin/d\n");
        assert!(d.file("depends").is_none());
    }

    #[test]
    fn sockets_become_listen_lines() {
        let sock = |text: &str| {
            let name = UnitName::parse("web.socket").unwrap();
            let assignments = crate::unit::parse(text, std::path::Path::new("web.socket")).unwrap();
            socket(&Loaded { name, file: "web.socket".into(), assignments })
        };
        let s = sock("[Socket]\nListenStream=80\nListenStream=127.0.0.1:8080\nListenStream=[::1]:81\nBacklog=128\nReusePort=yes\n").unwrap();
        assert_eq!(
            s.lines,
            [
                "web.socket=tcp:[::]:80 backlog=128 reuseport",
                "web.socket=tcp:127.0.0.1:8080 backlog=128 reuseport",
                "web.socket=tcp:[::1]:81 backlog=128 reuseport"
            ]
        );
        assert_eq!(s.service, "web.service");
        let s = sock("[Socket]\nListenStream=/run/web.sock\nListenDatagram=/run/web.dg\nListenDatagram=5353\nSocketMode=0660\nSocketUser=www\nSocketGroup=web\nFileDescriptorName=api\nBindIPv6Only=ipv6-only\nService=other.service\n").unwrap();
        assert_eq!(
            s.lines,
            [
                "api=unix:/run/web.sock mode=0660 owner=www:web",
                "api=unixgram:/run/web.dg mode=0660 owner=www:web",
                "api=udp:[::]:5353 v6only"
            ]
        );
        assert_eq!(s.service, "other.service");
        assert!(sock("[Socket]\nListenStream=22\nAccept=yes\n").err().unwrap().contains("Accept=yes"));
        let s = sock("[Socket]\nListenStream=@abstract\nListenStream=1\nKeepAlive=yes\n").unwrap();
        assert_eq!(s.lines.len(), 1);
        assert_eq!(s.warnings.len(), 2);
        assert!(sock("[Socket]\nListenFIFO=/x\n").is_err());
        // Host names, zones and bad ports are not addresses listen takes.
        let s = sock("[Socket]\nListenStream=localhost:80\nListenStream=1.2.3.4:0\nListenStream=[fe80::1%eth0]:80\nListenStream=1.2.3.4:99\n").unwrap();
        assert_eq!(s.lines, ["web.socket=tcp:1.2.3.4:99"]);
        assert_eq!(s.warnings.len(), 3);
        let s = sock("[Socket]\nListenStream=80\nFileDescriptorName=a:b\n").unwrap();
        assert_eq!(s.lines, ["tcp:[::]:80"]);
        let (d, _) =
            crate::convert_text("t.service", "[Service]\nExecStart=/bin/d\n", &["x=tcp:[::]:80".into()]).unwrap();
        assert_eq!(file(&d, "listen"), "x=tcp:[::]:80\n");
    }

    #[test]
    fn runtime_and_state_directories_are_made_before_the_daemon() {
        let (d, w) = conv("[Service]\nUser=u\nGroup=g\nRuntimeDirectory=t t/sub\nRuntimeDirectoryMode=0750\nStateDirectory=t\nExecStart=/bin/d\n");
        let run = file(&d, "run");
        assert!(run.contains("mkdir -p /run/t && chmod 0750 /run/t && chown u:g /run/t || exit 111\n"), "{run}");
        assert!(run.contains("mkdir -p /run/t/sub && chmod 0750 /run/t/sub"), "{run}");
        assert!(
            run.contains("mkdir -p /var/lib/t && chmod 0755 /var/lib/t && chown u:g /var/lib/t || exit 111\n"),
            "{run}"
        );
        assert!(run.find("/var/lib/t").unwrap() < run.find("exec chpst").unwrap());
        assert!(
            run.contains("\nexport RUNTIME_DIRECTORY=/run/t:/run/t/sub\nexport STATE_DIRECTORY=/var/lib/t\n"),
            "{run}"
        );
        assert!(run.contains("\nexport USER=u LOGNAME=u\n"), "{run}");
        assert!(w.is_empty(), "{w:?}");
        let (_, w) = conv("[Service]\nRuntimeDirectory=../x\nExecStart=/bin/d\n");
        assert!(warned(&w, "RuntimeDirectory"));
    }

    #[test]
    fn standard_output_decides_the_log_service() {
        let (d, _) = conv("[Service]\nExecStart=/bin/d\n");
        assert_eq!(file(&d, "log/run"), "#!/bin/sh\n# t.service: the service's output, as the journal kept it\nmkdir -p main || exit 111\nexec svlogd -tt ./main\n");
        let (d, _) = conv("[Service]\nExecStart=/bin/d\nStandardOutput=null\n");
        assert!(d.file("log/run").is_none());
        assert!(file(&d, "run").contains("\nexec 2>/dev/null >/dev/null\n"));
        let (d, _) = conv("[Service]\nExecStart=/bin/d\nStandardOutput=null\nStandardError=journal\n");
        assert!(d.file("log/run").is_some());
        assert!(file(&d, "run").contains("\nexec 2>&1 >/dev/null\n"));
        let (d, _) = conv("[Service]\nExecStart=/bin/d\nStandardError=null\n");
        assert!(file(&d, "run").contains("\nexec 2>/dev/null\n"));
        let (d, _) = conv("[Service]\nExecStart=/bin/d\nStandardOutput=append:/var/log/d.log\nStandardError=inherit\n");
        assert!(file(&d, "run").contains("\nexec 2>>/var/log/d.log >>/var/log/d.log\n"), "{}", file(&d, "run"));
        let (_, w) = conv("[Service]\nExecStart=/bin/d\nStandardOutput=tty\n");
        assert!(warned(&w, "StandardOutput"));
    }

    #[test]
    fn unsupported_directives_are_warned_about_with_their_line() {
        let (_, w) = conv("[Unit]\nConditionPathExists=/x\n[Service]\nExecStart=/bin/d\nProtectSystem=full\nPrivateTmp=yes\nWatchdogSec=5\nFrobnicate=1\n");
        let lines: Vec<String> = w.iter().map(|w| w.to_string()).collect();
        assert_eq!(lines.len(), 5, "{lines:?}");
        assert!(
            lines[0].starts_with("runit-import: warning: t.service:2: ConditionPathExists= not supported: "),
            "{lines:?}"
        );
        assert!(
            lines[1].starts_with("runit-import: warning: t.service:5: ProtectSystem= not supported: sandboxing"),
            "{lines:?}"
        );
        assert!(lines[3].starts_with("runit-import: warning: t.service:7: WatchdogSec= not supported"), "{lines:?}");
        assert!(lines[4].contains(":8: Frobnicate= not supported"), "{lines:?}");
        assert!(refused("[Servce]\nExecStart=/bin/d\n").contains("unknown section [Servce]"));
        assert!(refused("[Service]\nExecStart=/bin/d\nDynamicUser=yes\n").contains("DynamicUser"));
    }

    #[test]
    fn specifiers_expand_in_commands_and_paths() {
        let (d, w) = conv_named(
            "getty@tty1.service",
            "[Service]\nExecStart=/sbin/agetty -o '-p -- \\\\u' --noclear %I $TERM\nWorkingDirectory=%t/%p\nRuntimeDirectory=%i\n",
        );
        assert_eq!(d.name, "getty@tty1");
        let run = file(&d, "run");
        assert!(run.contains("exec /sbin/agetty -o '-p -- \\u' --noclear tty1 ${TERM}\n"), "{run}");
        assert!(run.contains("cd /run/getty") && run.contains("mkdir -p /run/tty1"), "{run}");
        assert!(w.is_empty(), "{w:?}");
        let (_, w) = conv("[Service]\nExecStart=/bin/d %q\nExecStart=/bin/e\n");
        assert!(warned(&w, "ExecStart"));
    }

    #[test]
    fn time_spans_and_sizes_parse_like_systemd() {
        assert_eq!(timespan_ms("90").unwrap(), Some(90_000));
        assert_eq!(timespan_ms("1min 30s").unwrap(), Some(90_000));
        assert_eq!(timespan_ms("1.5s").unwrap(), Some(1500));
        assert_eq!(timespan_ms("250ms").unwrap(), Some(250));
        assert_eq!(timespan_ms("2h").unwrap(), Some(7_200_000));
        assert_eq!(timespan_ms("infinity").unwrap(), None);
        assert!(timespan_ms("5 parsecs").is_err());
        assert!(timespan_ms("").is_err());
        assert_eq!(size_bytes("4K").unwrap(), Some(4096));
        assert_eq!(size_bytes("infinity").unwrap(), None);
        assert!(size_bytes("lots").is_err());
        assert_eq!(signal_name("9").as_deref(), Some("KILL"));
        assert_eq!(signal_name("SIGHUP").as_deref(), Some("HUP"));
    }
}

#[cfg(test)]
mod robustness {
    use proptest::prelude::*;

    /// Unit-file-like text: sections, keys the mapping knows, and noise.
    fn unitish() -> impl Strategy<Value = String> {
        let line = prop_oneof![
            Just("[Service]".to_string()),
            Just("[Unit]".to_string()),
            Just("[Socket]".to_string()),
            "(ExecStart|ExecStartPre|ExecStop|ExecReload|Environment|EnvironmentFile|User|Group|SupplementaryGroups|WorkingDirectory|UMask|Nice|LimitNOFILE|LimitCPU|Restart|RestartSec|TimeoutStopSec|KillSignal|KillMode|Type|PIDFile|Requires|After|Wants|RuntimeDirectory|StandardOutput|StandardError|MemoryMax|CPUQuota|TasksMax|ListenStream)=[ -~\\\\%$\"']{0,40}",
            "[ -~]{0,40}",
        ];
        proptest::collection::vec(line, 0..12).prop_map(|l| l.join("\n"))
    }

    proptest! {
        #[test]
        fn no_unit_text_makes_the_converter_panic(text in unitish()) {
            let _ = crate::convert_text("p@x.service", &text, &[]);
        }

        #[test]
        fn no_command_line_makes_the_parser_panic(line in "[ -~\\\\$%;\"'µ]{0,60}") {
            let _ = crate::command::parse(&line, &|w: &str| Ok(w.to_string()));
            let _ = crate::specifiers::expand(&line, &crate::specifiers::UnitName::parse("a@b.service").unwrap());
            let _ = crate::mapping::timespan_ms(&line);
            let _ = crate::mapping::size_bytes(&line);
        }

        #[test]
        fn no_environment_file_makes_the_reader_panic(text in "[ -~\\n\\\\'\"#;=µ]{0,80}") {
            let _ = crate::envfile::parse(&text);
        }
    }
}
