//! Compiler tests on hand-built ASTs, so that they pin positions exactly and
//! do not depend on the parser. Each test shows the source it stands for.

use std::rc::Rc;

use super::{CompileOptions, compile};
use crate::ast::*;
use crate::bytecode::Op::*;
use crate::bytecode::{Constant, FunctionProto, GlobalNames, UpvalDesc};
use crate::diag::CompileError;

// ---- AST builders: `p` is (line, column) ---------------------------------

type P = (u32, u32);

fn sp(p: P) -> Span {
    Span::new(p.0, p.1)
}
fn ex(p: P, kind: ExprKind) -> Expr {
    Expr { kind, span: sp(p) }
}
fn var(p: P, name: &str) -> Expr {
    ex(p, ExprKind::Var(name.into()))
}
fn int(p: P, v: i64) -> Expr {
    ex(p, ExprKind::Int(v))
}
fn string(p: P, s: &str) -> Expr {
    ex(p, ExprKind::Str(s.into()))
}
fn bin(p: P, op: BinOp, l: Expr, r: Expr) -> Expr {
    let (lhs, rhs) = (Box::new(l), Box::new(r));
    ex(p, ExprKind::Binary { op, lhs, rhs })
}
fn call(p: P, callee: Expr, args: Vec<Expr>) -> Expr {
    let callee = Box::new(callee);
    ex(p, ExprKind::Call { callee, args })
}
fn index(p: P, obj: Expr, i: Expr) -> Expr {
    let (obj, index) = (Box::new(obj), Box::new(i));
    ex(p, ExprKind::Index { obj, index })
}
fn field(p: P, obj: Expr, name: &str) -> Expr {
    let obj = Box::new(obj);
    ex(
        p,
        ExprKind::Field {
            obj,
            name: name.into(),
        },
    )
}
fn lambda(p: P, params: &[(P, &str)], body: Vec<Stmt>) -> Expr {
    ex(p, ExprKind::Fn(decl(p, None, params, body)))
}
fn id(p: P, name: &str) -> Ident {
    Ident {
        name: name.into(),
        span: sp(p),
    }
}
fn block(p: P, stmts: Vec<Stmt>) -> Block {
    Block { stmts, span: sp(p) }
}
fn decl(p: P, name: Option<&str>, params: &[(P, &str)], body: Vec<Stmt>) -> Rc<FnDecl> {
    Rc::new(FnDecl {
        name: name.map(String::from),
        params: params.iter().map(|&(q, n)| id(q, n)).collect(),
        body: block(p, body),
        span: sp(p),
    })
}
fn st(p: P, kind: StmtKind) -> Stmt {
    Stmt { kind, span: sp(p) }
}
/// `let name = init;` with the name 4 columns after `let`.
fn let_(p: P, name: &str, init: Option<Expr>) -> Stmt {
    let name = id((p.0, p.1 + 4), name);
    st(p, StmtKind::Let { name, init })
}
fn fn_(p: P, name: &str, params: &[(P, &str)], body: Vec<Stmt>) -> Stmt {
    let func = decl(p, Some(name), params, body);
    st(
        p,
        StmtKind::Fn {
            name: id((p.0, p.1 + 3), name),
            func,
        },
    )
}
fn expr_stmt(e: Expr) -> Stmt {
    st((e.span.line, 1), StmtKind::Expr(e))
}
fn assign(target: Expr, op: AssignOp, op_p: P, value: Expr) -> Stmt {
    let p = (target.span.line, 1);
    let op_span = sp(op_p);
    st(
        p,
        StmtKind::Assign {
            target,
            op,
            op_span,
            value,
        },
    )
}
fn ret(p: P, e: Option<Expr>) -> Stmt {
    st(p, StmtKind::Return(e))
}
fn for_range(p: P, v: &str, a: Expr, b: Expr, body: Vec<Stmt>) -> Stmt {
    let (var, body) = (id((p.0, p.1 + 4), v), block(p, body));
    st(
        p,
        StmtKind::ForRange {
            var,
            start: a,
            end: b,
            body,
        },
    )
}
fn while_(p: P, cond: Expr, body: Vec<Stmt>) -> Stmt {
    let body = block(p, body);
    st(p, StmtKind::While { cond, body })
}
fn block_stmt(p: P, stmts: Vec<Stmt>) -> Stmt {
    st(p, StmtKind::Block(block(p, stmts)))
}

// ---- helpers -------------------------------------------------------------

const P1: P = (1, 1);

fn try_compile(stmts: Vec<Stmt>) -> Result<Rc<FunctionProto>, Vec<CompileError>> {
    compile(
        &Program { stmts },
        &mut GlobalNames::default(),
        CompileOptions::default(),
    )
}

fn ok(stmts: Vec<Stmt>) -> Rc<FunctionProto> {
    try_compile(stmts).unwrap_or_else(|e| panic!("unexpected errors: {e:?}"))
}

/// The errors as `(line, col, message)`.
fn errs(stmts: Vec<Stmt>) -> Vec<(u32, u32, String)> {
    match try_compile(stmts) {
        Ok(_) => panic!("expected compile errors"),
        Err(es) => es.into_iter().map(|e| (e.line, e.col, e.message)).collect(),
    }
}

