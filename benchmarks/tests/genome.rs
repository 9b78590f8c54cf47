//! Each searchable space's genome against its table: the genes enumerate exactly the space's
//! archs (NB201's 15,625, TNB101 micro's 4,096 and macro's 3,256, whose constraints are the
//! official generator's), labels are the table's, and every label builds back into itself.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::collections::HashSet;
use swapnas_benchmarks::space::Request;
use swapnas_benchmarks::spaces;

mod common;
use common::data_dir;

fn table_labels(space: &str) -> HashSet<String> {
    let space = spaces::find(space).unwrap();
    let task = &space.tasks()[0];
    let request = Request { task, set: None, archs: Some(0), seed: 0, accuracy: &task.accuracies[0], largest: false };
    space.load(&request, &data_dir()).unwrap().candidates.into_iter().map(|c| c.label).collect()
}

#[test]
fn complete_tables_are_exactly_the_genome_archs() {
    let Some(_full) = common::full_data("the TransNAS-Bench-101 tables") else { return };
    for (name, count) in [("nb201", 15_625), ("tnb101-micro", 4_096), ("tnb101-macro", 3_256)] {
        let space = spaces::find(name).unwrap();
        let genome = space.genome().unwrap();
        assert!(genome.table_complete);
        let all = genome.enumerate(1_000_000).unwrap();
        let labels: HashSet<String> = all.iter().map(|g| (genome.label)(g)).collect();
        assert_eq!(all.len(), count, "{name}");
        assert_eq!(labels.len(), count, "{name}: labels are one-to-one");
        assert_eq!(labels, table_labels(name), "{name}: the genome's archs are the table's");
        // A label builds back into the same arch, without the table.
        let task = &space.tasks()[0];
        for g in all.iter().step_by(97) {
            let label = (genome.label)(g);
            assert_eq!(space.reference_candidate(&label, task).unwrap().label, label);
        }
    }
}

#[test]
fn largest_params_known_without_the_table_equal_the_tables() {
    let Some(_full) = common::full_data("the TransNAS-Bench-101 tables") else { return };
    for name in ["nb201", "tnb101-micro", "tnb101-macro"] {
        let space = spaces::find(name).unwrap();
        let genome = space.genome().unwrap();
        for task in space.tasks().iter().take(3) {
            let request = Request { task, set: None, archs: Some(1), seed: 0, accuracy: &task.accuracies[0], largest: true };
            let from_table = space.load(&request, &data_dir()).unwrap().largest_params;
            assert_eq!(Some((genome.largest_params.unwrap())(task)), from_table, "{name} {}", task.name);
        }
    }
}

#[test]
fn darts_genes_are_darts_archs() {
    let space = spaces::find("nb301").unwrap();
    let genome = space.genome().unwrap();
    assert!(!genome.table_complete);
    let task = &space.tasks()[0];
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    for _ in 0..50 {
        let g = genome.random(&mut rng).unwrap();
        let label = (genome.label)(&g);
        assert!(label.starts_with("[[("), "{label}");
        assert_eq!(space.reference_candidate(&label, task).unwrap().label, label);
        let m = genome.mutate(&g, &mut rng).unwrap();
        genome.check(&m).unwrap();
    }
}
