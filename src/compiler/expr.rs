//! Expressions and function literals. Every expression leaves exactly one
//! value on the stack; operands are evaluated left to right.

use std::rc::Rc;

use crate::ast::{BinOp, Expr, ExprKind, FnDecl, LogicOp, Span, StmtKind, UnOp};
use crate::bytecode::{Constant, Op, builtin_index};

use super::Compiler;
use super::scope::{FnState, Local, Resolved};

impl Compiler<'_> {
    pub(super) fn expr(&mut self, e: &Expr) {
        let line = e.span.line;
        match &e.kind {
            ExprKind::Nil => self.push_op(Op::Nil, line),
            ExprKind::Bool(true) => self.push_op(Op::True, line),
            ExprKind::Bool(false) => self.push_op(Op::False, line),
            ExprKind::Int(i) => self.int(*i, line),
            ExprKind::Float(f) => self.push_const(Constant::Float(*f), line),
            ExprKind::Str(s) => self.push_const(Constant::Str(s.clone()), line),
            ExprKind::Var(name) => self.var(name, e.span),
            ExprKind::Array(items) => self.array(items, line),
            ExprKind::Map(entries) => self.map(entries, line),
            ExprKind::Fn(decl) => self.function(decl),
            ExprKind::Unary { op, operand } => {
                self.expr(operand);
                self.push_op(unary_op(*op), line);
            }
            ExprKind::Binary { op, lhs, rhs } => self.binary(*op, lhs, rhs, line),
            ExprKind::Logical { op, lhs, rhs } => self.logical(*op, lhs, rhs, line),
            ExprKind::Call { callee, args } => self.call(callee, args, e.span),
            ExprKind::Index { obj, index } => {
                self.expr2(obj, index);
                self.push_op(Op::GetIndex, line);
            }
            ExprKind::Field { obj, name } => {
                self.expr(obj);
                let k = self.str_constant(name);
                self.push_op(Op::GetField { k }, line);
            }
        }
    }

    /// Emits an instruction whose index nobody needs.
    fn push_op(&mut self, op: Op, line: u32) {
        self.emit(op, line);
    }

    /// Small ints are inline operands; the rest go to the constant pool.
    fn int(&mut self, i: i64, line: u32) {
        match i32::try_from(i) {
            Ok(v) => self.push_op(Op::Int { v }, line),
            Err(_) => self.push_const(Constant::Int(i), line),
        }
    }

    fn push_const(&mut self, c: Constant, line: u32) {
        let k = self.constant(c);
        self.push_op(Op::Const { k }, line);
    }

    /// The constant-pool index of the string `s` (field names).
    pub(super) fn str_constant(&mut self, s: &str) -> u32 {
        self.constant(Constant::Str(s.to_string()))
    }

    /// Pushes the value of the variable `name`.
    pub(super) fn var(&mut self, name: &str, span: Span) {
        let op = match self.resolve(name) {
            Resolved::Local(slot) => Op::GetLocal { slot },
            Resolved::Upval(idx) => Op::GetUpval { idx },
            Resolved::Global(g) => Op::GetGlobal { g },
            Resolved::Builtin(b) => Op::GetBuiltin { b },
            Resolved::Undefined => {
                self.error(span, format!("undefined variable '{name}'"));
                // Keep the stack height right for what follows.
                Op::Nil
            }
        };
        self.push_op(op, span.line);
    }

    fn array(&mut self, items: &[Expr], line: u32) {
        for item in items {
            self.expr(item);
        }
        let n = self.operand(items.len());
        self.push_op(Op::NewArray { n }, line);
    }

    fn map(&mut self, entries: &[(Expr, Expr)], line: u32) {
        for (k, v) in entries {
            self.expr(k);
            self.expr(v);
        }
        let n = self.operand(entries.len());
        self.push_op(Op::NewMap { n }, line);
    }

    /// Pushes `a` then `b`: one `GetLocal2` when both are locals of this
    /// function, the two expressions otherwise.
    pub(super) fn expr2(&mut self, a: &Expr, b: &Expr) {
        match (self.local_slot(a), self.local_slot(b)) {
            (Some(x), Some(y)) => self.push_op(Op::GetLocal2 { a: x, b: y }, a.span.line),
            _ => {
                self.expr(a);
                self.expr(b);
            }
        }
    }

    /// The slot of `e` if it is a plain read of a local of this function.
    fn local_slot(&mut self, e: &Expr) -> Option<u32> {
        match &e.kind {
            ExprKind::Var(name) => self.fs().find_local(name),
            _ => None,
        }
    }

    /// `lhs op rhs`, fused where a superinstruction applies.
    pub(super) fn binary(&mut self, op: BinOp, lhs: &Expr, rhs: &Expr, line: u32) {
        if let Some(fused) = int_immediate(op, rhs) {
            self.expr(lhs);
            self.push_op(fused, line);
        } else {
            self.expr2(lhs, rhs);
            self.push_op(binary_op(op), line);
        }
    }

    /// `top op rhs`, the left operand being already on the stack (compound
    /// assignment to an index or a field).
    pub(super) fn apply_binary(&mut self, op: BinOp, rhs: &Expr, line: u32) {
        match int_immediate(op, rhs) {
            Some(fused) => self.push_op(fused, line),
            None => {
                self.expr(rhs);
                self.push_op(binary_op(op), line);
            }
        }
    }

    /// `a and b`: if `a` is falsy it is the result, else `b` is.
    fn logical(&mut self, op: LogicOp, lhs: &Expr, rhs: &Expr, line: u32) {
        self.expr(lhs);
        let jump = match op {
            LogicOp::And => Op::JumpIfFalseOrPop { target: 0 },
            LogicOp::Or => Op::JumpIfTrueOrPop { target: 0 },
        };
        let jump = self.emit(jump, line);
        self.expr(rhs);
        self.patch_to_here(jump);
    }

    /// Callee, arguments, then `Call` on the `(` line.
    fn call(&mut self, callee: &Expr, args: &[Expr], span: Span) {
        self.expr(callee);
        for a in args {
            self.expr(a);
        }
        let argc = self.operand(args.len());
        self.push_op(Op::Call { argc }, span.line);
    }

    /// Compiles a function literal or declaration into a nested prototype
    /// and pushes a closure of it.
    pub(super) fn function(&mut self, decl: &FnDecl) {
        let arity = self.operand(decl.params.len());
        self.fns.push(FnState::new(decl.name.clone(), arity, false));
        self.params(decl);
        // The body is a scope inside the parameters' one, so it may shadow
        // a parameter with `let`.
        self.begin_scope();
        self.stmts(&decl.body.stmts);
        let returns =
            matches!(decl.body.stmts.last(), Some(s) if matches!(s.kind, StmtKind::Return(_)));
        if !returns {
            let line = decl
                .body
                .stmts
                .last()
                .map_or(decl.body.span.line, |s| s.span.line);
            self.emit_return_nil(line);
        }
        let proto = self.fns.pop().expect("pushed above").finish();
        let parent = self.fs();
        parent.protos.push(Rc::new(proto));
        let index = parent.protos.len() - 1;
        let proto = self.operand(index);
        self.push_op(Op::Closure { proto }, decl.span.line);
    }

    /// Names slots `1..=arity` after the parameters, reporting reserved and
    /// repeated names (whose slots then stay nameless).
    fn params(&mut self, decl: &FnDecl) {
        for (i, p) in decl.params.iter().enumerate() {
            let mut name = p.name.clone();
            if builtin_index(&p.name).is_some() {
                self.error(p.span, format!("cannot redefine builtin '{}'", p.name));
                name.clear();
            } else if decl.params[..i].iter().any(|q| q.name == p.name) {
                self.error(p.span, format!("duplicate parameter '{}'", p.name));
                name.clear();
            }
            self.fs().locals.push(Local {
                name,
                scope: 0,
                captured: false,
            });
        }
    }
}

