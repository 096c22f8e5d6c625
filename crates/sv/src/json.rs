//! `sv -j status`: one JSON object per service, for monitoring tools that
//! would otherwise scrape the text of `sv status`.
//!
//! ```text
//! {"name":"web","state":"run","pid":123,"seconds":42,"want":"up",
//!  "paused":false,"got_term":false,"normally":"up","ready":true,
//!  "ready_seconds":40,"ready_since":"@4000000069a1b2c3...","log":{...}}
//! {"name":"gone","error":"unable to change to service directory: file does not exist"}
//! ```
//!
//! Every line is valid JSON whatever the input: names are escaped, and a
//! name that is not UTF-8 is given with U+FFFD for each bad byte in `name`
//! plus the exact bytes in `name_hex`. `ready` is `null` for a service
//! without `notification-fd` (readiness unknown), else whether the current
//! `./run` has reported it; `ready_seconds` is how long ago and
//! `ready_since` when, as a TAI64N label (like `svlogd -t` and s6-svstat's
//! `readysince`); both `null` when not ready.
//!
//! Services with dependencies or a `oneshot` file (docs/EXTENSIONS.md) add
//! fields, absent otherwise: `"waiting_for":["db"]` while runsv holds
//! `./run` back for them, `"cycle":["web","db","web"]` for a dependency
//! cycle, and `"oneshot":"done"` or `"failed"` once its `./run` ended
//! (then `state` says `done` or `failed` instead of `down`).
//!
//! Only for a main service with the files (man/runsv.8, SOCKETS AND
//! NOTIFICATION): `listen_error` (`listen`: why the service is held down,
//! else `null`), `waiting` (`flag-on-demand`: `"connection"` while runsv
//! waits for a client, else `null`) and `notify_status` (`notify-socket`:
//! the last `STATUS=` text, else `null`). With `notify-socket`, `ready`
//! reports `READY=1` like a `notification-fd` newline.

/// Appends `s` as a JSON string literal.
pub fn string(out: &mut Vec<u8>, s: &[u8]) {
    out.push(b'"');
    for chunk in s.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '"' => out.extend_from_slice(b"\\\""),
                '\\' => out.extend_from_slice(b"\\\\"),
                '\n' => out.extend_from_slice(b"\\n"),
                '\r' => out.extend_from_slice(b"\\r"),
                '\t' => out.extend_from_slice(b"\\t"),
                c if (c as u32) < 0x20 || c == '\u{7f}' || c == '\u{2028}' || c == '\u{2029}' => {
                    out.extend_from_slice(format!("\\u{:04x}", c as u32).as_bytes())
                }
                c => {
                    let mut b = [0u8; 4];
                    out.extend_from_slice(c.encode_utf8(&mut b).as_bytes());
                }
            }
        }
        for _ in chunk.invalid() {
            out.extend_from_slice("\u{fffd}".as_bytes());
        }
    }
    out.push(b'"');
}

/// An object being written: `{"k":v,...}`.
pub struct Object<'a> {
    out: &'a mut Vec<u8>,
    first: bool,
}

impl<'a> Object<'a> {
    pub fn new(out: &'a mut Vec<u8>) -> Object<'a> {
        out.push(b'{');
        Object { out, first: true }
    }

    fn key(&mut self, k: &str) -> &mut Vec<u8> {
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
        string(self.out, k.as_bytes());
        self.out.push(b':');
        self.out
    }

    pub fn str(&mut self, k: &str, v: &[u8]) {
        let out = self.key(k);
        string(out, v);
    }

    pub fn num(&mut self, k: &str, v: u64) {
        let out = self.key(k);
        out.extend_from_slice(v.to_string().as_bytes());
    }

    pub fn bool(&mut self, k: &str, v: bool) {
        let out = self.key(k);
        out.extend_from_slice(if v { b"true" } else { b"false" });
    }

    pub fn null(&mut self, k: &str) {
        self.key(k).extend_from_slice(b"null");
    }

    /// `"k":` followed by whatever the caller appends (a nested object).
    pub fn raw(&mut self, k: &str) -> &mut Vec<u8> {
        self.key(k)
    }

    /// The service name as given, and its bytes in hex when not UTF-8.
    pub fn name(&mut self, name: &[u8]) {
        self.str("name", name);
        if std::str::from_utf8(name).is_err() {
            let hex: String = name.iter().map(|b| format!("{b:02x}")).collect();
            self.str("name_hex", hex.as_bytes());
        }
    }

    pub fn end(self) {
        self.out.push(b'}');
    }
}

/// What `-j` reports for one service (or its log service).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// The state byte of the record: 0 down, 1 run, 2 finish.
    pub state: u8,
    pub pid: u32,
    pub seconds: u64,
    /// The want byte: `u` or `d`.
    pub want: u8,
    pub paused: bool,
    pub term: bool,
    /// `None` when `down` could not be examined.
    pub normally_up: Option<bool>,
    /// `None`: no `notification-fd`; `Some(None)`: not ready;
    /// `Some(Some((s, t)))`: ready for `s` seconds, since `t`.
    pub ready: Option<Option<(u64, unix::tai64n::Tai64n)>>,
    /// `supervise/waiting`, when present.
    pub waiting: Option<supervise::depends::Waiting>,
    /// `supervise/oneshot` of a `oneshot` service, when present.
    pub oneshot: Option<supervise::depends::Outcome>,
    /// When the running process is contained (`cgroup/`): its cgroup's
    /// path, `memory.current` and `pids.current` (`None` where the
    /// controller is not enabled). The three fields are left out otherwise.
    pub cgroup: Option<(Vec<u8>, Option<u64>, Option<u64>)>,
    /// `None` without `listen` and `notify-socket` (no fields added).
    pub sockets: Option<Sockets>,
}

