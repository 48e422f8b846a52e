//! A generator of random Toy programs for differential testing.
//!
//! `generate(seed)` builds a program that is always well formed (it compiles
//! without errors) and always terminates quickly, yet exercises most of the
//! language: wrapping int arithmetic near the limits, shifts, division by
//! zero, float corner cases, strings, arrays, maps, closures that capture
//! loop variables, nested and recursive functions, globals and locals. Some
//! programs end in a runtime error on purpose; which error, and where, is
//! part of what the tiers must agree on.
//!
//! How the generator keeps its promises:
//! - Validity: it tracks every variable in scope with a static *kind* and only
//!   names variables that are visible; builtin names are never declared.
//!   Variables keep their kind for life, so operations are usually well
//!   typed; wrong-typed operations are emitted on purpose, rarely.
//! - Termination: loops have small constant trip counts (`for i in 0..k`, a
//!   `while` with a counter nothing else may assign, or a `break` guard when
//!   iterating over a container that may grow). Recursion passes an explicit
//!   depth. Every function has an estimated cost (statements run per call);
//!   a call is only emitted when the caller's budget still covers it, so
//!   total work stays small however loops and calls nest. Strings never grow
//!   faster than linearly.
//!
//! Programs are trees of [`Node`]s so that a shrinker can delete statements.
//! The generator is seedable and deterministic: the same seed always gives
//! the same program (it uses its own tiny PRNG, never the OS).

use std::collections::BTreeSet;
use std::fmt::Write;

/// SplitMix64: tiny, fast and good enough to pick program shapes.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x5DEE_CE66_D1CE_4E5B)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n` > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// True with the given probability in percent.
    pub fn chance(&mut self, percent: u32) -> bool {
        self.below(100) < percent as usize
    }

    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }
}

/// One statement: its first line, then zero or more indented blocks, each
/// followed by the line that closes it (`}`, `} else {`, `});`, ...).
#[derive(Clone, Debug)]
pub struct Node {
    pub head: String,
    pub blocks: Vec<(Vec<Node>, String)>,
}

impl Node {
    fn line(head: impl Into<String>) -> Node {
        Node {
            head: head.into(),
            blocks: Vec::new(),
        }
    }

    fn block(head: impl Into<String>, body: Vec<Node>, close: &str) -> Node {
        Node {
            head: head.into(),
            blocks: vec![(body, close.to_string())],
        }
    }
}

/// A generated program and the language features it uses.
pub struct Program {
    pub nodes: Vec<Node>,
    pub features: BTreeSet<&'static str>,
}

impl Program {
    pub fn source(&self) -> String {
        render(&self.nodes)
    }
}

/// The program text for a list of statements.
pub fn render(nodes: &[Node]) -> String {
    let mut out = String::new();
    render_into(nodes, 0, &mut out);
    out
}

fn render_into(nodes: &[Node], indent: usize, out: &mut String) {
    for node in nodes {
        write_lines(&node.head, indent, out);
        for (body, close) in &node.blocks {
            render_into(body, indent + 2, out);
            write_lines(close, indent, out);
        }
    }
}

fn write_lines(text: &str, indent: usize, out: &mut String) {
    for line in text.lines() {
        let _ = writeln!(out, "{:indent$}{line}", "");
    }
}

/// How many statements the tree holds, nested ones included.
pub fn count_nodes(nodes: &[Node]) -> usize {
    nodes
        .iter()
        .map(|n| 1 + n.blocks.iter().map(|(b, _)| count_nodes(b)).sum::<usize>())
        .sum()
}

/// A copy of the tree without its `index`-th statement (pre-order).
pub fn remove_node(nodes: &[Node], index: usize) -> Vec<Node> {
    let mut counter = index;
    remove_walk(nodes, &mut counter)
}

fn remove_walk(nodes: &[Node], counter: &mut usize) -> Vec<Node> {
    let mut out = Vec::with_capacity(nodes.len());
    for node in nodes {
        if *counter == usize::MAX {
            out.push(node.clone());
            continue;
        }
        if *counter == 0 {
            *counter = usize::MAX; // removed; copy the rest unchanged
            continue;
        }
        *counter -= 1;
        let blocks = node
            .blocks
            .iter()
            .map(|(body, close)| (remove_walk(body, counter), close.clone()))
            .collect();
        out.push(Node {
            head: node.head.clone(),
            blocks,
        });
    }
    out
}

/// The static kind of a variable. `Arr` holds only ints; `List` holds
/// anything; `Any` is unknown; `Func` indexes the generator's signature table.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Kind {
    Int,
    Float,
    Str,
    Bool,
    Arr,
    List,
    Map,
    /// Only printed or compared: loop variables over keys, `let x;`.
    Any,
    Func(usize),
}

const VALUE_KINDS: &[Kind] = &[
    Kind::Int,
    Kind::Int,
    Kind::Float,
    Kind::Str,
    Kind::Bool,
    Kind::Arr,
    Kind::List,
    Kind::Map,
];

#[derive(Clone)]
struct Var {
    name: String,
    kind: Kind,
    /// False for loop counters, recursion depths and functions: the
    /// generator never assigns them, which is what keeps loops bounded.
    mutable: bool,
}

/// What the generator knows about a function value.
struct Sig {
    params: Vec<Kind>,
    ret: Kind,
    /// Estimated statements run per call; `u64::MAX` while the body is being
    /// generated, so that it cannot call itself except where planned.
    cost: u64,
    /// The first parameter is a recursion depth (pass `0..=MAX_DEPTH`).
    recursive: bool,
}

/// Per-function generation state (the script is the outermost one).
struct Frame {
    /// Index of this function's first scope in `Gen::scopes`.
    scope_base: usize,
    /// Loops around the current statement, inside this function.
    loops: u32,
    /// How many times the current statement runs per call of the function.
    mult: u64,
    /// Estimated statements run per call so far.
    cost: u64,
    /// The most `cost` may reach.
    cap: u64,
    /// The return kind; `None` for the script.
    ret: Option<Kind>,
}

const MAX_DEPTH: u64 = 5;
const SCRIPT_BUDGET: u64 = 6000;
const FUNCTION_BUDGET: u64 = 300;
const MAX_NESTING: u32 = 3;

struct Gen {
    rng: Rng,
    scopes: Vec<Vec<Var>>,
    frames: Vec<Frame>,
    sigs: Vec<Sig>,
    next_name: u32,
    /// Percent chance that an operation takes its risky (possibly failing) form.
    risk: u32,
    features: BTreeSet<&'static str>,
    /// Statements appended after the script (late global declarations).
    epilogue: Vec<Node>,
}

