//! Per-function compiler state and name resolution: locals (stack slots),
//! upvalues (clox/Lua style chains through the enclosing functions), globals
//! and builtins.
//!
//! A name is looked up in this order: the current function's locals
//! (innermost scope first), the enclosing functions' locals (which become
//! upvalues), the globals, the builtins.

use std::collections::HashMap;
use std::rc::Rc;

use crate::ast::{Ident, Span};
use crate::bytecode::{Constant, FunctionProto, Op, UpvalDesc, builtin_index};

use super::Compiler;

/// A local variable: a stack slot of the current frame.
pub(super) struct Local {
    /// Empty for slots no source name can reach (the callee in slot 0, the
    /// hidden loop counters, names that were errors).
    pub name: String,
    /// The block nesting depth that declared it.
    pub scope: u32,
    /// Some closure captures it, so leaving its scope must close it.
    pub captured: bool,
}

/// What a `break` or `continue` still has to be wired to when its loop ends.
pub(super) struct PendingExit {
    /// The `Jump` emitted at the `break`/`continue`.
    pub jump: usize,
    /// The stack height at that point: locals above the loop body's base
    /// must be popped (and closed) on the way out.
    pub height: u32,
    pub is_break: bool,
}

/// An enclosing loop of the current function.
pub(super) struct LoopCtx {
    /// First slot of the per-iteration locals (the loop variable, or the
    /// body's first `let`); everything from here up is left by `break` and
    /// `continue`.
    pub body_base: u32,
    /// A local at or above `body_base` was captured somewhere in the loop.
    pub captured: bool,
    pub exits: Vec<PendingExit>,
}

/// Constant-pool keys: floats by bit pattern so `0.0`/`-0.0` and NaNs stay
/// distinct.
#[derive(PartialEq, Eq, Hash)]
enum ConstKey {
    Int(i64),
    Float(u64),
    Str(String),
}

/// The state of one function being compiled.
pub(super) struct FnState {
    pub name: Option<String>,
    pub arity: u32,
    pub is_script: bool,
    pub code: Vec<Op>,
    pub lines: Vec<u32>,
    pub consts: Vec<Constant>,
    const_index: HashMap<ConstKey, u32>,
    pub protos: Vec<Rc<FunctionProto>>,
    pub upvals: Vec<UpvalDesc>,
    /// `locals[i]` lives in slot `i`.
    pub locals: Vec<Local>,
    /// Block nesting depth: 0 is file scope for the script, the parameter
    /// scope for a function.
    pub scope: u32,
    /// Simulated stack height after the last emitted instruction.
    pub height: u32,
    pub max_slots: u32,
    pub loops: Vec<LoopCtx>,
}

/// Where a name lives.
pub(super) enum Resolved {
    Local(u32),
    Upval(u32),
    Global(u32),
    Builtin(u32),
    Undefined,
}

impl FnState {
    /// A function whose frame starts with the callee and `arity` parameters
    /// (the caller declares the parameters' names).
    pub fn new(name: Option<String>, arity: u32, is_script: bool) -> FnState {
        let mut fs = FnState {
            name,
            arity,
            is_script,
            code: Vec::new(),
            lines: Vec::new(),
            consts: Vec::new(),
            const_index: HashMap::new(),
            protos: Vec::new(),
            upvals: Vec::new(),
            locals: Vec::new(),
            scope: 0,
            height: 1 + arity,
            max_slots: 1 + arity,
            loops: Vec::new(),
        };
        fs.locals.push(Local {
            name: String::new(),
            scope: 0,
            captured: false,
        });
        fs
    }

    pub fn finish(self) -> FunctionProto {
        FunctionProto {
            name: self.name,
            arity: self.arity,
            code: self.code,
            lines: self.lines,
            consts: self.consts,
            protos: self.protos,
            upvals: self.upvals,
            max_slots: self.max_slots,
        }
    }

    /// `let`/`fn` here declare globals.
    pub fn at_file_scope(&self) -> bool {
        self.is_script && self.scope == 0
    }

    pub(super) fn find_local(&self, name: &str) -> Option<u32> {
        let slot = self.locals.iter().rposition(|l| l.name == name)?;
        Some(slot as u32)
    }

    /// Marks local `slot` as captured, and with it every loop whose
    /// per-iteration locals include it.
    fn capture_local(&mut self, slot: u32) {
        self.locals[slot as usize].captured = true;
        for l in self.loops.iter_mut().filter(|l| slot >= l.body_base) {
            l.captured = true;
        }
    }

    fn add_upval(&mut self, is_local: bool, index: u32) -> u32 {
        let desc = UpvalDesc { is_local, index };
        let i = match self.upvals.iter().position(|&u| u == desc) {
            Some(i) => i,
            None => {
                self.upvals.push(desc);
                self.upvals.len() - 1
            }
        };
        i as u32
    }

    /// The pool index of `c`, adding it if new.
    fn constant(&mut self, c: Constant) -> usize {
        let key = match &c {
            Constant::Int(i) => ConstKey::Int(*i),
            Constant::Float(f) => ConstKey::Float(f.to_bits()),
            Constant::Str(s) => ConstKey::Str(s.clone()),
        };
        if let Some(&k) = self.const_index.get(&key) {
            return k as usize;
        }
        self.consts.push(c);
        let k = self.consts.len() - 1;
        self.const_index.insert(key, k as u32);
        k
    }
}

