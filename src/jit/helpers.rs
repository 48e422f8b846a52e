//! Runtime helpers: the Rust functions compiled code calls for everything a
//! template does not do inline.
//!
//! # Calling convention
//!
//! Every helper is an `extern "sysv64"` function with the same six
//! arguments, so one emitter ([`super::compiler`]'s `call_helper`) loads them
//! all the same way:
//!
//! | register | argument | meaning |
//! |----------|----------|---------|
//! | `rdi` | `vm: *mut Vm` | the VM (`r_vm`) |
//! | `rsi` | `base: *mut Value` | slot 0 of the running frame (`r_base`) |
//! | `edx` | `depth: u32` | the static operand-stack depth *before* the instruction |
//! | `ecx` | `pc: u32` | the instruction's index in the bytecode |
//! | `r8`  | `a: u64` | first operand (slot, count, constant, ...) |
//! | `r9`  | `b: u64` | second operand |
//!
//! The result in `rax` is a status: [`OK`] (0) or [`ERROR`] (1). `jit_call`
//! may also return the address of machine code to call next.
//!
//! The operands of the instruction are *in the VM stack*: a helper for
//! `a + b` reads `base[depth-2]` and `base[depth-1]` and writes the result to
//! `base[depth-2]`. Compiled code keeps every live value in its VM stack slot
//! across a helper call, so the GC sees them all once a helper has set the
//! VM's stack top (`vm.sp = base + depth`, see [`sync`]); every helper that
//! may allocate does that first.
//!
//! # Errors
//!
//! A helper that raises calls [`raise`], which builds the error (message and
//! stack trace) with the interpreter's own `Vm::error`, using `pc + 1` as the
//! innermost frame's position, exactly as the interpreter would. The error is
//! parked in `vm.jit_error` and the helper returns [`ERROR`]; compiled code
//! then returns [`ERROR`] at once, up to the entry path
//! (`Vm::enter_compiled`), which hands the parked error to its caller.
//!
//! The semantics live in `runtime::ops`, `runtime::builtins` and the VM's
//! own methods: the same functions the interpreter calls, so the tiers
//! cannot disagree. Helpers clobber every caller-saved register (they are
//! ordinary Rust functions) and never move the VM stack.
//!
//! # Safety
//!
//! Every helper is `unsafe` with one shared contract instead of a section
//! each: it may only be called by compiled code (or a test standing in for
//! it) with the running VM, the base of a live frame of that VM, and the
//! static depth and pc of the instruction it implements, so that every slot
//! it reads or writes lies inside that frame.
#![allow(clippy::missing_safety_doc)] // the shared contract above

use std::cell::Cell;

use crate::bytecode::Op;
use crate::runtime::Value;
use crate::runtime::builtins;
use crate::runtime::heap::{
    ClosureObj, FuncObj, UpvalObj, ValueVec, closure_func, map_obj, str_bytes,
};
use crate::runtime::map::Map;
use crate::runtime::ops;
use crate::runtime::value::{
    TAG_ARRAY, TAG_BUILTIN, TAG_FUNCTION, TAG_INT, TAG_MAP, TAG_STRING, copy_value,
};
use crate::runtime::vm::{Frame, STACK_SLOTS, Vm, arity_error};

/// Status: the helper finished normally.
pub const OK: u64 = 0;
/// Status: the helper raised; the error is in `vm.jit_error`.
pub const ERROR: u64 = 1;

/// The type every helper has (see the module docs).
pub type Helper = unsafe extern "sysv64" fn(*mut Vm, *mut Value, u32, u32, u64, u64) -> u64;

/// Makes the VM's stack top `base + depth`, so a collection sees every live
/// slot of this frame.
///
/// # Safety
/// `base + depth` must lie inside the VM stack.
unsafe fn sync(vm: &mut Vm, base: *mut Value, depth: u32) {
    // SAFETY: the caller guarantees both pointers are in the VM stack.
    vm.sp = unsafe { base.add(depth as usize).offset_from(vm.stack.as_ptr()) } as usize;
}

/// Parks the runtime error `message` raised by instruction `pc` and returns
/// [`ERROR`].
#[cold]
fn raise(vm: &mut Vm, message: String, pc: u32) -> u64 {
    let err = vm.error(message, pc as usize + 1);
    vm.jit_error = Some(err);
    ERROR
}