fn err1(stmts: Vec<Stmt>) -> (u32, u32, String) {
    let es = errs(stmts);
    assert_eq!(es.len(), 1, "{es:?}");
    es[0].clone()
}

fn e(line: u32, col: u32, msg: &str) -> (u32, u32, String) {
    (line, col, msg.to_string())
}

// ---- globals, locals, upvalues --------------------------------------------

#[test]
fn file_scope_let_is_a_global() {
    // let x = 1; print(x);
    let f = ok(vec![
        let_(P1, "x", Some(int(P1, 1))),
        expr_stmt(call((2, 6), var((2, 1), "print"), vec![var((2, 7), "x")])),
    ]);
    let code = vec![
        Int { v: 1 },
        DefineGlobal { g: 0 },
        GetBuiltin { b: 0 },
        GetGlobal { g: 0 },
        Call { argc: 1 },
        Pop,
        Nil,
        Return,
    ];
    assert_eq!(f.code, code);
    assert_eq!(f.lines, vec![1, 1, 2, 2, 2, 2, 2, 2]);
    assert_eq!(f.name.as_deref(), Some("<script>"));
    assert_eq!((f.arity, f.max_slots), (0, 3));
}

#[test]
fn functions_see_globals_declared_later() {
    // fn f() { return g(); }  fn g() { return f(); }
    let call_g = call((1, 18), var((1, 17), "g"), vec![]);
    let call_f = call((2, 18), var((2, 17), "f"), vec![]);
    let mut globals = GlobalNames::default();
    let program = Program {
        stmts: vec![
            fn_(P1, "f", &[], vec![ret((1, 10), Some(call_g))]),
            fn_((2, 1), "g", &[], vec![ret((2, 10), Some(call_f))]),
        ],
    };
    let s = compile(&program, &mut globals, CompileOptions::default()).unwrap();
    assert_eq!(globals.names, vec!["f", "g"]);
    let code = vec![Closure { proto: 0 }, DefineGlobal { g: 0 }];
    assert_eq!(s.code[..2], code);
    assert_eq!(
        s.protos[0].code,
        vec![GetGlobal { g: 1 }, Call { argc: 0 }, Return]
    );
    assert_eq!(s.protos[0].name.as_deref(), Some("f"));
    assert_eq!(s.protos[0].max_slots, 2);
}

#[test]
fn earlier_repl_globals_are_visible_and_failed_inputs_declare_nothing() {
    let mut globals = GlobalNames::default();
    globals.intern("old");
    // let new = old; nope;
    let program = Program {
        stmts: vec![
            let_(P1, "new", Some(var((1, 11), "old"))),
            expr_stmt(var((2, 1), "nope")),
        ],
    };
    let errors = compile(&program, &mut globals, CompileOptions::default()).unwrap_err();
    assert_eq!(errors[0].message, "undefined variable 'nope'");
    assert_eq!(globals.names, vec!["old"]);
    // let new = old;
    let program = Program {
        stmts: vec![let_(P1, "new", Some(var((1, 11), "old")))],
    };
    let s = compile(&program, &mut globals, CompileOptions::default()).unwrap();
    assert_eq!(globals.names, vec!["old", "new"]);
    assert_eq!(s.code[..2], [GetGlobal { g: 0 }, DefineGlobal { g: 1 }]);
}

#[test]
fn locals_in_blocks_are_slots_and_are_popped() {
    // { let a = 1; let b = a; { let a = b; } a; }
    let f = ok(vec![block_stmt(
        P1,
        vec![
            let_(P1, "a", Some(int(P1, 1))),
            let_(P1, "b", Some(var(P1, "a"))),
            block_stmt(P1, vec![let_(P1, "a", Some(var(P1, "b")))]),
            expr_stmt(var(P1, "a")),
        ],
    )]);
    let code = vec![
        Int { v: 1 },
        GetLocal { slot: 1 },
        GetLocal { slot: 2 },
        Pop,
        GetLocal { slot: 1 },
        Pop,
        PopN { n: 2 },
        Nil,
        Return,
    ];
    assert_eq!(f.code, code);
    assert_eq!(f.max_slots, 4);
}

#[test]
fn let_initializer_sees_the_outer_variable() {
    // fn f(x) { { let x = x + 1; } }
    let init = bin((1, 22), BinOp::Add, var((1, 20), "x"), int((1, 24), 1));
    let inner = block_stmt((1, 11), vec![let_((1, 13), "x", Some(init))]);
    let f = ok(vec![fn_(P1, "f", &[((1, 6), "x")], vec![inner])]);
    let code = vec![GetLocal { slot: 1 }, AddInt { v: 1 }, Pop, Nil, Return];
    assert_eq!(f.protos[0].code, code);
    // `AddInt` needs no slot for its operand.
    assert_eq!(f.protos[0].max_slots, 3);
}

#[test]
fn body_may_shadow_a_parameter() {
    // fn f(x) { let x = 2; return x; }
    let body = vec![
        let_((1, 11), "x", Some(int(P1, 2))),
        ret(P1, Some(var(P1, "x"))),
    ];
    let f = ok(vec![fn_(P1, "f", &[((1, 6), "x")], body)]);
    assert_eq!(
        f.protos[0].code,
        vec![Int { v: 2 }, GetLocal { slot: 2 }, Return]
    );
}

