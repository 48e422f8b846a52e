//! How fast the baseline JIT compiles, and how much code it emits.
//!
//! Every function of every program in `benches/programs/` is compiled with
//! `toyc::jit::compiler::compile`: bytecode analysis, one template per
//! instruction, label resolution. Installing the code (mmap + mprotect) is
//! not included. Criterion reports bytecode instructions per second; the
//! machine-code bytes per instruction are printed once, per program and in
//! total, since they do not vary between runs.

use std::hint::black_box;
use std::rc::Rc;
use std::sync::atomic::AtomicBool;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use toyc::bytecode::{Constant, FunctionProto};
use toyc::jit::JitCtx;
use toyc::jit::compiler::{Env, compile};
use toyc::runtime::Value;
use toyc::runtime::heap::{FuncObj, Heap};

#[path = "common/mod.rs"]
mod common;

/// Builds the runtime function of `proto` and of every nested function, the
/// way the VM loads them, and appends them all to `out`.
///
/// String constants are real heap strings so that the emitted immediates
/// (object pointers) have their real size. The functions are boxed because
/// `children` holds their addresses, which must not move.
#[allow(clippy::vec_box)]
fn load(proto: &Rc<FunctionProto>, heap: &mut Heap, out: &mut Vec<Box<FuncObj>>) -> *const FuncObj {
    let consts = proto
        .consts
        .iter()
        .map(|c| match c {
            Constant::Int(i) => Value::int(*i),
            Constant::Float(f) => Value::float(*f),
            Constant::Str(s) => heap.new_string(s.as_bytes().into()),
        })
        .collect();
    let children = proto.protos.iter().map(|p| load(p, heap, out)).collect();
    let mut func = Box::new(FuncObj::new(proto, consts));
    func.children = children;
    let ptr: *const FuncObj = &*func;
    out.push(func);
    ptr
}

/// Every bench program's name and its functions (script included).
#[allow(clippy::vec_box)]
fn all_functions(heap: &mut Heap) -> Vec<(String, Vec<Box<FuncObj>>)> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/programs");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .expect("benches/programs exists")
        .map(|e| e.expect("readable directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "toy"))
        .collect();
    files.sort();
    files
        .iter()
        .map(|path| {
            let src = std::fs::read_to_string(path).expect("readable program");
            let program = common::compile(&src);
            let mut funcs = Vec::new();
            load(&program.script, heap, &mut funcs);
            let name = path.file_stem().unwrap().to_string_lossy().into_owned();
            (name, funcs)
        })
        .collect()
}

fn bench_jit_compile(c: &mut Criterion) {
    let mut heap = Heap::new(false);
    let programs = all_functions(&mut heap);
    let ctx = Box::new(JitCtx::default());
    let interrupt = AtomicBool::new(false);
    let env = Env {
        ctx: &*ctx as *const JitCtx as usize,
        interrupt: &interrupt,
        // No global is defined yet: the templates keep their checks.
        globals: &[],
        frame_pointers: false,
    };

    // Bytes per instruction: a property of the templates, printed once.
    let (mut instrs, mut bytes) = (0usize, 0usize);
    println!("jit_compile: machine-code bytes per bytecode instruction");
    for (name, funcs) in &programs {
        let n: usize = funcs.iter().map(|f| f.proto.code.len()).sum();
        let b: usize = funcs
            .iter()
            .map(|f| compile(f, &env).expect("compiles").code.len())
            .sum();
        println!(
            "  {name:14} {n:5} instructions {b:7} bytes {:6.1} bytes/instruction",
            b as f64 / n as f64
        );
        instrs += n;
        bytes += b;
    }
    println!(
        "  {:14} {instrs:5} instructions {bytes:7} bytes {:6.1} bytes/instruction",
        "total",
        bytes as f64 / instrs as f64
    );

    let mut group = c.benchmark_group("jit_compile");
    group.throughput(Throughput::Elements(instrs as u64));
    group.bench_function("all_programs", |b| {
        b.iter(|| {
            for (_, funcs) in &programs {
                for f in funcs {
                    black_box(compile(black_box(f), &env).expect("compiles"));
                }
            }
        })
    });
    group.finish();
}

criterion_group!(benches, bench_jit_compile);
criterion_main!(benches);
