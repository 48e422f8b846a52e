//! Interpreter dispatch cost: a tight loop of simple instructions (local
//! loads and stores, integer adds, a compare-and-branch, a back-edge), run
//! in a fresh VM. Criterion's throughput is bytecode instructions executed,
//! so its time per element is the cost of one instruction, dispatch
//! included.
//!
//! The same loop under the default tiering (`jit`) shows what the template
//! JIT saves on exactly the same instructions.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use toyc::bytecode::{FunctionProto, Op};

#[path = "common/mod.rs"]
mod common;

/// Loop iterations per run.
const N: u64 = 1_000_000;

/// The loop lives in a function so that its variables are locals (slots),
/// the common case in real programs.
fn source() -> String {
    format!(
        "fn spin(n) {{
    let i = 0;
    let x = 0;
    while i < n {{
        x = x + i;
        i = i + 1;
    }}
    return x;
}}
print(spin({N}));
"
    )
}

/// Instructions executed per loop iteration: from the loop header (the
/// back-edge's target) to the back-edge itself. The body has no branches
/// besides the exit test, so every one of them runs each iteration.
fn instructions_per_iteration(f: &FunctionProto) -> u64 {
    f.code
        .iter()
        .enumerate()
        .find_map(|(pc, op)| match op {
            Op::Loop { target } => Some((pc - *target as usize + 1) as u64),
            _ => None,
        })
        .expect("spin has a loop")
}

fn bench_dispatch(c: &mut Criterion) {
    let program = common::compile(&source());
    let per_iteration = instructions_per_iteration(&program.script.protos[0]);
    let instructions = per_iteration * N;
    println!("dispatch: {per_iteration} instructions per iteration, {instructions} per run");

    let mut group = c.benchmark_group("dispatch");
    group.sample_size(20);
    group.throughput(Throughput::Elements(instructions));
    group.bench_function("interpreter", |b| {
        b.iter(|| common::run(&program, common::options(None)))
    });
    group.bench_function("jit", |b| {
        b.iter(|| common::run(&program, common::options(common::default_jit())))
    });
    group.finish();
}

criterion_group!(benches, bench_dispatch);
criterion_main!(benches);