#[test]
fn upvalues_chain_through_enclosing_functions() {
    // fn outer(a) { let b = 2; fn mid() { fn inner() { return a + b; } return inner; } return mid; }
    let sum = bin(P1, BinOp::Add, var(P1, "a"), var(P1, "b"));
    let inner = fn_(P1, "inner", &[], vec![ret(P1, Some(sum))]);
    let mid = fn_(P1, "mid", &[], vec![inner, ret(P1, Some(var(P1, "inner")))]);
    let outer_body = vec![
        let_(P1, "b", Some(int(P1, 2))),
        mid,
        ret(P1, Some(var(P1, "mid"))),
    ];
    let s = ok(vec![fn_(P1, "outer", &[(P1, "a")], outer_body)]);
    let outer = &s.protos[0];
    let mid = &outer.protos[0];
    let inner = &mid.protos[0];
    let up = |is_local, index| UpvalDesc { is_local, index };
    assert_eq!(inner.upvals, vec![up(false, 0), up(false, 1)]);
    assert_eq!(
        inner.code,
        vec![GetUpval { idx: 0 }, GetUpval { idx: 1 }, Add, Return]
    );
    assert_eq!(mid.upvals, vec![up(true, 1), up(true, 2)]);
    // `inner` is a local of `mid` (slot 1), read directly.
    assert_eq!(
        mid.code,
        vec![
            Nil,
            Closure { proto: 0 },
            SetLocal { slot: 1 },
            GetLocal { slot: 1 },
            Return
        ]
    );
    // `outer`'s locals are captured, but `Return` closes them.
    assert!(!outer.code.iter().any(|op| matches!(op, CloseUpvals { .. })));
}

#[test]
fn local_function_can_call_itself() {
    // { fn f(n) { return f(n); } }
    let body = vec![ret(P1, Some(call(P1, var(P1, "f"), vec![var(P1, "n")])))];
    let s = ok(vec![block_stmt(P1, vec![fn_(P1, "f", &[(P1, "n")], body)])]);
    let f = &s.protos[0];
    assert_eq!(
        f.upvals,
        vec![UpvalDesc {
            is_local: true,
            index: 1
        }]
    );
    assert_eq!(f.code[0], GetUpval { idx: 0 });
    let code = vec![
        Nil,
        Closure { proto: 0 },
        SetLocal { slot: 1 },
        CloseUpvals { slot: 1 },
        Pop,
        Nil,
        Return,
    ];
    assert_eq!(s.code, code);
}

#[test]
fn closure_assigning_captured_local() {
    // fn f() { let n = 0; return fn() { n += 1; }; }
    let incr = assign(var((1, 30), "n"), AssignOp::Add, (1, 32), int(P1, 1));
    let body = vec![
        let_(P1, "n", Some(int(P1, 0))),
        ret(P1, Some(lambda(P1, &[], vec![incr]))),
    ];
    let s = ok(vec![fn_(P1, "f", &[], body)]);
    let g = &s.protos[0].protos[0];
    assert_eq!(g.name, None);
    let code = vec![
        GetUpval { idx: 0 },
        AddInt { v: 1 },
        SetUpval { idx: 0 },
        Nil,
        Return,
    ];
    assert_eq!(g.code, code);
}

// ---- compile errors ----------------------------------------------------------

#[test]
fn undefined_variable() {
    // print(y);
    let err = err1(vec![expr_stmt(call(
        (1, 6),
        var(P1, "print"),
        vec![var((1, 7), "y")],
    ))]);
    assert_eq!(err, e(1, 7, "undefined variable 'y'"));
    // x = z;
    let target = var((3, 1), "x");
    let es = errs(vec![assign(
        target,
        AssignOp::Set,
        (3, 3),
        var((3, 5), "z"),
    )]);
    let expected = vec![
        e(3, 1, "undefined variable 'x'"),
        e(3, 5, "undefined variable 'z'"),
    ];
    assert_eq!(es, expected);
}

#[test]
fn block_locals_are_not_globals() {
    // { let x = 1; } x;
    let es = err1(vec![
        block_stmt(P1, vec![let_((1, 3), "x", Some(int(P1, 1)))]),
        expr_stmt(var((2, 1), "x")),
    ]);
    assert_eq!(es, e(2, 1, "undefined variable 'x'"));
}

#[test]
fn builtins_are_reserved() {
    let es = errs(vec![
        // let len = 1;
        let_((1, 1), "len", Some(int(P1, 1))),
        // fn print() {}
        fn_((2, 1), "print", &[], vec![]),
        // fn f(str) {}
        fn_((3, 1), "f", &[((3, 6), "str")], vec![]),
        // for type in 0..1 {}
        for_range((4, 1), "type", int(P1, 0), int(P1, 1), vec![]),
        // keys = 1;
        assign(var((5, 1), "keys"), AssignOp::Set, (5, 6), int(P1, 1)),
        // { let has = 1; }
        block_stmt((6, 1), vec![let_((6, 3), "has", None)]),
    ]);
    let expected = vec![
        e(1, 5, "cannot redefine builtin 'len'"),
        e(2, 4, "cannot redefine builtin 'print'"),
        e(3, 6, "cannot redefine builtin 'str'"),
        e(4, 5, "cannot redefine builtin 'type'"),
        e(5, 1, "cannot assign to builtin 'keys'"),
        e(6, 7, "cannot redefine builtin 'has'"),
    ];
    assert_eq!(es, expected);
}