/// Generates the program for `seed`.
pub fn generate(seed: u64) -> Program {
    let mut rng = Rng::new(seed);
    let risk = rng.pick(&[0, 1, 2, 4, 6]);
    let mut g = Gen {
        rng,
        scopes: vec![Vec::new()],
        frames: vec![Frame {
            scope_base: 0,
            loops: 0,
            mult: 1,
            cost: 0,
            cap: SCRIPT_BUDGET,
            ret: None,
        }],
        sigs: Vec::new(),
        next_name: 0,
        risk,
        features: BTreeSet::new(),
        epilogue: Vec::new(),
    };
    let count = 12 + g.rng.below(25);
    let mut nodes = Vec::new();
    for _ in 0..count {
        let node = if g.rng.chance(15) {
            g.template()
        } else {
            g.stmt(0)
        };
        nodes.push(node);
    }
    nodes.append(&mut g.epilogue);
    Program {
        nodes,
        features: g.features,
    }
}

// ---------------------------------------------------------------- helpers

impl Gen {
    fn feat(&mut self, name: &'static str) {
        self.features.insert(name);
    }

    fn fresh(&mut self, prefix: &str) -> String {
        self.next_name += 1;
        format!("{prefix}{}", self.next_name)
    }

    fn frame(&mut self) -> &mut Frame {
        self.frames.last_mut().expect("a frame")
    }

    fn at_top_level(&self) -> bool {
        self.frames.len() == 1 && self.scopes.len() == 1
    }

    fn in_function(&self) -> bool {
        self.frames.len() > 1
    }

    fn risky(&mut self) -> bool {
        let risk = self.risk;
        self.rng.chance(risk)
    }

    /// Adds `n` statement executions (times the loop multiplier) to the
    /// current function's cost, if the budget allows.
    fn charge(&mut self, n: u64) -> bool {
        let f = self.frame();
        let extra = n.saturating_mul(f.mult);
        if f.cost.saturating_add(extra) > f.cap {
            return false;
        }
        f.cost += extra;
        true
    }

    fn declare(&mut self, name: &str, kind: Kind, mutable: bool) {
        self.scopes.last_mut().expect("a scope").push(Var {
            name: name.to_string(),
            kind,
            mutable,
        });
    }

    /// Every visible variable, innermost first, shadowed ones left out.
    fn visible(&self) -> Vec<Var> {
        let mut seen = BTreeSet::new();
        let mut out = Vec::new();
        for scope in self.scopes.iter().rev() {
            for var in scope.iter().rev() {
                if seen.insert(var.name.clone()) {
                    out.push(var.clone());
                }
            }
        }
        out
    }

    fn vars_where(&self, keep: impl Fn(&Var) -> bool) -> Vec<Var> {
        self.visible().into_iter().filter(|v| keep(v)).collect()
    }

    fn var_of(&mut self, kind: Kind) -> Option<String> {
        let vars = self.vars_where(|v| v.kind == kind);
        if vars.is_empty() {
            return None;
        }
        Some(vars[self.rng.below(vars.len())].name.clone())
    }

    fn mutable_var(&mut self, kinds: &[Kind]) -> Option<Var> {
        let vars = self.vars_where(|v| v.mutable && kinds.contains(&v.kind));
        if vars.is_empty() {
            return None;
        }
        Some(vars[self.rng.below(vars.len())].clone())
    }

    /// Runs `f` in a new lexical scope.
    fn scoped<T>(&mut self, f: impl FnOnce(&mut Gen) -> T) -> T {
        self.scopes.push(Vec::new());
        let out = f(self);
        self.scopes.pop();
        out
    }

    /// Runs `f` as the body of a loop that runs `trips` times.
    fn looped<T>(&mut self, trips: u64, f: impl FnOnce(&mut Gen) -> T) -> T {
        let saved = self.frame().mult;
        self.frame().mult = saved.saturating_mul(trips.max(1));
        self.frame().loops += 1;
        let out = f(self);
        self.frame().loops -= 1;
        self.frame().mult = saved;
        out
    }

    fn stmts(&mut self, n: usize, nesting: u32) -> Vec<Node> {
        (0..n).map(|_| self.stmt(nesting)).collect()
    }

    fn block(&mut self, n: usize, nesting: u32) -> Vec<Node> {
        self.scoped(|g| g.stmts(n, nesting))
    }

    fn small_block(&mut self, nesting: u32) -> Vec<Node> {
        let n = 1 + self.rng.below(3);
        self.block(n, nesting)
    }
}

// ------------------------------------------------------------ expressions

const INTERESTING_INTS: &[&str] = &[
    "9223372036854775807",
    "(-9223372036854775808)",
    "9223372036854775806",
    "(-9223372036854775807)",
    "4611686018427387904",
    "2147483647",
    "(-2147483648)",
    "4294967296",
    "63",
    "64",
    "65",
    "(-1)",
    "(-64)",
    "255",
    "0xFF",
    "0x7FFFFFFFFFFFFFFF",
    "1_000_000",
    "100",
    "1000000007",
];

const FLOATS: &[&str] = &[
    "0.0",
    "(-0.0)",
    "0.5",
    "1.5",
    "0.1",
    "2.5e-3",
    "3.0E+2",
    "1e300",
    "1e-300",
    "1e16",
    "1e-7",
    "123.456",
    "(-2.75)",
    "(0.0 / 0.0)",
    "(1.0 / 0.0)",
    "(-1.0 / 0.0)",
    "9007199254740993.0",
];

const STRINGS: &[&str] = &[
    "\"\"",
    "\"a\"",
    "\"b\"",
    "\"hello\"",
    "\"Hello\"",
    "\"a\\nb\"",
    "\"tab\\there\"",
    "\"q\\\"uote\"",
    "\"back\\\\slash\"",
    "\"\\0nul\"",
    "\"é\"",
    "\"\\u{1F600}\"",
    "\"日本\"",
    "\"42\"",
    "\"-17\"",
    "\"abc\"",
    "\"zz\"",
    "\"  \"",
];

const KEYS: &[&str] = &["a", "b", "c", "x", "k1", "name"];

impl Gen {
    fn int_lit(&mut self) -> String {
        match self.rng.below(10) {
            0..=5 => self.rng.below(11).to_string(),
            6..=8 => self.rng.pick(INTERESTING_INTS).to_string(),
            _ => {
                let n = self.rng.next_u64() as i64;
                if n < 0 {
                    format!("(-{})", n.unsigned_abs())
                } else {
                    n.to_string()
                }
            }
        }
    }

    fn str_lit(&mut self) -> String {
        self.rng.pick(STRINGS).to_string()
    }

    fn key_lit(&mut self) -> String {
        match self.rng.below(6) {
            0..=3 => format!("\"{}\"", self.rng.pick(KEYS)),
            4 => self.rng.below(4).to_string(),
            _ => self.rng.pick(&["true", "false"]).to_string(),
        }
    }

