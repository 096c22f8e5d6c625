//! Dependencies between services (opt-in): the `depends` file, the
//! `oneshot` flag, and the two records runsv publishes about them,
//! `supervise/waiting` and `supervise/oneshot`. runit's tools ignore all of
//! these files; a service directory without `depends` and `oneshot` is
//! supervised as runit does it.
//!
//! `depends` (in the service directory, or `log/depends` for the log
//! service) lists one dependency per line:
//!
//! ```text
//! # web needs its database up and ready, and would like the cache
//! db
//! cache soft
//! /etc/sv/queue
//! ```
//!
//! A NAME without `/` is an entry of the directory runsv was started in
//! (the services directory, e.g. `/etc/service`); a relative NAME with `/`
//! is taken from there too, an absolute one is that service directory.
//! `hard` (the default) may be written out. Blank lines and lines starting
//! with `#` are ignored; any other line that is not `NAME [soft|hard]` is
//! malformed: reported once and ignored.
//!
//! `supervise/waiting` exists while runsv holds `./run` back for its
//! dependencies: one line per reason, `WHY NAME`, where WHY is one of the
//! [`Why`] words; a dependency cycle is given as `cycle NAME` lines, in
//! order, starting with the service itself. `supervise/oneshot` exists
//! after a `oneshot` service's `./run` ended: `done @TAI64N` or
//! `failed @TAI64N` (when it ended); it is removed when `./run` starts.

use crate::layout::SuperviseDir;
use std::collections::HashSet;
use std::hash::Hash;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use unix::atomic::ReplaceError;
use unix::tai64n::Tai64n;

/// The dependency list of a service directory (or of `log/`).
pub const DEPENDS: &str = "depends";
/// Flag file: `./run` runs once per `sv up` (or boot) and is not restarted.
pub const ONESHOT: &str = "oneshot";
/// Under `supervise/`: what a held-back service waits for.
pub const WAITING: &str = "waiting";
/// Under `supervise/`: how a `oneshot` service's last `./run` ended.
pub const ONESHOT_RECORD: &str = "oneshot";
/// Largest `depends` file read; anything beyond is ignored (and reported).
pub const MAX_DEPENDS_LEN: usize = 64 * 1024;

/// One line of `depends`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Dep {
    /// As written: an entry of the services directory, or a path.
    pub name: Vec<u8>,
    /// `soft`: wait for it when it can come up, never stop because of it.
    pub soft: bool,
}

/// A line of `depends` that was ignored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Malformed {
    /// 1-based line number.
    pub line: usize,
    pub text: Vec<u8>,
    pub why: &'static str,
}

impl Malformed {
    /// `depends:3: unknown kind "sfot" (want soft or hard): db sfot`
    pub fn message(&self, file: &[u8]) -> Vec<u8> {
        let mut m = file.to_vec();
        m.push(b':');
        m.extend_from_slice(self.line.to_string().as_bytes());
        m.extend_from_slice(b": ");
        m.extend_from_slice(self.why.as_bytes());
        m.extend_from_slice(b": ");
        m.extend_from_slice(&self.text);
        m
    }
}

/// What a `depends` file says.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Depends {
    /// In file order, each NAME once (a repeated NAME is hard if any of
    /// its lines is).
    pub deps: Vec<Dep>,
    pub malformed: Vec<Malformed>,
}

impl Depends {
    pub fn hard(&self) -> impl Iterator<Item = &Dep> {
        self.deps.iter().filter(|d| !d.soft)
    }
}

fn is_space(c: &u8) -> bool {
    *c == b' ' || *c == b'\t' || *c == b'\r'
}