impl Compiler<'_> {
    /// Finds where `name` lives, as seen from the current function.
    pub(super) fn resolve(&mut self, name: &str) -> Resolved {
        let top = self.fns.len() - 1;
        if let Some(slot) = self.fns[top].find_local(name) {
            Resolved::Local(slot)
        } else if let Some(idx) = self.resolve_upval(top, name) {
            Resolved::Upval(idx)
        } else if let Some(g) = self.globals.index_of(name) {
            Resolved::Global(g)
        } else if let Some(b) = builtin_index(name) {
            Resolved::Builtin(b)
        } else {
            Resolved::Undefined
        }
    }

    /// Resolves `name` as an upvalue of function `f`: a local of the directly
    /// enclosing function, or (recursively) one of its upvalues.
    fn resolve_upval(&mut self, f: usize, name: &str) -> Option<u32> {
        let outer = f.checked_sub(1)?;
        if let Some(slot) = self.fns[outer].find_local(name) {
            self.fns[outer].capture_local(slot);
            return Some(self.fns[f].add_upval(true, slot));
        }
        let idx = self.resolve_upval(outer, name)?;
        Some(self.fns[f].add_upval(false, idx))
    }

    /// The pool index of constant `c` in the current function.
    pub(super) fn constant(&mut self, c: Constant) -> u32 {
        let k = self.fs().constant(c);
        self.operand(k)
    }

    /// Checks that `name` may be declared in the current scope, reporting
    /// why not. Builtins are reserved everywhere; a block or function may
    /// declare a name once (file scope may re-`let` a global).
    pub(super) fn check_declarable(&mut self, name: &Ident) -> bool {
        if builtin_index(&name.name).is_some() {
            let msg = format!("cannot redefine builtin '{}'", name.name);
            self.error(name.span, msg);
            return false;
        }
        let fs = self.fs();
        if fs.at_file_scope() {
            return true;
        }
        let scope = fs.scope;
        let taken = fs
            .locals
            .iter()
            .rev()
            .take_while(|l| l.scope == scope)
            .any(|l| l.name == name.name);
        if taken {
            let msg = format!("variable '{}' is already declared in this scope", name.name);
            self.error(name.span, msg);
        }
        !taken
    }

    /// Makes the value on top of the stack the local `name` (checked with
    /// [`Self::check_declarable`] first). Returns its slot.
    pub(super) fn declare_local(&mut self, name: &Ident) -> u32 {
        let visible = self.check_declarable(name);
        self.push_local(if visible { &name.name } else { "" })
    }

    /// Makes the value on top of the stack a local no name can reach.
    pub(super) fn declare_hidden(&mut self) -> u32 {
        self.push_local("")
    }

    /// Registers the top stack slot as a local called `name`.
    pub(super) fn push_local(&mut self, name: &str) -> u32 {
        let fs = self.fs();
        let scope = fs.scope;
        fs.locals.push(Local {
            name: name.to_string(),
            scope,
            captured: false,
        });
        // A local is the slot its initialiser left on the stack.
        debug_assert_eq!(fs.locals.len(), fs.height as usize);
        (fs.locals.len() - 1) as u32
    }

    pub(super) fn begin_scope(&mut self) {
        self.fs().scope += 1;
    }

    /// Leaves `levels` nested scopes at once: closes their captured locals
    /// and pops them all.
    pub(super) fn end_scopes(&mut self, levels: u32, span: Span) {
        let n = self.end_scopes_without_pops(levels, span);
        let fs = self.fs();
        fs.height += n as u32;
        self.emit_pops(n, span.line);
    }

    /// [`Self::end_scopes`] for when the next instruction drops the locals
    /// itself: the simulated height is lowered without emitting pops.
    /// Returns how many locals were left.
    pub(super) fn end_scopes_without_pops(&mut self, levels: u32, span: Span) -> usize {
        let fs = self.fs();
        fs.scope -= levels;
        let scope = fs.scope;
        let keep = fs
            .locals
            .iter()
            .rposition(|l| l.scope <= scope)
            .map_or(0, |i| i + 1);
        let captured = fs.locals[keep..].iter().any(|l| l.captured);
        let n = fs.locals.len() - keep;
        fs.locals.truncate(keep);
        let first = self.operand(keep);
        if captured {
            self.emit(Op::CloseUpvals { slot: first }, span.line);
        }
        self.fs().height -= n as u32;
        n
    }

    pub(super) fn end_scope(&mut self, span: Span) {
        self.end_scopes(1, span);
    }

    /// Pops `n` values: nothing, `Pop` or `PopN`.
    pub(super) fn emit_pops(&mut self, n: usize, line: u32) {
        match n {
            0 => {}
            1 => {
                self.emit(Op::Pop, line);
            }
            _ => {
                let n = self.operand(n);
                self.emit(Op::PopN { n }, line);
            }
        }
    }
}
