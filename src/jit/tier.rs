//! The JIT as a tier of the VM: its state ([`Jit`]), choosing hot functions,
//! the one entry path from Rust into compiled code, and statistics.
//!
//! # Tier-up
//!
//! Each function has a hotness counter (`FuncObj::hotness`) that the
//! interpreter bumps at every call and every loop back-edge. When it reaches
//! the threshold exactly (`--jit-threshold N`), the function is compiled:
//!
//! * at a call: the call runs the new machine code;
//! * at a back-edge: the running frame moves into the machine code at the
//!   loop header (on-stack replacement). The frame layout is shared, so the
//!   values already on the VM stack are exactly where compiled code expects
//!   them; only the entry `pc` tells the code where to start.
//!
//! Because the counter passes the threshold once, a failed compile (cache
//! full, executable memory refused) is never retried. Threshold 0 compiles
//! every function when it is loaded, the script included, before it runs.
//!
//! # Entering and leaving compiled code
//!
//! Rust enters machine code only through [`Vm::enter_compiled`]
//! (`entry(vm, base, pc) -> status`), from the interpreter's `Call`, its
//! back-edges (OSR) and `Vm::run` (a compiled script). Compiled code leaves
//! only by returning: status 0 after its `Return` (result in `base[0]`, frame
//! popped) or 1 after an error (parked in `vm.jit_error`). Compiled code
//! calls interpreted functions through the `jit_call` helper, which runs
//! `Vm::execute` for them; it calls compiled functions directly.
//!
//! # The native stack
//!
//! Interpreted calls never grow the Rust stack, but compiled frames, and
//! every switch between the tiers, do. Calls check the address of a local
//! against a limit set [`NATIVE_STACK_BUDGET`] bytes below where `Vm::run`
//! started, and raise `stack overflow` beyond it, so mixed-tier recursion
//! ends in the spec's error instead of a crash. The VM's thread must have at
//! least that much stack plus some headroom (`main.rs` runs it on a 256 MiB
//! thread).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use super::code_cache::{CacheError, CodeCache};
use super::compiler::{self, Env};
use super::tools::{Reason, Tools};
use crate::diag::RuntimeError;
use crate::runtime::heap::FuncObj;
use crate::runtime::interrupt::Watcher;
use crate::runtime::vm::STACK_SLOTS;
use crate::runtime::{Value, Vm, VmOptions};

/// The default hotness threshold (calls + back-edges); see docs/jit.md for
/// how it was chosen.
pub const DEFAULT_THRESHOLD: u32 = 100;
/// The default code limit (`--jit-code-limit`): 64 MiB.
pub const DEFAULT_CODE_LIMIT: usize = 64 << 20;
/// How much native stack compiled code and tier switches may use.
pub const NATIVE_STACK_BUDGET: usize = 160 << 20;

/// The signature of compiled code: `(vm, frame base, entry pc) -> status`.
pub type Entry = unsafe extern "sysv64" fn(*mut Vm, *mut Value, u64) -> u64;

/// Data compiled code reads through a fixed address (in `r_aux`).
///
/// It lives in an `Arc` so that the interrupt can reach it from another
/// thread (see [`Watcher`]); its fields are atomics for the same reason.
/// Compiled code reads and writes them as plain memory (an atomic has the
/// layout of its value, and x86-64 loads and stores of aligned words are
/// atomic).
#[repr(C)]
#[derive(Default)]
pub struct JitCtx {
    /// The VM's globals array (reloaded into `r_consts` at every entry;
    /// refreshed by `Vm::run`, the only place the array can move).
    pub globals: AtomicPtr<Value>,
    /// The lowest native stack address compiled code may call below (the
    /// budget of [`NATIVE_STACK_BUDGET`]).
    pub native_stack_limit: AtomicUsize,
    /// One past the VM stack's last slot: a callee's frame must end below.
    pub vm_stack_end: AtomicPtr<Value>,
    /// The frame stack top at which compiled calls and loop back-edges
    /// take their slow paths: set by each external entry from the stack
    /// budgets (`Compiler::emit_frame_limit`), and zeroed by an interrupt.
    pub frame_limit: AtomicUsize,
    /// With frame pointers (see `compiler::Env`): the frame pointer of the
    /// innermost external entry running compiled code, where the error
    /// exit unwinds to (`Compiler::emit_exits`).
    pub entry_frame: AtomicUsize,
}