/// Parses the content of `depends`. Never fails: bad lines are listed.
pub fn parse(content: &[u8]) -> Depends {
    let mut out = Depends::default();
    for (i, raw) in content.split(|&c| c == b'\n').enumerate() {
        let line = raw;
        let words: Vec<&[u8]> = line.split(is_space).filter(|w| !w.is_empty()).collect();
        let Some(&first) = words.first() else { continue };
        if first.starts_with(b"#") {
            continue;
        }
        let bad = |why| Malformed { line: i + 1, text: line.trim_ascii().to_vec(), why };
        let soft = match words.get(1).copied() {
            None | Some(b"hard") => false,
            Some(b"soft") => true,
            Some(_) => {
                out.malformed.push(bad("unknown kind (want soft or hard)"));
                continue;
            }
        };
        if words.len() > 2 {
            out.malformed.push(bad("too many words (want NAME [soft])"));
            continue;
        }
        if first.contains(&0) {
            out.malformed.push(bad("NUL in name"));
            continue;
        }
        if first == b"." || first == b".." || first.split(|&c| c == b'/').any(|p| p == b"..") {
            out.malformed.push(bad("name must not be . or contain .."));
            continue;
        }
        match out.deps.iter_mut().find(|d| d.name == first) {
            Some(d) => d.soft &= soft,
            None => out.deps.push(Dep { name: first.to_vec(), soft }),
        }
    }
    out
}

/// Reads and parses `DIR/depends`: `Ok(None)` when there is none.
/// A file longer than [`MAX_DEPENDS_LEN`] is cut there, reported as a
/// malformed last line.
pub fn read(dir: &Path) -> io::Result<Option<Depends>> {
    use std::io::Read;
    let f = match std::fs::File::open(dir.join(DEPENDS)) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let mut buf = Vec::new();
    f.take(MAX_DEPENDS_LEN as u64 + 1).read_to_end(&mut buf)?;
    let long = buf.len() > MAX_DEPENDS_LEN;
    buf.truncate(MAX_DEPENDS_LEN);
    let mut d = parse(&buf);
    if long {
        let line = buf.iter().filter(|&&c| c == b'\n').count() + 1;
        d.malformed.push(Malformed { line, text: Vec::new(), why: "file too long, rest ignored" });
    }
    Ok(Some(d))
}

/// The service directory a dependency NAME stands for.
pub fn resolve(scan_dir: &Path, name: &[u8]) -> PathBuf {
    let p = Path::new(std::ffi::OsStr::from_bytes(name));
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        scan_dir.join(p)
    }
}

/// Finds a cycle through `start` in the graph given by `edges`: the path
/// `start, n1, ..., start` (length 1: `start, start`), or `None` when no
/// path leads from `start` back to it. Every node is expanded at most
/// once, so any graph (cycles elsewhere included) is searched in linear
/// time; the path returned is the first found depth-first, in edge order.
pub fn find_cycle<N, F>(start: &N, mut edges: F) -> Option<Vec<N>>
where
    N: Clone + Eq + Hash,
    F: FnMut(&N) -> Vec<N>,
{
    let mut seen: HashSet<N> = HashSet::new();
    // Each frame: a node on the current path and its remaining children.
    let mut stack: Vec<(N, std::vec::IntoIter<N>)> = vec![(start.clone(), edges(start).into_iter())];
    seen.insert(start.clone());
    while let Some((_, children)) = stack.last_mut() {
        match children.next() {
            Some(c) if c == *start => {
                let mut path: Vec<N> = stack.iter().map(|(n, _)| n.clone()).collect();
                path.push(c);
                return Some(path);
            }
            Some(c) => {
                if seen.insert(c.clone()) {
                    let next = edges(&c).into_iter();
                    stack.push((c, next));
                }
            }
            None => {
                stack.pop();
            }
        }
    }
    None
}

/// A service directory as a node of the dependency graph: its identity
/// (device and inode, so `web` and `/etc/sv/web` are one node) and the
/// name it was reached by, for messages.
#[derive(Clone, Debug)]
pub struct Node {
    pub id: (u64, u64),
    pub path: PathBuf,
    pub name: Vec<u8>,
}

impl PartialEq for Node {
    fn eq(&self, o: &Node) -> bool {
        self.id == o.id
    }
}
impl Eq for Node {}
impl Hash for Node {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        self.id.hash(h)
    }
}

