//! Property tests for chpst's grammars: the numeric
//! `:uid:gid[:gid…]` SPEC, `-u`/`-U` SPECs of any bytes, and env-directory
//! file values. No panic; errors are runit's `invalid uid/gids:` and
//! `unknown user/group:` texts.

use proptest::prelude::*;
use runit_chpst::env::file_value;
use runit_chpst::ids::{parse_numeric, resolve, MAX_GROUPS};

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn numeric_specs_round_trip(uid in 0u32..u32::MAX, gids in proptest::collection::vec(0u32..u32::MAX, 1..=MAX_GROUPS)) {
        let text = std::iter::once(uid).chain(gids.iter().copied()).map(|n| n.to_string()).collect::<Vec<_>>().join(":");
        let ids = parse_numeric(text.as_bytes()).unwrap();
        prop_assert_eq!(ids.uid, uid);
        prop_assert_eq!(ids.gids, gids);
    }

    #[test]
    fn any_numeric_spec_is_parsed_or_refused(s in proptest::collection::vec(proptest::sample::select(b"0123456789:x-+ \0".to_vec()), 0..40)) {
        let r = parse_numeric(&s);
        let fields: Vec<&[u8]> = s.split(|&b| b == b':').collect();
        let well_formed = fields.len() >= 2
            && fields.len() <= MAX_GROUPS + 1
            && fields.iter().all(|f| !f.is_empty() && f.len() <= 10 && f.iter().all(u8::is_ascii_digit)
                && f.iter().fold(0u64, |n, &d| n * 10 + u64::from(d - b'0')) < u64::from(u32::MAX));
        prop_assert_eq!(r.is_some(), well_formed);
        if let Some(ids) = r {
            prop_assert!(ids.uid != u32::MAX && ids.gids.iter().all(|&g| g != u32::MAX));
        }
        // Through the full SPEC grammar: ':' + this.
        let mut spec = b":".to_vec();
        spec.extend_from_slice(&s);
        match resolve(&spec) {
            Ok(ids) => prop_assert!(well_formed && ids.gids.len() == fields.len() - 1),
            Err(f) => {
                prop_assert!(!well_formed);
                prop_assert_eq!(f.text, [&b"invalid uid/gids: "[..], &s].concat());
            }
        }
    }

    #[test]
    fn unknown_names_are_refused_with_runits_text(
        name in "zz[a-z0-9_]{0,12}",
        groups in proptest::option::of(proptest::collection::vec("[a-z]{1,6}", 0..3)),
    ) {
        let mut spec = name.into_bytes();
        if let Some(g) = groups {
            spec.push(b':');
            spec.extend_from_slice(g.join(":").as_bytes());
        }
        let f = resolve(&spec).unwrap_err();
        prop_assert_eq!(f.text, [&b"unknown user/group: "[..], &spec].concat());
    }

    #[test]
    fn any_spec_bytes_never_panic(spec in proptest::collection::vec(any::<u8>(), 0..30)) {
        if let Err(f) = resolve(&spec) {
            prop_assert!(
                f.text.starts_with(b"unknown user/group: ")
                    || f.text.starts_with(b"invalid uid/gids: ")
                    || f.text.starts_with(b"unable to get password/group file entry"),
                "{:?}", String::from_utf8_lossy(&f.text)
            );
        }
    }

    #[test]
    fn envdir_values_are_the_trimmed_first_line(content in proptest::collection::vec(proptest::sample::select(b"ab \t\n\0=".to_vec()), 0..30)) {
        match file_value(&content) {
            None => prop_assert!(content.is_empty()),
            Some(v) => {
                let first = content.split(|&b| b == b'\n').next().unwrap();
                prop_assert!(v.len() <= first.len());
                prop_assert!(!v.ends_with(b" ") && !v.ends_with(b"\t"));
                let back: Vec<u8> = v.iter().map(|&b| if b == b'\n' { 0 } else { b }).collect();
                prop_assert_eq!(&first[..back.len()], &back[..]);
                prop_assert!(first[back.len()..].iter().all(|&b| b == b' ' || b == b'\t'));
            }
        }
    }
}
