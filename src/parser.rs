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
//! Every nested bracket, block, unary operator and `else if` counts one level
//! (a function two: itself and its body); beyond [`MAX_DEPTH`] the parser
//! reports `nesting too deep` instead of recursing further, so no input can
//! overflow its stack. Long operator chains (`a + b + c ...`, `a.b.c ...`)
//! are loops here but deep trees for whoever walks the AST, so the height of
//! each expression tree counts too: nesting level plus height must stay within
//! [`MAX_DEPTH`]. After this error the rest of the file is skipped.

use crate::ast::{
    AssignOp, BinOp, Block, Expr, ExprKind, FnDecl, Ident, LogicOp, Program, Span, Stmt, StmtKind,
    UnOp,
};
use crate::diag::CompileError;
use crate::lexer::{Tok, Token, lex, quote};
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
        height: 0,
        reach: 0,
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
    /// Height of the expression tree parsed last (a leaf is 0).
    height: u32,
    /// Deepest level reached so far: the maximum of `depth + height`.
    reach: u32,
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
            let error = self.error_here("expected identifier");
            // A keyword used as a name (`let if`, `m.while`): step over it, or
            // recovery would take it for the start of the next statement.
            if starts_statement(self.peek()) {
                self.advance();
            }
            Err(error)
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
            _ => quote(&self.src[t.start..t.end]),
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
            return Err(self.too_deep(span));
        }
        Ok(())
    }

    /// Records that the expression just built has tree `height`.
    fn set_height(&mut self, height: u32, span: Span) -> PResult<()> {
        let level = self.depth + height;
        if level > MAX_DEPTH {
            return Err(self.too_deep(span));
        }
        self.height = height;
        self.reach = self.reach.max(level);
        Ok(())
    }

    /// Reports `nesting too deep` and gives up on the rest of the file: it
    /// is almost certainly generated or garbled, and skipping it keeps the
    /// work linear.
    fn too_deep(&mut self, span: Span) -> Abort {
        self.pos = self.tokens.len() - 1;
        self.eof_reported = true;
        self.error_at(span, "nesting too deep")
    }

    fn leave(&mut self) {
        self.depth -= 1;
    }
}