#[test]
fn builtins_resolve_to_get_builtin() {
    // clock;
    let f = ok(vec![expr_stmt(var(P1, "clock"))]);
    assert_eq!(f.code[0], GetBuiltin { b: 14 });
}

#[test]
fn redeclaration() {
    // let x = 1; let x = 2;   (file scope: allowed)
    ok(vec![
        let_(P1, "x", Some(int(P1, 1))),
        let_((2, 1), "x", Some(int(P1, 2))),
    ]);
    // { let x; let x; }  fn f() { let y; let y; }  fn g(a, b, a) {}
    let es = errs(vec![
        block_stmt(P1, vec![let_((1, 3), "x", None), let_((1, 11), "x", None)]),
        fn_(
            (2, 1),
            "f",
            &[],
            vec![let_((2, 10), "y", None), let_((2, 18), "y", None)],
        ),
        fn_(
            (3, 1),
            "g",
            &[((3, 6), "a"), ((3, 9), "b"), ((3, 12), "a")],
            vec![],
        ),
    ]);
    let expected = vec![
        e(1, 15, "variable 'x' is already declared in this scope"),
        e(2, 22, "variable 'y' is already declared in this scope"),
        e(3, 12, "duplicate parameter 'a'"),
    ];
    assert_eq!(es, expected);
}

#[test]
fn local_fn_redeclared_in_block() {
    // { let f; fn f() {} }
    let es = err1(vec![block_stmt(
        P1,
        vec![let_((1, 3), "f", None), fn_((1, 11), "f", &[], vec![])],
    )]);
    assert_eq!(
        es,
        e(1, 14, "variable 'f' is already declared in this scope")
    );
}

#[test]
fn break_continue_return_placement() {
    let brk = |p| st(p, StmtKind::Break);
    let cont = |p| st(p, StmtKind::Continue);
    let es = errs(vec![
        // break;
        brk((1, 1)),
        // { continue; }
        block_stmt((2, 1), vec![cont((2, 3))]),
        // return 1;
        ret((3, 1), Some(int(P1, 1))),
        // while true { let f = fn() { break; }; }
        while_(
            (4, 1),
            ex(P1, ExprKind::Bool(true)),
            vec![let_(
                (4, 14),
                "f",
                Some(lambda((4, 22), &[], vec![brk((4, 29))])),
            )],
        ),
        // if true { return; }
        st(
            (5, 1),
            StmtKind::If {
                cond: ex((5, 4), ExprKind::Bool(true)),
                then_block: block((5, 9), vec![ret((5, 11), None)]),
                else_branch: None,
            },
        ),
    ]);
    let expected = vec![
        e(1, 1, "'break' outside of a loop"),
        e(2, 3, "'continue' outside of a loop"),
        e(3, 1, "'return' outside of a function"),
        e(4, 29, "'break' outside of a loop"),
        e(5, 11, "'return' outside of a function"),
    ];
    assert_eq!(es, expected);
}

#[test]
fn errors_are_all_reported_in_source_order() {
    // let len = undefined1 + undefined2;
    let init = bin(
        (1, 22),
        BinOp::Add,
        var((1, 11), "undefined1"),
        var((1, 24), "undefined2"),
    );
    let es = errs(vec![let_(P1, "len", Some(init))]);
    let expected = vec![
        e(1, 5, "cannot redefine builtin 'len'"),
        e(1, 11, "undefined variable 'undefined1'"),
        e(1, 24, "undefined variable 'undefined2'"),
    ];
    assert_eq!(es, expected);
}

// ---- expressions -------------------------------------------------------------

#[test]
fn constants_are_deduplicated() {
    // [1.5, "a", 1.5, "a", 0.0, -0.0, 1 << 40, 1 << 40, 7]
    let f = |v: f64| ex(P1, ExprKind::Float(v));
    let big = 1i64 << 40;
    let items = vec![
        f(1.5),
        string(P1, "a"),
        f(1.5),
        string(P1, "a"),
        f(0.0),
        f(-0.0),
        int(P1, big),
        int(P1, big),
        int(P1, 7),
    ];
    let s = ok(vec![expr_stmt(ex(P1, ExprKind::Array(items)))]);
    let consts = vec![
        Constant::Float(1.5),
        Constant::Str("a".into()),
        Constant::Float(0.0),
        Constant::Float(-0.0),
        Constant::Int(big),
    ];
    assert_eq!(s.consts, consts);
    let code = vec![
        Const { k: 0 },
        Const { k: 1 },
        Const { k: 0 },
        Const { k: 1 },
        Const { k: 2 },
        Const { k: 3 },
        Const { k: 4 },
        Const { k: 4 },
        Int { v: 7 },
        NewArray { n: 9 },
    ];
    assert_eq!(s.code[..10], code);
    assert_eq!(s.max_slots, 10);
}

