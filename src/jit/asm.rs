//! Assembling x86-64 with dynasm-rs: the JIT's register map, its `dynasm!`
//! wrapper `jit_asm!`, the standard prologue/epilogue and helper calls.
//!
//! # Register map
//!
//! Compiled functions follow the System V AMD64 ABI (`extern "sysv64"`):
//! they are called like Rust functions and call Rust helpers the same way. VM
//! state that must survive helper calls lives in callee-saved registers (a
//! helper saves and restores them if it uses them); everything else is
//! scratch.
//!
//! | register | alias      | role                                                        | survives a call |
//! |----------|------------|-------------------------------------------------------------|-----------------|
//! | `r12`    | `r_vm`     | pointer to the VM context (heap, globals, value stack)      | yes             |
//! | `r13`    | `r_base`   | frame base: address of slot 0 of this frame in the value stack | yes          |
//! | `r14`    | `r_consts` | the VM's globals array (constants are immediates)           | yes             |
//! | `r15`    | `r_aux`    | the JIT context (`tier::JitCtx`: globals, stack limits, frame limit) | yes    |
//! | `rbx`    | `r_keep`   | the frame stack's top (`frames.top`) while compiled code runs | yes             |
//! | `rbp`    | —          | native frame pointer: the external entry's, or with `--frame-pointers` each compiled frame's, so `perf` can walk the stack | yes |
//! | `rsp`    | —          | native stack pointer, 16-byte aligned at every `call`       | —               |
//! | `rdi rsi rdx rcx r8 r9` | `r_arg0`…`r_arg5` | helper arguments 1–6, scratch otherwise | no             |
//! | `rax`    | `r_ret`    | return value; holds the helper address for `call rax`       | no              |
//! | `r10 r11`| `r_tmp0 r_tmp1` | scratch                                                | no              |
//!
//! Hardware constraints worth knowing when writing templates: variable shifts
//! take their count in `cl` (so `rcx`), `idiv` divides `rdx:rax` and clobbers
//! both. A value in a caller-saved register is lost at a helper call: store
//! it to the VM frame (or `r_keep`) first.
//!
//! # The native frame
//!
//! [`emit_prologue`] builds this frame (addresses grow upwards):
//!
//! ```text
//!   caller's frame
//!   return address          <- rsp at entry (rsp % 16 == 8)
//!   saved rbp               <- rbp
//!   saved rbx, r12, r13, r14, r15
//!   spill slot 0 .. n-1     (rbp-relative, see spill_slot)
//!   padding to 16 bytes     <- rsp (rsp % 16 == 0)
//! ```
//!
//! Between prologue and epilogue `rsp` stays 16-byte aligned, so a template
//! may `call` a helper directly (see [`emit_call`]); a template that pushes
//! must push an even number of 8-byte values before calling.
//!
//! # Position independence
//!
//! [`Ops`] assembles into a `Vec<u8>` at base address 0 and the code cache
//! copies the bytes elsewhere, so code must not depend on its own address:
//! use labels for jumps, `lea reg, [=>label]` for label addresses, and
//! [`emit_call`] for helpers. Never use `call extern ...`/`jmp extern ...` or
//! `mov reg, QWORD =>label`. See [`super::code_cache`] for the reasoning.

use dynasmrt::x64::X64Relocation;
use dynasmrt::{DynasmApi, DynasmError, VecAssembler};

/// The assembler the JIT emits into: a growable `Vec<u8>` that is copied
/// into the code cache when the function is complete.
pub type Ops = VecAssembler<X64Relocation>;

/// A fresh assembler. Base address 0: the code is position-independent.
pub fn new_ops() -> Ops {
    VecAssembler::new(0)
}

/// Resolves all labels and returns the machine code bytes.
pub fn finish(ops: Ops) -> Result<Vec<u8>, DynasmError> {
    ops.finalize()
}