    fn expr(&mut self, kind: Kind, depth: u32) -> String {
        match kind {
            Kind::Int => self.int_expr(depth),
            Kind::Float => self.float_expr(depth),
            Kind::Str => self.str_expr(depth),
            Kind::Bool => self.bool_expr(depth),
            Kind::Arr => self.arr_expr(depth),
            Kind::List => self.list_expr(depth),
            Kind::Map => self.map_expr(depth),
            Kind::Any => self.any_expr(depth),
            Kind::Func(_) => self.var_of(kind).unwrap_or_else(|| "nil".into()),
        }
    }

    /// A call of a visible function returning `kind`, if one fits the budget.
    fn call_returning(&mut self, kind: Kind, depth: u32) -> Option<String> {
        let fns: Vec<(String, usize)> = self
            .visible()
            .into_iter()
            .filter_map(|v| match v.kind {
                Kind::Func(s) if self.sigs[s].ret == kind => Some((v.name, s)),
                _ => None,
            })
            .collect();
        if fns.is_empty() {
            return None;
        }
        let (name, sig) = fns[self.rng.below(fns.len())].clone();
        self.call(&name, sig, depth)
    }

    fn call(&mut self, name: &str, sig: usize, depth: u32) -> Option<String> {
        let cost = self.sigs[sig].cost;
        if cost == u64::MAX || !self.charge(cost) {
            return None;
        }
        self.feat("call");
        let params = self.sigs[sig].params.clone();
        let mut args: Vec<String> = Vec::new();
        for (i, p) in params.iter().enumerate() {
            if i == 0 && self.sigs[sig].recursive {
                args.push(self.rng.below(MAX_DEPTH as usize + 1).to_string());
            } else {
                args.push(self.expr(*p, depth + 1));
            }
        }
        if self.risky() {
            self.feat("wrong arity (risky)");
            if args.is_empty() || self.rng.chance(50) {
                args.push("1".into());
            } else {
                args.pop();
            }
        }
        Some(format!("{name}({})", args.join(", ")))
    }

    fn int_expr(&mut self, depth: u32) -> String {
        if depth >= 3 {
            return match self.var_of(Kind::Int) {
                Some(v) if self.rng.chance(60) => v,
                _ => self.int_lit(),
            };
        }
        let d = depth + 1;
        match self.rng.below(20) {
            0..=3 => self.int_lit(),
            4..=7 => self.var_of(Kind::Int).unwrap_or_else(|| self.int_lit()),
            8..=11 => {
                self.feat("int arithmetic");
                let op = self
                    .rng
                    .pick(&["+", "-", "*", "+", "-", "*", "&", "|", "^"]);
                format!("({} {op} {})", self.int_expr(d), self.int_expr(d))
            }
            12 => {
                self.feat("shift");
                let op = self.rng.pick(&["<<", ">>"]);
                format!("({} {op} {})", self.int_expr(d), self.int_expr(d))
            }
            13 => self.int_division(d),
            14 => {
                let op = self.rng.pick(&["-", "~", "-"]);
                format!("({op}{})", self.int_expr(d))
            }
            15 => self.len_expr(d),
            16 => self.int_conversion(d),
            17 => {
                self.feat("abs");
                format!("abs({})", self.int_expr(d))
            }
            _ => self
                .call_returning(Kind::Int, d)
                .unwrap_or_else(|| self.int_lit()),
        }
    }

    fn int_division(&mut self, d: u32) -> String {
        self.feat("int division");
        let op = self.rng.pick(&["/", "%"]);
        let lhs = self.int_expr(d);
        if self.risky() {
            self.feat("division by variable (risky)");
            return format!("({lhs} {op} {})", self.int_expr(d));
        }
        match self.rng.below(4) {
            // `x | 1` is odd, so never zero.
            0 | 1 => format!("({lhs} {op} ({} | 1))", self.int_expr(d)),
            2 => format!("({lhs} {op} (-1))"),
            _ => format!("({lhs} {op} {})", 1 + self.rng.below(9)),
        }
    }

    fn len_expr(&mut self, d: u32) -> String {
        self.feat("len");
        let kind = self
            .rng
            .pick(&[Kind::Str, Kind::Arr, Kind::List, Kind::Map]);
        format!("len({})", self.expr(kind, d))
    }

    fn int_conversion(&mut self, d: u32) -> String {
        self.feat("int conversion");
        if self.risky() {
            self.feat("int of float or text (risky)");
            return match self.rng.below(3) {
                0 => format!("int({})", self.float_expr(d)),
                1 => format!("floor({})", self.float_expr(d)),
                _ => format!("int({})", self.str_expr(d)),
            };
        }
        match self.rng.below(4) {
            0 => format!("int(\"{}\")", self.rng.below(1000) as i64 - 500),
            1 => format!("int(str({}))", self.int_expr(d)),
            2 => format!(
                "floor({})",
                self.rng.pick(&["2.5", "(-2.5)", "0.0", "1e15"])
            ),
            _ => format!(
                "int({})",
                self.rng.pick(&["3.99", "(-3.99)", "(-0.0)", "1e18"])
            ),
        }
    }

    fn float_expr(&mut self, depth: u32) -> String {
        if depth >= 3 {
            return match self.var_of(Kind::Float) {
                Some(v) if self.rng.chance(50) => v,
                _ => self.rng.pick(FLOATS).to_string(),
            };
        }
        let d = depth + 1;
        self.feat("float");
        match self.rng.below(12) {
            0..=2 => self.rng.pick(FLOATS).to_string(),
            3..=4 => self
                .var_of(Kind::Float)
                .unwrap_or_else(|| self.rng.pick(FLOATS).to_string()),
            5..=7 => {
                let op = self.rng.pick(&["+", "-", "*", "/", "%"]);
                let (a, b) = if self.rng.chance(50) {
                    (self.float_expr(d), self.int_expr(d))
                } else {
                    (self.float_expr(d), self.float_expr(d))
                };
                if self.rng.chance(50) {
                    format!("({a} {op} {b})")
                } else {
                    format!("({b} {op} {a})")
                }
            }
            8 => format!("float({})", self.int_expr(d)),
            9 => format!("sqrt({})", self.float_expr(d)),
            10 => format!("(-{})", self.float_expr(d)),
            _ => self
                .call_returning(Kind::Float, d)
                .unwrap_or_else(|| format!("abs({})", self.float_expr(d))),
        }
    }

