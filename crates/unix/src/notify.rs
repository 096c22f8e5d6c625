//! The sd_notify(3) datagram socket: bound by the supervisor, written to by
//! the service, every datagram carrying the sender's kernel-checked
//! credentials (`SO_PASSCRED` / `SCM_CREDENTIALS`), so that the supervisor
//! can ignore messages from processes that are not the service's.

use nix::errno::Errno;
use nix::sys::socket::{self, sockopt, AddressFamily, ControlMessageOwned, MsgFlags, SockFlag, SockType, UnixAddr};
use std::io::IoSliceMut;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// Largest datagram read; longer ones are cut (the kernel drops the rest).
pub const MAX_DATAGRAM: usize = 4096;

/// A bound notify socket (non-blocking, close-on-exec), removed from the
/// file system when dropped.
#[derive(Debug)]
pub struct NotifySocket {
    fd: OwnedFd,
    path: PathBuf,
}

/// One datagram and the pid of its sender (`None` when the kernel gave no
/// credentials, which `SO_PASSCRED` rules out on Linux).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Datagram {
    pub data: Vec<u8>,
    pub pid: Option<libc::pid_t>,
}

impl NotifySocket {
    /// Binds a datagram socket at `path` (a stale socket file there is
    /// replaced; anything else is an error), mode 0666: who may send is
    /// decided by the sender's credentials, not by the file mode.
    pub fn bind(path: &Path) -> Result<NotifySocket, crate::socket::BindError> {
        use crate::socket::BindError;
        let sys = |what: &'static str| move |e: Errno| BindError::Sys(what, e);
        crate::socket::remove_stale(path)?;
        let fd = socket::socket(
            AddressFamily::Unix,
            SockType::Datagram,
            SockFlag::SOCK_CLOEXEC | SockFlag::SOCK_NONBLOCK,
            None,
        )
        .map_err(sys("create socket"))?;
        socket::setsockopt(&fd, sockopt::PassCred, &true).map_err(sys("set SO_PASSCRED"))?;
        let addr = UnixAddr::new(path.as_os_str().as_bytes()).map_err(sys("bind"))?;
        socket::bind(fd.as_raw_fd(), &addr).map_err(sys("bind"))?;
        use std::os::unix::fs::PermissionsExt;
        if let Err(e) = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o666)) {
            let _ = std::fs::remove_file(path);
            return Err(BindError::Sys("chmod", Errno::from_raw(e.raw_os_error().unwrap_or(0))));
        }
        Ok(NotifySocket { fd, path: path.to_path_buf() })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads one waiting datagram; `None` when there is none.
    pub fn recv(&self) -> Option<Datagram> {
        let mut buf = vec![0u8; MAX_DATAGRAM];
        let mut cmsg = nix::cmsg_space!(libc::ucred);
        loop {
            let mut iov = [IoSliceMut::new(&mut buf)];
            let r = socket::recvmsg::<()>(self.fd.as_raw_fd(), &mut iov, Some(&mut cmsg), MsgFlags::MSG_CMSG_CLOEXEC);
            match r {
                Ok(msg) => {
                    let n = msg.bytes;
                    let mut pid = None;
                    if let Ok(cmsgs) = msg.cmsgs() {
                        for c in cmsgs {
                            if let ControlMessageOwned::ScmCredentials(cred) = c {
                                pid = Some(cred.pid());
                            }
                        }
                    }
                    buf.truncate(n);
                    return Some(Datagram { data: buf, pid });
                }
                Err(Errno::EINTR) => continue,
                Err(_) => return None,
            }
        }
    }
}

impl AsFd for NotifySocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl Drop for NotifySocket {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// The parent of `pid`, from `/proc/PID/stat`.
pub fn parent(pid: libc::pid_t) -> Option<libc::pid_t> {
    let stat = std::fs::read(format!("/proc/{pid}/stat")).ok()?;
    // `PID (COMM) STATE PPID ...`; COMM may hold `)` and blanks.
    let close = stat.iter().rposition(|&b| b == b')')?;
    let mut fields = stat[close + 1..].split(|&b| b == b' ').filter(|f| !f.is_empty());
    let _state = fields.next()?;
    std::str::from_utf8(fields.next()?).ok()?.parse().ok()
}

/// Whether `pid` is `ancestor` or one of its descendants (a process that
/// already ended, or was reparented away, is not).
pub fn is_descendant(pid: libc::pid_t, ancestor: libc::pid_t) -> bool {
    if ancestor <= 1 || pid <= 0 {
        return false;
    }
    let mut p = pid;
    // Bounded: a chain of parents is never longer than the pid space, and
    // the bound keeps a racing /proc from looping forever.
    for _ in 0..4096 {
        if p == ancestor {
            return true;
        }
        match parent(p) {
            Some(pp) if pp > 1 => p = pp,
            _ => return false,
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::net::UnixDatagram;

    #[test]
    fn datagrams_carry_the_senders_pid() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("notify");
        let s = NotifySocket::bind(&p).unwrap();
        assert_eq!(s.recv(), None);
        let c = UnixDatagram::unbound().unwrap();
        c.send_to(b"READY=1\n", &p).unwrap();
        let got = s.recv().unwrap();
        assert_eq!(got.data, b"READY=1\n");
        assert_eq!(got.pid, Some(std::process::id() as libc::pid_t));
        // From a child process: its own pid, a descendant of ours.
        let out = std::process::Command::new("python3")
            .args(["-c", "import socket,sys,os; s=socket.socket(socket.AF_UNIX,socket.SOCK_DGRAM); s.sendto(b'STATUS=x', sys.argv[1]); print(os.getpid())"])
            .arg(&p)
            .output()
            .unwrap();
        assert!(out.status.success());
        let child: libc::pid_t = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
        let got = s.recv().unwrap();
        assert_eq!((got.data.as_slice(), got.pid), (&b"STATUS=x"[..], Some(child)));
        drop(s);
        assert!(!p.exists(), "the socket file goes with the socket");
    }

    #[test]
    fn rebinding_replaces_a_stale_socket_but_not_a_file() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("notify");
        let first = NotifySocket::bind(&p).unwrap();
        std::mem::forget(first); // leaves the file behind, like a killed holder
        NotifySocket::bind(&p).unwrap();
        let f = d.path().join("file");
        std::fs::write(&f, b"").unwrap();
        assert!(NotifySocket::bind(&f).is_err());
    }

    #[test]
    fn descendants() {
        let me = std::process::id() as libc::pid_t;
        let mut child = std::process::Command::new("sleep").arg("10").spawn().unwrap();
        let c = child.id() as libc::pid_t;
        assert_eq!(parent(c), Some(me));
        assert!(is_descendant(c, me));
        assert!(is_descendant(me, me));
        assert!(!is_descendant(me, c));
        assert!(!is_descendant(c, 1));
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(!is_descendant(c, me));
    }
}
