//! The opt-in `listen` file: sockets runsv binds and holds for the service,
//! passed to every `./run` it starts (socket activation).
//!
//! One socket per line, `[NAME=]ADDRESS [OPTION...]`, words separated by
//! blanks; a word starting with `#` starts a comment, blank lines are
//! ignored:
//!
//! ```text
//! # name=address        options
//! http=tcp:127.0.0.1:8080 backlog=128 reuseport
//! tcp:[::1]:8080 v6only
//! dns=udp:127.0.0.1:5353
//! ctl=unix:/run/web.sock mode=0660 owner=www-data:adm
//! unixgram:log.sock
//! ```
//!
//! | Address | Socket |
//! |---|---|
//! | `tcp:HOST:PORT` | TCP listener; HOST an IPv4 literal or `[IPv6]` |
//! | `udp:HOST:PORT` | UDP socket |
//! | `unix:PATH` | stream unix socket (PATH relative to the service directory unless absolute) |
//! | `unixgram:PATH` | datagram unix socket |
//!
//! | Option | Meaning |
//! |---|---|
//! | `backlog=N` | listen queue of a stream socket, 1..=65535 (default 1024) |
//! | `reuseport` | `SO_REUSEPORT` (tcp, udp) |
//! | `v6only` | `IPV6_V6ONLY` (IPv6 addresses only) |
//! | `mode=OCTAL` | permissions of a unix socket file, at most 0777 |
//! | `owner=USER[:GROUP]` | owner of a unix socket file (GROUP defaults to USER's group) |
//! | `fd=0` | the (only) socket goes on stdin and stdout instead of fd 3 |
//!
//! NAME (`LISTEN_FDNAMES`, as sd_listen_fds_with_names(3) reads it) is
//! 1..=255 characters of `A-Z a-z 0-9 _ . -`; an unnamed socket is
//! `unknown`. Host names are not accepted (runsv resolves nothing), nor
//! blanks inside a path. Parsing is pure; every error names its line.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// The file in the service directory.
pub const LISTEN: &str = "listen";
/// Next to `listen`: start `./run` only when a client is waiting.
pub const FLAG_ON_DEMAND: &str = "flag-on-demand";
/// The default listen queue of stream sockets.
pub const DEFAULT_BACKLOG: u32 = 1024;
/// Most sockets one `listen` file may hold.
pub const MAX_SOCKETS: usize = 64;
/// Longest path a unix socket address can hold (`sun_path` minus its NUL).
pub const MAX_UNIX_PATH: usize = 107;
/// Under `supervise/`: why `listen` holds the service down (one line),
/// present only while it does.
pub const LISTEN_ERROR: &str = "listen-error";
/// The descriptor the first socket gets (`SD_LISTEN_FDS_START`).
pub const FIRST_FD: i32 = 3;

/// Where a socket listens.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Address {
    Tcp(SocketAddr),
    Udp(SocketAddr),
    /// A stream unix socket at this path.
    Unix(Vec<u8>),
    /// A datagram unix socket at this path.
    UnixGram(Vec<u8>),
}

impl Address {
    pub fn is_unix(&self) -> bool {
        matches!(self, Address::Unix(_) | Address::UnixGram(_))
    }

    pub fn is_stream(&self) -> bool {
        matches!(self, Address::Tcp(_) | Address::Unix(_))
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Address::Tcp(a) => write!(f, "tcp:{a}"),
            Address::Udp(a) => write!(f, "udp:{a}"),
            Address::Unix(p) => write!(f, "unix:{}", String::from_utf8_lossy(p)),
            Address::UnixGram(p) => write!(f, "unixgram:{}", String::from_utf8_lossy(p)),
        }
    }
}

/// `owner=USER[:GROUP]`, names or numeric ids, resolved when binding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Owner {
    pub user: String,
    pub group: Option<String>,
}