/// The VM and a pointer to operand slot `depth - back` of the frame.
///
/// # Safety
/// `vm` must be the running VM and `base[depth - back]` a live slot.
unsafe fn operand<'a>(
    vm: *mut Vm,
    base: *mut Value,
    depth: u32,
    back: u32,
) -> (&'a mut Vm, *mut Value) {
    // SAFETY: compiled code passes its own VM and frame (module docs).
    unsafe { (&mut *vm, base.add((depth - back) as usize)) }
}

/// Stores an operator result (or raises) at `slot`.
fn finish(vm: &mut Vm, slot: *mut Value, r: Result<Value, String>, pc: u32) -> u64 {
    match r {
        // SAFETY: `slot` is a live slot of the frame (see `operand`).
        // Two 8-byte moves: `r` was just written to memory by its maker.
        Ok(v) => unsafe {
            copy_value(slot, &v);
            OK
        },
        Err(m) => raise(vm, m, pc),
    }
}

/// The slow path of `Add`: `base[depth-2] = base[depth-2] + base[depth-1]`.
/// May allocate (string concatenation) and raise (bad operand types).
pub unsafe extern "sysv64" fn jit_add(
    vm: *mut Vm,
    base: *mut Value,
    depth: u32,
    pc: u32,
    _: u64,
    _: u64,
) -> u64 {
    // SAFETY: see the module docs: compiled code passes a valid frame.
    unsafe {
        let (vm, a) = operand(vm, base, depth, 2);
        let (x, y) = (*a, *a.add(1));
        if x.tag == TAG_STRING && y.tag == TAG_STRING {
            let size = str_bytes(x).len() + str_bytes(y).len();
            if let Err(m) = vm.heap.check_size(size) {
                return raise(vm, m, pc);
            }
            let bytes = ops::concat_bytes(x, y);
            sync(vm, base, depth);
            *a = vm.alloc_string(bytes);
            return OK;
        }
        finish(vm, a, ops::add(x, y), pc)
    }
}

/// Defines a binary-operator helper that calls the shared semantics: reads
/// `base[depth-2]` and `base[depth-1]`, writes `base[depth-2]`. Never
/// allocates; raises the operator's type errors (and `division by zero`).
macro_rules! binary_helper {
    ($($name:ident => $f:expr;)*) => {$(
        #[doc = concat!("Slow path of a binary operator (`", stringify!($f), "`): reads `base[depth-2]`, `base[depth-1]`, writes `base[depth-2]`. Never allocates; may raise.")]
        pub unsafe extern "sysv64" fn $name(vm: *mut Vm, base: *mut Value, depth: u32, pc: u32, _: u64, _: u64) -> u64 {
            // SAFETY: see the module docs: compiled code passes a valid frame.
            unsafe {
                let (vm, a) = operand(vm, base, depth, 2);
                let f: fn(Value, Value) -> Result<Value, String> = $f;
                finish(vm, a, f(*a, *a.add(1)), pc)
            }
        }
    )*};
}

binary_helper! {
    jit_sub => ops::sub;
    jit_mul => ops::mul;
    jit_div => ops::div;
    jit_mod => ops::rem;
    jit_bit_and => ops::bit_and;
    jit_bit_or => ops::bit_or;
    jit_bit_xor => ops::bit_xor;
    jit_shl => ops::shl;
    jit_shr => ops::shr;
    jit_lt => ops::lt;
    jit_le => ops::le;
    jit_gt => ops::gt;
    jit_ge => ops::ge;
    jit_eq => |a, b| Ok(Value::bool(ops::equal(a, b)));
    jit_ne => |a, b| Ok(Value::bool(!ops::equal(a, b)));
}

/// `jit_int_immediate`'s operator selector (`a`): `AddInt`.
pub const IMM_ADD: u64 = 0;
/// `jit_int_immediate`'s operator selector: `SubInt`.
pub const IMM_SUB: u64 = 1;
/// `jit_int_immediate`'s operator selector: `ModInt`.
pub const IMM_MOD: u64 = 2;

