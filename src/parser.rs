//! The parser: tokens to an AST, recovering after errors.
//!
//! Statements are parsed by plain recursive descent, one function per form.
//! Expressions use precedence climbing: [`Parser::binary`] parses a prefix
//! operand, then keeps absorbing infix operators that bind at least as tightly
//! as its caller allows (see [`infix`] for the table, lowest first):
//!
//! ```text
//! or < and < not < == != < <= > >= < | < ^ < & < << >> < + - < * / % < - ~ < postfix
//! ```
//!
//! Comparisons do not associate: `a < b < c` is an error, not `(a < b) < c`.
//!
//! # Errors
//!
//! A syntax error is recorded once and the parse functions return
//! `Err(Abort)`, which unwinds to the statement being parsed. The statement is
//! dropped and [`Parser::synchronize`] skips to a point where a new statement
//! can start, so each mistake gives one error and later statements are still
//! checked. Tokens the lexer could not read ([`Tok::Error`]) were already
//! reported, so errors found at them stay silent.
//!
//! # Nesting
//!
//! Every nested bracket, block, unary operator and `else if` counts one level;
//! beyond [`MAX_DEPTH`] the parser reports `nesting too deep` instead of
//! recursing further, so no input can overflow the stack.

use crate::ast::{
    AssignOp, BinOp, Block, Expr, ExprKind, FnDecl, Ident, LogicOp, Program, Span, Stmt,
    StmtKind, UnOp,
};
use crate::diag::CompileError;
use crate::lexer::{Tok, Token, lex};
use std::rc::Rc;

/// Deepest nesting accepted (brackets, blocks, unary operators).
pub const MAX_DEPTH: u32 = 1000;
/// Most parameters a function may declare, and arguments a call may pass.
pub const MAX_ARGS: usize = 255;

/// Binding powers of the operator levels, loosest first.
const BP_OR: u8 = 1;
const BP_AND: u8 = 2;
const BP_NOT: u8 = 3;
const BP_CMP: u8 = 4;
const BP_BIT_OR: u8 = 5;
const BP_BIT_XOR: u8 = 6;
const BP_BIT_AND: u8 = 7;
const BP_SHIFT: u8 = 8;
const BP_ADD: u8 = 9;
const BP_MUL: u8 = 10;
const BP_UNARY: u8 = 11;

/// An error has been recorded; unwind to the enclosing statement.
struct Abort;

type PResult<T> = Result<T, Abort>;

/// Parses a whole source file. Always returns a best-effort program (the
/// statements that parsed) together with every error found, in source order.
pub fn parse(src: &str) -> (Program, Vec<CompileError>) {
    let lexed = lex(src);
    let mut parser = Parser {
        src,
        tokens: lexed.tokens,
        pos: 0,
        errors: Vec::new(),
        eof_reported: lexed.truncated,
        depth: 0,
    };
    let mut stmts = Vec::new();
    while parser.peek() != &Tok::Eof {
        parser.statement_into(&mut stmts);
    }
    let mut errors = lexed.errors;
    errors.append(&mut parser.errors);
    // Both lists are in source order; a stable sort interleaves them.
    errors.sort_by_key(|e| (e.line, e.col));
    (Program { stmts }, errors)
}

/// An infix operator: arithmetic/comparison or short-circuit.
#[derive(Clone, Copy)]
enum Infix {
    Bin(BinOp),
    Logic(LogicOp),
}