// Statements and error recovery.
impl Parser<'_> {
    /// Parses one statement into `out`; after an error, recovers instead.
    fn statement_into(&mut self, out: &mut Vec<Stmt>) {
        // An empty statement `;` is allowed and dropped.
        if self.eat(&Tok::Semi) {
            return;
        }
        let start = self.pos;
        let depth = self.depth;
        match self.statement() {
            Ok(stmt) => out.push(stmt),
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
        if self.at(&Tok::Eof) {
            // Nothing to skip (and no need to scan what came before).
            return;
        }
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

    fn statement(&mut self) -> PResult<Stmt> {
        let span = self.tok().span;
        // Pick the parse function first and call it once: this keeps this
        // frame small, which matters because blocks recurse through it.
        let parse: fn(&mut Self) -> PResult<StmtKind> = match self.peek() {
            Tok::Let => Self::let_stmt,
            Tok::If => Self::if_stmt,
            Tok::While => Self::while_stmt,
            Tok::For => Self::for_stmt,
            Tok::Return => Self::return_stmt,
            Tok::Break | Tok::Continue => Self::jump_stmt,
            // `fn(..) {..}` at the start of a statement is an expression.
            Tok::Fn if self.peek_at(1) != &Tok::LParen => Self::fn_stmt,
            Tok::LBrace => Self::block_stmt,
            _ => Self::expr_or_assign,
        };
        let kind = parse(self)?;
        Ok(Stmt { kind, span })
    }

    fn block_stmt(&mut self) -> PResult<StmtKind> {
        Ok(StmtKind::Block(self.block()?))
    }

    /// `break;` or `continue;`.
    fn jump_stmt(&mut self) -> PResult<StmtKind> {
        let keyword = self.advance();
        self.expect_semi()?;
        Ok(if keyword.kind == Tok::Break {
            StmtKind::Break
        } else {
            StmtKind::Continue
        })
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
        let cond = self.condition()?;
        let then_block = self.block()?;
        let else_branch = self.else_branch()?;
        Ok(StmtKind::If {
            cond,
            then_block,
            else_branch,
        })
    }

    fn else_branch(&mut self) -> PResult<Option<Box<Stmt>>> {
        if !self.eat(&Tok::Else) {
            return Ok(None);
        }
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
        Ok(Some(Box::new(Stmt { kind, span })))
    }

    /// An expression before a block (`if`, `while`, `for`). A `{` can only
    /// end an expression that has already started, so a condition that
    /// starts with `{` is a map literal: `for k in {a: 1} { .. }` works.
    fn condition(&mut self) -> PResult<Expr> {
        self.expr()
    }

    fn while_stmt(&mut self) -> PResult<StmtKind> {
        self.advance();
        let cond = self.condition()?;
        let body = self.block()?;
        Ok(StmtKind::While { cond, body })
    }

    /// `for x in a..b {..}` or `for x in iterable {..}`.
    fn for_stmt(&mut self) -> PResult<StmtKind> {
        self.advance();
        let var = self.ident()?;
        self.expect(&Tok::In, "'in'")?;
        let start = self.condition()?;
        if self.eat(&Tok::DotDot) {
            let end = self.condition()?;
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
    /// A function counts one level on top of its body block: compiling it
    /// nests a whole function state.
    fn fn_rest(&mut self, span: Span, name: Option<String>) -> PResult<Rc<FnDecl>> {
        self.enter(span)?;
        let params = self.params()?;
        let body = self.block()?;
        self.leave();
        Ok(Rc::new(FnDecl {
            name,
            params,
            body,
            span,
        }))
    }

    /// `(a, b, c)`, trailing comma allowed.
    fn params(&mut self) -> PResult<Vec<Ident>> {
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
        Ok(params)
    }

    /// An expression statement, or an assignment if an assignment operator
    /// follows the expression.
    fn expr_or_assign(&mut self) -> PResult<StmtKind> {
        let target = self.expr()?;
        if assign_op(self.peek()).is_some() {
            return self.assignment(target);
        }
        self.expect_semi()?;
        Ok(StmtKind::Expr(target))
    }

    /// The rest of `target op value;`, from the operator on.
    fn assignment(&mut self, target: Expr) -> PResult<StmtKind> {
        let op_token = self.advance();
        let op = assign_op(&op_token.kind).expect("checked by the caller");
        let assignable = matches!(
            target.kind,
            ExprKind::Var(_) | ExprKind::Index { .. } | ExprKind::Field { .. }
        );
        if !assignable {
            return Err(self.error_at(op_token.span, "invalid assignment target"));
        }
        let value = self.expr()?;
        self.expect_semi()?;
        Ok(StmtKind::Assign {
            target,
            op,
            op_span: op_token.span,
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
        // Nested brackets recurse through here; the operator loop lives in
        // its own function so this frame stays small.
        let lhs = self.prefix()?;
        self.infix_loop(lhs, min_bp)
    }

    fn infix_loop(&mut self, mut lhs: Expr, min_bp: u8) -> PResult<Expr> {
        let mut height = self.height;
        while let Some((op, bp)) = infix(self.peek()) {
            if bp < min_bp {
                break;
            }
            let span = self.advance().span;
            let rhs = Box::new(self.binary(bp + 1)?);
            height = height.max(self.height) + 1;
            self.set_height(height, span)?;
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
        self.height = height;
        Ok(lhs)
    }

    /// A prefix operator with its operand, or a primary with its postfix
    /// operators.
    fn prefix(&mut self) -> PResult<Expr> {
        if matches!(self.peek(), Tok::Minus | Tok::Tilde | Tok::Not) {
            return self.unary();
        }
        let primary = self.primary()?;
        self.postfix(primary)
    }

    /// `-` and `~` bind tighter than `*`; `not` takes a whole comparison
    /// (`not a == b` is `not (a == b)`).
    fn unary(&mut self) -> PResult<Expr> {
        let token = self.advance();
        let (op, operand_bp) = match token.kind {
            Tok::Minus => (UnOp::Neg, BP_UNARY),
            Tok::Tilde => (UnOp::BitNot, BP_UNARY),
            _ => (UnOp::Not, BP_NOT + 1),
        };
        let span = token.span;
        if op == UnOp::Neg && self.at_min_int_magnitude() {
            self.advance();
            self.height = 0;
            return Ok(Expr {
                kind: ExprKind::Int(i64::MIN),
                span,
            });
        }
        self.enter(span)?;
        let operand = Box::new(self.binary(operand_bp)?);
        self.leave();
        self.set_height(self.height + 1, span)?;
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

    /// Calls, indexing and field accesses after a primary expression.
    fn postfix(&mut self, mut expr: Expr) -> PResult<Expr> {
        let mut height = self.height;
        loop {
            let span = self.tok().span;
            let kind = match self.peek() {
                Tok::LParen => {
                    self.advance();
                    self.enter(span)?;
                    let args = self.args()?;
                    self.leave();
                    height = height.max(self.height);
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
                    height = height.max(self.height);
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
                _ => {
                    self.height = height;
                    return Ok(expr);
                }
            };
            height += 1;
            self.set_height(height, span)?;
            expr = Expr { kind, span };
        }
    }

    /// Call arguments after `(`, through the closing `)`.
    /// Leaves the tallest argument's height in `self.height`.
    fn args(&mut self) -> PResult<Vec<Expr>> {
        let mut args = Vec::new();
        let mut height = 0;
        while !self.at(&Tok::RParen) {
            let span = self.tok().span;
            args.push(self.expr()?);
            height = height.max(self.height);
            if args.len() == MAX_ARGS + 1 {
                self.error_at(span, "too many arguments");
            }
            if !self.eat(&Tok::Comma) {
                break;
            }
        }
        self.expect(&Tok::RParen, "')'")?;
        self.height = height;
        Ok(args)
    }

    /// Literals, names, and the bracketed forms. The recursive forms are
    /// separate functions so that this frame stays small.
    fn primary(&mut self) -> PResult<Expr> {
        match self.peek() {
            Tok::LParen => self.paren(),
            Tok::LBracket => self.array(),
            Tok::LBrace => self.map(),
            Tok::Fn => self.fn_expr(),
            _ => self.atom(),
        }
    }

    /// A literal or a name.
    fn atom(&mut self) -> PResult<Expr> {
        let span = self.tok().span;
        let kind = match self.peek() {
            Tok::Int(value) => {
                let value = *value;
                self.advance();
                ExprKind::Int(self.int_value(value, span))
            }
            Tok::Float(value) => {
                let value = *value;
                self.advance();
                ExprKind::Float(value)
            }
            Tok::Str(_) => match self.advance().kind {
                Tok::Str(text) => ExprKind::Str(text),
                _ => unreachable!("checked above"),
            },
            Tok::True | Tok::False => ExprKind::Bool(self.advance().kind == Tok::True),
            Tok::Nil => {
                self.advance();
                ExprKind::Nil
            }
            Tok::Ident => ExprKind::Var(self.ident()?.name),
            _ => return Err(self.error_here("expected expression")),
        };
        self.height = 0;
        Ok(Expr { kind, span })
    }

    /// `fn(params) {..}` as an expression.
    /// Its body hangs below it in the tree, so its height is how far the
    /// body reaches below the current level.
    fn fn_expr(&mut self) -> PResult<Expr> {
        let span = self.advance().span;
        let outer_reach = std::mem::replace(&mut self.reach, self.depth);
        let decl = self.fn_rest(span, None)?;
        let body_height = self.reach - self.depth;
        self.reach = self.reach.max(outer_reach);
        self.set_height(body_height, span)?;
        Ok(Expr {
            kind: ExprKind::Fn(decl),
            span,
        })
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
    fn array(&mut self) -> PResult<Expr> {
        let open = self.advance();
        self.enter(open.span)?;
        let mut items = Vec::new();
        let mut height = 0;
        while !self.at(&Tok::RBracket) {
            items.push(self.expr()?);
            height = height.max(self.height);
            if !self.eat(&Tok::Comma) {
                break;
            }
        }
        self.expect(&Tok::RBracket, "']'")?;
        self.leave();
        self.set_height(height + 1, open.span)?;
        Ok(Expr {
            kind: ExprKind::Array(items),
            span: open.span,
        })
    }

    /// `{k: v, ..}`; a bare identifier key is the string of its name.
    fn map(&mut self) -> PResult<Expr> {
        let open = self.advance();
        self.enter(open.span)?;
        let mut entries = Vec::new();
        let mut height = 0;
        while !self.at(&Tok::RBrace) {
            let key = if self.at(&Tok::Ident) && self.peek_at(1) == &Tok::Colon {
                let name = self.ident()?;
                self.height = 0;
                Expr {
                    kind: ExprKind::Str(name.name),
                    span: name.span,
                }
            } else {
                self.expr()?
            };
            let key_height = self.height;
            self.expect(&Tok::Colon, "':'")?;
            entries.push((key, self.expr()?));
            height = height.max(key_height).max(self.height);
            if !self.eat(&Tok::Comma) {
                break;
            }
        }
        self.expect(&Tok::RBrace, "'}'")?;
        self.leave();
        self.set_height(height + 1, open.span)?;
        Ok(Expr {
            kind: ExprKind::Map(entries),
            span: open.span,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A compact prefix form of an expression, for precedence tests.
    fn sx(e: &Expr) -> String {
        let list = |items: &[Expr]| items.iter().map(sx).collect::<Vec<_>>().join(" ");
        match &e.kind {
            ExprKind::Nil => "nil".into(),
            ExprKind::Bool(b) => b.to_string(),
            ExprKind::Int(i) => i.to_string(),
            ExprKind::Float(f) => format!("{f:?}"),
            ExprKind::Str(s) => format!("{s:?}"),
            ExprKind::Var(name) => name.clone(),
            ExprKind::Array(items) => format!("[{}]", list(items)),
            ExprKind::Map(entries) => {
                let entries: Vec<String> = entries
                    .iter()
                    .map(|(k, v)| format!("{}:{}", sx(k), sx(v)))
                    .collect();
                format!("{{{}}}", entries.join(" "))
            }
            ExprKind::Fn(f) => {
                let params: Vec<&str> = f.params.iter().map(|p| p.name.as_str()).collect();
                format!("(fn ({}) {})", params.join(" "), f.body.stmts.len())
            }
            ExprKind::Unary { op, operand } => {
                let op = match op {
                    UnOp::Neg => "-",
                    UnOp::BitNot => "~",
                    UnOp::Not => "not",
                };
                format!("({op} {})", sx(operand))
            }
            ExprKind::Binary { op, lhs, rhs } => {
                format!("({} {} {})", op.symbol(), sx(lhs), sx(rhs))
            }
            ExprKind::Logical { op, lhs, rhs } => {
                let op = if *op == LogicOp::And { "and" } else { "or" };
                format!("({op} {} {})", sx(lhs), sx(rhs))
            }
            ExprKind::Call { callee, args } => format!("(call {} {})", sx(callee), list(args)),
            ExprKind::Index { obj, index } => format!("(idx {} {})", sx(obj), sx(index)),
            ExprKind::Field { obj, name } => format!("(. {} {name})", sx(obj)),
        }
    }

    fn ok(src: &str) -> Vec<Stmt> {
        let (program, errors) = parse(src);
        assert!(errors.is_empty(), "{src:?}: {errors:?}");
        program.stmts
    }

    /// Parses `src;` as one expression statement.
    fn expr(src: &str) -> Expr {
        let mut stmts = ok(&format!("{src};"));
        assert_eq!(stmts.len(), 1);
        match stmts.pop().unwrap().kind {
            StmtKind::Expr(e) => e,
            other => panic!("not an expression: {other:?}"),
        }
    }

    fn e(src: &str) -> String {
        sx(&expr(src))
    }

    fn errs(src: &str) -> Vec<String> {
        parse(src).1.iter().map(|e| e.to_string()).collect()
    }

    fn first_err(src: &str) -> String {
        errs(src).into_iter().next().unwrap_or_default()
    }

    #[test]
    fn literals_and_names() {
        assert_eq!(e("nil"), "nil");
        assert_eq!(e("true"), "true");
        assert_eq!(e("false"), "false");
        assert_eq!(e("42"), "42");
        assert_eq!(e("0x10"), "16");
        assert_eq!(e("1.5"), "1.5");
        assert_eq!(e("\"hi\\n\""), "\"hi\\n\"");
        assert_eq!(e("x_1"), "x_1");
        assert_eq!(e("[]"), "[]");
        assert_eq!(e("[1, 2, 3,]"), "[1 2 3]");
        assert_eq!(e("({})"), "{}");
        assert_eq!(
            e("({a: 1, \"b\": 2, 1 + 1: 3, c + 1: 4,})"),
            "{\"a\":1 \"b\":2 (+ 1 1):3 (+ c 1):4}"
        );
        assert_eq!(e("fn() {}"), "(fn () 0)");
        assert_eq!(e("fn(a, b,) { return a; }"), "(fn (a b) 1)");
    }

    #[test]
    fn precedence() {
        assert_eq!(e("1 + 2 * 3"), "(+ 1 (* 2 3))");
        assert_eq!(e("(1 + 2) * 3"), "(* (+ 1 2) 3)");
        assert_eq!(e("a or b and c"), "(or a (and b c))");
        assert_eq!(e("a and b or c"), "(or (and a b) c)");
        assert_eq!(e("not a == b"), "(not (== a b))");
        assert_eq!(e("not a and b"), "(and (not a) b)");
        assert_eq!(e("a and not b or c"), "(or (and a (not b)) c)");
        assert_eq!(e("not not a"), "(not (not a))");
        // `not` may also start any operand, taking a comparison with it.
        assert_eq!(e("a == not b"), "(== a (not b))");
        assert_eq!(e("1 + not a == b"), "(+ 1 (not (== a b)))");
        assert_eq!(e("a == b | c"), "(== a (| b c))");
        assert_eq!(
            e("a | b ^ c & d << e + f * g"),
            "(| a (^ b (& c (<< d (+ e (* f g))))))"
        );
        assert_eq!(
            e("a * b + c << d & e ^ f | g"),
            "(| (^ (& (<< (+ (* a b) c) d) e) f) g)"
        );
        assert_eq!(e("-a * b"), "(* (- a) b)");
        assert_eq!(e("~a % b"), "(% (~ a) b)");
        assert_eq!(e("- -a"), "(- (- a))");
        assert_eq!(e("-a.b"), "(- (. a b))");
        assert_eq!(e("-f(x)[0]"), "(- (idx (call f x) 0))");
        assert_eq!(e("a < b"), "(< a b)");
        assert_eq!(e("(a <= b) != (c > d)"), "(!= (<= a b) (> c d))");
    }

    #[test]
    fn associativity() {
        assert_eq!(e("1 - 2 - 3"), "(- (- 1 2) 3)");
        assert_eq!(e("8 / 4 / 2"), "(/ (/ 8 4) 2)");
        assert_eq!(e("a << b >> c"), "(>> (<< a b) c)");
        assert_eq!(e("a or b or c"), "(or (or a b) c)");
        assert_eq!(e("a and b and c"), "(and (and a b) c)");
        assert_eq!(e("a | b | c"), "(| (| a b) c)");
    }

    #[test]
    fn postfix_chains() {
        assert_eq!(e("a.b[c](d, e,)"), "(call (idx (. a b) c) d e)");
        assert_eq!(e("f()()"), "(call (call f ) )");
        assert_eq!(e("m[\"k\"].x.y"), "(. (. (idx m \"k\") x) y)");
        assert_eq!(e("fn(x) { return x; }(1)"), "(call (fn (x) 1) 1)");
        assert_eq!(e("[1][0]"), "(idx [1] 0)");
    }

    #[test]
    fn min_int_literal() {
        assert_eq!(expr("-9223372036854775808").kind, ExprKind::Int(i64::MIN));
        assert_eq!(e("-9223372036854775808 - 1"), "(- -9223372036854775808 1)");
        assert_eq!(e("- 9223372036854775807"), "(- 9223372036854775807)");
        assert_eq!(e("--9223372036854775808"), "(- -9223372036854775808)");
        let too_large = "integer literal is too large";
        assert_eq!(
            first_err("9223372036854775808;"),
            format!("1:1: error: {too_large}")
        );
        assert_eq!(
            first_err("x - 9223372036854775808;"),
            format!("1:5: error: {too_large}")
        );
        assert_eq!(
            first_err("-9223372036854775808[0];"),
            format!("1:2: error: {too_large}")
        );
        assert_eq!(
            first_err("-(9223372036854775808);"),
            format!("1:3: error: {too_large}")
        );
        assert_eq!(
            first_err("18446744073709551616;"),
            format!("1:1: error: {too_large}")
        );
        assert_eq!(
            first_err("-18446744073709551615;"),
            format!("1:2: error: {too_large}")
        );
        assert_eq!(
            errs("let a = 9223372036854775808; let b = 99999999999999999999;").len(),
            2
        );
    }

    #[test]
    fn expression_spans() {
        let at = |e: &Expr| (e.span.line, e.span.col);
        let x = expr("a + b * c");
        assert_eq!(at(&x), (1, 3));
        let ExprKind::Binary { rhs, .. } = &x.kind else {
            panic!()
        };
        assert_eq!(at(rhs), (1, 7));
        assert_eq!(at(&expr("  foo (1)")), (1, 7));
        assert_eq!(at(&expr("a [1]")), (1, 3));
        assert_eq!(at(&expr("a\n  .b")), (2, 3));
        assert_eq!(at(&expr("x and y")), (1, 3));
        assert_eq!(at(&expr("  -x")), (1, 3));
        assert_eq!(at(&expr("not x")), (1, 1));
        assert_eq!(at(&expr("(((x)))")), (1, 4));
        assert_eq!(at(&expr("[1]")), (1, 1));
        assert_eq!(at(&expr("({})")), (1, 2));
        assert_eq!(at(&expr("\"é😀\" + x")), (1, 6));
        assert_eq!(at(&expr("\tx")), (1, 2));
        let f = expr(" fn() {}");
        let ExprKind::Fn(decl) = &f.kind else {
            panic!()
        };
        assert_eq!(
            (at(&f), decl.span, decl.body.span),
            ((1, 2), Span::new(1, 2), Span::new(1, 7))
        );
    }

    #[test]
    fn let_and_assignments() {
        let stmts = ok(
            "let x; let y = 1 + 2;\nx = 3; x += 1; x -= 1; x *= 2; x /= 2; x %= 2;\na[i] = v; m.k += 1;",
        );
        let StmtKind::Let { name, init: None } = &stmts[0].kind else {
            panic!()
        };
        assert_eq!((name.name.as_str(), name.span), ("x", Span::new(1, 5)));
        let StmtKind::Let {
            init: Some(init), ..
        } = &stmts[1].kind
        else {
            panic!()
        };
        assert_eq!(sx(init), "(+ 1 2)");
        let ops: Vec<AssignOp> = stmts[2..]
            .iter()
            .map(|s| match &s.kind {
                StmtKind::Assign { op, .. } => *op,
                other => panic!("{other:?}"),
            })
            .collect();
        use AssignOp::*;
        assert_eq!(ops, vec![Set, Add, Sub, Mul, Div, Mod, Set, Add]);
        let StmtKind::Assign {
            target,
            op_span,
            value,
            ..
        } = &stmts[8].kind
        else {
            panic!()
        };
        assert_eq!(
            (sx(target), sx(value), *op_span),
            ("(idx a i)".into(), "v".into(), Span::new(3, 6))
        );
        // The statement's span is its first token, not the `[`.
        assert_eq!(stmts[8].span, Span::new(3, 1));
        let StmtKind::Assign { target, .. } = &stmts[9].kind else {
            panic!()
        };
        assert_eq!(sx(target), "(. m k)");
    }

    #[test]
    fn control_flow() {
        let stmts = ok(
            "if a { 1; } else if (b) { 2; } else { 3; }\nwhile (x < 3) { x += 1; break; continue; }",
        );
        let StmtKind::If {
            cond,
            then_block,
            else_branch: Some(else_if),
        } = &stmts[0].kind
        else {
            panic!()
        };
        assert_eq!(
            (sx(cond), then_block.stmts.len(), then_block.span),
            ("a".into(), 1, Span::new(1, 6))
        );
        assert_eq!(else_if.span, Span::new(1, 18));
        let StmtKind::If {
            cond,
            else_branch: Some(last),
            ..
        } = &else_if.kind
        else {
            panic!()
        };
        assert_eq!(sx(cond), "b");
        assert_eq!(last.span, Span::new(1, 37));
        assert!(matches!(&last.kind, StmtKind::Block(b) if b.stmts.len() == 1));
        let StmtKind::While { cond, body } = &stmts[1].kind else {
            panic!()
        };
        assert_eq!(sx(cond), "(< x 3)");
        assert!(matches!(body.stmts[1].kind, StmtKind::Break));
        assert!(matches!(body.stmts[2].kind, StmtKind::Continue));
        assert_eq!(body.stmts[2].span, Span::new(2, 32));
        let stmts = ok("if x {} if x {} else {}");
        assert!(matches!(
            &stmts[0].kind,
            StmtKind::If {
                else_branch: None,
                ..
            }
        ));
        assert_eq!(stmts[1].span, Span::new(1, 9));
    }

    #[test]
    fn for_loops() {
        let stmts = ok("for i in 0..n + 1 { print(i); }\nfor x in xs {}\nfor k in ({a: 1}) {}");
        let StmtKind::ForRange {
            var,
            start,
            end,
            body,
        } = &stmts[0].kind
        else {
            panic!()
        };
        assert_eq!(
            (var.name.as_str(), sx(start), sx(end)),
            ("i", "0".into(), "(+ n 1)".into())
        );
        assert_eq!(body.stmts.len(), 1);
        let StmtKind::ForIn { var, iterable, .. } = &stmts[1].kind else {
            panic!()
        };
        assert_eq!(
            (var.name.as_str(), sx(iterable), var.span),
            ("x", "xs".into(), Span::new(2, 5))
        );
        let StmtKind::ForIn { iterable, .. } = &stmts[2].kind else {
            panic!()
        };
        assert_eq!(sx(iterable), "{\"a\":1}");
    }

    #[test]
    fn functions_and_returns() {
        let stmts = ok("fn add(a, b) { return a + b; }\nfn f() { return; }\nfn(x) {}(1);");
        let StmtKind::Fn { name, func } = &stmts[0].kind else {
            panic!()
        };
        assert_eq!((name.name.as_str(), name.span), ("add", Span::new(1, 4)));
        assert_eq!(func.name.as_deref(), Some("add"));
        assert_eq!(func.span, Span::new(1, 1));
        let params: Vec<_> = func
            .params
            .iter()
            .map(|p| (p.name.as_str(), p.span.col))
            .collect();
        assert_eq!(params, vec![("a", 8), ("b", 11)]);
        let StmtKind::Return(Some(value)) = &func.body.stmts[0].kind else {
            panic!()
        };
        assert_eq!(sx(value), "(+ a b)");
        let StmtKind::Fn { func, .. } = &stmts[1].kind else {
            panic!()
        };
        assert!(matches!(func.body.stmts[0].kind, StmtKind::Return(None)));
        assert!(matches!(&stmts[2].kind, StmtKind::Expr(e) if sx(e) == "(call (fn (x) 0) 1)"));
    }

    #[test]
    fn blocks_and_empty_statements() {
        let stmts = ok("{ let x = 1; { x; } } ; {}");
        assert_eq!(stmts.len(), 2);
        let StmtKind::Block(block) = &stmts[0].kind else {
            panic!()
        };
        assert_eq!((block.stmts.len(), block.span), (2, Span::new(1, 1)));
        assert!(matches!(&stmts[1].kind, StmtKind::Block(b) if b.stmts.is_empty()));
        assert!(ok("").is_empty());
        assert!(ok("// only a comment\n").is_empty());
    }

    #[test]
    fn error_messages() {
        let cases = [
            ("let x = ;", "1:9: error: expected expression, found ';'"),
            ("fn f() { g() }", "1:14: error: expected ';', found '}'"),
            ("x = 1", "1:6: error: expected ';', found end of file"),
            ("x = 1\n", "2:1: error: expected ';', found end of file"),
            (
                "a < b < c;",
                "1:7: error: comparison operators cannot be chained",
            ),
            (
                "a == b != c;",
                "1:8: error: comparison operators cannot be chained",
            ),
            (
                "not a < b >= c;",
                "1:11: error: comparison operators cannot be chained",
            ),
            ("1 = 2;", "1:3: error: invalid assignment target"),
            ("f() = 3;", "1:5: error: invalid assignment target"),
            ("a + b += 1;", "1:7: error: invalid assignment target"),
            ("a = b = 1;", "1:7: error: expected ';', found '='"),
            ("let 1 = 2;", "1:5: error: expected identifier, found '1'"),
            ("let = 2;", "1:5: error: expected identifier, found '='"),
            ("fn (a) {}", "1:10: error: expected ';', found end of file"),
            ("fn 1() {}", "1:4: error: expected identifier, found '1'"),
            ("fn f(a b) {}", "1:8: error: expected ')', found 'b'"),
            ("fn f(1) {}", "1:6: error: expected identifier, found '1'"),
            ("fn f() return;", "1:8: error: expected '{', found 'return'"),
            ("if x y;", "1:6: error: expected '{', found 'y'"),
            ("while {}", "1:9: error: expected '{', found end of file"),
            ("if {a: 1} x", "1:11: error: expected '{', found 'x'"),
            (
                "for 1 in x {}",
                "1:5: error: expected identifier, found '1'",
            ),
            ("for i x {}", "1:7: error: expected 'in', found 'x'"),
            (
                "for i in 0.. {}",
                "1:16: error: expected '{', found end of file",
            ),
            ("f(1 2);", "1:5: error: expected ')', found '2'"),
            ("f(,);", "1:3: error: expected expression, found ','"),
            ("[1 2];", "1:4: error: expected ']', found '2'"),
            ("a[1;", "1:4: error: expected ']', found ';'"),
            ("({a 1});", "1:5: error: expected ':', found '1'"),
            ("({a: 1 b: 2});", "1:8: error: expected '}', found 'b'"),
            ("x.1;", "1:3: error: expected identifier, found '1'"),
            ("x.if;", "1:3: error: expected identifier, found 'if'"),
            (
                "let while = 1;",
                "1:5: error: expected identifier, found 'while'",
            ),
            ("(1;", "1:3: error: expected ')', found ';'"),
            ("break", "1:6: error: expected ';', found end of file"),
            ("return 1 2;", "1:10: error: expected ';', found '2'"),
            ("x ..;", "1:3: error: expected ';', found '..'"),
            ("}", "1:1: error: expected expression, found '}'"),
            ("else {}", "1:1: error: expected expression, found 'else'"),
            ("{", "1:2: error: expected '}', found end of file"),
            (
                "print(\"a\nb\" \"c\");",
                "2:4: error: expected ')', found '\"c\"'",
            ),
            ("let é = 1;", "1:5: error: unexpected character 'é'"),
        ];
        for (src, expected) in cases {
            assert_eq!(errs(src), vec![expected.to_string()], "{src:?}");
        }
    }

    #[test]
    fn lexer_errors_do_not_cascade() {
        assert_eq!(
            errs("let x = $;"),
            vec!["1:9: error: unexpected character '$'"]
        );
        assert_eq!(
            errs("let x = 1 $ 2;\nlet y = ;"),
            vec![
                "1:11: error: unexpected character '$'",
                "2:9: error: expected expression, found ';'",
            ]
        );
        assert_eq!(
            errs("fn f() { let s = \"abc; }"),
            vec!["1:18: error: unterminated string"]
        );
        assert_eq!(
            errs("fn f() { /* x; }"),
            vec!["1:10: error: unterminated block comment"]
        );
        assert_eq!(
            errs("let x = 0x;"),
            vec!["1:9: error: invalid number literal"]
        );
        assert_eq!(
            errs("let s = \"\\q\" + 1 +;"),
            vec![
                "1:10: error: invalid escape sequence '\\q'",
                "1:19: error: expected expression, found ';'",
            ]
        );
    }

    #[test]
    fn found_text_stays_on_one_line() {
        // A string token spanning lines is quoted with `\n`.
        assert_eq!(
            errs("h\"+\n\";"),
            vec!["1:2: error: expected ';', found '\"+\\n\"'"]
        );
        // Long tokens are cut after 40 characters.
        let long = format!("x = 1 \"{}\";", "a".repeat(100));
        assert_eq!(
            errs(&long),
            vec![format!(
                "1:7: error: expected ';', found '\"{}...'",
                "a".repeat(39)
            )]
        );
    }

    #[test]
    fn recovery_reports_every_statement() {
        let src = "let a = ;\nlet b = 1;\nfn f() {\n  let c = ;\n  return c +;\n  let d = 2;\n}\nx = = 1;\nprint(b);";
        let (program, errors) = parse(src);
        let errors: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
        assert_eq!(
            errors,
            vec![
                "1:9: error: expected expression, found ';'",
                "4:11: error: expected expression, found ';'",
                "5:13: error: expected expression, found ';'",
                "8:5: error: expected expression, found '='",
            ]
        );
        // The good statements survive, including inside the function.
        assert_eq!(program.stmts.len(), 3);
        let StmtKind::Fn { func, .. } = &program.stmts[1].kind else {
            panic!()
        };
        assert_eq!(func.body.stmts.len(), 1);
    }

    #[test]
    fn recovery_respects_brackets() {
        // One error each: skipping honours nested braces and parentheses.
        let cases = [
            "let m = {a: 1 b: 2}; let ok = 1;",
            "f(1 2, fn() { a; b; }); let ok = 1;",
            "if (a b) { x(); } let ok = 1;",
            "let x = [1, 2; let ok = 1;",
            "let x = (1 + ; let ok = 1;",
            "foo(fn() { let y = 1 }); let ok = 1;",
            "let x = 1\nlet ok = 1;",
        ];
        for src in cases {
            let (program, errors) = parse(src);
            assert_eq!(errors.len(), 1, "{src:?}: {errors:?}");
            let last = program.stmts.last().map(|s| &s.kind);
            assert!(
                matches!(last, Some(StmtKind::Let { name, .. }) if name.name == "ok"),
                "{src:?}: {:?}",
                program.stmts
            );
        }
        // An unclosed block is reported once at the end of the file.
        assert_eq!(
            errs("fn f() { if x { while y {"),
            vec!["1:26: error: expected '}', found end of file"]
        );
    }

    #[test]
    fn too_many_parameters_and_arguments() {
        let names: Vec<String> = (0..256).map(|i| format!("p{i}")).collect();
        let ok_params = format!("fn f({}) {{}}", names[..255].join(", "));
        assert!(errs(&ok_params).is_empty());
        let src = format!("fn f({}) {{}}", names.join(", "));
        assert_eq!(
            errs(&src),
            vec![format!(
                "1:{}: error: too many parameters",
                src.find("p255").unwrap() + 1
            )]
        );
        let ok_args = format!("f({});", vec!["1"; 255].join(","));
        assert!(errs(&ok_args).is_empty());
        let src = format!("f({});", vec!["1"; 257].join(","));
        assert_eq!(
            errs(&src),
            vec![format!("1:{}: error: too many arguments", 2 + 255 * 2 + 1)]
        );
    }

    /// Runs `f` on a thread with the usual 8 MiB main-thread stack.
    fn with_normal_stack(f: impl FnOnce() + Send + 'static) {
        std::thread::Builder::new()
            .stack_size(8 << 20)
            .spawn(f)
            .unwrap()
            .join()
            .unwrap();
    }

    #[test]
    fn nesting_limit() {
        with_normal_stack(|| {
            let nested = |open: &str, inner: &str, close: &str, n: usize| {
                format!("{}{inner}{}", open.repeat(n), close.repeat(n))
            };
            let deepest = MAX_DEPTH as usize;
            for (open, inner, close) in [
                ("(", "1", ")"),
                ("[", "1", "]"),
                ("-", "1", ""),
                ("not ", "1", ""),
            ] {
                let ok_src = format!("x = {};", nested(open, inner, close, deepest));
                assert!(errs(&ok_src).is_empty(), "{open}");
                let bad = format!("x = {};", nested(open, inner, close, deepest + 1));
                assert_eq!(
                    errs(&bad),
                    vec![format!(
                        "1:{}: error: nesting too deep",
                        5 + deepest * open.len()
                    )]
                );
            }
            let blocks = nested("{", "", "}", deepest);
            assert!(errs(&blocks).is_empty());
            assert!(errs(&format!("x = {};", nested("({a:", "1", "})", deepest / 2))).is_empty());
            assert_eq!(
                first_err(&nested("{", "", "}", deepest + 1)),
                format!("1:{}: error: nesting too deep", deepest + 1)
            );
            let calls = format!("{}1{};", "f(".repeat(deepest + 1), ")".repeat(deepest + 1));
            assert_eq!(
                errs(&calls),
                vec![format!("1:{}: error: nesting too deep", 2 * deepest + 2)]
            );
        });
    }

    #[test]
    fn huge_nesting_fails_cleanly() {
        with_normal_stack(|| {
            let n = 100_000;
            for open in [
                "(",
                "[",
                "{",
                "-",
                "~",
                "not ",
                "f(",
                "a[",
                "fn() {",
                "if x {} else ",
            ] {
                let src = open.repeat(n);
                let errors = errs(&src);
                assert!(
                    errors[0].ends_with("nesting too deep"),
                    "{open}: {errors:?}"
                );
                assert!(errors.len() <= 2, "{open}: {errors:?}");
            }
            let src = format!("x = {}1{};", "(".repeat(n), ")".repeat(n));
            assert_eq!(errs(&src).len(), 1);
        });
    }

    #[test]
    fn long_chains_count_as_nesting() {
        with_normal_stack(|| {
            // A chain is a loop for the parser but a deep tree afterwards.
            let deepest = MAX_DEPTH as usize;
            for link in [" + 1", ".b", "[0]", "(0)", " or 1"] {
                let ok_src = format!("x = a{};", link.repeat(deepest));
                assert!(errs(&ok_src).is_empty(), "{link}");
                let long = format!("x = a{};", link.repeat(100_000));
                assert_eq!(errs(&long).len(), 1, "{link}");
                assert!(errs(&long)[0].ends_with("nesting too deep"));
            }
            // Nesting and chain height add up, including through function
            // bodies, which hang below the expression they appear in.
            let half = "(".repeat(600) + "a" + &" + 1".repeat(600) + &")".repeat(600);
            assert!(errs(&format!("x = {half};"))[0].ends_with("nesting too deep"));
            let inner = format!("fn() {{ return a{}; }}", " + 1".repeat(600));
            let src = format!("x = {inner}{};", " + 1".repeat(600));
            assert!(errs(&src)[0].ends_with("nesting too deep"));
            let src = format!("x = {inner}{};", " + 1".repeat(300));
            assert!(errs(&src).is_empty());
        });
    }

    #[test]
    fn long_flat_inputs_are_fine() {
        let stmts = "x = 1;\n".repeat(100_000);
        assert_eq!(ok(&stmts).len(), 100_000);
        let array = format!("x = [{}];", "1, ".repeat(100_000));
        assert!(errs(&array).is_empty());
    }

    /// A tiny deterministic generator (xorshift) for garbled inputs.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    const PIECES: &[&str] = &[
        "fn",
        "let",
        "if",
        "else",
        "while",
        "for",
        "in",
        "return",
        "break",
        "continue",
        "true",
        "false",
        "nil",
        "and",
        "or",
        "not",
        "x",
        "y",
        "f",
        "0",
        "9223372036854775808",
        "99999999999999999999",
        "1.5",
        "1e",
        "0x",
        "\"s\"",
        "\"\\q\"",
        "\"\\u{D800}\"",
        "\"",
        "/*",
        "*/",
        "//",
        "+",
        "-",
        "*",
        "/",
        "%",
        "&",
        "|",
        "^",
        "~",
        "<<",
        ">>",
        "==",
        "!=",
        "<",
        "<=",
        ">",
        ">=",
        "=",
        "+=",
        "-=",
        "(",
        ")",
        "[",
        "]",
        "{",
        "}",
        ",",
        ";",
        ":",
        ".",
        "..",
        "$",
        "é",
        "😀",
        "\n",
        " ",
        "\t",
        "\\",
    ];

    #[test]
    fn garbled_inputs_never_panic() {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let samples = [
            "fn f(a, b) { let c = a + b * 2; if c > 3 { return [c, {k: c}]; } }",
            "for i in 0..10 { x[i] += f(i).y; while not done { break; } }",
        ];
        for round in 0..600 {
            let src: String = match round % 3 {
                // Token soup.
                0 => (0..rng.below(60))
                    .map(|_| PIECES[rng.below(PIECES.len())])
                    .collect::<Vec<_>>()
                    .join(" "),
                // A valid program with random edits.
                1 => {
                    let mut chars: Vec<char> = samples[round % 2].chars().collect();
                    for _ in 0..1 + rng.below(4) {
                        let at = rng.below(chars.len());
                        match rng.below(3) {
                            0 => drop(chars.remove(at)),
                            1 => chars.insert(
                                at,
                                PIECES[rng.below(PIECES.len())].chars().next().unwrap(),
                            ),
                            _ => {
                                let other = rng.below(chars.len());
                                chars.swap(at, other)
                            }
                        }
                    }
                    chars.into_iter().collect()
                }
                // Arbitrary characters.
                _ => (0..rng.below(80))
                    .map(|_| char::from_u32(rng.below(0x3000) as u32).unwrap_or('?'))
                    .collect(),
            };
            let (_, errors) = parse(&src);
            let positions: Vec<(u32, u32)> = errors.iter().map(|e| (e.line, e.col)).collect();
            assert!(positions.is_sorted(), "{src:?}");
        }
    }
}