    fn str_expr(&mut self, depth: u32) -> String {
        if depth >= 3 {
            return match self.var_of(Kind::Str) {
                Some(v) if self.rng.chance(50) => v,
                _ => self.str_lit(),
            };
        }
        let d = depth + 1;
        match self.rng.below(14) {
            0..=3 => self.str_lit(),
            4..=6 => self.var_of(Kind::Str).unwrap_or_else(|| self.str_lit()),
            // A variable plus a literal: stored strings grow only linearly.
            7..=8 => {
                self.feat("string concat");
                let v = self.var_of(Kind::Str).unwrap_or_else(|| self.str_lit());
                let lit = self.str_lit();
                if self.rng.chance(50) {
                    format!("({v} + {lit})")
                } else {
                    format!("({lit} + {v})")
                }
            }
            9..=10 => {
                self.feat("str()");
                let kind = self
                    .rng
                    .pick(&[Kind::Int, Kind::Float, Kind::Bool, Kind::Arr]);
                format!("str({})", self.expr(kind, d + 1))
            }
            11 => {
                self.feat("type()");
                format!("type({})", self.any_expr(d))
            }
            12 if self.risky() => {
                self.feat("string index (risky)");
                format!("{}[{}]", self.str_expr(d), self.int_expr(d))
            }
            _ => self
                .call_returning(Kind::Str, d)
                .unwrap_or_else(|| self.str_lit()),
        }
    }

    fn bool_expr(&mut self, depth: u32) -> String {
        if depth >= 3 {
            return self.rng.pick(&["true", "false"]).to_string();
        }
        let d = depth + 1;
        match self.rng.below(12) {
            0 => self.rng.pick(&["true", "false"]).to_string(),
            1 => self
                .var_of(Kind::Bool)
                .unwrap_or_else(|| "true".to_string()),
            2..=4 => self.comparison(d),
            5 => {
                self.feat("equality");
                let op = self.rng.pick(&["==", "!="]);
                format!("({} {op} {})", self.any_expr(d), self.any_expr(d))
            }
            6 => {
                self.feat("not");
                format!("(not {})", self.any_expr(d))
            }
            7 => {
                self.feat("and/or");
                let op = self.rng.pick(&["and", "or"]);
                format!("({} {op} {})", self.bool_expr(d), self.bool_expr(d))
            }
            8 => {
                self.feat("map has");
                format!("has({}, {})", self.map_expr(d), self.key_lit())
            }
            9 => format!("({} == nil)", self.any_expr(d)),
            _ => self
                .call_returning(Kind::Bool, d)
                .unwrap_or_else(|| self.comparison(d)),
        }
    }

    fn comparison(&mut self, d: u32) -> String {
        self.feat("ordering comparison");
        let op = self.rng.pick(&["<", "<=", ">", ">=", "==", "!="]);
        if self.risky() {
            self.feat("comparison of mixed types (risky)");
            return format!("({} {op} {})", self.any_expr(d), self.any_expr(d));
        }
        let (a, b) = match self.rng.below(4) {
            0 => (self.int_expr(d), self.int_expr(d)),
            1 => (self.float_expr(d), self.int_expr(d)),
            2 => (self.float_expr(d), self.float_expr(d)),
            _ => {
                self.feat("string comparison");
                (self.str_expr(d), self.str_expr(d))
            }
        };
        format!("({a} {op} {b})")
    }

    fn arr_expr(&mut self, depth: u32) -> String {
        if depth < 3
            && self.rng.chance(40)
            && let Some(call) = self.call_returning(Kind::Arr, depth + 1)
        {
            return call;
        }
        match self.var_of(Kind::Arr) {
            Some(v) if self.rng.chance(60) => v,
            _ => {
                let n = self.rng.below(5);
                let items: Vec<String> = (0..n).map(|_| self.int_expr(depth.max(2))).collect();
                format!("[{}]", items.join(", "))
            }
        }
    }

    fn list_expr(&mut self, depth: u32) -> String {
        match self.var_of(Kind::List) {
            Some(v) if self.rng.chance(60) => v,
            _ => {
                self.feat("array literal");
                let n = self.rng.below(4);
                let items: Vec<String> = (0..n)
                    .map(|_| {
                        if self.rng.chance(15) {
                            self.arr_expr(depth + 1)
                        } else {
                            self.scalar_expr(depth + 1)
                        }
                    })
                    .collect();
                let trailing = if n > 0 && self.rng.chance(20) {
                    ","
                } else {
                    ""
                };
                format!("[{}{trailing}]", items.join(", "))
            }
        }
    }

    fn map_expr(&mut self, depth: u32) -> String {
        match self.var_of(Kind::Map) {
            Some(v) if self.rng.chance(65) => v,
            _ => {
                self.feat("map literal");
                let n = self.rng.below(4);
                let mut entries = Vec::new();
                for _ in 0..n {
                    let key = match self.rng.below(4) {
                        0 | 1 => self.rng.pick(KEYS).to_string(),
                        2 => self.key_lit(),
                        _ => format!("{} + 1", self.rng.below(3)),
                    };
                    entries.push(format!("{key}: {}", self.scalar_expr(depth + 1)));
                }
                format!("{{{}}}", entries.join(", "))
            }
        }
    }

    /// A value that is not a container variable (safe to store anywhere
    /// without building large shared structures).
    fn scalar_expr(&mut self, depth: u32) -> String {
        let kind = self
            .rng
            .pick(&[Kind::Int, Kind::Int, Kind::Float, Kind::Str, Kind::Bool]);
        match self.rng.below(10) {
            0 => "nil".to_string(),
            _ => self.expr(kind, depth.max(2)),
        }
    }

    /// A value of any type.
    fn any_expr(&mut self, depth: u32) -> String {
        if depth >= 3 {
            return self.scalar_expr(depth);
        }
        match self.rng.below(14) {
            0 => match self.var_of(Kind::Any) {
                Some(v) => v,
                None => "nil".to_string(),
            },
            1 => {
                self.feat("map read");
                let m = self.map_expr(depth + 1);
                if self.rng.chance(50) {
                    format!("{m}[{}]", self.key_lit())
                } else {
                    format!("{m}.{}", self.rng.pick(KEYS))
                }
            }
            2 => match self.vars_where(|v| matches!(v.kind, Kind::Func(_))).first() {
                Some(f) => {
                    self.feat("function value");
                    f.name.clone()
                }
                None => self.rng.pick(&["len", "print", "str"]).to_string(),
            },
            3 if self.risky() => {
                self.feat("array index (risky)");
                let kind = self.rng.pick(&[Kind::Arr, Kind::List]);
                let a = self.expr(kind, depth + 1);
                format!("{a}[{}]", self.int_expr(depth + 1))
            }
            _ => {
                let kind = self.rng.pick(VALUE_KINDS);
                self.expr(kind, depth + 1)
            }
        }
    }

    /// A condition: a bool, or any value tested for truthiness.
    fn cond(&mut self) -> String {
        if self.rng.chance(75) {
            self.bool_expr(0)
        } else {
            self.feat("truthiness");
            self.any_expr(1)
        }
    }
}

// ------------------------------------------------------------- statements

