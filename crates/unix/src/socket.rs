//! Listening sockets a supervisor binds once and hands to each process it
//! starts (socket activation), and the check for a waiting client.
//!
//! Every socket is created close-on-exec and blocking: the service gets its
//! own copy through `dup2`, and a blocking socket is what
//! sd_listen_fds(3) users expect. TCP sockets get `SO_REUSEADDR` so that a
//! restarted supervisor can bind again while old connections linger in
//! TIME_WAIT.

use nix::errno::Errno;
use nix::sys::socket::{self, sockopt, AddressFamily, Backlog, SockFlag, SockType, SockaddrIn, SockaddrIn6, UnixAddr};
use std::fmt;
use std::net::SocketAddr;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};

/// Where to bind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Addr {
    Inet(SocketAddr),
    Unix(PathBuf),
}

/// A stream (listening) or datagram socket.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Stream,
    Datagram,
}

/// Everything needed to bind one socket.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Spec {
    pub addr: Addr,
    pub kind: Kind,
    pub backlog: u32,
    pub reuseport: bool,
    pub v6only: bool,
    /// Permissions of a unix socket file.
    pub mode: Option<u32>,
    /// `(user, group)` names or numeric ids for a unix socket file.
    pub owner: Option<(String, Option<String>)>,
}

impl Spec {
    pub fn new(addr: Addr, kind: Kind) -> Spec {
        Spec { addr, kind, backlog: 1024, reuseport: false, v6only: false, mode: None, owner: None }
    }
}

/// Why a socket could not be set up; `Display` gives the text after
/// `unable to ...`-style prefixes, in runit's errno wording.
#[derive(Debug, PartialEq, Eq)]
pub enum BindError {
    /// A system call failed: which step, and the errno.
    Sys(&'static str, Errno),
    /// A unix socket path holds something that is not a socket.
    NotSocket(PathBuf),
    UnknownUser(String),
    UnknownGroup(String),
}

impl fmt::Display for BindError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BindError::Sys(what, e) => write!(f, "unable to {what}: {}", crate::errtext::text(*e as i32)),
            BindError::NotSocket(p) => write!(f, "{} exists and is not a socket", p.display()),
            BindError::UnknownUser(u) => write!(f, "unknown user: {u}"),
            BindError::UnknownGroup(g) => write!(f, "unknown group: {g}"),
        }
    }
}

impl std::error::Error for BindError {}

fn sys<T>(what: &'static str, r: nix::Result<T>) -> Result<T, BindError> {
    r.map_err(|e| BindError::Sys(what, e))
}

/// Resolves `owner=USER[:GROUP]`: names or numeric ids; GROUP defaults to
/// USER's primary group.
pub fn resolve_owner(user: &str, group: Option<&str>) -> Result<(nix::unistd::Uid, nix::unistd::Gid), BindError> {
    use nix::unistd::{Gid, Group, Uid, User};
    let unknown_user = || BindError::UnknownUser(user.to_string());
    let pw = User::from_name(user).ok().flatten();
    let uid = match (&pw, user.parse::<u32>()) {
        (Some(pw), _) => pw.uid,
        (None, Ok(n)) => Uid::from_raw(n),
        (None, Err(_)) => return Err(unknown_user()),
    };
    let gid = match group {
        Some(g) => match (Group::from_name(g).ok().flatten(), g.parse::<u32>()) {
            (Some(gr), _) => gr.gid,
            (None, Ok(n)) => Gid::from_raw(n),
            (None, Err(_)) => return Err(BindError::UnknownGroup(g.to_string())),
        },
        None => match (&pw, User::from_uid(uid).ok().flatten()) {
            (Some(pw), _) => pw.gid,
            (None, Some(pw)) => pw.gid,
            (None, None) => return Err(unknown_user()),
        },
    };
    Ok((uid, gid))
}

/// Removes a leftover socket file at `path` (a previous holder's); refuses
/// to touch anything else.
pub fn remove_stale(path: &Path) -> Result<(), BindError> {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_socket() => match std::fs::remove_file(path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(BindError::Sys("unlink", Errno::from_raw(e.raw_os_error().unwrap_or(0)))),
        },
        Ok(_) => Err(BindError::NotSocket(path.to_path_buf())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(BindError::Sys("stat", Errno::from_raw(e.raw_os_error().unwrap_or(0)))),
    }
}

