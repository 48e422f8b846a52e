//! The compiler: resolves names and turns the AST into stack bytecode.
//!
//! One pass over the tree, no IR. Each statement or expression kind has one
//! small function that emits its instructions (`stmt.rs`, `expr.rs`); name
//! resolution and the per-function bookkeeping live in `scope.rs`.
//!
//! Things worth knowing before reading the code:
//! - **Frame layout.** Slot 0 of a frame is the callee, slots `1..=arity` the
//!   parameters, then locals, then temporaries. A local *is* the stack slot its
//!   initialiser left behind, so at every statement boundary the simulated
//!   stack height equals the number of locals.
//! - **Globals.** `let` and `fn` directly at file scope declare globals. The
//!   whole program is pre-scanned for them first, so a function may refer to
//!   a global declared further down the file (mutual recursion).
//! - **Stack height.** [`Compiler::emit`] tracks the stack height each
//!   instruction leaves behind, which gives every function its exact
//!   `max_slots` for the VM's one overflow check per call.
//! - **Errors** are collected, never fatal: compilation carries on so that
//!   every error of the file is reported.

mod expr;
mod fuse;
mod scope;
mod stmt;
#[cfg(test)]
mod tests;

use std::rc::Rc;

use crate::ast::{Program, Span, StmtKind};
use crate::bytecode::{FunctionProto, GlobalNames, Op, builtin_index, superinstruction};
use crate::diag::CompileError;

pub use fuse::fuse;
use scope::FnState;

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
/// gains the ones this program declares. On error `globals` is left as it was
/// and every compile error is returned, in source order.
pub fn compile(
    program: &Program,
    globals: &mut GlobalNames,
    opts: CompileOptions,
) -> Result<Rc<FunctionProto>, Vec<CompileError>> {
    let known_before = globals.names.len();
    let mut c = Compiler {
        fns: vec![FnState::new(Some("<script>".to_string()), 0, true)],
        globals,
        errors: Vec::new(),
        too_large: false,
    };
    c.declare_globals(program);
    c.compile_script(program, opts);
    if c.too_large {
        c.error(Span::new(1, 1), "program is too large");
    }
    let mut errors = c.errors;
    if errors.is_empty() {
        let script = c.fns.pop().expect("the script's state").finish();
        return Ok(Rc::new(script));
    }
    globals.names.truncate(known_before);
    errors.sort_by_key(|e| (e.line, e.col));
    Err(errors)
}

/// The compiler's state while it walks one program.
struct Compiler<'g> {
    /// One entry per function being compiled: the script first, the
    /// innermost function last.
    fns: Vec<FnState>,
    globals: &'g mut GlobalNames,
    errors: Vec<CompileError>,
    /// Set when an index no longer fits an operand (needs a > 4 GiB program).
    too_large: bool,
}

