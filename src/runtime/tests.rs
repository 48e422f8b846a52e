//! Interpreter tests on hand-assembled functions. Each instruction's line is
//! its index + 1, so traces are easy to predict.

use std::rc::Rc;
use std::sync::Arc;

use super::interrupt::Interrupt;
use super::{Value, Vm, VmOptions};
use crate::bytecode::{Constant, FunctionProto, GlobalNames, Op, UpvalDesc, builtin_index};
use crate::diag::{RuntimeError, TraceEntry};
use crate::driver::CapturedOutput;

struct Fn {
    name: Option<&'static str>,
    arity: u32,
    slots: u32,
    code: Vec<Op>,
    consts: Vec<Constant>,
    protos: Vec<Rc<FunctionProto>>,
    upvals: Vec<UpvalDesc>,
}

impl Fn {
    fn new(name: Option<&'static str>, arity: u32, code: Vec<Op>) -> Fn {
        Fn {
            name,
            arity,
            slots: 32,
            code,
            consts: vec![],
            protos: vec![],
            upvals: vec![],
        }
    }
    fn script(code: Vec<Op>) -> Fn {
        Fn::new(Some("<script>"), 0, code)
    }
    fn consts(mut self, c: Vec<Constant>) -> Fn {
        self.consts = c;
        self
    }
    fn protos(mut self, p: Vec<Fn>) -> Fn {
        self.protos = p.into_iter().map(Fn::build).collect();
        self
    }
    fn captures(mut self, u: Vec<(bool, u32)>) -> Fn {
        self.upvals = u
            .into_iter()
            .map(|(is_local, index)| UpvalDesc { is_local, index })
            .collect();
        self
    }
    fn build(self) -> Rc<FunctionProto> {
        Rc::new(FunctionProto {
            name: self.name.map(str::to_string),
            arity: self.arity,
            lines: (1..=self.code.len() as u32).collect(),
            code: self.code,
            consts: self.consts,
            protos: self.protos,
            upvals: self.upvals,
            max_slots: self.slots,
        })
    }
}

fn b(name: &str) -> Op {
    Op::GetBuiltin {
        b: builtin_index(name).unwrap(),
    }
}

fn globals(names: &[&str]) -> GlobalNames {
    GlobalNames {
        names: names.iter().map(|s| s.to_string()).collect(),
    }
}

struct Run {
    vm: Vm,
    out: CapturedOutput,
    interrupt: Arc<Interrupt>,
}

impl Run {
    fn new(gc_stress: bool) -> Run {
        let out = CapturedOutput::default();
        let opts = VmOptions {
            gc_stress,
            ..VmOptions::default()
        };
        Run {
            interrupt: opts.interrupt.clone(),
            vm: Vm::new(opts, Box::new(out.clone())),
            out,
        }
    }

    fn run(&mut self, script: Fn, names: &[&str]) -> Result<Value, RuntimeError> {
        let r = self.vm.run(script.build(), &globals(names));
        self.vm.flush();
        r
    }

    fn output(&self) -> String {
        String::from_utf8(self.out.bytes()).unwrap()
    }
}

fn both_modes(test: impl std::ops::Fn(&mut Run)) {
    test(&mut Run::new(false));
    test(&mut Run::new(true));
}

fn trace(entries: &[(&str, u32)]) -> Vec<TraceEntry> {
    entries
        .iter()
        .map(|&(f, line)| TraceEntry {
            function: f.to_string(),
            line,
        })
        .collect()
}

/// `fn fib(n) { if n < 2 { return n; } return fib(n-1) + fib(n-2); }`
fn fib_proto() -> Fn {
    use Op::*;
    Fn::new(
        Some("fib"),
        1,
        vec![
            GetLocal { slot: 1 },
            Int { v: 2 },
            Lt,
            JumpIfFalse { target: 6 },
            GetLocal { slot: 1 },
            Return,
            GetGlobal { g: 0 },
            GetLocal { slot: 1 },
            Int { v: 1 },
            Sub,
            Call { argc: 1 },
            GetGlobal { g: 0 },
            GetLocal { slot: 1 },
            Int { v: 2 },
            Sub,
            Call { argc: 1 },
            Add,
            Return,
        ],
    )
}

/// Defines global 0 as `proto`, then returns `global0(arg)`.
fn call_script(proto: Fn, arg: i32) -> Fn {
    use Op::*;
    Fn::script(vec![
        Closure { proto: 0 },
        DefineGlobal { g: 0 },
        GetGlobal { g: 0 },
        Int { v: arg },
        Call { argc: 1 },
        Return,
    ])
    .protos(vec![proto])
}