/// Binds (and for streams, listens on) one socket.
pub fn bind(spec: &Spec) -> Result<OwnedFd, BindError> {
    let ty = match spec.kind {
        Kind::Stream => SockType::Stream,
        Kind::Datagram => SockType::Datagram,
    };
    let fd = match &spec.addr {
        Addr::Inet(a) => {
            let family = if a.is_ipv4() { AddressFamily::Inet } else { AddressFamily::Inet6 };
            let fd = sys("create socket", socket::socket(family, ty, SockFlag::SOCK_CLOEXEC, None))?;
            if spec.kind == Kind::Stream {
                sys("set SO_REUSEADDR", socket::setsockopt(&fd, sockopt::ReuseAddr, &true))?;
            }
            if spec.reuseport {
                sys("set SO_REUSEPORT", socket::setsockopt(&fd, sockopt::ReusePort, &true))?;
            }
            if a.is_ipv6() {
                sys("set IPV6_V6ONLY", socket::setsockopt(&fd, sockopt::Ipv6V6Only, &spec.v6only))?;
            }
            match a {
                SocketAddr::V4(v4) => sys("bind", socket::bind(fd.as_raw_fd(), &SockaddrIn::from(*v4)))?,
                SocketAddr::V6(v6) => sys("bind", socket::bind(fd.as_raw_fd(), &SockaddrIn6::from(*v6)))?,
            }
            fd
        }
        Addr::Unix(path) => {
            remove_stale(path)?;
            let owner = match &spec.owner {
                Some((u, g)) => Some(resolve_owner(u, g.as_deref())?),
                None => None,
            };
            let fd = sys("create socket", socket::socket(AddressFamily::Unix, ty, SockFlag::SOCK_CLOEXEC, None))?;
            let addr = sys("bind", UnixAddr::new(path.as_os_str().as_bytes()))?;
            sys("bind", socket::bind(fd.as_raw_fd(), &addr))?;
            // Before listen(): nobody can connect yet, so no client ever
            // reaches the socket with the permissions the umask gave it.
            let done = (|| {
                if let Some(m) = spec.mode {
                    use std::os::unix::fs::PermissionsExt;
                    std::fs::set_permissions(path, std::fs::Permissions::from_mode(m))
                        .map_err(|e| BindError::Sys("chmod", Errno::from_raw(e.raw_os_error().unwrap_or(0))))?;
                }
                if let Some((uid, gid)) = owner {
                    sys("chown", nix::unistd::chown(path.as_path(), Some(uid), Some(gid)))?;
                }
                Ok(())
            })();
            if let Err(e) = done {
                let _ = std::fs::remove_file(path);
                return Err(e);
            }
            fd
        }
    };
    if spec.kind == Kind::Stream {
        let n = i32::try_from(spec.backlog).unwrap_or(i32::MAX);
        // Above the C library's SOMAXCONN: ask for the kernel's limit
        // (net.core.somaxconn), which caps any backlog anyway.
        let backlog = Backlog::new(n).unwrap_or(Backlog::MAXALLOWABLE);
        if let Err(e) = socket::listen(&fd, backlog) {
            if let Addr::Unix(p) = &spec.addr {
                let _ = std::fs::remove_file(p);
            }
            return Err(BindError::Sys("listen", e));
        }
    }
    Ok(fd)
}

/// Whether a connection (stream) or datagram is waiting on `fd`, without
/// blocking. A pending error (a UDP socket's ICMP report) counts too: it
/// keeps `poll` returning until someone reads it, so the service should.
pub fn pending(fd: impl AsFd) -> bool {
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    let mut p = [PollFd::new(fd.as_fd(), PollFlags::POLLIN)];
    let wake = PollFlags::POLLIN | PollFlags::POLLERR | PollFlags::POLLHUP;
    matches!(poll(&mut p, PollTimeout::ZERO), Ok(n) if n > 0) && p[0].revents().is_some_and(|r| r.intersects(wake))
}

