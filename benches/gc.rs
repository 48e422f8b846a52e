//! GC throughput: loops that allocate many short-lived objects, so that
//! most of the time goes to allocating, marking (the few live objects) and
//! sweeping (the many dead ones).
//!
//! A counting global allocator measures the bytes the loop requests from
//! the system allocator (objects, their item buffers and string bytes, and
//! nothing of the VM's fixed set-up); that is the throughput Criterion
//! reports, in bytes per second. The objects per
//! run are printed once, so objects per second can be derived.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

#[path = "common/mod.rs"]
mod common;

/// The system allocator, counting the bytes requested.
struct Counting;

static ALLOCATED: AtomicU64 = AtomicU64::new(0);

// SAFETY: every call is forwarded unchanged to `System`, which upholds the
// `GlobalAlloc` contract; counting has no effect on the memory handed out.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATED.fetch_add(layout.size() as u64, Ordering::Relaxed);
        // SAFETY: same contract as our caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        ALLOCATED.fetch_add(layout.size() as u64, Ordering::Relaxed);
        // SAFETY: same contract as our caller's.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as our caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATED.fetch_add(new_size as u64, Ordering::Relaxed);
        // SAFETY: same contract as our caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Loop iterations per run.
const N: u64 = 200_000;

/// Makes a bench program's source for a given number of iterations.
type Source = fn(u64) -> String;

/// Each iteration makes one 4-item array; only the last one survives.
fn arrays_source(n: u64) -> String {
    format!(
        "fn churn(n) {{
    let keep = [];
    for i in 0..n {{
        keep = [i, i + 1, i + 2, i + 3];
    }}
    return len(keep);
}}
print(churn({n}));
"
    )
}

/// Each iteration makes two strings: `str(i)` and the concatenation.
fn strings_source(n: u64) -> String {
    format!(
        "fn churn(n) {{
    let keep = \"\";
    for i in 0..n {{
        keep = \"item number \" + str(i);
    }}
    return len(keep);
}}
print(churn({n}));
"
    )
}

/// Bytes one run of `program` requests from the allocator.
fn bytes_per_run(program: &common::Program) -> u64 {
    let before = ALLOCATED.load(Ordering::Relaxed);
    common::run(program, common::options(common::default_jit()));
    ALLOCATED.load(Ordering::Relaxed) - before
}

/// Bytes the loop itself allocates: a run's bytes minus those of the same
/// program with zero iterations (the VM's own stack, tables, the JIT's
/// buffers).
fn loop_bytes(source: Source) -> u64 {
    let full = bytes_per_run(&common::compile(&source(N)));
    let empty = bytes_per_run(&common::compile(&source(0)));
    full.saturating_sub(empty)
}

fn bench_gc(c: &mut Criterion) {
    let mut group = c.benchmark_group("gc");
    group.sample_size(20);
    let cases: [(&str, Source, u64); 2] =
        [("arrays", arrays_source, 1), ("strings", strings_source, 2)];
    for (name, source, objects_per_iteration) in cases {
        let program = common::compile(&source(N));
        let bytes = loop_bytes(source);
        let objects = objects_per_iteration * N;
        println!(
            "gc/{name}: {objects} objects, {bytes} bytes allocated per run ({:.1} bytes/object)",
            bytes as f64 / objects as f64
        );
        group.throughput(Throughput::Bytes(bytes));
        group.bench_function(name, |b| {
            b.iter(|| common::run(&program, common::options(common::default_jit())))
        });
    }
    group.finish();
}

criterion_group!(benches, bench_gc);
criterion_main!(benches);
