//! Property test for reading an env directory: files of any
//! content and name become exactly the documented edits. One test only,
//! because reading an env directory changes the process's working
//! directory for a moment.

use proptest::prelude::*;
use runit_chpst::env::{file_value, read_dir, Edits, Subdirs};

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn env_directories_become_sets_and_unsets(
        files in proptest::collection::btree_map("[A-Za-z_][A-Za-z0-9_=.]{0,8}", proptest::collection::vec(any::<u8>(), 0..40), 0..8),
    ) {
        let d = tempfile::tempdir().unwrap();
        for (name, content) in &files {
            std::fs::write(d.path().join(name), content).unwrap();
        }
        std::fs::create_dir(d.path().join("subdir")).unwrap();
        let mut edits = Edits::default();
        let dir = d.path().as_os_str().as_encoded_bytes();
        read_dir(dir, Subdirs::Skip { verbose: false }, &mut edits).unwrap();
        let mut got = edits.0.clone();
        got.sort();
        let mut want: Vec<Vec<u8>> = files
            .iter()
            .map(|(name, content)| match file_value(content) {
                Some(v) => [name.as_bytes(), b"=", &v].concat(),
                None => name.as_bytes().to_vec(),
            })
            .collect();
        want.sort();
        prop_assert_eq!(got, want);
    }
}
