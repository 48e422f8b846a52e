//! The bytecode interpreter.
//!
//! ```text
//!   VM stack: one zeroed allocation of STACK_SLOTS values, never moved.
//!   +--------+------+-----+--------+-------------+--------+------+-----
//!   | script | args | ... | callee | args        | locals | temps| ...
//!   +--------+------+-----+--------+-------------+--------+------+-----
//!   ^ frames[0].base      ^ frames[1].base                       ^ sp
//! ```
//!
//! A frame is a [`Frame`] record `{closure, pc, base}` in a separate array
//! of fixed capacity. Toy-to-Toy calls push a record and switch the loop's
//! local state; they never recurse on the Rust stack, so deep recursion is
//! bounded only by `MAX_FRAMES` and the stack's size (`stack overflow`).
//!
//! The dispatch loop keeps its hot state (pc, code, constants, frame base,
//! stack top) in locals. Before anything that can allocate or fail it writes
//! the stack top back (`sync!`), so the GC sees exactly the live slots and
//! errors see the right line. Operators take an int fast path inline and
//! otherwise call the shared semantics in [`super::ops`].
//!
//! The loop runs the VM's own copy of each function's code, in which common
//! instruction sequences start with a superinstruction that runs the whole
//! sequence in one dispatch when its operands are ints (see
//! `crate::compiler::fuse`).

use std::collections::HashMap;
use std::io::{BufWriter, Write};
use std::ptr::NonNull;
use std::rc::Rc;
use std::time::{Duration, Instant};

use super::VmOptions;
use super::builtins;
use super::format::to_bytes;
use super::frames::{FRAMES_PTR_OFFSET, FRAMES_TOP_OFFSET, FrameStack};
use super::heap::{
    ClosureObj, FuncObj, Heap, UpvalObj, ValueVec, array_obj, closure_func, map_obj,
};
use super::map::Map;
use super::ops;
use super::value::{
    TAG_ARRAY, TAG_BUILTIN, TAG_FUNCTION, TAG_INT, TAG_MAP, TAG_STRING, TAG_UNDEF, Value,
    copy_value,
};
use crate::bytecode::{BUILTIN_NAMES, Constant, FunctionProto, GlobalNames, Op};
use crate::diag::{RuntimeError, TraceEntry};
use crate::jit::Jit;

/// The builtin `push`'s number, for the interpreter's inline fast path.
const BUILTIN_PUSH: u64 = crate::bytecode::BUILTIN_PUSH as u64;

/// Value slots in the VM stack (16 MiB of address space; untouched pages
/// cost no memory).
pub const STACK_SLOTS: usize = 1 << 20;
/// The most active calls.
pub const MAX_FRAMES: usize = 200_000;

/// One active call. `#[repr(C)]` because compiled code will read it.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct Frame {
    pub closure: *mut ClosureObj,
    /// While a callee runs: the index of the instruction after the call
    /// (in a compiled frame, possibly after an earlier call on the same
    /// line: traces read only the line, and compiled frames resume at
    /// their return address).
    pub pc: usize,
    /// The frame's slot 0 in the VM stack: the callee, or a stale value in
    /// a frame entered by a compiled call through a global (`closure` is
    /// the one to read; the GC skips this slot).
    pub base: *mut Value,
}

/// Frame record layout, for compiled code's inline call path.
pub const FRAME_SIZE: i32 = std::mem::size_of::<Frame>() as i32;
pub const FRAME_CLOSURE: i32 = std::mem::offset_of!(Frame, closure) as i32;
pub const FRAME_PC: i32 = std::mem::offset_of!(Frame, pc) as i32;
pub const FRAME_BASE: i32 = std::mem::offset_of!(Frame, base) as i32;
/// Where the frame stack's records pointer and top pointer are inside a `Vm`.
pub const VM_FRAMES_PTR: usize = std::mem::offset_of!(Vm, frames) + FRAMES_PTR_OFFSET;
pub const VM_FRAMES_TOP: usize = std::mem::offset_of!(Vm, frames) + FRAMES_TOP_OFFSET;

pub struct Vm {
    pub(crate) heap: Heap,
    pub(crate) stack: NonNull<Value>,
    /// The mapping `stack` points into (never moved, unmapped on drop).
    _stack_map: memmap2::MmapMut,
    /// Stack index of the first free slot (synced from the dispatch loop).
    pub(crate) sp: usize,
    pub(crate) frames: FrameStack,
    /// Open upvalues, sorted by the slot they point at.
    open_upvals: Vec<*mut UpvalObj>,
    pub(crate) globals: Vec<Value>,
    global_names: Vec<String>,
    /// Every function ever loaded; kept for the VM's lifetime. Boxed so a
    /// function's address (held by closures and frames) never moves.
    #[allow(clippy::vec_box)]
    functions: Vec<Box<FuncObj>>,
    /// The interpreter's copy of each function's code, with
    /// superinstructions (see `crate::compiler::fuse`); each function's
    /// `code` points into one of these.
    fused_code: Vec<Box<[Op]>>,
    /// String constants by content: every function that names `"x"` gets
    /// the same string object, so field names compare by pointer (see
    /// `Map::get_hinted`). Each is some function's constant, and functions
    /// live as long as the VM, so these stay alive without being roots.
    constant_strings: HashMap<Box<str>, Value>,
    /// `byte_strings[b]`: the one-byte string `b`, so `s[i]` never allocates.
    pub(crate) byte_strings: Vec<Value>,
    /// Values a builtin holds across an allocation.
    pub(crate) temp_roots: Vec<Value>,
    pub(crate) out: BufWriter<Box<dyn Write>>,
    pub(crate) opts: VmOptions,
    pub(crate) started: Instant,
    /// When `--timeout` runs out (see [`Vm::set_timeout`]).
    deadline: Option<Instant>,
    // ---- JIT hooks (see `crate::jit`) ----
    /// The JIT's state; `None` with `--no-jit`.
    pub(crate) jit: Option<Box<Jit>>,
    /// The error a runtime helper raised inside compiled code, until the
    /// entry path (`enter_compiled`) hands it to the caller.
    pub(crate) jit_error: Option<RuntimeError>,
}

/// Zeroed memory for `bytes` bytes straight from the OS (an anonymous
/// mapping): pages are mapped on first touch, so a deep VM stack or frame
/// stack costs RAM only for the part a program uses, whatever the global
/// allocator does with large zeroed requests. Aborts like a failed
/// allocation if the OS refuses.
pub(crate) fn zeroed_region(bytes: usize) -> memmap2::MmapMut {
    memmap2::MmapMut::map_anon(bytes).unwrap_or_else(|_| {
        let layout = std::alloc::Layout::from_size_align(bytes, 16).expect("valid layout");
        std::alloc::handle_alloc_error(layout)
    })
}

pub(crate) fn arity_error(expected: u32, got: u32) -> String {
    let noun = if expected == 1 {
        "argument"
    } else {
        "arguments"
    };
    format!("expected {expected} {noun} but got {got}")
}

