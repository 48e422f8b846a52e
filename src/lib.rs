//! toyc: the Toy language with a tiered VM.
//!
//! The pipeline is `source → lexer → parser → AST → compiler → bytecode →
//! interpreter ⇄ JIT`; each stage is one module and data flows one way. See
//! `docs/architecture.md` for the map.

pub mod ast;
pub mod bytecode;
pub mod compiler;
pub mod diag;
pub mod disasm;
pub mod driver;
pub mod jit;
pub mod lexer;
pub mod parser;
pub mod repl;
pub mod runtime;