impl Gen {
    fn stmt(&mut self, nesting: u32) -> Node {
        for _ in 0..20 {
            if !self.charge(1) {
                break;
            }
            let node = match self.rng.below(100) {
                0..=19 => Some(self.print_stmt()),
                20..=33 => Some(self.let_stmt()),
                34..=45 => self.assign_stmt(),
                46..=52 if nesting < MAX_NESTING => Some(self.if_stmt(nesting)),
                53..=58 if nesting < MAX_NESTING => Some(self.for_range(nesting)),
                59..=61 if nesting < MAX_NESTING => Some(self.while_stmt(nesting)),
                62..=65 if nesting < MAX_NESTING => Some(self.for_each(nesting)),
                66..=72 => self.array_stmt(),
                73..=79 => self.map_stmt(),
                80..=83 if nesting < MAX_NESTING && self.frames.len() < 3 => {
                    Some(self.fn_decl(nesting))
                }
                84..=86 => self.call_stmt(),
                87..=88 if nesting < MAX_NESTING => Some(self.shadow_block(nesting)),
                89..=91 => self.jump_stmt(),
                92..=93 => self.early_return(),
                94..=96 => self.string_stmt(),
                _ => self.risky_stmt(),
            };
            if let Some(node) = node {
                return node;
            }
        }
        Node::line(format!("print({});", self.int_lit()))
    }

    fn print_stmt(&mut self) -> Node {
        self.feat("print");
        let n = 1 + self.rng.below(3);
        let args: Vec<String> = (0..n).map(|_| self.any_expr(0)).collect();
        Node::line(format!("print({});", args.join(", ")))
    }

    fn let_stmt(&mut self) -> Node {
        let kind = self.rng.pick(VALUE_KINDS);
        let name = self.fresh("v");
        if self.rng.chance(5) {
            self.feat("let without value");
            self.declare(&name, Kind::Any, false);
            return Node::line(format!("let {name};"));
        }
        let init = self.expr(kind, 0);
        // Top-level redeclaration of a global is allowed (same kind kept).
        if self.at_top_level()
            && self.rng.chance(10)
            && let Some(v) = self.mutable_var(&[Kind::Int, Kind::Str])
        {
            self.feat("global redeclaration");
            let value = self.expr(v.kind, 0);
            return Node::line(format!("let {} = {value}; print({});", v.name, v.name));
        }
        self.declare(&name, kind, true);
        self.feat("let");
        if self.rng.chance(40) {
            Node::line(format!("let {name} = {init}; print({name});"))
        } else {
            Node::line(format!("let {name} = {init};"))
        }
    }

    fn assign_stmt(&mut self) -> Option<Node> {
        let v = self.mutable_var(&[
            Kind::Int,
            Kind::Int,
            Kind::Float,
            Kind::Str,
            Kind::Bool,
            Kind::Arr,
            Kind::List,
            Kind::Map,
        ])?;
        self.feat("assignment");
        let name = &v.name;
        let text = match v.kind {
            Kind::Int if self.rng.chance(60) => {
                self.feat("compound assignment");
                let op = self.rng.pick(&["+=", "-=", "*=", "/=", "%="]);
                let rhs = if (op == "/=" || op == "%=") && !self.risky() {
                    format!("({} | 1)", self.int_expr(1))
                } else {
                    self.int_expr(1)
                };
                format!("{name} {op} {rhs};")
            }
            Kind::Float if self.rng.chance(50) => {
                let op = self.rng.pick(&["+=", "-=", "*=", "/=", "%="]);
                format!("{name} {op} {};", self.float_expr(1))
            }
            Kind::Str if self.rng.chance(50) => {
                self.feat("string +=");
                format!("{name} += {};", self.str_lit())
            }
            kind => format!("{name} = {};", self.expr(kind, 0)),
        };
        if self.rng.chance(50) {
            Some(Node::line(format!("{text} print({name});")))
        } else {
            Some(Node::line(text))
        }
    }

    fn if_stmt(&mut self, nesting: u32) -> Node {
        self.feat("if");
        let cond = self.cond();
        let then = self.small_block(nesting + 1);
        let mut node = Node::block(format!("if {cond} {{"), then, "}");
        match self.rng.below(3) {
            0 => {}
            1 => {
                self.feat("else");
                let other = self.small_block(nesting + 1);
                node.blocks[0].1 = "} else {".into();
                node.blocks.push((other, "}".into()));
            }
            _ => {
                self.feat("else if");
                let cond2 = self.cond();
                let mid = self.small_block(nesting + 1);
                let other = self.small_block(nesting + 1);
                node.blocks[0].1 = format!("}} else if {cond2} {{");
                node.blocks.push((mid, "} else {".into()));
                node.blocks.push((other, "}".into()));
            }
        }
        node
    }

    fn for_range(&mut self, nesting: u32) -> Node {
        self.feat("for range");
        let i = self.fresh("i");
        let lo = self.rng.below(3) as u64;
        let hi = lo + self.rng.below(6) as u64;
        let (lo_text, hi_text) = if self.risky() {
            self.feat("range with float bound (risky)");
            (lo.to_string(), format!("{hi}.5"))
        } else if self.rng.chance(20) {
            // A bound that is an expression, evaluated once.
            (lo.to_string(), format!("({hi} + 0 * {})", self.int_expr(2)))
        } else {
            (lo.to_string(), hi.to_string())
        };
        let body = self.looped(hi - lo + 1, |g| {
            g.scoped(|g| {
                // The loop variable may be assigned: that must not change the iteration.
                g.declare(&i, Kind::Int, true);
                let n = 1 + g.rng.below(3);
                g.stmts(n, nesting + 1)
            })
        });
        Node::block(format!("for {i} in {lo_text}..{hi_text} {{"), body, "}")
    }

    fn while_stmt(&mut self, nesting: u32) -> Node {
        self.feat("while");
        let w = self.fresh("w");
        let trips = self.rng.below(6) as u64;
        self.declare(&w, Kind::Int, false);
        let mut body = vec![Node::line(format!("{w} += 1;"))];
        body.extend(self.looped(trips + 1, |g| g.small_block(nesting + 1)));
        Node {
            head: format!("let {w} = 0;"),
            blocks: vec![(
                vec![Node::block(format!("while {w} < {trips} {{"), body, "}")],
                String::new(),
            )],
        }
        .flatten_wrapper()
    }

