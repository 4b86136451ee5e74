//! Replays every input the fuzzers (fuzz/) found a failure with, and their hostile seeds,
//! through the same oracles, so that a fixed crash stays fixed without the nightly toolchain.

mod oracles;

use std::path::Path;

fn inputs(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/fuzz")
        .join(target);
    let mut found: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| {
            let path = e.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&path).unwrap())
        })
        .collect();
    found.sort();
    assert!(!found.is_empty(), "no inputs in {}", dir.display());
    found
}

#[test]
fn load_inputs_found_by_fuzzing() {
    for (name, bytes) in inputs("load") {
        eprintln!("{name}");
        oracles::load(&bytes);
    }
}

#[test]
fn plan_inputs_found_by_fuzzing() {
    for (name, bytes) in inputs("load").into_iter().chain(inputs("plan")) {
        eprintln!("{name}");
        oracles::plan(&bytes);
    }
}

#[test]
fn quantity_inputs_found_by_fuzzing() {
    for (name, bytes) in inputs("quantity") {
        eprintln!("{name}");
        oracles::quantity(&String::from_utf8_lossy(&bytes));
    }
}