/// Slow path of `AddInt`/`SubInt`/`ModInt`: `base[depth-1] = base[depth-1]
/// op v`, with `op` chosen by `a` ([`IMM_ADD`], ...) and `v` in `b` (an
/// `i32` sign-extended). The same semantics as `Int v; Add` etc. Never
/// allocates; may raise (bad operand type, `division by zero`).
pub unsafe extern "sysv64" fn jit_int_immediate(
    vm: *mut Vm,
    base: *mut Value,
    depth: u32,
    pc: u32,
    a: u64,
    b: u64,
) -> u64 {
    // SAFETY: see the module docs: compiled code passes a valid frame.
    unsafe {
        let (vm, x) = operand(vm, base, depth, 1);
        let v = Value::int(b as i64);
        let r = match a {
            IMM_ADD => ops::add(*x, v),
            IMM_SUB => ops::sub(*x, v),
            _ => ops::rem(*x, v),
        };
        finish(vm, x, r, pc)
    }
}

/// Slow path of `Neg`: `base[depth-1] = -base[depth-1]`. May raise.
pub unsafe extern "sysv64" fn jit_neg(
    vm: *mut Vm,
    base: *mut Value,
    depth: u32,
    pc: u32,
    _: u64,
    _: u64,
) -> u64 {
    // SAFETY: see the module docs.
    unsafe {
        let (vm, a) = operand(vm, base, depth, 1);
        finish(vm, a, ops::neg(*a), pc)
    }
}

/// Slow path of `BitNot`: `base[depth-1] = ~base[depth-1]`. May raise.
pub unsafe extern "sysv64" fn jit_bit_not(
    vm: *mut Vm,
    base: *mut Value,
    depth: u32,
    pc: u32,
    _: u64,
    _: u64,
) -> u64 {
    // SAFETY: see the module docs.
    unsafe {
        let (vm, a) = operand(vm, base, depth, 1);
        finish(vm, a, ops::bit_not(*a), pc)
    }
}

/// Raises `undefined variable` for global `a` (the inline check of
/// `GetGlobal`/`SetGlobal` found it undefined). Always returns [`ERROR`].
pub unsafe extern "sysv64" fn jit_undefined_global(
    vm: *mut Vm,
    _: *mut Value,
    _: u32,
    pc: u32,
    a: u64,
    _: u64,
) -> u64 {
    // SAFETY: see the module docs.
    let vm = unsafe { &mut *vm };
    let msg = vm.undefined_global(a as u32);
    raise(vm, msg, pc)
}

/// A loop back-edge found the frame stack top above the frame limit: the
/// limit was zeroed by an interrupt (see `tier::JitCtx`), or this frame is
/// deeper than the limit (it was pushed by `jit_call`'s exact checks).
/// Raises the interrupt's error after clearing the flag if one is pending,
/// else returns 0 and the loop goes on. May raise; never allocates.
pub unsafe extern "sysv64" fn jit_poll_interrupt(
    vm: *mut Vm,
    base: *mut Value,
    depth: u32,
    pc: u32,
    _: u64,
    _: u64,
) -> u64 {
    // SAFETY: see the module docs.
    unsafe {
        let vm = &mut *vm;
        match vm.take_interrupt() {
            Some(message) => {
                sync(vm, base, depth);
                raise(vm, message, pc)
            }
            None => OK,
        }
    }
}

/// Raises the `range bounds must be ints` error of `ForRangePrep` for the
/// bounds in locals `a` and `a+1`. Always returns [`ERROR`].
pub unsafe extern "sysv64" fn jit_range_error(
    vm: *mut Vm,
    base: *mut Value,
    _: u32,
    pc: u32,
    a: u64,
    _: u64,
) -> u64 {
    // SAFETY: see the module docs; `a` and `a+1` are verified slots.
    unsafe {
        let (c, l) = (*base.add(a as usize), *base.add(a as usize + 1));
        let bad = if c.tag != TAG_INT { c } else { l };
        let msg = format!("range bounds must be ints, not {}", bad.type_name());
        raise(&mut *vm, msg, pc)
    }
}

/// The running closure, from the top frame record (not from slot 0, which
/// a compiled call through a global leaves nil; see `Compiler::emit_call_op`).
///
/// # Safety
/// `vm` must be the running VM, its frame stack top written back.
unsafe fn running_closure<'a>(vm: &Vm) -> &'a ClosureObj {
    // SAFETY: the top record is the running frame's; its closure is live
    // (frame records are GC roots).
    unsafe { &*vm.frames.last().expect("a running frame").closure }
}

