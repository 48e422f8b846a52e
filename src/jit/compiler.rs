//! The baseline template compiler: one function's bytecode to x86-64 in a
//! single linear pass, one small `emit_*` function per opcode.
//!
//! # What compiled code looks like
//!
//! A compiled function is an `extern "sysv64" fn(vm, base, pc) -> status`
//! (see [`super::Entry`]) for Rust, with a cheaper internal entry for
//! compiled callers (`Compiler::emit_entry`). Its frame is the
//! interpreter's: the caller has already pushed the frame record and put
//! the callee and arguments at `base[0..=arity]`. `pc` is 0 for a call, or
//! a loop header's index for on-stack replacement: the entry jumps to that
//! instruction's label.
//!
//! Every operand-stack slot is addressed as `[r_base + 16 * depth]` with the
//! depth known at compile time ([`super::analysis`]). Values live in their
//! VM stack slots, except that pushes of locals, constants (ints, nil,
//! booleans, builtins) and globals are deferred until an instruction
//! consumes them ([`Operand`]); they are written out before every helper
//! call, jump target and instruction that does not read deferred entries,
//! so the GC and the interpreter always see a complete frame. Templates keep values in scratch registers only within
//! one instruction.
//!
//! Fast paths (int arithmetic and comparisons, array indexing, globals,
//! loops) are inline with a tag guard; everything else, and every guard
//! failure, calls a helper from [`super::helpers`] that runs the
//! interpreter's own semantics.
//!
//! Status protocol: a helper returns 0 or 1 in `rax`; on 1 the code jumps to
//! the shared error exit, which unwinds every compiled frame at once and
//! returns 1 from the innermost external entry (`Compiler::emit_exits`).
//! `Return` stores the result in `base[0]` (where the caller expects it),
//! pops the frame record (inline, or via `jit_return` when open upvalues
//! may point into the frame) and returns; compiled callers test nothing
//! after a call.

use std::sync::atomic::AtomicBool;

use super::analysis::{Analysis, analyze, int_params};
use super::asm::jit_asm;
use super::asm::prelude::*;
use super::divide::{self, ModBy};
use super::helpers::{self, Helper};
use super::tier::{CTX_ENTRY_FRAME, CTX_FRAME_LIMIT, CTX_NATIVE_STACK_LIMIT, CTX_VM_STACK_END};
use crate::bytecode::{BUILTIN_PUSH, BUILTIN_SQRT, Op};
use crate::runtime::Value;
use crate::runtime::heap::{
    ARRAY_CAP_OFFSET, ARRAY_ITEMS_PTR_OFFSET, ARRAY_LEN_OFFSET, CLOSURE_FUNC_OFFSET,
    CLOSURE_UPVALS_OFFSET, FUNC_ARITY_OFFSET, FUNC_JIT_ENTRY_OFFSET, FUNC_MAX_SLOTS_OFFSET,
    FuncObj, MapObj, UPVAL_LOCATION_OFFSET,
};
use crate::runtime::map::{ENTRY_KEY, ENTRY_SIZE, ENTRY_VALUE, MAP_ENTRIES_LEN, MAP_ENTRIES_PTR};
use crate::runtime::value::{
    TAG_ARRAY, TAG_BOOL, TAG_BUILTIN, TAG_FLOAT, TAG_FUNCTION, TAG_INT, TAG_MAP, TAG_NIL,
    TAG_STRING, TAG_UNDEF,
};
use crate::runtime::vm::{
    FRAME_BASE, FRAME_CLOSURE, FRAME_PC, FRAME_SIZE, MAX_FRAMES, VM_FRAMES_PTR, VM_FRAMES_TOP,
};

/// Where a compiled function's internal entry starts (see
/// `Compiler::emit_entry`): compiled callers call `entry + INTERNAL_ENTRY`.
pub const INTERNAL_ENTRY: usize = 192;

/// Where the external entry keeps the frame limit it replaced (and puts
/// back on the way out, see `Compiler::emit_frame_limit`): its first spill
/// slot, `[rbp + SAVED_LIMIT]`, `rbp` being the external entry's frame
/// pointer. Without frame pointers (`Env::frame_pointers`), `rbp` stays
/// that wherever compiled code runs.
const SAVED_LIMIT: i32 = -48;

/// With frame pointers, the external entry's second spill slot: the
/// `JitCtx::entry_frame` it replaced (see `Compiler::emit_osr_entry`).
const SAVED_ENTRY_FRAME: i32 = -56;

/// The largest frame (`max_slots`) an inline call pushes without checking
/// the VM stack itself: the frame limit accounts for it
/// (`Compiler::emit_frame_limit`). A power of two.
const FAST_CALL_SLOTS: u32 = 32;

/// What the compiler knows about the VM: addresses compiled code embeds
/// as immediates, and the globals as they are now.
pub struct Env<'g> {
    /// The JIT context ([`super::JitCtx`]); its first field is the globals
    /// array pointer, reloaded at every function entry.
    pub ctx: usize,
    /// The VM's interrupt flag. Compiled code polls the frame limit, which
    /// an interrupt zeroes; the external entry reads the flag itself only
    /// when it swaps the limit (`Compiler::zero_limit_if_interrupted`).
    pub interrupt: *const AtomicBool,
    /// The globals when the function is compiled. A global that is defined
    /// stays defined (nothing undefines one), so reading it needs no
    /// `undefined variable` check (`Compiler::check_global_defined`).
    pub globals: &'g [Value],
    /// Whether compiled frames keep the frame-pointer chain that profilers
    /// walk (`perf record -g`): each internal entry pushes `rbp` and points
    /// it at its frame, each return pops it. Off by default: it makes
    /// compiled calls about 10% slower. Every function of a VM is compiled
    /// the same way.
    pub frame_pointers: bool,
}

/// Compiler output: the machine code and, per instruction, the offset of
/// its first byte (for listings), in code order; `cold` lists the
/// out-of-line parts (slow paths) the same way, placed after the body.
pub struct Output {
    pub code: Vec<u8>,
    pub offsets: Vec<(usize, usize)>,
    pub cold: Vec<(usize, usize)>,
    /// Where the body ends (its out-of-line code follows) and where the
    /// OSR entry starts (see `Compiler::emit_entry`).
    pub body_end: usize,
    /// The specialized body, if there is one (see
    /// `Compiler::emit_parameter_checks`).
    pub specialized: Option<SpecializedParts>,
    pub osr_entry: usize,
}

/// Where the specialized body is, and what it assumes.
#[derive(Clone, Copy, Debug)]
pub struct SpecializedParts {
    /// Its entry (self-calls with int arguments call it) and its end (its
    /// out-of-line code follows).
    pub start: usize,
    pub end: usize,
    /// The parameter slots it assumes hold ints, one bit per slot.
    pub params: u64,
}

/// Compiles one function. `Err` only for bytecode whose stack depths are
/// inconsistent (a compiler bug); every opcode compiles.
pub fn compile(func: &FuncObj, env: &Env<'_>) -> Result<Output, String> {
    let analysis = analyze(&func.proto)?;
    let mut ops = new_ops();
    let n = func.proto.code.len();
    let labels = (0..n).map(|_| ops.new_dynamic_label()).collect();
    let params = int_params(&func.proto);
    let spec = analysis
        .specialized(&func.proto, params)
        .map(|ints| Specialized {
            params,
            ints,
            labels: (0..n).map(|_| ops.new_dynamic_label()).collect(),
            entry: ops.new_dynamic_label(),
        });
    let checks = ops.new_dynamic_label();
    let error_exit = ops.new_dynamic_label();
    let normal_exit = ops.new_dynamic_label();
    let internal_entry = ops.new_dynamic_label();
    let osr_entry = ops.new_dynamic_label();
    let mut c = Compiler {
        ops,
        func,
        env,
        analysis,
        labels,
        error_exit,
        normal_exit,
        internal_entry,
        checks,
        osr_entry,
        spec,
        pc: 0,
        pending: Vec::new(),
        cached: None,
        record_pc_line: None,
        unstored: None,
        offsets: Vec::new(),
        cold: Vec::new(),
        cold_offsets: Vec::new(),
    };
    c.emit_entry();
    c.emit_body();
    let body_end = c.ops.offset().0;
    c.emit_cold();
    let specialized = c.spec.take().map(|spec| {
        let (start, params) = (c.ops.offset().0, spec.params);
        let end = c.emit_specialized(spec);
        SpecializedParts { start, end, params }
    });
    c.emit_exits();
    let osr_entry = c.ops.offset().0;
    c.emit_osr_entry();
    let code = finish(c.ops).map_err(|e| e.to_string())?;
    Ok(Output {
        code,
        offsets: c.offsets,
        cold: c.cold_offsets,
        body_end,
        specialized,
        osr_entry,
    })
}

/// `jit_asm!` on the compiler's assembler: `emit!(self ; mov rax, rcx)`.
macro_rules! emit {
    ($s:ident $($t:tt)*) => {{
        let ops = &mut $s.ops;
        jit_asm!(ops $($t)*)
    }};
}

/// Byte offset of slot `i` from the frame base (tag at +0, payload at +8).
fn slot(i: u32) -> i32 {
    i32::try_from(i as u64 * 16).expect("frame fits in i32 displacement")
}

/// The int operators and comparisons with a fast path on deferred
/// operands: how many operands they read. They take only [`Operand::Slot`]
/// and [`Operand::Int`] operands: before them, the compiler writes out
/// pending entries if one of their operands is of another kind (see
/// `emit_op`).
fn int_operand_count(op: Op) -> Option<usize> {
    use Op::*;
    match op {
        AddInt { .. } | SubInt { .. } | ModInt { .. } => Some(1),
        Add | Sub | Mul | Eq | Ne | Lt | Le | Gt | Ge => Some(2),
        JumpIfNotLt { .. } | JumpIfNotLe { .. } | JumpIfNotGt { .. } => Some(2),
        JumpIfNotGe { .. } | JumpIfNotEq { .. } | JumpIfNotNe { .. } => Some(2),
        _ => None,
    }
}

/// The instructions that read deferred entries themselves (see
/// [`Operand`]); before any other, the compiler writes them to their slots.
/// All but the int operators ([`int_operand_count`]) take every kind of
/// operand.
#[allow(clippy::match_like_matches_macro)] // one row per group reads better
fn uses_deferred_entries(op: Op) -> bool {
    use Op::*;
    match op {
        GetLocal { .. } | GetLocal2 { .. } | Int { .. } | Pop | PopN { .. } => true,
        Nil | True | False | GetBuiltin { .. } => true,
        SetLocal { .. } | Return | Call { .. } | GetIndex | SetIndex => true,
        _ => int_operand_count(op).is_some(),
    }
}

/// Where an operand-stack entry's value is, when its push was deferred.
///
/// `GetLocal` and `Int` emit no code: they only note the entry here. The
/// instruction that consumes the entry reads the local's slot or uses the
/// immediate directly (`add rax, [local]`, `cmp rax, 2`), so `x + 1` costs
/// no copies, and a known int needs no tag check. Instructions that do not
/// know about deferred entries, every jump target, and every slow path
/// first write the entries to their slots ([`Compiler::flush`]), so the
/// frame looks exactly as the interpreter would leave it wherever anything
/// else can see it (helpers, the GC, OSR, other paths).
#[derive(Clone, Copy, Debug)]
enum Operand {
    /// The value in this frame slot (a local, or the entry's own slot).
    Slot(u32),
    /// An int immediate.
    Int(i32),
    /// Any other constant (`nil`, `true`, `false`, a builtin): a tag and
    /// a payload that fits an `i32` immediate.
    Value { tag: u64, payload: i32 },
    /// The value of global `g`, read when it is written out or consumed.
    /// Nothing that may assign a global (a call, `SetGlobal`, any helper
    /// that runs Toy code) reads deferred entries, so before any of them
    /// runs the value is written out: it is the value `GetGlobal` saw. A
    /// call whose callee is still a global checks for a self-call without
    /// writing the callee first ([`Compiler::emit_call_op`]).
    Global(u32),
}

impl Operand {
    /// Whether every instruction that reads deferred entries takes it (the
    /// int operators and comparisons take only these; see
    /// [`int_operand_count`]).
    fn is_slot_or_int(self) -> bool {
        matches!(self, Operand::Slot(_) | Operand::Int(_))
    }

    const NIL: Operand = Operand::Value {
        tag: TAG_NIL,
        payload: 0,
    };

    fn bool(b: bool) -> Operand {
        Operand::Value {
            tag: TAG_BOOL,
            payload: b as i32,
        }
    }

    fn builtin(b: u32) -> Operand {
        Operand::Value {
            tag: TAG_BUILTIN,
            payload: b as i32,
        }
    }
}

/// An int operator's fast path ends with its result in `rax` (and, unless
/// `in_memory` is false, in its slot). If the next instruction that emits code reads that slot
/// as its first operand (`i * j + j`, then `x % 3`, then `== 0`), it
/// skips the slot's tag check and load. The operator's slow paths end
/// at `generic` instead, where the value may be anything: there, the
/// consumer's check and load happen out of line (`Compiler::first_in_rax`).
/// Any other instruction, or a jump target, first binds `generic` where
/// it starts (`Compiler::drop_cached`), so both paths meet as before.
#[derive(Clone, Copy)]
struct Cached {
    slot: u32,
    generic: DynamicLabel,
    /// False when the fast path did not store the result in its slot (see
    /// [`Compiler::result_read_from_rax`]): whoever does not take it from
    /// `rax` stores it first.
    in_memory: bool,
    /// Whether any slow path ends at `generic` (an operator on known ints
    /// has none): if not, the consumer needs no out-of-line check and load.
    rejoined: bool,
}

