//! Accounts: the `-u`/`-U` SPEC grammar, its lookups, and dropping
//! privileges.
//!
//! A SPEC is `user`, `user:group[:group...]` or `:uid:gid[:gid...]`. Names
//! are looked up as `getpwnam`/`getgrnam` would ([`accounts`]), so after `-/`
//! the lookups read the new root's `/etc/nsswitch.conf`, `/etc/passwd` and
//! `/etc/group`. `/etc/group` memberships are never added: the
//! supplementary list is exactly the listed groups, or the primary group.

use std::io;

use nix::unistd::{self, Gid, Uid};

use crate::accounts::{self, Lookup};
use crate::Fatal;

/// At most this many groups are taken from a SPEC (runit's limit).
pub const MAX_GROUPS: usize = 60;

/// A resolved account: uid, then the gids (the first one is the gid; all of
/// them form the supplementary list). Never empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ids {
    pub uid: libc::uid_t,
    pub gids: Vec<libc::gid_t>,
}

/// Parses the numeric form after its leading `:` (`uid:gid[:gid...]`).
///
/// Every field must be a non-empty decimal number below 2^32 − 1, and at
/// least one gid is required. runit reads an empty field as 0 (so `:12:`
/// silently meant gid 0, root's group); we refuse it instead.
pub fn parse_numeric(s: &[u8]) -> Option<Ids> {
    let mut fields = s.split(|&b| b == b':');
    let uid = number(fields.next()?)?;
    let gids: Vec<libc::gid_t> = fields.map(number).collect::<Option<_>>()?;
    if gids.is_empty() || gids.len() > MAX_GROUPS {
        return None;
    }
    Some(Ids { uid, gids })
}

pub(crate) fn number(s: &[u8]) -> Option<u32> {
    if s.is_empty() || s.len() > 10 || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let n = s.iter().fold(0u64, |n, &d| n * 10 + u64::from(d - b'0'));
    // (uid_t)-1 means "unchanged" to the set*id calls: never a real id.
    (n < u64::from(u32::MAX)).then_some(n as u32)
}

fn getpwnam(name: &[u8]) -> Lookup<(libc::uid_t, libc::gid_t)> {
    accounts::passwd(name)
}

fn getgrnam(name: &[u8]) -> Lookup<libc::gid_t> {
    accounts::group(name)
}

/// Resolves a `-u`/`-U` SPEC (the extended grammar).
pub fn resolve(spec: &[u8]) -> Result<Ids, Fatal> {
    let unknown = || Fatal::new(&[b"unknown user/group: ", spec]);
    let failed = |e: io::Error| Fatal::err(&[b"unable to get password/group file entry"], e);
    if let Some(numeric) = spec.strip_prefix(b":") {
        return parse_numeric(numeric).ok_or_else(|| Fatal::new(&[b"invalid uid/gids: ", numeric]));
    }
    let (user, groups) = match spec.iter().position(|&b| b == b':') {
        Some(i) => (&spec[..i], Some(&spec[i + 1..])),
        None => (spec, None),
    };
    let (uid, primary) = match getpwnam(user) {
        Lookup::Found(ids) => ids,
        Lookup::Missing => return Err(unknown()),
        Lookup::Failed(e) => return Err(failed(e)),
    };
    let Some(groups) = groups else {
        return Ok(Ids { uid, gids: vec![primary] });
    };
    let mut gids = Vec::new();
    // Like runit, names past the 60th are ignored.
    for name in groups.split(|&b| b == b':').take(MAX_GROUPS) {
        match getgrnam(name) {
            Lookup::Found(g) => gids.push(g),
            Lookup::Missing => return Err(unknown()),
            Lookup::Failed(e) => return Err(failed(e)),
        }
    }
    Ok(Ids { uid, gids })
}

/// Resolves a plain account name (the `setuidgid`/`envuidgid` grammar):
/// no `:` forms, the primary group only.
pub fn resolve_account(name: &[u8]) -> Result<Ids, Fatal> {
    match getpwnam(name) {
        Lookup::Found((uid, gid)) => Ok(Ids { uid, gids: vec![gid] }),
        Lookup::Missing => Err(Fatal::new(&[b"unknown account: ", name])),
        Lookup::Failed(e) => Err(Fatal::err(&[b"unable to get password file entry"], e)),
    }
}