impl Node {
    /// The node for an existing directory (symlinks followed).
    pub fn of(path: &Path, name: &[u8]) -> Option<Node> {
        use std::os::unix::fs::MetadataExt;
        let m = std::fs::metadata(path).ok().filter(|m| m.is_dir())?;
        Some(Node { id: (m.dev(), m.ino()), path: path.to_path_buf(), name: name.to_vec() })
    }
}

/// Most service directories [`Graph::read`] visits: a bound on the work
/// a runaway graph can cause.
const MAX_GRAPH: usize = 1000;

/// The part of the dependency graph reachable from one service directory,
/// hard and soft edges alike (a soft dependency waits as well, so it can
/// deadlock too), read from the `depends` files on disk once each.
/// Unreadable or missing files count as no dependencies.
#[derive(Debug)]
pub struct Graph {
    start: Option<Node>,
    edges: std::collections::HashMap<Node, Vec<Node>>,
    /// Every directory reached, existing or not (a missing one may appear
    /// and close a cycle), without `me`.
    pub dirs: Vec<PathBuf>,
}

impl Graph {
    /// Reads the graph from the service directory `me` (named `my_name`,
    /// its `depends` already read as `my_deps`), NAMEs resolved in
    /// `scan_dir`. (runsv reads it while watching, below.)
    #[cfg(test)]
    pub(crate) fn read(scan_dir: &Path, me: &Path, my_name: &[u8], my_deps: &Depends) -> Graph {
        Graph::read_watching(scan_dir, me, my_name, my_deps, &mut |_| {})
    }

    /// [`Graph::read`], calling `before_read` with each directory (but
    /// `me`) before its `depends` is read: a watcher set there misses no
    /// change made after the reading.
    pub fn read_watching(
        scan_dir: &Path,
        me: &Path,
        my_name: &[u8],
        my_deps: &Depends,
        before_read: &mut dyn FnMut(&Path),
    ) -> Graph {
        let start = Node::of(me, my_name);
        let mut g = Graph { start: start.clone(), edges: Default::default(), dirs: Vec::new() };
        let mut seen_dirs: HashSet<PathBuf> = HashSet::new();
        let mut todo: Vec<Node> = start.into_iter().collect();
        while let Some(n) = todo.pop() {
            if g.edges.contains_key(&n) || g.edges.len() >= MAX_GRAPH {
                continue;
            }
            let read_here;
            let deps = if g.start.as_ref() == Some(&n) {
                my_deps
            } else {
                before_read(&n.path);
                read_here = read(&n.path).ok().flatten().unwrap_or_default();
                &read_here
            };
            let mut out = Vec::with_capacity(deps.deps.len());
            for d in &deps.deps {
                let path = resolve(scan_dir, &d.name);
                let node = Node::of(&path, &d.name);
                if seen_dirs.insert(path.clone()) {
                    g.dirs.push(path);
                }
                if let Some(node) = node {
                    if !g.edges.contains_key(&node) {
                        todo.push(node.clone());
                    }
                    out.push(node);
                }
            }
            g.edges.insert(n, out);
        }
        g
    }

    /// The cycle through the start: the names along it, first and last
    /// the start's own name.
    pub fn cycle(&self) -> Option<Vec<Vec<u8>>> {
        let start = self.start.as_ref()?;
        let path = find_cycle(start, |n| self.edges.get(n).cloned().unwrap_or_default())?;
        // The last node equals `start` by identity; name it as the service.
        let last = path.len() - 1;
        Some(
            path.into_iter()
                .enumerate()
                .map(|(i, n)| if i == 0 || i == last { start.name.clone() } else { n.name })
                .collect(),
        )
    }
}

/// `web -> db -> web`
pub fn cycle_text(cycle: &[Vec<u8>]) -> Vec<u8> {
    cycle.join(&b" -> "[..])
}

/// Why a held-back service is still waiting for one dependency.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Why {
    /// Not (yet) up and ready.
    NotReady,
    /// An administrator wants it down (`sv down`); it is not started for us.
    WantedDown,
    /// No such service directory (yet).
    Missing,
    /// A `oneshot` that failed (hard dependencies only).
    Failed,
}