    fn for_each(&mut self, nesting: u32) -> Node {
        self.feat("for each");
        let x = self.fresh("x");
        let choice = self.rng.below(4);
        if choice == 0 || (choice == 1 && self.var_of(Kind::Map).is_none()) {
            // A literal: nothing else can reach it, so no guard is needed.
            let n = self.rng.below(5);
            let items: Vec<String> = (0..n).map(|_| self.int_expr(2)).collect();
            let body = self.looped(n as u64 + 1, |g| {
                g.scoped(|g| {
                    g.declare(&x, Kind::Int, true);
                    g.small_block(nesting + 1)
                })
            });
            return Node::block(format!("for {x} in [{}] {{", items.join(", ")), body, "}");
        }
        // A container the body may grow: a counter breaks out after a few steps.
        let guard = self.fresh("c");
        let limit = 1 + self.rng.below(6);
        let (source, kind) = match choice {
            1 => {
                self.feat("for over map");
                (self.var_of(Kind::Map).expect("checked"), Kind::Any)
            }
            2 => {
                self.feat("for over keys()");
                (format!("keys({})", self.map_expr(1)), Kind::Any)
            }
            _ => (self.arr_expr(1), Kind::Int),
        };
        self.declare(&guard, Kind::Int, false);
        let mut body = vec![
            Node::line(format!("{guard} += 1;")),
            Node::line(format!("if {guard} > {limit} {{ break; }}")),
        ];
        body.extend(self.looped(limit as u64 + 1, |g| {
            g.scoped(|g| {
                g.declare(&x, kind, kind == Kind::Int);
                let mut nodes = vec![Node::line(format!("print({x});"))];
                nodes.extend(g.small_block(nesting + 1));
                nodes
            })
        }));
        Node {
            head: format!("let {guard} = 0;"),
            blocks: vec![(
                vec![Node::block(format!("for {x} in {source} {{"), body, "}")],
                String::new(),
            )],
        }
        .flatten_wrapper()
    }

    fn array_stmt(&mut self) -> Option<Node> {
        let kind = self.rng.pick(&[Kind::Arr, Kind::List]);
        let a = self.var_of(kind)?;
        let elem = |g: &mut Gen| {
            if kind == Kind::Arr {
                g.int_expr(1)
            } else {
                g.scalar_expr(1)
            }
        };
        self.feat("array ops");
        let text = match self.rng.below(6) {
            0 | 1 => {
                self.feat("push");
                format!("push({a}, {}); print({a});", elem(self))
            }
            2 => {
                self.feat("pop");
                if self.risky() {
                    format!("print(pop({a}));")
                } else {
                    format!("if len({a}) > 0 {{ print(pop({a})); }}")
                }
            }
            3 => {
                self.feat("index set");
                let k = self.rng.below(4);
                let v = elem(self);
                if self.risky() {
                    format!("{a}[{}] = {v};", self.int_expr(1))
                } else if kind == Kind::Arr && self.rng.chance(50) {
                    self.feat("index +=");
                    format!("if len({a}) > {k} {{ {a}[{k}] += {v}; print({a}[{k}]); }}")
                } else {
                    format!("if len({a}) > {k} {{ {a}[{k}] = {v}; print({a}); }}")
                }
            }
            4 => {
                self.feat("index get");
                let k = self.rng.below(4);
                if kind == Kind::Arr {
                    let sum = self.int_expr(1);
                    format!("if len({a}) > {k} {{ print({a}[{k}] + {sum}, {a}[-1 + len({a})]); }}")
                } else {
                    format!("if {k} < len({a}) {{ print({a}[{k}]); }}")
                }
            }
            _ => {
                self.feat("aliasing");
                let b = self.fresh("v");
                self.declare(&b, kind, true);
                format!(
                    "let {b} = {a}; push({b}, {}); print({a}, len({a}) == len({b}));",
                    elem(self)
                )
            }
        };
        Some(Node::line(text))
    }

    fn map_stmt(&mut self) -> Option<Node> {
        let m = self.var_of(Kind::Map)?;
        self.feat("map ops");
        let text = match self.rng.below(7) {
            0 => {
                self.feat("map insert");
                format!(
                    "{m}[{}] = {}; print({m});",
                    self.key_lit(),
                    self.scalar_expr(1)
                )
            }
            1 => {
                self.feat("map field set");
                format!(
                    "{m}.{} = {}; print({m});",
                    self.rng.pick(KEYS),
                    self.scalar_expr(1)
                )
            }
            2 => {
                self.feat("map del");
                format!("print(del({m}, {}), {m});", self.key_lit())
            }
            3 => format!("print(has({m}, {}), len({m}));", self.key_lit()),
            4 => {
                self.feat("keys()");
                format!("print(keys({m}));")
            }
            5 => {
                self.feat("map nil value");
                let k = self.key_lit();
                format!("{m}[{k}] = nil; print(has({m}, {k}), {m});")
            }
            _ if self.risky() => {
                self.feat("float map key (risky)");
                format!("{m}[{}] = 1;", self.float_expr(2))
            }
            _ => {
                let k = self.key_lit();
                format!("if has({m}, {k}) {{ print({m}[{k}]); }}")
            }
        };
        Some(Node::line(text))
    }

    fn string_stmt(&mut self) -> Option<Node> {
        self.feat("string ops");
        let s = self.str_expr(1);
        let k = self.rng.below(4);
        let other = self.str_expr(1);
        Some(Node::line(match self.rng.below(3) {
            0 => {
                self.feat("string index");
                format!("if len({s}) > {k} {{ print({s}[{k}] + \"|\", len({s})); }}")
            }
            1 => format!("print({s} < {other}, {s} == {other}, {s} + {other});"),
            _ => format!("print(str({s}), float(str({})));", self.int_expr(1)),
        }))
    }

    fn call_stmt(&mut self) -> Option<Node> {
        let fns = self.vars_where(|v| matches!(v.kind, Kind::Func(_)));
        if fns.is_empty() {
            return None;
        }
        let f = fns[self.rng.below(fns.len())].clone();
        let Kind::Func(sig) = f.kind else {
            return None;
        };
        let call = self.call(&f.name, sig, 0)?;
        Some(Node::line(format!("print({call});")))
    }

    fn shadow_block(&mut self, nesting: u32) -> Node {
        self.feat("block");
        self.scoped(|g| {
            let mut body = Vec::new();
            if let Some(v) = g.mutable_var(&[Kind::Int, Kind::Str, Kind::Float, Kind::Bool]) {
                g.feat("shadowing");
                let kind = g.rng.pick(&[Kind::Int, Kind::Str, Kind::List]);
                let init = g.expr(kind, 1);
                g.declare(&v.name, kind, true);
                body.push(Node::line(format!(
                    "let {} = {init}; print({});",
                    v.name, v.name
                )));
            }
            let n = 1 + g.rng.below(2);
            body.extend(g.stmts(n, nesting + 1));
            Node::block("{", body, "}")
        })
    }

    fn jump_stmt(&mut self) -> Option<Node> {
        if self.frames.last()?.loops == 0 {
            return None;
        }
        let word = self.rng.pick(&["break", "continue"]);
        self.feat(if word == "break" { "break" } else { "continue" });
        let cond = self.cond();
        Some(Node::line(format!("if {cond} {{ {word}; }}")))
    }

    fn early_return(&mut self) -> Option<Node> {
        let ret = self.frames.last()?.ret?;
        self.feat("early return");
        let cond = self.cond();
        let value = self.expr(ret, 1);
        Some(Node::line(format!("if {cond} {{ return {value}; }}")))
    }