/// The infix operator a token denotes, with its binding power.
fn infix(tok: &Tok) -> Option<(Infix, u8)> {
    use Infix::{Bin, Logic};
    Some(match tok {
        Tok::Or => (Logic(LogicOp::Or), BP_OR),
        Tok::And => (Logic(LogicOp::And), BP_AND),
        Tok::EqEq => (Bin(BinOp::Eq), BP_CMP),
        Tok::NotEq => (Bin(BinOp::Ne), BP_CMP),
        Tok::Lt => (Bin(BinOp::Lt), BP_CMP),
        Tok::Le => (Bin(BinOp::Le), BP_CMP),
        Tok::Gt => (Bin(BinOp::Gt), BP_CMP),
        Tok::Ge => (Bin(BinOp::Ge), BP_CMP),
        Tok::Pipe => (Bin(BinOp::BitOr), BP_BIT_OR),
        Tok::Caret => (Bin(BinOp::BitXor), BP_BIT_XOR),
        Tok::Amp => (Bin(BinOp::BitAnd), BP_BIT_AND),
        Tok::Shl => (Bin(BinOp::Shl), BP_SHIFT),
        Tok::Shr => (Bin(BinOp::Shr), BP_SHIFT),
        Tok::Plus => (Bin(BinOp::Add), BP_ADD),
        Tok::Minus => (Bin(BinOp::Sub), BP_ADD),
        Tok::Star => (Bin(BinOp::Mul), BP_MUL),
        Tok::Slash => (Bin(BinOp::Div), BP_MUL),
        Tok::Percent => (Bin(BinOp::Mod), BP_MUL),
        _ => return None,
    })
}

fn assign_op(tok: &Tok) -> Option<AssignOp> {
    Some(match tok {
        Tok::Assign => AssignOp::Set,
        Tok::PlusAssign => AssignOp::Add,
        Tok::MinusAssign => AssignOp::Sub,
        Tok::StarAssign => AssignOp::Mul,
        Tok::SlashAssign => AssignOp::Div,
        Tok::PercentAssign => AssignOp::Mod,
        _ => return None,
    })
}

/// Tokens after which error recovery may resume a fresh statement.
fn starts_statement(tok: &Tok) -> bool {
    matches!(
        tok,
        Tok::Let
            | Tok::Fn
            | Tok::If
            | Tok::While
            | Tok::For
            | Tok::Return
            | Tok::Break
            | Tok::Continue
    )
}

/// Brackets that are open while error recovery skips tokens.
struct OpenDelims {
    stack: Vec<Tok>,
    braces: usize,
}

impl OpenDelims {
    /// Tracks one skipped token. Returns true when it was a `}` that closed
    /// the last open bracket: the broken construct is over.
    fn track(&mut self, tok: &Tok) -> bool {
        match tok {
            Tok::LParen | Tok::LBracket => self.stack.push(tok.clone()),
            Tok::LBrace => {
                self.stack.push(Tok::LBrace);
                self.braces += 1;
            }
            Tok::RParen | Tok::RBracket => {
                let opener = if tok == &Tok::RParen {
                    Tok::LParen
                } else {
                    Tok::LBracket
                };
                if self.stack.last() == Some(&opener) {
                    self.stack.pop();
                }
            }
            Tok::RBrace if self.braces > 0 => {
                // A `}` also closes any `(` or `[` left open inside it.
                while self.stack.pop().is_some_and(|t| t != Tok::LBrace) {}
                self.braces -= 1;
                return self.stack.is_empty();
            }
            _ => {}
        }
        false
    }
}

struct Parser<'s> {
    src: &'s str,
    tokens: Vec<Token>,
    /// Index of the current token; `tokens` always ends with `Eof`.
    pos: usize,
    errors: Vec<CompileError>,
    /// An error at the end of the file was already reported (or would only
    /// repeat an unterminated string or comment).
    eof_reported: bool,
    /// Current nesting level, see [`MAX_DEPTH`].
    depth: u32,
}