impl Vm {
    pub fn new(opts: VmOptions, out: Box<dyn Write>) -> Vm {
        // Zeroed memory is all `nil`; the mapping is page-aligned.
        let mut stack_map = zeroed_region(STACK_SLOTS * std::mem::size_of::<Value>());
        let stack = NonNull::new(stack_map.as_mut_ptr() as *mut Value).expect("mapped");
        let mut heap = Heap::new(opts.gc_stress);
        let byte_strings = (0..=255u8)
            .map(|b| heap.new_string(Box::new([b])))
            .collect();
        Vm {
            heap,
            stack,
            _stack_map: stack_map,
            sp: 0,
            frames: FrameStack::new(),
            open_upvals: Vec::new(),
            globals: Vec::new(),
            global_names: Vec::new(),
            functions: Vec::new(),
            fused_code: Vec::new(),
            constant_strings: HashMap::new(),
            byte_strings,
            temp_roots: Vec::new(),
            out: BufWriter::new(out),
            jit: Jit::for_options(&opts),
            jit_error: None,
            opts,
            started: Instant::now(),
            deadline: None,
        }
    }

    /// Runs a compiled script; see the module docs of `runtime`.
    pub fn run(
        &mut self,
        script: Rc<FunctionProto>,
        globals: &GlobalNames,
    ) -> Result<Value, RuntimeError> {
        self.globals.resize(globals.names.len(), Value::UNDEF);
        self.global_names.clone_from(&globals.names);
        let func = self.load_function(&script);
        self.sp = 0;
        let closure = self.alloc_closure(func, Box::new([]));
        // SAFETY: slot 0 is inside the stack.
        unsafe { self.stack.as_ptr().write(closure) };
        self.sp = 1;
        self.frames.push(Frame {
            closure: closure.as_ptr(),
            pc: 0,
            base: self.stack.as_ptr(),
        });
        // JIT hook: with threshold 0 the script is compiled already.
        let result = match self.jit_before_run(func) {
            Some(entry) => self.enter_compiled(entry, 0, 0).map(|()| {
                // SAFETY: compiled code left the script's result in slot 0.
                unsafe { *self.stack.as_ptr() }
            }),
            None => self.execute(),
        };
        match result {
            Ok(_) => self.sp = 0,
            Err(_) => {
                self.reset();
                self.flush();
            }
        }
        result
    }

    pub fn flush(&mut self) {
        let _ = self.out.flush();
    }

    /// The printed form as `print` shows it (strings raw).
    pub fn display(&self, v: Value) -> String {
        String::from_utf8_lossy(&to_bytes(v, false)).into_owned()
    }

    /// The printed form as inside containers (strings quoted).
    pub fn repr(&self, v: Value) -> String {
        String::from_utf8_lossy(&to_bytes(v, true)).into_owned()
    }

    /// The bytecode of the function stored in global `name`, if it holds a
    /// Toy function (for the REPL's `:disasm`).
    pub fn global_function(&self, name: &str) -> Option<Rc<FunctionProto>> {
        let index = self.global_names.iter().position(|n| n == name)?;
        let v = *self.globals.get(index)?;
        (v.tag == TAG_FUNCTION).then(|| closure_func(super::heap::closure_obj(v)).proto.clone())
    }

    /// Forgets all active calls after an error, closing their upvalues so
    /// closures that escaped keep the values they saw.
    fn reset(&mut self) {
        self.close_upvals(self.stack.as_ptr());
        self.frames.clear();
        self.sp = 0;
        self.temp_roots.clear();
    }

    // ---- limits: --timeout and --max-heap -----------------------------------

    /// Stops the program with the runtime error `timeout` once `limit` has
    /// passed: a timer thread sets the interrupt flag, which loop back-edges
    /// and calls poll in both tiers.
    pub fn set_timeout(&mut self, limit: Duration) {
        self.deadline = Some(Instant::now() + limit);
        let interrupt = self.opts.interrupt.clone();
        std::thread::spawn(move || {
            std::thread::sleep(limit);
            interrupt.raise();
        });
    }

    /// Makes the program fail with `out of memory` when a collection leaves
    /// more than `bytes` live, or a string would be longer than that.
    pub fn set_max_heap(&mut self, bytes: usize) {
        self.heap.set_limit(bytes);
    }

    /// Why the interrupt flag is set: `timeout`, `out of memory`, or Ctrl-C.
    pub(crate) fn interrupt_message(&self) -> String {
        if self.deadline.is_some_and(|d| Instant::now() >= d) {
            "timeout".to_string()
        } else if self.heap.over_limit() {
            super::heap::OUT_OF_MEMORY.to_string()
        } else {
            "interrupted".to_string()
        }
    }

    /// Clears a set interrupt flag and returns its message (a call-site
    /// poll: the check inline, the rest out of line).
    #[inline(always)]
    pub(crate) fn take_interrupt(&self) -> Option<String> {
        if self.opts.interrupt.is_set() {
            return Some(self.take_pending_interrupt());
        }
        None
    }

    #[cold]
    #[inline(never)]
    fn take_pending_interrupt(&self) -> String {
        self.opts.interrupt.clear();
        self.interrupt_message()
    }

    // ---- allocation and GC -----------------------------------------------

    /// Collects if the heap asks for it. Everything live must be rooted.
    pub(crate) fn gc_point(&mut self) {
        if self.heap.should_collect() {
            self.collect();
            if self.heap.over_limit() {
                // Allocation cannot fail here; the next poll raises.
                self.opts.interrupt.raise();
            }
        }
    }

    pub(crate) fn collect(&mut self) {
        // SAFETY: slots below `sp` are initialized values.
        let live = unsafe { std::slice::from_raw_parts(self.stack.as_ptr(), self.sp) };
        let (frames, globals, functions) = (&self.frames, &self.globals, &self.functions);
        let (upvals, bytes, temps) = (&self.open_upvals, &self.byte_strings, &self.temp_roots);
        // A frame's slot 0 is not marked: its callee is marked through the
        // frame record below, and a frame entered by a compiled call through
        // a global never writes that slot (it holds whatever was there until
        // `Return` writes the result), so it may hold a stale value.
        let stack = self.stack.as_ptr() as usize;
        let bases = frames
            .iter()
            .map(|f| (f.base as usize - stack) / size_of::<Value>());
        self.heap.collect(|h| {
            let mut from = 0;
            // Frames are nested: each base lies above the one before.
            for base in bases.chain([live.len()]) {
                debug_assert!(base >= from, "frame bases out of order");
                let base = base.clamp(from, live.len());
                live[from..base].iter().for_each(|&v| h.mark_value(v));
                from = (base + 1).min(live.len());
            }
            let values = globals.iter().chain(bytes).chain(temps);
            values.for_each(|&v| h.mark_value(v));
            for f in frames.iter() {
                h.mark_value(Value::object(TAG_FUNCTION, f.closure));
            }
            for &u in upvals {
                h.mark_upval(u);
            }
            for f in functions {
                f.consts.iter().for_each(|&v| h.mark_value(v));
            }
        });
    }

