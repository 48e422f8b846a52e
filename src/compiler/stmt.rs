//! Statements: declarations, assignments, control flow and loops.
//!
//! Loops share one scheme for `break` and `continue`: each emits a `Jump`
//! that is wired up when the loop ends. Only then is it known whether a
//! closure captured one of the loop's per-iteration locals, so a jump that
//! leaves locals behind goes through a small stub placed after the loop:
//! `[CloseUpvals] PopN Jump target`.

use crate::ast::{
    AssignOp, BinOp, Block, Expr, ExprKind, FnDecl, Ident, LogicOp, Span, Stmt, StmtKind,
};
use crate::bytecode::Op;

use super::Compiler;
use super::scope::{LoopCtx, PendingExit, Resolved};

impl Compiler<'_> {
    pub(super) fn stmt(&mut self, stmt: &Stmt) {
        let span = stmt.span;
        match &stmt.kind {
            StmtKind::Let { name, init } => self.let_stmt(name, init.as_ref(), span),
            StmtKind::Assign {
                target,
                op,
                op_span,
                value,
            } => self.assign(target, *op, *op_span, value),
            StmtKind::Expr(e) => {
                self.expr(e);
                self.emit(Op::Pop, span.line);
            }
            StmtKind::If {
                cond,
                then_block,
                else_branch,
            } => self.if_stmt(cond, then_block, else_branch.as_deref()),
            StmtKind::While { cond, body } => self.while_stmt(cond, body),
            StmtKind::ForRange {
                var,
                start,
                end,
                body,
            } => self.for_range(var, start, end, body, span),
            StmtKind::ForIn {
                var,
                iterable,
                body,
            } => self.for_in(var, iterable, body, span),
            StmtKind::Break => self.break_or_continue(true, span),
            StmtKind::Continue => self.break_or_continue(false, span),
            StmtKind::Return(value) => self.return_stmt(value.as_ref(), span),
            StmtKind::Fn { name, func } => self.fn_stmt(name, func),
            StmtKind::Block(block) => self.block(block),
        }
    }

    /// `{ stmts }` in a scope of its own.
    pub(super) fn block(&mut self, block: &Block) {
        self.begin_scope();
        self.stmts(&block.stmts);
        self.end_scope(block.span);
    }

    pub(super) fn stmts(&mut self, stmts: &[Stmt]) {
        for s in stmts {
            self.stmt(s);
        }
    }

    /// `let name = init;`: a global at file scope, else a new local. The
    /// initialiser is compiled before the name exists, so in `let x = x;`
    /// the right side is the outer `x`.
    fn let_stmt(&mut self, name: &Ident, init: Option<&Expr>, span: Span) {
        match init {
            Some(e) => self.expr(e),
            None => {
                self.emit(Op::Nil, span.line);
            }
        }
        self.bind(name, span);
    }

    /// Binds the value on top of the stack to a newly declared `name`.
    fn bind(&mut self, name: &Ident, span: Span) {
        if !self.fs().at_file_scope() {
            self.declare_local(name);
        } else if self.check_declarable(name) {
            let g = self.globals.intern(&name.name);
            self.emit(Op::DefineGlobal { g }, span.line);
        } else {
            // The error is reported; drop the value to keep the stack right.
            self.emit(Op::Pop, span.line);
        }
    }

    /// `fn name(..) { .. }`. A local function is declared before its body is
    /// compiled so that it can call itself (the closure captures its own
    /// slot). At file scope it is a global, which the pre-scan made visible.
    fn fn_stmt(&mut self, name: &Ident, func: &FnDecl) {
        if self.fs().at_file_scope() {
            self.function(func);
            self.bind(name, func.span);
            return;
        }
        let declared = self.check_declarable(name);
        // Reserve the slot the closure is about to fill.
        self.emit(Op::Nil, func.span.line);
        self.push_local(if declared { &name.name } else { "" });
        let slot = self.fs().locals.len() - 1;
        let slot = self.operand(slot);
        self.function(func);
        self.emit(Op::SetLocal { slot }, func.span.line);
    }

    /// `target op= value;`
    fn assign(&mut self, target: &Expr, op: AssignOp, op_span: Span, value: &Expr) {
        match &target.kind {
            ExprKind::Var(name) => self.assign_var(name, target, op, op_span, value),
            ExprKind::Index { obj, index } => {
                let line = target.span.line;
                self.expr2(obj, index);
                if let Some(bin) = compound_op(op) {
                    self.emit(Op::Dup2, line);
                    self.emit(Op::GetIndex, line);
                    self.apply_binary(bin, value, op_span.line);
                } else {
                    self.expr(value);
                }
                self.emit(Op::SetIndex, line);
            }
            ExprKind::Field { obj, name } => {
                let line = target.span.line;
                let k = self.str_constant(name);
                self.expr(obj);
                if let Some(bin) = compound_op(op) {
                    self.emit(Op::Dup, line);
                    self.emit(Op::GetField { k }, line);
                    self.apply_binary(bin, value, op_span.line);
                } else {
                    self.expr(value);
                }
                self.emit(Op::SetField { k }, line);
            }
            // The parser rejects other targets; stay safe anyway.
            _ => {
                self.error(op_span, "invalid assignment target");
                self.discard(value);
            }
        }
    }

    /// Compiles `value` only for the errors it may contain, after its
    /// assignment already failed.
    fn discard(&mut self, value: &Expr) {
        self.expr(value);
        self.emit(Op::Pop, value.span.line);
    }

    /// `name op= value;` where `target` is the `Var` expression of `name`.
    fn assign_var(&mut self, name: &str, target: &Expr, op: AssignOp, op_span: Span, value: &Expr) {
        let span = target.span;
        let set = match self.resolve(name) {
            Resolved::Local(slot) => Op::SetLocal { slot },
            Resolved::Upval(idx) => Op::SetUpval { idx },
            Resolved::Global(g) => Op::SetGlobal { g },
            Resolved::Builtin(_) => {
                self.error(span, format!("cannot assign to builtin '{name}'"));
                return self.discard(value);
            }
            Resolved::Undefined => {
                self.error(span, format!("undefined variable '{name}'"));
                return self.discard(value);
            }
        };
        if let Some(bin) = compound_op(op) {
            self.binary(bin, target, value, op_span.line);
        } else {
            self.expr(value);
        }
        self.emit(set, span.line);
    }

    /// Evaluates an `if`/`while` condition and emits the jumps taken when
    /// it is false (to be patched); it falls through when it is true. A
    /// comparison becomes one fused compare-and-branch (`JumpIfNotLt` ...)
    /// instead of `Lt; JumpIfFalse`, and `and` / `or` become jumps between
    /// their operands' tests, so `i < n and a[i] != x` is two
    /// compare-and-branches: no bool is made only to be tested again.
    /// (As an expression, `a and b` keeps `JumpIfFalseOrPop`: its value may
    /// be `a` itself.)
    fn cond_jumps(&mut self, cond: &Expr) -> Vec<usize> {
        let line = cond.span.line;
        match &cond.kind {
            ExprKind::Binary { op, lhs, rhs } if compare_jump(*op).is_some() => {
                self.expr2(lhs, rhs);
                let jump = compare_jump(*op).expect("a comparison");
                vec![self.emit(jump, line)]
            }
            ExprKind::Logical {
                op: LogicOp::And,
                lhs,
                rhs,
            } => {
                let mut to_false = self.cond_jumps(lhs);
                to_false.extend(self.cond_jumps(rhs));
                to_false
            }
            ExprKind::Logical {
                op: LogicOp::Or,
                lhs,
                rhs,
            } => {
                // `lhs` true: past `rhs`, to the body; false: test `rhs`.
                let lhs_false = self.cond_jumps(lhs);
                let to_true = self.emit(Op::Jump { target: 0 }, line);
                for j in lhs_false {
                    self.patch_to_here(j);
                }
                let to_false = self.cond_jumps(rhs);
                self.patch_to_here(to_true);
                to_false
            }
            _ => {
                self.expr(cond);
                vec![self.emit(Op::JumpIfFalse { target: 0 }, line)]
            }
        }
    }

    /// Patches every jump of `jumps` to the next instruction.
    fn patch_all_to_here(&mut self, jumps: Vec<usize>) {
        for j in jumps {
            self.patch_to_here(j);
        }
    }

    fn if_stmt(&mut self, cond: &Expr, then_block: &Block, else_branch: Option<&Stmt>) {
        let to_else = self.cond_jumps(cond);
        self.block(then_block);
        match else_branch {
            None => self.patch_all_to_here(to_else),
            Some(e) => {
                let to_end = self.emit(Op::Jump { target: 0 }, e.span.line);
                self.patch_all_to_here(to_else);
                self.stmt(e);
                self.patch_to_here(to_end);
            }
        }
    }

    /// `header: cond; JumpIfFalse exit; body; Loop header; exit:` (the
    /// condition's jumps, see [`Self::cond_jumps`])
    fn while_stmt(&mut self, cond: &Expr, body: &Block) {
        let header = self.here();
        let to_exit = self.cond_jumps(cond);
        self.begin_loop();
        self.block(body);
        let back = self.emit(Op::Loop { target: header }, body.span.line);
        self.end_loop(back, false, body.span);
        self.patch_all_to_here(to_exit);
    }

    /// `for var in start..end`: the counter and the limit are hidden locals
    /// `slot` and `slot+1`; the loop variable is a fresh copy of the counter
    /// in each iteration, so assigning it cannot disturb the iteration.
    fn for_range(&mut self, var: &Ident, start: &Expr, end: &Expr, body: &Block, span: Span) {
        self.begin_scope();
        self.expr(start);
        let slot = self.declare_hidden();
        self.expr(end);
        self.declare_hidden();
        let prep = self.emit(Op::ForRangePrep { slot, exit: 0 }, span.line);
        self.emit(Op::GetLocal { slot }, var.span.line);
        // `ForRangeNext` pushes the next loop variable itself.
        let body_start = self.here();
        self.loop_body(var, body, false);
        let back = self.emit(
            Op::ForRangeNext {
                slot,
                target: body_start,
            },
            span.line,
        );
        self.end_loop(back, true, span);
        self.patch_to_here(prep);
        self.end_scope(span);
    }

    /// `for var in iterable`: the array (or the map's keys) and the index are
    /// hidden locals `slot` and `slot+1`; `ForInNext` pushes each element as
    /// the fresh loop variable.
    fn for_in(&mut self, var: &Ident, iterable: &Expr, body: &Block, span: Span) {
        self.begin_scope();
        self.expr(iterable);
        let slot = self.declare_hidden();
        self.emit(Op::Int { v: 0 }, span.line);
        self.declare_hidden();
        self.emit(Op::ForInPrep { slot }, span.line);
        let header = self.here();
        let next = self.emit(Op::ForInNext { slot, exit: 0 }, span.line);
        self.loop_body(var, body, true);
        let back = self.emit(Op::Loop { target: header }, span.line);
        self.end_loop(back, false, span);
        self.patch_to_here(next);
        self.end_scope(span);
    }

    /// A `for` body: the loop variable (already on the stack) in a scope of
    /// its own around the body's block, both left at the end of every
    /// iteration (closing what closures captured) with one `CloseUpvals`.
    /// `pop`: emit the pops too; without it the loop's back-edge
    /// (`ForRangeNext`) drops the values itself.
    fn loop_body(&mut self, var: &Ident, body: &Block, pop: bool) {
        self.begin_scope();
        let var_slot = self.declare_local(var);
        self.begin_loop_at(var_slot);
        self.begin_scope();
        self.stmts(&body.stmts);
        if pop {
            self.end_scopes(2, body.span);
        } else {
            self.end_scopes_without_pops(2, body.span);
        }
    }

    fn begin_loop(&mut self) {
        let base = self.fs().height;
        self.begin_loop_at(base);
    }

    fn begin_loop_at(&mut self, body_base: u32) {
        self.fs().loops.push(LoopCtx {
            body_base,
            captured: false,
            exits: Vec::new(),
        });
    }

    /// Wires the loop's `break`s to the next instruction after the stubs
    /// and its `continue`s to the back-edge `back`. `falls_through`: the
    /// back-edge can continue to the next instruction (so it must skip the
    /// stubs).
    fn end_loop(&mut self, back: usize, falls_through: bool, span: Span) {
        let ctx = self.fs().loops.pop().expect("inside a loop");
        let back = self.operand(back);
        let (direct, stubbed): (Vec<_>, Vec<_>) = ctx
            .exits
            .into_iter()
            .partition(|e| e.height == ctx.body_base);
        let mut to_exit = Vec::new();
        if falls_through && !stubbed.is_empty() {
            to_exit.push(self.emit(Op::Jump { target: 0 }, span.line));
        }
        for exit in stubbed {
            self.patch_to_here(exit.jump);
            let j = self.exit_stub(&exit, ctx.body_base, ctx.captured, span.line, back);
            if exit.is_break {
                to_exit.push(j);
            }
        }
        for exit in direct {
            if exit.is_break {
                to_exit.push(exit.jump);
            } else {
                self.patch_jump(exit.jump, back);
            }
        }
        for j in to_exit {
            self.patch_to_here(j);
        }
    }

    /// `[CloseUpvals base] PopN Jump`: leaves the per-iteration locals a
    /// `break`/`continue` left behind. Returns the final jump, already
    /// pointing at `back` for a `continue`.
    fn exit_stub(
        &mut self,
        exit: &PendingExit,
        base: u32,
        captured: bool,
        line: u32,
        back: u32,
    ) -> usize {
        let after = self.fs().height;
        self.fs().height = exit.height;
        if captured {
            self.emit(Op::CloseUpvals { slot: base }, line);
        }
        self.emit_pops((exit.height - base) as usize, line);
        let jump = self.emit(Op::Jump { target: back }, line);
        self.fs().height = after;
        jump
    }

    fn break_or_continue(&mut self, is_break: bool, span: Span) {
        let height = self.fs().height;
        if self.fs().loops.is_empty() {
            let word = if is_break { "break" } else { "continue" };
            self.error(span, format!("'{word}' outside of a loop"));
            return;
        }
        let jump = self.emit(Op::Jump { target: 0 }, span.line);
        let ctx = self.fs().loops.last_mut().expect("checked above");
        ctx.exits.push(PendingExit {
            jump,
            height,
            is_break,
        });
    }

    /// `return e;`: `Return` itself closes the frame's upvalues and drops
    /// its locals.
    fn return_stmt(&mut self, value: Option<&Expr>, span: Span) {
        if self.fs().is_script {
            self.error(span, "'return' outside of a function");
            return;
        }
        match value {
            Some(e) => self.expr(e),
            None => {
                self.emit(Op::Nil, span.line);
            }
        }
        self.emit(Op::Return, span.line);
    }
}

/// The fused compare-and-branch for a comparison operator (target to be
/// patched), `None` for the other operators.
fn compare_jump(op: BinOp) -> Option<Op> {
    let target = 0;
    match op {
        BinOp::Lt => Some(Op::JumpIfNotLt { target }),
        BinOp::Le => Some(Op::JumpIfNotLe { target }),
        BinOp::Gt => Some(Op::JumpIfNotGt { target }),
        BinOp::Ge => Some(Op::JumpIfNotGe { target }),
        BinOp::Eq => Some(Op::JumpIfNotEq { target }),
        BinOp::Ne => Some(Op::JumpIfNotNe { target }),
        _ => None,
    }
}

/// The operator of a compound assignment (`+=` is `Add`), `None` for `=`.
fn compound_op(op: AssignOp) -> Option<BinOp> {
    match op {
        AssignOp::Set => None,
        AssignOp::Add => Some(BinOp::Add),
        AssignOp::Sub => Some(BinOp::Sub),
        AssignOp::Mul => Some(BinOp::Mul),
        AssignOp::Div => Some(BinOp::Div),
        AssignOp::Mod => Some(BinOp::Mod),
    }
}