/// The address a bound inet socket got (for tests binding port 0).
pub fn local_port(fd: impl AsFd) -> Option<u16> {
    let raw = fd.as_fd().as_raw_fd();
    if let Ok(a) = socket::getsockname::<SockaddrIn>(raw) {
        return Some(a.port());
    }
    socket::getsockname::<SockaddrIn6>(raw).ok().map(|a| a.port())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn tcp_connection_is_pending_until_accepted() {
        let fd = bind(&Spec::new(Addr::Inet("127.0.0.1:0".parse().unwrap()), Kind::Stream)).unwrap();
        let port = local_port(&fd).unwrap();
        assert!(!pending(&fd));
        let mut c = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        assert!(pending(&fd));
        let l = std::net::TcpListener::from(fd);
        let (mut s, _) = l.accept().unwrap();
        assert!(!pending(&l));
        c.write_all(b"x").unwrap();
        let mut b = [0u8; 1];
        s.read_exact(&mut b).unwrap();
        assert_eq!(&b, b"x");
    }

    #[test]
    fn ipv6_with_v6only_and_reuseport() {
        let mut spec = Spec::new(Addr::Inet("[::1]:0".parse().unwrap()), Kind::Stream);
        spec.v6only = true;
        spec.reuseport = true;
        let fd = bind(&spec).unwrap();
        assert_eq!(socket::getsockopt(&fd, sockopt::Ipv6V6Only), Ok(true));
        assert_eq!(socket::getsockopt(&fd, sockopt::ReusePort), Ok(true));
        let port = local_port(&fd).unwrap();
        let _c = std::net::TcpStream::connect(("::1", port)).unwrap();
        assert!(pending(&fd));
        // A second socket on the same port is allowed with reuseport.
        spec.addr = Addr::Inet(format!("[::1]:{port}").parse().unwrap());
        bind(&spec).unwrap();
    }

    #[test]
    fn port_in_use_is_an_error() {
        let fd = bind(&Spec::new(Addr::Inet("127.0.0.1:0".parse().unwrap()), Kind::Stream)).unwrap();
        let port = local_port(&fd).unwrap();
        let again = bind(&Spec::new(Addr::Inet(format!("127.0.0.1:{port}").parse().unwrap()), Kind::Stream));
        let e = again.unwrap_err();
        assert_eq!(e, BindError::Sys("bind", Errno::EADDRINUSE));
        assert_eq!(e.to_string(), "unable to bind: address already used");
    }

    #[test]
    fn udp_datagram_is_pending() {
        let fd = bind(&Spec::new(Addr::Inet("127.0.0.1:0".parse().unwrap()), Kind::Datagram)).unwrap();
        let port = local_port(&fd).unwrap();
        assert!(!pending(&fd));
        let c = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        c.send_to(b"hi", ("127.0.0.1", port)).unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while !pending(&fd) {
            assert!(std::time::Instant::now() < deadline);
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }

    #[test]
    fn unix_socket_mode_stale_and_not_a_socket() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("s");
        let mut spec = Spec::new(Addr::Unix(p.clone()), Kind::Stream);
        spec.mode = Some(0o660);
        let first = bind(&spec).unwrap();
        let m = std::fs::symlink_metadata(&p).unwrap();
        assert!(m.file_type().is_socket());
        assert_eq!(m.permissions().mode() & 0o7777, 0o660);
        // A socket file left behind (its holder gone) is replaced.
        drop(first);
        let second = bind(&spec).unwrap();
        let _c = std::os::unix::net::UnixStream::connect(&p).unwrap();
        assert!(pending(&second));
        // Anything else at the path is refused and left alone.
        let f = d.path().join("f");
        std::fs::write(&f, b"data").unwrap();
        let e = bind(&Spec::new(Addr::Unix(f.clone()), Kind::Datagram)).unwrap_err();
        assert_eq!(e.to_string(), format!("{} exists and is not a socket", f.display()));
        assert_eq!(std::fs::read(&f).unwrap(), b"data");
    }

    #[test]
    fn unixgram_datagram_is_pending() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("g");
        let fd = bind(&Spec::new(Addr::Unix(p.clone()), Kind::Datagram)).unwrap();
        let c = std::os::unix::net::UnixDatagram::unbound().unwrap();
        c.send_to(b"x", &p).unwrap();
        assert!(pending(&fd));
    }

    #[test]
    fn owner_resolution() {
        let (uid, gid) = resolve_owner("root", None).unwrap();
        assert_eq!((uid.as_raw(), gid.as_raw()), (0, 0));
        let (uid, gid) = resolve_owner("0", Some("12345")).unwrap();
        assert_eq!((uid.as_raw(), gid.as_raw()), (0, 12345));
        assert_eq!(resolve_owner("no-such-user-x", None), Err(BindError::UnknownUser("no-such-user-x".into())));
        assert_eq!(
            resolve_owner("root", Some("no-such-group-x")),
            Err(BindError::UnknownGroup("no-such-group-x".into()))
        );
    }
}