#[test]
fn arithmetic_and_print() {
    use Op::*;
    both_modes(|r| {
        let script = Fn::script(vec![
            b("print"),
            Int { v: 1 },
            Int { v: 2 },
            Int { v: 3 },
            Mul,
            Add,
            Const { k: 0 },
            Const { k: 1 },
            Const { k: 2 },
            Add,
            Int { v: 7 },
            Int { v: 2 },
            Div,
            Call { argc: 4 },
            Pop,
            Nil,
            Return,
        ])
        .consts(vec![
            Constant::Float(0.5),
            Constant::Str("ab".into()),
            Constant::Str("cd".into()),
        ]);
        r.run(script, &[]).unwrap();
        assert_eq!(r.output(), "7 0.5 abcd 3\n");
    });
}

#[test]
fn recursive_fib() {
    both_modes(|r| {
        let v = r.run(call_script(fib_proto(), 15), &["fib"]).unwrap();
        assert_eq!(v.as_int(), 610);
    });
}

/// `fn r(n) { if n == 0 { return 0; } return r(n - 1) + 1; }`
fn depth_proto() -> Fn {
    use Op::*;
    Fn::new(
        Some("r"),
        1,
        vec![
            GetLocal { slot: 1 },
            Int { v: 0 },
            Eq,
            JumpIfFalse { target: 6 },
            Int { v: 0 },
            Return,
            GetGlobal { g: 0 },
            GetLocal { slot: 1 },
            Int { v: 1 },
            Sub,
            Call { argc: 1 },
            Int { v: 1 },
            Add,
            Return,
        ],
    )
}

#[test]
fn deep_recursion_and_stack_overflow() {
    let mut r = Run::new(false);
    let v = r.run(call_script(depth_proto(), 100_000), &["r"]).unwrap();
    assert_eq!(v.as_int(), 100_000);
    let err = r
        .run(call_script(depth_proto(), 10_000_000), &["r"])
        .unwrap_err();
    assert_eq!(err.message, "stack overflow");
    assert_eq!(err.trace[0], trace(&[("r", 11)])[0]);
    assert_eq!(err.trace.last().unwrap(), &trace(&[("<script>", 5)])[0]);
    // The VM is usable again after the error.
    let v = r.run(call_script(depth_proto(), 10), &["r"]).unwrap();
    assert_eq!(v.as_int(), 10);
}

/// `fn make() { let c = 0; return [fn() { c += 1; return c; }, fn() { return c; }]; }`
/// with `c = 10` assigned after the closures are made.
fn counter_maker() -> Fn {
    use Op::*;
    let inc = Fn::new(
        None,
        0,
        vec![
            GetUpval { idx: 0 },
            Int { v: 1 },
            Add,
            SetUpval { idx: 0 },
            GetUpval { idx: 0 },
            Return,
        ],
    )
    .captures(vec![(true, 1)]);
    let get = Fn::new(Some("get"), 0, vec![GetUpval { idx: 0 }, Return]).captures(vec![(true, 1)]);
    Fn::new(
        Some("make"),
        0,
        vec![
            Int { v: 0 },
            Closure { proto: 0 },
            Closure { proto: 1 },
            NewArray { n: 2 },
            Int { v: 10 },
            SetLocal { slot: 1 },
            Return,
        ],
    )
    .protos(vec![inc, get])
}

#[test]
fn closures_share_captured_variables() {
    use Op::*;
    both_modes(|r| {
        // let a = make(); a[0](); print(a[0](), a[1](), a[0], a[1]);
        let script = Fn::script(vec![
            Closure { proto: 0 },
            DefineGlobal { g: 0 },
            GetGlobal { g: 0 },
            Call { argc: 0 },
            DefineGlobal { g: 1 },
            GetGlobal { g: 1 },
            Int { v: 0 },
            GetIndex,
            Call { argc: 0 },
            Pop,
            b("print"),
            GetGlobal { g: 1 },
            Int { v: 0 },
            GetIndex,
            Call { argc: 0 },
            GetGlobal { g: 1 },
            Int { v: 1 },
            GetIndex,
            Call { argc: 0 },
            GetGlobal { g: 1 },
            b("len"),
            Call { argc: 4 },
            Pop,
            Nil,
            Return,
        ])
        .protos(vec![counter_maker()]);
        r.run(script, &["make", "a"]).unwrap();
        assert_eq!(r.output(), "12 12 [<fn>, <fn get>] <builtin len>\n");
    });
}

#[test]
fn range_loop_sums() {
    use Op::*;
    both_modes(|r| {
        let script = Fn::script(vec![
            Int { v: 0 },
            Int { v: 0 },
            Int { v: 1000 },
            ForRangePrep { slot: 2, exit: 9 },
            GetLocal { slot: 2 }, // the loop variable (slot 4)
            GetLocal2 { a: 1, b: 4 },
            Add,
            SetLocal { slot: 1 },
            ForRangeNext { slot: 2, target: 5 },
            PopN { n: 2 },
            GetLocal { slot: 1 },
            Return,
        ]);
        assert_eq!(r.run(script, &[]).unwrap().as_int(), 499_500);
    });
}