/// Raising an interrupt zeroes the frame limit, so the next compiled call
/// or back-edge takes its slow path, which polls the flag. That is how
/// compiled code notices interrupts without reading the flag itself.
impl Watcher for JitCtx {
    fn interrupted(&self) {
        self.frame_limit.store(0, Ordering::SeqCst);
    }
}

/// Offsets in [`JitCtx`] for compiled code.
pub const CTX_NATIVE_STACK_LIMIT: usize = std::mem::offset_of!(JitCtx, native_stack_limit);
pub const CTX_VM_STACK_END: usize = std::mem::offset_of!(JitCtx, vm_stack_end);
pub const CTX_FRAME_LIMIT: usize = std::mem::offset_of!(JitCtx, frame_limit);
pub const CTX_ENTRY_FRAME: usize = std::mem::offset_of!(JitCtx, entry_frame);

/// One compiled function, for `--jit-stats`.
struct FnStats {
    name: String,
    bytecode_len: usize,
    code_len: usize,
    /// Whether it has a second body for int parameters.
    specialized: bool,
    time: Duration,
}

/// The JIT's state, owned by the VM (boxed: compiled code holds the address
/// of `ctx`).
pub struct Jit {
    pub(crate) ctx: Arc<JitCtx>,
    pub(super) threshold: u32,
    cache: CodeCache,
    interrupt: *const AtomicBool,
    /// Set once the system refused executable memory: never compile again.
    disabled: bool,
    /// The lowest native stack address calls may reach.
    stack_limit: usize,
    print_stats: bool,
    compiled: Vec<FnStats>,
    /// Functions that reached the threshold but stay interpreted, with the
    /// reason (the code cache was full, or memory could not be mapped).
    not_compiled: Vec<(String, String)>,
    osr_entries: u64,
    /// Listings, tracing, the perf map and the REPL's switches.
    pub(super) tools: Tools,
}

/// The address of a local: a cheap reading of the native stack pointer.
#[inline(always)]
fn native_sp() -> usize {
    let probe = 0u8;
    std::hint::black_box(&probe) as *const u8 as usize
}

impl Jit {
    /// The JIT for these options, or `None` when it is off.
    pub fn for_options(opts: &VmOptions) -> Option<Box<Jit>> {
        let threshold = opts.jit_threshold?;
        let ctx = Arc::new(JitCtx::default());
        opts.interrupt
            .watch(Arc::downgrade(&ctx) as std::sync::Weak<dyn Watcher>);
        Some(Box::new(Jit {
            ctx,
            threshold,
            cache: CodeCache::new(opts.jit_code_limit.unwrap_or(DEFAULT_CODE_LIMIT)),
            interrupt: opts.interrupt.flag(),
            disabled: false,
            stack_limit: 0,
            print_stats: opts.jit_stats,
            compiled: Vec::new(),
            not_compiled: Vec::new(),
            osr_entries: 0,
            tools: Tools::default(),
        }))
    }