#[test]
fn logical_operators_short_circuit() {
    // a and b or c   (globals)
    let and = ex(
        (1, 3),
        ExprKind::Logical {
            op: LogicOp::And,
            lhs: Box::new(var(P1, "a")),
            rhs: Box::new(var(P1, "b")),
        },
    );
    let or = ex(
        (1, 9),
        ExprKind::Logical {
            op: LogicOp::Or,
            lhs: Box::new(and),
            rhs: Box::new(var(P1, "c")),
        },
    );
    let s = ok(vec![
        let_(P1, "a", None),
        let_(P1, "b", None),
        let_(P1, "c", None),
        expr_stmt(or),
    ]);
    let code = [
        GetGlobal { g: 0 },
        JumpIfFalseOrPop { target: 9 }, // lands on the `or` test
        GetGlobal { g: 1 },
        JumpIfTrueOrPop { target: 11 },
        GetGlobal { g: 2 },
        Pop,
    ];
    assert_eq!(s.code[6..12], code);
    assert_eq!(s.lines[7], 1);
    assert_eq!(s.max_slots, 2);
}

#[test]
fn and_or_in_a_condition_are_jumps_between_compare_and_branches() {
    // while a < 1 and (b < 2 or c < 3) {}   (globals)
    let lt = |name: &str, v: i64| bin(P1, BinOp::Lt, var(P1, name), int(P1, v));
    let logical = |op: LogicOp, lhs: Expr, rhs: Expr| {
        ex(
            P1,
            ExprKind::Logical {
                op,
                lhs: Box::new(lhs),
                rhs: Box::new(rhs),
            },
        )
    };
    let or = logical(LogicOp::Or, lt("b", 2), lt("c", 3));
    let cond = logical(LogicOp::And, lt("a", 1), or);
    let s = ok(vec![
        let_(P1, "a", None),
        let_(P1, "b", None),
        let_(P1, "c", None),
        while_(P1, cond, vec![]),
    ]);
    let code = [
        GetGlobal { g: 0 },
        Int { v: 1 },
        JumpIfNotLt { target: 17 }, // `a < 1` false: out of the loop
        GetGlobal { g: 1 },
        Int { v: 2 },
        JumpIfNotLt { target: 13 }, // `b < 2` false: try `c < 3`
        Jump { target: 16 },        // `b < 2` true: the body
        GetGlobal { g: 2 },
        Int { v: 3 },
        JumpIfNotLt { target: 17 }, // `c < 3` false: out of the loop
        Loop { target: 6 },         // the (empty) body
    ];
    assert_eq!(s.code[6..17], code);
}

#[test]
fn map_literal_and_fields() {
    // let m = {"k": 1}; m.k += 2; m.k;
    let map = ex(P1, ExprKind::Map(vec![(string(P1, "k"), int(P1, 1))]));
    let s = ok(vec![
        let_(P1, "m", Some(map)),
        assign(
            field((2, 2), var((2, 1), "m"), "k"),
            AssignOp::Add,
            (2, 5),
            int(P1, 2),
        ),
        expr_stmt(field((3, 2), var((3, 1), "m"), "k")),
    ]);
    let code = vec![
        Const { k: 0 },
        Int { v: 1 },
        NewMap { n: 1 },
        DefineGlobal { g: 0 },
        GetGlobal { g: 0 },
        Dup,
        GetField { k: 0 },
        AddInt { v: 2 },
        SetField { k: 0 },
        GetGlobal { g: 0 },
        GetField { k: 0 },
        Pop,
        Nil,
        Return,
    ];
    assert_eq!(s.code, code);
    assert_eq!(s.consts, vec![Constant::Str("k".into())]);
}

#[test]
fn index_assignment_order_lines_and_max_slots() {
    // fn f(a, i, v) {
    //   a[i] =
    //     v;
    //   a[i] += v;
    // }
    let body = vec![
        assign(
            index((2, 4), var((2, 3), "a"), var((2, 5), "i")),
            AssignOp::Set,
            (2, 8),
            var((3, 5), "v"),
        ),
        assign(
            index((4, 4), var((4, 3), "a"), var((4, 5), "i")),
            AssignOp::Add,
            (4, 8),
            var((4, 11), "v"),
        ),
    ];
    let s = ok(vec![fn_(P1, "f", &[(P1, "a"), (P1, "i"), (P1, "v")], body)]);
    let f = &s.protos[0];
    let code = vec![
        GetLocal2 { a: 1, b: 2 },
        GetLocal { slot: 3 },
        SetIndex,
        GetLocal2 { a: 1, b: 2 },
        Dup2,
        GetIndex,
        GetLocal { slot: 3 },
        Add,
        SetIndex,
        Nil,
        Return,
    ];
    assert_eq!(f.code, code);
    assert_eq!(f.lines, vec![2, 3, 2, 4, 4, 4, 4, 4, 4, 4, 4]);
    // Callee + 3 params + a, i, a, i, v during `a[i] += v`.
    assert_eq!(f.max_slots, 8);
}