// Token access and error reporting.
impl Parser<'_> {
    fn tok(&self) -> &Token {
        &self.tokens[self.pos]
    }

    fn peek(&self) -> &Tok {
        &self.tok().kind
    }

    /// The kind of the token `n` places ahead (`Eof` past the end).
    fn peek_at(&self, n: usize) -> &Tok {
        let last = self.tokens.len() - 1;
        &self.tokens[(self.pos + n).min(last)].kind
    }

    fn at(&self, kind: &Tok) -> bool {
        self.peek() == kind
    }

    /// Consumes the current token (never moves past `Eof`).
    fn advance(&mut self) -> Token {
        let token = self.tokens[self.pos].clone();
        if token.kind != Tok::Eof {
            self.pos += 1;
        }
        token
    }

    fn eat(&mut self, kind: &Tok) -> bool {
        let found = self.at(kind);
        if found {
            self.advance();
        }
        found
    }

    /// Consumes a token of `kind` or reports `expected WHAT, found ...`.
    fn expect(&mut self, kind: &Tok, what: &str) -> PResult<Token> {
        if self.at(kind) {
            Ok(self.advance())
        } else {
            Err(self.error_here(&format!("expected {what}")))
        }
    }

    fn expect_semi(&mut self) -> PResult<Token> {
        self.expect(&Tok::Semi, "';'")
    }

    fn ident(&mut self) -> PResult<Ident> {
        if self.at(&Tok::Ident) {
            let t = self.advance();
            Ok(Ident {
                name: self.src[t.start..t.end].to_string(),
                span: t.span,
            })
        } else {
            Err(self.error_here("expected identifier"))
        }
    }

    /// Reports `WHAT, found X` at the current token, unless that token
    /// was already the subject of an error.
    fn error_here(&mut self, what: &str) -> Abort {
        let t = self.tok();
        let found = match t.kind {
            Tok::Error => return Abort,
            Tok::Eof if self.eof_reported => return Abort,
            Tok::Eof => "end of file".to_string(),
            _ => format!("'{}'", &self.src[t.start..t.end]),
        };
        let span = t.span;
        self.eof_reported |= t.kind == Tok::Eof;
        self.error_at(span, format!("{what}, found {found}"))
    }

    fn error_at(&mut self, span: Span, message: impl Into<String>) -> Abort {
        self.errors.push(CompileError::new(span, message));
        Abort
    }

    /// Enters one nesting level (at the token `span`).
    fn enter(&mut self, span: Span) -> PResult<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error_at(span, "nesting too deep"));
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.depth -= 1;
    }
}

