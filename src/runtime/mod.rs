//! The runtime: values, the heap and its garbage collector, the interpreter
//! and the builtins.
//!
//! - [`value`]: the 16-byte tagged [`Value`] shared with the JIT.
//! - [`heap`]: GC objects (strings, arrays, maps, closures, upvalues) and the
//!   mark-sweep collector; per-function runtime data ([`heap::FuncObj`]).
//! - [`map`]: the insertion-ordered hash map behind Toy maps.
//! - [`ops`]: operator semantics, the one definition all tiers call.
//! - [`format`]: printed forms (`print`, `str`, the REPL).
//! - [`builtins`]: the builtin functions.
//! - [`stdin`]: `read_line`'s input, interruptible by Ctrl-C and `--timeout`.
//! - [`vm`]: the VM stack, call frames and the dispatch loop.
//! - [`frames`]: the fixed stack of frame records (compiled code pushes them too).
//!
//! The driver uses [`Vm::new`], [`Vm::run`], [`Vm::flush`], [`Vm::display`]
//! and [`Vm::repr`].

use std::sync::Arc;

pub mod builtins;
pub mod format;
pub mod frames;
pub mod heap;
pub mod interrupt;
pub mod map;
pub mod ops;
pub mod stdin;
pub mod value;
pub mod vm;

#[cfg(test)]
mod tests;

pub use value::Value;
pub use vm::Vm;

/// How a [`Vm`] runs.
#[derive(Clone, Debug, Default)]
pub struct VmOptions {
    /// Collect garbage at every allocation (finds missing GC roots).
    pub gc_stress: bool,
    /// Calls plus loop iterations before a function is compiled; `None`
    /// disables the JIT.
    pub jit_threshold: Option<u32>,
    /// Bytes of machine code the JIT may install (`None`: the default,
    /// [`crate::jit::DEFAULT_CODE_LIMIT`]).
    pub jit_code_limit: Option<usize>,
    /// Print JIT statistics to stderr when the VM is dropped.
    pub jit_stats: bool,
    /// Raised by a Ctrl-C handler, the timeout timer or the heap limit; the
    /// VM stops at its next poll (see [`interrupt`]).
    pub interrupt: Arc<interrupt::Interrupt>,
}
