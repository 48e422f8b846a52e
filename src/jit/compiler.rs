//! The baseline template compiler: one function's bytecode to x86-64 in a
//! single linear pass, one small `emit_*` function per opcode.
//!
//! # What compiled code looks like
//!
//! A compiled function is an `extern "sysv64" fn(vm, base, pc) -> status`
//! (see [`super::Entry`]). Its frame is the interpreter's: the caller has
//! already pushed the frame record and put the callee and arguments at
//! `base[0..=arity]`. `pc` is 0 for a call, or a loop header's index for
//! on-stack replacement: the prologue jumps to that instruction's label.
//!
//! Every operand-stack slot is addressed as `[r_base + 16 * depth]` with the
//! depth known at compile time ([`super::analysis`]). Values live in their
//! VM stack slots between instructions, so at any helper call the GC sees
//! every live value; templates use scratch registers only within one
//! instruction (and a fused compare-and-branch pair).
//!
//! Fast paths (int arithmetic and comparisons, array indexing, globals,
//! loops) are inline with a tag guard; everything else, and every guard
//! failure, calls a helper from [`super::helpers`] that runs the
//! interpreter's own semantics.
//!
//! Status protocol: a helper returns 0 or 1 in `rax`; on 1 the code jumps to
//! the shared error exit, which returns 1 to the caller. `Return` stores the
//! result in `base[0]` (where the caller expects it), pops the frame via a
//! helper and returns 0.

use std::sync::atomic::AtomicBool;

use super::analysis::{Analysis, analyze};
use super::asm::jit_asm;
use super::asm::prelude::*;
use super::helpers::{self, Helper};
use crate::bytecode::Op;
use crate::runtime::heap::{ARRAY_ITEMS_PTR_OFFSET, ARRAY_LEN_OFFSET, FuncObj};
use crate::runtime::value::{TAG_ARRAY, TAG_BOOL, TAG_BUILTIN, TAG_INT, TAG_UNDEF};

/// Addresses compiled code embeds as immediates.
pub struct Env {
    /// The JIT context ([`super::JitCtx`]); its first field is the globals
    /// array pointer, reloaded at every function entry.
    pub ctx: usize,
    /// The VM's interrupt flag, polled at back-edges.
    pub interrupt: *const AtomicBool,
}

/// Compiler output: the machine code and, per instruction, the offset of
/// its first byte (for listings).
pub struct Output {
    pub code: Vec<u8>,
    pub offsets: Vec<(usize, usize)>,
}

