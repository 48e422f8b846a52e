//! Runs every program in `lang-examples/` and `benches/programs/` with the
//! real binary and compares its stdout with the `.out` file beside it, in the
//! interpreter and with every function compiled (examples) or in the
//! default configuration (benchmarks: their interpreter runs are slow).
//!
//! The benchmark programs are sized for timing, so in debug builds only the
//! examples run; `cargo test --release` runs both.

use std::path::{Path, PathBuf};
use std::process::Command;

fn programs(dir: &str) -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", root.display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "toy"))
        .collect();
    files.sort();
    files
}

fn check(files: &[PathBuf], modes: &[&[&str]]) {
    assert!(!files.is_empty(), "no programs found");
    let mut failures = Vec::new();
    for file in files {
        let expected = std::fs::read_to_string(file.with_extension("out"))
            .unwrap_or_else(|e| panic!("{}: no .out file: {e}", file.display()));
        for mode in modes {
            let out = Command::new(env!("CARGO_BIN_EXE_toyc"))
                .arg("run")
                .args(*mode)
                .arg(file)
                .output()
                .expect("run toyc");
            let stdout = String::from_utf8_lossy(&out.stdout);
            if !out.status.success() || stdout != expected {
                failures.push(format!(
                    "{} {:?}: exit {:?}\n--- expected\n{expected}--- got\n{stdout}--- stderr\n{}",
                    file.display(),
                    mode,
                    out.status.code(),
                    String::from_utf8_lossy(&out.stderr)
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn lang_examples_print_their_out_files() {
    check(
        &programs("lang-examples"),
        &[&["--no-jit"], &["--jit-threshold", "0"]],
    );
}

#[test]
fn benchmark_programs_print_their_out_files() {
    if cfg!(debug_assertions) {
        eprintln!("skipped in debug builds: run `cargo test --release`");
        return;
    }
    check(&programs("benches/programs"), &[&[]]);
}
