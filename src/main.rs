//! The `toyc` command line. Parsing of arguments lives here; everything else is
//! in the library (`toyc::driver` and the stages behind it).

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::rc::Rc;
use std::sync::Arc;

use clap::{Args, Parser, Subcommand};

use toyc::bytecode::GlobalNames;
use toyc::compiler::CompileOptions;
use toyc::diag::exit;
use toyc::driver;
use toyc::jit::tools::ToolOptions;
use toyc::runtime::interrupt::Interrupt;
use toyc::runtime::{Vm, VmOptions};

mod sweep;

/// The Toy language: a bytecode interpreter with a baseline x86-64 JIT.
#[derive(Parser, Debug)]
#[command(name = "toyc", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,

    #[command(flatten)]
    tiers: TierOptions,

    #[command(flatten)]
    limits: Limits,
}

/// Resource limits for `toyc run` (see docs/errors.md).
#[derive(Args, Debug, Clone)]
struct Limits {
    /// Stop with the runtime error `timeout` after this many seconds.
    #[arg(long, global = true, value_name = "SECONDS")]
    timeout: Option<f64>,

    /// Stop with the runtime error `out of memory` when a collection leaves
    /// more than this many bytes live (default: unlimited).
    #[arg(long, global = true, value_name = "BYTES")]
    max_heap: Option<usize>,
}

impl Limits {
    fn apply(&self, vm: &mut Vm) {
        if let Some(seconds) = self.timeout {
            // Huge or invalid values mean "no timeout".
            if let Ok(limit) = std::time::Duration::try_from_secs_f64(seconds) {
                vm.set_timeout(limit);
            }
        }
        if let Some(bytes) = self.max_heap {
            vm.set_max_heap(bytes);
        }
    }
}

#[derive(Args, Debug, Clone)]
struct TierOptions {
    /// Never compile to machine code: run everything in the interpreter.
    #[arg(long, global = true)]
    no_jit: bool,

    /// Compile a function once its hotness counter (calls + loop back-edges)
    /// reaches N; 0 compiles every function before it first runs.
    #[arg(long, global = true, value_name = "N")]
    jit_threshold: Option<u32>,

    /// Print JIT statistics to stderr at exit.
    #[arg(long, global = true)]
    jit_stats: bool,

    /// Most bytes of machine code the JIT may install (default 64 MiB).
    #[arg(long, global = true, value_name = "BYTES")]
    jit_code_limit: Option<usize>,

    /// Print one line to stderr per tier-up as it happens: function, reason
    /// (call count or OSR at a loop header), counter, compile time, size.
    #[arg(long, global = true)]
    trace_jit: bool,

    /// Print the machine code of each function to stderr when it is
    /// compiled, each bytecode instruction followed by its code.
    #[arg(long, global = true)]
    dump_asm: bool,

    /// Append each compiled function to /tmp/perf-PID.map so that
    /// `perf report` can name it (implies --frame-pointers).
    #[arg(long, global = true)]
    perf_map: bool,

    /// Keep a frame-pointer chain through compiled code, so that
    /// `perf record -g`, debuggers and crash reports can walk the stack
    /// through compiled frames; makes compiled calls about 10% slower.
    #[arg(long, global = true)]
    frame_pointers: bool,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Compile and run a program.
    Run {
        /// The `.toy` file to run.
        file: PathBuf,
    },
    /// Print the bytecode of every function in a program.
    Disasm {
        /// Also compile every function (without running the program) and
        /// print its machine code after the bytecode.
        #[arg(long)]
        asm: bool,
        /// The `.toy` file to disassemble.
        file: PathBuf,
    },
    /// Compile a program without running it; report every compile error.
    Check {
        /// The `.toy` file to check.
        file: PathBuf,
    },
    /// Start the interactive session (also what `toyc` alone does).
    Repl,
    /// Run a program at several JIT thresholds and compare the times.
    Bench(sweep::SweepArgs),
}