/// The JIT's `dynasm!`: x86-64 with the register map's aliases.
///
/// ```ignore
/// jit_asm!(ops
///     ; mov rax, QWORD [r_base + 8]
///     ; add rax, r_arg0
/// );
/// ```
///
/// The caller needs `dynasmrt::DynasmApi` (and `DynasmLabelApi` for labels)
/// in scope; [`prelude`] re-exports both.
macro_rules! jit_asm {
    ($ops:ident $($t:tt)*) => {
        dynasm::dynasm!($ops
            ; .arch x64
            ; .alias r_vm, r12
            ; .alias r_base, r13
            ; .alias r_consts, r14
            ; .alias r_aux, r15
            ; .alias r_keep, rbx
            ; .alias r_ret, rax
            ; .alias r_arg0, rdi
            ; .alias r_arg1, rsi
            ; .alias r_arg2, rdx
            ; .alias r_arg3, rcx
            ; .alias r_arg4, r8
            ; .alias r_arg5, r9
            ; .alias r_tmp0, r10
            ; .alias r_tmp1, r11
            $($t)*
        )
    };
}
// Makes the macro importable by path (`use crate::jit::asm::jit_asm;`). The
// allow: until the template compiler exists, only tests import it.
#[allow(unused_imports)]
pub(crate) use jit_asm;

/// What a module that emits code needs in scope, besides the macro itself
/// (`use crate::jit::asm::jit_asm;`).
pub mod prelude {
    pub use super::{Ops, emit_call, emit_epilogue, emit_prologue, finish, new_ops, spill_slot};
    pub use dynasmrt::{DynamicLabel, DynasmApi, DynasmLabelApi};
}

/// Bytes pushed by the prologue below the return address: rbp, rbx, r12–r15.
const SAVED_BYTES: i32 = 6 * 8;

/// Emits the standard prologue: saves rbp and the callee-saved registers
/// that hold VM state, sets up rbp as frame pointer, reserves `spill_slots`
/// 8-byte slots and leaves rsp 16-byte aligned.
pub fn emit_prologue(ops: &mut Ops, spill_slots: u32) {
    jit_asm!(ops
        ; push rbp
        ; mov rbp, rsp
        ; push rbx
        ; push r12
        ; push r13
        ; push r14
        ; push r15
        ; sub rsp, frame_adjust(spill_slots)
    );
}

/// Emits the standard epilogue matching [`emit_prologue`]: restores the
/// callee-saved registers and returns (the return value is in rax).
pub fn emit_epilogue(ops: &mut Ops) {
    jit_asm!(ops
        ; lea rsp, [rbp - (SAVED_BYTES - 8)]
        ; pop r15
        ; pop r14
        ; pop r13
        ; pop r12
        ; pop rbx
        ; pop rbp
        ; ret
    );
}

/// How far the prologue moves rsp after the pushes. At entry rsp % 16 == 8
/// (the call pushed the return address); six pushes leave it at 8 again, so
/// the adjustment is an odd multiple of 8 big enough for the spill slots.
fn frame_adjust(spill_slots: u32) -> i32 {
    let bytes = (spill_slots * 8).next_multiple_of(16) + 8;
    i32::try_from(bytes).expect("native frame fits i32")
}

/// rbp-relative offset of spill slot `i` (use as `[rbp + spill_slot(i)]`).
pub fn spill_slot(i: u32) -> i32 {
    let i = i32::try_from(i).expect("spill slot index fits i32");
    -(SAVED_BYTES - 8) - 8 * (i + 1)
}

