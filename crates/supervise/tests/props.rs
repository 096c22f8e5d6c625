//! Property tests for the on-disk protocol: the 20-byte status
//! record, the `stat` line and the `pid` text. Any input, no panic; the
//! only error is the documented `BadFormat(len)`; encode and decode are
//! inverse.

use proptest::prelude::*;
use supervise::status::{pid_text, read_status, stat_line, DecodeError, ReadError, Status};
use supervise::{State, Want};
use unix::tai64n::Tai64n;

fn state() -> impl Strategy<Value = State> {
    prop_oneof![Just(State::Down), Just(State::Run), Just(State::Finish)]
}

fn want() -> impl Strategy<Value = Want> {
    prop_oneof![Just(Want::Up), Just(Want::Down), Just(Want::Exit)]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_bytes_decode_only_at_20_and_round_trip(b in proptest::collection::vec(any::<u8>(), 0..64)) {
        match Status::decode(&b) {
            Ok(s) => {
                prop_assert_eq!(b.len(), 20);
                prop_assert_eq!(&s.encode()[..], &b[..]);
                prop_assert_eq!(s.state().is_some(), b[19] <= 2);
            }
            Err(DecodeError::BadFormat(n)) => {
                prop_assert_ne!(b.len(), 20);
                prop_assert_eq!(n, b.len());
            }
        }
    }

    #[test]
    fn every_record_runsv_writes_round_trips(
        secs in 0u64..(1 << 40), micros in 0u32..1_000_000, pid in any::<u32>(),
        st in state(), w in want(), paused in any::<bool>(), term in any::<bool>(),
    ) {
        let s = Status::new(Tai64n::from_unix(secs, micros), pid, st, w, paused, term);
        let b = s.encode();
        let d = Status::decode(&b).unwrap();
        prop_assert_eq!(d, s);
        prop_assert_eq!(d.state(), Some(st));
        prop_assert_eq!(d.stamp.unix_secs(), secs);
        prop_assert_eq!(u32::from_le_bytes([b[12], b[13], b[14], b[15]]), pid);
        prop_assert_eq!(b[17], if w == Want::Up { b'u' } else { b'd' });
        prop_assert_eq!((b[16], b[18]), (paused as u8, term as u8));
    }

    #[test]
    fn a_status_file_of_any_content_reads_as_its_first_20_bytes(
        b in proptest::collection::vec(any::<u8>(), 0..64)
    ) {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("status");
        std::fs::write(&p, &b).unwrap();
        match read_status(&p) {
            Ok(s) => {
                prop_assert!(b.len() >= 20);
                prop_assert_eq!(&s.encode()[..], &b[..20]);
            }
            Err(ReadError::BadFormat) => prop_assert!(b.len() < 20),
            Err(e) => prop_assert!(false, "unexpected {:?}", e),
        }
    }

    #[test]
    fn the_stat_line_says_exactly_what_the_record_says(
        st in state(), w in want(), paused in any::<bool>(), term in any::<bool>(),
    ) {
        let line = String::from_utf8(stat_line(st, paused, term, w)).unwrap();
        prop_assert!(line.ends_with('\n'));
        prop_assert_eq!(line.matches('\n').count(), 1);
        let parts: Vec<&str> = line.trim_end().split(", ").collect();
        prop_assert_eq!(parts[0], st.word());
        let mut expect = vec![st.word()];
        if paused { expect.push("paused"); }
        if term { expect.push("got TERM"); }
        match (st, w) {
            (State::Down, _) | (_, Want::Up) => {}
            (_, Want::Down) => expect.push("want down"),
            (_, Want::Exit) => expect.push("want exit"),
        }
        prop_assert_eq!(parts, expect);
    }

    #[test]
    fn pid_text_parses_back(pid in any::<u32>()) {
        let t = pid_text(pid);
        if pid == 0 {
            prop_assert!(t.is_empty());
        } else {
            let s = String::from_utf8(t).unwrap();
            prop_assert_eq!(s.strip_suffix('\n').unwrap().parse::<u32>().unwrap(), pid);
        }
    }
}
