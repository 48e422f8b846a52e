//! The experimenter's view of the JIT (see `docs/tools.md`):
//!
//! * **listings** of the machine code of each compiled function, each
//!   bytecode instruction followed by the code generated for it
//!   (`--dump-asm`, `toyc disasm --asm`, the REPL's `:asm NAME`);
//! * **tier-up tracing** (`--trace-jit`): one stderr line per compile, as it
//!   happens, saying why the function became hot;
//! * the **perf map** (`--perf-map`), so `perf report` names Toy functions;
//! * the REPL's run-time switches `:jit on|off` and `:threshold N`.
//!
//! The tier ([`super::Jit`]) calls [`Tools::installed`] and
//! [`Tools::failed`] after every compile; everything else here is reached
//! through methods on [`Vm`].

use std::fmt::Write as _;
use std::rc::Rc;
use std::time::Duration;

use super::compiler::{Env, INTERNAL_ENTRY, Output, SpecializedParts};
use super::perf_map::PerfMap;
use super::{Jit, disasm, helpers};
use crate::bytecode::{FunctionProto, GlobalNames};
use crate::runtime::heap::FuncObj;
use crate::runtime::{Vm, VmOptions};

/// Which tools to switch on (the command line's flags).
#[derive(Clone, Copy, Debug, Default)]
pub struct ToolOptions {
    /// `--trace-jit`: a stderr line per tier-up.
    pub trace: bool,
    /// `--dump-asm`: a listing on stderr per compiled function.
    pub dump_asm: bool,
    /// `--perf-map`: append to `/tmp/perf-PID.map`.
    pub perf_map: bool,
    /// `--frame-pointers` (and `--perf-map`): compiled frames keep the
    /// `rbp` chain profilers walk (see `compiler::Env::frame_pointers`).
    pub frame_pointers: bool,
}

/// Why a function was compiled.
#[derive(Clone, Copy, Debug)]
pub enum Reason {
    /// Threshold 0: compiled when loaded, before it first runs.
    Load,
    /// Its counter reached the threshold at a call.
    Call,
    /// Its counter reached the threshold at a back-edge to loop header
    /// `header`: the running frame continues in machine code there.
    Osr { header: usize },
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Reason::Load => write!(f, "threshold 0, at load"),
            Reason::Call => write!(f, "call count"),
            Reason::Osr { header } => write!(f, "OSR at loop header pc {header}"),
        }
    }
}

/// One installed function, kept for listings and for `:jit off|on`.
struct Compiled {
    func: *const FuncObj,
    entry: *const u8,
    size: usize,
    /// `(machine-code offset, bytecode pc)` from the compiler, for the
    /// body and for the out-of-line code after it.
    offsets: Vec<(usize, usize)>,
    cold: Vec<(usize, usize)>,
    body_end: usize,
    specialized: Option<SpecializedParts>,
    osr_entry: usize,
}

/// The tools' state inside [`Jit`].
#[derive(Default)]
pub(crate) struct Tools {
    trace: bool,
    dump_asm: bool,
    perf_map: Option<PerfMap>,
    /// Compiled frames keep a frame-pointer chain (on with `--perf-map`,
    /// chosen before anything is compiled; see `compiler::Env`).
    pub(super) frame_pointers: bool,
    compiled: Vec<Compiled>,
    /// Every function loaded while the JIT was on (for `:threshold`).
    pub(super) loaded: Vec<*const FuncObj>,
    /// `:jit off`: compile nothing, run nothing compiled.
    pub(super) paused: bool,
    /// Names the listing gives to the addresses of the JIT context and the
    /// interrupt flag (set at the first compile).
    extra_symbols: Vec<(u64, &'static str)>,
}

impl Tools {
    /// Records a freshly installed function and reports it to the tools
    /// that are on.
    pub(super) fn installed(
        &mut self,
        func: &FuncObj,
        entry: *const u8,
        out: Output,
        reason: Reason,
        time: Duration,
        env: &Env<'_>,
    ) {
        if self.extra_symbols.is_empty() {
            self.extra_symbols = vec![
                (env.ctx as u64, "jit_ctx"),
                (env.interrupt as u64, "interrupt_flag"),
            ];
        }
        let name = func.proto.display_name();
        if self.trace {
            eprintln!(
                "jit: compiled {name} ({reason}, counter {}) in {:.1} µs, {} bytes",
                func.hotness.get(),
                time.as_secs_f64() * 1e6,
                out.code.len()
            );
        }
        if let Some(map) = &mut self.perf_map
            && let Err(e) = map.add(entry as usize, out.code.len(), &format!("toy:{name}"))
        {
            eprintln!("toyc: warning: cannot write the perf map: {e}");
            self.perf_map = None;
        }
        self.compiled.push(Compiled {
            func,
            entry,
            size: out.code.len(),
            offsets: out.offsets,
            cold: out.cold,
            body_end: out.body_end,
            specialized: out.specialized,
            osr_entry: out.osr_entry,
        });
        if self.dump_asm {
            eprint!("{}", self.listing(self.compiled.len() - 1));
        }
    }