#[test]
fn range_bounds_must_be_ints() {
    use Op::*;
    let mut r = Run::new(false);
    let script = Fn::script(vec![
        Int { v: 0 },
        Const { k: 0 },
        ForRangePrep { slot: 1, exit: 3 },
        Nil,
        Return,
    ])
    .consts(vec![Constant::Float(2.0)]);
    let err = r.run(script, &[]).unwrap_err();
    assert_eq!(err.message, "range bounds must be ints, not float");
    assert_eq!(err.trace, trace(&[("<script>", 3)]));
}

#[test]
fn for_in_over_map_keys_in_order() {
    use Op::*;
    both_modes(|r| {
        let script = Fn::script(vec![
            Const { k: 0 },
            Int { v: 1 },
            Const { k: 1 },
            Int { v: 2 },
            Const { k: 0 },
            Int { v: 3 },
            NewMap { n: 3 },
            Nil,
            Const { k: 2 },
            ForInPrep { slot: 1 },
            ForInNext { slot: 1, exit: 17 },
            GetLocal { slot: 3 },
            GetLocal { slot: 4 },
            Add,
            SetLocal { slot: 3 },
            Pop,
            Loop { target: 10 },
            b("print"),
            GetLocal { slot: 3 },
            GetLocal { slot: 1 },
            Call { argc: 2 },
            Pop,
            Nil,
            Return,
        ])
        .consts(vec![
            Constant::Str("b".into()),
            Constant::Str("a".into()),
            Constant::Str(">".into()),
        ]);
        r.run(script, &[]).unwrap();
        assert_eq!(r.output(), ">ba [\"b\", \"a\"]\n");
    });
}

#[test]
fn errors_carry_traces() {
    use Op::*;
    let mut r = Run::new(false);
    // fn f(x) { return x + nil; }  f(1);
    let f = Fn::new(Some("f"), 1, vec![GetLocal { slot: 1 }, Nil, Add, Return]);
    let err = r.run(call_script(f, 1), &["f"]).unwrap_err();
    assert_eq!(err.message, "cannot apply '+' to int and nil");
    assert_eq!(err.trace, trace(&[("f", 3), ("<script>", 5)]));

    // Wrong arity is reported in the caller's frame.
    let g = Fn::new(Some("g"), 2, vec![Nil, Return]);
    let err = r.run(call_script(g, 1), &["g"]).unwrap_err();
    assert_eq!(err.message, "expected 2 arguments but got 1");
    assert_eq!(err.trace, trace(&[("<script>", 5)]));
    let h = Fn::new(None, 0, vec![Nil, Return]);
    let err = r.run(call_script(h, 1), &["h"]).unwrap_err();
    assert_eq!(err.message, "expected 0 arguments but got 1");

    let mut r = Run::new(false);
    let script = Fn::script(vec![GetGlobal { g: 0 }, Return]);
    let err = r.run(script, &["late"]).unwrap_err();
    assert_eq!(err.message, "undefined variable 'late'");

    let script = Fn::script(vec![Int { v: 3 }, Call { argc: 0 }, Return]);
    assert_eq!(r.run(script, &[]).unwrap_err().message, "cannot call int");

    let script = Fn::script(vec![b("len"), Int { v: 3 }, Call { argc: 1 }, Return]);
    let err = r.run(script, &[]).unwrap_err();
    assert_eq!(err.message, "'len' expects a string, array or map, not int");
    assert_eq!(err.trace, trace(&[("<script>", 3)]));

    let script = Fn::script(vec![b("assert"), False, Call { argc: 1 }, Return]);
    assert_eq!(r.run(script, &[]).unwrap_err().message, "assertion failed");
    let script = Fn::script(vec![b("assert"), Call { argc: 0 }, Return]);
    assert_eq!(
        r.run(script, &[]).unwrap_err().message,
        "expected 2 arguments but got 0"
    );
}

#[test]
fn output_before_an_error_is_flushed() {
    use Op::*;
    let mut r = Run::new(false);
    let script = Fn::script(vec![
        b("print"),
        Int { v: 1 },
        Call { argc: 1 },
        Pop,
        b("error"),
        Const { k: 0 },
        Call { argc: 1 },
        Return,
    ])
    .consts(vec![Constant::Str("boom".into())]);
    let err = r.vm.run(script.build(), &globals(&[])).unwrap_err();
    assert_eq!(err.message, "boom");
    assert_eq!(r.output(), "1\n");
}