/// One line of `listen`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Socket {
    /// 1-based line number in the file, for messages.
    pub line: usize,
    pub name: Option<String>,
    pub address: Address,
    pub backlog: u32,
    pub reuseport: bool,
    pub v6only: bool,
    pub mode: Option<u32>,
    pub owner: Option<Owner>,
    /// `fd=0`: on stdin and stdout, without `LISTEN_*` variables.
    pub stdio: bool,
}

impl Socket {
    /// A socket line with no options: every option at its default.
    pub fn plain(line: usize, name: Option<String>, address: Address) -> Socket {
        Socket {
            line,
            name,
            address,
            backlog: DEFAULT_BACKLOG,
            reuseport: false,
            v6only: false,
            mode: None,
            owner: None,
            stdio: false,
        }
    }

    /// The name in `LISTEN_FDNAMES`.
    pub fn fd_name(&self) -> &str {
        self.name.as_deref().unwrap_or("unknown")
    }
}

/// Why a line was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListenError {
    /// 1-based line; 0 for the file as a whole.
    pub line: usize,
    pub reason: String,
}

impl fmt::Display for ListenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "listen: {}", self.reason)
        } else {
            write!(f, "listen: line {}: {}", self.line, self.reason)
        }
    }
}

fn err<T>(line: usize, reason: impl Into<String>) -> Result<T, ListenError> {
    Err(ListenError { line, reason: reason.into() })
}

fn valid_name(n: &str) -> bool {
    !n.is_empty() && n.len() <= 255 && n.bytes().all(|c| c.is_ascii_alphanumeric() || b"_.-".contains(&c))
}

fn decimal(s: &str, max: u64) -> Option<u64> {
    if s.is_empty() || s.len() > 10 || !s.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    s.parse::<u64>().ok().filter(|&n| n <= max)
}

/// `HOST:PORT` with HOST an IPv4 literal or `[IPv6]`.
fn inet(s: &str) -> Result<SocketAddr, String> {
    let (host, port) = if let Some(rest) = s.strip_prefix('[') {
        let Some((h, p)) = rest.split_once("]:") else {
            return Err(format!("expected [IPv6]:PORT: {s}"));
        };
        let ip: Ipv6Addr = h.parse().map_err(|_| format!("not an IPv6 address: {h}"))?;
        (IpAddr::V6(ip), p)
    } else {
        let Some((h, p)) = s.rsplit_once(':') else {
            return Err(format!("expected HOST:PORT: {s}"));
        };
        let ip: Ipv4Addr = h.parse().map_err(|_| format!("not an IPv4 address (IPv6 goes in brackets): {h}"))?;
        (IpAddr::V4(ip), p)
    };
    let port = decimal(port, 65535).filter(|&p| p > 0).ok_or_else(|| format!("bad port: {port}"))?;
    Ok(SocketAddr::new(host, port as u16))
}

fn unix_path(s: &str) -> Result<Vec<u8>, String> {
    if s.is_empty() {
        return Err("empty unix socket path".into());
    }
    if s.len() > MAX_UNIX_PATH {
        return Err(format!("unix socket path longer than {MAX_UNIX_PATH} bytes"));
    }
    Ok(s.as_bytes().to_vec())
}

fn address(word: &str) -> Result<Address, String> {
    let Some((kind, rest)) = word.split_once(':') else {
        return Err(format!("expected tcp:, udp:, unix: or unixgram: address: {word}"));
    };
    match kind {
        "tcp" => inet(rest).map(Address::Tcp),
        "udp" => inet(rest).map(Address::Udp),
        "unix" => unix_path(rest).map(Address::Unix),
        "unixgram" => unix_path(rest).map(Address::UnixGram),
        _ => Err(format!("unknown address type: {kind}")),
    }
}

fn owner(v: &str) -> Option<Owner> {
    let ok = |s: &str| !s.is_empty() && s.len() <= 32 && s.bytes().all(|c| c.is_ascii_graphic() && c != b':');
    let (user, group) = match v.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (v, None),
    };
    (ok(user) && group.is_none_or(ok)).then(|| Owner { user: user.into(), group: group.map(Into::into) })
}

