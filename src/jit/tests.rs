//! Tests of the JIT tier through the real VM: every program runs in the
//! interpreter and with the JIT, and the results must be identical.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::bytecode::GlobalNames;
use crate::compiler::CompileOptions;
use crate::driver::{self, CapturedOutput};
use crate::jit::tools::ToolOptions;
use crate::runtime::interrupt::Interrupt;
use crate::runtime::{Vm, VmOptions};

/// What a run produced: stdout, then the error's message and trace.
type Outcome = (String, Option<(String, Vec<(String, u32)>)>);

/// Runs `src` with the given options on a thread with the stack `main.rs`
/// gives the VM (compiled code and tier switches use the native stack).
fn run_with(src: &str, opts: VmOptions) -> Outcome {
    run_with_frame_pointers(src, opts, false)
}

/// [`run_with`], choosing whether compiled frames keep frame pointers
/// (`--frame-pointers`).
fn run_with_frame_pointers(src: &str, opts: VmOptions, frame_pointers: bool) -> Outcome {
    let src = src.to_string();
    let worker = std::thread::Builder::new().stack_size(256 << 20);
    let handle = worker.spawn(move || {
        let mut globals = GlobalNames::default();
        let script = driver::compile_source(&src, &mut globals, CompileOptions::default())
            .expect("test program compiles");
        let out = CapturedOutput::default();
        let mut vm = Vm::new(opts, Box::new(out.clone()));
        let tools = ToolOptions {
            frame_pointers,
            ..ToolOptions::default()
        };
        vm.set_jit_tools(tools).expect("no perf map to open");
        let result = vm.run(script, &globals);
        vm.flush();
        let err = result.err().map(|e| {
            let trace = e
                .trace
                .iter()
                .map(|t| (t.function.clone(), t.line))
                .collect();
            (e.message, trace)
        });
        let text = String::from_utf8_lossy(&out.bytes()).into_owned();
        (text, err)
    });
    handle.unwrap().join().expect("VM thread panicked")
}

fn opts(threshold: Option<u32>, gc_stress: bool) -> VmOptions {
    VmOptions {
        gc_stress,
        jit_threshold: threshold,
        ..VmOptions::default()
    }
}

/// Runs `src` in the interpreter and in several JIT modes (with and without
/// GC stress and frame pointers) and checks all agree; returns the
/// interpreter's outcome.
fn same_in_all_tiers(src: &str) -> Outcome {
    let expected = run_with(src, opts(None, false));
    for threshold in [0, 1, 2, 7] {
        for stress in [false, true] {
            for fp in [false, true] {
                let got = run_with_frame_pointers(src, opts(Some(threshold), stress), fp);
                let mode =
                    format!("threshold {threshold}, gc stress {stress}, frame pointers {fp}");
                assert_eq!(got, expected, "{mode}");
            }
        }
    }
    expected
}

#[test]
fn odd_and_even_stack_depths_at_helper_calls() {
    // Helper calls happen with 1..=5 values pushed in the frame; the debug
    // assertion in `jit_call` checks the native stack alignment each time.
    let (out, err) = same_in_all_tiers(
        "fn f1(a) { return [a]; }
         fn f2(a, b) { return str(a) + str(b); }
         fn f3(a, b, c) { return [a, b, c]; }
         let x = 1 + f1(2)[0] + len(f2(3, 4)) + len(f3(5, 6, 7));
         print(x, f2(1, f1(2)), f3(1, 2, f3(3, 4, 5)));
         print(1, 2, 3, 4, 5);",
    );
    assert_eq!(err, None);
    assert_eq!(out, "8 1[2] [1, 2, [3, 4, 5]]\n1 2 3 4 5\n");
}