struct Compiler<'a> {
    ops: Ops,
    func: &'a FuncObj,
    env: &'a Env<'a>,
    analysis: Analysis,
    /// One label per instruction (only jump targets are jumped to).
    labels: Vec<DynamicLabel>,
    error_exit: DynamicLabel,
    /// Where the external entry goes after a normal return.
    normal_exit: DynamicLabel,
    /// The internal entry (direct self-calls call it), where it checks
    /// the parameters for the specialized body, and the OSR entry.
    internal_entry: DynamicLabel,
    checks: DynamicLabel,
    osr_entry: DynamicLabel,
    /// The specialized body still to emit, or (while it is being emitted)
    /// its entry for self-calls.
    spec: Option<Specialized>,
    /// The instruction being compiled.
    pc: usize,
    /// Deferred pushes: the top `pending.len()` operand-stack entries, not
    /// yet written to their slots (see [`Operand`]).
    pending: Vec<Operand>,
    /// The int result the previous instruction left in `rax` (see
    /// [`Cached`]).
    cached: Option<Cached>,
    /// The line of the return pc this frame's record certainly holds here,
    /// written by an earlier call in the same straight-line code (see
    /// [`Self::needs_pc_store`]).
    record_pc_line: Option<u32>,
    /// Set by [`Self::first_in_rax`] when the operand it found in `rax`
    /// was never stored in its slot on the fast path; the consumer stores
    /// it if anything of its own could read that slot.
    unstored: Option<u32>,
    offsets: Vec<(usize, usize)>,
    /// Out-of-line code (see [`Compiler::cold`]), with the pc it belongs to.
    cold: Vec<(usize, ColdPath<'a>)>,
    cold_offsets: Vec<(usize, usize)>,
}

/// A second copy of the body, compiled for int arguments (see
/// `Compiler::emit_entry`).
struct Specialized {
    /// The parameter slots it assumes hold ints, one bit per slot.
    params: u64,
    /// Its [`Analysis::ints`], and its instructions' labels.
    ints: Vec<u64>,
    labels: Vec<DynamicLabel>,
    /// Where self-calls with int arguments enter it.
    entry: DynamicLabel,
}

/// Code emitted after the body, away from the fast paths.
type ColdPath<'a> = Box<dyn FnOnce(&mut Compiler<'a>) + 'a>;

impl<'a> Compiler<'a> {
    /// The entries of every compiled function.
    ///
    /// * The **external entry** (offset 0, the `Entry` signature) is how
    ///   Rust calls in: a full System V prologue saves the callee-saved
    ///   registers, loads the VM registers (`r_vm`, `r_aux`, `r_consts`,
    ///   and the frame stack's top into `r_keep`), swaps in its frame limit
    ///   (`emit_frame_limit`), calls the OSR entry, and after the (normal)
    ///   return jumps to the normal exit after the body (`emit_exits`),
    ///   which writes the top back, puts the old limit back, sets status 0
    ///   and restores everything. It is padded to [`INTERNAL_ENTRY`] bytes.
    /// * The **internal entry** (offset [`INTERNAL_ENTRY`]) is how compiled
    ///   code calls compiled code: the VM registers are already loaded and
    ///   stay loaded, and the caller has moved `r_base` (the one VM
    ///   register that differs per frame) to the callee's base itself; it
    ///   moves it back after the call. The entry only keeps rsp aligned and
    ///   falls into the first instruction. Returns are `add rsp, 8; ret`
    ///   (`emit_internal_frame`, `emit_internal_return`; with frame
    ///   pointers, `push rbp; mov rbp, rsp` and `pop rbp; ret`).
    /// * The **OSR entry** (after the body, see `emit_osr_entry`) does the
    ///   same, sets `r_base` from `rsi`, and dispatches on the entry `pc`
    ///   in `rdx` (0, or a loop header for OSR). Only the external entry
    ///   uses it, so calls between compiled functions never pay for the
    ///   dispatch.
    ///
    /// Stack alignment: the external entry leaves rsp 16-byte aligned, the
    /// `call` pushes 8 bytes and the entry 8 more, so templates
    /// run with rsp aligned, as helper calls need, and so do nested
    /// internal calls: each costs exactly 16 bytes.
    fn emit_entry(&mut self) {
        emit_prologue(&mut self.ops, 2);
        let ctx = self.env.ctx as i64;
        let osr = self.osr_entry;
        emit!(self
            ; mov r_vm, rdi
            ; mov r_aux, QWORD ctx
            ; mov r_consts, [r_aux]
            ; mov r_keep, [r_vm + VM_FRAMES_TOP as i32]
        );
        self.emit_frame_limit();
        let normal_exit = self.normal_exit;
        emit!(self
            ; call =>osr
            // Only normal returns come back here: errors unwind straight
            // to the error exit. Both are out of line (`emit_exits`).
            ; jmp =>normal_exit
        );
        let used = self.ops.offset().0;
        assert!(used <= INTERNAL_ENTRY, "external entry is {used} bytes");
        for _ in used..INTERNAL_ENTRY {
            emit!(self ; nop);
        }
        let (internal, checks) = (self.internal_entry, self.checks);
        emit!(self ; =>internal);
        self.emit_internal_frame();
        emit!(self ; =>checks);
        self.emit_parameter_checks();
    }

    /// With a specialized body: jumps there if every parameter it assumes
    /// to be an int is one, else falls into the ordinary body.
    ///
    /// The specialized body is the same bytecode compiled a second time,
    /// knowing that some parameters hold ints on entry (those the body
    /// uses as numbers, [`int_params`]): the int pre-pass then finds more
    /// int slots, and their tag checks and slow paths disappear. A
    /// self-call whose arguments are known ints enters it directly at its
    /// own entry, so recursion such as `fib(n - 1)` checks its argument
    /// once, on the way in from outside.
    fn emit_parameter_checks(&mut self) {
        let Some(spec) = &self.spec else { return };
        let (start, params) = (spec.labels[0], spec.params);
        let generic = self.ops.new_dynamic_label();
        let slots: Vec<u32> = (1..64).filter(|p| params & (1 << p) != 0).collect();
        for (i, &p) in slots.iter().enumerate() {
            let s = slot(p);
            emit!(self ; cmp QWORD [r_base + s], TAG_INT as i32);
            if i + 1 < slots.len() {
                emit!(self ; jne =>generic);
            } else {
                emit!(self ; je =>start);
            }
        }
        emit!(self ; =>generic);
    }

    /// Emits the specialized body and its out-of-line code (see
    /// `emit_parameter_checks`), with its own facts and labels; returns
    /// where the body ends.
    fn emit_specialized(&mut self, mut spec: Specialized) -> usize {
        std::mem::swap(&mut self.analysis.ints, &mut spec.ints);
        std::mem::swap(&mut self.labels, &mut spec.labels);
        let entry = spec.entry;
        emit!(self ; =>entry);
        self.emit_internal_frame();
        self.spec = Some(spec);
        self.emit_body();
        let end = self.ops.offset().0;
        self.emit_cold();
        // The OSR entry's loop headers are the ordinary body's.
        let mut spec = self.spec.take().expect("set above");
        std::mem::swap(&mut self.labels, &mut spec.labels);
        std::mem::swap(&mut self.analysis.ints, &mut spec.ints);
        end
    }

    /// Sets `JitCtx::frame_limit`: the frame stack top (as in `r_keep`) at
    /// which inline calls take the slow path: `MAX_FRAMES` records, or
    /// fewer if the native stack or the VM stack would run out first. One
    /// compare at each call then checks all three, and interrupts too: an
    /// interrupt zeroes the limit (`tier::JitCtx`), so the compare fails.
    /// The old limit (an outer external entry's) is kept at
    /// `[rbp + SAVED_LIMIT]` and put back on the way out
    /// (`emit_restore_limit`).
    ///
    /// * Native stack: every compiled-to-compiled call below this external
    ///   entry uses exactly 16 bytes (return address and alignment), so
    ///   "`rsp` stays above `JitCtx::native_stack_limit`" is "the frame
    ///   count stays below today's count plus (`rsp` - limit) / 16".
    /// * VM stack: an inline call only pushes a callee whose frame has at
    ///   most [`FAST_CALL_SLOTS`] slots (bigger ones check the VM stack
    ///   themselves), and a callee's frame starts inside its caller's, so
    ///   each inline call moves the end of the topmost frame up by at most
    ///   that many slots. From this frame's end (`rsi` + `max_slots`), the
    ///   room left allows (room / `FAST_CALL_SLOTS`) more frames.
    ///
    /// It errs on the safe side; the slow path, `jit_call`, does the exact
    /// checks and raises `stack overflow` (or calls on, if there is room).
    fn emit_frame_limit(&mut self) {
        debug_assert_eq!(SAVED_LIMIT, spill_slot(0));
        debug_assert_eq!(SAVED_ENTRY_FRAME, spill_slot(1));
        let end = slot(self.func.proto.max_slots);
        let shift = (FAST_CALL_SLOTS as u64 * 16).trailing_zeros() as i8;
        emit!(self
            // rax = frames the native stack allows
            ; lea rax, [rsp - 64]                                 // slack
            ; xor ecx, ecx
            ; sub rax, [r_aux + CTX_NATIVE_STACK_LIMIT as i32]
            ; cmovb rax, rcx                                      // no room at all
            ; shr rax, 4
            // r10 = frames the VM stack allows (rdx is the entry pc: kept)
            ; mov r10, [r_aux + CTX_VM_STACK_END as i32]
            ; lea r11, [rsi + end]
            ; sub r10, r11
            ; cmovb r10, rcx
            ; shr r10, shift
            ; cmp rax, r10
            ; cmova rax, r10
            // As a record address: the top plus that many records, at
            // most `MAX_FRAMES` records from the bottom.
            ; imul rax, rax, FRAME_SIZE
            ; add rax, r_keep
            ; mov rcx, [r_vm + VM_FRAMES_PTR as i32]
            ; add rcx, (MAX_FRAMES as i32) * FRAME_SIZE
            ; cmp rax, rcx
            ; cmova rax, rcx
            // `xchg` with memory is a full barrier: the flag is read after
            // the new limit is visible to an interrupting thread.
            ; xchg rax, [r_aux + CTX_FRAME_LIMIT as i32]
            ; mov [rbp + SAVED_LIMIT], rax
        );
        self.zero_limit_if_interrupted();
    }

    /// Puts back the frame limit `emit_frame_limit` replaced (at normal and
    /// error exits of the external entry).
    fn emit_restore_limit(&mut self) {
        emit!(self
            ; mov rcx, [rbp + SAVED_LIMIT]
            ; xchg rcx, [r_aux + CTX_FRAME_LIMIT as i32]
        );
        self.zero_limit_if_interrupted();
    }

    /// An interrupt raised while the limit was being replaced may have
    /// zeroed the old value: if the flag is set, zero the new one.
    fn zero_limit_if_interrupted(&mut self) {
        let flag = self.env.interrupt as i64;
        emit!(self
            ; mov rcx, QWORD flag
            ; cmp BYTE [rcx], 0
            ; je >clear
            ; mov QWORD [r_aux + CTX_FRAME_LIMIT as i32], 0
            ; clear:
        );
    }

    /// The OSR entry (see `emit_entry`): the internal entry's work, then a
    /// jump to the entry `pc` in `rdx`: 0 or a loop header.
    fn emit_osr_entry(&mut self) {
        let (osr, start) = (self.osr_entry, self.checks);
        emit!(self ; =>osr);
        if self.env.frame_pointers {
            // `rbp` is still the external entry's: the error exit will
            // need it (`emit_exits`), from wherever the error happens.
            emit!(self
                ; mov rcx, [r_aux + CTX_ENTRY_FRAME as i32]
                ; mov [rbp + SAVED_ENTRY_FRAME], rcx
                ; mov [r_aux + CTX_ENTRY_FRAME as i32], rbp
            );
        }
        self.emit_internal_frame();
        emit!(self
            ; mov r_base, rsi
            ; test rdx, rdx
            ; jz =>start
        );
        for &h in &self.analysis.loop_headers {
            let l = self.labels[h as usize];
            emit!(self ; cmp rdx, h as i32 ; je =>l);
        }
        emit!(self ; ud2);
    }

    /// The native frame of an internal (or OSR) entry: 8 bytes, so that
    /// with the return address rsp stays 16-byte aligned. Without frame
    /// pointers they are padding; with them (`Env::frame_pointers`) they
    /// hold the caller's `rbp`, and `rbp` points there, as `perf` expects
    /// of every frame it walks.
    fn emit_internal_frame(&mut self) {
        if self.env.frame_pointers {
            emit!(self ; push rbp ; mov rbp, rsp);
        } else {
            emit!(self ; sub rsp, 8);
        }
    }

    /// A normal return from the internal (or OSR) entry.
    fn emit_internal_return(&mut self) {
        if self.env.frame_pointers {
            emit!(self ; pop rbp ; ret);
        } else {
            emit!(self ; add rsp, 8 ; ret);
        }
    }

    fn emit_body(&mut self) {
        let code = &self.func.proto.code;
        let mut pc = 0;
        self.record_pc_line = None;
        while pc < code.len() {
            self.pc = pc;
            if self.analysis.is_target[pc] {
                self.record_pc_line = None; // other paths arrive here
            }
            if !self.keeps_cached(pc) {
                self.drop_cached();
            }
            if let Op::ForRangeNext { .. } = code[pc] {
                // It drops every entry above its hidden locals, and paths
                // may reach it at different depths: deferred entries are
                // dead, and must not be written at a guessed depth.
                self.pending.clear();
            } else if self.analysis.is_target[pc] {
                let d = self.analysis.depth[pc].unwrap_or(0);
                self.flush(d);
            }
            let l = self.labels[pc];
            emit!(self ; =>l);
            self.offsets.push((self.ops.offset().0, pc));
            pc += match self.analysis.depth[pc] {
                Some(d) => self.emit_op(code[pc], d),
                None => 1, // unreachable
            };
        }
        self.drop_cached();
    }