/// `CloseUpvals a`: closes the open upvalues at `base[a]` and above. Never
/// allocates or raises.
pub unsafe extern "sysv64" fn jit_close_upvals(
    vm: *mut Vm,
    base: *mut Value,
    _: u32,
    _: u32,
    a: u64,
    _: u64,
) -> u64 {
    // SAFETY: see the module docs.
    unsafe { (*vm).close_upvals(base.add(a as usize)) };
    OK
}

/// `Return`'s bookkeeping, after compiled code stored the result in
/// `base[0]`: closes the frame's upvalues. Compiled code pops the frame
/// record itself (it keeps the frame stack top in a register). Never allocates
/// or raises.
pub unsafe extern "sysv64" fn jit_return(
    vm: *mut Vm,
    base: *mut Value,
    _: u32,
    _: u32,
    _: u64,
    _: u64,
) -> u64 {
    // SAFETY: see the module docs.
    unsafe {
        let vm = &mut *vm;
        vm.close_upvals(base);
    }
    OK
}

/// `Closure a`: creates a closure of nested function `a` and stores it at
/// `base[depth]`. Allocates (upvalues, the closure).
pub unsafe extern "sysv64" fn jit_closure(
    vm: *mut Vm,
    base: *mut Value,
    depth: u32,
    _: u32,
    a: u64,
    _: u64,
) -> u64 {
    // SAFETY: see the module docs; `verify` checked `a` and every capture.
    unsafe {
        let vm = &mut *vm;
        sync(vm, base, depth);
        let closure = running_closure(vm);
        let child: *const FuncObj = closure_func(closure).children[a as usize];
        let upvals: Box<[*mut UpvalObj]> = (&*child)
            .proto
            .upvals
            .iter()
            .map(|d| match d.is_local {
                true => vm.capture_upval(base.add(d.index as usize)),
                false => closure.upvals[d.index as usize],
            })
            .collect();
        *base.add(depth as usize) = vm.alloc_closure(child, upvals);
    }
    OK
}

/// `NewArray a`: replaces the top `a` values by an array of them.
/// Allocates.
pub unsafe extern "sysv64" fn jit_new_array(
    vm: *mut Vm,
    base: *mut Value,
    depth: u32,
    _: u32,
    a: u64,
    _: u64,
) -> u64 {
    // SAFETY: see the module docs; the compiler's depth covers `a` values.
    unsafe {
        let (vm, first) = operand(vm, base, depth, a as u32);
        sync(vm, base, depth);
        vm.gc_point();
        let items = std::slice::from_raw_parts(first, a as usize);
        *first = vm.heap.new_array_of_stored_slots(items);
    }
    OK
}

/// `NewMap a`: replaces the top `2a` values (key, value, ...) by a map.
/// Allocates; raises `invalid map key type`.
pub unsafe extern "sysv64" fn jit_new_map(
    vm: *mut Vm,
    base: *mut Value,
    depth: u32,
    pc: u32,
    a: u64,
    _: u64,
) -> u64 {
    // SAFETY: see the module docs.
    unsafe {
        let (vm, first) = operand(vm, base, depth, 2 * a as u32);
        sync(vm, base, depth);
        vm.gc_point();
        let mut map = Map::new();
        for i in 0..a as usize {
            let (k, v) = (*first.add(2 * i), *first.add(2 * i + 1));
            if let Err(m) = ops::check_key(k) {
                return raise(vm, m, pc);
            }
            map.insert(k, v);
        }
        // No collection between `gc_point` and here.
        *first = vm.heap.new_map(map);
    }
    OK
}

/// Slow path of `GetIndex`: `base[depth-2] = base[depth-2][base[depth-1]]`.
/// Never allocates (one-byte strings are preallocated); may raise.
pub unsafe extern "sysv64" fn jit_get_index(
    vm: *mut Vm,
    base: *mut Value,
    depth: u32,
    pc: u32,
    _: u64,
    _: u64,
) -> u64 {
    // SAFETY: see the module docs.
    unsafe {
        let (vm, a) = operand(vm, base, depth, 2);
        let r = ops::get_index(*a, *a.add(1), &vm.byte_strings);
        finish(vm, a, r, pc)
    }
}