impl Why {
    pub fn word(self) -> &'static str {
        match self {
            Why::NotReady => "not-ready",
            Why::WantedDown => "wanted-down",
            Why::Missing => "missing",
            Why::Failed => "failed",
        }
    }

    fn from_word(w: &[u8]) -> Option<Why> {
        [Why::NotReady, Why::WantedDown, Why::Missing, Why::Failed].into_iter().find(|y| y.word().as_bytes() == w)
    }
}

/// The content of `supervise/waiting`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Waiting {
    pub deps: Vec<(Why, Vec<u8>)>,
    /// A dependency cycle through the service (without the repeated first
    /// name); empty when there is none.
    pub cycle: Vec<Vec<u8>>,
}

impl Waiting {
    pub fn is_empty(&self) -> bool {
        self.deps.is_empty() && self.cycle.is_empty()
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut v = Vec::new();
        for name in &self.cycle {
            v.extend_from_slice(b"cycle ");
            v.extend_from_slice(name);
            v.push(b'\n');
        }
        for (why, name) in &self.deps {
            v.extend_from_slice(why.word().as_bytes());
            v.push(b' ');
            v.extend_from_slice(name);
            v.push(b'\n');
        }
        v
    }

    /// Lines that are not understood are skipped (a newer runsv may add
    /// reasons).
    pub fn decode(b: &[u8]) -> Waiting {
        let mut w = Waiting::default();
        for line in b.split(|&c| c == b'\n').filter(|l| !l.is_empty()) {
            let Some(sp) = line.iter().position(|&c| c == b' ') else { continue };
            let (word, name) = (&line[..sp], line[sp + 1..].to_vec());
            if word == b"cycle" {
                w.cycle.push(name);
            } else if let Some(why) = Why::from_word(word) {
                w.deps.push((why, name));
            }
        }
        w
    }

    /// Names only, as `sv -j` lists them: `db`, `cache`.
    pub fn names(&self) -> impl Iterator<Item = &[u8]> {
        self.deps.iter().map(|(_, n)| n.as_slice())
    }
}

fn replace_error(dir: &SuperviseDir, tmp: &str, name: &str, e: ReplaceError) -> (Vec<u8>, Option<io::Error>) {
    match e {
        ReplaceError::Open(e) => ([b"unable to open ", &dir.name(tmp)[..]].concat(), Some(e)),
        ReplaceError::Write(Some(e)) => ([b"unable to write ", &dir.name(tmp)[..]].concat(), Some(e)),
        ReplaceError::Write(None) => ([b"unable to write ", &dir.name(tmp)[..], b": partial write."].concat(), None),
        ReplaceError::Rename(e) => {
            ([b"unable to rename ", &dir.name(tmp)[..], b" to ", &dir.name(name)].concat(), Some(e))
        }
    }
}

