//! The NB201 table and image loaders on the real files, and on corrupted copies of them.

mod common;

use std::path::{Path, PathBuf};
use swapnas_benchmarks::data::suite_zero::ZcTable;
use swapnas_benchmarks::spaces::nb201::{Nb201Arch, Nb201Table, Nb201Task, NUM_ARCHS};
use swapnas_benchmarks::spaces::nb201::{NB201_NATS_CSV, NB201_SUITEZERO_ZIP, NB201_ZC_JSON};
use swapnas_benchmarks::ImageSet;

fn temp_file(name: &str, bytes: &[u8]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("swapnas-loaders-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

fn err_of(zip: &Path, csv: &Path) -> String {
    format!("{:#}", Nb201Table::load_files(zip, csv).unwrap_err())
}

#[test]
fn real_table_joins_both_sources() {
    let Some(_full) = common::full_data("the NB201 source tables") else { return };
    let dir = common::data_dir();
    let table = Nb201Table::load(&dir).unwrap();
    assert_eq!(table.records().len(), NUM_ARCHS);
    // NATS row 0 (official index 0).
    let a: Nb201Arch =
        "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|".parse().unwrap();
    let r = table.get(&a);
    assert_eq!(r.nb201_index, 0);
    assert!((r.test_accuracy(Nb201Task::Cifar10) - 85.86333333333334).abs() < 1e-9);
    // Suite-Zero's zc file and zip agree on validation accuracy for every arch they share.
    for task in Nb201Task::ALL {
        let zc = ZcTable::load(&dir, &NB201_ZC_JSON, task.name()).unwrap();
        for e in &zc.entries {
            let arch: Nb201Arch = e.arch.parse().unwrap();
            let ours = table.get(&arch).val_accuracy(task);
            assert!((ours - e.val_accuracy).abs() < 1e-6, "{task} {}: {ours} vs {}", e.arch, e.val_accuracy);
        }
    }
}

#[test]
fn corrupt_and_truncated_files_give_clear_errors() {
    let Some(_full) = common::full_data("the real source tables to corrupt") else { return };
    let dir = common::data_dir();
    let zip = dir.require(&NB201_SUITEZERO_ZIP).unwrap();
    let csv = dir.require(&NB201_NATS_CSV).unwrap();
    let zip_bytes = std::fs::read(&zip).unwrap();
    let csv_text = std::fs::read_to_string(&csv).unwrap();

    let garbage = temp_file("garbage.zip", b"this is not a zip archive at all");
    let e = err_of(&garbage, &csv);
    assert!(e.contains("garbage.zip") && e.contains("not a readable zip") && e.contains("re-download"), "{e}");

    let half = temp_file("half.zip", &zip_bytes[..zip_bytes.len() / 2]);
    let e = err_of(&half, &csv);
    assert!(e.contains("half.zip"), "{e}");

    let lines: Vec<&str> = csv_text.lines().collect();
    let truncated = temp_file("truncated.csv", lines[..lines.len() / 2].join("\n").as_bytes());
    let e = err_of(&zip, &truncated);
    assert!(e.contains("truncated.csv") && e.contains("has no row for"), "{e}");

    let mut bad = lines.clone();
    bad[10] = "85.1,not-a-number,3.0,|none~0|+|none~0|none~1|+|none~0|none~1|none~2|,x";
    let bad_csv = temp_file("bad.csv", bad.join("\n").as_bytes());
    let e = err_of(&zip, &bad_csv);
    assert!(e.contains("bad.csv") && e.contains("row 11"), "{e}");

    let mut bad_arch = lines.clone();
    bad_arch[3] = "85.1,50.0,3.0,|conv_9x9~0|+|none~0|none~1|+|none~0|none~1|none~2|,x";
    let bad_arch_csv = temp_file("bad-arch.csv", bad_arch.join("\n").as_bytes());
    let e = err_of(&zip, &bad_arch_csv);
    assert!(e.contains("conv_9x9") && e.contains("unknown op"), "{e}");

    let truncated_json = temp_file("zc.json", b"{\"cifar10\": {\"(0, 1");
    let e = format!("{:#}", ZcTable::load_file(&truncated_json, "cifar10").unwrap_err());
    assert!(e.contains("zc.json") && e.contains("not valid JSON"), "{e}");
}

#[test]
fn real_images_load_in_file_order() {
    let Some(_full) = common::full_data("the full image sets") else { return };
    let dir = common::data_dir();
    let b = ImageSet::CIFAR10.load_first(&dir, 16).unwrap();
    assert_eq!((b.len(), b.side, b.pixels.len()), (16, 32, 16 * 3 * 32 * 32));
    // The first CIFAR-10 training images are a frog (6) and a truck (9).
    assert_eq!(&b.labels[..2], &[6, 9]);
    let c = ImageSet::CIFAR100.load_first(&dir, 64).unwrap();
    assert_eq!(c.len(), 64);
    assert!(c.labels.iter().all(|&l| l < 100));
    let i = ImageSet::IMAGENET16_STANDIN.load_first(&dir, 16).unwrap();
    assert_eq!((i.len(), i.side), (16, 16));
    let e = format!("{:#}", ImageSet::CIFAR10.load_first(&dir, 100_000).unwrap_err());
    assert!(e.contains("only") && e.contains("100000"), "{e}");
}

/// The subset compiled into swapnas (what a fresh clone runs on) equals what the loaders read
/// from the checksummed source files: every one of the 15,625 NB201 rows (official index,
/// validation and test accuracy per task) and the first CIFAR-10/100 training images, byte
/// for byte.
#[test]
fn embedded_subset_equals_the_sources() {
    let Some(_full) = common::full_data("the NB201 source tables and CIFAR training files") else { return };
    let dir = common::data_dir();
    let sources =
        Nb201Table::load_files(&dir.require(&NB201_SUITEZERO_ZIP).unwrap(), &dir.require(&NB201_NATS_CSV).unwrap()).unwrap();
    let embedded = Nb201Table::embedded().unwrap();
    assert_eq!(sources.records().len(), NUM_ARCHS);
    assert_eq!(embedded.records().len(), NUM_ARCHS);
    for (s, e) in sources.records().iter().zip(embedded.records()) {
        assert_eq!(
            (&s.arch, s.nb201_index, s.val_acc, s.test_acc),
            (&e.arch, e.nb201_index, e.val_acc, e.test_acc),
            "embedded row of {} differs from the sources",
            s.arch
        );
    }
    for (rel, record) in [("images/cifar-10-batches-bin/data_batch_1.bin", 3073), ("images/cifar-100-binary/train.bin", 3074)] {
        let embedded = swapnas_benchmarks::data::embedded::first_images(rel).expect("embedded");
        let source = std::fs::read(dir.path(rel)).unwrap();
        assert_eq!(embedded.len(), 64 * record, "{rel}: 64 images");
        assert!(
            source.len() >= embedded.len() && source[..embedded.len()] == *embedded,
            "{rel}: embedded images differ from the file"
        );
    }
}

/// A run's accuracy label names where the accuracies were read from: an HDF5 archive converted
/// from an official release says so (its source, reader and converter), instead of the label
/// every NB201 run used to carry, "(Suite-Zero)" / "(NATS-Bench)", whatever was read.
#[test]
fn accuracy_labels_name_what_was_read() {
    use swapnas_benchmarks::space::Request;
    use swapnas_benchmarks::spaces::nb201::NB201_ARCHIVE;
    let space = swapnas_benchmarks::spaces::find("nb201").unwrap();
    let task = space.task("cifar10").unwrap();
    let label = |dir: &swapnas_benchmarks::DataDir, column: usize| {
        let request = Request { task, set: None, archs: Some(3), seed: 0, accuracy: &task.accuracies[column], largest: false };
        space.load(&request, dir).unwrap().accuracy_label
    };
    // An archive as scripts/convert_nb201.py writes one (its provenance keys), from real values.
    let dir = std::env::temp_dir().join(format!("swapnas-labels-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let provenance = [
        ("source", "NATS-tss-v1_0-3ffb9-simple"),
        ("reader", "nats_bench"),
        ("converter", "scripts/convert_nb201.py"),
        ("metrics", "200-epoch accuracies"),
    ]
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .into();
    let archive = dir.join(NB201_ARCHIVE);
    std::fs::create_dir_all(archive.parent().unwrap()).unwrap();
    Nb201Table::embedded().unwrap().to_archive(provenance).write(&archive).unwrap();
    let data = swapnas_benchmarks::DataDir::at(&dir);
    for column in [0, 1] {
        let l = label(&data, column);
        assert!(l.contains("NATS-tss-v1_0-3ffb9-simple read by nats_bench") && l.contains(NB201_ARCHIVE), "{l}");
        assert!(!l.contains("Suite-Zero"), "{l}");
    }
    // Without the archive: the embedded subset, naming its sources.
    std::fs::remove_file(&archive).unwrap();
    let embedded = swapnas_benchmarks::DataDir::at(&dir);
    assert!(label(&embedded, 0).contains("NAS-Bench-Suite-Zero's val_accuracy, embedded subset"), "{}", label(&embedded, 0));
    assert!(label(&embedded, 1).contains("NATS-Bench's test accuracy, embedded subset"), "{}", label(&embedded, 1));
    let _ = std::fs::remove_dir_all(dir);
}

/// RoBoT's hp = 12 pickle as the NB201 space's query table: every arch once, the numpy
/// float64s decoded to the values Python's `pickle.load` gives (the file's first two rows and
/// its maximum, printed by Python), the same on every task; a truncated file is an error that
/// names it.
#[test]
fn hp12_query_table_reads_robots_pickle() {
    let Some(data) = common::full("RoBoT's nb2_cf10_hp12_info.p") else { return };
    let space = swapnas_benchmarks::spaces::find("nb201").unwrap();
    let t = space.queries(space.task("cifar100").unwrap(), &data).unwrap();
    assert_eq!((t.entries.len(), t.budget), (NUM_ARCHS, 20));
    let q = t.entries["|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|"];
    assert_eq!((q.accuracy, q.train_seconds), (63.36399998046875, Some(86.65311598777771)));
    let q = t.entries["|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"];
    assert_eq!((q.accuracy, q.train_seconds), (82.83399999389648, Some(130.17848253250122)));
    assert_eq!(t.entries.values().map(|q| q.accuracy).fold(f64::MIN, f64::max), 84.89199999023438);
    assert!(t.about.contains("12 epochs"), "{}", t.about);

    let root = std::env::temp_dir().join(format!("swapnas-hp12-{}", std::process::id()));
    let file = root.join("benchmarks/nb201/nb2_cf10_hp12_info.p");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    let bytes = std::fs::read(data.path("benchmarks/nb201/nb2_cf10_hp12_info.p")).unwrap();
    std::fs::write(&file, &bytes[..bytes.len() / 2]).unwrap();
    let err =
        format!("{:#}", space.queries(space.task("cifar10").unwrap(), &swapnas_benchmarks::DataDir::at(&root)).unwrap_err());
    assert!(err.contains("nb2_cf10_hp12_info.p"), "{err}");
    let _ = std::fs::remove_dir_all(&root);
}