#[test]
fn indexing_and_fields() {
    use Op::*;
    both_modes(|r| {
        // let m = {}; m.x = "hey"; let a = [1, 2]; a[1] = m.x[1]; print(a, m);
        let script = Fn::script(vec![
            NewMap { n: 0 },
            GetLocal { slot: 1 },
            Const { k: 1 },
            SetField { k: 0 },
            Int { v: 1 },
            Int { v: 2 },
            NewArray { n: 2 },
            GetLocal { slot: 2 },
            Int { v: 1 },
            GetLocal { slot: 1 },
            GetField { k: 0 },
            Int { v: 1 },
            GetIndex,
            SetIndex,
            b("print"),
            GetLocal { slot: 2 },
            GetLocal { slot: 1 },
            Call { argc: 2 },
            Pop,
            GetLocal { slot: 2 },
            Int { v: 2 },
            GetIndex,
            Return,
        ])
        .consts(vec![Constant::Str("x".into()), Constant::Str("hey".into())]);
        let err = r.run(script, &[]).unwrap_err();
        assert_eq!(r.output(), "[1, \"e\"] {\"x\": \"hey\"}\n");
        assert_eq!(
            err.message,
            "index out of bounds: the length is 2 but the index is 2"
        );
        assert_eq!(err.line(), 22);
    });
}

#[test]
fn garbage_loops_stay_small() {
    use Op::*;
    // for i in 0..300000 { let s = [[i], "x" + "y"]; }
    let mut r = Run::new(false);
    let script = Fn::script(vec![
        Int { v: 0 },
        Int { v: 300_000 },
        ForRangePrep { slot: 1, exit: 10 },
        GetLocal { slot: 1 },
        NewArray { n: 1 },
        Const { k: 0 },
        Const { k: 1 },
        Add,
        NewArray { n: 2 },
        ForRangeNext { slot: 1, target: 4 },
        Nil,
        Return,
    ])
    .consts(vec![Constant::Str("x".into()), Constant::Str("y".into())]);
    r.run(script, &[]).unwrap();
    assert!(r.vm.heap.collections > 0);
    assert!(r.vm.heap.object_count() < 200_000);
}

#[test]
fn globals_persist_across_runs() {
    use Op::*;
    let mut r = Run::new(true);
    let first = Fn::script(vec![Const { k: 0 }, DefineGlobal { g: 0 }, Nil, Return])
        .consts(vec![Constant::Str("kept".into())]);
    r.run(first, &["x"]).unwrap();
    let second = Fn::script(vec![
        Int { v: 1 },
        DefineGlobal { g: 1 },
        GetGlobal { g: 0 },
        Return,
    ]);
    let v = r.run(second, &["x", "y"]).unwrap();
    assert_eq!(r.vm.repr(v), "\"kept\"");
    assert_eq!(r.vm.display(v), "kept");
}

#[test]
fn interrupt_stops_a_loop() {
    use Op::*;
    let mut r = Run::new(false);
    r.interrupt.raise();
    let script = Fn::script(vec![Nil, Pop, Loop { target: 0 }]);
    let err = r.run(script, &[]).unwrap_err();
    assert_eq!(err.message, "interrupted");
    assert!(!r.interrupt.is_set());
}

#[test]
fn builtins_behave() {
    use Op::*;
    both_modes(|r| {
        // print(type(1.5), str([1]) + "!", int("-42"), float(3), abs(-3),
        //       floor(-2.5), sqrt(4), keys({1: 2}), has({1: 2}, 1), pop([7]))
        let call1 = |name: &str, arg: Op| vec![b(name), arg, Call { argc: 1 }];
        let mut code = vec![b("print")];
        code.extend(call1("type", Const { k: 0 }));
        code.extend([b("str"), Int { v: 1 }, NewArray { n: 1 }, Call { argc: 1 }]);
        code.extend([Const { k: 1 }, Add]);
        code.extend(call1("int", Const { k: 2 }));
        code.extend(call1("float", Int { v: 3 }));
        code.extend(call1("abs", Int { v: -3 }));
        code.extend(call1("floor", Const { k: 3 }));
        code.extend(call1("sqrt", Int { v: 4 }));
        code.extend([
            b("keys"),
            Int { v: 1 },
            Int { v: 2 },
            NewMap { n: 1 },
            Call { argc: 1 },
        ]);
        code.extend([b("has"), Int { v: 1 }, Int { v: 2 }, NewMap { n: 1 }]);
        code.extend([Int { v: 1 }, Call { argc: 2 }]);
        code.extend([b("pop"), Int { v: 7 }, NewArray { n: 1 }, Call { argc: 1 }]);
        code.extend([Call { argc: 10 }, Pop, Nil, Return]);
        let script = Fn::script(code).consts(vec![
            Constant::Float(1.5),
            Constant::Str("!".into()),
            Constant::Str("-42".into()),
            Constant::Float(-2.5),
        ]);
        r.run(script, &[]).unwrap();
        assert_eq!(r.output(), "float [1]! -42 3.0 3 -3 2.0 [1] true 7\n");
    });
}