    pub(crate) fn alloc_string(&mut self, bytes: Box<[u8]>) -> Value {
        self.gc_point();
        self.heap.new_string(bytes)
    }

    /// The values in `items` must be rooted elsewhere until this returns.
    pub(crate) fn alloc_array(&mut self, items: ValueVec) -> Value {
        self.gc_point();
        self.heap.new_array(items)
    }

    pub(crate) fn alloc_closure(
        &mut self,
        func: *const FuncObj,
        upvals: Box<[*mut UpvalObj]>,
    ) -> Value {
        self.gc_point();
        self.heap.new_closure(func, upvals)
    }

    // ---- functions and upvalues --------------------------------------------

    /// Creates the runtime function (and those of nested functions) for a
    /// proto, after checking its operands so the interpreter can index
    /// without bounds checks.
    /// The string object for constant `s`, shared by every function.
    fn intern_constant(&mut self, s: &str) -> Value {
        if let Some(&v) = self.constant_strings.get(s) {
            return v;
        }
        let v = self.alloc_string(s.as_bytes().into());
        self.constant_strings.insert(s.into(), v);
        v
    }

    pub(crate) fn load_function(&mut self, proto: &Rc<FunctionProto>) -> *const FuncObj {
        verify(proto, self.globals.len());
        let mut boxed = Box::new(FuncObj::new(proto, Vec::with_capacity(proto.consts.len())));
        let fused: Box<[Op]> = crate::compiler::fuse(&proto.code).into();
        boxed.code = fused.as_ptr();
        self.fused_code.push(fused);
        let ptr: *mut FuncObj = &mut *boxed;
        // Registered first, so constants made below are roots at once.
        self.functions.push(boxed);
        for c in &proto.consts {
            let v = match c {
                Constant::Int(i) => Value::int(*i),
                Constant::Float(f) => Value::float(*f),
                Constant::Str(s) => self.intern_constant(s),
            };
            // SAFETY: `ptr` points into a box owned by `self.functions`.
            unsafe { (*ptr).consts.push(v) };
        }
        for child in &proto.protos {
            let c = self.load_function(child);
            // SAFETY: as above.
            unsafe { (*ptr).children.push(c) };
        }
        // JIT hook: threshold 0 compiles every function when it is loaded.
        self.jit_after_load(ptr);
        ptr
    }

    /// The upvalue for stack slot `slot`, shared if one is already open.
    pub(crate) fn capture_upval(&mut self, slot: *mut Value) -> *mut UpvalObj {
        let mut i = self.open_upvals.len();
        while i > 0 {
            let u = self.open_upvals[i - 1];
            // SAFETY: open upvalues are live objects (they are roots).
            let loc = unsafe { (*u).location };
            if loc == slot {
                return u;
            }
            if loc < slot {
                break;
            }
            i -= 1;
        }
        self.gc_point();
        let u = self.heap.new_upval(slot);
        self.open_upvals.insert(i, u);
        u
    }

    /// Closes every open upvalue pointing at `from` or above.
    #[inline]
    pub(crate) fn close_upvals(&mut self, from: *mut Value) {
        while let Some(&u) = self.open_upvals.last() {
            // SAFETY: open upvalues are live and point at live stack slots.
            unsafe {
                if (*u).location < from {
                    break;
                }
                (*u).closed = *(*u).location;
                (*u).location = &mut (*u).closed;
            }
            self.open_upvals.pop();
        }
    }

    // ---- errors --------------------------------------------------------------

    /// A runtime error with the trace of every active frame; `pc` is the
    /// innermost frame's pc (one past the failing instruction).
    #[cold]
    #[inline(never)]
    pub(crate) fn error(&mut self, message: String, pc: usize) -> RuntimeError {
        if let Some(top) = self.frames.last_mut() {
            top.pc = pc;
        }
        let trace = self
            .frames
            .iter()
            .rev()
            .map(|f| {
                // SAFETY: frame closures are live (they are roots).
                let proto = &closure_func(unsafe { &*f.closure }).proto;
                TraceEntry {
                    function: proto.display_name().to_string(),
                    line: proto.lines[f.pc.saturating_sub(1)],
                }
            })
            .collect();
        RuntimeError { message, trace }
    }

    /// The rare part of a loop back-edge to `target`, out of line so the
    /// dispatch loop keeps its registers: raises a pending interrupt (`pc`
    /// is the back-edge's), and offers OSR into compiled code at `target`
    /// for the frame at `base`. `Ok(true)`: go on interpreting at `target`;
    /// `Ok(false)`: compiled code ran the frame to its `Return`.
    #[cold]
    #[inline(never)]
    fn back_edge_slow(
        &mut self,
        f: &FuncObj,
        target: usize,
        base: *mut Value,
        pc: usize,
    ) -> Result<bool, RuntimeError> {
        if let Some(m) = self.take_interrupt() {
            return Err(self.error(m, pc));
        }
        // JIT hook: on-stack replacement at a hot loop header.
        let entry = self.jit_entry_for_loop(f, target);
        if entry.is_null() {
            return Ok(true);
        }
        self.enter_compiled(entry, frame_base_index(self, base), target)?;
        Ok(false)
    }

    /// Calls builtin `callee` on the `argc` values at `args` (stack slots),
    /// for a `Call` at `pc`; out of line, so the dispatch loop keeps its
    /// registers.
    ///
    /// `builtins::call` returns its result through memory, written as two
    /// 8-byte stores; passing it on as it is (`map_err`) loads it as 16
    /// bytes, which cannot be store-forwarded and stalls, so the value is
    /// copied as two 8-byte moves ([`copy_value`]).
    #[inline(never)]
    fn call_builtin(
        &mut self,
        callee: Value,
        args: *const Value,
        argc: u32,
        pc: usize,
    ) -> Result<Value, RuntimeError> {
        // SAFETY: the caller's frame is the top one (frames are never empty
        // in the loop), and `args` points at `argc` live stack slots.
        let args = unsafe {
            self.frames.last_mut().unwrap_unchecked().pc = pc;
            std::slice::from_raw_parts(args, argc as usize)
        };
        match builtins::call(self, callee.payload as usize, args) {
            // SAFETY: both are valid values on this stack frame.
            Ok(v) => unsafe {
                let mut out = Value::NIL;
                copy_value(&mut out, &v);
                Ok(out)
            },
            Err(m) => Err(self.error(m, pc)),
        }
    }

    pub(crate) fn undefined_global(&self, g: u32) -> String {
        format!("undefined variable '{}'", self.global_names[g as usize])
    }

    // ---- the dispatch loop -------------------------------------------------

