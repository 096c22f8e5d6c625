//! Property tests for sv's command words and option parsing:
//! any word, any argument vector, no panic; a word is a usage error or a
//! plan whose letters are runsv's; options stop at the first operand.

use proptest::prelude::*;
use runit_sv::command::{plan, Act};
use unix::getopt::{Getopt, Opt};

fn word() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::sample::select(vec![
            "status",
            "start",
            "stop",
            "shutdown",
            "restart",
            "reload",
            "try-restart",
            "check",
            "force-stop",
            "force-reload",
            "force-restart",
            "force-shutdown",
            "up",
            "down",
            "once",
            "exit",
            "X",
            "Term",
        ])
        .prop_map(|w| w.as_bytes().to_vec()),
        proptest::collection::vec(any::<u8>(), 0..16),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn any_word_is_a_usage_error_or_a_plan_of_runsv_letters(w in word(), lsb in any::<bool>()) {
        let Some(p) = plan(&w, lsb) else {
            // Only words runit refuses: no first byte, one it does not
            // know, or a long form that is not exactly right.
            prop_assert!(w.is_empty() || !b"xeXEDTtcudophaikq12".contains(&w[0]) || matches!(w[0], b'r' | b'f' | b's'));
            return Ok(());
        };
        prop_assert!(!w.is_empty());
        prop_assert!(!p.letters.is_empty());
        match p.act {
            Act::Control => prop_assert!(p.letters.iter().all(|c| b"udoxtkpchaiq12".contains(c))),
            Act::Status => prop_assert_eq!(&p.letters[..], b"s"),
            Act::Nothing => prop_assert_eq!(&p.letters[..], b"C"),
        }
        // LSB mode only ever refuses more, never means something else.
        if let Some(q) = plan(&w, true) {
            prop_assert_eq!(plan(&w, false), Some(q));
        }
    }

    #[test]
    fn getopt_on_any_arguments_stops_at_the_first_operand(
        args in proptest::collection::vec(
            prop_oneof![
                proptest::sample::select(vec!["-v", "-w", "-w5", "-V", "-vw", "--", "-", "-x", "up", "svc"])
                    .prop_map(|a| a.as_bytes().to_vec()),
                proptest::collection::vec(any::<u8>(), 0..6),
            ],
            0..8,
        )
    ) {
        let mut argv = vec![b"sv".to_vec()];
        argv.extend(args);
        let mut g = Getopt::new(&argv, b"w:vV").quiet();
        let mut n = 0;
        for opt in g.by_ref() {
            n += 1;
            prop_assert!(n <= 64, "getopt does not end");
            match opt {
                Opt::Flag(c, a) => {
                    prop_assert!(b"wvV".contains(&c));
                    prop_assert_eq!(a.is_some(), c == b'w');
                }
                Opt::Error(_) => break,
            }
        }
        let ind = g.optind();
        prop_assert!(ind >= 1 && ind <= argv.len());
        prop_assert_eq!(g.operands(), &argv[ind..]);
    }
}