#[test]
fn call_lines_and_max_slots() {
    // f(1,
    //   g(2, 3));
    let inner = call(
        (2, 4),
        var((2, 3), "g"),
        vec![int((2, 5), 2), int((2, 8), 3)],
    );
    let outer = call((1, 2), var((1, 1), "f"), vec![int((1, 3), 1), inner]);
    let s = ok(vec![
        fn_(P1, "f", &[], vec![]),
        fn_(P1, "g", &[], vec![]),
        expr_stmt(outer),
    ]);
    let code = [
        GetGlobal { g: 0 },
        Int { v: 1 },
        GetGlobal { g: 1 },
        Int { v: 2 },
        Int { v: 3 },
        Call { argc: 2 },
        Call { argc: 2 },
        Pop,
    ];
    assert_eq!(s.code[4..12], code);
    assert_eq!(s.lines[4..12], [1, 1, 2, 2, 2, 2, 1, 1]);
    assert_eq!(s.max_slots, 6);
}

#[test]
fn repl_returns_the_last_expression() {
    let program = Program {
        stmts: vec![let_(P1, "x", Some(int(P1, 1))), expr_stmt(var((2, 1), "x"))],
    };
    let opts = CompileOptions { repl: true };
    let s = compile(&program, &mut GlobalNames::default(), opts).unwrap();
    assert_eq!(
        s.code,
        vec![
            Int { v: 1 },
            DefineGlobal { g: 0 },
            GetGlobal { g: 0 },
            Return
        ]
    );
    // Not an expression: nil.
    let program = Program {
        stmts: vec![let_(P1, "x", Some(int(P1, 1)))],
    };
    let s = compile(&program, &mut GlobalNames::default(), opts).unwrap();
    assert_eq!(
        s.code,
        vec![Int { v: 1 }, DefineGlobal { g: 0 }, Nil, Return]
    );
}

#[test]
fn empty_program() {
    let s = ok(vec![]);
    assert_eq!(s.code, vec![Nil, Return]);
    assert_eq!(s.max_slots, 2);
}

// ---- control flow ------------------------------------------------------------

#[test]
fn if_else() {
    // fn f(c) { if c { 1; } else { 2; } }
    let if_ = st(
        (1, 11),
        StmtKind::If {
            cond: var((1, 14), "c"),
            then_block: block(P1, vec![expr_stmt(int(P1, 1))]),
            else_branch: Some(Box::new(block_stmt((2, 1), vec![expr_stmt(int(P1, 2))]))),
        },
    );
    let s = ok(vec![fn_(P1, "f", &[(P1, "c")], vec![if_])]);
    let code = vec![
        GetLocal { slot: 1 },
        JumpIfFalse { target: 5 },
        Int { v: 1 },
        Pop,
        Jump { target: 7 },
        Int { v: 2 },
        Pop,
        Nil,
        Return,
    ];
    assert_eq!(s.protos[0].code, code);
}

#[test]
fn for_range_without_captures() {
    // for i in 0..3 { i = 5; }
    let body = vec![assign(var(P1, "i"), AssignOp::Set, P1, int(P1, 5))];
    let s = ok(vec![for_range(P1, "i", int(P1, 0), int(P1, 3), body)]);
    let code = vec![
        Int { v: 0 },
        Int { v: 3 },
        ForRangePrep { slot: 1, exit: 7 },
        GetLocal { slot: 1 },
        Int { v: 5 },
        SetLocal { slot: 3 },                // the fresh copy, not the counter
        ForRangeNext { slot: 1, target: 4 }, // drops `i`, pushes the next one
        PopN { n: 2 },
        Nil,
        Return,
    ];
    assert_eq!(s.code, code);
    assert_eq!(s.max_slots, 5);
}

#[test]
fn for_range_closes_captured_variables_each_iteration() {
    // for i in 0..3 { let f = fn() { return i; }; }
    let lam = lambda(P1, &[], vec![ret(P1, Some(var(P1, "i")))]);
    let s = ok(vec![for_range(
        P1,
        "i",
        int(P1, 0),
        int(P1, 3),
        vec![let_(P1, "f", Some(lam))],
    )]);
    let code = vec![
        Int { v: 0 },
        Int { v: 3 },
        ForRangePrep { slot: 1, exit: 7 },
        GetLocal { slot: 1 },
        Closure { proto: 0 },
        CloseUpvals { slot: 3 },
        ForRangeNext { slot: 1, target: 4 },
        PopN { n: 2 },
        Nil,
        Return,
    ];
    assert_eq!(s.code, code);
    assert_eq!(
        s.protos[0].upvals,
        vec![UpvalDesc {
            is_local: true,
            index: 3
        }]
    );
}