impl Compiler<'_> {
    /// Interns every global the program declares, so that code anywhere in
    /// the file can refer to globals declared later.
    fn declare_globals(&mut self, program: &Program) {
        for stmt in &program.stmts {
            let name = match &stmt.kind {
                StmtKind::Let { name, .. } | StmtKind::Fn { name, .. } => name,
                _ => continue,
            };
            // A builtin's name is reported where it is declared.
            if builtin_index(&name.name).is_none() {
                self.globals.intern(&name.name);
            }
        }
    }

    /// The top level: every statement, then the script's return value.
    fn compile_script(&mut self, program: &Program, opts: CompileOptions) {
        let stmts = &program.stmts;
        // The REPL echoes the value of a trailing expression statement.
        if opts.repl
            && let Some((last, init)) = stmts.split_last()
            && let StmtKind::Expr(e) = &last.kind
        {
            self.stmts(init);
            self.expr(e);
            self.emit(Op::Return, last.span.line);
            return;
        }
        self.stmts(stmts);
        let line = stmts.last().map_or(1, |s| s.span.line);
        self.emit_return_nil(line);
    }

    fn error(&mut self, span: Span, message: impl Into<String>) {
        self.errors.push(CompileError::new(span, message));
    }

    /// The function being compiled.
    fn fs(&mut self) -> &mut FnState {
        self.fns.last_mut().expect("at least the script")
    }

    /// Converts a count or index to an operand, flagging overflow instead of
    /// truncating.
    fn operand(&mut self, n: usize) -> u32 {
        u32::try_from(n).unwrap_or_else(|_| {
            self.too_large = true;
            u32::MAX
        })
    }

    /// Appends an instruction with its source line and updates the simulated
    /// stack height. Returns the instruction's index (for jump patching).
    fn emit(&mut self, op: Op, line: u32) -> usize {
        let fs = self.fs();
        fs.code.push(op);
        fs.lines.push(line);
        let at = fs.code.len() - 1;
        let height = i64::from(fs.height) + stack_effect(op);
        // A negative height would be a compiler bug, not a user error.
        debug_assert!(height >= 0, "stack underflow emitting {op:?}");
        let height = usize::try_from(height).unwrap_or(0);
        let height = self.operand(height);
        let fs = self.fs();
        fs.height = height;
        fs.max_slots = fs.max_slots.max(height);
        self.operand(at);
        at
    }

    /// `Nil; Return`: how a function without a `return` ends.
    fn emit_return_nil(&mut self, line: u32) {
        self.emit(Op::Nil, line);
        self.emit(Op::Return, line);
    }

    /// The index the next instruction will get.
    fn here(&mut self) -> u32 {
        let n = self.fs().code.len();
        self.operand(n)
    }

    /// Points the jump at `at` to `target`.
    fn patch_jump(&mut self, at: usize, target: u32) {
        match &mut self.fs().code[at] {
            Op::Jump { target: t }
            | Op::JumpIfFalse { target: t }
            | Op::JumpIfNotLt { target: t }
            | Op::JumpIfNotLe { target: t }
            | Op::JumpIfNotGt { target: t }
            | Op::JumpIfNotGe { target: t }
            | Op::JumpIfNotEq { target: t }
            | Op::JumpIfNotNe { target: t }
            | Op::JumpIfFalseOrPop { target: t }
            | Op::JumpIfTrueOrPop { target: t }
            | Op::Loop { target: t }
            | Op::ForRangeNext { target: t, .. } => *t = target,
            Op::ForRangePrep { exit, .. } | Op::ForInNext { exit, .. } => *exit = target,
            op => unreachable!("patching a non-jump {op:?}"),
        }
    }

    /// Points the jump at `at` to the next instruction.
    fn patch_to_here(&mut self, at: usize) {
        let here = self.here();
        self.patch_jump(at, here);
    }
}

/// How many values an instruction pushes minus how many it pops, on the path
/// that falls through to the next instruction.
fn stack_effect(op: Op) -> i64 {
    use Op::*;
    match op {
        Nil | True | False | Int { .. } | Const { .. } => 1,
        Dup | GetLocal { .. } | GetUpval { .. } | GetGlobal { .. } | GetBuiltin { .. } => 1,
        Closure { .. } | ForInNext { .. } => 1,
        Dup2 | GetLocal2 { .. } => 2,
        Pop | SetLocal { .. } | SetUpval { .. } | SetGlobal { .. } | DefineGlobal { .. } => -1,
        // `and`/`or` keep their operand only when they jump.
        JumpIfFalse { .. } | JumpIfFalseOrPop { .. } | JumpIfTrueOrPop { .. } => -1,
        Return | GetIndex => -1,
        PopN { n } => -i64::from(n),
        CloseUpvals { .. } | Jump { .. } | Loop { .. } => 0,
        ForRangePrep { .. } | ForRangeNext { .. } | ForInPrep { .. } => 0,
        Neg | BitNot | Not | GetField { .. } => 0,
        AddInt { .. } | SubInt { .. } | ModInt { .. } => 0,
        Add | Sub | Mul | Div | Mod | BitAnd | BitOr | BitXor | Shl | Shr => -1,
        Eq | Ne | Lt | Le | Gt | Ge => -1,
        // Fused compare-and-branch: pops both operands on either path.
        JumpIfNotLt { .. } | JumpIfNotLe { .. } | JumpIfNotGt { .. } => -2,
        JumpIfNotGe { .. } | JumpIfNotEq { .. } | JumpIfNotNe { .. } => -2,
        // The callee and its arguments become the one result.
        Call { argc } => -i64::from(argc),
        NewArray { n } => 1 - i64::from(n),
        NewMap { n } => 1 - 2 * i64::from(n),
        SetField { .. } => -2,
        SetIndex => -3,
        // Never emitted (only the interpreter's copy of the code has them),
        // but their effect is well defined: their sequence's.
        superinstruction!() => op.expand().into_iter().flatten().map(stack_effect).sum(),
    }
}