    fn risky_stmt(&mut self) -> Option<Node> {
        if !self.risky() {
            return None;
        }
        let text = match self.rng.below(8) {
            0 => {
                self.feat("error() (risky)");
                format!("if {} {{ error({}); }}", self.cond(), self.any_expr(1))
            }
            1 => {
                self.feat("assert (risky)");
                if self.rng.chance(50) {
                    format!("assert({});", self.cond())
                } else {
                    format!("assert({}, {});", self.cond(), self.str_expr(1))
                }
            }
            2 => {
                self.feat("mixed-type arithmetic (risky)");
                let op = self.rng.pick(&["+", "-", "*", "<<", "&"]);
                format!("print({} {op} {});", self.any_expr(1), self.any_expr(1))
            }
            3 => {
                self.feat("call a non-function (risky)");
                format!("print(({})());", self.scalar_expr(1))
            }
            4 => {
                self.feat("field of non-map (risky)");
                format!("print(({}).{});", self.any_expr(1), self.rng.pick(KEYS))
            }
            5 => {
                self.feat("iterate non-container (risky)");
                format!("for y in {} {{ print(y); }}", self.scalar_expr(1))
            }
            6 => {
                self.feat("unary on wrong type (risky)");
                format!("print(-{}, ~{});", self.any_expr(2), self.any_expr(2))
            }
            _ => {
                self.feat("builtin wrong type (risky)");
                let b = self
                    .rng
                    .pick(&["len", "sqrt", "keys", "abs", "pop", "float"]);
                format!("print({b}({}));", self.any_expr(1))
            }
        };
        Some(Node::line(text))
    }
}

impl Node {
    /// Turns a helper node `{ head; [inner] }` built as a wrapper into the
    /// plain sequence `head` + `inner` as one statement list entry: a line
    /// followed by a compound statement, kept together so that shrinking
    /// deletes both.
    fn flatten_wrapper(self) -> Node {
        let (mut inner, _) = self.blocks.into_iter().next().expect("wrapper body");
        let compound = inner.remove(0);
        Node {
            head: format!("{}\n{}", self.head, compound.head),
            blocks: compound.blocks,
        }
    }
}

// -------------------------------------------------------------- functions

impl Gen {
    /// A function declaration (`fn name(...) { ... }`), sometimes recursive.
    fn fn_decl(&mut self, nesting: u32) -> Node {
        let name = self.fresh("f");
        let recursive = self.rng.chance(30);
        let (sig, params, body) = self.function(Some(&name), recursive, nesting);
        self.feat(if self.in_function() {
            "nested fn"
        } else {
            "fn"
        });
        if recursive {
            self.feat("recursion");
        }
        self.declare(&name, Kind::Func(sig), false);
        let head = format!("fn {name}({}) {{", params.join(", "));
        // Usually call it right away, so that its body runs.
        let close = match self.call(&name, sig, 0) {
            Some(call) if self.rng.chance(70) => format!("}}\nprint({call});"),
            _ => "}".to_string(),
        };
        Node::block(head, body, &close)
    }

    /// Generates a function body in a fresh frame. With `recursive`, the
    /// first parameter is a depth and the body calls `name` once with the
    /// depth minus one. Returns the signature, parameter names and body.
    fn function(
        &mut self,
        name: Option<&str>,
        recursive: bool,
        nesting: u32,
    ) -> (usize, Vec<String>, Vec<Node>) {
        let ret = self.rng.pick(&[
            Kind::Int,
            Kind::Int,
            Kind::Str,
            Kind::Float,
            Kind::Bool,
            Kind::List,
            Kind::Arr,
        ]);
        let mut kinds = Vec::new();
        if recursive {
            kinds.push(Kind::Int);
        }
        for _ in 0..self.rng.below(3) {
            kinds.push(self.rng.pick(&[
                Kind::Int,
                Kind::Int,
                Kind::Float,
                Kind::Str,
                Kind::Arr,
                Kind::List,
                Kind::Map,
            ]));
        }
        let sig = self.sigs.len();
        self.sigs.push(Sig {
            params: kinds.clone(),
            ret,
            cost: u64::MAX,
            recursive,
        });
        let names: Vec<String> = kinds.iter().map(|_| self.fresh("p")).collect();
        self.scopes.push(Vec::new());
        if let Some(name) = name {
            // The function's own name is visible in its body.
            self.declare(name, Kind::Func(sig), false);
        }
        for (i, (p, k)) in names.iter().zip(&kinds).enumerate() {
            self.declare(p, *k, !(recursive && i == 0));
        }
        self.frames.push(Frame {
            scope_base: self.scopes.len() - 1,
            loops: 0,
            mult: 1,
            cost: 0,
            cap: FUNCTION_BUDGET / if recursive { MAX_DEPTH + 1 } else { 1 },
            ret: Some(ret),
        });
        let n = 1 + self.rng.below(4);
        let mut body = self.stmts(n, nesting + 1);
        if recursive {
            let args: Vec<String> = std::iter::once(format!("{} - 1", names[0]))
                .chain(kinds[1..].iter().map(|k| self.expr(*k, 1)))
                .collect();
            let fname = name.expect("recursive functions are named");
            let r = self.fresh("r");
            body.push(Node::block(
                format!("if {} > 0 {{", names[0]),
                vec![Node::line(format!(
                    "let {r} = {fname}({}); print({}, {r});",
                    args.join(", "),
                    names[0]
                ))],
                "}",
            ));
        }
        let n = self.rng.below(2);
        body.extend(self.stmts(n, nesting + 1));
        let value = self.expr(ret, 0);
        body.push(Node::line(format!("return {value};")));
        let frame = self.frames.pop().expect("function frame");
        debug_assert_eq!(frame.scope_base, self.scopes.len() - 1);
        self.scopes.pop();
        let per_call = frame.cost.max(1) + 1;
        self.sigs[sig].cost = if recursive {
            per_call * (MAX_DEPTH + 1)
        } else {
            per_call
        };
        (sig, names, body)
    }
}

// -------------------------------------------------------------- templates

impl Gen {
    /// A top-level idiom that random statements rarely produce on their own.
    fn template(&mut self) -> Node {
        match self.rng.below(9) {
            0 => self.closures_in_loop(),
            1 => self.counter_closure(),
            2 => self.mutual_recursion(),
            3 => self.deep_recursion(),
            4 => self.self_containing(),
            5 => self.higher_order(),
            6 => self.map_order(),
            7 if self.risky() => self.late_global(),
            _ => self.closure_value(),
        }
    }

