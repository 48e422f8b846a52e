//! placeholder
pub mod asm;
pub mod code_cache;
pub mod disasm;
pub mod perf_map;
