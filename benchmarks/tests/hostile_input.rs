//! Hostile input: the arch-string parsers, the image readers and the table loaders get
//! random and mutated input and must answer with `Ok` or a clear `Err`, never a panic.
//! Cases per property: `PROPTEST_CASES` (default below).

mod common;

use proptest::prelude::*;
use std::path::PathBuf;
use swapnas_benchmarks::data::suite_zero::{python_json_to_strict, ZcTable};
use swapnas_benchmarks::spaces::nb201::{Nb201Arch, Nb201Table};
use swapnas_benchmarks::spaces::nb201::{NB201_NATS_CSV, NB201_SUITEZERO_ZIP};
use swapnas_benchmarks::ImageSet;

fn cases(default: u32) -> ProptestConfig {
    let n = std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(default);
    ProptestConfig { cases: n, failure_persistence: None, ..ProptestConfig::default() }
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("swapnas-hostile-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// Strings near valid NB201 encodings: pieces of both grammars, shuffled.
fn arch_like() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("|".to_string()),
        Just("+".to_string()),
        Just("~".to_string()),
        Just("(".to_string()),
        Just(")".to_string()),
        Just(", ".to_string()),
        Just("nor_conv_3x3".to_string()),
        Just("skip_connect".to_string()),
        Just("none".to_string()),
        "[0-9]{1,3}",
        "\\PC{0,4}",
    ];
    prop::collection::vec(piece, 0..24).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(cases(2000))]

    #[test]
    fn arch_parser_never_panics(s in arch_like()) {
        if let Ok(a) = s.parse::<Nb201Arch>() {
            // Whatever parses round-trips through both encodings.
            prop_assert_eq!(a.to_official_string().parse::<Nb201Arch>().unwrap(), a);
            prop_assert_eq!(a.to_tuple_string().parse::<Nb201Arch>().unwrap(), a);
        }
    }

    #[test]
    fn arch_parser_never_panics_on_any_text(s in "\\PC{0,80}") {
        let _ = s.parse::<Nb201Arch>();
    }

    #[test]
    fn mutated_valid_arch_strings_never_panic(ordinal in 0usize..15_625, at in 0usize..80, byte in any::<u8>()) {
        let a = Nb201Arch::from_ordinal(ordinal).unwrap();
        for s in [a.to_official_string(), a.to_tuple_string()] {
            let mut bytes = s.into_bytes();
            let i = at % bytes.len();
            bytes[i] = byte;
            if let Ok(text) = String::from_utf8(bytes) {
                let _ = text.parse::<Nb201Arch>();
            }
        }
    }

    #[test]
    fn image_decoder_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..8000), max in 0usize..4) {
        for set in [ImageSet::CIFAR10, ImageSet::CIFAR100, ImageSet::IMAGENET16_STANDIN] {
            if let Ok(b) = set.decode(&bytes, max) {
                prop_assert!(b.len() <= max);
                prop_assert_eq!(b.pixels.len(), b.len() * 3 * b.side * b.side);
            }
        }
    }

    #[test]
    fn json_loader_never_panics(text in "[\\[\\]{}\":,0-9a-zA-Z .\\-]{0,200}") {
        let _ = python_json_to_strict(&text);
        let path = scratch(&format!("zc-{}.json", text.len()));
        std::fs::write(&path, &text).unwrap();
        let _ = ZcTable::load_file(&path, "cifar10");
    }
}

proptest! {
    #![proptest_config(cases(24))]

    /// Real table files with bytes flipped or the tail cut: an error, or a table, never a panic.
    #[test]
    fn corrupted_real_tables_never_panic(flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6), cut in any::<prop::sample::Index>(), which in 0u8..3) {
        let Some(_full) = common::full_data_dir() else {
            // Said once (past the capture), not once per generated case.
            static SAID: std::sync::Once = std::sync::Once::new();
            SAID.call_once(|| drop(common::full_data("corrupted copies of the real NB201 tables")));
            return Ok(());
        };
        let dir = common::data_dir();
        let zip = dir.require(&NB201_SUITEZERO_ZIP).unwrap();
        let csv = dir.require(&NB201_NATS_CSV).unwrap();
        let target = if which == 0 { &zip } else { &csv };
        let mut bytes = std::fs::read(target).unwrap();
        for (i, b) in &flips {
            let at = i.index(bytes.len());
            bytes[at] = *b;
        }
        if which == 2 {
            bytes.truncate(cut.index(bytes.len()));
        }
        let bad = scratch(if which == 0 { "bad.zip" } else { "bad.csv" });
        std::fs::write(&bad, &bytes).unwrap();
        let result = if which == 0 { Nb201Table::load_files(&bad, &csv) } else { Nb201Table::load_files(&zip, &bad) };
        if let Err(e) = result {
            let msg = format!("{e:#}");
            prop_assert!(msg.contains("bad."), "the error names the file: {}", msg);
        }
    }
}