    /// Reports a compile that failed (the function stays interpreted).
    pub(super) fn failed(&self, func: &FuncObj, reason: Reason, why: &str) {
        if self.trace {
            eprintln!(
                "jit: could not compile {} ({reason}, counter {}): {why}; it stays interpreted",
                func.proto.display_name(),
                func.hotness.get()
            );
        }
    }

    /// The listing of `self.compiled[i]`.
    fn listing(&self, i: usize) -> String {
        let c = &self.compiled[i];
        // SAFETY: loaded functions live as long as the VM, and installed code
        // is never freed nor moved while the JIT (which owns `self`) lives;
        // installed pages are readable.
        let (func, code) = unsafe { (&*c.func, std::slice::from_raw_parts(c.entry, c.size)) };
        let mut symbols: Vec<(u64, &str)> = helpers::symbols()
            .into_iter()
            .map(|(a, n)| (a as u64, n))
            .collect();
        symbols.extend_from_slice(&self.extra_symbols);
        let parts = Parts {
            offsets: &c.offsets,
            cold: &c.cold,
            body_end: c.body_end,
            specialized: c.specialized,
            osr_entry: c.osr_entry,
        };
        listing(&func.proto, code, c.entry as u64, &parts, &symbols)
    }

    /// Where `proto`'s listing is in `self.compiled`.
    fn find(&self, proto: &Rc<FunctionProto>) -> Option<usize> {
        self.compiled.iter().position(|c| {
            // SAFETY: as in `listing`.
            Rc::ptr_eq(unsafe { &(*c.func).proto }, proto)
        })
    }
}

/// Where the parts of a compiled function start (from `compiler::Output`).
pub struct Parts<'a> {
    /// `(offset, pc)` of each instruction's inline code, in code order.
    pub offsets: &'a [(usize, usize)],
    /// `(offset, pc)` of each instruction's out-of-line code.
    pub cold: &'a [(usize, usize)],
    pub body_end: usize,
    pub specialized: Option<SpecializedParts>,
    pub osr_entry: usize,
}

/// A machine-code listing: a header, the entry code, then each bytecode
/// instruction (as `toyc disasm` prints it) followed by its machine code,
/// then the out-of-line code (slow paths), the error exit and the OSR
/// entry.
pub fn listing(
    proto: &FunctionProto,
    code: &[u8],
    address: u64,
    parts: &Parts,
    symbols: &[(u64, &str)],
) -> String {
    let offsets = parts.offsets;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "== machine code for {} ({} bytecode instructions, {} bytes at {address:#x}) ==",
        title(proto),
        proto.code.len(),
        code.len()
    );
    let lines = crate::disasm::instruction_lines(proto);
    let mut notes: Vec<(usize, String)> = vec![
        (
            0,
            "external entry: prologue, then call the OSR entry".into(),
        ),
        (
            INTERNAL_ENTRY,
            match parts.specialized {
                None => "internal entry (calls from compiled code)".into(),
                Some(_) => "internal entry (calls from compiled code): to the specialized \
                            body if the parameters are ints"
                    .into(),
            },
        ),
        (
            parts.osr_entry,
            "OSR entry: jump to the entry pc (0, or a loop header)".into(),
        ),
    ];
    // Each body: the ordinary one, then the specialized one if any.
    let mut bodies = vec![(0, parts.body_end)];
    if let Some(SpecializedParts { start, end, params }) = parts.specialized {
        let slots: Vec<String> = (1..64)
            .filter(|p| params & (1 << p) != 0)
            .map(|p| p.to_string())
            .collect();
        notes.push((
            start,
            format!(
                "specialized body, for ints in parameter slots {} (self-calls with int \
                 arguments enter here)",
                slots.join(", ")
            ),
        ));
        bodies = vec![(0, start), (start, end)];
    }
    for (i, &(start, end)) in bodies.iter().enumerate() {
        let last = if i + 1 == bodies.len() {
            usize::MAX
        } else {
            bodies[i + 1].0
        };
        let body = offsets.iter().filter(|&&(at, _)| at >= start && at < last);
        let mut next = 0; // the next pc to annotate
        for &(offset, pc) in body {
            // Instructions without their own offset were fused into the one
            // before them (an operator and the `SetLocal` that stores its
            // result share one template).
            for skipped in next..pc {
                let text = lines.get(skipped).cloned().unwrap_or_default();
                notes.push((offset, format!("{text}   (fused into the code above)")));
            }
            notes.push((offset, lines.get(pc).cloned().unwrap_or_default()));
            next = pc + 1;
        }
        let body_end = if i == 0 { parts.body_end } else { end };
        for text in lines.iter().skip(next) {
            notes.push((body_end, format!("{text}   (fused into the code above)")));
        }
    }
    for &(offset, pc) in parts.cold {
        let text = lines.get(pc).cloned().unwrap_or_default();
        notes.push((offset, format!("{text}   (out of line)")));
    }
    let refs: Vec<(usize, &str)> = notes.iter().map(|(o, t)| (*o, t.as_str())).collect();
    out.push_str(&disasm::disassemble(code, 0, symbols, &refs));
    out.push('\n');
    out
}