    /// Compiles and installs `func`; returns its entry or null (the function
    /// then stays interpreted).
    pub(super) fn compile(
        &mut self,
        func: &FuncObj,
        globals: &[Value],
        reason: Reason,
    ) -> *const u8 {
        if self.disabled || self.tools.paused {
            return std::ptr::null();
        }
        let start = Instant::now();
        let name = func.proto.display_name();
        let env = Env {
            ctx: Arc::as_ptr(&self.ctx) as usize,
            interrupt: self.interrupt,
            globals,
            frame_pointers: self.tools.frame_pointers,
        };
        let mut out = match compiler::compile(func, &env) {
            Ok(out) => out,
            Err(e) => {
                self.tools.failed(func, reason, &e);
                self.not_compiled.push((name.to_string(), e));
                return std::ptr::null();
            }
        };
        if let Some(test) = super::crash::crash_test(name, self.compiled.is_empty()) {
            plant_crash_test(&mut out, test);
        }
        let installed = self.cache.install(&out.code);
        let time = start.elapsed();
        if let Err(e) = &installed {
            self.tools.failed(func, reason, &e.to_string());
            self.not_compiled.push((name.to_string(), e.to_string()));
        }
        match installed {
            Ok(ptr) => {
                // Crash reports name the instruction of any offset, slow
                // paths included.
                let mut offsets = [out.offsets.as_slice(), &out.cold].concat();
                offsets.sort_unstable();
                super::crash::register(ptr.addr(), out.code.len(), name, &offsets);
                self.compiled.push(FnStats {
                    name: name.to_string(),
                    bytecode_len: func.proto.code.len(),
                    code_len: out.code.len(),
                    specialized: out.specialized.is_some(),
                    time,
                });
                func.jit_entry.set(ptr.as_ptr());
                self.tools
                    .installed(func, ptr.as_ptr(), out, reason, time, &env);
                ptr.as_ptr()
            }
            Err(CacheError::ExecDenied) => {
                eprintln!(
                    "toyc: warning: the system refused executable memory; running without the JIT"
                );
                self.disabled = true;
                std::ptr::null()
            }
            Err(_) => std::ptr::null(),
        }
    }

    /// The `--jit-stats` report.
    pub fn stats_report(&self) -> String {
        use std::fmt::Write;
        let total: Duration = self.compiled.iter().map(|f| f.time).sum();
        let bytes: usize = self.compiled.iter().map(|f| f.code_len).sum();
        let mut s = String::new();
        let _ = writeln!(s, "jit: functions compiled: {}", self.compiled.len());
        let _ = writeln!(s, "jit: OSR entries: {}", self.osr_entries);
        let _ = writeln!(s, "jit: machine code bytes: {bytes}");
        let _ = writeln!(
            s,
            "jit: total compile time: {:.3} ms",
            total.as_secs_f64() * 1e3
        );
        if self.disabled {
            let _ = writeln!(s, "jit: disabled: the system refused executable memory");
        } else if !self.not_compiled.is_empty() {
            let _ = writeln!(
                s,
                "jit: functions left interpreted: {}",
                self.not_compiled.len()
            );
        }
        for f in &self.compiled {
            let _ = writeln!(
                s,
                "jit:   {}: {} bytecode instructions, {} bytes{}, {:.1} us",
                f.name,
                f.bytecode_len,
                f.code_len,
                if f.specialized {
                    " (two bodies: one for int parameters)"
                } else {
                    ""
                },
                f.time.as_secs_f64() * 1e6
            );
        }
        if !self.disabled {
            for (name, why) in &self.not_compiled {
                let _ = writeln!(s, "jit:   {name}: left interpreted: {why}");
            }
        }
        s
    }
}

impl Drop for Jit {
    fn drop(&mut self) {
        if self.print_stats {
            eprint!("{}", self.stats_report());
        }
    }
}

/// The VM's side of the JIT: the hooks `vm.rs` calls.
impl Vm {
    /// Called by `Vm::run` before the script starts: records where the
    /// globals are and where the native stack budget ends. Returns the
    /// script's entry if it is compiled (threshold 0).
    pub(crate) fn jit_before_run(&mut self, script: *const FuncObj) -> Option<*const u8> {
        let globals = self.globals.as_mut_ptr();
        let jit = self.jit.as_mut()?;
        jit.ctx.globals.store(globals, Ordering::Relaxed);
        jit.stack_limit = native_sp().saturating_sub(NATIVE_STACK_BUDGET);
        (jit.ctx.native_stack_limit).store(jit.stack_limit, Ordering::Relaxed);
        // SAFETY: one past the end of the VM stack's allocation.
        let end = unsafe { self.stack.as_ptr().add(STACK_SLOTS) };
        jit.ctx.vm_stack_end.store(end, Ordering::Relaxed);
        // SAFETY: loaded functions live as long as the VM.
        let entry = unsafe { (*script).jit_entry.get() };
        (!entry.is_null()).then_some(entry)
    }