    /// Runs from the top frame until it returns.
    #[allow(clippy::too_many_lines)]
    pub(crate) fn execute(&mut self) -> Result<Value, RuntimeError> {
        // The frame stack's top once the entry frame has returned.
        // SAFETY: the entry frame's record is live.
        let entry_top = unsafe { self.frames.top().sub(1) };

        // SAFETY: the whole loop relies on these invariants:
        // - `verify` checked at load time that every slot, constant, global,
        //   builtin, nested-function and upvalue operand is in range and
        //   every jump target is inside `code`, and that code ends in an
        //   unconditional jump or return, so `pc` stays inside `code`;
        // - a call checks `base + max_slots <= STACK_SLOTS`, and the compiler
        //   guarantees a frame never uses more than `max_slots` slots, so
        //   `sp` and `base + slot` stay inside the stack;
        // - `frames` is never empty inside the loop and never reallocates
        //   (capacity MAX_FRAMES is checked before a push);
        // - closures, functions and upvalues reached from frames are live
        //   (roots), and `sync!` runs before anything that can collect.
        unsafe {
            let mut frame = *self.frames.last().unwrap_unchecked();
            // The running function (its code, constants, hotness). Its
            // closure, needed only for upvalues, is re-read from the frame
            // record: every value live across the loop's calls costs a
            // register the hot state (ip, sp, base) would otherwise lose.
            let mut func: *const FuncObj = (*frame.closure).func;
            macro_rules! func {
                () => {
                    (&*func)
                };
            }
            macro_rules! closure {
                () => {
                    (&*self.frames.last().unwrap_unchecked().closure)
                };
            }
            let mut base: *mut Value = frame.base;
            // Rarely used state is re-read rather than kept in locals, so the
            // hot locals (ip, sp, base) get the registers.
            macro_rules! stack {
                () => {
                    self.stack.as_ptr()
                };
            }
            macro_rules! code {
                () => {
                    func!().code
                };
            }
            // The instruction pointer; `pc` (its index) is derived on demand.
            let mut ip: *const Op = func!().code.add(frame.pc);
            let mut sp: *mut Value = self.stack.as_ptr().add(self.sp);

            macro_rules! push {
                ($v:expr) => {{
                    let v: Value = $v;
                    sp.write(v);
                    sp = sp.add(1);
                }};
            }
            macro_rules! pop {
                () => {{
                    sp = sp.sub(1);
                    sp.read()
                }};
            }
            macro_rules! top {
                () => {
                    *sp.sub(1)
                };
            }
            macro_rules! pc {
                () => {
                    ip.offset_from(code!()) as usize
                };
            }
            macro_rules! sync {
                () => {
                    self.sp = sp.offset_from(stack!()) as usize
                };
            }
            macro_rules! throw {
                ($msg:expr) => {{
                    let msg: String = $msg;
                    sync!();
                    return Err(self.error(msg, pc!()));
                }};
            }
            macro_rules! tri {
                ($e:expr) => {
                    match $e {
                        Ok(v) => v,
                        Err(m) => throw!(m),
                    }
                };
            }
            // Loads the hot state of the (new) top frame.
            macro_rules! enter_top_frame {
                () => {{
                    frame = *self.frames.last().unwrap_unchecked();
                    func = (*frame.closure).func;
                    base = frame.base;
                    ip = code!().add(frame.pc);
                }};
            }
            // A loop back-edge: count hotness, poll the interrupt flag,
            // offer OSR (the last two out of line, see `back_edge_slow`).
            // `true` if the loop goes on here at `target`, `false` if OSR
            // ran the frame to its end in compiled code.
            macro_rules! back_edge {
                ($target:expr) => {{
                    let f = func!();
                    f.hotness.set(f.hotness.get().saturating_add(1));
                    let target = $target as usize;
                    let stay = if self.jit.is_none() && !self.opts.interrupt.is_set() {
                        true
                    } else {
                        sync!();
                        self.back_edge_slow(f, target, base, pc!())?
                    };
                    if stay {
                        ip = code!().add(target);
                    } else {
                        // The compiled code ran the frame to its `Return`.
                        let result = *base;
                        sp = base.add(1);
                        if self.frames.top() == entry_top {
                            sync!();
                            return Ok(result);
                        }
                        enter_top_frame!();
                    }
                    stay
                }};
            }
            // Binary operator with an inline int/int fast path.
            macro_rules! binary {
                ($a:ident, $b:ident, $fast:expr, $slow:path) => {{
                    let $b = pop!();
                    let $a = top!();
                    let r = if $a.tag == TAG_INT && $b.tag == TAG_INT {
                        $fast
                    } else {
                        tri!($slow($a, $b))
                    };
                    *sp.sub(1) = r;
                }};
            }
            macro_rules! int_binary {
                ($method:ident, $slow:path) => {
                    binary!(a, b, Value::int(a.as_int().$method(b.as_int())), $slow)
                };
            }
            macro_rules! compare {
                ($op:tt, $slow:path) => {
                    binary!(a, b, Value::bool(a.as_int() $op b.as_int()), $slow)
                };
            }
            // `==` with the int/int case inline.
            macro_rules! equal {
                ($a:expr, $b:expr) => {{
                    let (a, b): (Value, Value) = ($a, $b);
                    if a.tag == TAG_INT && b.tag == TAG_INT {
                        a.payload == b.payload
                    } else {
                        ops::equal(a, b)
                    }
                }};
            }
            // `a -> a op v` with an immediate int `v`: the same fast path
            // and the same slow path as the unfused `Int v; op`.
            macro_rules! int_immediate {
                ($v:ident, $method:ident, $slow:path) => {{
                    let a = top!();
                    *sp.sub(1) = if a.tag == TAG_INT {
                        Value::int(a.as_int().$method($v as i64))
                    } else {
                        tri!($slow(a, Value::int($v as i64)))
                    };
                }};
            }
            // Fused compare-and-branch: pops both operands, jumps unless
            // `a op b` holds (NaN compares false, so it jumps).
            macro_rules! compare_jump {
                ($target:ident, $op:tt, $slow:path) => {{
                    let b = pop!();
                    let a = pop!();
                    let holds = if a.tag == TAG_INT && b.tag == TAG_INT {
                        a.as_int() $op b.as_int()
                    } else {
                        tri!($slow(a, b)).is_truthy()
                    };
                    if !holds {
                        ip = code!().add($target as usize);
                    }
                }};
            }

            // ---- superinstructions (see `crate::compiler::fuse`) ----------
            // `ip` points past the superinstruction, at the second
            // instruction of its sequence. The fast path runs the whole
            // sequence and skips the rest of it; the slow path does what
            // the sequence's first instruction (a push) does and goes on
            // with the second.

            // `GetLocal2 a b; op`, then with `$dst` `SetLocal dst`.
            macro_rules! locals_arith {
                ($a:expr, $b:expr, $method:ident) => {{
                    let (x, y) = (*base.add($a as usize), *base.add($b as usize));
                    if x.tag == TAG_INT && y.tag == TAG_INT {
                        push!(Value::int(x.as_int().$method(y.as_int())));
                        ip = ip.add(1);
                    } else {
                        push!(x);
                        push!(y);
                    }
                }};
                ($a:expr, $b:expr, $method:ident, $dst:expr) => {{
                    let (x, y) = (*base.add($a as usize), *base.add($b as usize));
                    if x.tag == TAG_INT && y.tag == TAG_INT {
                        *base.add($dst as usize) = Value::int(x.as_int().$method(y.as_int()));
                        ip = ip.add(2);
                    } else {
                        push!(x);
                        push!(y);
                    }
                }};
            }
            // `GetLocal slot; op`: `x -> x op local`.
            macro_rules! local_arith {
                ($slot:expr, $method:ident) => {{
                    let (x, y) = (top!(), *base.add($slot as usize));
                    if x.tag == TAG_INT && y.tag == TAG_INT {
                        *sp.sub(1) = Value::int(x.as_int().$method(y.as_int()));
                        ip = ip.add(1);
                    } else {
                        push!(y);
                    }
                }};
            }
            // `GetLocal slot; AddInt v` and the like, then with `$dst`
            // `SetLocal dst`.
            macro_rules! local_int {
                ($slot:expr, $v:expr, $method:ident) => {{
                    let x = *base.add($slot as usize);
                    if x.tag == TAG_INT {
                        push!(Value::int(x.as_int().$method($v as i64)));
                        ip = ip.add(1);
                    } else {
                        push!(x);
                    }
                }};
                ($slot:expr, $v:expr, $method:ident, $dst:expr) => {{
                    let x = *base.add($slot as usize);
                    if x.tag == TAG_INT {
                        *base.add($dst as usize) = Value::int(x.as_int().$method($v as i64));
                        ip = ip.add(2);
                    } else {
                        push!(x);
                    }
                }};
            }
            // `GetLocal2 a b; JumpIfNot<op> target`. For ints `==` is `==`
            // on the payloads, like `equal!`.
            macro_rules! compare_locals_jump {
                ($a:expr, $b:expr, $target:expr, $op:tt) => {{
                    let (x, y) = (*base.add($a as usize), *base.add($b as usize));
                    if x.tag == TAG_INT && y.tag == TAG_INT {
                        ip = if x.as_int() $op y.as_int() {
                            ip.add(1)
                        } else {
                            code!().add($target as usize)
                        };
                    } else {
                        push!(x);
                        push!(y);
                    }
                }};
            }
            // `Int v; JumpIfNot<op> target`: `x -> `.
            macro_rules! compare_int_jump {
                ($v:expr, $target:expr, $op:tt) => {{
                    let x = top!();
                    if x.tag == TAG_INT {
                        sp = sp.sub(1);
                        ip = if x.as_int() $op $v as i64 {
                            ip.add(1)
                        } else {
                            code!().add($target as usize)
                        };
                    } else {
                        push!(Value::int($v as i64));
                    }
                }};
            }
            // `Add`, with string concatenation inline.
            macro_rules! add {
                () => {{
                    let b = pop!();
                    let a = top!();
                    let r = if a.tag == TAG_INT && b.tag == TAG_INT {
                        Value::int(a.as_int().wrapping_add(b.as_int()))
                    } else if a.tag == TAG_STRING && b.tag == TAG_STRING {
                        tri!(self.heap.check_size(str_len(a) + str_len(b)));
                        let bytes = ops::concat_bytes(a, b);
                        sync!();
                        self.alloc_string(bytes)
                    } else {
                        tri!(ops::add(a, b))
                    };
                    *sp.sub(1) = r;
                }};
            }
            // `GetLocal slot; Int v; JumpIfNot<op> target`.
            macro_rules! compare_local_int_jump {
                ($slot:expr, $v:expr, $target:expr, $op:tt) => {{
                    let x = *base.add($slot as usize);
                    if x.tag == TAG_INT {
                        ip = if x.as_int() $op $v as i64 {
                            ip.add(2)
                        } else {
                            code!().add($target as usize)
                        };
                    } else {
                        push!(x);
                    }
                }};
            }
            // `GetLocal2 a b; <push value>; SetIndex`, `value` read only
            // on the fast path (an array and an int index in bounds).
            macro_rules! set_index_locals {
                ($a:expr, $b:expr, $value:expr) => {{
                    let (x, i) = (*base.add($a as usize), *base.add($b as usize));
                    if x.tag == TAG_ARRAY && i.tag == TAG_INT {
                        let items = array_obj(x).items.as_mut_slice();
                        if let Some(slot) = items.get_mut(i.as_int() as u64 as usize) {
                            *slot = $value;
                            ip = ip.add(2);
                            continue;
                        }
                    }
                    push!(x);
                    push!(i);
                }};
            }
            // `Loop target` where the code at `target` is `$cmp { a, b,
            // target: exit }` (`GetLocal2 a b; JumpIfNot<op> exit`): after
            // the back-edge, int operands take the branch here; anything
            // else leaves `ip` at `target` for the compare to run.
            macro_rules! loop_compare_locals {
                ($target:expr, $cmp:ident, $op:tt) => {{
                    if back_edge!($target) {
                        if let Op::$cmp { a, b, target: exit } = *ip {
                            let (x, y) = (*base.add(a as usize), *base.add(b as usize));
                            if x.tag == TAG_INT && y.tag == TAG_INT {
                                ip = if x.as_int() $op y.as_int() {
                                    ip.add(2)
                                } else {
                                    code!().add(exit as usize)
                                };
                            }
                        }
                    }
                }};
            }
            // Leaves the frame with `result` (`Return` after its pop).
            macro_rules! return_value {
                ($result:expr) => {{
                    let result: Value = $result;
                    self.close_upvals(base);
                    self.frames.pop();
                    sp = base;
                    push!(result);
                    if self.frames.top() == entry_top {
                        sync!();
                        return Ok(result);
                    }
                    enter_top_frame!();
                }};
            }

            loop {
                // Operands are read inside each arm (`*op`, not a copy made
                // here), so the loads happen only where they are used and
                // do not tie up registers across the dispatch.
                let op = ip;
                ip = ip.add(1);
                match *op {
                    Op::Nil => push!(Value::NIL),
                    Op::True => push!(Value::TRUE),
                    Op::False => push!(Value::FALSE),
                    Op::Int { v } => push!(Value::int(v as i64)),
                    Op::Const { k } => push!(*func!().consts.as_ptr().add(k as usize)),
                    Op::Pop => sp = sp.sub(1),
                    Op::PopN { n } => sp = sp.sub(n as usize),
                    Op::Dup => push!(top!()),
                    Op::Dup2 => {
                        let (a, b) = (*sp.sub(2), *sp.sub(1));
                        push!(a);
                        push!(b);
                    }
                    Op::GetLocal { slot } => push!(*base.add(slot as usize)),
                    Op::SetLocal { slot } => *base.add(slot as usize) = pop!(),
                    Op::GetLocal2 { a, b } => {
                        copy_value(sp, base.add(a as usize));
                        copy_value(sp.add(1), base.add(b as usize));
                        sp = sp.add(2);
                    }
                    Op::GetUpval { idx } => {
                        let u = *closure!().upvals.get_unchecked(idx as usize);
                        push!(*(*u).location);
                    }
                    Op::SetUpval { idx } => {
                        let u = *closure!().upvals.get_unchecked(idx as usize);
                        *(*u).location = pop!();
                    }
                    Op::GetGlobal { g } => {
                        let v = *self.globals.as_mut_ptr().add(g as usize);
                        if v.tag == TAG_UNDEF {
                            throw!(self.undefined_global(g));
                        }
                        push!(v);
                    }
                    Op::SetGlobal { g } => {
                        let slot = self.globals.as_mut_ptr().add(g as usize);
                        if (*slot).tag == TAG_UNDEF {
                            throw!(self.undefined_global(g));
                        }
                        *slot = pop!();
                    }
                    Op::DefineGlobal { g } => *self.globals.as_mut_ptr().add(g as usize) = pop!(),
                    Op::GetBuiltin { b } => push!(Value::builtin(b)),
                    Op::CloseUpvals { slot } => self.close_upvals(base.add(slot as usize)),

                    Op::Add => add!(),
                    Op::Sub => int_binary!(wrapping_sub, ops::sub),
                    Op::Mul => int_binary!(wrapping_mul, ops::mul),
                    Op::Div => binary!(
                        a,
                        b,
                        Value::int(tri!(ops::int_div(a.as_int(), b.as_int()))),
                        ops::div
                    ),
                    Op::Mod => binary!(
                        a,
                        b,
                        Value::int(tri!(ops::int_rem(a.as_int(), b.as_int()))),
                        ops::rem
                    ),
                    Op::BitAnd => binary!(a, b, Value::int(a.as_int() & b.as_int()), ops::bit_and),
                    Op::BitOr => binary!(a, b, Value::int(a.as_int() | b.as_int()), ops::bit_or),
                    Op::BitXor => binary!(a, b, Value::int(a.as_int() ^ b.as_int()), ops::bit_xor),
                    Op::Shl => int_binary!(wrapping_shl_i64, ops::shl),
                    Op::Shr => int_binary!(wrapping_shr_i64, ops::shr),
                    Op::Neg => {
                        let a = top!();
                        *sp.sub(1) = if a.tag == TAG_INT {
                            Value::int(a.as_int().wrapping_neg())
                        } else {
                            tri!(ops::neg(a))
                        };
                    }
                    Op::BitNot => {
                        let a = top!();
                        *sp.sub(1) = tri!(ops::bit_not(a));
                    }
                    Op::Not => *sp.sub(1) = Value::bool(!top!().is_truthy()),
                    Op::Eq => {
                        let b = pop!();
                        *sp.sub(1) = Value::bool(equal!(top!(), b));
                    }
                    Op::Ne => {
                        let b = pop!();
                        *sp.sub(1) = Value::bool(!equal!(top!(), b));
                    }
                    Op::Lt => compare!(<, ops::lt),
                    Op::Le => compare!(<=, ops::le),
                    Op::Gt => compare!(>, ops::gt),
                    Op::Ge => compare!(>=, ops::ge),
                    Op::AddInt { v } => int_immediate!(v, wrapping_add, ops::add),
                    Op::SubInt { v } => int_immediate!(v, wrapping_sub, ops::sub),
                    Op::ModInt { v } => {
                        let a = top!();
                        let b = Value::int(v as i64);
                        *sp.sub(1) = if a.tag == TAG_INT {
                            Value::int(tri!(ops::int_rem(a.as_int(), v as i64)))
                        } else {
                            tri!(ops::rem(a, b))
                        };
                    }

                    Op::Jump { target } => ip = code!().add(target as usize),
                    Op::JumpIfFalse { target } => {
                        if !pop!().is_truthy() {
                            ip = code!().add(target as usize);
                        }
                    }
                    Op::JumpIfNotLt { target } => compare_jump!(target, <, ops::lt),
                    Op::JumpIfNotLe { target } => compare_jump!(target, <=, ops::le),
                    Op::JumpIfNotGt { target } => compare_jump!(target, >, ops::gt),
                    Op::JumpIfNotGe { target } => compare_jump!(target, >=, ops::ge),
                    Op::JumpIfNotEq { target } => {
                        let b = pop!();
                        if !equal!(pop!(), b) {
                            ip = code!().add(target as usize);
                        }
                    }
                    Op::JumpIfNotNe { target } => {
                        let b = pop!();
                        if equal!(pop!(), b) {
                            ip = code!().add(target as usize);
                        }
                    }
                    Op::JumpIfFalseOrPop { target } => {
                        if top!().is_truthy() {
                            sp = sp.sub(1);
                        } else {
                            ip = code!().add(target as usize);
                        }
                    }
                    Op::JumpIfTrueOrPop { target } => {
                        if top!().is_truthy() {
                            ip = code!().add(target as usize);
                        } else {
                            sp = sp.sub(1);
                        }
                    }
                    Op::Loop { target } => {
                        back_edge!(target);
                    }
                    Op::ForRangePrep { slot, exit } => {
                        let counter = *base.add(slot as usize);
                        let limit = *base.add(slot as usize + 1);
                        if counter.tag != TAG_INT || limit.tag != TAG_INT {
                            let bad = if counter.tag != TAG_INT {
                                counter
                            } else {
                                limit
                            };
                            throw!(format!(
                                "range bounds must be ints, not {}",
                                bad.type_name()
                            ));
                        }
                        if counter.as_int() >= limit.as_int() {
                            ip = code!().add(exit as usize);
                        }
                    }
                    Op::ForRangeNext { slot, target } => {
                        let counter = base.add(slot as usize);
                        sp = counter.add(2);
                        // counter < limit held, so this cannot overflow.
                        let next = (*counter).as_int() + 1;
                        (*counter).payload = next as u64;
                        if next < (*counter.add(1)).as_int() {
                            push!(Value::int(next));
                            back_edge!(target);
                        }
                    }
                    Op::ForInPrep { slot } => {
                        let place = base.add(slot as usize);
                        let v = *place;
                        if v.tag == TAG_MAP {
                            let keys: Vec<Value> = map_obj(v).map.keys().collect();
                            sync!();
                            *place = self.alloc_array(ValueVec::from_slice(&keys));
                        } else if v.tag != TAG_ARRAY {
                            throw!(format!("cannot iterate over {}", v.type_name()));
                        }
                        *place.add(1) = Value::int(0);
                    }
                    Op::ForInNext { slot, exit } => {
                        let place = base.add(slot as usize);
                        let items = &array_obj(*place).items;
                        let i = (*place.add(1)).as_int() as usize;
                        match items.get(i) {
                            Some(v) => {
                                push!(v);
                                *place.add(1) = Value::int(i as i64 + 1);
                            }
                            None => ip = code!().add(exit as usize),
                        }
                    }

                    Op::Closure { proto } => {
                        let child = *func!().children.get_unchecked(proto as usize);
                        sync!();
                        let upvals: Box<[*mut UpvalObj]> = (&*child)
                            .proto
                            .upvals
                            .iter()
                            .map(|d| {
                                if d.is_local {
                                    self.capture_upval(base.add(d.index as usize))
                                } else {
                                    *closure!().upvals.get_unchecked(d.index as usize)
                                }
                            })
                            .collect();
                        let v = self.alloc_closure(child, upvals);
                        push!(v);
                    }
                    Op::Call { argc } => {
                        let callee_slot = sp.sub(argc as usize + 1);
                        let callee = *callee_slot;
                        if callee.tag == TAG_FUNCTION {
                            // Recursion without loops must see timeouts too.
                            if let Some(m) = self.take_interrupt() {
                                throw!(m);
                            }
                            let c: *mut ClosureObj = callee.as_ptr();
                            let f = &*(*c).func;
                            if f.proto.arity != argc {
                                throw!(arity_error(f.proto.arity, argc));
                            }
                            let new_base = callee_slot.offset_from(stack!()) as usize;
                            if self.frames.is_full()
                                || new_base + f.proto.max_slots as usize > STACK_SLOTS
                            {
                                throw!("stack overflow".to_string());
                            }
                            self.frames.last_mut().unwrap_unchecked().pc = pc!();
                            self.frames.push(Frame {
                                closure: c,
                                pc: 0,
                                base: callee_slot,
                            });
                            f.hotness.set(f.hotness.get().saturating_add(1));
                            // JIT hook: run the callee's machine code if it
                            // has (or now gets) some.
                            let entry = self.jit_entry_for_call(f);
                            if !entry.is_null() {
                                if self.jit_native_stack_low() {
                                    self.frames.pop();
                                    throw!("stack overflow".to_string());
                                }
                                sync!();
                                self.enter_compiled(entry, new_base, 0)?;
                                sp = callee_slot.add(1);
                                continue;
                            }
                            func = (*c).func;
                            base = callee_slot;
                            ip = code!();
                        } else if callee.tag == TAG_BUILTIN {
                            // `push(array, v)` with room to spare, inline:
                            // it is what array-building loops call.
                            if callee.payload == BUILTIN_PUSH && argc == 2 {
                                let a = *callee_slot.add(1);
                                if a.tag == TAG_ARRAY {
                                    let items = &mut array_obj(a).items;
                                    if items.len() < items.capacity() {
                                        items.push(*callee_slot.add(2));
                                        sp = callee_slot;
                                        push!(Value::NIL);
                                        continue;
                                    }
                                }
                            }
                            sync!();
                            let r = self.call_builtin(callee, callee_slot.add(1), argc, pc!())?;
                            sp = callee_slot;
                            push!(r);
                        } else {
                            throw!(format!("cannot call {}", callee.type_name()));
                        }
                    }
                    Op::Return => return_value!(pop!()),

                    Op::NewArray { n } => {
                        sync!();
                        self.gc_point();
                        sp = sp.sub(n as usize);
                        let items = std::slice::from_raw_parts(sp, n as usize);
                        let v = self.heap.new_array(ValueVec::from_slice(items));
                        push!(v);
                    }
                    Op::NewMap { n } => {
                        sync!();
                        self.gc_point();
                        sp = sp.sub(2 * n as usize);
                        let mut map = Map::new();
                        for i in 0..n as usize {
                            let (k, v) = (*sp.add(2 * i), *sp.add(2 * i + 1));
                            if let Err(m) = ops::check_key(k) {
                                sp = sp.add(2 * n as usize);
                                throw!(m);
                            }
                            map.insert(k, v);
                        }
                        // No collection between `gc_point` and here.
                        let v = self.heap.new_map(map);
                        push!(v);
                    }
                    Op::GetIndex => {
                        let i = pop!();
                        let a = top!();
                        if a.tag == TAG_ARRAY && i.tag == TAG_INT {
                            let items = array_obj(a).items.as_slice();
                            if let Some(&v) = items.get(i.as_int() as u64 as usize) {
                                *sp.sub(1) = v;
                                continue;
                            }
                        }
                        *sp.sub(1) = tri!(ops::get_index(a, i, &self.byte_strings));
                    }
                    Op::SetIndex => {
                        let v = pop!();
                        let i = pop!();
                        let a = pop!();
                        if a.tag == TAG_ARRAY && i.tag == TAG_INT {
                            let items = array_obj(a).items.as_mut_slice();
                            if let Some(slot) = items.get_mut(i.as_int() as u64 as usize) {
                                *slot = v;
                                continue;
                            }
                        }
                        tri!(ops::set_index(a, i, v));
                    }
                    Op::GetField { k } => {
                        let f = func!();
                        let name = *f.consts.as_ptr().add(k as usize);
                        let hint = f.field_hints.get_unchecked(pc!() - 1);
                        *sp.sub(1) = tri!(ops::get_field(top!(), name, hint));
                    }
                    Op::SetField { k } => {
                        let f = func!();
                        let name = *f.consts.as_ptr().add(k as usize);
                        let hint = f.field_hints.get_unchecked(pc!() - 1);
                        let v = pop!();
                        let obj = pop!();
                        tri!(ops::set_field(obj, name, v, hint));
                    }

                    Op::AddLocals { a, b } => locals_arith!(a, b, wrapping_add),
                    Op::SubLocals { a, b } => locals_arith!(a, b, wrapping_sub),
                    Op::MulLocals { a, b } => locals_arith!(a, b, wrapping_mul),
                    Op::AddLocal { slot } => local_arith!(slot, wrapping_add),
                    Op::SubLocal { slot } => local_arith!(slot, wrapping_sub),
                    Op::MulLocal { slot } => local_arith!(slot, wrapping_mul),
                    Op::AddLocalsTo { a, b, dst } => locals_arith!(a, b, wrapping_add, dst),
                    Op::SubLocalsTo { a, b, dst } => locals_arith!(a, b, wrapping_sub, dst),
                    Op::MulLocalsTo { a, b, dst } => locals_arith!(a, b, wrapping_mul, dst),
                    Op::AddLocalInt { slot, v } => local_int!(slot, v, wrapping_add),
                    Op::SubLocalInt { slot, v } => local_int!(slot, v, wrapping_sub),
                    Op::ModLocalInt { slot, v } => {
                        let x = *base.add(slot as usize);
                        // `% 0` is left to `ModInt` and its error.
                        if x.tag == TAG_INT && v != 0 {
                            push!(Value::int(x.as_int().wrapping_rem(v as i64)));
                            ip = ip.add(1);
                        } else {
                            push!(x);
                        }
                    }
                    Op::AddLocalIntTo { src, dst, v } => local_int!(src, v, wrapping_add, dst),
                    Op::SubLocalIntTo { src, dst, v } => local_int!(src, v, wrapping_sub, dst),
                    Op::JumpIfNotLtLocals { a, b, target } => compare_locals_jump!(a, b, target, <),
                    Op::JumpIfNotLeLocals { a, b, target } => {
                        compare_locals_jump!(a, b, target, <=)
                    }
                    Op::JumpIfNotGtLocals { a, b, target } => compare_locals_jump!(a, b, target, >),
                    Op::JumpIfNotGeLocals { a, b, target } => {
                        compare_locals_jump!(a, b, target, >=)
                    }
                    Op::JumpIfNotEqLocals { a, b, target } => {
                        compare_locals_jump!(a, b, target, ==)
                    }
                    Op::JumpIfNotNeLocals { a, b, target } => {
                        compare_locals_jump!(a, b, target, !=)
                    }
                    Op::JumpIfNotLtInt { v, target } => compare_int_jump!(v, target, <),
                    Op::JumpIfNotLeInt { v, target } => compare_int_jump!(v, target, <=),
                    Op::JumpIfNotGtInt { v, target } => compare_int_jump!(v, target, >),
                    Op::JumpIfNotGeInt { v, target } => compare_int_jump!(v, target, >=),
                    Op::JumpIfNotEqInt { v, target } => compare_int_jump!(v, target, ==),
                    Op::JumpIfNotNeInt { v, target } => compare_int_jump!(v, target, !=),
                    Op::GetIndexLocals { a, b } => {
                        let (x, i) = (*base.add(a as usize), *base.add(b as usize));
                        if x.tag == TAG_ARRAY && i.tag == TAG_INT {
                            let items = array_obj(x).items.as_slice();
                            if let Some(&v) = items.get(i.as_int() as u64 as usize) {
                                push!(v);
                                ip = ip.add(1);
                                continue;
                            }
                        }
                        push!(x);
                        push!(i);
                    }
                    Op::ReturnLocal { slot } => return_value!(*base.add(slot as usize)),
                    Op::AddReturn => {
                        let (a, b) = (*sp.sub(2), *sp.sub(1));
                        if a.tag == TAG_INT && b.tag == TAG_INT {
                            return_value!(Value::int(a.as_int().wrapping_add(b.as_int())));
                        } else {
                            add!();
                        }
                    }
                    Op::JumpIfNotLtLocalInt { slot, v, target } => {
                        compare_local_int_jump!(slot, v, target, <)
                    }
                    Op::JumpIfNotLeLocalInt { slot, v, target } => {
                        compare_local_int_jump!(slot, v, target, <=)
                    }
                    Op::JumpIfNotGtLocalInt { slot, v, target } => {
                        compare_local_int_jump!(slot, v, target, >)
                    }
                    Op::JumpIfNotGeLocalInt { slot, v, target } => {
                        compare_local_int_jump!(slot, v, target, >=)
                    }
                    Op::JumpIfNotEqLocalInt { slot, v, target } => {
                        compare_local_int_jump!(slot, v, target, ==)
                    }
                    Op::JumpIfNotNeLocalInt { slot, v, target } => {
                        compare_local_int_jump!(slot, v, target, !=)
                    }
                    Op::SetIndexLocalsTrue { a, b } => set_index_locals!(a, b, Value::TRUE),
                    Op::SetIndexLocalsFalse { a, b } => set_index_locals!(a, b, Value::FALSE),
                    Op::SetIndexLocalsNil { a, b } => set_index_locals!(a, b, Value::NIL),
                    Op::SetIndexLocalsInt { a, b, v } => {
                        set_index_locals!(a, b, Value::int(v as i64))
                    }
                    Op::SetIndexLocalsLocal { a, b, src } => {
                        set_index_locals!(a, b, *base.add(src as usize))
                    }
                    Op::LoopLtLocals { target } => {
                        loop_compare_locals!(target, JumpIfNotLtLocals, <)
                    }
                    Op::LoopLeLocals { target } => {
                        loop_compare_locals!(target, JumpIfNotLeLocals, <=)
                    }
                    Op::LoopGtLocals { target } => {
                        loop_compare_locals!(target, JumpIfNotGtLocals, >)
                    }
                    Op::LoopGeLocals { target } => {
                        loop_compare_locals!(target, JumpIfNotGeLocals, >=)
                    }
                    Op::LoopEqLocals { target } => {
                        loop_compare_locals!(target, JumpIfNotEqLocals, ==)
                    }
                    Op::LoopNeLocals { target } => {
                        loop_compare_locals!(target, JumpIfNotNeLocals, !=)
                    }
                }
            }
        }
    }
}