fn parse_line(line: usize, text: &str) -> Result<Option<Socket>, ListenError> {
    let mut words = text.split_ascii_whitespace().take_while(|w| !w.starts_with('#'));
    let Some(first) = words.next() else { return Ok(None) };
    // NAME= only when what precedes `=` has no `:`, so a path holding `=`
    // (`unix:/run/a=b`) stays a path.
    let (name, addr) = match first.split_once('=') {
        Some((n, a)) if !n.contains(':') => {
            if !valid_name(n) {
                return err(line, format!("bad name (1-255 of A-Z a-z 0-9 _ . -): {n}"));
            }
            (Some(n.to_string()), a)
        }
        _ => (None, first),
    };
    let address = address(addr).or_else(|r| err(line, r))?;
    let mut s = Socket::plain(line, name, address);
    let mut seen: Vec<&str> = Vec::new();
    for w in words {
        let (key, value) = match w.split_once('=') {
            Some((k, v)) => (k, Some(v)),
            None => (w, None),
        };
        if seen.contains(&key) {
            return err(line, format!("option given twice: {key}"));
        }
        seen.push(key);
        let needs = |want: bool| -> Result<(), ListenError> {
            match (want, value) {
                (true, None) => err(line, format!("option needs a value: {key}=")),
                (false, Some(_)) => err(line, format!("option takes no value: {key}")),
                _ => Ok(()),
            }
        };
        let v = value.unwrap_or("");
        match key {
            "backlog" => {
                needs(true)?;
                if !s.address.is_stream() {
                    return err(line, "backlog is for tcp: and unix: sockets");
                }
                s.backlog = decimal(v, 65535)
                    .filter(|&n| n > 0)
                    .ok_or_else(|| ListenError { line, reason: format!("bad backlog (1-65535): {v}") })?
                    as u32;
            }
            "reuseport" => {
                needs(false)?;
                if s.address.is_unix() {
                    return err(line, "reuseport is for tcp: and udp: sockets");
                }
                s.reuseport = true;
            }
            "v6only" => {
                needs(false)?;
                if !matches!(&s.address, Address::Tcp(a) | Address::Udp(a) if a.is_ipv6()) {
                    return err(line, "v6only is for IPv6 addresses");
                }
                s.v6only = true;
            }
            "mode" => {
                needs(true)?;
                if !s.address.is_unix() {
                    return err(line, "mode is for unix: and unixgram: sockets");
                }
                let m = (!v.is_empty() && v.len() <= 4 && v.bytes().all(|c| (b'0'..=b'7').contains(&c)))
                    .then(|| u32::from_str_radix(v, 8).ok())
                    .flatten()
                    .filter(|&m| m <= 0o777);
                s.mode = Some(
                    m.ok_or_else(|| ListenError { line, reason: format!("bad mode (octal, at most 0777): {v}") })?,
                );
            }
            "owner" => {
                needs(true)?;
                if !s.address.is_unix() {
                    return err(line, "owner is for unix: and unixgram: sockets");
                }
                s.owner = Some(
                    owner(v).ok_or_else(|| ListenError { line, reason: format!("bad owner (USER[:GROUP]): {v}") })?,
                );
            }
            "fd" => {
                needs(true)?;
                if v != "0" {
                    return err(line, format!("fd must be 0 (stdin and stdout): {v}"));
                }
                s.stdio = true;
            }
            _ => return err(line, format!("unknown option: {w}")),
        }
    }
    Ok(Some(s))
}