#[test]
fn allocating_helpers_under_gc_stress() {
    let (out, err) = same_in_all_tiers(
        "fn make(n) {
             let parts = [];
             for i in 0..n { push(parts, \"p\" + str(i)); }
             let m = {\"k\": parts};
             let f = fn(j) { return m[\"k\"][j] + \"!\"; };
             return f;
         }
         let s = \"\";
         for i in 0..30 { s = s + make(i + 1)(i); }
         print(len(s));
         for k in {\"a\": 1, \"b\": 2} { s = s + k; }
         print(s[len(s) - 2] + s[len(s) - 1]);",
    );
    assert_eq!(err, None);
    assert_eq!(out, "110\nab\n");
}

#[test]
fn raising_helpers_report_the_same_error_and_trace() {
    let cases = [
        "fn f(a) { return a + nil; }\nfn g() { return f(1); }\nprint(g());",
        "let a = [1, 2];\nfn f(i) {\n  return a[i];\n}\nprint(f(1));\nprint(f(5));",
        "fn f(n) { return 10 / n; }\nfor i in 0..3 {\n  print(f(2 - i));\n}",
        "fn f() { return undefined_later; }\nprint(f());\nlet undefined_later = 1;",
        "fn f(x) { return x(); }\nf(3);",
        "fn f(a, b) { return a; }\nf(1);",
        "let m = {};\nm[[1]] = 2;",
        "for i in 0..\"x\" {}",
        "for x in 5 {}",
        "error(\"boom\");",
    ];
    for src in cases {
        let (_, err) = same_in_all_tiers(src);
        assert!(err.is_some(), "{src} should fail");
    }
}

#[test]
fn deep_recursion_in_every_mix_of_tiers() {
    let src = "fn down(n) { if n == 0 { return 0; } return 1 + down(n - 1); }
               print(down(10000));";
    assert_eq!(same_in_all_tiers(src), ("10000\n".to_string(), None));
}

#[test]
fn unbounded_recursion_is_a_stack_overflow() {
    let src = "fn a(n) { return b(n) + 1; }\nfn b(n) { return a(n) + 1; }\na(0);";
    for threshold in [None, Some(0), Some(2), Some(1000)] {
        for fp in [false, true] {
            let (_, err) = run_with_frame_pointers(src, opts(threshold, false), fp);
            let mode = format!("threshold {threshold:?}, frame pointers {fp}");
            assert_eq!(err.unwrap().0, "stack overflow", "{mode}");
        }
    }
}

#[test]
fn osr_enters_a_running_top_level_loop() {
    let src = "let s = 0;\nfor i in 0..1000 { s = s + i * 2; }\nlet j = 0;\nwhile j < 500 { j = j + 1; }\nprint(s, j);";
    assert_eq!(same_in_all_tiers(src).0, "999000 500\n");
}

#[test]
fn no_rwx_mapping_while_compiled_code_runs() {
    let running = Arc::new(AtomicBool::new(true));
    let flag = running.clone();
    let scanner = std::thread::spawn(move || {
        let mut scans = 0;
        while flag.load(Ordering::Relaxed) {
            let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
            for line in maps.lines() {
                let perms = line.split_whitespace().nth(1).unwrap_or("");
                assert!(!perms.starts_with("rwx"), "rwx mapping: {line}");
            }
            scans += 1;
        }
        scans
    });
    let src = "let s = 0;\nfor i in 0..3000000 { s = (s + i) % 1000003; }\nprint(s);";
    let (out, err) = run_with(src, opts(Some(0), false));
    running.store(false, Ordering::Relaxed);
    let scans = scanner.join().expect("no rwx mapping");
    assert_eq!(err, None);
    assert!(!out.is_empty());
    assert!(scans > 0);
}

#[test]
fn compiled_loops_poll_the_interrupt_flag() {
    let (_, err) = run_with("let i = 0;\nwhile true { i = i + 1; }", interrupted_soon());
    assert_eq!(err.unwrap().0, "interrupted");
}

/// Options with every function compiled and an interrupt raised after
/// 100 ms.
fn interrupted_soon() -> VmOptions {
    let interrupt = Arc::new(Interrupt::new());
    let raiser = interrupt.clone();
    std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(100));
        raiser.raise();
    });
    VmOptions {
        jit_threshold: Some(0),
        interrupt,
        ..VmOptions::default()
    }
}

/// Calls without loops (here about 2^60 of them) also stop: raising the
/// interrupt zeroes the frame limit that every compiled call compares.
#[test]
fn compiled_calls_notice_an_interrupt() {
    let src = "fn f(n) { if n == 0 { return 0; } return f(n - 1) + f(n - 1); }\nprint(f(60));";
    let (_, err) = run_with(src, interrupted_soon());
    assert_eq!(err.unwrap().0, "interrupted");
}

#[test]
fn a_full_code_cache_leaves_functions_interpreted() {
    let src = "fn f(n) { return n * 2; }\nlet s = 0;\nfor i in 0..100 { s = s + f(i); }\nprint(s);";
    let vm_opts = VmOptions {
        jit_threshold: Some(0),
        jit_code_limit: Some(64),
        ..VmOptions::default()
    };
    assert_eq!(run_with(src, vm_opts).0, "9900\n");
}