/// Slow path of `SetIndex`: `obj[idx] = v` for the top three values. May
/// raise; never allocates (map inserts grow Rust memory, not GC objects).
pub unsafe extern "sysv64" fn jit_set_index(
    vm: *mut Vm,
    base: *mut Value,
    depth: u32,
    pc: u32,
    _: u64,
    _: u64,
) -> u64 {
    // SAFETY: see the module docs.
    unsafe {
        let (vm, a) = operand(vm, base, depth, 3);
        match ops::set_index(*a, *a.add(1), *a.add(2)) {
            Ok(()) => OK,
            Err(m) => raise(vm, m, pc),
        }
    }
}

/// `GetField`: `base[depth-1] = base[depth-1].name`; `a` is the name (a
/// string constant's object pointer, rooted by its function), `b` the
/// address of the instruction's inline-cache slot (`FuncObj::field_hints`).
/// Never allocates; raises if the object is not a map.
pub unsafe extern "sysv64" fn jit_get_field(
    vm: *mut Vm,
    base: *mut Value,
    depth: u32,
    pc: u32,
    a: u64,
    b: u64,
) -> u64 {
    // SAFETY: see the module docs; `a` and `b` as documented above.
    unsafe {
        let (vm, obj) = operand(vm, base, depth, 1);
        let name = Value::object(TAG_STRING, a as *mut u8);
        let hint = &*(b as *const Cell<u32>);
        finish(vm, obj, ops::get_field(*obj, name, hint), pc)
    }
}

/// `SetField`: `obj.name = v` for the top two values; `a` and `b` as in
/// [`jit_get_field`]. May allocate (the map grows); may raise.
pub unsafe extern "sysv64" fn jit_set_field(
    vm: *mut Vm,
    base: *mut Value,
    depth: u32,
    pc: u32,
    a: u64,
    b: u64,
) -> u64 {
    // SAFETY: see `jit_get_field`.
    unsafe {
        let (vm, obj) = operand(vm, base, depth, 2);
        let name = Value::object(TAG_STRING, a as *mut u8);
        let hint = &*(b as *const Cell<u32>);
        match ops::set_field(*obj, name, *obj.add(1), hint) {
            Ok(()) => OK,
            Err(m) => raise(vm, m, pc),
        }
    }
}

/// `ForInPrep a`: turns a map in local `a` into an array of its keys,
/// raises unless it is an array or a map, sets local `a+1` to 0.
/// Allocates (the key array).
pub unsafe extern "sysv64" fn jit_for_in_prep(
    vm: *mut Vm,
    base: *mut Value,
    depth: u32,
    pc: u32,
    a: u64,
    _: u64,
) -> u64 {
    // SAFETY: see the module docs; `a` and `a+1` are verified slots.
    unsafe {
        let vm = &mut *vm;
        let place = base.add(a as usize);
        let v = *place;
        if v.tag == TAG_MAP {
            let keys: Vec<Value> = map_obj(v).map.keys().collect();
            sync(vm, base, depth);
            *place = vm.alloc_array(ValueVec::from_slice(&keys));
        } else if v.tag != TAG_ARRAY {
            return raise(vm, format!("cannot iterate over {}", v.type_name()), pc);
        }
        *place.add(1) = Value::int(0);
    }
    OK
}

/// `Call a` (`a` = argument count), for the callee at `base[depth-a-1]`.
///
/// * A builtin runs here; its result replaces the callee slot. [`OK`].
/// * A Toy function gets its frame record pushed (the caller's `pc` saved
///   first, so traces are right), its hotness bumped (which may compile it).
///   If it has machine code, the code's address is returned and compiled
///   code calls it directly with `(vm, callee slot, 0)`. Otherwise the
///   interpreter runs it to completion here (`Vm::execute`); the result
///   replaces the callee slot. [`OK`].
/// * Raises `cannot call`, arity errors and `stack overflow` (frame limit,
///   VM stack, or the native stack budget). May allocate (builtins, and
///   anything the interpreted callee does).
pub unsafe extern "sysv64" fn jit_call(
    vm: *mut Vm,
    base: *mut Value,
    depth: u32,
    pc: u32,
    a: u64,
    _: u64,
) -> u64 {
    // SAFETY: see the module docs.
    unsafe {
        let argc = a as u32;
        let (vm, callee_slot) = operand(vm, base, depth, argc + 1);
        let callee = *callee_slot;
        match callee.tag {
            TAG_FUNCTION => call_function(vm, callee_slot, argc, pc),
            TAG_BUILTIN => {
                sync(vm, base, depth);
                vm.frames.last_mut().unwrap().pc = pc as usize + 1;
                let args = std::slice::from_raw_parts(callee_slot.add(1), argc as usize);
                let r = builtins::call(vm, callee.payload as usize, args);
                finish(vm, callee_slot, r, pc)
            }
            _ => raise(vm, format!("cannot call {}", callee.type_name()), pc),
        }
    }
}