/// Compiles one function. `Err` only for bytecode whose stack depths are
/// inconsistent (a compiler bug); every opcode compiles.
pub fn compile(func: &FuncObj, env: &Env) -> Result<Output, String> {
    let analysis = analyze(&func.proto)?;
    let mut ops = new_ops();
    let labels = (0..func.proto.code.len())
        .map(|_| ops.new_dynamic_label())
        .collect();
    let error_exit = ops.new_dynamic_label();
    let mut c = Compiler {
        ops,
        func,
        env,
        analysis,
        labels,
        error_exit,
        pc: 0,
        offsets: Vec::new(),
    };
    c.emit_entry();
    c.emit_body();
    c.emit_error_exit();
    let code = finish(c.ops).map_err(|e| e.to_string())?;
    Ok(Output {
        code,
        offsets: c.offsets,
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

struct Compiler<'a> {
    ops: Ops,
    func: &'a FuncObj,
    env: &'a Env,
    analysis: Analysis,
    /// One label per instruction (only jump targets are jumped to).
    labels: Vec<DynamicLabel>,
    error_exit: DynamicLabel,
    /// The instruction being compiled.
    pc: usize,
    offsets: Vec<(usize, usize)>,
}

impl Compiler<'_> {
    /// Prologue, VM registers, and the dispatch on the entry `pc` (0 or a
    /// loop header for OSR).
    fn emit_entry(&mut self) {
        emit_prologue(&mut self.ops, 0);
        let ctx = self.env.ctx as i64;
        let start = self.labels[0];
        emit!(self
            ; mov r_vm, rdi
            ; mov r_base, rsi
            ; mov r_aux, QWORD ctx
            ; mov r_consts, [r_aux]
            ; test rdx, rdx
            ; jz =>start
        );
        for &h in &self.analysis.loop_headers {
            let l = self.labels[h as usize];
            emit!(self ; cmp rdx, h as i32 ; je =>l);
        }
        emit!(self ; ud2);
    }

    fn emit_body(&mut self) {
        let code = &self.func.proto.code;
        let mut pc = 0;
        while pc < code.len() {
            self.pc = pc;
            let l = self.labels[pc];
            emit!(self ; =>l);
            self.offsets.push((self.ops.offset().0, pc));
            pc += match self.analysis.depth[pc] {
                Some(d) => self.emit_op(code[pc], d),
                None => 1, // unreachable
            };
        }
    }

    /// The shared error exit: return status 1 to the caller.
    fn emit_error_exit(&mut self) {
        let l = self.error_exit;
        emit!(self ; =>l ; mov eax, 1);
        emit_epilogue(&mut self.ops);
    }

    /// Whether instruction `pc + 1` can be merged into the one at `pc` (it
    /// exists and no jump lands on it).
    fn can_fuse_next(&self) -> bool {
        let next = self.pc + 1;
        next < self.func.proto.code.len() && !self.analysis.is_target[next]
    }

    /// Emits one instruction (or a fused pair); returns how many it consumed.
    fn emit_op(&mut self, op: Op, d: u32) -> usize {
        match op {
            Op::Nil => self.emit_nil(d),
            Op::True => self.emit_true(d),
            Op::False => self.emit_false(d),
            Op::Int { v } => self.emit_int(d, v),
            Op::Const { k } => self.emit_const(d, k),
            Op::Pop | Op::PopN { .. } => {} // the static depth drops: no code
            Op::Dup => self.emit_dup(d),
            Op::Dup2 => self.emit_dup2(d),
            Op::GetLocal { slot } => self.emit_get_local(d, slot),
            Op::GetLocal2 { a, b } => self.emit_get_local2(d, a, b),
            Op::SetLocal { slot } => self.emit_set_local(d, slot),
            Op::GetUpval { idx } => self.call_checked(helpers::jit_get_upval, d, idx as u64, 0),
            Op::SetUpval { idx } => self.call_checked(helpers::jit_set_upval, d, idx as u64, 0),
            Op::GetGlobal { g } => self.emit_get_global(d, g),
            Op::SetGlobal { g } => self.emit_set_global(d, g),
            Op::DefineGlobal { g } => self.emit_define_global(d, g),
            Op::GetBuiltin { b } => self.store_imm(d, TAG_BUILTIN, b as u64),
            Op::CloseUpvals { slot } => {
                self.call_checked(helpers::jit_close_upvals, d, slot as u64, 0)
            }
            Op::Add | Op::Sub | Op::Mul | Op::BitAnd | Op::BitOr | Op::BitXor => {
                self.emit_int_arith(op, d)
            }
            Op::Div | Op::Mod => self.emit_div_mod(op, d),
            Op::Shl | Op::Shr => self.call_checked(helpers::binary_helper(&op), d, 0, 0),
            Op::AddInt { v } | Op::SubInt { v } | Op::ModInt { v } => {
                self.emit_int_immediate(op, d, v)
            }
            Op::Neg => self.emit_neg(d),
            Op::BitNot => self.emit_bit_not(d),
            Op::Not => self.emit_not(d),
            Op::Eq | Op::Ne | Op::Lt | Op::Le | Op::Gt | Op::Ge => return self.emit_compare(op, d),
            Op::Jump { target } => self.emit_jump(target),
            Op::JumpIfFalse { target } => self.emit_jump_if_false(d, target),
            Op::JumpIfNotLt { target } => self.emit_compare_jump(Op::Lt, d, target),
            Op::JumpIfNotLe { target } => self.emit_compare_jump(Op::Le, d, target),
            Op::JumpIfNotGt { target } => self.emit_compare_jump(Op::Gt, d, target),
            Op::JumpIfNotGe { target } => self.emit_compare_jump(Op::Ge, d, target),
            Op::JumpIfNotEq { target } => self.emit_compare_jump(Op::Eq, d, target),
            Op::JumpIfNotNe { target } => self.emit_compare_jump(Op::Ne, d, target),
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
            Op::GetField { k } => {
                let name = self.func.consts[k as usize].payload;
                self.call_checked(helpers::jit_get_field, d, name, 0)
            }
            Op::SetField { k } => {
                let name = self.func.consts[k as usize].payload;
                self.call_checked(helpers::jit_set_field, d, name, 0)
            }
        }
        1
    }

    // ---- helper calls ------------------------------------------------------

    /// Calls `helper(vm, base, depth, pc, a, b)` (see `helpers` for the
    /// convention). rsp is 16-byte aligned here: templates never push.
    fn call_helper(&mut self, helper: Helper, depth: u32, a: u64, b: u64) {
        let pc = self.pc as i32;
        emit!(self
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

    fn emit_nil(&mut self, d: u32) {
        self.store_imm(d, 0, 0);
    }

    fn emit_true(&mut self, d: u32) {
        self.store_imm(d, TAG_BOOL, 1);
    }

    fn emit_false(&mut self, d: u32) {
        self.store_imm(d, TAG_BOOL, 0);
    }

    fn emit_int(&mut self, d: u32, v: i32) {
        self.store_imm(d, TAG_INT, v as i64 as u64);
    }

    /// Constants never change after loading, so the value is an immediate
    /// (a string constant's pointer stays valid: the function roots it).
    fn emit_const(&mut self, d: u32, k: u32) {
        let v = self.func.consts[k as usize];
        self.store_imm(d, v.tag, v.payload);
    }

    /// Copies 16 bytes from slot `from` to slot `to`.
    fn copy_slot(&mut self, from: u32, to: u32) {
        let (f, t) = (slot(from), slot(to));
        emit!(self
            ; movups xmm0, [r_base + f]
            ; movups [r_base + t], xmm0
        );
    }

    fn emit_dup(&mut self, d: u32) {
        self.copy_slot(d - 1, d);
    }

    fn emit_dup2(&mut self, d: u32) {
        self.copy_slot(d - 2, d);
        self.copy_slot(d - 1, d + 1);
    }

    fn emit_get_local(&mut self, d: u32, s: u32) {
        self.copy_slot(s, d);
    }

    fn emit_get_local2(&mut self, d: u32, a: u32, b: u32) {
        self.copy_slot(a, d);
        self.copy_slot(b, d + 1);
    }

    fn emit_set_local(&mut self, d: u32, s: u32) {
        self.copy_slot(d - 1, s);
    }

    // ---- globals: `r_consts` holds the globals array -------------------------

    /// Jumps to the `undefined variable` error unless global `g` is defined.
    fn check_global_defined(&mut self, g: u32, d: u32) {
        let off = slot(g);
        emit!(self
            ; cmp QWORD [r_consts + off], TAG_UNDEF as i32
            ; jne >ok
        );
        self.call_helper(helpers::jit_undefined_global, d, g as u64, 0);
        let err = self.error_exit;
        emit!(self ; jmp =>err ; ok:);
    }

    fn emit_get_global(&mut self, d: u32, g: u32) {
        self.check_global_defined(g, d);
        let (off, t) = (slot(g), slot(d));
        emit!(self
            ; movups xmm0, [r_consts + off]
            ; movups [r_base + t], xmm0
        );
    }

    fn emit_set_global(&mut self, d: u32, g: u32) {
        self.check_global_defined(g, d);
        self.emit_define_global(d, g);
    }

    fn emit_define_global(&mut self, d: u32, g: u32) {
        let (off, f) = (slot(g), slot(d - 1));
        emit!(self
            ; movups xmm0, [r_base + f]
            ; movups [r_consts + off], xmm0
        );
    }

    // ---- operators -----------------------------------------------------------

    /// Jumps to local label `slow` unless slots `a` and `b` both hold ints.
    fn guard_two_ints(&mut self, a: u32, b: u32) {
        let (oa, sb) = (slot(a), slot(b));
        emit!(self
            ; cmp QWORD [r_base + oa], TAG_INT as i32
            ; jne >slow
            ; cmp QWORD [r_base + sb], TAG_INT as i32
            ; jne >slow
        );
    }

    /// `+ - * & | ^` with an inline int/int path (wrapping, as x86 does)
    /// and the helper for everything else.
    fn emit_int_arith(&mut self, op: Op, d: u32) {
        let (a, b) = (slot(d - 2) + 8, slot(d - 1) + 8);
        emit!(self
            ; cmp QWORD [r_base + a - 8], TAG_INT as i32
            ; jne >slow
            ; cmp QWORD [r_base + b - 8], TAG_INT as i32
            ; jne >slow
            ; mov rax, [r_base + a]
        );
        match op {
            Op::Add => emit!(self ; add rax, [r_base + b]),
            Op::Sub => emit!(self ; sub rax, [r_base + b]),
            Op::Mul => emit!(self ; imul rax, [r_base + b]),
            Op::BitAnd => emit!(self ; and rax, [r_base + b]),
            Op::BitOr => emit!(self ; or rax, [r_base + b]),
            _ => emit!(self ; xor rax, [r_base + b]),
        }
        emit!(self ; mov [r_base + a], rax ; jmp >done ; slow:);
        self.call_checked(helpers::binary_helper(&op), d, 0, 0);
        emit!(self ; done:);
    }

    /// Int `/` and `%` inline. `idiv` traps on a zero divisor and on
    /// `i64::MIN / -1`, so both go elsewhere first: zero to the helper
    /// (which raises `division by zero`), -1 to `neg` (wrapping) or 0.
    fn emit_div_mod(&mut self, op: Op, d: u32) {
        let (a, b) = (slot(d - 2) + 8, slot(d - 1) + 8);
        self.guard_two_ints(d - 2, d - 1);
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
        emit!(self ; store: ; mov [r_base + a], rax ; jmp >done ; slow:);
        self.call_checked(helpers::binary_helper(&op), d, 0, 0);
        emit!(self ; done:);
    }

    /// `x + v`, `x - v`, `x % v` with `v` an immediate. The int paths are
    /// inline; `% v` only when `v` is a positive constant, where `idiv`
    /// can neither trap nor overflow. The helper does the rest.
    fn emit_int_immediate(&mut self, op: Op, d: u32, v: i32) {
        let s = slot(d - 1);
        emit!(self
            ; cmp QWORD [r_base + s], TAG_INT as i32
            ; jne >slow
        );
        let kind = match op {
            Op::AddInt { .. } => {
                emit!(self ; add QWORD [r_base + s + 8], v ; jmp >done);
                helpers::IMM_ADD
            }
            Op::SubInt { .. } => {
                emit!(self ; sub QWORD [r_base + s + 8], v ; jmp >done);
                helpers::IMM_SUB
            }
            _ => {
                if v > 0 {
                    emit!(self
                        ; mov rax, [r_base + s + 8]
                        ; mov ecx, v
                        ; cqo
                        ; idiv rcx
                        ; mov [r_base + s + 8], rdx
                        ; jmp >done
                    );
                }
                helpers::IMM_MOD
            }
        };
        emit!(self ; slow:);
        self.call_checked(helpers::jit_int_immediate, d, kind, v as i64 as u64);
        emit!(self ; done:);
    }

    fn emit_neg(&mut self, d: u32) {
        let s = slot(d - 1);
        emit!(self
            ; cmp QWORD [r_base + s], TAG_INT as i32
            ; jne >slow
            ; neg QWORD [r_base + s + 8]
            ; jmp >done
            ; slow:
        );
        self.call_checked(helpers::jit_neg, d, 0, 0);
        emit!(self ; done:);
    }

    fn emit_bit_not(&mut self, d: u32) {
        let s = slot(d - 1);
        emit!(self
            ; cmp QWORD [r_base + s], TAG_INT as i32
            ; jne >slow
            ; not QWORD [r_base + s + 8]
            ; jmp >done
            ; slow:
        );
        self.call_checked(helpers::jit_bit_not, d, 0, 0);
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

    /// A comparison. Followed by `JumpIfFalse` (and nothing jumps between
    /// them), the pair becomes one `cmp; jcc` on the int path: the bool is
    /// never stored.
    fn emit_compare(&mut self, op: Op, d: u32) -> usize {
        let fused = match self.func.proto.code.get(self.pc + 1) {
            Some(&Op::JumpIfFalse { target }) if self.can_fuse_next() => Some(target),
            _ => None,
        };
        let (a, b) = (slot(d - 2) + 8, slot(d - 1) + 8);
        self.guard_two_ints(d - 2, d - 1);
        emit!(self ; mov rax, [r_base + a] ; cmp rax, [r_base + b]);
        match fused {
            Some(target) => {
                let t = self.labels[target as usize];
                self.jump_unless(op, t);
                emit!(self ; jmp >done ; slow:);
                self.call_checked(helpers::binary_helper(&op), d, 0, 0);
                self.branch_if_falsy(d - 2, t);
                emit!(self ; done:);
                2
            }
            None => {
                self.set_flag(op);
                emit!(self
                    ; movzx eax, al
                    ; mov QWORD [r_base + a - 8], TAG_BOOL as i32
                    ; mov [r_base + a], rax
                    ; jmp >done
                    ; slow:
                );
                self.call_checked(helpers::binary_helper(&op), d, 0, 0);
                emit!(self ; done:);
                1
            }
        }
    }

    /// `JumpIfNot<op>`: the compiler's own fused compare-and-branch (see
    /// `Op::JumpIfNotLt`). Int operands: one `cmp; jcc`. Otherwise the
    /// comparison helper stores the bool in `base[d-2]` and we test it.
    fn emit_compare_jump(&mut self, op: Op, d: u32, target: u32) {
        let (a, b) = (slot(d - 2) + 8, slot(d - 1) + 8);
        let t = self.labels[target as usize];
        self.guard_two_ints(d - 2, d - 1);
        emit!(self ; mov rax, [r_base + a] ; cmp rax, [r_base + b]);
        self.jump_unless(op, t);
        emit!(self ; jmp >done ; slow:);
        self.call_checked(helpers::binary_helper(&op), d, 0, 0);
        self.branch_if_falsy(d - 2, t);
        emit!(self ; done:);
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

    /// Polls the interrupt flag (a byte that is nonzero when set) and raises
    /// `interrupted` if it is set.
    fn poll_interrupt(&mut self, d: u32) {
        let flag = self.env.interrupt as i64;
        emit!(self
            ; mov rax, QWORD flag
            ; cmp BYTE [rax], 0
            ; je >go_on
        );
        self.call_helper(helpers::jit_interrupted, d, 0, 0);
        let err = self.error_exit;
        emit!(self ; jmp =>err ; go_on:);
    }

    fn emit_loop(&mut self, d: u32, target: u32) {
        self.poll_interrupt(d);
        self.emit_jump(target);
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
            ; mov QWORD [r_base + var], TAG_INT as i32
            ; mov [r_base + var + 8], rax
        );
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
            ; movups xmm0, [rdx + rcx]
            ; movups [r_base + dst], xmm0
            ; add QWORD [r_base + idx], 1
        );
    }

    // ---- calls -----------------------------------------------------------------

    /// `jit_call` pushes the frame record and runs builtins and interpreted
    /// callees itself; for a compiled callee it returns the machine code's
    /// address and we call it directly: `(vm, callee slot, pc 0)`.
    fn emit_call_op(&mut self, d: u32, argc: u32) {
        let callee = slot(d - argc - 1);
        let err = self.error_exit;
        self.call_helper(helpers::jit_call, d, argc as u64, 0);
        emit!(self
            ; cmp rax, 1
            ; je =>err
            ; jb >done
            ; mov rdi, r_vm
            ; lea rsi, [r_base + callee]
            ; xor edx, edx
            ; call rax
            ; test rax, rax
            ; jnz =>err
            ; done:
        );
    }

    fn emit_return(&mut self, d: u32) {
        self.copy_slot(d - 1, 0);
        self.call_helper(helpers::jit_return, d, 0, 0);
        emit!(self ; xor eax, eax);
        emit_epilogue(&mut self.ops);
    }

    // ---- arrays ----------------------------------------------------------------

    /// Jumps to `slow` unless slot `a` is an array and slot `i` an int
    /// index inside it; leaves `rcx` = the element's address.
    fn array_element(&mut self, a: u32, i: u32) {
        let (oa, oi) = (slot(a), slot(i));
        emit!(self
            ; cmp QWORD [r_base + oa], TAG_ARRAY as i32
            ; jne >slow
            ; cmp QWORD [r_base + oi], TAG_INT as i32
            ; jne >slow
            ; mov rax, [r_base + oa + 8]
            ; mov rcx, [r_base + oi + 8]
            // Unsigned compare: a negative index is a huge number.
            ; cmp rcx, [rax + ARRAY_LEN_OFFSET as i32]
            ; jae >slow
            ; shl rcx, 4
            ; add rcx, [rax + ARRAY_ITEMS_PTR_OFFSET as i32]
        );
    }

    fn emit_get_index(&mut self, d: u32) {
        let dst = slot(d - 2);
        self.array_element(d - 2, d - 1);
        emit!(self
            ; movups xmm0, [rcx]
            ; movups [r_base + dst], xmm0
            ; jmp >done
            ; slow:
        );
        self.call_checked(helpers::jit_get_index, d, 0, 0);
        emit!(self ; done:);
    }

    fn emit_set_index(&mut self, d: u32) {
        let v = slot(d - 1);
        self.array_element(d - 3, d - 2);
        emit!(self
            ; movups xmm0, [r_base + v]
            ; movups [rcx], xmm0
            ; jmp >done
            ; slow:
        );
        self.call_checked(helpers::jit_set_index, d, 0, 0);
        emit!(self ; done:);
    }
}