/// The default hotness threshold (see docs/jit.md).
const DEFAULT_JIT_THRESHOLD: u32 = toyc::jit::DEFAULT_THRESHOLD;

/// mimalloc instead of the system allocator: Toy programs allocate many
/// small, short-lived objects (strings, arrays, maps), and on the
/// allocation benchmarks glibc's malloc and free were the largest cost.
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc commits its arenas eagerly by default on Linux, which made a
/// hello world's peak RSS 9.8 MB instead of 3.7 MB with glibc's malloc.
/// Committing on demand costs nothing measurable on the allocation
/// benchmarks. The option only affects arenas made after it is set, so it
/// is set from an ELF constructor, before Rust's runtime first allocates.
// SAFETY: the constructor runs before `main` with no Rust runtime set up;
// it only calls mi_option_set, which needs none.
#[cfg(feature = "mimalloc")]
#[used]
#[unsafe(link_section = ".init_array.00100")]
static LAZY_ALLOCATOR_COMMIT: extern "C" fn() = {
    extern "C" fn lazy_allocator_commit() {
        /// `mi_option_arena_eager_commit` in mimalloc.h's `mi_option_e`
        /// (the Rust bindings do not name it).
        const ARENA_EAGER_COMMIT: libmimalloc_sys::mi_option_t = 4;
        // SAFETY: mi_option_set only stores an option value; 0 is valid.
        unsafe { libmimalloc_sys::mi_option_set(ARENA_EAGER_COMMIT, 0) };
    }
    lazy_allocator_commit
};

fn main() -> ExitCode {
    // Faults in compiled code print where they happened (exit code 71).
    toyc::jit::crash::install();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { exit::USAGE } else { 0 };
            let _ = e.print();
            return ExitCode::from(code as u8);
        }
    };
    // Run on a thread with a large stack: the parser and the printer recurse
    // (with explicit depth limits), and deep recursion must never be a crash.
    let worker = std::thread::Builder::new()
        .name("toyc".into())
        .stack_size(256 << 20)
        .spawn(move || run_cli(cli));
    let code = match worker {
        Ok(handle) => handle.join().unwrap_or(exit::SOFTWARE),
        Err(e) => {
            eprintln!("toyc: cannot start: {e}");
            exit::SOFTWARE
        }
    };
    ExitCode::from(code as u8)
}

fn run_cli(cli: Cli) -> i32 {
    let opts = vm_options(&cli.tiers);
    let tools = ToolOptions {
        trace: cli.tiers.trace_jit,
        dump_asm: cli.tiers.dump_asm,
        perf_map: cli.tiers.perf_map,
        frame_pointers: cli.tiers.frame_pointers || cli.tiers.perf_map,
    };
    match cli.command {
        Some(Command::Run { file }) => run_file(&file, opts, tools, &cli.limits),
        Some(Command::Disasm { file, asm }) => disasm_file(&file, asm.then_some(opts)),
        Some(Command::Check { file }) => check_file(&file),
        Some(Command::Bench(args)) => sweep::run(&args),
        Some(Command::Repl) | None => toyc::repl::run(opts, tools),
    }
}

/// A VM for `opts` with the tools switched on.
fn new_vm(opts: VmOptions, tools: ToolOptions, out: Box<dyn std::io::Write>) -> Vm {
    let mut vm = Vm::new(opts, out);
    if let Err(e) = vm.set_jit_tools(tools) {
        eprintln!("toyc: warning: cannot create the perf map: {e}");
    }
    vm
}

fn vm_options(tiers: &TierOptions) -> VmOptions {
    let jit_threshold = if tiers.no_jit {
        None
    } else {
        Some(tiers.jit_threshold.unwrap_or(DEFAULT_JIT_THRESHOLD))
    };
    VmOptions {
        gc_stress: std::env::var_os("TOYC_GC_STRESS").is_some_and(|v| v != "0"),
        jit_threshold,
        jit_code_limit: tiers.jit_code_limit,
        jit_stats: tiers.jit_stats,
        interrupt: Arc::new(Interrupt::new()),
    }
}

