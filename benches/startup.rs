//! Time from process start to first output: spawn the `toyc` binary that
//! Cargo built alongside this bench (the optimised one under `cargo bench`)
//! on a one-line hello-world, and stop the clock when the first byte of
//! its output arrives on the pipe.
//!
//! For scale, `spawn_floor` measures the same for `/bin/echo`: the cost of
//! fork + exec + pipe on this machine, which no program can go below.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};

/// Spawns `cmd`, returns the time until its first output byte, then reaps it.
fn time_to_first_output(cmd: &mut Command) -> Duration {
    let start = Instant::now();
    let mut child = cmd
        .stdout(Stdio::piped())
        .stdin(Stdio::null())
        .spawn()
        .expect("spawns");
    let mut stdout = child.stdout.take().expect("piped stdout");
    let mut first = [0u8; 1];
    stdout.read_exact(&mut first).expect("prints something");
    let elapsed = start.elapsed();
    let mut rest = Vec::new();
    stdout.read_to_end(&mut rest).expect("reads the rest");
    assert!(child.wait().expect("waits").success(), "exits with 0");
    elapsed
}

/// Runs `make_cmd` `iters` times and sums the times to first output.
fn total(iters: u64, mut make_cmd: impl FnMut() -> Command) -> Duration {
    (0..iters)
        .map(|_| time_to_first_output(&mut make_cmd()))
        .sum()
}

fn bench_startup(c: &mut Criterion) {
    let toyc = env!("CARGO_BIN_EXE_toyc");
    let dir = std::env::temp_dir().join(format!("toyc-startup-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("creates a temp dir");
    let hello = dir.join("hello.toy");
    std::fs::write(&hello, "print(\"hello\");\n").expect("writes hello.toy");

    let mut group = c.benchmark_group("startup");
    group.sample_size(50);
    group.bench_function("toyc_hello", |b| {
        b.iter_custom(|iters| {
            total(iters, || {
                let mut cmd = Command::new(toyc);
                cmd.arg("run").arg(&hello);
                cmd
            })
        })
    });
    group.bench_function("toyc_hello_no_jit", |b| {
        b.iter_custom(|iters| {
            total(iters, || {
                let mut cmd = Command::new(toyc);
                cmd.args(["run", "--no-jit"]).arg(&hello);
                cmd
            })
        })
    });
    if Path::new("/bin/echo").exists() {
        group.bench_function("spawn_floor", |b| {
            b.iter_custom(|iters| {
                total(iters, || {
                    let mut cmd = Command::new("/bin/echo");
                    cmd.arg("hello");
                    cmd
                })
            })
        });
    }
    group.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(benches, bench_startup);
criterion_main!(benches);