/// Parses the whole `listen` file: the sockets in file order, or the first
/// line that cannot be used.
pub fn parse(text: &[u8]) -> Result<Vec<Socket>, ListenError> {
    let mut out: Vec<Socket> = Vec::new();
    for (i, raw) in text.split(|&b| b == b'\n').enumerate() {
        let line = i + 1;
        let Ok(t) = std::str::from_utf8(raw) else {
            return err(line, "not UTF-8");
        };
        let Some(s) = parse_line(line, t)? else { continue };
        if let Some(other) = out.iter().find(|o| o.address == s.address) {
            return err(line, format!("same address as line {}", other.line));
        }
        if out.len() == MAX_SOCKETS {
            return err(line, format!("more than {MAX_SOCKETS} sockets"));
        }
        out.push(s);
    }
    if out.is_empty() {
        return err(0, "no socket");
    }
    if let Some(s) = out.iter().find(|s| s.stdio) {
        if out.len() > 1 {
            return err(s.line, "fd=0 needs to be the only socket");
        }
    }
    Ok(out)
}

/// The descriptors `./run` gets, in file order (0 for `fd=0`).
pub fn fds(sockets: &[Socket]) -> Vec<i32> {
    if sockets.iter().any(|s| s.stdio) {
        return vec![0];
    }
    (FIRST_FD..).take(sockets.len()).collect()
}

/// `notification-fd` N must not be one of the sockets' descriptors: the
/// error for the socket that would take fd N.
pub fn clash(sockets: &[Socket], notification_fd: Option<i32>) -> Option<ListenError> {
    let n = notification_fd?;
    let i = fds(sockets).iter().position(|&fd| fd == n)?;
    Some(ListenError { line: sockets[i].line, reason: format!("fd {n} is also notification-fd") })
}

/// `LISTEN_FDNAMES`: the names joined by `:`.
pub fn fd_names(sockets: &[Socket]) -> String {
    sockets.iter().map(Socket::fd_name).collect::<Vec<_>>().join(":")
}

/// How to bind `s` (a relative unix path is relative to the current
/// directory: runsv's is the service directory).
pub fn spec(s: &Socket) -> unix::socket::Spec {
    use std::os::unix::ffi::OsStrExt;
    use unix::socket::{Addr, Kind, Spec};
    let path = |p: &[u8]| std::path::PathBuf::from(std::ffi::OsStr::from_bytes(p));
    let (addr, kind) = match &s.address {
        Address::Tcp(a) => (Addr::Inet(*a), Kind::Stream),
        Address::Udp(a) => (Addr::Inet(*a), Kind::Datagram),
        Address::Unix(p) => (Addr::Unix(path(p)), Kind::Stream),
        Address::UnixGram(p) => (Addr::Unix(path(p)), Kind::Datagram),
    };
    Spec {
        addr,
        kind,
        backlog: s.backlog,
        reuseport: s.reuseport,
        v6only: s.v6only,
        mode: s.mode,
        owner: s.owner.as_ref().map(|o| (o.user.clone(), o.group.clone())),
    }
}

/// A socket of `listen` and the descriptor runsv holds for it.
#[derive(Debug)]
pub struct Bound {
    pub socket: Socket,
    pub fd: std::os::fd::OwnedFd,
}

