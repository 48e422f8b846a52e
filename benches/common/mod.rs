//! Helpers shared by the Criterion benchmarks: compiling Toy source and
//! running it in a fresh VM through the library API, exactly as `toyc run`
//! does (minus reading the file).

// Each bench is its own crate and uses only some of these.
#![allow(dead_code)]

use std::rc::Rc;

use toyc::bytecode::{FunctionProto, GlobalNames};
use toyc::compiler::CompileOptions;
use toyc::driver::compile_source;
use toyc::runtime::{Vm, VmOptions};

/// A compiled script and the global names it declares.
pub struct Program {
    pub script: Rc<FunctionProto>,
    pub globals: GlobalNames,
}

/// Compiles `src`, panicking with the first error (bench programs are fixed).
pub fn compile(src: &str) -> Program {
    let mut globals = GlobalNames::default();
    let script = compile_source(src, &mut globals, CompileOptions::default())
        .unwrap_or_else(|errors| panic!("bench program does not compile: {}", errors[0].message));
    Program { script, globals }
}

/// VM options: `Some(threshold)` turns the JIT on, `None` is `--no-jit`.
pub fn options(jit_threshold: Option<u32>) -> VmOptions {
    VmOptions {
        jit_threshold,
        ..VmOptions::default()
    }
}

/// Runs `program` in a new VM whose output is discarded; panics on a
/// runtime error.
pub fn run(program: &Program, opts: VmOptions) {
    let mut vm = Vm::new(opts, Box::new(std::io::sink()));
    if let Err(e) = vm.run(program.script.clone(), &program.globals) {
        panic!("bench program failed: {}", e.message);
    }
    vm.flush();
}

/// The default tiering, as `toyc run` uses it.
pub fn default_jit() -> Option<u32> {
    Some(toyc::jit::DEFAULT_THRESHOLD)
}