// Statements and error recovery.
impl Parser<'_> {
    /// Parses one statement into `out`; after an error, recovers instead.
    fn statement_into(&mut self, out: &mut Vec<Stmt>) {
        let start = self.pos;
        let depth = self.depth;
        match self.statement() {
            Ok(Some(stmt)) => out.push(stmt),
            Ok(None) => {}
            Err(Abort) => {
                // Levels entered by the failed statement were never left.
                self.depth = depth;
                self.synchronize(start);
                if self.pos == start {
                    self.advance();
                }
            }
        }
    }

    /// Skips the rest of a broken statement that began at token `start`:
    /// up to and including a `;`, up to a `}` that closes the enclosing
    /// block, up to a keyword that starts a statement, or past the `}` that
    /// closes a bracketed construct begun in the statement. Brackets opened
    /// in the statement are honoured, so a `;` or keyword inside a nested
    /// function body does not end the skip.
    fn synchronize(&mut self, start: usize) {
        let mut open = OpenDelims {
            stack: Vec::new(),
            braces: 0,
        };
        for t in &self.tokens[start..self.pos] {
            open.track(&t.kind);
        }
        loop {
            match self.peek() {
                Tok::Eof => return,
                Tok::Semi | Tok::RBrace if open.braces == 0 => {
                    self.eat(&Tok::Semi);
                    return;
                }
                t if open.stack.is_empty() && starts_statement(t) => return,
                _ => {}
            }
            let t = self.advance();
            if open.track(&t.kind) {
                self.eat(&Tok::Semi);
                return;
            }
        }
    }

    /// One statement; `None` for an empty statement `;`.
    fn statement(&mut self) -> PResult<Option<Stmt>> {
        let span = self.tok().span;
        let kind = match self.peek() {
            Tok::Semi => {
                self.advance();
                return Ok(None);
            }
            Tok::Let => self.let_stmt()?,
            Tok::If => self.if_stmt()?,
            Tok::While => self.while_stmt()?,
            Tok::For => self.for_stmt()?,
            Tok::Return => self.return_stmt()?,
            Tok::Break | Tok::Continue => {
                let keyword = self.advance();
                self.expect_semi()?;
                if keyword.kind == Tok::Break {
                    StmtKind::Break
                } else {
                    StmtKind::Continue
                }
            }
            // `fn(..) {..}` at the start of a statement is an expression.
            Tok::Fn if self.peek_at(1) != &Tok::LParen => self.fn_stmt()?,
            Tok::LBrace => StmtKind::Block(self.block()?),
            _ => self.expr_or_assign()?,
        };
        Ok(Some(Stmt { kind, span }))
    }

    /// `{ stmts }`. Errors inside are recovered from statement by statement.
    fn block(&mut self) -> PResult<Block> {
        let open = self.expect(&Tok::LBrace, "'{'")?;
        self.enter(open.span)?;
        let mut stmts = Vec::new();
        while !matches!(self.peek(), Tok::RBrace | Tok::Eof) {
            self.statement_into(&mut stmts);
        }
        self.expect(&Tok::RBrace, "'}'")?;
        self.leave();
        Ok(Block {
            stmts,
            span: open.span,
        })
    }

    fn let_stmt(&mut self) -> PResult<StmtKind> {
        self.advance();
        let name = self.ident()?;
        let init = if self.eat(&Tok::Assign) {
            Some(self.expr()?)
        } else {
            None
        };
        self.expect_semi()?;
        Ok(StmtKind::Let { name, init })
    }

    /// `if c {..}` with optional `else {..}` or `else if ..`.
    fn if_stmt(&mut self) -> PResult<StmtKind> {
        self.advance();
        let cond = self.expr()?;
        let then_block = self.block()?;
        let mut else_branch = None;
        if self.eat(&Tok::Else) {
            let span = self.tok().span;
            let kind = if self.at(&Tok::If) {
                // An `else if` chain nests, so it counts towards the depth.
                self.enter(span)?;
                let kind = self.if_stmt()?;
                self.leave();
                kind
            } else {
                StmtKind::Block(self.block()?)
            };
            else_branch = Some(Box::new(Stmt { kind, span }));
        }
        Ok(StmtKind::If {
            cond,
            then_block,
            else_branch,
        })
    }

    fn while_stmt(&mut self) -> PResult<StmtKind> {
        self.advance();
        let cond = self.expr()?;
        let body = self.block()?;
        Ok(StmtKind::While { cond, body })
    }

    /// `for x in a..b {..}` or `for x in iterable {..}`.
    fn for_stmt(&mut self) -> PResult<StmtKind> {
        self.advance();
        let var = self.ident()?;
        self.expect(&Tok::In, "'in'")?;
        let start = self.expr()?;
        if self.eat(&Tok::DotDot) {
            let end = self.expr()?;
            let body = self.block()?;
            Ok(StmtKind::ForRange {
                var,
                start,
                end,
                body,
            })
        } else {
            let body = self.block()?;
            Ok(StmtKind::ForIn {
                var,
                iterable: start,
                body,
            })
        }
    }

    fn return_stmt(&mut self) -> PResult<StmtKind> {
        self.advance();
        let value = if self.at(&Tok::Semi) {
            None
        } else {
            Some(self.expr()?)
        };
        self.expect_semi()?;
        Ok(StmtKind::Return(value))
    }

    /// `fn name(params) {..}`.
    fn fn_stmt(&mut self) -> PResult<StmtKind> {
        let keyword = self.advance();
        let name = self.ident()?;
        let func = self.fn_rest(keyword.span, Some(name.name.clone()))?;
        Ok(StmtKind::Fn { name, func })
    }

    /// The `(params) {body}` part of a function, after `fn` (and its name).
    fn fn_rest(&mut self, span: Span, name: Option<String>) -> PResult<Rc<FnDecl>> {
        self.expect(&Tok::LParen, "'('")?;
        let mut params = Vec::new();
        while !self.at(&Tok::RParen) {
            let param = self.ident()?;
            if params.len() == MAX_ARGS {
                self.error_at(param.span, "too many parameters");
            }
            params.push(param);
            if !self.eat(&Tok::Comma) {
                break;
            }
        }
        self.expect(&Tok::RParen, "')'")?;
        let body = self.block()?;
        Ok(Rc::new(FnDecl {
            name,
            params,
            body,
            span,
        }))
    }

    /// An expression statement, or an assignment if an assignment operator
    /// follows the expression.
    fn expr_or_assign(&mut self) -> PResult<StmtKind> {
        let target = self.expr()?;
        let Some(op) = assign_op(self.peek()) else {
            self.expect_semi()?;
            return Ok(StmtKind::Expr(target));
        };
        let op_span = self.advance().span;
        let assignable = matches!(
            target.kind,
            ExprKind::Var(_) | ExprKind::Index { .. } | ExprKind::Field { .. }
        );
        if !assignable {
            return Err(self.error_at(op_span, "invalid assignment target"));
        }
        let value = self.expr()?;
        self.expect_semi()?;
        Ok(StmtKind::Assign {
            target,
            op,
            op_span,
            value,
        })
    }
}