/// The fields for `listen`, `flag-on-demand` and `notify-socket`, each
/// present only when its file is.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Sockets {
    pub listen: bool,
    /// Why `listen` holds the service down (`supervise/listen-error`).
    pub listen_error: Option<Vec<u8>>,
    pub on_demand: bool,
    /// Down and wanted up with `flag-on-demand`: waiting for a client.
    pub waiting: bool,
    pub notify: bool,
    /// The last `STATUS=` text (`supervise/notify-status`).
    pub notify_status: Option<Vec<u8>>,
}

impl Report {
    /// Appends the fields (after `name`, before `log`).
    pub fn fields(&self, o: &mut Object) {
        use supervise::depends::Outcome;
        o.str(
            "state",
            match (self.state, self.oneshot) {
                (0, Some(Outcome::Done)) => b"done",
                (0, Some(Outcome::Failed)) => b"failed",
                (0, _) => b"down",
                (1, _) => b"run",
                (2, _) => b"finish",
                _ => b"unknown",
            },
        );
        if self.pid != 0 {
            o.num("pid", u64::from(self.pid));
        } else {
            o.null("pid");
        }
        o.num("seconds", self.seconds);
        o.str(
            "want",
            match self.want {
                b'u' => b"up",
                b'd' => b"down",
                _ => b"unknown",
            },
        );
        o.bool("paused", self.paused);
        o.bool("got_term", self.term);
        match self.normally_up {
            Some(up) => o.str("normally", if up { b"up" } else { b"down" }),
            None => o.null("normally"),
        }
        match self.ready {
            None => {
                o.null("ready");
                o.null("ready_seconds");
                o.null("ready_since");
            }
            Some(None) => {
                o.bool("ready", false);
                o.null("ready_seconds");
                o.null("ready_since");
            }
            Some(Some((s, t))) => {
                o.bool("ready", true);
                o.num("ready_seconds", s);
                o.str("ready_since", &t.to_hex());
            }
        }
        if let Some(w) = &self.waiting {
            let list = |o: &mut Object, k: &str, names: &mut dyn Iterator<Item = &[u8]>| {
                let out = o.raw(k);
                out.push(b'[');
                for (i, n) in names.enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    string(out, n);
                }
                out.push(b']');
            };
            if w.cycle.is_empty() {
                list(o, "waiting_for", &mut w.names());
            } else {
                let first = w.cycle.first().map(Vec::as_slice);
                list(o, "cycle", &mut w.cycle.iter().map(Vec::as_slice).chain(first));
            }
        }
        if let Some(r) = self.oneshot {
            o.str("oneshot", if r == Outcome::Done { b"done" } else { b"failed" });
        }
        if let Some((path, mem, pids)) = &self.cgroup {
            o.str("cgroup", path);
            let mut num = |k, v: &Option<u64>| match v {
                Some(n) => o.num(k, *n),
                None => o.null(k),
            };
            num("memory_current", mem);
            num("pids_current", pids);
        }
        if let Some(k) = &self.sockets {
            let text = |o: &mut Object, key: &str, v: &Option<Vec<u8>>| match v {
                Some(t) => o.str(key, t),
                None => o.null(key),
            };
            if k.listen {
                text(o, "listen_error", &k.listen_error);
            }
            if k.on_demand {
                if k.waiting {
                    o.str("waiting", b"connection");
                } else {
                    o.null("waiting");
                }
            }
            if k.notify {
                text(o, "notify_status", &k.notify_status);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(b: &[u8]) -> String {
        let mut out = Vec::new();
        string(&mut out, b);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn strings_are_escaped_and_always_utf8() {
        assert_eq!(s(b"web"), "\"web\"");
        assert_eq!(s(b"a\"b\\c"), "\"a\\\"b\\\\c\"");
        assert_eq!(s(b"t\tn\n\x01\x7f"), "\"t\\tn\\n\\u0001\\u007f\"");
        assert_eq!(s("é".as_bytes()), "\"é\"");
        assert_eq!(s(b"x\xffy"), "\"x\u{fffd}y\"");
    }

    #[test]
    fn objects_join_fields_and_flag_non_utf8_names() {
        let mut out = Vec::new();
        let mut o = Object::new(&mut out);
        o.name(b"a\xff");
        o.num("n", 3);
        o.bool("b", false);
        o.null("z");
        o.end();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "{\"name\":\"a\u{fffd}\",\"name_hex\":\"61ff\",\"n\":3,\"b\":false,\"z\":null}"
        );
    }

    #[test]
    fn a_report_lists_every_field() {
        let r = Report {
            state: 1,
            pid: 42,
            seconds: 7,
            want: b'u',
            paused: false,
            term: true,
            normally_up: Some(true),
            ready: Some(Some((5, unix::tai64n::Tai64n { secs: (1 << 62) + 10, nanos: 500 }))),
            waiting: None,
            oneshot: None,
            cgroup: None,
            sockets: None,
        };
        let mut out = Vec::new();
        let mut o = Object::new(&mut out);
        r.fields(&mut o);
        o.end();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "{\"state\":\"run\",\"pid\":42,\"seconds\":7,\"want\":\"up\",\"paused\":false,\"got_term\":true,\
             \"normally\":\"up\",\"ready\":true,\"ready_seconds\":5,\
             \"ready_since\":\"@400000000000000a000001f4\"}"
        );
    }

    #[test]
    fn dependency_fields_only_when_present() {
        use supervise::depends::{Outcome, Waiting, Why};
        let show = |r: &Report| {
            let mut out = Vec::new();
            let mut o = Object::new(&mut out);
            r.fields(&mut o);
            o.end();
            String::from_utf8(out).unwrap()
        };
        let mut r = Report { want: b'u', ..Report::default() };
        assert!(!show(&r).contains("waiting_for") && !show(&r).contains("oneshot"));
        r.waiting =
            Some(Waiting { deps: vec![(Why::NotReady, b"db".to_vec()), (Why::Missing, b"q".to_vec())], cycle: vec![] });
        assert!(show(&r).ends_with(",\"waiting_for\":[\"db\",\"q\"]}"), "{}", show(&r));
        r.waiting = Some(Waiting { deps: vec![], cycle: vec![b"web".to_vec(), b"db".to_vec()] });
        assert!(show(&r).ends_with(",\"cycle\":[\"web\",\"db\",\"web\"]}"), "{}", show(&r));
        r.waiting = None;
        r.oneshot = Some(Outcome::Done);
        assert!(show(&r).starts_with("{\"state\":\"done\","), "{}", show(&r));
        assert!(show(&r).ends_with(",\"oneshot\":\"done\"}"), "{}", show(&r));
    }

    #[test]
    fn a_contained_report_adds_the_cgroup() {
        let r = Report { cgroup: Some((b"/sys/fs/cgroup/web".to_vec(), Some(4096), None)), ..Report::default() };
        let mut out = Vec::new();
        let mut o = Object::new(&mut out);
        r.fields(&mut o);
        o.end();
        let s = String::from_utf8(out).unwrap();
        assert!(
            s.ends_with(",\"cgroup\":\"/sys/fs/cgroup/web\",\"memory_current\":4096,\"pids_current\":null}"),
            "{s}"
        );
    }

    #[test]
    fn socket_fields_appear_only_with_their_files() {
        let line = |k: Sockets| {
            let r = Report { state: 0, want: b'u', normally_up: Some(true), sockets: Some(k), ..Report::default() };
            let mut out = Vec::new();
            let mut o = Object::new(&mut out);
            r.fields(&mut o);
            o.end();
            let s = String::from_utf8(out).unwrap();
            s[s.find("\"ready_since\":null").unwrap() + 18..].to_string()
        };
        assert_eq!(line(Sockets::default()), "}");
        let k = Sockets { listen: true, on_demand: true, waiting: true, ..Sockets::default() };
        assert_eq!(line(k), ",\"listen_error\":null,\"waiting\":\"connection\"}");
        let k = Sockets { listen: true, listen_error: Some(b"listen: line 2: x".to_vec()), ..Sockets::default() };
        assert_eq!(line(k), ",\"listen_error\":\"listen: line 2: x\"}");
        let k = Sockets { notify: true, notify_status: Some(b"up 3".to_vec()), ..Sockets::default() };
        assert_eq!(line(k), ",\"notify_status\":\"up 3\"}");
        assert_eq!(line(Sockets { notify: true, ..Sockets::default() }), ",\"notify_status\":null}");
    }
}