/// Makes `held` the sockets of `want`, in `want`'s order: a socket whose
/// address and options did not change keeps its descriptor (and the
/// clients queued on it); one whose options changed is closed and bound
/// anew; new ones are bound; those no longer wanted are closed. On error
/// (the line and why) `held` keeps what could be kept, and the caller
/// holds the service back until the file is fixed.
pub fn rebind(held: &mut Vec<Bound>, want: Vec<Socket>) -> Result<(), ListenError> {
    let mut next: Vec<Bound> = Vec::with_capacity(want.len());
    for s in want {
        let old = held.iter().position(|b| b.socket.address == s.address).map(|i| held.remove(i));
        let fd = match old {
            Some(b) if spec(&b.socket) == spec(&s) => b.fd,
            old => {
                // Same address, other options: the old socket must go
                // first, or binding the address again fails.
                drop(old);
                match unix::socket::bind(&spec(&s)) {
                    Ok(fd) => fd,
                    Err(e) => {
                        held.append(&mut next);
                        return err(s.line, format!("{}: {e}", s.address));
                    }
                }
            }
        };
        next.push(Bound { socket: s, fd });
    }
    *held = next;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{MetadataExt, PermissionsExt};

    fn one(line: &str) -> Socket {
        let mut v = parse(line.as_bytes()).unwrap_or_else(|e| panic!("{line}: {e}"));
        assert_eq!(v.len(), 1);
        v.remove(0)
    }

    fn bad(text: &str) -> String {
        parse(text.as_bytes()).expect_err(text).to_string()
    }

    #[test]
    fn addresses() {
        assert_eq!(one("tcp:127.0.0.1:80").address, Address::Tcp("127.0.0.1:80".parse().unwrap()));
        assert_eq!(one("udp:[::1]:53").address, Address::Udp("[::1]:53".parse().unwrap()));
        assert_eq!(one("unix:/run/a.sock").address, Address::Unix(b"/run/a.sock".to_vec()));
        assert_eq!(one("unixgram:rel/g").address, Address::UnixGram(b"rel/g".to_vec()));
        assert_eq!(one("unix:/run/a=b").name, None);
    }

    #[test]
    fn names_options_and_comments() {
        let text =
            "# web\n\n  http=tcp:127.0.0.1:8080 backlog=16 reuseport # fast\nctl=unix:c.sock mode=0660 owner=www:adm\n";
        let v = parse(text.as_bytes()).unwrap();
        assert_eq!(v.len(), 2);
        assert_eq!((v[0].line, v[0].name.as_deref(), v[0].backlog, v[0].reuseport), (3, Some("http"), 16, true));
        assert_eq!((v[1].line, v[1].mode), (4, Some(0o660)));
        assert_eq!(v[1].owner, Some(Owner { user: "www".into(), group: Some("adm".into()) }));
        assert_eq!(fd_names(&v), "http:ctl");
        assert_eq!(fds(&v), vec![3, 4]);
        assert!(one("tcp:[::]:1 v6only").v6only);
        assert_eq!(one("tcp:127.0.0.1:1").backlog, DEFAULT_BACKLOG);
        let s = one("unix:s fd=0");
        assert!(s.stdio);
        assert_eq!(fds(&[s]), vec![0]);
        assert_eq!(fd_names(&[one("udp:127.0.0.1:9")]), "unknown");
    }

    #[test]
    fn errors_name_the_line_and_reason() {
        assert_eq!(bad(""), "listen: no socket");
        assert_eq!(bad("# only\n"), "listen: no socket");
        assert_eq!(bad("tcp:127.0.0.1:1\nfoo"), "listen: line 2: expected tcp:, udp:, unix: or unixgram: address: foo");
        assert_eq!(bad("sctp:1.2.3.4:5"), "listen: line 1: unknown address type: sctp");
        assert_eq!(bad("tcp:localhost:80"), "listen: line 1: not an IPv4 address (IPv6 goes in brackets): localhost");
        assert_eq!(bad("tcp:::1:80"), "listen: line 1: not an IPv4 address (IPv6 goes in brackets): ::1");
        assert_eq!(bad("tcp:[::1]80"), "listen: line 1: expected [IPv6]:PORT: [::1]80");
        assert_eq!(bad("tcp:1.2.3.4:0"), "listen: line 1: bad port: 0");
        assert_eq!(bad("tcp:1.2.3.4:65536"), "listen: line 1: bad port: 65536");
        assert_eq!(bad("tcp:1.2.3.4"), "listen: line 1: expected HOST:PORT: 1.2.3.4");
        assert_eq!(bad("a b=tcp:1.2.3.4:5"), "listen: line 1: expected tcp:, udp:, unix: or unixgram: address: a");
        assert_eq!(bad("a/b=tcp:1.2.3.4:5"), "listen: line 1: bad name (1-255 of A-Z a-z 0-9 _ . -): a/b");
        assert_eq!(bad("tcp:1.2.3.4:5 backlog=0"), "listen: line 1: bad backlog (1-65535): 0");
        assert_eq!(bad("tcp:1.2.3.4:5 backlog"), "listen: line 1: option needs a value: backlog=");
        assert_eq!(bad("tcp:1.2.3.4:5 reuseport=1"), "listen: line 1: option takes no value: reuseport");
        assert_eq!(bad("tcp:1.2.3.4:5 reuseport reuseport"), "listen: line 1: option given twice: reuseport");
        assert_eq!(bad("udp:1.2.3.4:5 backlog=3"), "listen: line 1: backlog is for tcp: and unix: sockets");
        assert_eq!(bad("tcp:1.2.3.4:5 v6only"), "listen: line 1: v6only is for IPv6 addresses");
        assert_eq!(bad("tcp:1.2.3.4:5 mode=0600"), "listen: line 1: mode is for unix: and unixgram: sockets");
        assert_eq!(bad("unix:a mode=0800"), "listen: line 1: bad mode (octal, at most 0777): 0800");
        assert_eq!(bad("unix:a mode=1777"), "listen: line 1: bad mode (octal, at most 0777): 1777");
        assert_eq!(bad("unix:a owner=:g"), "listen: line 1: bad owner (USER[:GROUP]): :g");
        assert_eq!(bad("unix:a reuseport"), "listen: line 1: reuseport is for tcp: and udp: sockets");
        assert_eq!(bad("unix:a fd=1"), "listen: line 1: fd must be 0 (stdin and stdout): 1");
        assert_eq!(bad("unix:a nodelay"), "listen: line 1: unknown option: nodelay");
        assert_eq!(bad("unix:a\nunix:b fd=0"), "listen: line 2: fd=0 needs to be the only socket");
        assert_eq!(bad("unix:a\n\nunix:a"), "listen: line 3: same address as line 1");
        assert_eq!(bad("unix:"), "listen: line 1: empty unix socket path");
        assert!(bad(&format!("unix:/{}", "x".repeat(107))).contains("longer than 107"));
        assert_eq!(
            bad("tcp:1.2.3.4:5\n\u{0}\u{ff}").as_str(),
            "listen: line 2: expected tcp:, udp:, unix: or unixgram: address: \u{0}\u{ff}"
        );
        let many: String = (1..=65).map(|p| format!("tcp:127.0.0.1:{p}\n")).collect();
        assert_eq!(bad(&many), "listen: line 65: more than 64 sockets");
    }

    #[test]
    fn notification_fd_clash() {
        let v = parse(b"tcp:127.0.0.1:1\nx=tcp:127.0.0.1:2\n").unwrap();
        assert_eq!(clash(&v, None), None);
        assert_eq!(clash(&v, Some(5)), None);
        assert_eq!(clash(&v, Some(4)).unwrap().to_string(), "listen: line 2: fd 4 is also notification-fd");
    }

    #[test]
    fn rebind_keeps_unchanged_sockets_and_reports_failures() {
        use std::os::fd::AsRawFd;
        let d = tempfile::tempdir().unwrap();
        let path = |n: &str| d.path().join(n).to_str().unwrap().to_string();
        let mut held = Vec::new();
        let text = format!("a=unix:{}\nunix:{} mode=0600\n", path("a"), path("b"));
        rebind(&mut held, parse(text.as_bytes()).unwrap()).unwrap();
        assert_eq!(held.len(), 2);
        let a_fd = held[0].fd.as_raw_fd();
        let a_ino = std::fs::metadata(path("a")).unwrap().ino();
        // Renamed a, changed b's mode, added c.
        let text = format!("x=unix:{}\nunix:{} mode=0644\nunix:{}\n", path("a"), path("b"), path("c"));
        rebind(&mut held, parse(text.as_bytes()).unwrap()).unwrap();
        assert_eq!(held.len(), 3);
        assert_eq!((held[0].fd.as_raw_fd(), held[0].socket.fd_name()), (a_fd, "x"));
        assert_eq!(std::fs::metadata(path("a")).unwrap().ino(), a_ino);
        assert_eq!(std::fs::metadata(path("b")).unwrap().permissions().mode() & 0o777, 0o644);
        // A regular file where a socket should go: the line is named.
        std::fs::write(path("d"), b"").unwrap();
        let text = format!("unix:{}\nunix:{}\n", path("a"), path("d"));
        let e = rebind(&mut held, parse(text.as_bytes()).unwrap()).unwrap_err();
        assert_eq!(e.to_string(), format!("listen: line 2: unix:{0}: {0} exists and is not a socket", path("d")));
        assert!(held.iter().any(|b| b.fd.as_raw_fd() == a_fd));
        rebind(&mut held, parse(format!("unix:{}", path("c")).as_bytes()).unwrap()).unwrap();
        assert_eq!(held.len(), 1);
    }
}