/// Emits a call to an `extern "sysv64"` Rust helper at absolute address
/// `addr`: `mov rax, QWORD addr; call rax`.
///
/// A `call rel32` can only reach ±2 GiB, and the code cache may be mapped
/// farther than that from the binary, so the address is loaded as a 64-bit
/// immediate. Arguments go in `r_arg0`…`r_arg5` beforehand; the result comes
/// back in `r_ret` (rax). Clobbers every caller-saved register. rsp must be
/// 16-byte aligned, as it is between prologue and epilogue.
///
/// Get `addr` from a helper with `helper as *const () as usize`, where
/// `helper` is an `extern "sysv64" fn`.
pub fn emit_call(ops: &mut Ops, addr: usize) {
    jit_asm!(ops
        ; mov r_ret, QWORD addr as i64
        ; call r_ret
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jit::code_cache::CodeCache;
    use dynasmrt::DynasmLabelApi;

    /// `fn(a, b) -> a + b`, the smallest useful function.
    fn add_two() -> Vec<u8> {
        let mut ops = new_ops();
        jit_asm!(ops
            ; mov r_ret, r_arg0
            ; add r_ret, r_arg1
            ; ret
        );
        finish(ops).unwrap()
    }

    #[test]
    fn add_two_i64() {
        let mut cache = CodeCache::for_tests(1 << 20);
        let code = cache.install(&add_two()).unwrap();
        // SAFETY: the code is `fn(i64, i64) -> i64` in the sysv64 ABI and
        // the cache outlives the calls.
        let f: extern "sysv64" fn(i64, i64) -> i64 = unsafe { code.as_fn() };
        assert_eq!(f(40, 2), 42);
        assert_eq!(f(i64::MAX, 1), i64::MIN);
    }

    /// Returns `rsp % 16` as it was at the `call` into this function: 0 for
    /// a correctly aligned call.
    ///
    /// The compiler assumes the ABI holds (rsp % 16 == 8 at entry, after the
    /// return address was pushed) and places a 16-aligned local at a fixed
    /// offset from rsp without realigning. So if the caller misaligned rsp,
    /// the local's address is misaligned by the same amount. The local is a
    /// single byte padded to 16, so storing it never needs an aligned
    /// instruction. The address goes through `black_box` as a plain integer:
    /// the optimizer knows the local is aligned and would otherwise fold the
    /// `% 16` to 0.
    #[inline(never)]
    fn call_misalignment() -> usize {
        #[repr(C, align(16))]
        struct Probe(u8);
        let probe = Probe(1);
        let addr = std::hint::black_box(&probe as *const Probe as usize);
        std::hint::black_box(&probe);
        addr % 16
    }

    /// A six-argument helper: checks that every argument register arrives
    /// and that the stack was aligned. Returns -1 on misalignment.
    extern "sysv64" fn six_args(a: i64, b: i64, c: i64, d: i64, e: i64, f: i64) -> i64 {
        if call_misalignment() != 0 {
            return -1;
        }
        a + 10 * b + 100 * c + 1000 * d + 10_000 * e + 100_000 * f
    }

    /// `fn(a..f) -> six_args(a..f) + a`, keeping `a` in a callee-saved
    /// register across the call. With `misalign`, rsp is moved by 8 before
    /// the call: the negative control for the alignment check.
    fn call_six(misalign: bool) -> Vec<u8> {
        let mut ops = new_ops();
        emit_prologue(&mut ops, 1);
        jit_asm!(ops ; mov r_keep, r_arg0);
        if misalign {
            jit_asm!(ops ; sub rsp, 8);
        }
        emit_call(&mut ops, six_args as *const () as usize);
        jit_asm!(ops ; add r_ret, r_keep);
        emit_epilogue(&mut ops);
        finish(ops).unwrap()
    }

    type Six = extern "sysv64" fn(i64, i64, i64, i64, i64, i64) -> i64;

    #[test]
    fn calls_a_rust_helper_with_six_args_on_an_aligned_stack() {
        let mut cache = CodeCache::for_tests(1 << 20);
        let code = cache.install(&call_six(false)).unwrap();
        // SAFETY: the code is a sysv64 `fn(i64 x6) -> i64`; cache outlives call.
        let f: Six = unsafe { code.as_fn() };
        assert_eq!(f(1, 2, 3, 4, 5, 6), 654_321 + 1);
    }

    #[test]
    fn misaligned_call_is_detected() {
        let mut cache = CodeCache::for_tests(1 << 20);
        let code = cache.install(&call_six(true)).unwrap();
        // SAFETY: as above; the helper only reads the address of a local, so
        // a misaligned stack does not fault, and the epilogue restores rsp
        // from rbp.
        let f: Six = unsafe { code.as_fn() };
        assert_eq!(f(1, 2, 3, 4, 5, 6), -1 + 1);
    }

    #[test]
    fn spill_slots_are_below_the_saved_registers() {
        assert_eq!(spill_slot(0), -48);
        assert_eq!(spill_slot(1), -56);
        assert_eq!(frame_adjust(0), 8);
        assert_eq!(frame_adjust(1), 24);
        assert_eq!(frame_adjust(2), 24);
        assert_eq!(frame_adjust(3), 40);
    }

    /// Everything the templates may use, assembled at two base addresses
    /// far apart: the bytes must be identical.
    #[test]
    fn templates_are_position_independent() {
        let emit = |base: usize| {
            let mut ops: Ops = VecAssembler::new(base);
            let target = ops.new_dynamic_label();
            emit_prologue(&mut ops, 2);
            jit_asm!(ops
                ; mov rax, QWORD [r_base + 16]
                ; cmp rax, 0
                ; je =>target
                ; lea rcx, [=>target]
                ; jmp >skip
                ; skip:
                ; =>target
            );
            emit_call(&mut ops, six_args as *const () as usize);
            emit_epilogue(&mut ops);
            ops.finalize().unwrap()
        };
        assert_eq!(emit(0), emit(0x7f00_1234_5000));
    }
}