#[test]
fn break_and_continue_leave_captured_locals_through_stubs() {
    // for i in 0..9 {
    //   let x = i;
    //   if x { break; }
    //   if x { continue; }
    //   let f = fn() { return x; };
    // }
    let if_jump = |kind| {
        let then_block = block(P1, vec![st(P1, kind)]);
        st(
            P1,
            StmtKind::If {
                cond: var(P1, "x"),
                then_block,
                else_branch: None,
            },
        )
    };
    let lam = lambda(P1, &[], vec![ret(P1, Some(var(P1, "x")))]);
    let body = vec![
        let_(P1, "x", Some(var(P1, "i"))),
        if_jump(StmtKind::Break),
        if_jump(StmtKind::Continue),
        let_(P1, "f", Some(lam)),
    ];
    let s = ok(vec![for_range(P1, "i", int(P1, 0), int(P1, 9), body)]);
    let code = vec![
        Int { v: 0 },
        Int { v: 9 },
        ForRangePrep { slot: 1, exit: 21 },
        GetLocal { slot: 1 },
        GetLocal { slot: 3 },
        GetLocal { slot: 4 },
        JumpIfFalse { target: 8 },
        Jump { target: 15 }, // break
        GetLocal { slot: 4 },
        JumpIfFalse { target: 11 },
        Jump { target: 18 }, // continue
        Closure { proto: 0 },
        CloseUpvals { slot: 3 },
        ForRangeNext { slot: 1, target: 4 },
        Jump { target: 21 },     // the loop is over: skip the stubs
        CloseUpvals { slot: 3 }, // the break's stub: leave i and x
        PopN { n: 2 },
        Jump { target: 21 },
        CloseUpvals { slot: 3 }, // the continue's stub
        PopN { n: 2 },
        Jump { target: 13 },
        PopN { n: 2 }, // exit: drop the counter and the limit
        Nil,
        Return,
    ];
    assert_eq!(s.code, code);
    assert_eq!(s.max_slots, 6);
}

#[test]
fn while_loop_with_direct_break_and_continue() {
    // while c { continue; break; }   (c global)
    let s = ok(vec![
        let_(P1, "c", None),
        while_(
            P1,
            var(P1, "c"),
            vec![st(P1, StmtKind::Continue), st(P1, StmtKind::Break)],
        ),
    ]);
    let code = vec![
        Nil,
        DefineGlobal { g: 0 },
        GetGlobal { g: 0 },
        JumpIfFalse { target: 7 },
        Jump { target: 6 },
        Jump { target: 7 },
        Loop { target: 2 },
        Nil,
        Return,
    ];
    assert_eq!(s.code, code);
}

#[test]
fn while_body_locals_are_fresh_per_iteration() {
    // while c { let x = 1; let f = fn() { return x; }; }
    let lam = lambda(P1, &[], vec![ret(P1, Some(var(P1, "x")))]);
    let s = ok(vec![
        let_(P1, "c", None),
        while_(
            P1,
            var(P1, "c"),
            vec![let_(P1, "x", Some(int(P1, 1))), let_(P1, "f", Some(lam))],
        ),
    ]);
    let code = [
        GetGlobal { g: 0 },
        JumpIfFalse { target: 9 },
        Int { v: 1 },
        Closure { proto: 0 },
        CloseUpvals { slot: 1 },
        PopN { n: 2 },
        Loop { target: 2 },
    ];
    assert_eq!(s.code[2..9], code);
}

#[test]
fn for_in_loop() {
    // for x in [7] { x; }
    let arr = ex(P1, ExprKind::Array(vec![int(P1, 7)]));
    let body = block(P1, vec![expr_stmt(var(P1, "x"))]);
    let stmt = st(
        P1,
        StmtKind::ForIn {
            var: id((1, 5), "x"),
            iterable: arr,
            body,
        },
    );
    let s = ok(vec![stmt]);
    let code = vec![
        Int { v: 7 },
        NewArray { n: 1 },
        Int { v: 0 },
        ForInPrep { slot: 1 },
        ForInNext { slot: 1, exit: 9 },
        GetLocal { slot: 3 },
        Pop,
        Pop,
        Loop { target: 4 },
        PopN { n: 2 },
        Nil,
        Return,
    ];
    assert_eq!(s.code, code);
    assert_eq!(s.max_slots, 5);
}

// ---- disassembler ------------------------------------------------------------