    /// Queues code to be emitted after the body ([`Self::emit_cold`]), so
    /// the fast path before it falls through to the next instruction
    /// instead of jumping over a slow path. The code must enter and leave
    /// through dynamic labels (local labels do not cross the gap) and
    /// must not depend on deferred entries (`pending` is empty there).
    fn cold(&mut self, f: impl FnOnce(&mut Compiler<'a>) + 'a) {
        self.cold.push((self.pc, Box::new(f)));
    }

    /// Emits the queued out-of-line code, each part with its instruction's
    /// pc (helpers report errors at it).
    fn emit_cold(&mut self) {
        while !self.cold.is_empty() {
            for (pc, f) in std::mem::take(&mut self.cold) {
                self.pc = pc;
                self.cold_offsets.push((self.ops.offset().0, pc));
                f(self);
            }
        }
    }

    /// The external entry's two ways out, both putting back the frame limit
    /// it replaced. The normal exit writes the frame stack top back and
    /// returns status 0. The shared error exit unwinds every compiled frame
    /// up to the innermost external entry and returns status 1 from it.
    /// `rbp` is that entry's frame pointer (internal entries, templates
    /// and Rust helpers all preserve it; with frame pointers, the exit
    /// reloads it from `JitCtx::entry_frame`), so its epilogue discards
    /// whatever the internal calls pushed and restores the callee-saved
    /// registers. The
    /// error is already parked in `vm.jit_error`, and the frame stack is
    /// left as the error saw it. So compiled callers never test a status
    /// after calling compiled code.
    fn emit_exits(&mut self) {
        let (normal, error) = (self.normal_exit, self.error_exit);
        emit!(self
            ; =>normal
            ; mov [r_vm + VM_FRAMES_TOP as i32], r_keep
            ; xor eax, eax
            ; jmp >restore
            ; =>error
        );
        if self.env.frame_pointers {
            // `rbp` is the innermost compiled frame's: back to the entry's.
            emit!(self ; mov rbp, [r_aux + CTX_ENTRY_FRAME as i32]);
        }
        emit!(self
            ; mov eax, 1
            ; restore:
        );
        if self.env.frame_pointers {
            emit!(self
                ; mov rcx, [rbp + SAVED_ENTRY_FRAME]
                ; mov [r_aux + CTX_ENTRY_FRAME as i32], rcx
            );
        }
        self.emit_restore_limit();
        emit_epilogue(&mut self.ops);
    }

    /// For an operator whose result would be popped straight into a local
    /// (`x = a + b`, `i += 1`) or returned (`return a + b`): the local (0
    /// for a return: the result slot), if the next instruction is that
    /// `SetLocal` or `Return` and can be merged. The operator then writes
    /// its result there itself (a return then ends with
    /// [`Self::fused_return_tail`]), and the pair counts as two
    /// instructions.
    fn result_local(&self) -> Option<u32> {
        match self.func.proto.code.get(self.pc + 1) {
            Some(&Op::SetLocal { slot }) if self.can_fuse_next() => Some(slot),
            Some(&Op::Return) if self.can_fuse_next() => Some(0),
            _ => None,
        }
    }

    /// After an operator fused with a following `Return` (see
    /// [`Self::result_local`]; `d` is the operator's depth): the rest of
    /// the return, the result being in slot 0 already.
    fn fused_return_tail(&mut self, d: u32) {
        if let Some(Op::Return) = self.func.proto.code.get(self.pc + 1)
            && self.can_fuse_next()
        {
            self.emit_return_tail(d - 1);
        }
    }

    /// Where an operator's result goes (slot `d` or the fused local) and how
    /// many instructions it consumed; after the slow path's helper wrote
    /// the result to slot `d`, copies it to the local.
    fn finish_result(&mut self, d: u32, local: Option<u32>) -> usize {
        match local {
            Some(l) => {
                self.copy_slot(d, l);
                2
            }
            None => 1,
        }
    }

    /// Whether instruction `pc + 1` can be merged into the one at `pc` (it
    /// exists and no jump lands on it).
    fn can_fuse_next(&self) -> bool {
        let next = self.pc + 1;
        next < self.func.proto.code.len() && !self.analysis.is_target[next]
    }

    /// Whether the top `n` entries, where still deferred, are all
    /// [`Operand::Slot`]s or [`Operand::Int`]s.
    fn top_are_slots_or_ints(&self, n: usize) -> bool {
        let len = self.pending.len();
        self.pending[len.saturating_sub(n)..]
            .iter()
            .all(|v| v.is_slot_or_int())
    }

    /// Emits one instruction (or a fused pair); returns how many it consumed.
    fn emit_op(&mut self, op: Op, d: u32) -> usize {
        if self.emit_equals_constant(op, d) {
            return 1;
        }
        // Only some instructions work with deferred entries (see `Operand`);
        // the others find every entry in its slot.
        if !uses_deferred_entries(op) {
            self.flush(d);
        } else if let Some(n) = int_operand_count(op)
            && !self.top_are_slots_or_ints(n)
        {
            // The operator's paths may not meet where the flush's code
            // begins (see `Cached`): let them meet first.
            self.drop_cached();
            self.flush(d);
        }
        match op {
            Op::GetLocal { slot } => return self.defer(Operand::Slot(slot)),
            Op::GetLocal2 { a, b } => {
                self.pending.push(Operand::Slot(a));
                return self.defer(Operand::Slot(b));
            }
            Op::Int { v } => return self.defer(Operand::Int(v)),
            Op::Pop => self.pop_entries(1),
            Op::PopN { n } => self.pop_entries(n),
            Op::SetLocal { slot } => {
                let v = self.take_operands(d, 1)[0];
                self.materialize(v, slot);
            }
            Op::Nil => return self.defer(Operand::NIL),
            Op::True => return self.defer(Operand::bool(true)),
            Op::False => return self.defer(Operand::bool(false)),
            Op::Const { k } => self.emit_const(d, k),
            Op::Dup => self.emit_dup(d),
            Op::Dup2 => self.emit_dup2(d),
            Op::GetUpval { idx } => self.emit_upval(d, idx, false),
            Op::SetUpval { idx } => self.emit_upval(d, idx, true),
            Op::GetGlobal { g } => {
                self.check_global_defined(g, d);
                return self.defer(Operand::Global(g));
            }
            Op::SetGlobal { g } => self.emit_set_global(d, g),
            Op::DefineGlobal { g } => self.emit_define_global(d, g),
            Op::GetBuiltin { b } => return self.defer(Operand::builtin(b)),
            Op::CloseUpvals { slot } => {
                self.call_checked(helpers::jit_close_upvals, d, slot as u64, 0)
            }
            Op::Add | Op::Sub | Op::Mul | Op::Div if self.has_float_operand(d) => {
                return self.emit_float_arith(op, d);
            }
            Op::Add | Op::Sub | Op::Mul => return self.emit_int_arith(op, d),
            Op::BitAnd | Op::BitOr | Op::BitXor => return self.emit_int_arith(op, d),
            Op::AddInt { v } | Op::SubInt { v } | Op::ModInt { v } => {
                return self.emit_int_immediate(op, d, v);
            }
            Op::Div | Op::Mod => self.emit_div_mod(op, d),
            Op::Shl | Op::Shr => self.call_checked(helpers::binary_helper(&op), d, 0, 0),
            Op::Neg | Op::BitNot => self.emit_int_unary(op, d),
            Op::Not => self.emit_not(d),
            Op::Eq | Op::Ne | Op::Lt | Op::Le | Op::Gt | Op::Ge => self.emit_compare(op, d),
            Op::Jump { target } => self.emit_jump(target),
            Op::JumpIfFalse { target } => self.emit_jump_if_false(d, target),
            Op::JumpIfNotLt { target } => self.compare_and_branch(Op::Lt, d, target),
            Op::JumpIfNotLe { target } => self.compare_and_branch(Op::Le, d, target),
            Op::JumpIfNotGt { target } => self.compare_and_branch(Op::Gt, d, target),
            Op::JumpIfNotGe { target } => self.compare_and_branch(Op::Ge, d, target),
            Op::JumpIfNotEq { target } => self.compare_and_branch(Op::Eq, d, target),
            Op::JumpIfNotNe { target } => self.compare_and_branch(Op::Ne, d, target),
            Op::JumpIfFalseOrPop { target } => self.emit_jump_if_false_or_pop(d, target),
            Op::JumpIfTrueOrPop { target } => self.emit_jump_if_true_or_pop(d, target),
            Op::Loop { target } => self.emit_loop(d, target),
            Op::ForRangePrep { slot, exit } => self.emit_for_range_prep(d, slot, exit),
            Op::ForRangeNext { slot, target } => self.emit_for_range_next(slot, target),
            Op::ForInPrep { slot } => {
                self.call_checked(helpers::jit_for_in_prep, d, slot as u64, 0)
            }
            Op::ForInNext { slot, exit } => self.emit_for_in_next(d, slot, exit),
            Op::Closure { proto } => self.call_checked(helpers::jit_closure, d, proto as u64, 0),
            Op::Call { argc } => self.emit_call_op(d, argc),
            Op::Return => self.emit_return(d),
            Op::NewArray { n } => self.call_checked(helpers::jit_new_array, d, n as u64, 0),
            Op::NewMap { n } => self.call_checked(helpers::jit_new_map, d, n as u64, 0),
            Op::GetIndex => self.emit_get_index(d),
            Op::SetIndex => self.emit_set_index(d),
            Op::GetField { k } => self.emit_field(d, k, false),
            Op::SetField { k } => self.emit_field(d, k, true),
            // `analysis::analyze` rejects these (interpreter-only code).
            crate::bytecode::superinstruction!() => unreachable!("superinstruction {op:?}"),
        }
        1
    }

    /// A field instruction's helper operands: the name's string object and
    /// the address of this instruction's inline-cache slot (both live as
    /// long as the function).
    fn field_operands(&self, k: u32) -> (u64, u64) {
        let name = self.func.consts[k as usize].payload;
        let hint = &self.func.field_hints[self.pc] as *const _ as u64;
        (name, hint)
    }

    /// `GetField` (`obj.name`, object at `d-1`) and `SetField` (`obj.name
    /// = v`, object at `d-2`, value at `d-1`). The inline path is the
    /// inline-cache hit: the object is a map, and its entry at the site's
    /// hint index has this name as its key (the same interned string
    /// object; a dead entry's key is `undef`, so it never matches). Then
    /// the value is read or written in place. Anything else (not a map, a
    /// miss, a new field) goes to the helper, which looks the name up,
    /// updates the hint and raises the interpreter's errors.
    fn emit_field(&mut self, d: u32, k: u32, set: bool) {
        let (name, hint) = self.field_operands(k);
        let obj = slot(if set { d - 2 } else { d - 1 });
        let slow = self.ops.new_dynamic_label();
        let done = self.ops.new_dynamic_label();
        let map = std::mem::offset_of!(MapObj, map) as i32;
        emit!(self
            ; cmp QWORD [r_base + obj], TAG_MAP as i32
            ; jne =>slow
            ; mov rax, [r_base + obj + 8]                         // the MapObj
            ; mov rdx, QWORD hint as i64
            ; mov ecx, DWORD [rdx]                                // hint index
            ; cmp rcx, [rax + map + MAP_ENTRIES_LEN as i32]
            ; jae =>slow
            ; imul rcx, rcx, ENTRY_SIZE as i32
            ; add rcx, [rax + map + MAP_ENTRIES_PTR as i32]       // the entry
            ; mov rdx, QWORD name as i64
            ; cmp [rcx + ENTRY_KEY as i32 + 8], rdx
            ; jne =>slow
            ; cmp QWORD [rcx + ENTRY_KEY as i32], TAG_STRING as i32
            ; jne =>slow
        );
        let value = ENTRY_VALUE as i32;
        if set {
            let v = slot(d - 1);
            emit!(self
                ; mov r10, [r_base + v]
                ; mov r11, [r_base + v + 8]
                ; mov [rcx + value], r10
                ; mov [rcx + value + 8], r11
            );
        } else {
            emit!(self
                ; mov r10, [rcx + value]
                ; mov r11, [rcx + value + 8]
                ; mov [r_base + obj], r10
                ; mov [r_base + obj + 8], r11
            );
        }
        emit!(self ; =>done);
        let helper = if set {
            helpers::jit_set_field
        } else {
            helpers::jit_get_field
        };
        self.cold(move |c| {
            emit!(c ; =>slow);
            c.call_checked(helper, d, name, hint);
            emit!(c ; jmp =>done);
        });
    }

    // ---- helper calls ------------------------------------------------------

    /// Calls `helper(vm, base, depth, pc, a, b)` (see `helpers` for the
    /// convention). rsp is 16-byte aligned here: templates never push.
    /// Compiled code keeps the frame stack's top in `r_keep`; it is written
    /// to the frame stack first, so the helper (traces, the GC, calls) sees
    /// the records that compiled code pushed.
    fn call_helper(&mut self, helper: Helper, depth: u32, a: u64, b: u64) {
        let pc = self.pc as i32;
        emit!(self
            ; mov [r_vm + VM_FRAMES_TOP as i32], r_keep
            ; mov rdi, r_vm
            ; mov rsi, r_base
            ; mov edx, depth as i32
            ; mov ecx, pc
            ; mov r8, QWORD a as i64
            ; mov r9, QWORD b as i64
        );
        emit_call(&mut self.ops, helper as usize);
    }

    /// Calls a helper and leaves through the error exit if it raised.
    fn call_checked(&mut self, helper: Helper, depth: u32, a: u64, b: u64) {
        self.call_helper(helper, depth, a, b);
        let err = self.error_exit;
        emit!(self ; test rax, rax ; jnz =>err);
    }

    // ---- the int result in `rax` (see `Cached`) ------------------------------

    /// Whether instruction `pc` may use the previous instruction's result
    /// in `rax`: it emits no code (a deferred push) or it is an int
    /// operator or comparison that checks (`first_in_rax`), and no jump
    /// lands on it.
    fn keeps_cached(&self, pc: usize) -> bool {
        use Op::*;
        let op = self.func.proto.code[pc];
        let reads_it = matches!(op, GetLocal { .. } | GetLocal2 { .. } | Int { .. })
            || int_operand_count(op).is_some();
        // None of these emits code before `operands_with_cache` decides
        // (they read deferred entries, so `emit_op` flushes nothing first):
        // the slow paths' rejoin point never skips code.
        debug_assert!(!reads_it || uses_deferred_entries(op));
        reads_it && !self.analysis.is_target[pc] && self.analysis.depth[pc].is_some()
    }

    /// Ends an int operator's fast path whose result (slot `s`) is in
    /// `rax`; its slow paths continue at `done`. With a fused `Return`
    /// (`d` is the operator's depth) the return's code follows instead.
    fn leave_in_rax(
        &mut self,
        s: u32,
        done: DynamicLabel,
        d: u32,
        in_memory: bool,
        rejoined: bool,
    ) {
        if let Some(Op::Return) = self.func.proto.code.get(self.pc + 1)
            && self.can_fuse_next()
        {
            emit!(self ; =>done);
            self.fused_return_tail(d);
        } else {
            self.cached = Some(Cached {
                slot: s,
                generic: done,
                in_memory,
                rejoined,
            });
        }
    }

    /// The fast and slow paths of the previous operator meet here.
    fn drop_cached(&mut self) {
        if let Some(c) = self.cached.take() {
            self.bind_generic(c);
        }
    }

    /// Where the fast path (after storing the result if it had not) and
    /// the slow paths of the previous operator meet.
    fn bind_generic(&mut self, c: Cached) {
        if !c.in_memory {
            self.store_rax(c.slot);
        }
        emit!(self ; =>c.generic);
    }

    /// Slot `s` = the int in `rax`.
    fn store_rax(&mut self, s: u32) {
        let o = slot(s);
        emit!(self
            ; mov QWORD [r_base + o], TAG_INT as i32
            ; mov [r_base + o + 8], rax
        );
    }

    /// [`Self::take_operands`] for an instruction that may use the cached
    /// result: keeps it only if taking the operands emits no code (no
    /// deferred entries below them to write out).
    fn operands_with_cache(&mut self, d: u32, n: usize) -> (Vec<Operand>, Option<Cached>) {
        let cached = if self.pending.len() <= n {
            self.cached.take()
        } else {
            self.drop_cached();
            None
        };
        (self.take_operands(d, n), cached)
    }

    /// The operands of an int operator (as [`Self::operands_with_cache`]).
    /// If `guard_free` (its result goes to its own slot, and its int path
    /// cannot fail) and its operands are deferred known ints, it has no
    /// slow path: no helper runs, so nothing can look at the frame, and
    /// the deferred entries below stay deferred (`fib(n - 1)` keeps the
    /// callee `fib` unwritten). Then the third value is true, and the
    /// caller pushes its result as a deferred entry that is already in its
    /// slot.
    fn int_operands(
        &mut self,
        d: u32,
        n: usize,
        guard_free: bool,
    ) -> (Vec<Operand>, Option<Cached>, bool) {
        let len = self.pending.len();
        // The operands must not read a slot whose own entry is still
        // deferred (a local initialized by `let x = 1` is a deferred `Int`
        // until written out), unless the entry is that slot itself.
        let first_deferred = d - len as u32;
        let top = (len.saturating_sub(n)..len).zip(d - n as u32..);
        let keep = guard_free
            && len > n
            && top.clone().all(|(i, _)| {
                let v = self.pending[i];
                v.is_slot_or_int() && self.is_int(v)
            })
            && top.into_iter().all(|(i, at)| match self.pending[i] {
                Operand::Slot(s) => s < first_deferred || s == at,
                _ => true,
            });
        if !keep {
            let (ops, cached) = self.operands_with_cache(d, n);
            return (ops, cached, false);
        }
        self.drop_cached();
        (self.pending.split_off(len - n), None, true)
    }

    /// Whether the first operand `a` is the cached result, already checked
    /// and in `rax`. If so, the producer's slow paths get the check and
    /// load out of line and rejoin here; if not, both paths meet here.
    fn first_in_rax(&mut self, cached: Option<Cached>, a: Operand, not_int: DynamicLabel) -> bool {
        let Some(c) = cached else { return false };
        if !matches!(a, Operand::Slot(s) if s == c.slot) {
            self.bind_generic(c);
            return false;
        }
        if !c.in_memory {
            self.unstored = Some(c.slot);
        }
        if !c.rejoined {
            return true; // the value is in `rax` on every path
        }
        let join = self.ops.new_dynamic_label();
        emit!(self ; =>join);
        self.cold(move |k| {
            emit!(k ; =>c.generic);
            k.guard_int(a, not_int);
            k.load_int(a);
            emit!(k ; jmp =>join);
        });
        true
    }

    // ---- deferred pushes (see `Operand`) --------------------------------------

    /// Notes a push without emitting code.
    fn defer(&mut self, v: Operand) -> usize {
        self.pending.push(v);
        1
    }

    /// Writes every deferred entry to its slot; `d` is the static depth
    /// (the entries are the slots just below it).
    fn flush(&mut self, d: u32) {
        let first = d - self.pending.len() as u32;
        for (i, v) in std::mem::take(&mut self.pending).into_iter().enumerate() {
            self.materialize(v, first + i as u32);
        }
    }

    /// Writes operand `v` to slot `s` (nothing if it is already there).
    fn materialize(&mut self, v: Operand, s: u32) {
        match v {
            Operand::Slot(from) if from == s => {}
            // A known int: its tag is a constant (one load fewer).
            Operand::Slot(from) if self.is_int(v) => {
                let (f, t) = (slot(from), slot(s));
                emit!(self
                    ; mov r10, [r_base + f + 8]
                    ; mov QWORD [r_base + t], TAG_INT as i32
                    ; mov [r_base + t + 8], r10
                );
            }
            Operand::Slot(from) => self.copy_slot(from, s),
            Operand::Int(i) => self.store_imm(s, TAG_INT, i as i64 as u64),
            Operand::Value { tag, payload } => self.store_imm(s, tag, payload as i64 as u64),
            Operand::Global(g) => {
                let (f, t) = (slot(g), slot(s));
                emit!(self
                    ; mov r10, [r_consts + f]
                    ; mov r11, [r_consts + f + 8]
                    ; mov [r_base + t], r10
                    ; mov [r_base + t + 8], r11
                );
            }
        }
    }

    /// The top `n` entries as operands, bottom first, removed from
    /// `pending`; deferred entries below them are flushed.
    fn take_operands(&mut self, d: u32, n: usize) -> Vec<Operand> {
        let deferred = self.pending.len().min(n);
        let top = self.pending.split_off(self.pending.len() - deferred);
        self.flush(d - deferred as u32);
        let first = d - n as u32;
        let mut out: Vec<Operand> = (0..(n - deferred) as u32)
            .map(|i| Operand::Slot(first + i))
            .collect();
        out.extend(top);
        out
    }

    /// `Pop`/`PopN`: dropping deferred entries forgets them; the static
    /// depth drops for the others, so no code either way.
    fn pop_entries(&mut self, n: u32) {
        let keep = self.pending.len().saturating_sub(n as usize);
        self.pending.truncate(keep);
    }

    /// Whether `v` certainly holds an int here: an immediate, or a slot
    /// the pre-pass found to hold an int before this instruction
    /// ([`Analysis::ints`](super::analysis::Analysis::ints)).
    fn is_int(&self, v: Operand) -> bool {
        match v {
            Operand::Int(_) => true,
            Operand::Value { .. } | Operand::Global(_) => false,
            Operand::Slot(s) => s < 64 && self.analysis.ints[self.pc] & (1 << s) != 0,
        }
    }

    /// Whether `v` certainly holds a float here: a slot the pre-pass found
    /// to hold one before this instruction
    /// ([`Analysis::floats`](super::analysis::Analysis::floats)). Float
    /// constants are not deferred: `CONST` writes them to their slot.
    fn is_float(&self, v: Operand) -> bool {
        match v {
            Operand::Slot(s) => s < 64 && self.analysis.floats[self.pc] & (1 << s) != 0,
            Operand::Int(_) | Operand::Value { .. } | Operand::Global(_) => false,
        }
    }

    /// Whether either of the top two operand-stack entries (deferred or in
    /// their slots) certainly holds a float: a binary operator on them then
    /// takes the float path first.
    fn has_float_operand(&self, d: u32) -> bool {
        let len = self.pending.len();
        (0..2).any(|i| {
            let v = match (len + i).checked_sub(2) {
                Some(p) => self.pending[p],
                None => Operand::Slot(d - 2 + i as u32),
            };
            self.is_float(v)
        })
    }

    /// Jumps to `not_ints` unless `v` is an int; no code if it certainly
    /// is one ([`Self::is_int`]).
    fn guard_int(&mut self, v: Operand, not_ints: DynamicLabel) {
        if self.is_int(v) {
            return;
        }
        match v {
            Operand::Slot(s) => {
                let s = slot(s);
                emit!(self
                    ; cmp QWORD [r_base + s], TAG_INT as i32
                    ; jne =>not_ints
                );
            }
            // Not reached (see `int_operand_count`), but correct: the slow path.
            Operand::Value { .. } | Operand::Global(_) => emit!(self ; jmp =>not_ints),
            Operand::Int(_) => {}
        }
    }

    /// `rax` = the int payload of `v`.
    fn load_int(&mut self, v: Operand) {
        match v {
            Operand::Slot(s) => {
                let s = slot(s);
                emit!(self ; mov rax, [r_base + s + 8]);
            }
            Operand::Int(i) => emit!(self ; mov rax, i),
            Operand::Value { payload, .. } => emit!(self ; mov rax, payload),
            Operand::Global(g) => emit!(self ; mov rax, [r_consts + slot(g) + 8]),
        }
    }

    /// Writes the operands of a slow path to their slots `d-n..d`, so the
    /// helper finds them where the interpreter keeps them.
    fn materialize_operands(&mut self, d: u32, operands: &[Operand]) {
        let first = d - operands.len() as u32;
        for (i, &v) in operands.iter().enumerate() {
            self.materialize(v, first + i as u32);
        }
    }

    // ---- constants and stack shuffling -------------------------------------

    /// `base[d] = {tag, payload}`.
    fn store_imm(&mut self, d: u32, tag: u64, payload: u64) {
        let s = slot(d);
        emit!(self ; mov QWORD [r_base + s], tag as i32);
        if let Ok(p) = i32::try_from(payload as i64) {
            emit!(self ; mov QWORD [r_base + s + 8], p);
        } else {
            emit!(self
                ; mov rax, QWORD payload as i64
                ; mov [r_base + s + 8], rax
            );
        }
    }

    /// Constants never change after loading, so the value is an immediate
    /// (a string constant's pointer stays valid: the function roots it).
    fn emit_const(&mut self, d: u32, k: u32) {
        let v = self.func.consts[k as usize];
        self.store_imm(d, v.tag, v.payload);
    }

    /// Copies 16 bytes from slot `from` to slot `to`. Two 8-byte moves, not
    /// one 16-byte `movups`: templates write tags and payloads separately,
    /// and a 16-byte load of two 8-byte stores cannot be store-forwarded
    /// (the CPU stalls until the stores retire, ~15 cycles each time).
    fn copy_slot(&mut self, from: u32, to: u32) {
        let (f, t) = (slot(from), slot(to));
        emit!(self
            ; mov r10, [r_base + f]
            ; mov r11, [r_base + f + 8]
            ; mov [r_base + t], r10
            ; mov [r_base + t + 8], r11
        );
    }

    fn emit_dup(&mut self, d: u32) {
        self.copy_slot(d - 1, d);
    }

    fn emit_dup2(&mut self, d: u32) {
        self.copy_slot(d - 2, d);
        self.copy_slot(d - 1, d + 1);
    }

    // ---- upvalues ----------------------------------------------------------------

    /// `GetUpval` / `SetUpval`: upvalue `idx` of the running closure (slot
    /// 0) points at the variable, open (in the VM stack) or closed (in the
    /// upvalue itself): one load chain to its address, then a copy. (The
    /// bytecode verifier checked `idx` against the closure's upvalues.)
    fn emit_upval(&mut self, d: u32, idx: u32, set: bool) {
        let i = i32::try_from(idx as u64 * 8).expect("upvalue index fits");
        emit!(self
            ; mov rax, [r_keep - FRAME_SIZE + FRAME_CLOSURE]      // the closure
            ; mov rax, [rax + CLOSURE_UPVALS_OFFSET as i32]
            ; mov rax, [rax + i]                                  // the upvalue
            ; mov rax, [rax + UPVAL_LOCATION_OFFSET as i32]       // the variable
        );
        if set {
            let v = slot(d - 1);
            emit!(self
                ; mov r10, [r_base + v]
                ; mov r11, [r_base + v + 8]
                ; mov [rax], r10
                ; mov [rax + 8], r11
            );
        } else {
            let t = slot(d);
            emit!(self
                ; mov r10, [rax]
                ; mov r11, [rax + 8]
                ; mov [r_base + t], r10
                ; mov [r_base + t + 8], r11
            );
        }
    }

    // ---- globals: `r_consts` holds the globals array -------------------------

    /// Jumps to the `undefined variable` error unless global `g` is defined.
    /// No code if it was defined when compiling began: it stays defined.
    fn check_global_defined(&mut self, g: u32, d: u32) {
        if self
            .env
            .globals
            .get(g as usize)
            .is_some_and(|v| v.tag != TAG_UNDEF)
        {
            return;
        }
        let (off, undefined) = (slot(g), self.ops.new_dynamic_label());
        emit!(self
            ; cmp QWORD [r_consts + off], TAG_UNDEF as i32
            ; je =>undefined
        );
        self.cold(move |c| {
            emit!(c ; =>undefined);
            c.call_helper(helpers::jit_undefined_global, d, g as u64, 0);
            let err = c.error_exit;
            emit!(c ; jmp =>err);
        });
    }

    fn emit_set_global(&mut self, d: u32, g: u32) {
        self.check_global_defined(g, d);
        self.emit_define_global(d, g);
    }

    fn emit_define_global(&mut self, d: u32, g: u32) {
        let (off, f) = (slot(g), slot(d - 1));
        emit!(self
            ; mov r10, [r_base + f]
            ; mov r11, [r_base + f + 8]
            ; mov [r_consts + off], r10
            ; mov [r_consts + off + 8], r11
        );
    }

    // ---- operators -----------------------------------------------------------

    /// Jumps to local label `slow` unless slots `a` and `b` both hold ints
    /// (no check for a slot that certainly does).
    fn guard_two_ints(&mut self, a: u32, b: u32) {
        for s in [a, b] {
            if !self.is_int(Operand::Slot(s)) {
                emit!(self
                    ; cmp QWORD [r_base + slot(s)], TAG_INT as i32
                    ; jne >slow
                );
            }
        }
    }

    /// `+ - * & | ^` with an inline int/int path (wrapping, as x86 does),
    /// an inline float path for `+ - *` (int operands are converted, as
    /// the language does), and the helper for everything else. The result
    /// goes to slot `d-2`.
    fn emit_int_arith(&mut self, op: Op, d: u32) -> usize {
        let local = self.result_local();
        let guard_free = matches!(op, Op::Add | Op::Sub | Op::Mul) && local.is_none();
        let (ops, cached, below) = self.int_operands(d, 2, guard_free);
        let (a, b) = (ops[0], ops[1]);
        let (not_ints, done) = (self.ops.new_dynamic_label(), self.ops.new_dynamic_label());
        let a_in_rax = self.first_in_rax(cached, a, not_ints);
        // `a`, taken from `rax`, may be missing from its slot: then the tag
        // store below cannot count on it, and a slow path must find it.
        let mut read = vec![a, b];
        if let Some(s) = self.unstored.take() {
            if self.is_int(b) {
                read = vec![b];
            } else {
                self.store_rax(s);
            }
        }
        if !a_in_rax {
            self.guard_int(a, not_ints);
        }
        if !matches!((a, b), (Operand::Slot(x), Operand::Slot(y)) if x == y) {
            self.guard_int(b, not_ints); // not twice for `x * x`
        }
        if !a_in_rax {
            self.load_int(a);
        }
        match (op, b) {
            (Op::Add, Operand::Int(i)) => emit!(self ; add rax, i),
            (Op::Sub, Operand::Int(i)) => emit!(self ; sub rax, i),
            (Op::Mul, Operand::Int(i)) => emit!(self ; imul rax, rax, i),
            (_, Operand::Int(_)) => unreachable!("bitwise operators take flushed operands"),
            (_, Operand::Value { .. } | Operand::Global(_)) => {
                unreachable!("see `int_operand_count`")
            }
            (Op::Add, Operand::Slot(s)) => emit!(self ; add rax, [r_base + slot(s) + 8]),
            (Op::Sub, Operand::Slot(s)) => emit!(self ; sub rax, [r_base + slot(s) + 8]),
            (Op::Mul, Operand::Slot(s)) => emit!(self ; imul rax, [r_base + slot(s) + 8]),
            (Op::BitAnd, Operand::Slot(s)) => emit!(self ; and rax, [r_base + slot(s) + 8]),
            (Op::BitOr, Operand::Slot(s)) => emit!(self ; or rax, [r_base + slot(s) + 8]),
            (_, Operand::Slot(s)) => emit!(self ; xor rax, [r_base + slot(s) + 8]),
        }
        let in_memory = below || !self.result_read_from_rax();
        if in_memory {
            self.store_int(local, d - 2, &read);
        }
        let guarded = !(self.is_int(a) && self.is_int(b));
        self.leave_in_rax(local.unwrap_or(d - 2), done, d, in_memory, guarded);
        if below {
            self.pending.push(Operand::Slot(d - 2));
        }
        let consumed = if local.is_some() { 2 } else { 1 };
        if !guarded {
            return consumed; // no guard: no slow path
        }
        self.cold(move |c| {
            emit!(c ; =>not_ints);
            let slow = c.ops.new_dynamic_label();
            if matches!(op, Op::Add | Op::Sub | Op::Mul) {
                c.load_number(a, 0, slow);
                c.load_number(b, 1, slow);
                match op {
                    Op::Add => emit!(c ; addsd xmm0, xmm1),
                    Op::Sub => emit!(c ; subsd xmm0, xmm1),
                    _ => emit!(c ; mulsd xmm0, xmm1),
                }
                c.store_float(local.unwrap_or(d - 2));
                emit!(c ; jmp =>done);
            }
            emit!(c ; =>slow);
            c.materialize_operands(d, &ops);
            c.call_checked(helpers::binary_helper(&op), d, 0, 0);
            c.finish_result(d - 2, local);
            emit!(c ; jmp =>done);
        });
        consumed
    }

    /// `+ - * /` with an operand that certainly holds a float
    /// ([`Self::is_float`]): the result is a float (or an error), so the
    /// float path comes first, inline, and there is no int path. A known
    /// float is loaded without a check, the other operand as
    /// [`Self::load_number`] does; anything else goes to the helper, out of
    /// line. The result goes to slot `d-2` or to the fused local.
    fn emit_float_arith(&mut self, op: Op, d: u32) -> usize {
        let local = self.result_local();
        // The previous operator's int result, if it is in `rax` only,
        // goes to its slot: the float path reads slots.
        self.drop_cached();
        let ops = self.take_operands(d, 2);
        let (slow, done) = (self.ops.new_dynamic_label(), self.ops.new_dynamic_label());
        self.load_number(ops[0], 0, slow);
        self.load_number(ops[1], 1, slow);
        match op {
            Op::Add => emit!(self ; addsd xmm0, xmm1),
            Op::Sub => emit!(self ; subsd xmm0, xmm1),
            Op::Mul => emit!(self ; mulsd xmm0, xmm1),
            // IEEE division, as the language's: by zero gives inf or NaN.
            _ => emit!(self ; divsd xmm0, xmm1),
        }
        self.store_float(local.unwrap_or(d - 2));
        emit!(self ; =>done);
        if !ops.iter().all(|&v| self.is_float(v) || self.is_int(v)) {
            self.cold(move |c| {
                emit!(c ; =>slow);
                c.materialize_operands(d, &ops);
                c.call_checked(helpers::binary_helper(&op), d, 0, 0);
                c.finish_result(d - 2, local);
                emit!(c ; jmp =>done);
            });
        }
        self.fused_return_tail(d);
        if local.is_some() { 2 } else { 1 }
    }

    /// Whether the int result the operator at `self.pc` leaves in `rax` is
    /// read only from there, so its fast path need not store it: the next
    /// instructions are a deferred push and an operator that takes the
    /// result from `rax` ([`Cached`]) and pops it: a compare-and-branch
    /// against an int literal (`x % 3 == 0`) or `+ - *` (`i * j + j`). No
    /// jump may land in between. If the consumer has a slow path of its
    /// own, or turns out not to take `rax`, it stores the value after all
    /// (`unstored`, [`Self::bind_generic`]); the operator's slow paths
    /// always store it (the helper writes the slot).
    #[allow(clippy::match_like_matches_macro)] // one row per group reads better
    fn result_read_from_rax(&self) -> bool {
        use Op::*;
        let code = &self.func.proto.code;
        let pc = self.pc;
        let consumer = match code.get(pc + 2) {
            Some(JumpIfNotLt { .. } | JumpIfNotLe { .. } | JumpIfNotGt { .. }) => true,
            Some(JumpIfNotGe { .. } | JumpIfNotEq { .. } | JumpIfNotNe { .. }) => true,
            Some(Add | Sub | Mul) => true,
            _ => false,
        };
        consumer
            && matches!(code[pc + 1], Int { .. } | GetLocal { .. })
            && !self.analysis.is_target[pc + 1]
            && !self.analysis.is_target[pc + 2]
    }

    /// The result of an int operator, in `rax`, goes to the fused `local`
    /// if there is one, else to slot `s`. The tag store is skipped when the
    /// slot's memory already holds an int tag: it is one of the operands,
    /// read from that very slot (checked by a guard, or certainly an int:
    /// `total += x`, `i = i + 1`), or it is the local and certainly holds
    /// an int ([`Self::is_int`]). Not otherwise: an operand whose push was
    /// deferred never reached its slot.
    fn store_int(&mut self, local: Option<u32>, s: u32, operands: &[Operand]) {
        let s = local.unwrap_or(s);
        let o = slot(s);
        let read_there = (operands.iter()).any(|v| matches!(v, Operand::Slot(t) if *t == s));
        let tag_is_int = read_there || (local.is_some() && self.is_int(Operand::Slot(s)));
        if !tag_is_int {
            emit!(self ; mov QWORD [r_base + o], TAG_INT as i32);
        }
        emit!(self ; mov [r_base + o + 8], rax);
    }

    /// The float path's operands: `xmm0` = slot `a`, `xmm1` = slot `b`,
    /// each a float or an int converted to float; jumps to `slow` if either
    /// is something else.
    fn load_numbers(&mut self, a: u32, b: u32, slow: DynamicLabel) {
        self.load_number(Operand::Slot(a), 0, slow);
        self.load_number(Operand::Slot(b), 1, slow);
    }

    /// `xmm` = the number `v` as a float (an int converted, as the language
    /// does); jumps to `not_number` if `v` is something else.
    #[allow(clippy::useless_conversion)] // inside dynasm's `Rx(..)` expansion
    fn load_number(&mut self, v: Operand, xmm: u8, not_number: DynamicLabel) {
        let s = match v {
            Operand::Slot(s) => slot(s),
            Operand::Int(i) => {
                emit!(self ; mov ecx, i ; movsxd rcx, ecx ; cvtsi2sd Rx(xmm), rcx);
                return;
            }
            Operand::Value { .. } | Operand::Global(_) => unreachable!("see `int_operand_count`"),
        };
        if self.is_int(v) {
            emit!(self ; cvtsi2sd Rx(xmm), QWORD [r_base + s + 8]);
            return;
        }
        if self.is_float(v) {
            emit!(self ; movsd Rx(xmm), [r_base + s + 8]);
            return;
        }
        emit!(self
            ; cmp QWORD [r_base + s], TAG_FLOAT as i32
            ; jne >not_float
            ; movsd Rx(xmm), [r_base + s + 8]
            ; jmp >loaded
            ; not_float:
            ; cmp QWORD [r_base + s], TAG_INT as i32
            ; jne =>not_number
            ; cvtsi2sd Rx(xmm), QWORD [r_base + s + 8]
            ; loaded:
        );
    }

    /// Slot `s` = the float in `xmm0`.
    fn store_float(&mut self, s: u32) {
        let s = slot(s);
        emit!(self
            ; mov QWORD [r_base + s], TAG_FLOAT as i32
            ; movsd [r_base + s + 8], xmm0
        );
    }

    /// Int `/` and `%` inline. `idiv` traps on a zero divisor and on
    /// `i64::MIN / -1`, so both go elsewhere first: zero to the helper
    /// (which raises `division by zero`), -1 to `neg` (wrapping) or 0.
    fn emit_div_mod(&mut self, op: Op, d: u32) {
        let (a, b) = (slot(d - 2) + 8, slot(d - 1) + 8);
        for s in [d - 2, d - 1] {
            if !self.is_int(Operand::Slot(s)) {
                emit!(self
                    ; cmp QWORD [r_base + slot(s)], TAG_INT as i32
                    ; jne >not_ints
                );
            }
        }
        emit!(self
            ; mov rax, [r_base + a]
            ; mov rcx, [r_base + b]
            ; test rcx, rcx
            ; jz >slow
            ; cmp rcx, -1
            ; je >minus_one
            ; cqo
            ; idiv rcx
        );
        if op == Op::Mod {
            emit!(self ; mov rax, rdx ; jmp >store ; minus_one: ; xor eax, eax);
        } else {
            emit!(self ; jmp >store ; minus_one: ; neg rax);
        }
        emit!(self ; store: ; mov [r_base + a], rax ; jmp >done);
        let not_numbers = self.ops.new_dynamic_label();
        if op == Op::Div {
            // Float `/` (IEEE: x / 0.0 is an infinity or NaN, no error).
            emit!(self ; not_ints:);
            self.load_numbers(d - 2, d - 1, not_numbers);
            emit!(self ; divsd xmm0, xmm1);
            self.store_float(d - 2);
            emit!(self ; jmp >done);
        } else {
            emit!(self ; not_ints:);
        }
        emit!(self ; slow: ; =>not_numbers);
        self.call_checked(helpers::binary_helper(&op), d, 0, 0);
        emit!(self ; done:);
    }

    /// `x + v`, `x - v`, `x % v` with `v` an immediate. The int paths are
    /// inline; `% v` only when `v` is a positive constant, where `idiv`
    /// can neither trap nor overflow. The helper does the rest.
    fn emit_int_immediate(&mut self, op: Op, d: u32, v: i32) -> usize {
        let local = self.result_local();
        let guard_free = !matches!(op, Op::ModInt { .. } if v <= 0) && local.is_none();
        let (ops, cached, below) = self.int_operands(d, 1, guard_free);
        let x = ops[0];
        let (not_ints, done) = (self.ops.new_dynamic_label(), self.ops.new_dynamic_label());
        let store = self.ops.new_dynamic_label();
        if !self.first_in_rax(cached, x, not_ints) {
            self.guard_int(x, not_ints);
            self.load_int(x);
        }
        if let Some(s) = self.unstored.take() {
            self.store_rax(s); // its slow path reads it there
        }
        let kind = match op {
            Op::AddInt { .. } => {
                emit!(self ; add rax, v);
                helpers::IMM_ADD
            }
            Op::SubInt { .. } => {
                emit!(self ; sub rax, v);
                helpers::IMM_SUB
            }
            _ if v > 0 => {
                self.emit_mod_positive(v, store);
                helpers::IMM_MOD
            }
            // `% 0` (an error) and `% -n`: always the helper.
            _ => {
                emit!(self ; jmp =>not_ints);
                helpers::IMM_MOD
            }
        };
        emit!(self ; =>store);
        let in_memory = below || !self.result_read_from_rax();
        if in_memory {
            self.store_int(local, d - 1, &[x]);
        }
        let guarded = !(self.is_int(x) && !(kind == helpers::IMM_MOD && v <= 0));
        self.leave_in_rax(local.unwrap_or(d - 1), done, d + 1, in_memory, guarded);
        if below {
            self.pending.push(Operand::Slot(d - 1));
        }
        let consumed = if local.is_some() { 2 } else { 1 };
        if !guarded {
            return consumed; // no guard: no slow path
        }
        self.cold(move |c| {
            emit!(c ; =>not_ints);
            c.materialize(x, d - 1);
            c.call_checked(helpers::jit_int_immediate, d, kind, v as i64 as u64);
            c.finish_result(d - 1, local);
            emit!(c ; jmp =>done);
        });
        consumed
    }

    /// `rax = rax % v` for an int `rax` and a constant `v > 0`, continuing
    /// at `store`. A non-negative dividend avoids `idiv` (tens of cycles):
    /// a mask for a power of two, else a multiplication by a precomputed
    /// reciprocal ([`divide`]). A negative one takes `idiv` out of line
    /// (`% v` with `v > 0` can neither trap nor overflow).
    fn emit_mod_positive(&mut self, v: i32, store: DynamicLabel) {
        let Some(by) = divide::mod_by(v as u64) else {
            emit!(self ; mov ecx, v ; cqo ; idiv rcx ; mov rax, rdx);
            return;
        };
        let negative = self.ops.new_dynamic_label();
        emit!(self ; test rax, rax ; js =>negative);
        match by {
            ModBy::Mask(mask) => emit!(self ; and rax, mask as i32),
            ModBy::Magic { magic, shift } => emit!(self
                ; mov rcx, rax
                ; mov rdx, QWORD magic as i64
                ; mul rdx                     // rdx = high 64 bits of x * magic
                ; shr rdx, shift as i8        // the quotient
                ; imul rdx, rdx, v
                ; mov rax, rcx
                ; sub rax, rdx
            ),
        }
        self.cold(move |c| {
            emit!(c
                ; =>negative
                ; mov ecx, v
                ; cqo
                ; idiv rcx
                ; mov rax, rdx
                ; jmp =>store
            );
        });
    }

    /// `-x` and `~x`: the int path in place, the helper for the rest.
    fn emit_int_unary(&mut self, op: Op, d: u32) {
        let s = slot(d - 1);
        if !self.is_int(Operand::Slot(d - 1)) {
            emit!(self
                ; cmp QWORD [r_base + s], TAG_INT as i32
                ; jne >slow
            );
        }
        let helper = if op == Op::Neg {
            emit!(self ; neg QWORD [r_base + s + 8]);
            helpers::jit_neg
        } else {
            emit!(self ; not QWORD [r_base + s + 8]);
            helpers::jit_bit_not
        };
        emit!(self ; jmp >done ; slow:);
        self.call_checked(helper, d, 0, 0);
        emit!(self ; done:);
    }

    /// Jumps to `falsy` if slot `s` is `nil` or `false` (tags 0 and 1 are
    /// the only falsy kinds; a bool is falsy when its payload is 0).
    fn branch_if_falsy(&mut self, s: u32, falsy: DynamicLabel) {
        let s = slot(s);
        emit!(self
            ; cmp QWORD [r_base + s], TAG_BOOL as i32
            ; ja >truthy
            ; jb =>falsy
            ; cmp QWORD [r_base + s + 8], 0
            ; je =>falsy
            ; truthy:
        );
    }

    /// Jumps to `truthy` unless slot `s` is `nil` or `false`.
    fn branch_if_truthy(&mut self, s: u32, truthy: DynamicLabel) {
        let s = slot(s);
        emit!(self
            ; cmp QWORD [r_base + s], TAG_BOOL as i32
            ; ja =>truthy
            ; jb >falsy
            ; cmp QWORD [r_base + s + 8], 0
            ; jne =>truthy
            ; falsy:
        );
    }

    fn emit_not(&mut self, d: u32) {
        let s = slot(d - 1);
        let falsy = self.ops.new_dynamic_label();
        self.branch_if_falsy(d - 1, falsy);
        emit!(self
            ; xor eax, eax
            ; jmp >store
            ; =>falsy
            ; mov eax, 1
            ; store:
            ; mov QWORD [r_base + s], TAG_BOOL as i32
            ; mov [r_base + s + 8], rax
        );
    }

    /// The int path shared by comparisons: jumps to the next local label
    /// `not_ints` unless both operands are ints, else `cmp a, b`. Returns
    /// the operands, for the slow paths to write to their slots.
    fn compare_ints(&mut self, d: u32, not_ints: DynamicLabel) -> Vec<Operand> {
        let (ops, cached) = self.operands_with_cache(d, 2);
        let (a, b) = (ops[0], ops[1]);
        let a_in_rax = self.first_in_rax(cached, a, not_ints);
        if let Some(s) = self.unstored.take()
            && !self.is_int(b)
        {
            self.store_rax(s); // the slow path reads it there
        }
        if !a_in_rax {
            self.guard_int(a, not_ints);
        }
        self.guard_int(b, not_ints);
        match (a, b) {
            (_, Operand::Int(i)) if a_in_rax => emit!(self ; cmp rax, i),
            (_, Operand::Slot(s)) if a_in_rax => emit!(self ; cmp rax, [r_base + slot(s) + 8]),
            (Operand::Slot(s), Operand::Int(i)) => {
                emit!(self ; cmp QWORD [r_base + slot(s) + 8], i);
            }
            (_, Operand::Int(i)) => {
                self.load_int(a);
                emit!(self ; cmp rax, i);
            }
            (_, Operand::Slot(s)) => {
                self.load_int(a);
                emit!(self ; cmp rax, [r_base + slot(s) + 8]);
            }
            (_, Operand::Value { .. } | Operand::Global(_)) => {
                unreachable!("see `int_operand_count`")
            }
        }
        ops
    }

    /// The operand-stack entry `k` below the top (0 is the top) at depth
    /// `d`, deferred or not.
    fn peek_operand(&self, d: u32, k: usize) -> Operand {
        match self.pending.len().checked_sub(k + 1) {
            Some(i) => self.pending[i],
            None => Operand::Slot(d - 1 - k as u32),
        }
    }

    /// `==` or `!=` (kept, or fused with its branch) between a value in a
    /// slot and a deferred constant that is not a number (`node == nil`,
    /// `done != true`). A value of those types equals only itself, so the
    /// tag (and the payload, except for nil, whose payload is always 0)
    /// decides, with no helper and no slow path. Returns false, emitting
    /// nothing, for any other instruction or operands.
    fn emit_equals_constant(&mut self, op: Op, d: u32) -> bool {
        let (eq, target) = match op {
            Op::Eq => (true, None),
            Op::Ne => (false, None),
            Op::JumpIfNotEq { target } => (true, Some(target)),
            Op::JumpIfNotNe { target } => (false, Some(target)),
            _ => return false,
        };
        let (x, tag, payload) = match (self.peek_operand(d, 1), self.peek_operand(d, 0)) {
            (Operand::Slot(x), Operand::Value { tag, payload })
            | (Operand::Value { tag, payload }, Operand::Slot(x)) => (slot(x), tag, payload),
            _ => return false,
        };
        self.drop_cached();
        self.take_operands(d, 2); // the slot's entry is written out if deferred
        let nil = tag == TAG_NIL;
        match target.map(|t| self.labels[t as usize]) {
            // `JumpIfNotEq`: jump unless equal.
            Some(t) if eq => {
                emit!(self ; cmp QWORD [r_base + x], tag as i32 ; jne =>t);
                if !nil {
                    emit!(self ; cmp QWORD [r_base + x + 8], payload ; jne =>t);
                }
            }
            // `JumpIfNotNe`: jump if equal.
            Some(t) if nil => emit!(self ; cmp QWORD [r_base + x], tag as i32 ; je =>t),
            Some(t) => emit!(self
                ; cmp QWORD [r_base + x], tag as i32
                ; jne >different
                ; cmp QWORD [r_base + x + 8], payload
                ; je =>t
                ; different:
            ),
            None => {
                let result = slot(d - 2);
                emit!(self ; xor ecx, ecx ; cmp QWORD [r_base + x], tag as i32);
                if nil {
                    emit!(self ; sete cl);
                } else {
                    emit!(self
                        ; jne >different
                        ; cmp QWORD [r_base + x + 8], payload
                        ; sete cl
                        ; different:
                    );
                }
                if !eq {
                    emit!(self ; xor ecx, 1);
                }
                emit!(self
                    ; mov QWORD [r_base + result], TAG_BOOL as i32
                    ; mov [r_base + result + 8], rcx
                );
            }
        }
        true
    }

    /// A comparison whose bool is kept (`let b = x < y`, `x < y and ...`):
    /// `setcc` on the int and float paths, else the helper. Conditions of
    /// `if` and `while` use the fused `JumpIfNot*` instructions instead.
    fn emit_compare(&mut self, op: Op, d: u32) {
        let not_ints = self.ops.new_dynamic_label();
        let ops = self.compare_ints(d, not_ints);
        self.set_flag(op);
        emit!(self ; jmp >store ; =>not_ints);
        // The float path and the helper read the operands from their slots.
        self.materialize_operands(d, &ops);
        if self.float_ordering(op, d) {
            self.set_flag_float(op);
            emit!(self ; jmp >store ; slow:);
        }
        self.call_checked(helpers::binary_helper(&op), d, 0, 0);
        let a = slot(d - 2);
        emit!(self
            ; jmp >done
            ; store:
            ; movzx eax, al
            ; mov QWORD [r_base + a], TAG_BOOL as i32
            ; mov [r_base + a + 8], rax
            ; done:
        );
    }

    /// `JumpIfNot<op>`: jumps to `target` unless `base[d-2] op base[d-1]`.
    /// Two ints: one `cmp; jcc`. Two floats (for `< <= > >=`): one
    /// `ucomisd; jcc`. Otherwise the comparison helper stores the bool in
    /// `base[d-2]`, and we test it.
    fn compare_and_branch(&mut self, op: Op, d: u32, target: u32) {
        if matches!(op, Op::Lt | Op::Le | Op::Gt | Op::Ge) && self.has_float_operand(d) {
            return self.float_compare_and_branch(op, d, target);
        }
        let t = self.labels[target as usize];
        let (not_ints, done) = (self.ops.new_dynamic_label(), self.ops.new_dynamic_label());
        let ops = self.compare_ints(d, not_ints);
        self.jump_unless(op, t);
        emit!(self ; =>done);
        if ops.iter().all(|&v| self.is_int(v)) {
            return; // no guard: no slow path
        }
        self.cold(move |c| {
            emit!(c ; =>not_ints);
            c.materialize_operands(d, &ops);
            if c.float_ordering(op, d) {
                c.jump_unless_float(op, t);
                emit!(c ; jmp =>done ; slow:);
            }
            c.call_checked(helpers::binary_helper(&op), d, 0, 0);
            c.branch_if_falsy(d - 2, t);
            emit!(c ; jmp =>done);
        });
    }

    /// `JUMP_IF_NOT_LT` (`_LE _GT _GE`) with an operand that certainly
    /// holds a float ([`Self::is_float`]): the float comparison comes first,
    /// inline, checking only the operand that is not known. An int operand
    /// goes to the helper with everything else: an int and a float compare
    /// exactly there, not by converting the int.
    fn float_compare_and_branch(&mut self, op: Op, d: u32, target: u32) {
        let t = self.labels[target as usize];
        self.drop_cached();
        let ops = self.take_operands(d, 2);
        let (slow, done) = (self.ops.new_dynamic_label(), self.ops.new_dynamic_label());
        for (v, xmm) in [(ops[0], 0u8), (ops[1], 1)] {
            self.load_float(v, xmm, slow);
        }
        self.ucomisd_ordered(op);
        self.jump_unless_float(op, t);
        emit!(self ; =>done);
        if ops
            .iter()
            .all(|&v| self.is_float(v) || matches!(v, Operand::Int(_)))
        {
            return; // no check: no slow path
        }
        self.cold(move |c| {
            emit!(c ; =>slow);
            c.materialize_operands(d, &ops);
            c.call_checked(helpers::binary_helper(&op), d, 0, 0);
            c.branch_if_falsy(d - 2, t);
            emit!(c ; jmp =>done);
        });
    }

    /// `xmm` = the float `v`; jumps to `not_float` if it is something else
    /// (no check if it certainly is a float). An int literal is converted:
    /// a 32-bit int is exact as a float, so comparing the two floats is
    /// comparing the int and the float exactly, as the helper does.
    #[allow(clippy::useless_conversion)] // inside dynasm's `Rx(..)` expansion
    fn load_float(&mut self, v: Operand, xmm: u8, not_float: DynamicLabel) {
        let s = match v {
            Operand::Slot(s) => s,
            Operand::Int(_) => return self.load_number(v, xmm, not_float),
            Operand::Value { .. } | Operand::Global(_) => unreachable!("see `int_operand_count`"),
        };
        let s = slot(s);
        if !self.is_float(v) {
            emit!(self
                ; cmp QWORD [r_base + s], TAG_FLOAT as i32
                ; jne =>not_float
            );
        }
        emit!(self ; movsd Rx(xmm), [r_base + s + 8]);
    }

    /// For `< <= > >=`: checks that both operands are floats (else jumps
    /// to the *next* local `slow`) and sets the flags with `ucomisd` so
    /// that "above" means the comparison holds. An unordered result (NaN)
    /// sets CF and ZF, so it reads as false, as the language requires.
    /// Returns false (emitting nothing) for `==` and `!=`.
    fn float_ordering(&mut self, op: Op, d: u32) -> bool {
        if !matches!(op, Op::Lt | Op::Le | Op::Gt | Op::Ge) {
            return false;
        }
        let (a, b) = (slot(d - 2), slot(d - 1));
        emit!(self
            ; cmp QWORD [r_base + a], TAG_FLOAT as i32
            ; jne >slow
            ; cmp QWORD [r_base + b], TAG_FLOAT as i32
            ; jne >slow
            ; movsd xmm0, [r_base + a + 8]
            ; movsd xmm1, [r_base + b + 8]
        );
        self.ucomisd_ordered(op);
        true
    }

    /// `ucomisd` of `xmm0` (the left operand) and `xmm1` for `< <= > >=`,
    /// so that "above" means the comparison holds: `a < b` is `b > a`, so
    /// those compare the operands the other way round.
    fn ucomisd_ordered(&mut self, op: Op) {
        match op {
            Op::Lt | Op::Le => emit!(self ; ucomisd xmm1, xmm0),
            _ => emit!(self ; ucomisd xmm0, xmm1),
        }
    }

    /// After [`Self::float_ordering`]: `al` = whether the comparison holds.
    fn set_flag_float(&mut self, op: Op) {
        match op {
            Op::Lt | Op::Gt => emit!(self ; seta al),
            _ => emit!(self ; setae al),
        }
    }

    /// After [`Self::ucomisd_ordered`]: jump to `t` unless it holds.
    fn jump_unless_float(&mut self, op: Op, t: DynamicLabel) {
        match op {
            Op::Lt | Op::Gt => emit!(self ; jbe =>t),
            _ => emit!(self ; jb =>t),
        }
    }

    /// `setcc al` for a comparison, after `cmp a, b`.
    fn set_flag(&mut self, op: Op) {
        match op {
            Op::Eq => emit!(self ; sete al),
            Op::Ne => emit!(self ; setne al),
            Op::Lt => emit!(self ; setl al),
            Op::Le => emit!(self ; setle al),
            Op::Gt => emit!(self ; setg al),
            _ => emit!(self ; setge al),
        }
    }

    /// Jumps to `t` when the comparison `op` is false, after `cmp a, b`.
    fn jump_unless(&mut self, op: Op, t: DynamicLabel) {
        match op {
            Op::Eq => emit!(self ; jne =>t),
            Op::Ne => emit!(self ; je =>t),
            Op::Lt => emit!(self ; jge =>t),
            Op::Le => emit!(self ; jg =>t),
            Op::Gt => emit!(self ; jle =>t),
            _ => emit!(self ; jl =>t),
        }
    }

    // ---- control flow --------------------------------------------------------

    fn emit_jump(&mut self, target: u32) {
        let t = self.labels[target as usize];
        emit!(self ; jmp =>t);
    }

    fn emit_jump_if_false(&mut self, d: u32, target: u32) {
        let t = self.labels[target as usize];
        self.branch_if_falsy(d - 1, t);
    }

    /// The value stays if we jump and is popped otherwise: with static
    /// depths, neither needs code.
    fn emit_jump_if_false_or_pop(&mut self, d: u32, target: u32) {
        self.emit_jump_if_false(d, target);
    }

    fn emit_jump_if_true_or_pop(&mut self, d: u32, target: u32) {
        let t = self.labels[target as usize];
        self.branch_if_truthy(d - 1, t);
    }

    /// A loop back-edge: polls the interrupt flag (a byte that is nonzero
    /// when set) and jumps to `target` if it is clear; otherwise raises
    /// `interrupted` out of line. One taken branch per iteration.
    fn emit_loop(&mut self, d: u32, target: u32) {
        let (t, poll) = (self.labels[target as usize], self.ops.new_dynamic_label());
        emit!(self
            ; cmp r_keep, [r_aux + CTX_FRAME_LIMIT as i32]
            ; jbe =>t
            ; jmp =>poll
        );
        self.cold(move |c| {
            emit!(c ; =>poll);
            c.call_checked(helpers::jit_poll_interrupt, d, 0, 0);
            emit!(c ; jmp =>t);
        });
    }

    fn emit_for_range_prep(&mut self, d: u32, s: u32, exit: u32) {
        let (c, l) = (slot(s), slot(s + 1));
        let t = self.labels[exit as usize];
        self.guard_two_ints(s, s + 1);
        emit!(self
            ; mov rax, [r_base + c + 8]
            ; cmp rax, [r_base + l + 8]
            ; jge =>t
            ; jmp >done
            ; slow:
        );
        self.call_helper(helpers::jit_range_error, d, s as u64, 0);
        let err = self.error_exit;
        emit!(self ; jmp =>err ; done:);
    }

    /// `counter += 1; if counter < limit { push counter; goto target }`
    /// (counter < limit held, so the increment cannot overflow). Whatever
    /// the body left above the hidden locals is dropped by the static
    /// depth alone: the loop variable goes to slot `s + 2`.
    fn emit_for_range_next(&mut self, s: u32, target: u32) {
        let (c, l, var) = (slot(s) + 8, slot(s + 1) + 8, slot(s + 2));
        emit!(self
            ; mov rax, [r_base + c]
            ; add rax, 1
            ; mov [r_base + c], rax
            ; cmp rax, [r_base + l]
            ; jge >exit
        );
        // The body usually leaves the loop variable an int: then only its
        // payload changes.
        if !self.is_int(Operand::Slot(s + 2)) {
            emit!(self ; mov QWORD [r_base + var], TAG_INT as i32);
        }
        emit!(self ; mov [r_base + var + 8], rax);
        self.emit_loop(s + 3, target);
        emit!(self ; exit:);
    }

    /// `for x in array`: local `s` holds the array, `s+1` the index (an int).
    fn emit_for_in_next(&mut self, d: u32, s: u32, exit: u32) {
        let (arr, idx, dst) = (slot(s) + 8, slot(s + 1) + 8, slot(d));
        let t = self.labels[exit as usize];
        emit!(self
            ; mov rax, [r_base + arr]
            ; mov rcx, [r_base + idx]
            ; cmp rcx, [rax + ARRAY_LEN_OFFSET as i32]
            ; jae =>t
            ; mov rdx, [rax + ARRAY_ITEMS_PTR_OFFSET as i32]
            ; shl rcx, 4
            ; mov r10, [rdx + rcx]
            ; mov r11, [rdx + rcx + 8]
            ; mov [r_base + dst], r10
            ; mov [r_base + dst + 8], r11
            ; add QWORD [r_base + idx], 1
        );
    }

    // ---- calls -----------------------------------------------------------------

    /// A call. Two inline fast paths push the callee's frame record, move
    /// `r_base` to the callee slot (the new base), `call` its internal
    /// entry and move `r_base` back:
    ///
    /// * a **self-call** (the callee is the closure this frame runs, as its
    ///   frame record says): arity, frame size and code address are known
    ///   at compile time, so it checks the limits and calls its own
    ///   internal entry directly;
    /// * any other **compiled Toy function** with the right arity: the
    ///   same, with the code address, arity and frame size loaded from the
    ///   callee's `FuncObj`.
    ///
    /// Everything else (builtins, interpreted callees, errors, a function
    /// that just became hot) goes through `jit_call`, which pushes the
    /// record and runs builtins and interpreted callees itself; for a
    /// compiled callee it returns the machine code's address and we call
    /// that.
    fn emit_call_op(&mut self, d: u32, argc: u32) {
        let mut ops = self.take_operands(d, argc as usize + 1);
        self.settle_globals(d, &mut ops[1..]);
        if let [Operand::Value { tag, payload }, Operand::Slot(array), value] = ops[..]
            && (tag, payload) == (TAG_BUILTIN, BUILTIN_PUSH as i32)
        {
            return self.emit_push(d, array, value);
        }
        if let [Operand::Value { tag, payload }, x] = ops[..]
            && (tag, payload) == (TAG_BUILTIN, BUILTIN_SQRT as i32)
            && x.is_slot_or_int()
        {
            return self.emit_sqrt(d, x);
        }
        let callee_index = d - argc - 1;
        let callee = slot(callee_index);
        self.materialize_operands(d, &ops[1..]);
        let (slow, done) = (self.ops.new_dynamic_label(), self.ops.new_dynamic_label());
        let store_pc = self.needs_pc_store();
        let self_call = argc == self.func.proto.arity;
        let other = self.ops.new_dynamic_label();
        // Where the self-call path goes when a limit check fails: `jit_call`,
        // which needs the callee in its slot.
        let mut self_slow = slow;
        // A callee the general path checks in place, that `jit_call` needs
        // written out first (see `emit_compiled_call`).
        let mut write_out = None;
        match ops[0] {
            // `f(..)` with `f` a global (`fib(n - 1)`): the global is this
            // function, checked in place. The callee slot is not written at
            // all: the new frame's record holds the closure, and nothing
            // reads that slot until `Return` writes the result there
            // (helpers find the running closure in the record; the GC marks
            // records' closures and skips every frame's slot 0, see
            // `Vm::collect`). Otherwise the callee is written out and
            // checked below, out of line.
            Operand::Global(g) if self_call => {
                let (off, not_self) = (slot(g), self.ops.new_dynamic_label());
                emit!(self
                    ; mov r10, [r_consts + off + 8]
                    ; cmp r10, [r_keep - FRAME_SIZE + FRAME_CLOSURE]
                    ; jne =>not_self
                    ; cmp QWORD [r_consts + off], TAG_FUNCTION as i32
                    ; jne =>not_self
                );
                let v = ops[0];
                self_slow = self.ops.new_dynamic_label();
                self.cold(move |c| {
                    emit!(c ; =>not_self);
                    c.materialize(v, callee_index);
                    c.load_callee(callee_index, slow);
                    emit!(c ; jmp =>other ; =>self_slow);
                    c.materialize(v, callee_index);
                    emit!(c ; jmp =>slow);
                });
            }
            // `f(..)` with `f` a global that is some other function: the
            // same in-place check and unwritten slot as for a self-call, so the
            // callee is read from the global once; whatever is not a Toy
            // function (a builtin, `push` found at run time included) is
            // written out first, out of line.
            Operand::Global(g) if !self_call => {
                let (off, not_function) = (slot(g), self.ops.new_dynamic_label());
                emit!(self
                    ; cmp QWORD [r_consts + off], TAG_FUNCTION as i32
                    ; jne =>not_function
                    ; mov r10, [r_consts + off + 8]
                );
                let v = ops[0];
                let builtin = self.not_a_function(argc, callee_index, slow, done);
                self.cold(move |c| {
                    emit!(c ; =>not_function);
                    c.materialize(v, callee_index);
                    emit!(c ; jmp =>builtin);
                });
                write_out = Some(v);
            }
            v => {
                self.materialize(v, callee_index);
                let not_function = self.not_a_function(argc, callee_index, slow, done);
                self.load_callee(callee_index, not_function);
                if self_call {
                    emit!(self
                        ; cmp r10, [r_keep - FRAME_SIZE + FRAME_CLOSURE]
                        ; jne =>other                            // not a self-call
                    );
                }
            }
        }
        if self_call {
            let own = self.self_call_entry(&ops);
            if self.func.proto.max_slots > FAST_CALL_SLOTS {
                let end = slot(callee_index + self.func.proto.max_slots);
                emit!(self ; lea rcx, [r_base + end]);
                self.check_vm_stack(self_slow);
            }
            self.check_limits_and_push(callee_index, self_slow, store_pc);
            emit!(self
                ; call =>own
                ; sub r_base, callee
                ; =>done
            );
            self.cold(move |c| {
                emit!(c ; =>other);
                c.emit_compiled_call(d, argc, slow, done, store_pc, None);
            });
        } else {
            self.emit_compiled_call(d, argc, slow, done, store_pc, write_out);
            emit!(self ; =>done);
        }
    }

    /// Whether the call at `self.pc` must store its return pc in the frame's
    /// record. A stack trace reads only the pc's *line*, and every path of
    /// every call writes the pc (the inline paths, and `jit_call` for the
    /// rest), so a call needs no store when an earlier call on the same
    /// line, in the same straight-line code, already made one (the two
    /// calls of `fib(n - 1) + fib(n - 2)` store once). Notes that, after
    /// this call, the record holds a pc of this line.
    fn needs_pc_store(&mut self) -> bool {
        let line = self.func.proto.lines[self.pc];
        let stored = self.record_pc_line == Some(line);
        self.record_pc_line = Some(line);
        !stored
    }

    /// `r10` = the closure in slot `callee_index`; jumps to `slow` if the
    /// slot holds anything but a Toy function.
    fn load_callee(&mut self, callee_index: u32, slow: DynamicLabel) {
        let callee = slot(callee_index);
        emit!(self
            ; cmp QWORD [r_base + callee], TAG_FUNCTION as i32
            ; jne =>slow
            ; mov r10, [r_base + callee + 8]
        );
    }

    /// Where a self-call with operands `ops` (callee, arguments) enters:
    /// the specialized body if the arguments it needs are known ints,
    /// else the internal entry (which checks them).
    fn self_call_entry(&self, ops: &[Operand]) -> DynamicLabel {
        let Some(spec) = &self.spec else {
            return self.internal_entry;
        };
        let ints = (ops.iter().enumerate().skip(1))
            .all(|(p, &v)| p >= 64 || spec.params & (1 << p) == 0 || self.is_int(v));
        if ints {
            spec.entry
        } else {
            self.internal_entry
        }
    }

    /// The call of any compiled function (the closure in `r10`), and the
    /// `jit_call` slow path at `slow`; both continue at `done`. If the
    /// callee was checked where it is (`write_out`, a global), the slow
    /// path writes it to the callee slot first, where `jit_call` reads it.
    fn emit_compiled_call(
        &mut self,
        d: u32,
        argc: u32,
        slow: DynamicLabel,
        done: DynamicLabel,
        store_pc: bool,
        write_out: Option<Operand>,
    ) {
        let callee_index = d - argc - 1;
        let callee = slot(callee_index);
        let err = self.error_exit;
        emit!(self
            ; mov r11, [r10 + CLOSURE_FUNC_OFFSET as i32]         // its FuncObj
            ; mov rax, [r11 + FUNC_JIT_ENTRY_OFFSET as i32]
            ; test rax, rax
            ; jz =>slow                                           // not compiled
            ; cmp DWORD [r11 + FUNC_ARITY_OFFSET as i32], argc as i32
            ; jne =>slow                                          // arity error
            ; mov ecx, DWORD [r11 + FUNC_MAX_SLOTS_OFFSET as i32]
            ; cmp ecx, FAST_CALL_SLOTS as i32
            ; ja >big
            ; checked:
        );
        self.check_limits_and_push(callee_index, slow, store_pc);
        emit!(self
            ; jmp >call
            ; =>slow
        );
        if let Some(v) = write_out {
            self.materialize(v, callee_index);
        }
        self.call_helper(helpers::jit_call, d, argc as u64, 0);
        emit!(self
            ; cmp rax, 1
            ; je =>err
            ; jb =>done                 // done by the helper
            ; add r_keep, FRAME_SIZE    // the helper pushed the record
            ; add r_base, callee
            ; call:
            ; add rax, INTERNAL_ENTRY as i32
            ; call rax
            ; sub r_base, callee
            ; jmp =>done
            // A big frame: check the VM stack here (see `emit_frame_limit`).
            ; big:
            ; shl rcx, 4
            ; lea rcx, [r_base + rcx + callee]
        );
        self.check_vm_stack(slow);
        emit!(self ; jmp <checked);
    }

    /// Jumps to `slow` unless the callee's frame, ending at `rcx`, fits in
    /// the VM stack (only needed for frames bigger than
    /// [`FAST_CALL_SLOTS`]; see `emit_frame_limit`).
    fn check_vm_stack(&mut self, slow: DynamicLabel) {
        emit!(self
            ; cmp rcx, [r_aux + CTX_VM_STACK_END as i32]
            ; ja =>slow
        );
    }
    /// The inline call paths' last check and record push. On entry `r10` is
    /// the callee's closure.
    ///
    /// The check: the frame stack top stays below the limit that also keeps
    /// the native and VM stacks from running out (`emit_frame_limit`); if
    /// it fails, it jumps to `slow`. Then the caller's record (just below
    /// the top, `r_keep`) gets its return pc, for stack traces (unless
    /// `store_pc` is false: see [`Self::needs_pc_store`]), and the new one
    /// (at the top) the closure and the base: `r_base` moves to the callee
    /// slot, and that address is the base. Its pc is left alone: it is
    /// only read after being written (by a call the callee makes, or by an
    /// error). The top moves up by one record. The caller then calls the
    /// callee and moves `r_base` back.
    fn check_limits_and_push(&mut self, callee_index: u32, slow: DynamicLabel, store_pc: bool) {
        let return_pc = self.pc as i32 + 1;
        emit!(self
            ; cmp r_keep, [r_aux + CTX_FRAME_LIMIT as i32]
            ; jae =>slow               // frames, native or VM stack, interrupt
        );
        if store_pc {
            emit!(self ; mov QWORD [r_keep - FRAME_SIZE + FRAME_PC], return_pc);
        }
        emit!(self
            ; mov [r_keep + FRAME_CLOSURE], r10
            ; add r_base, slot(callee_index)
            ; mov [r_keep + FRAME_BASE], r_base
            ; add r_keep, FRAME_SIZE
        );
    }

    /// `Return`: the result goes to slot 0, where the caller expects it,
    /// and the frame record is popped (`r_keep` drops by one record). A function
    /// that captures one of its locals may have open upvalues into its
    /// frame: `jit_return` closes them first.
    fn emit_return(&mut self, d: u32) {
        let result = self.take_operands(d, 1)[0];
        self.materialize(result, 0);
        self.emit_return_tail(d);
    }

    /// The end of `Return` once the result is in slot 0.
    fn emit_return_tail(&mut self, d: u32) {
        let captures_locals =
            (self.func.proto.protos.iter()).any(|p| p.upvals.iter().any(|u| u.is_local));
        if captures_locals {
            self.call_helper(helpers::jit_return, d, 0, 0);
        }
        emit!(self ; sub r_keep, FRAME_SIZE);
        self.emit_internal_return();
    }

    // ---- arrays ----------------------------------------------------------------

    /// Whether `a[i]` has an inline path: the array is in a slot and the
    /// index is an int or in a slot (a constant of another type is an
    /// error, which the helper raises).
    fn indexable(a: Operand, i: Operand) -> bool {
        matches!(a, Operand::Slot(_)) && i.is_slot_or_int()
    }

    /// Writes the [`Operand::Global`]s among operands `ops` (the top
    /// entries at depth `d`) to their slots, which they then stand for.
    fn settle_globals(&mut self, d: u32, ops: &mut [Operand]) {
        let first = d - ops.len() as u32;
        for (i, v) in ops.iter_mut().enumerate() {
            if let Operand::Global(_) = *v {
                let s = first + i as u32;
                self.materialize(*v, s);
                *v = Operand::Slot(s);
            }
        }
    }

    /// Jumps to `slow` unless `a` (a slot) is an array and `i` an int index
    /// inside it; leaves `rcx` = the element's address.
    fn array_element(&mut self, a: Operand, i: Operand, slow: DynamicLabel) {
        let Operand::Slot(a) = a else {
            unreachable!("see `indexable`")
        };
        let oa = slot(a);
        emit!(self
            ; cmp QWORD [r_base + oa], TAG_ARRAY as i32
            ; jne =>slow
            ; mov rax, [r_base + oa + 8]
        );
        self.guard_int(i, slow);
        match i {
            Operand::Slot(s) => emit!(self ; mov rcx, [r_base + slot(s) + 8]),
            Operand::Int(0) => emit!(self ; xor ecx, ecx),
            Operand::Int(v) => emit!(self ; mov rcx, v),
            _ => unreachable!("see `indexable`"),
        }
        emit!(self
            // Unsigned compare: a negative index is a huge number.
            ; cmp rcx, [rax + ARRAY_LEN_OFFSET as i32]
            ; jae =>slow
            ; shl rcx, 4
            ; add rcx, [rax + ARRAY_ITEMS_PTR_OFFSET as i32]
        );
    }

    /// `[rcx]` = the value of operand `v` (an array element's address).
    fn store_at_rcx(&mut self, v: Operand) {
        let (tag, payload) = match v {
            Operand::Slot(s) => {
                let s = slot(s);
                emit!(self
                    ; mov r10, [r_base + s]
                    ; mov r11, [r_base + s + 8]
                    ; mov [rcx], r10
                    ; mov [rcx + 8], r11
                );
                return;
            }
            Operand::Int(i) => (TAG_INT, i),
            Operand::Value { tag, payload } => (tag, payload),
            Operand::Global(_) => unreachable!("settled first (`settle_globals`)"),
        };
        emit!(self
            ; mov QWORD [rcx], tag as i32
            ; mov QWORD [rcx + 8], payload
        );
    }

    /// `a[i]` (operands array, index): the element is copied to the
    /// array's slot; the helper does maps, strings and errors out of line.
    fn emit_get_index(&mut self, d: u32) {
        let mut ops = self.take_operands(d, 2);
        self.settle_globals(d, &mut ops);
        let (slow, done) = (self.ops.new_dynamic_label(), self.ops.new_dynamic_label());
        if Self::indexable(ops[0], ops[1]) {
            let dst = slot(d - 2);
            self.array_element(ops[0], ops[1], slow);
            emit!(self
                ; mov r10, [rcx]
                ; mov r11, [rcx + 8]
                ; mov [r_base + dst], r10
                ; mov [r_base + dst + 8], r11
                ; =>done
            );
        } else {
            emit!(self ; jmp =>slow ; =>done);
        }
        self.cold_helper(slow, done, d, ops, helpers::jit_get_index, 0);
    }

    /// Out of line at `slow`: writes `ops` (the top entries at depth `d`)
    /// to their slots, calls `helper` with operand `a` (it raises, or
    /// leaves its result in the slots) and goes on at `done`.
    fn cold_helper(
        &mut self,
        slow: DynamicLabel,
        done: DynamicLabel,
        d: u32,
        ops: Vec<Operand>,
        helper: Helper,
        a: u64,
    ) {
        self.cold(move |c| {
            emit!(c ; =>slow);
            c.materialize_operands(d, &ops);
            c.call_checked(helper, d, a, 0);
            emit!(c ; jmp =>done);
        });
    }

    /// `a[i] = v` (operands array, index, value), like `a[i]`.
    fn emit_set_index(&mut self, d: u32) {
        let mut ops = self.take_operands(d, 3);
        self.settle_globals(d, &mut ops);
        let (slow, done) = (self.ops.new_dynamic_label(), self.ops.new_dynamic_label());
        if Self::indexable(ops[0], ops[1]) {
            self.array_element(ops[0], ops[1], slow);
            self.store_at_rcx(ops[2]);
            emit!(self ; =>done);
        } else {
            emit!(self ; jmp =>slow ; =>done);
        }
        self.cold_helper(slow, done, d, ops, helpers::jit_set_index, 0);
    }

    /// `push(array, v)` (the callee, a builtin, was never written to its
    /// slot), inline when the array has room, as in the interpreter: loops
    /// that build arrays make no call at all. Its result, nil, is left as
    /// a deferred entry. A full array (which must grow) or a non-array
    /// goes through `jit_call` out of line.
    fn emit_push(&mut self, d: u32, array: u32, value: Operand) {
        self.forget_other_pc_lines();
        let (slow, done) = (self.ops.new_dynamic_label(), self.ops.new_dynamic_label());
        self.push_if_room(array, value, slow);
        emit!(self ; =>done);
        // A builtin: `jit_call` runs it and returns OK or an error.
        let ops = vec![Operand::builtin(BUILTIN_PUSH), Operand::Slot(array), value];
        self.cold_helper(slow, done, d, ops, helpers::jit_call, 2);
        self.pending.push(Operand::NIL);
    }

    /// The inline part of `push(array, value)`: jumps to `slow` unless
    /// `array` (a slot) is an array with room for one more item, else
    /// stores `value` after its last item and counts it.
    fn push_if_room(&mut self, array: u32, value: Operand, slow: DynamicLabel) {
        let a = slot(array);
        emit!(self
            ; cmp QWORD [r_base + a], TAG_ARRAY as i32
            ; jne =>slow
            ; mov rax, [r_base + a + 8]
            ; mov rcx, [rax + ARRAY_LEN_OFFSET as i32]
            ; cmp rcx, [rax + ARRAY_CAP_OFFSET as i32]
            ; jae =>slow                                 // full: it must grow
            ; lea rdx, [rcx + 1]
            ; shl rcx, 4
            ; add rcx, [rax + ARRAY_ITEMS_PTR_OFFSET as i32]
        );
        self.store_at_rcx(value);
        emit!(self ; mov [rax + ARRAY_LEN_OFFSET as i32], rdx);
    }

    /// Where the general call path goes when the callee (in its slot) is
    /// not a Toy function: with two arguments, to the check for `push`
    /// ([`Self::push_found_at_run_time`]), else straight to `slow`.
    fn not_a_function(
        &mut self,
        argc: u32,
        callee_index: u32,
        slow: DynamicLabel,
        done: DynamicLabel,
    ) -> DynamicLabel {
        if argc != 2 {
            return slow;
        }
        let check = self.ops.new_dynamic_label();
        self.push_found_at_run_time(callee_index, check, slow, done);
        check
    }

    /// A call whose callee is only known at run time to be a builtin, when
    /// it is `push` (`push(out, f(x))`: the inner call wrote the callee to
    /// its slot, so `emit_call_op` could not see it): the general call
    /// path's callee check sends every non-function here (`not_function`,
    /// out of line), and `push` with room runs inline as in `emit_push`,
    /// its result nil in the callee slot. Anything else continues at
    /// `slow` (`jit_call`). It stores the return pc, as `jit_call` would
    /// have (a later call on the line may count on it, see
    /// [`Self::needs_pc_store`]).
    fn push_found_at_run_time(
        &mut self,
        callee_index: u32,
        not_function: DynamicLabel,
        slow: DynamicLabel,
        done: DynamicLabel,
    ) {
        let callee = slot(callee_index);
        let return_pc = self.pc as i32 + 1;
        self.cold(move |c| {
            emit!(c
                ; =>not_function
                ; cmp QWORD [r_base + callee], TAG_BUILTIN as i32
                ; jne =>slow
                ; cmp QWORD [r_base + callee + 8], BUILTIN_PUSH as i32
                ; jne =>slow
            );
            let value = Operand::Slot(callee_index + 2);
            c.push_if_room(callee_index + 1, value, slow);
            c.store_imm(callee_index, TAG_NIL, 0);
            emit!(c
                ; mov QWORD [r_keep - FRAME_SIZE + FRAME_PC], return_pc
                ; jmp =>done
            );
        });
    }

    /// A builtin called inline stores no return pc, its slow path does
    /// (`jit_call`): after it, the record's pc line is known only if it was
    /// this one already (see [`Self::needs_pc_store`]).
    fn forget_other_pc_lines(&mut self) {
        if self.record_pc_line != Some(self.func.proto.lines[self.pc]) {
            self.record_pc_line = None;
        }
    }

    /// `sqrt(x)` (the callee, a builtin, was never written to its slot)
    /// inline when `x` is a number, as the builtin does it: an int is
    /// converted to float first, then `sqrtsd` (IEEE square root, NaN for
    /// a negative number, like Rust's `f64::sqrt`). The result, a float,
    /// goes to the callee's slot. Anything else goes through `jit_call`,
    /// which raises the builtin's error.
    fn emit_sqrt(&mut self, d: u32, x: Operand) {
        self.forget_other_pc_lines();
        let (slow, done) = (self.ops.new_dynamic_label(), self.ops.new_dynamic_label());
        self.load_number(x, 0, slow);
        emit!(self ; sqrtsd xmm0, xmm0);
        self.store_float(d - 2);
        emit!(self ; =>done);
        let ops = vec![Operand::builtin(BUILTIN_SQRT), x];
        self.cold_helper(slow, done, d, ops, helpers::jit_call, 1);
    }
}