/// The length of a string value.
fn str_len(v: Value) -> usize {
    super::heap::str_bytes(v).len()
}

/// The stack index of a frame base pointer.
#[inline]
fn frame_base_index(vm: &Vm, base: *mut Value) -> usize {
    // SAFETY: `base` points into the VM stack.
    unsafe { base.offset_from(vm.stack.as_ptr()) as usize }
}

/// Shifts with the count taken modulo 64, as inherent-method-like helpers so
/// the `int_binary!` macro can name them.
trait ShiftExt {
    fn wrapping_shl_i64(self, by: i64) -> i64;
    fn wrapping_shr_i64(self, by: i64) -> i64;
}

impl ShiftExt for i64 {
    #[inline(always)]
    fn wrapping_shl_i64(self, by: i64) -> i64 {
        self.wrapping_shl(by as u32)
    }
    #[inline(always)]
    fn wrapping_shr_i64(self, by: i64) -> i64 {
        self.wrapping_shr(by as u32)
    }
}

/// Checks a proto's operands against its own tables (see the SAFETY comment
/// in `execute`). A failure is a compiler bug, hence a panic.
fn verify(proto: &FunctionProto, n_globals: usize) {
    let name = proto.display_name();
    let max = proto.max_slots as usize;
    assert!(
        max <= STACK_SLOTS && (proto.arity as usize) < max,
        "{name}: bad max_slots"
    );
    assert_eq!(proto.lines.len(), proto.code.len(), "{name}: lines");
    assert!(
        matches!(
            proto.code.last(),
            Some(Op::Return | Op::Jump { .. } | Op::Loop { .. })
        ),
        "{name}: code must end in a return or jump"
    );
    for op in &proto.code {
        // The VM adds superinstructions itself, after this check.
        assert!(op.expand().is_none(), "{name}: superinstruction {op:?}");
        // Range loops use two slots, `for in` two slots.
        let slot_span = match op {
            Op::ForRangePrep { .. } | Op::ForRangeNext { .. } | Op::ForInPrep { .. } => 2,
            Op::ForInNext { .. } => 2,
            _ => 1,
        };
        for (field, value) in op.operands() {
            let v = value as usize;
            let ok = match field {
                "a" | "b" if matches!(op, Op::GetLocal2 { .. }) => v < max,
                "slot" => v + slot_span <= max,
                "k" => v < proto.consts.len(),
                "target" | "exit" => v < proto.code.len(),
                "g" => v < n_globals,
                "b" => v < BUILTIN_NAMES.len(),
                "proto" => v < proto.protos.len(),
                "idx" => v < proto.upvals.len(),
                _ => true,
            };
            assert!(ok, "{name}: operand {field}={value} out of range in {op:?}");
        }
        if let Op::GetField { k } | Op::SetField { k } = op {
            let is_str = matches!(proto.consts[*k as usize], Constant::Str(_));
            assert!(is_str, "{name}: field name must be a string constant");
        }
    }
    for child in &proto.protos {
        for d in &child.upvals {
            let ok = if d.is_local {
                (d.index as usize) < max
            } else {
                (d.index as usize) < proto.upvals.len()
            };
            assert!(ok, "{name}: bad upvalue capture {d:?}");
        }
    }
}