#[cfg(test)]
mod props {
    use super::*;
    use proptest::prelude::*;

    fn socket() -> impl Strategy<Value = (String, Socket)> {
        let inet = (any::<bool>(), any::<[u8; 4]>(), any::<[u16; 8]>(), 1u16..).prop_map(|(v4, a, b, port)| {
            if v4 {
                SocketAddr::from((a, port))
            } else {
                SocketAddr::from((Ipv6Addr::from(b), port))
            }
        });
        let address = prop_oneof![
            inet.clone().prop_map(Address::Tcp),
            inet.prop_map(Address::Udp),
            "[a-z/._=]{1,40}".prop_map(|p| Address::Unix(p.into_bytes())),
            "[a-z/._]{1,40}".prop_map(|p| Address::UnixGram(p.into_bytes())),
        ];
        (
            proptest::option::of("[A-Za-z0-9_.-]{1,20}"),
            address,
            1u32..=65535,
            any::<bool>(),
            any::<bool>(),
            0u32..=0o777,
        )
            .prop_map(|(name, address, backlog, flag, flag2, mode)| {
                let mut s = Socket::plain(0, name, address);
                let mut text = match &s.name {
                    Some(n) => format!("{n}={}", s.address),
                    None => s.address.to_string(),
                };
                if s.address.is_stream() && flag {
                    s.backlog = backlog;
                    text += &format!(" backlog={backlog}");
                }
                if !s.address.is_unix() && flag2 {
                    s.reuseport = true;
                    text += " reuseport";
                }
                if matches!(&s.address, Address::Tcp(a) | Address::Udp(a) if a.is_ipv6()) && flag {
                    s.v6only = true;
                    text += " v6only";
                }
                if s.address.is_unix() && flag2 {
                    s.mode = Some(mode);
                    text += &format!(" mode={mode:o}");
                }
                (text, s)
            })
    }

    proptest! {
        #[test]
        fn never_panics_and_errors_name_a_real_line(text in proptest::collection::vec(any::<u8>(), 0..300)) {
            let lines = text.split(|&b| b == b'\n').count();
            if let Err(e) = parse(&text) {
                prop_assert!(e.line <= lines);
                prop_assert!(!e.reason.is_empty());
            }
        }

        #[test]
        fn written_sockets_parse_back(items in proptest::collection::vec(socket(), 1..6), blank in any::<bool>()) {
            let mut text = String::new();
            let mut want = Vec::new();
            for (t, mut s) in items {
                if want.iter().any(|w: &Socket| w.address == s.address) {
                    continue;
                }
                if blank {
                    text += "  # comment\n";
                }
                text += &t;
                text += "\n";
                s.line = text.lines().count();
                want.push(s);
            }
            prop_assert_eq!(parse(text.as_bytes()).unwrap(), want);
        }
    }
}