/// Sets the supplementary groups, then the gid, then the uid, and checks
/// with `getresuid`/`getresgid`/`getgroups` that all of them really
/// changed; when root dropped to another uid, also checks that uid 0 cannot
/// be regained. Any failure is fatal before exec: the program never runs
/// with partly dropped privileges.
pub fn become_user(ids: &Ids) -> Result<(), Fatal> {
    let gid = Gid::from_raw(ids.gids[0]);
    let was_root = unistd::geteuid().is_root();
    let gids: Vec<Gid> = ids.gids.iter().map(|&g| Gid::from_raw(g)).collect();
    unistd::setgroups(&gids).map_err(|e| Fatal::err(&[b"unable to setgroups"], e.into()))?;
    unistd::setgid(gid).map_err(|e| Fatal::err(&[b"unable to setgid"], e.into()))?;
    unistd::setuid(Uid::from_raw(ids.uid)).map_err(|e| Fatal::err(&[b"unable to setuid"], e.into()))?;
    verify(ids, was_root)
}

fn verify(ids: &Ids, was_root: bool) -> Result<(), Fatal> {
    let not_dropped = |what: &[u8]| Fatal::new(&[b"unable to ", what, b": ids did not change as requested"]);
    let g = unistd::getresgid().map_err(|e| Fatal::err(&[b"unable to setgid"], e.into()))?;
    if [g.real, g.effective, g.saved].map(Gid::as_raw) != [ids.gids[0]; 3] {
        return Err(not_dropped(b"setgid"));
    }
    let mut list: Vec<libc::gid_t> = unistd::getgroups()
        .map_err(|e| Fatal::err(&[b"unable to setgroups"], e.into()))?
        .into_iter()
        .map(Gid::as_raw)
        .collect();
    let mut want = ids.gids.clone();
    list.sort_unstable();
    want.sort_unstable();
    if list != want {
        return Err(not_dropped(b"setgroups"));
    }
    let u = unistd::getresuid().map_err(|e| Fatal::err(&[b"unable to setuid"], e.into()))?;
    if [u.real, u.effective, u.saved].map(Uid::as_raw) != [ids.uid; 3] {
        return Err(not_dropped(b"setuid"));
    }
    // Success here is the failure we are looking for, and we stop at once.
    if was_root && ids.uid != 0 && unistd::setuid(Uid::from_raw(0)).is_ok() {
        return Err(Fatal::new(&[b"unable to setuid: uid 0 could be regained"]));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_specs_need_a_gid_and_digits_only() {
        assert_eq!(parse_numeric(b"65534:65534:100:5"), Some(Ids { uid: 65534, gids: vec![65534, 100, 5] }));
        assert_eq!(parse_numeric(b"0:0"), Some(Ids { uid: 0, gids: vec![0] }));
        assert_eq!(parse_numeric(b"12"), None);
        assert_eq!(parse_numeric(b"12:"), None);
        assert_eq!(parse_numeric(b":5"), None);
        assert_eq!(parse_numeric(b"1:2x"), None);
        assert_eq!(parse_numeric(b"1:-2"), None);
        assert_eq!(parse_numeric(b"4294967296:0"), None);
        assert_eq!(parse_numeric(b"4294967295:0"), None);
        assert_eq!(parse_numeric(b"4294967294:0"), Some(Ids { uid: 4294967294, gids: vec![0] }));
    }

    #[test]
    fn verification_rejects_ids_that_were_not_applied() {
        // Nothing was changed in this process, so every check must fail.
        let (uid, gid) = (unistd::getuid().as_raw(), unistd::getgid().as_raw());
        let f = verify(&Ids { uid, gids: vec![gid.wrapping_add(1)] }, false).unwrap_err();
        assert_eq!(f.text, b"unable to setgid: ids did not change as requested");
        let f = verify(&Ids { uid: uid.wrapping_add(1), gids: vec![gid] }, false).unwrap_err();
        assert!(
            f.text == b"unable to setgroups: ids did not change as requested"
                || f.text == b"unable to setuid: ids did not change as requested"
        );
    }

    #[test]
    fn at_most_sixty_numeric_groups() {
        let sixty = vec!["7"; 60].join(":");
        assert_eq!(parse_numeric(format!("1:{sixty}").as_bytes()).map(|i| i.gids.len()), Some(60));
        assert_eq!(parse_numeric(format!("1:{sixty}:7").as_bytes()), None);
    }
}