// Expressions.
impl Parser<'_> {
    fn expr(&mut self) -> PResult<Expr> {
        self.binary(0)
    }

    /// Precedence climbing: an operand, then every infix operator whose
    /// binding power is at least `min_bp`. Right operands only take tighter
    /// operators, which makes every level left-associative.
    fn binary(&mut self, min_bp: u8) -> PResult<Expr> {
        let mut lhs = self.prefix()?;
        while let Some((op, bp)) = infix(self.peek()) {
            if bp < min_bp {
                break;
            }
            let span = self.advance().span;
            let rhs = Box::new(self.binary(bp + 1)?);
            let lhs_box = Box::new(lhs);
            let kind = match op {
                Infix::Bin(op) => ExprKind::Binary {
                    op,
                    lhs: lhs_box,
                    rhs,
                },
                Infix::Logic(op) => ExprKind::Logical {
                    op,
                    lhs: lhs_box,
                    rhs,
                },
            };
            lhs = Expr { kind, span };
            let chained = infix(self.peek()).is_some_and(|(_, next)| next == BP_CMP);
            if bp == BP_CMP && chained {
                let span = self.tok().span;
                return Err(self.error_at(span, "comparison operators cannot be chained"));
            }
        }
        Ok(lhs)
    }

    /// Prefix operators: `-` and `~` bind tighter than `*`; `not` takes a
    /// whole comparison (`not a == b` is `not (a == b)`).
    fn prefix(&mut self) -> PResult<Expr> {
        let (op, operand_bp) = match self.peek() {
            Tok::Minus => (UnOp::Neg, BP_UNARY),
            Tok::Tilde => (UnOp::BitNot, BP_UNARY),
            Tok::Not => (UnOp::Not, BP_NOT + 1),
            _ => return self.postfix(),
        };
        let span = self.advance().span;
        if op == UnOp::Neg && self.at_min_int_magnitude() {
            self.advance();
            return Ok(Expr {
                kind: ExprKind::Int(i64::MIN),
                span,
            });
        }
        self.enter(span)?;
        let operand = Box::new(self.binary(operand_bp)?);
        self.leave();
        Ok(Expr {
            kind: ExprKind::Unary { op, operand },
            span,
        })
    }

    /// Is the current token `9223372036854775808` used as a plain operand
    /// (not followed by a postfix operator, which would bind first)?
    fn at_min_int_magnitude(&self) -> bool {
        self.peek() == &Tok::Int(1 << 63)
            && !matches!(self.peek_at(1), Tok::LParen | Tok::LBracket | Tok::Dot)
    }

    /// A primary expression followed by calls, indexing and field accesses.
    fn postfix(&mut self) -> PResult<Expr> {
        let mut expr = self.primary()?;
        loop {
            let span = self.tok().span;
            let kind = match self.peek() {
                Tok::LParen => {
                    self.advance();
                    self.enter(span)?;
                    let args = self.args()?;
                    self.leave();
                    ExprKind::Call {
                        callee: Box::new(expr),
                        args,
                    }
                }
                Tok::LBracket => {
                    self.advance();
                    self.enter(span)?;
                    let index = Box::new(self.expr()?);
                    self.expect(&Tok::RBracket, "']'")?;
                    self.leave();
                    ExprKind::Index {
                        obj: Box::new(expr),
                        index,
                    }
                }
                Tok::Dot => {
                    self.advance();
                    let name = self.ident()?.name;
                    ExprKind::Field {
                        obj: Box::new(expr),
                        name,
                    }
                }
                _ => return Ok(expr),
            };
            expr = Expr { kind, span };
        }
    }

    /// Call arguments after `(`, through the closing `)`.
    fn args(&mut self) -> PResult<Vec<Expr>> {
        let mut args = Vec::new();
        while !self.at(&Tok::RParen) {
            let span = self.tok().span;
            args.push(self.expr()?);
            if args.len() == MAX_ARGS + 1 {
                self.error_at(span, "too many arguments");
            }
            if !self.eat(&Tok::Comma) {
                break;
            }
        }
        self.expect(&Tok::RParen, "')'")?;
        Ok(args)
    }

    fn primary(&mut self) -> PResult<Expr> {
        let span = self.tok().span;
        let kind = match self.peek().clone() {
            Tok::Int(value) => {
                self.advance();
                ExprKind::Int(self.int_value(value, span))
            }
            Tok::Float(value) => {
                self.advance();
                ExprKind::Float(value)
            }
            Tok::Str(text) => {
                self.advance();
                ExprKind::Str(text)
            }
            Tok::True | Tok::False => ExprKind::Bool(self.advance().kind == Tok::True),
            Tok::Nil => {
                self.advance();
                ExprKind::Nil
            }
            Tok::Ident => ExprKind::Var(self.ident()?.name),
            Tok::LParen => return self.paren(),
            Tok::LBracket => self.array()?,
            Tok::LBrace => self.map()?,
            Tok::Fn => {
                self.advance();
                ExprKind::Fn(self.fn_rest(span, None)?)
            }
            _ => return Err(self.error_here("expected expression")),
        };
        Ok(Expr { kind, span })
    }

    /// A literal's value; too large for an `i64` is reported (and read as 0
    /// so that parsing goes on).
    fn int_value(&mut self, value: u64, span: Span) -> i64 {
        i64::try_from(value).unwrap_or_else(|_| {
            self.error_at(span, "integer literal is too large");
            0
        })
    }

    /// `( expr )`: grouping only, the inner expression keeps its span.
    fn paren(&mut self) -> PResult<Expr> {
        let open = self.advance();
        self.enter(open.span)?;
        let inner = self.expr()?;
        self.expect(&Tok::RParen, "')'")?;
        self.leave();
        Ok(inner)
    }

    /// `[a, b, c]`, trailing comma allowed.
    fn array(&mut self) -> PResult<ExprKind> {
        let open = self.advance();
        self.enter(open.span)?;
        let mut items = Vec::new();
        while !self.at(&Tok::RBracket) {
            items.push(self.expr()?);
            if !self.eat(&Tok::Comma) {
                break;
            }
        }
        self.expect(&Tok::RBracket, "']'")?;
        self.leave();
        Ok(ExprKind::Array(items))
    }

    /// `{k: v, ..}`; a bare identifier key is the string of its name.
    fn map(&mut self) -> PResult<ExprKind> {
        let open = self.advance();
        self.enter(open.span)?;
        let mut entries = Vec::new();
        while !self.at(&Tok::RBrace) {
            let key = if self.at(&Tok::Ident) && self.peek_at(1) == &Tok::Colon {
                let name = self.ident()?;
                Expr {
                    kind: ExprKind::Str(name.name),
                    span: name.span,
                }
            } else {
                self.expr()?
            };
            self.expect(&Tok::Colon, "':'")?;
            entries.push((key, self.expr()?));
            if !self.eat(&Tok::Comma) {
                break;
            }
        }
        self.expect(&Tok::RBrace, "'}'")?;
        self.leave();
        Ok(ExprKind::Map(entries))
    }
}