/// Reads and compiles a file, printing errors. `Err` carries the exit code.
fn load(
    file: &std::path::Path,
) -> Result<(String, Rc<toyc::bytecode::FunctionProto>, GlobalNames), i32> {
    let name = file.display().to_string();
    let bytes = match std::fs::read(file) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("toyc: cannot read '{name}': {}", io_reason(&e));
            return Err(exit::NOINPUT);
        }
    };
    let src = match driver::decode_source(&bytes) {
        Ok(s) => s,
        Err(e) => {
            eprint!("{}", driver::render_compile_errors(&name, "", &[e]));
            return Err(exit::DATAERR);
        }
    };
    let mut globals = GlobalNames::default();
    match driver::compile_source(src, &mut globals, CompileOptions::default()) {
        Ok(script) => Ok((name, script, globals)),
        Err(errors) => {
            eprint!("{}", driver::render_compile_errors(&name, src, &errors));
            Err(exit::DATAERR)
        }
    }
}

/// The OS error text without Rust's " (os error N)" suffix.
fn io_reason(e: &std::io::Error) -> String {
    let text = e.to_string();
    match text.find(" (os error") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

fn run_file(file: &std::path::Path, opts: VmOptions, tools: ToolOptions, limits: &Limits) -> i32 {
    let (name, script, globals) = match load(file) {
        Ok(loaded) => loaded,
        Err(code) => return code,
    };
    stop_on_ctrl_c(&opts);
    let mut vm = new_vm(opts, tools, Box::new(std::io::stdout()));
    limits.apply(&mut vm);
    let result = vm.run(script, &globals);
    vm.flush();
    match result {
        Ok(_) => 0,
        Err(err) => {
            eprint!("{}", driver::render_runtime_error(&name, &err));
            exit::SOFTWARE
        }
    }
}

/// The first Ctrl-C sets the interrupt flag: the program stops at its next
/// poll (a loop back-edge, a call, or `read_line`) with the runtime error
/// `interrupted`, after everything it printed is flushed. A second Ctrl-C
/// before that poll (code stuck in one long builtin) exits at once with the
/// shell's usual 130.
fn stop_on_ctrl_c(opts: &VmOptions) {
    let interrupt = opts.interrupt.clone();
    let installed = ctrlc::set_handler(move || {
        if interrupt.raise() {
            std::process::exit(130);
        }
    });
    if let Err(e) = installed {
        eprintln!("toyc: warning: cannot handle Ctrl-C: {e}");
    }
}

/// `toyc disasm [--asm]`: with `asm` (the VM options to compile with),
/// every function is compiled at load, as with `--jit-threshold 0`, and
/// its listing follows the bytecode; the program does not run.
fn disasm_file(file: &std::path::Path, asm: Option<VmOptions>) -> i32 {
    let (_, script, globals) = match load(file) {
        Ok(loaded) => loaded,
        Err(code) => return code,
    };
    // Write errors (a closed pipe, as in `toyc disasm --asm F | head`) end
    // the listing quietly.
    let mut out = std::io::stdout().lock();
    let _ = write!(out, "{}", toyc::disasm::disassemble(&script));
    let Some(opts) = asm else { return 0 };
    let opts = VmOptions {
        jit_threshold: Some(0),
        jit_stats: false,
        ..opts
    };
    let mut vm = Vm::new(opts, Box::new(std::io::sink()));
    vm.load_without_running(&script, &globals);
    let mut protos = vec![script];
    while let Some(proto) = protos.pop() {
        let text = vm
            .jit_listing(&proto)
            .unwrap_or_else(|| format!("== {}: not compiled ==\n", proto.display_name()));
        if write!(out, "\n{text}").is_err() {
            break;
        }
        protos.extend(proto.protos.iter().rev().cloned());
    }
    0
}

fn check_file(file: &std::path::Path) -> i32 {
    match load(file) {
        Ok(_) => 0,
        Err(code) => code,
    }
}
