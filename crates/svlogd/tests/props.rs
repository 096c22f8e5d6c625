//! Property tests for svlogd's `config` parser and its line
//! patterns: any bytes, no panic; the only warnings are runit's two UDP
//! ones; numbers and pattern lines come out as written.

use proptest::prelude::*;
use runit_svlogd::config::{parse, Config};
use runit_svlogd::pattern::matches;

/// Config-ish bytes: mostly directive letters, digits, separators.
fn config_bytes() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(
        prop_oneof![
            4 => proptest::sample::select(b"sSnNtT!pPuUeE+-*.:0123456789kmh \n\t".to_vec()),
            1 => any::<u8>(),
        ],
        0..200,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn any_config_parses_without_panic_and_warns_only_about_udp(data in config_bytes()) {
        let mut cfg = Config::default();
        for w in parse(&data, &mut cfg) {
            prop_assert!(
                w.starts_with(b"unable to scan ip address: ") || w.starts_with(b"unable to scan port number: "),
                "{:?}", String::from_utf8_lossy(&w)
            );
        }
        // Pattern storage: the pattern lines verbatim (NULs inside a line
        // included, as runit's stralloc_catb copies them), each ended by a
        // NUL: exactly the +, -, e, E lines of the file, in order.
        let mut want = Vec::new();
        let mut i = 0;
        while i + 1 < data.len() {
            let len = data[i..].iter().position(|&b| b == b'\n').unwrap_or(data.len() - i);
            if matches!(data[i], b'+' | b'-' | b'e' | b'E') {
                want.extend_from_slice(&data[i..i + len]);
                want.push(0);
            }
            i += len + 1;
        }
        prop_assert_eq!(&cfg.insts, &want);
        // Parsing is a pure function of the bytes.
        let mut again = Config::default();
        parse(&data, &mut again);
        prop_assert_eq!(cfg, again);
    }

    #[test]
    fn numeric_directives_read_their_leading_digits(n in 0u64..1_000_000_000, unit in proptest::sample::select(vec!["", "k", "m", "x"])) {
        let mut cfg = Config::default();
        let text = format!("s{n}{unit}\nn{n}\nN{n}\nt{n}\n");
        prop_assert!(parse(text.as_bytes(), &mut cfg).is_empty());
        let mult = match unit { "k" => 1024, "m" => 1024 * 1024, _ => 1 };
        prop_assert_eq!(cfg.size_max, n.wrapping_mul(mult));
        prop_assert_eq!((cfg.n_max, cfg.n_min, cfg.t_max), (n, n, n));
    }

    #[test]
    fn udp_targets_round_trip(a in any::<[u8; 4]>(), port in 1u16..) {
        let mut cfg = Config::default();
        let text = format!("u{}.{}.{}.{}:{port}\n", a[0], a[1], a[2], a[3]);
        prop_assert!(parse(text.as_bytes(), &mut cfg).is_empty());
        prop_assert_eq!((cfg.udp.addr, cfg.udp.port, cfg.udp_only), (a, port, false));
    }

    #[test]
    fn any_pattern_on_any_text_never_panics(
        pat in proptest::collection::vec(prop_oneof![3 => proptest::sample::select(b"ab*+".to_vec()), 1 => any::<u8>()], 0..12),
        text in proptest::collection::vec(proptest::sample::select(b"ab*+\0c".to_vec()), 0..24),
        stale in any::<u8>(),
    ) {
        let _ = matches(&pat, &text, stale);
    }

    #[test]
    fn a_literal_pattern_matches_only_itself(
        pat in proptest::collection::vec(proptest::sample::select(b"abc: ".to_vec()), 0..10),
        text in proptest::collection::vec(proptest::sample::select(b"abc: ".to_vec()), 0..10),
    ) {
        prop_assert_eq!(matches(&pat, &text, 0), pat == text);
        prop_assert!(matches(&pat, &pat, 0));
    }

    #[test]
    fn a_trailing_star_matches_every_extension(
        prefix in proptest::collection::vec(proptest::sample::select(b"abc: ".to_vec()), 0..8),
        rest in proptest::collection::vec(any::<u8>(), 0..16),
    ) {
        let mut pat = prefix.clone();
        pat.push(b'*');
        let mut text = prefix.clone();
        text.extend_from_slice(&rest);
        prop_assert!(matches(&pat, &text, 0));
    }
}
