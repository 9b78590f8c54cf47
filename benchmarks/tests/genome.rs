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
    // The table of every arch (TransNAS-Bench-101's `all` set; NB201 has one table).
    let set = space.sets().iter().find(|s| s.name == "all");
    let request = Request { task, set, archs: Some(0), seed: 0, accuracy: &task.accuracies[0], largest: false };
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

/// NB101's genome: random genes are cells `nasbench` accepts (an input → output path, at most
/// 9 edges after pruning), each label builds back into itself, and the table's archs are found
/// by the cell hash: a relabelled copy of a row (two unconnected neighbouring interior vertices
/// swapped) has the row's key. The sample's 500 rows hold
/// 292 distinct cells (repeats are rows of other training seeds).
#[test]
fn nb101_genes_are_cells_found_by_their_hash() {
    let space = spaces::find("nb101").unwrap();
    let genome = space.genome().unwrap();
    assert_eq!(genome.len(), 26);
    let task = &space.tasks()[0];
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    for _ in 0..200 {
        let g = genome.random(&mut rng).unwrap();
        let label = (genome.label)(&g);
        let arch: swapnas_benchmarks::spaces::nb101::Nb101Arch = label.parse().unwrap();
        assert!(arch.pruned().matrix.iter().flatten().filter(|&&e| e).count() <= 9);
        assert_eq!(space.reference_candidate(&label, task).unwrap().label, label);
        let child = genome.mutate(&g, &mut rng).unwrap();
        genome.check(&child).unwrap();
    }
    let Some(_full) = common::full_data("NB101's Suite-Zero sample") else { return };
    let labels = table_labels("nb101");
    let keys: HashSet<String> = labels.iter().map(|l| space.arch_key(l)).collect();
    assert_eq!((labels.len(), keys.len()), (500, 292));
    // Swap two neighbouring interior vertices with no edge between them: the same cell,
    // another encoding (the matrix stays upper-triangular).
    let mut swapped = 0;
    for label in &labels {
        let v: Vec<u8> = label.trim_matches(|c| c == '(' || c == ')').split(", ").map(|x| x.parse().unwrap()).collect();
        let Some(k) = (1..5).find(|&k| v[k * 7 + k + 1] == 0) else { continue };
        let perm = |i: usize| {
            if i == k {
                k + 1
            } else if i == k + 1 {
                k
            } else {
                i
            }
        };
        let mut m = [0u8; 49];
        for i in 0..7 {
            for j in 0..7 {
                if v[i * 7 + j] == 1 {
                    assert!(perm(i) < perm(j));
                    m[perm(i) * 7 + perm(j)] = 1;
                }
            }
        }
        let ops: Vec<u8> = (0..7).map(|i| v[49 + perm(i)]).collect();
        let relabelled = format!("({})", m.iter().chain(&ops).map(|x| x.to_string()).collect::<Vec<_>>().join(", "));
        assert_eq!(space.arch_key(&relabelled), space.arch_key(label), "{label} vs {relabelled}");
        swapped += 1;
    }
    assert!(swapped > 400, "{swapped}");
}