#[test]
fn disassembly_golden() {
    // fn fib(n) {
    //   if n < 2 { return n; }
    //   return fib(n - 1) + fib(n - 2);
    // }
    // print(fib(20), "fib");
    let cond = bin((2, 8), BinOp::Lt, var((2, 6), "n"), int((2, 10), 2));
    let early = st(
        (2, 3),
        StmtKind::If {
            cond,
            then_block: block((2, 12), vec![ret((2, 14), Some(var((2, 21), "n")))]),
            else_branch: None,
        },
    );
    let rec = |k| {
        call(
            (3, 13),
            var((3, 10), "fib"),
            vec![bin((3, 16), BinOp::Sub, var((3, 14), "n"), int((3, 18), k))],
        )
    };
    let sum = bin((3, 21), BinOp::Add, rec(1), rec(2));
    let fib = fn_(
        P1,
        "fib",
        &[((1, 8), "n")],
        vec![early, ret((3, 3), Some(sum))],
    );
    let main = call(
        (5, 6),
        var((5, 1), "print"),
        vec![
            call((5, 10), var((5, 7), "fib"), vec![int((5, 11), 20)]),
            string((5, 16), "fib"),
        ],
    );
    let s = ok(vec![fib, expr_stmt(main)]);
    let expected = "\
== <script> (arity 0, 1 constants, 0 upvalues, max_slots 4) ==
0000    1  CLOSURE           proto=0  ; fn fib
0001    |  DEFINE_GLOBAL     g=0
0002    5  GET_BUILTIN       b=0  ; print
0003    |  GET_GLOBAL        g=0
0004    |  INT               v=20
0005    |  CALL              argc=1
0006    |  CONST             k=0  ; \"fib\"
0007    |  CALL              argc=2
0008    |  POP
0009    |  NIL
0010    |  RETURN

== fn fib (arity 1, 0 constants, 0 upvalues, max_slots 5) ==
0000    2  GET_LOCAL         slot=1
0001    |  INT               v=2
0002    |  JUMP_IF_NOT_LT    target=0005
0003    |  GET_LOCAL         slot=1
0004    |  RETURN
0005    3  GET_GLOBAL        g=0
0006    |  GET_LOCAL         slot=1
0007    |  SUB_INT           v=1
0008    |  CALL              argc=1
0009    |  GET_GLOBAL        g=0
0010    |  GET_LOCAL         slot=1
0011    |  SUB_INT           v=2
0012    |  CALL              argc=1
0013    |  ADD
0014    |  RETURN
";
    assert_eq!(crate::disasm::disassemble(&s), expected);
}

#[test]
fn disassembly_lists_upvalues() {
    // fn f(a) { return fn() { return a; }; }
    let lam = lambda((1, 18), &[], vec![ret(P1, Some(var(P1, "a")))]);
    let s = ok(vec![fn_(P1, "f", &[(P1, "a")], vec![ret(P1, Some(lam))])]);
    let text = crate::disasm::disassemble(&s);
    assert!(text.contains("== fn <fn> (arity 0, 0 constants, 1 upvalues, max_slots 2) ==\n   upvalues: 0=local 1\n"), "{text}");
}

#[test]
fn nested_loops_and_uncaptured_exits() {
    // let c;
    // while c {
    //   let a = 1;
    //   for i in 0..2 { break; }
    //   if c { let b = 2; continue; }
    // }
    let inner = for_range(
        P1,
        "i",
        int(P1, 0),
        int(P1, 2),
        vec![st(P1, StmtKind::Break)],
    );
    let then_block = block(
        P1,
        vec![let_(P1, "b", Some(int(P1, 2))), st(P1, StmtKind::Continue)],
    );
    let if_ = st(
        P1,
        StmtKind::If {
            cond: var(P1, "c"),
            then_block,
            else_branch: None,
        },
    );
    let body = vec![let_(P1, "a", Some(int(P1, 1))), inner, if_];
    let s = ok(vec![let_(P1, "c", None), while_(P1, var(P1, "c"), body)]);
    let code = vec![
        Nil,
        DefineGlobal { g: 0 },
        GetGlobal { g: 0 },
        JumpIfFalse { target: 24 },
        Int { v: 1 },
        Int { v: 0 },
        Int { v: 2 },
        ForRangePrep { slot: 2, exit: 14 },
        GetLocal { slot: 2 },
        Jump { target: 12 }, // break: through the stub that pops `i`
        ForRangeNext { slot: 2, target: 9 },
        Jump { target: 14 },
        Pop,
        Jump { target: 14 },
        PopN { n: 2 },
        GetGlobal { g: 0 },
        JumpIfFalse { target: 20 },
        Int { v: 2 },
        Jump { target: 22 }, // continue: through the stub that pops `a` and `b`
        Pop,
        Pop,
        Loop { target: 2 },
        PopN { n: 2 }, // no CloseUpvals: nothing was captured
        Jump { target: 21 },
        Nil,
        Return,
    ];
    assert_eq!(s.code, code);
    assert_eq!(s.max_slots, 5);
}

#[test]
fn capture_in_inner_loop_marks_outer_loop() {
    // while c { let a = 1; for i in 0..2 { if c { break; } let f = fn() { return a; }; } }
    let lam = lambda(P1, &[], vec![ret(P1, Some(var(P1, "a")))]);
    let brk = block(P1, vec![st(P1, StmtKind::Break)]);
    let if_ = st(
        P1,
        StmtKind::If {
            cond: var(P1, "c"),
            then_block: brk,
            else_branch: None,
        },
    );
    let inner = for_range(
        P1,
        "i",
        int(P1, 0),
        int(P1, 2),
        vec![if_, let_(P1, "f", Some(lam))],
    );
    let body = vec![let_(P1, "a", Some(int(P1, 1))), inner];
    let s = ok(vec![let_(P1, "c", None), while_(P1, var(P1, "c"), body)]);
    // `a` (slot 1) is captured: the while body's exit closes it; the inner
    // loop's own locals (from slot 4) are not captured, so its break stub
    // only pops.
    let closes: Vec<_> = s
        .code
        .iter()
        .filter(|op| matches!(op, CloseUpvals { .. }))
        .collect();
    assert_eq!(closes, vec![&CloseUpvals { slot: 1 }]);
    assert_eq!(
        s.protos[0].upvals,
        vec![UpvalDesc {
            is_local: true,
            index: 1
        }]
    );
}