    /// Closures created in a loop capture that iteration's variables.
    fn closures_in_loop(&mut self) -> Node {
        self.feat("closures capturing loop variables");
        let fs = self.fresh("fs");
        let i = self.fresh("i");
        let c = self.fresh("c");
        let k = 1 + self.rng.below(4);
        let scale = self.int_lit();
        let step = self.rng.below(3);
        let head = match self.rng.below(3) {
            0 => format!("for {i} in 0..{k} {{"),
            1 => format!(
                "for {i} in [{}] {{",
                (0..k)
                    .map(|j| (j * 3).to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            _ => {
                self.feat("while with per-iteration let");
                let w = self.fresh("w");
                let lines = format!(
                    "let {fs} = [];\nlet {w} = 0;\nwhile {w} < {k} {{\n  {w} += 1;\n  let {i} = {w} * 2;"
                );
                let body = vec![
                    Node::line(format!("let {c} = {i} * {scale};")),
                    Node::line(format!(
                        "push({fs}, fn() {{ {c} += {step}; return [{i}, {c}]; }});"
                    )),
                ];
                let tail = format!("}}\nfor g in {fs} {{ print(g(), g()); }}\nprint({fs});");
                return Node::block(lines, body, &tail);
            }
        };
        self.charge(20);
        Node {
            head: format!("let {fs} = [];\n{head}"),
            blocks: vec![(
                vec![
                    Node::line(format!("let {c} = {i} * {scale};")),
                    Node::line(format!(
                        "push({fs}, fn() {{ {c} += {step}; {i} += 1; return [{i}, {c}]; }});"
                    )),
                ],
                format!(
                    "}}\nfor g in {fs} {{ print(g(), g()); }}\nprint(len({fs}), {fs}[0] == {fs}[0]);"
                ),
            )],
        }
    }

    /// A counter shared by a closure and the code that created it.
    fn counter_closure(&mut self) -> Node {
        self.feat("closure counter");
        let mk = self.fresh("mk");
        let n = self.fresh("n");
        let a = self.fresh("ctr");
        let b = self.fresh("ctr");
        let start = self.int_lit();
        let step = self.int_lit();
        self.charge(20);
        Node::block(
            format!("fn {mk}() {{\n  let {n} = {start};"),
            vec![
                Node::line(format!("let inc = fn() {{ {n} += {step}; return {n}; }};")),
                Node::line(format!("{n} = {n} * 2;")),
                Node::line("return inc;"),
            ],
            &format!(
                "}}\nlet {a} = {mk}();\nlet {b} = {mk}();\nprint({a}(), {a}(), {b}(), {a}, type({b}));"
            ),
        )
    }

    /// Two globals calling each other, the first declared before the second.
    fn mutual_recursion(&mut self) -> Node {
        self.feat("mutual recursion");
        let ev = self.fresh("even");
        let od = self.fresh("odd");
        let k = self.rng.below(60);
        self.charge(k as u64);
        Node::line(format!(
            "fn {ev}(n) {{ if n == 0 {{ return true; }} return {od}(n - 1); }}\n\
             fn {od}(n) {{ if n == 0 {{ return false; }} return {ev}(n - 1); }}\n\
             print({ev}({k}), {od}({k}), {ev});"
        ))
    }

    /// Recursion thousands of frames deep (and sometimes too deep).
    fn deep_recursion(&mut self) -> Node {
        self.feat("deep recursion");
        let f = self.fresh("deep");
        let depth = if self.risky() {
            self.feat("stack overflow (risky)");
            "0 - 1".to_string()
        } else {
            self.rng.pick(&["10", "500", "3000", "10000"]).to_string()
        };
        self.charge(200);
        Node::line(format!(
            "fn {f}(n) {{ if n == 0 {{ return 0; }} return 1 + {f}(n - 1); }}\nprint({f}({depth}));"
        ))
    }

    /// Containers that contain themselves print their inner occurrence as `[...]`.
    fn self_containing(&mut self) -> Node {
        self.feat("self-containing containers");
        let a = self.fresh("selfa");
        let m = self.fresh("selfm");
        let item = self.scalar_expr(2);
        self.declare(&a, Kind::List, true);
        self.declare(&m, Kind::Map, true);
        Node::line(format!(
            "let {a} = [{item}];\npush({a}, {a});\nlet {m} = {{x: {a}}};\n{m}.me = {m};\n\
             print({a}, {m}, [{a}, {a}], len({a}));"
        ))
    }

    /// A function that takes a function, called with a capturing lambda.
    fn higher_order(&mut self) -> Node {
        self.feat("higher-order function");
        let map = self.fresh("map");
        let cap = self.fresh("cap");
        let init = self.int_expr(2);
        let op = self.rng.pick(&["+", "*", "-", "^", "<<"]);
        let items: Vec<String> = (0..self.rng.below(5)).map(|_| self.int_expr(2)).collect();
        self.charge(20);
        Node::line(format!(
            "fn {map}(a, f) {{ let r = []; for x in a {{ push(r, f(x)); }} return r; }}\n\
             let {cap} = {init};\n\
             print({map}([{}], fn(x) {{ return x {op} {cap}; }}));\n\
             {cap} = 3;\n\
             print({map}([1, 2], fn(x) {{ {cap} += x; return {cap}; }}), {cap});",
            items.join(", ")
        ))
    }

    /// Map order: updates keep position, `del` then re-insert appends.
    fn map_order(&mut self) -> Node {
        self.feat("map order");
        let m = self.fresh("om");
        let k = self.fresh("k");
        let v1 = self.scalar_expr(2);
        let dup = self.scalar_expr(2);
        self.declare(&m, Kind::Map, true);
        self.charge(20);
        Node::line(format!(
            "let {m} = {{b: 1, a: 2, \"c\": 3, 1: 4, true: 5, b: {dup}}};\n\
             {m}.a = {v1};\n\
             print(del({m}, \"b\"), {m});\n\
             {m}[\"b\"] = 7;\n\
             for {k} in {m} {{ print({k}, {m}[{k}]); }}\n\
             print(keys({m}), len({m}));"
        ))
    }

    /// A function reading a global that is only declared at the end of the file.
    fn late_global(&mut self) -> Node {
        self.feat("global read before declaration (risky)");
        let g = self.fresh("late");
        let f = self.fresh("reader");
        self.epilogue
            .push(Node::line(format!("let {g} = 1; print({g});")));
        Node::line(format!("fn {f}() {{ return {g}; }}\nprint({f}());"))
    }

    /// A function value stored in a variable and called later.
    fn closure_value(&mut self) -> Node {
        self.feat("fn expression");
        let name = self.fresh("g");
        let (sig, params, body) = self.function(None, false, 1);
        self.declare(&name, Kind::Func(sig), false);
        let head = format!("let {name} = fn({}) {{", params.join(", "));
        let close = match self.call(&name, sig, 0) {
            Some(call) => format!("}};\nprint({call});"),
            None => "};".to_string(),
        };
        Node::block(head, body, &close)
    }
}