    /// Called when a function has been loaded: threshold 0 compiles it now.
    pub(crate) fn jit_after_load(&mut self, func: *const FuncObj) {
        if let Some(jit) = self.jit.as_mut() {
            jit.tools.loaded.push(func);
            if jit.threshold == 0 {
                // SAFETY: loaded functions live as long as the VM.
                jit.compile(unsafe { &*func }, &self.globals, Reason::Load);
            }
        }
    }

    /// The machine code to run for a call of `f` (whose hotness was just
    /// bumped), compiling it if it just became hot; null to interpret.
    #[inline]
    pub(crate) fn jit_entry_for_call(&mut self, f: &FuncObj) -> *const u8 {
        let entry = f.jit_entry.get();
        if !entry.is_null() {
            return entry;
        }
        match self.jit.as_mut() {
            Some(jit) if f.hotness.get() == jit.threshold => {
                jit.compile(f, &self.globals, Reason::Call)
            }
            _ => std::ptr::null(),
        }
    }

    /// At a back-edge of `f` to the loop header `header` (hotness just
    /// bumped): the machine code to continue this frame in (OSR), or null to
    /// keep interpreting.
    #[inline]
    pub(crate) fn jit_entry_for_loop(&mut self, f: &FuncObj, header: usize) -> *const u8 {
        let Some(jit) = self.jit.as_mut() else {
            return std::ptr::null();
        };
        let mut entry = f.jit_entry.get();
        if entry.is_null() && f.hotness.get() == jit.threshold {
            entry = jit.compile(f, &self.globals, Reason::Osr { header });
        }
        if !entry.is_null() {
            jit.osr_entries += 1;
        }
        entry
    }

    /// Whether the native stack is too deep to enter compiled code again.
    #[inline]
    pub(crate) fn jit_native_stack_low(&self) -> bool {
        self.jit
            .as_ref()
            .is_some_and(|j| native_sp() < j.stack_limit)
    }

    /// The one entry path into compiled code: runs `entry` for the frame at
    /// stack index `base` (its record already pushed) from instruction `pc`
    /// (0, or a loop header for OSR). On success the frame has returned: its
    /// result is in its slot 0 and its record is popped.
    pub(crate) fn enter_compiled(
        &mut self,
        entry: *const u8,
        base: usize,
        pc: usize,
    ) -> Result<(), RuntimeError> {
        // SAFETY: `entry` is installed code with the `Entry` signature, the
        // cache outlives this call (it belongs to `self`), and `base` is the
        // base of the top frame, whose slots the caller has filled.
        let status = unsafe {
            let f: Entry = std::mem::transmute::<*const u8, Entry>(entry);
            let base = self.stack.as_ptr().add(base);
            f(self, base, pc as u64)
        };
        match status {
            0 => Ok(()),
            _ => Err(self
                .jit_error
                .take()
                .expect("compiled code parked an error")),
        }
    }

    /// The `--jit-stats` report, if the JIT is on.
    pub fn jit_stats_report(&self) -> Option<String> {
        self.jit.as_ref().map(|j| j.stats_report())
    }
}

/// Test hook (`TOYC_JIT_CRASH_TEST`, see `crash`): overwrites the machine
/// code of one bytecode instruction (by default the body's first, of both
/// bodies if there is a specialized one) with an instruction that faults.
fn plant_crash_test(out: &mut compiler::Output, test: super::crash::CrashTest) {
    let spec_start = out.specialized.map(|s| s.start).unwrap_or(usize::MAX);
    let mut planted = [false; 2];
    let mut starts = Vec::new();
    for &(at, pc) in &out.offsets {
        let body = usize::from(at >= spec_start);
        if !planted[body] && test.pc.is_none_or(|want| want == pc) {
            planted[body] = true;
            starts.push(at);
        }
    }
    for at in starts {
        if let Some(target) = out.code.get_mut(at..at + test.bytes.len()) {
            target.copy_from_slice(test.bytes);
        }
    }
}