fn title(proto: &FunctionProto) -> String {
    match proto.name.as_deref() {
        Some("<script>") => "<script>".to_string(),
        _ => format!("fn {}", proto.display_name()),
    }
}

/// The tools' side of the VM.
impl Vm {
    /// Switches on the tools in `opts` (no effect with the JIT off). Fails
    /// only if the perf map cannot be created.
    pub fn set_jit_tools(&mut self, opts: ToolOptions) -> std::io::Result<()> {
        let Some(jit) = self.jit.as_mut() else {
            return Ok(());
        };
        jit.tools.trace = opts.trace;
        jit.tools.dump_asm = opts.dump_asm;
        if opts.perf_map {
            jit.tools.perf_map = Some(PerfMap::open()?);
        }
        // Every compiled function of a VM must agree on the frame layout:
        // an error exit finds the external entry's frame by it.
        debug_assert!(jit.tools.compiled.is_empty() || !opts.frame_pointers);
        jit.tools.frame_pointers = opts.frame_pointers;
        super::crash::set_frame_pointers(opts.frame_pointers);
        Ok(())
    }

    /// Loads `script` (compiling every function when the threshold is 0)
    /// without running it: what `toyc disasm --asm` needs.
    pub fn load_without_running(&mut self, script: &Rc<FunctionProto>, globals: &GlobalNames) {
        self.globals
            .resize(globals.names.len(), crate::runtime::Value::UNDEF);
        self.load_function(script);
    }

    /// The machine-code listing of `proto`, if it has been compiled.
    pub fn jit_listing(&self, proto: &Rc<FunctionProto>) -> Option<String> {
        let tools = &self.jit.as_ref()?.tools;
        tools.find(proto).map(|i| tools.listing(i))
    }

    /// Whether the JIT is on (and not paused by `:jit off`).
    pub fn jit_enabled(&self) -> bool {
        self.jit.as_ref().is_some_and(|j| !j.tools.paused)
    }

    /// `:jit on|off`. Off: compiled functions go back to the interpreter
    /// and nothing new is compiled. On: they run compiled again (and a VM
    /// started with `--no-jit` gets a JIT with the default threshold).
    pub fn set_jit_enabled(&mut self, on: bool) {
        if self.jit.is_none() && on {
            let opts = VmOptions {
                jit_threshold: Some(super::DEFAULT_THRESHOLD),
                ..self.opts.clone()
            };
            self.jit = Jit::for_options(&opts);
            return;
        }
        let Some(jit) = self.jit.as_mut() else { return };
        jit.tools.paused = !on;
        for c in &jit.tools.compiled {
            let entry = if on { c.entry } else { std::ptr::null() };
            // SAFETY: loaded functions live as long as the VM.
            unsafe { (*c.func).jit_entry.set(entry) };
        }
    }

    /// `:threshold N`: the counters of functions not compiled yet restart
    /// from 0 against the new threshold; with 0, they are compiled now
    /// (except earlier REPL inputs' scripts, which never run again).
    /// Returns false when the JIT is off.
    pub fn set_jit_threshold(&mut self, threshold: u32) -> bool {
        let Some(jit) = self.jit.as_mut() else {
            return false;
        };
        jit.threshold = threshold;
        for &f in &jit.tools.loaded.clone() {
            // SAFETY: loaded functions live as long as the VM.
            let f = unsafe { &*f };
            if f.jit_entry.get().is_null() {
                f.hotness.set(0);
                if threshold == 0 && f.proto.name.as_deref() != Some("<script>") {
                    jit.compile(f, &self.globals, Reason::Load);
                }
            }
        }
        true
    }

    /// The hotness threshold, if the JIT is on.
    pub fn jit_threshold(&self) -> Option<u32> {
        self.jit.as_ref().map(|j| j.threshold)
    }
}
