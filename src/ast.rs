//! The abstract syntax tree produced by the parser and consumed by the compiler.
//!
//! Every node carries a [`Span`] (1-based line and column, columns counted in
//! Unicode characters) so that compile errors and the line table can point at
//! the source. The tree owns plain Rust data only: the parser never touches the
//! VM heap.
//!
//! Which token a node's span points at matters for runtime error lines, so it
//! is fixed here:
//! - `Binary`/`Unary`/`Logical`: the operator token;
//! - `Call`: the `(` token; `Index`: the `[` token; `Field`: the `.` token;
//! - everything else: the first token of the node.

use std::rc::Rc;

/// A position in the source: 1-based line and 1-based column (in characters).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Span {
    pub line: u32,
    pub col: u32,
}

impl Span {
    pub fn new(line: u32, col: u32) -> Span {
        Span { line, col }
    }
}

/// A whole file (or one REPL input): a list of top-level statements.
#[derive(Clone, Debug, PartialEq)]
pub struct Program {
    pub stmts: Vec<Stmt>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Ident {
    pub name: String,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Block {
    pub stmts: Vec<Stmt>,
    /// The `{` token.
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Stmt {
    pub kind: StmtKind,
    pub span: Span,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AssignOp {
    /// `=`
    Set,
    /// `+=`
    Add,
    /// `-=`
    Sub,
    /// `*=`
    Mul,
    /// `/=`
    Div,
    /// `%=`
    Mod,
}

#[derive(Clone, Debug, PartialEq)]
pub enum StmtKind {
    /// `let name;` or `let name = init;`
    Let {
        name: Ident,
        init: Option<Expr>,
    },
    /// `target op value;` where `target` is a `Var`, `Index` or `Field`
    /// expression (the parser rejects anything else).
    Assign {
        target: Expr,
        op: AssignOp,
        /// The span of the assignment operator token.
        op_span: Span,
        value: Expr,
    },
    /// `expr;`
    Expr(Expr),
    /// `if cond { .. } else ..`; `else_branch` is a `Block` or another `If`
    /// statement (for `else if`).
    If {
        cond: Expr,
        then_block: Block,
        else_branch: Option<Box<Stmt>>,
    },
    /// `while cond { .. }`
    While {
        cond: Expr,
        body: Block,
    },
    /// `for var in start..end { .. }`
    ForRange {
        var: Ident,
        start: Expr,
        end: Expr,
        body: Block,
    },
    /// `for var in iterable { .. }` (array elements or map keys)
    ForIn {
        var: Ident,
        iterable: Expr,
        body: Block,
    },
    Break,
    Continue,
    /// `return;` or `return expr;`
    Return(Option<Expr>),
    /// `fn name(params) { body }`
    Fn {
        name: Ident,
        func: Rc<FnDecl>,
    },
    /// A bare `{ .. }` block statement.
    Block(Block),
}

/// A function literal or declaration.
#[derive(Clone, Debug, PartialEq)]
pub struct FnDecl {
    /// `None` for `fn(x) { .. }` expressions.
    pub name: Option<String>,
    pub params: Vec<Ident>,
    pub body: Block,
    /// The `fn` keyword.
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnOp {
    /// `-x`
    Neg,
    /// `~x`
    BitNot,
    /// `not x`
    Not,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    BitAnd,
    BitOr,
    BitXor,
    Shl,
    Shr,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl BinOp {
    /// The operator as written in source, used in error messages.
    pub fn symbol(self) -> &'static str {
        match self {
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::Mod => "%",
            BinOp::BitAnd => "&",
            BinOp::BitOr => "|",
            BinOp::BitXor => "^",
            BinOp::Shl => "<<",
            BinOp::Shr => ">>",
            BinOp::Eq => "==",
            BinOp::Ne => "!=",
            BinOp::Lt => "<",
            BinOp::Le => "<=",
            BinOp::Gt => ">",
            BinOp::Ge => ">=",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogicOp {
    And,
    Or,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ExprKind {
    Nil,
    Bool(bool),
    /// Integer literal (already range-checked; `-9223372036854775808` is
    /// folded by the parser into `Int(i64::MIN)`).
    Int(i64),
    Float(f64),
    /// String literal with escapes already decoded.
    Str(String),
    /// A name: local, upvalue, global or builtin (the compiler decides).
    Var(String),
    /// `[a, b, c]`
    Array(Vec<Expr>),
    /// `{k: v, ..}`; a bare identifier key has already become `Str`.
    Map(Vec<(Expr, Expr)>),
    /// `fn(params) { .. }`
    Fn(Rc<FnDecl>),
    Unary {
        op: UnOp,
        operand: Box<Expr>,
    },
    Binary {
        op: BinOp,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
    },
    /// Short-circuit `and` / `or`.
    Logical {
        op: LogicOp,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
    },
    Call {
        callee: Box<Expr>,
        args: Vec<Expr>,
    },
    /// `obj[index]`
    Index {
        obj: Box<Expr>,
        index: Box<Expr>,
    },
    /// `obj.name` (sugar for `obj["name"]`)
    Field {
        obj: Box<Expr>,
        name: String,
    },
}
