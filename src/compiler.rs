//! The compiler: resolves names and turns the AST into bytecode.

use std::rc::Rc;

use crate::ast::Program;
use crate::bytecode::{FunctionProto, GlobalNames};
use crate::diag::CompileError;

/// Options that change how the top-level code is compiled.
#[derive(Clone, Copy, Debug, Default)]
pub struct CompileOptions {
    /// REPL input: if the last top-level statement is an expression
    /// statement, the script returns its value (so the REPL can echo it)
    /// instead of discarding it.
    pub repl: bool,
}

/// Compiles a program into its top-level function. `globals` holds the global
/// names known so far (empty for a file, the session's names in the REPL) and
/// gains the ones this program declares.
pub fn compile(
    _program: &Program,
    _globals: &mut GlobalNames,
    _opts: CompileOptions,
) -> Result<Rc<FunctionProto>, Vec<CompileError>> {
    Err(Vec::new())
}
