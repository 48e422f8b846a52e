//! The fuzzing harnesses, shared by the cargo-fuzz targets in
//! `fuzz_targets/` (nightly) and by this crate's tests (stable).
//!
//! - [`check_compile`]: any bytes through UTF-8 decoding, the lexer, the
//!   parser and the compiler must not panic, and every error must be
//!   well-formed: a position of at least 1:1 inside the source (or one past
//!   its last line), a non-empty message without control characters (so
//!   it stays on one line), errors in source order.
//! - [`check_differential`]: the random terminating program for a seed
//!   (`tests/support/progen.rs`) must print the same output and fail with
//!   the same error and trace in the interpreter and with every function
//!   compiled before it runs (JIT threshold 0), in this process.


use toyc::bytecode::GlobalNames;
use toyc::compiler::CompileOptions;
use toyc::diag::CompileError;
use toyc::driver::{self, CapturedOutput};
use toyc::runtime::{Vm, VmOptions};

#[path = "../../tests/support/progen.rs"]
#[allow(dead_code)]
mod progen;

/// Panics if `err` is not a well-formed error for `src`.
fn check_error(src: &[u8], err: &CompileError) {
    let lines = src.split(|&b| b == b'\n').count() as u32;
    assert!(err.line >= 1 && err.col >= 1, "position {err}");
    assert!(err.line <= lines + 1, "line past the end: {err}");
    assert!(!err.message.is_empty(), "empty message at {err}");
    // Quoted source text has its control characters escaped
    // (`lexer::quote`), so nothing can break the message's line.
    assert!(
        !err.message.chars().any(char::is_control),
        "control character in message: {err}"
    );
}

/// The `compile` target. Panics (a finding) on any problem.
pub fn check_compile(data: &[u8]) {
    let src = match driver::decode_source(data) {
        Ok(src) => src,
        Err(e) => return check_error(data, &e),
    };
    let mut globals = GlobalNames::default();
    match driver::compile_source(src, &mut globals, CompileOptions::default()) {
        Ok(_) => {}
        Err(errors) => {
            assert!(!errors.is_empty(), "compile failed without an error");
            for e in &errors {
                check_error(data, e);
            }
            assert!(errors.is_sorted(), "errors out of source order");
            let text = driver::render_compile_errors("f.toy", src, &errors);
            assert!(text.starts_with("f.toy:"), "rendered as {text:?}");
        }
    }
}

/// Stdout, then the error message and trace (function, line), if any.
type Outcome = (Vec<u8>, Option<(String, Vec<(String, u32)>)>);

fn run(src: &str, jit_threshold: Option<u32>) -> Outcome {
    let mut globals = GlobalNames::default();
    let script = driver::compile_source(src, &mut globals, CompileOptions::default())
        .unwrap_or_else(|e| panic!("generated program does not compile: {e:?}\n{src}"));
    let out = CapturedOutput::default();
    let opts = VmOptions {
        jit_threshold,
        ..VmOptions::default()
    };
    // Generated programs terminate; a tier bug that loops is caught by
    // libFuzzer's `-timeout` (no `set_timeout`: its timer thread would
    // outlive the run and count as a leak).
    let mut vm = Vm::new(opts, Box::new(out.clone()));
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
    let stdout = out.bytes();
    (stdout, err)
}

/// The `differential` target. Panics (a finding) when the tiers disagree.
/// Runs on a thread with the stack size `toyc` itself uses.
pub fn check_differential(seed: u64) {
    let worker = std::thread::Builder::new().stack_size(256 << 20);
    let handle = worker
        .spawn(move || {
            let src = progen::generate(seed).source();
            let interp = run(&src, None);
            let jit = run(&src, Some(0));
            (src, interp, jit)
        })
        .expect("spawn the VM thread");
    let (src, interp, jit) = handle.join().expect("VM thread panicked");
    if interp != jit {
        panic!(
            "seed {seed}: the interpreter and the JIT disagree\n{src}\n\
             --- interpreter: {:?}\n{}\n--- jit: {:?}\n{}",
            interp.1,
            String::from_utf8_lossy(&interp.0),
            jit.1,
            String::from_utf8_lossy(&jit.0),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iterations() -> u64 {
        std::env::var("TOYC_FUZZ_ITERS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(200)
    }

    #[test]
    fn differential_on_stable() {
        for seed in 0..iterations() {
            check_differential(seed);
        }
    }

    #[test]
    fn compile_on_stable() {
        let mut rng = progen::Rng::new(7);
        for _ in 0..iterations() {
            // Generated programs, cut and with bytes flipped.
            let mut bytes = progen::generate(rng.next_u64()).source().into_bytes();
            bytes.truncate(rng.below(bytes.len() + 1));
            for _ in 0..rng.below(5) {
                if !bytes.is_empty() {
                    let at = rng.below(bytes.len());
                    bytes[at] = rng.next_u64() as u8;
                }
            }
            check_compile(&bytes);
        }
    }
}