fn remove(dir: &SuperviseDir, name: &str) -> io::Result<()> {
    match std::fs::remove_file(dir.file(name)) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// Writes `supervise/waiting` (`waiting.new` + rename, 0644), or removes
/// it when `w` is empty. Errors as warning text plus cause.
pub fn write_waiting(dir: &SuperviseDir, w: &Waiting) -> Result<(), (Vec<u8>, Option<io::Error>)> {
    if w.is_empty() {
        return remove(dir, WAITING).map_err(|e| ([b"unable to remove ", &dir.name(WAITING)[..]].concat(), Some(e)));
    }
    let tmp = "waiting.new";
    dir.replace(tmp, WAITING, &w.encode(), 0o644).map_err(|e| replace_error(dir, tmp, WAITING, e))
}

/// Reads `supervise/waiting`: `Ok(None)` when absent (not held back).
pub fn read_waiting(dir: &SuperviseDir) -> io::Result<Option<Waiting>> {
    match std::fs::read(dir.file(WAITING)) {
        Ok(b) => Ok(Some(Waiting::decode(&b))),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// How a `oneshot` service's last `./run` ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Exit code 0: counts as ready for dependents.
    Done,
    /// Any other exit, or killed by a signal.
    Failed,
}

/// The content of `supervise/oneshot`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OneshotRecord {
    pub outcome: Outcome,
    pub stamp: Tai64n,
}

impl OneshotRecord {
    pub fn encode(&self) -> Vec<u8> {
        let mut v = match self.outcome {
            Outcome::Done => b"done ".to_vec(),
            Outcome::Failed => b"failed ".to_vec(),
        };
        v.extend_from_slice(&self.stamp.to_hex());
        v.push(b'\n');
        v
    }

    pub fn decode(b: &[u8]) -> Option<OneshotRecord> {
        let line = b.strip_suffix(b"\n")?;
        let (outcome, hex) = if let Some(h) = line.strip_prefix(b"done ") {
            (Outcome::Done, h)
        } else {
            (Outcome::Failed, line.strip_prefix(b"failed ")?)
        };
        if hex.len() != 25 || hex[0] != b'@' {
            return None;
        }
        let mut raw = [0u8; 12];
        for (i, pair) in hex[1..].chunks(2).enumerate() {
            raw[i] = u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok()?;
        }
        Some(OneshotRecord { outcome, stamp: Tai64n::from_bytes(&raw) })
    }
}

/// Writes `supervise/oneshot`, or removes it (`None`, when `./run` starts).
pub fn write_oneshot(dir: &SuperviseDir, r: Option<&OneshotRecord>) -> Result<(), (Vec<u8>, Option<io::Error>)> {
    let Some(r) = r else {
        return remove(dir, ONESHOT_RECORD)
            .map_err(|e| ([b"unable to remove ", &dir.name(ONESHOT_RECORD)[..]].concat(), Some(e)));
    };
    let tmp = "oneshot.new";
    dir.replace(tmp, ONESHOT_RECORD, &r.encode(), 0o644).map_err(|e| replace_error(dir, tmp, ONESHOT_RECORD, e))
}

/// Reads `supervise/oneshot`: `Ok(None)` when absent or not understood.
pub fn read_oneshot(dir: &SuperviseDir) -> io::Result<Option<OneshotRecord>> {
    match std::fs::read(dir.file(ONESHOT_RECORD)) {
        Ok(b) => Ok(OneshotRecord::decode(&b)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashMap;

    fn dep(n: &str, soft: bool) -> Dep {
        Dep { name: n.as_bytes().to_vec(), soft }
    }

    #[test]
    fn lines_comments_and_kinds() {
        let d = parse(b"# web\n\ndb\n  cache   soft \n/etc/sv/q hard\r\n\t# indented comment\n");
        assert_eq!(d.deps, vec![dep("db", false), dep("cache", true), dep("/etc/sv/q", false)]);
        assert!(d.malformed.is_empty());
        assert_eq!(parse(b"db").deps, vec![dep("db", false)], "no final newline");
        assert_eq!(parse(b"").deps, vec![]);
    }

    #[test]
    fn malformed_lines_are_listed_with_their_number_and_skipped() {
        let d = parse(b"db\ncache sfot\na b c\n..\nx/../y\nok soft\n");
        assert_eq!(d.deps, vec![dep("db", false), dep("ok", true)]);
        let lines: Vec<usize> = d.malformed.iter().map(|m| m.line).collect();
        assert_eq!(lines, vec![2, 3, 4, 5]);
        assert_eq!(
            String::from_utf8(d.malformed[0].message(b"depends")).unwrap(),
            "depends:2: unknown kind (want soft or hard): cache sfot"
        );
    }

    #[test]
    fn a_repeated_name_is_hard_if_any_line_is() {
        assert_eq!(parse(b"db soft\ndb\n").deps, vec![dep("db", false)]);
        assert_eq!(parse(b"db soft\ndb soft\n").deps, vec![dep("db", true)]);
    }

    #[test]
    fn names_resolve_against_the_services_directory() {
        assert_eq!(resolve(Path::new("/etc/service"), b"db"), Path::new("/etc/service/db"));
        assert_eq!(resolve(Path::new("/etc/service"), b"/etc/sv/db"), Path::new("/etc/sv/db"));
    }

    #[test]
    fn cycles_of_length_one_two_three_and_none() {
        let g: HashMap<u32, Vec<u32>> =
            [(1, vec![1]), (2, vec![3]), (3, vec![2]), (4, vec![5]), (5, vec![6]), (6, vec![4, 7]), (7, vec![])]
                .into_iter()
                .collect();
        let e = |n: &u32| g.get(n).cloned().unwrap_or_default();
        assert_eq!(find_cycle(&1, e), Some(vec![1, 1]));
        assert_eq!(find_cycle(&2, e), Some(vec![2, 3, 2]));
        assert_eq!(find_cycle(&5, e), Some(vec![5, 6, 4, 5]));
        assert_eq!(find_cycle(&7, e), None);
        let g2: HashMap<u32, Vec<u32>> = [(1, vec![2]), (2, vec![3]), (3, vec![2])].into_iter().collect();
        assert_eq!(find_cycle(&1, |n| g2.get(n).cloned().unwrap_or_default()), None, "cycle elsewhere");
    }

    fn reaches(g: &[Vec<usize>], from: usize, to: usize) -> bool {
        let mut seen = vec![false; g.len()];
        let mut todo = vec![from];
        while let Some(n) = todo.pop() {
            for &c in &g[n] {
                if c == to {
                    return true;
                }
                if !seen[c] {
                    seen[c] = true;
                    todo.push(c);
                }
            }
        }
        false
    }

    proptest! {
        #[test]
        fn a_cycle_is_found_exactly_when_start_reaches_itself(
            n in 1usize..9,
            raw in proptest::collection::vec((0usize..9, 0usize..9), 0..20),
            start in 0usize..9,
        ) {
            let start = start % n;
            let mut g = vec![Vec::new(); n];
            for (a, b) in raw {
                g[a % n].push(b % n);
            }
            let found = find_cycle(&start, |&x| g[x].clone());
            prop_assert_eq!(found.is_some(), reaches(&g, start, start));
            if let Some(p) = found {
                prop_assert!(p.len() >= 2);
                prop_assert_eq!(p[0], start);
                prop_assert_eq!(*p.last().unwrap(), start);
                for w in p.windows(2) {
                    prop_assert!(g[w[0]].contains(&w[1]), "{:?} is no edge", w);
                }
                // A simple cycle: no node twice apart from the ends.
                let inner: HashSet<usize> = p[..p.len() - 1].iter().copied().collect();
                prop_assert_eq!(inner.len(), p.len() - 1);
            }
        }

        #[test]
        fn parse_never_panics_and_every_line_is_accounted_for(content in proptest::collection::vec(any::<u8>(), 0..300)) {
            let d = parse(&content);
            for m in &d.malformed {
                prop_assert!(m.line >= 1 && m.line <= content.split(|&c| c == b'\n').count());
            }
            for x in &d.deps {
                prop_assert!(!x.name.is_empty() && !x.name.contains(&b'\n') && !x.name.contains(&b' '));
            }
        }

        #[test]
        fn waiting_round_trips(
            deps in proptest::collection::vec((0usize..4, "[a-z/._-][a-z0-9 ._/-]{0,12}"), 0..5),
            cycle in proptest::collection::vec("[a-z][a-z0-9 ._/-]{0,12}", 0..4),
        ) {
            let whys = [Why::NotReady, Why::WantedDown, Why::Missing, Why::Failed];
            let w = Waiting {
                deps: deps.into_iter().map(|(i, n)| (whys[i], n.into_bytes())).collect(),
                cycle: cycle.into_iter().map(String::into_bytes).collect(),
            };
            prop_assert_eq!(Waiting::decode(&w.encode()), w);
        }
    }

    /// The cycle through the service directory `me` (named `my_name`), as
    /// the files on disk are now.
    fn cycle_on_disk(scan_dir: &Path, me: &Path, my_name: &[u8]) -> Option<Vec<Vec<u8>>> {
        let deps = read(me).ok().flatten().unwrap_or_default();
        Graph::read(scan_dir, me, my_name, &deps).cycle()
    }

    #[test]
    fn cycles_on_disk_follow_names_and_absolute_paths() {
        let d = tempfile::tempdir().unwrap();
        let scan = d.path().join("service");
        let sv = d.path().join("sv");
        std::fs::create_dir_all(&scan).unwrap();
        for s in ["web", "db", "cache", "solo"] {
            std::fs::create_dir_all(sv.join(s)).unwrap();
            std::os::unix::fs::symlink(sv.join(s), scan.join(s)).unwrap();
        }
        std::fs::write(sv.join("web/depends"), b"db\ncache soft\n").unwrap();
        std::fs::write(sv.join("db/depends"), format!("{}\n", sv.join("web").display())).unwrap();
        std::fs::write(sv.join("solo/depends"), b"solo\n").unwrap();
        let names = |c: Vec<Vec<u8>>| String::from_utf8(cycle_text(&c)).unwrap();
        let web = cycle_on_disk(&scan, &scan.join("web"), b"web").map(names);
        assert_eq!(web.as_deref(), Some("web -> db -> web"));
        let solo = cycle_on_disk(&scan, &scan.join("solo"), b"solo").map(names);
        assert_eq!(solo.as_deref(), Some("solo -> solo"));
        assert_eq!(cycle_on_disk(&scan, &scan.join("cache"), b"cache"), None);
        // Breaking the cycle resumes.
        std::fs::write(sv.join("db/depends"), b"# none\n").unwrap();
        assert_eq!(cycle_on_disk(&scan, &scan.join("web"), b"web"), None);
        // A missing dependency is no cycle.
        std::fs::write(sv.join("cache/depends"), b"nothere\n").unwrap();
        assert_eq!(cycle_on_disk(&scan, &scan.join("cache"), b"cache"), None);
    }

    #[test]
    fn long_files_are_cut_and_reported() {
        let d = tempfile::tempdir().unwrap();
        let mut big = b"db\n".to_vec();
        big.resize(MAX_DEPENDS_LEN + 10, b'#');
        std::fs::write(d.path().join(DEPENDS), &big).unwrap();
        let r = read(d.path()).unwrap().unwrap();
        assert_eq!(r.deps, vec![dep("db", false)]);
        assert_eq!(r.malformed.len(), 1);
        assert_eq!(read(&d.path().join("none")).unwrap(), None);
    }

    #[test]
    fn records_are_written_read_and_removed() {
        let d = tempfile::tempdir().unwrap();
        let sup = SuperviseDir::of(d.path());
        std::fs::create_dir(sup.path()).unwrap();
        let w = Waiting { deps: vec![(Why::WantedDown, b"db".to_vec())], cycle: vec![] };
        write_waiting(&sup, &w).unwrap();
        assert_eq!(std::fs::read(sup.file(WAITING)).unwrap(), b"wanted-down db\n");
        assert_eq!(read_waiting(&sup).unwrap(), Some(w));
        write_waiting(&sup, &Waiting::default()).unwrap();
        assert_eq!(read_waiting(&sup).unwrap(), None);

        let r = OneshotRecord { outcome: Outcome::Failed, stamp: Tai64n::from_unix(1795286346, 5) };
        write_oneshot(&sup, Some(&r)).unwrap();
        assert!(std::fs::read(sup.file(ONESHOT_RECORD)).unwrap().starts_with(b"failed @4000"));
        assert_eq!(read_oneshot(&sup).unwrap(), Some(r));
        write_oneshot(&sup, None).unwrap();
        write_oneshot(&sup, None).unwrap();
        assert_eq!(read_oneshot(&sup).unwrap(), None);
        assert_eq!(OneshotRecord::decode(b"done @12\n"), None);
    }
}