fn unary_op(op: UnOp) -> Op {
    match op {
        UnOp::Neg => Op::Neg,
        UnOp::BitNot => Op::BitNot,
        UnOp::Not => Op::Not,
    }
}

/// The fused form of `_ op rhs` when `rhs` is a small int literal and the
/// operator has one (`AddInt`, `SubInt`, `ModInt`).
fn int_immediate(op: BinOp, rhs: &Expr) -> Option<Op> {
    let ExprKind::Int(i) = rhs.kind else {
        return None;
    };
    let v = i32::try_from(i).ok()?;
    match op {
        BinOp::Add => Some(Op::AddInt { v }),
        BinOp::Sub => Some(Op::SubInt { v }),
        BinOp::Mod => Some(Op::ModInt { v }),
        _ => None,
    }
}

fn binary_op(op: BinOp) -> Op {
    match op {
        BinOp::Add => Op::Add,
        BinOp::Sub => Op::Sub,
        BinOp::Mul => Op::Mul,
        BinOp::Div => Op::Div,
        BinOp::Mod => Op::Mod,
        BinOp::BitAnd => Op::BitAnd,
        BinOp::BitOr => Op::BitOr,
        BinOp::BitXor => Op::BitXor,
        BinOp::Shl => Op::Shl,
        BinOp::Shr => Op::Shr,
        BinOp::Eq => Op::Eq,
        BinOp::Ne => Op::Ne,
        BinOp::Lt => Op::Lt,
        BinOp::Le => Op::Le,
        BinOp::Gt => Op::Gt,
        BinOp::Ge => Op::Ge,
    }
}