/// The Toy-function case of [`jit_call`].
///
/// # Safety
/// `callee_slot` holds a closure followed by `argc` arguments, all inside
/// the running frame.
unsafe fn call_function(vm: &mut Vm, callee_slot: *mut Value, argc: u32, pc: u32) -> u64 {
    // SAFETY: the caller's contract; the new frame's slots are checked below.
    unsafe {
        let c: *mut ClosureObj = (*callee_slot).as_ptr();
        let f = closure_func(&*c);
        if let Some(m) = vm.take_interrupt() {
            return raise(vm, m, pc);
        }
        if f.proto.arity != argc {
            return raise(vm, arity_error(f.proto.arity, argc), pc);
        }
        let new_base = callee_slot.offset_from(vm.stack.as_ptr()) as usize;
        if vm.frames.is_full()
            || new_base + f.proto.max_slots as usize > STACK_SLOTS
            || vm.jit_native_stack_low()
        {
            return raise(vm, "stack overflow".to_string(), pc);
        }
        vm.frames.last_mut().unwrap().pc = pc as usize + 1;
        vm.frames.push(Frame {
            closure: c,
            pc: 0,
            base: callee_slot,
        });
        f.hotness.set(f.hotness.get().saturating_add(1));
        let entry = vm.jit_entry_for_call(f);
        if !entry.is_null() {
            return entry as u64;
        }
        vm.sp = new_base + argc as usize + 1;
        match vm.execute() {
            Ok(_) => OK,
            Err(e) => {
                vm.jit_error = Some(e);
                ERROR
            }
        }
    }
}

/// The helper of each opcode that has one, for listings: `(address, name)`.
pub fn symbols() -> Vec<(usize, &'static str)> {
    macro_rules! list {
        ($($h:ident),*) => { vec![$(($h as Helper as usize, stringify!($h))),*] };
    }
    list!(
        jit_add,
        jit_sub,
        jit_mul,
        jit_div,
        jit_mod,
        jit_bit_and,
        jit_bit_or,
        jit_bit_xor,
        jit_shl,
        jit_shr,
        jit_lt,
        jit_le,
        jit_gt,
        jit_ge,
        jit_eq,
        jit_ne,
        jit_int_immediate,
        jit_neg,
        jit_bit_not,
        jit_undefined_global,
        jit_poll_interrupt,
        jit_range_error,
        jit_close_upvals,
        jit_return,
        jit_closure,
        jit_new_array,
        jit_new_map,
        jit_get_index,
        jit_set_index,
        jit_get_field,
        jit_set_field,
        jit_for_in_prep,
        jit_call
    )
}

/// The slow-path helper of a binary operator opcode.
pub fn binary_helper(op: &Op) -> Helper {
    match op {
        Op::Add => jit_add,
        Op::Sub => jit_sub,
        Op::Mul => jit_mul,
        Op::Div => jit_div,
        Op::Mod => jit_mod,
        Op::BitAnd => jit_bit_and,
        Op::BitOr => jit_bit_or,
        Op::BitXor => jit_bit_xor,
        Op::Shl => jit_shl,
        Op::Shr => jit_shr,
        Op::Lt => jit_lt,
        Op::Le => jit_le,
        Op::Gt => jit_gt,
        Op::Ge => jit_ge,
        Op::Eq => jit_eq,
        Op::Ne => jit_ne,
        _ => unreachable!("not a binary operator: {op:?}"),
    }
}
