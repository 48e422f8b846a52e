//! Machine-code infrastructure for the baseline JIT: where code lives, how it
//! is assembled, how it calls Rust, and how to look at it.
//!
//! `docs/jit.md` tells the same story at more length, for readers new to JITs.
//!
//! # From bytes to a callable function
//!
//! A JIT produces machine code at run time and then jumps to it. With the
//! operating system's memory protection in the way, that takes four steps:
//!
//! 1. **Assemble** into an ordinary `Vec<u8>` with dynasm-rs:
//!    [`asm::new_ops`], the `asm::jit_asm!` macro, [`asm::finish`]. The code
//!    is position-independent, so the bytes do not care where they end up.
//! 2. **Map memory read-write** (`mmap`, through memmap2) and copy the bytes
//!    in: [`code_cache::CodeCache::install`].
//! 3. **Flip the pages to read-execute** (`mprotect`): same function. From
//!    now on the code can run but no longer be written.
//! 4. **Call it** by turning its address into a function pointer of the
//!    right type: [`code_cache::CodePtr::as_fn`], e.g. to an
//!    `extern "sysv64" fn(i64, i64) -> i64`. This is `unsafe`: nothing checks
//!    that the bytes really are such a function.
//!
//! # W^X: write xor execute
//!
//! Memory that is writable and executable at once lets any memory-corruption
//! bug become arbitrary code execution, and some systems forbid it (or forbid
//! executable anonymous memory outright). The code cache never has a page in
//! both states: code is written while `RW-`, run while `R-X`, and a later
//! patch ([`code_cache::CodeCache::patch`]) flips `R-X → RW- → R-X`. If the
//! system refuses `R-X`, installs return
//! [`code_cache::CacheError::ExecDenied`] and the VM keeps interpreting.
//!
//! # The calling convention
//!
//! Compiled functions are System V AMD64 functions (`extern "sysv64"`), the
//! convention of Rust and C on Linux: arguments in rdi, rsi, rdx, rcx, r8, r9,
//! result in rax, rbx/rbp/r12–r15 preserved by the callee, rsp 16-byte
//! aligned at every `call`. VM state lives in the callee-saved registers so it
//! survives calls into Rust; [`asm`] documents the register map and provides
//! [`asm::emit_prologue`] / [`asm::emit_epilogue`].
//!
//! # Calling Rust helpers
//!
//! Everything a template does not inline (slow paths, allocation, errors) is
//! an `extern "sysv64" fn` in Rust, called with [`asm::emit_call`]:
//! `mov rax, <absolute address>; call rax`. A direct `call rel32` would only
//! reach ±2 GiB, and the code cache may be farther from the binary.
//!
//! # The tier (template compiler, tier-up, OSR)
//!
//! [`analysis`] finds jump targets, loop headers and static stack depths;
//! [`compiler`] emits one template per opcode; [`helpers`] are the Rust
//! functions templates call; `tier` holds the [`Jit`] state and the VM
//! hooks (tier-up at calls and back-edges, the one entry path into compiled
//! code, statistics).
//!
//! # Looking at the code
//!
//! [`disasm::disassemble`] prints Intel syntax with helper names and
//! bytecode annotations; [`perf_map::PerfMap`] tells `perf` the name of each
//! compiled function; [`tools`] puts them (and tier-up tracing) behind the
//! command line's `--dump-asm`, `--perf-map` and `--trace-jit`.

pub mod analysis;
pub mod asm;
pub mod code_cache;
pub mod compiler;
pub mod crash;
pub mod disasm;
pub mod divide;
pub mod helpers;
pub mod perf_map;
mod tier;
pub mod tools;

#[cfg(test)]
mod tests;

pub use tier::{DEFAULT_CODE_LIMIT, DEFAULT_THRESHOLD, Entry, Jit, JitCtx, NATIVE_STACK_BUDGET};
