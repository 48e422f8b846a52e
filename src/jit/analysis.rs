//! The compiler's pre-pass: which instructions are jump targets, which are
//! loop headers (OSR entries), the operand-stack depth before each one, and
//! which slots certainly hold ints ([`Analysis::ints`]) or floats
//! ([`Analysis::floats`]) there.
//!
//! Toy's bytecode compiler guarantees that the stack depth at an instruction
//! is the same on every path that reaches it (like JVM bytecode). That lets
//! compiled code address operand slots as `[r_base + 16 * depth]` with the
//! depth a compile-time constant: no stack-pointer register, and pops cost
//! nothing at run time.

use crate::bytecode::{Constant, FunctionProto, Op, superinstruction};

/// What the template compiler needs to know before emitting code.
pub struct Analysis {
    /// `depth[pc]`: slots in use (from the frame base) before `code[pc]`
    /// runs; `None` for unreachable instructions.
    pub depth: Vec<Option<u32>>,
    /// Instructions that some jump lands on.
    pub is_target: Vec<bool>,
    /// Loop headers: targets of back-edges, where OSR may enter.
    pub loop_headers: Vec<u32>,
    /// `ints[pc]`: the frame slots that hold an int whenever `code[pc]` is
    /// about to run, one bit per slot (slots 64 and up are never listed).
    /// The templates skip the tag checks and tag stores these make
    /// unnecessary. See [`int_slots`].
    pub ints: Vec<u64>,
    /// `floats[pc]`: the frame slots that hold a float whenever `code[pc]`
    /// is about to run, as `ints` (see [`float_slots`]). Float operators
    /// on them load their payloads without a tag check.
    pub floats: Vec<u64>,
}

/// The stack effect of `op`: `(depth after falling through, depth after
/// jumping, jump target)`. `None` for "does not fall through".
fn effect(op: &Op, d: i64) -> (Option<i64>, Option<(u32, i64)>) {
    use Op::*;
    let next = |n: i64| (Some(d + n), None);
    match *op {
        Nil | True | False | Int { .. } | Const { .. } | Dup | GetLocal { .. } => next(1),
        GetUpval { .. } | GetGlobal { .. } | GetBuiltin { .. } | Closure { .. } => next(1),
        Dup2 | GetLocal2 { .. } => next(2),
        Pop | SetLocal { .. } | SetUpval { .. } | SetGlobal { .. } | DefineGlobal { .. } => {
            next(-1)
        }
        PopN { n } => next(-(n as i64)),
        CloseUpvals { .. } | Neg | BitNot | Not | GetField { .. } => next(0),
        AddInt { .. } | SubInt { .. } | ModInt { .. } => next(0),
        Add | Sub | Mul | Div | Mod | BitAnd | BitOr | BitXor | Shl | Shr => next(-1),
        Eq | Ne | Lt | Le | Gt | Ge | GetIndex => next(-1),
        Jump { target } | Loop { target } => (None, Some((target, d))),
        JumpIfFalse { target } => (Some(d - 1), Some((target, d - 1))),
        JumpIfNotLt { target }
        | JumpIfNotLe { target }
        | JumpIfNotGt { target }
        | JumpIfNotGe { target }
        | JumpIfNotEq { target }
        | JumpIfNotNe { target } => (Some(d - 2), Some((target, d - 2))),
        JumpIfFalseOrPop { target } | JumpIfTrueOrPop { target } => {
            (Some(d - 1), Some((target, d)))
        }
        ForRangePrep { exit, .. } => (Some(d), Some((exit, d))),
        // Resets the depth to the hidden locals whatever the body left
        // (see `Op::ForRangeNext`), then pushes the next loop variable.
        ForRangeNext { slot, target } => {
            let hidden = slot as i64 + 2;
            (Some(hidden), Some((target, hidden + 1)))
        }
        ForInPrep { .. } => next(0),
        ForInNext { exit, .. } => (Some(d + 1), Some((exit, d))),
        Call { argc } => next(-(argc as i64)),
        Return => (None, None),
        NewArray { n } => next(1 - n as i64),
        NewMap { n } => next(1 - 2 * n as i64),
        SetIndex => next(-3),
        SetField { .. } => next(-2),
        // Only the interpreter's copy of the code has these; `analyze`
        // rejects them.
        superinstruction!() => (None, None),
    }
}

/// Runs the pre-pass. `Err` if the depths are inconsistent or out of range
/// (a bytecode-compiler bug; the function then stays interpreted).
pub fn analyze(proto: &FunctionProto) -> Result<Analysis, String> {
    let n = proto.code.len();
    if let Some(op) = proto.code.iter().find(|op| op.expand().is_some()) {
        return Err(format!("superinstruction {op:?} in compiled code"));
    }
    let mut depth: Vec<Option<u32>> = vec![None; n];
    let mut is_target = vec![false; n];
    let mut loop_headers = Vec::new();
    for (pc, op) in proto.code.iter().enumerate() {
        if let (_, Some((t, _))) = effect(op, 0) {
            is_target[t as usize] = true;
            if matches!(op, Op::Loop { .. } | Op::ForRangeNext { .. }) && !loop_headers.contains(&t)
            {
                loop_headers.push(t);
            }
            debug_assert!(t as usize <= n || pc < n);
        }
    }
    // Depth-first propagation from the entry, whose depth is callee + params.
    let mut work = vec![(0usize, proto.arity as i64 + 1)];
    while let Some((pc, d)) = work.pop() {
        if d < 0 || d > proto.max_slots as i64 || pc >= n {
            return Err(format!("bad stack depth {d} at {pc}"));
        }
        match depth[pc] {
            Some(old) if old as i64 == d => continue,
            // `ForRangeNext` drops whatever is above its hidden locals, so
            // paths may reach it at different depths (`continue` stubs).
            Some(_) if matches!(proto.code[pc], Op::ForRangeNext { .. }) => continue,
            Some(old) => return Err(format!("depth {old} and {d} meet at {pc}")),
            None => depth[pc] = Some(d as u32),
        }
        let (fall, jump) = effect(&proto.code[pc], d);
        if let Some(f) = fall {
            work.push((pc + 1, f));
        }
        if let Some((t, td)) = jump {
            work.push((t as usize, td));
        }
    }
    let ints = int_slots(proto, &depth, 0);
    let floats = float_slots(proto, &depth);
    Ok(Analysis {
        depth,
        is_target,
        loop_headers,
        ints,
        floats,
    })
}

/// A set of frame slots, one bit per slot below 64.
type Slots = u64;

fn bit(s: u32) -> Slots {
    if s < 64 { 1 << s } else { 0 }
}

fn has(k: Slots, s: u32) -> bool {
    k & bit(s) != 0
}

/// `k` with slot `s` set to `int`.
fn with(k: Slots, s: u32, int: bool) -> Slots {
    if int { k | bit(s) } else { k & !bit(s) }
}

/// The slots below depth `d` (the only ones that hold values).
fn below(d: u32) -> Slots {
    if d >= 64 { !0 } else { (1 << d) - 1 }
}

/// Which slots certainly hold an int before each instruction: a forward
/// "must" dataflow over the bytecode, iterated to a fixpoint (loops).
///
/// An int comes from an int literal, a `for .. in a..b` counter or loop
/// variable (the bounds are checked to be ints), or an operator whose
/// result is an int whenever it has one: `+ - * / %` of two ints, `-` of
/// an int, and `& | ^ << >> ~`, which take only ints (anything else is an
/// error, and nothing runs after an error). Copies (`GetLocal`,
/// `SetLocal`, `Dup`) carry the fact along. Where paths meet, a slot is an
/// int only if it is one on every path.
///
/// A tag guard that passes proves nothing here: its slow path rejoins
/// with whatever the value was. And a local that a closure captures can
/// change behind the function's back (any call may assign it through the
/// upvalue), so captured slots are never listed. Both tiers run the same
/// bytecode with the same values, so the facts also hold where on-stack
/// replacement enters from the interpreter.
///
/// `entry` is what is known on entry: nothing (0) for the function's
/// ordinary body, the int parameters for its specialized body
/// ([`Analysis::specialized`]).
fn int_slots(proto: &FunctionProto, depth: &[Option<u32>], entry: Slots) -> Vec<u64> {
    must_slots(proto, depth, entry, int_effect)
}

/// Which slots certainly hold a float before each instruction, by the same
/// dataflow as [`int_slots`]. A float comes from a float constant, or from
/// `+ - * / %` with a float operand (the other operand is then converted,
/// or the operator raises, and nothing runs after an error), `x + 1`-style
/// immediates on a float, and `-` of a float. Nothing is known on entry.
fn float_slots(proto: &FunctionProto, depth: &[Option<u32>]) -> Vec<u64> {
    must_slots(proto, depth, 0, float_effect)
}

/// The "must" dataflow behind [`int_slots`] and [`float_slots`]: an
/// instruction's facts after it (on falling through, and on jumping) come
/// from those before it by [`common_effect`], or for the instructions
/// whose results depend on the kind of value, by `effect_of`.
fn must_slots(
    proto: &FunctionProto,
    depth: &[Option<u32>],
    entry: Slots,
    effect_of: fn(&FunctionProto, &Op, u32, Slots) -> (Slots, Slots),
) -> Vec<u64> {
    let n = proto.code.len();
    let captured = captured_slots(proto);
    // Start from "everything" and only ever remove facts, so iterating
    // converges; the entry knows only `entry`.
    let mut facts: Vec<Slots> = vec![!0; n];
    if n > 0 {
        facts[0] = entry & !captured;
    }
    let mut changed = true;
    while changed {
        changed = false;
        for pc in 0..n {
            let Some(d) = depth[pc] else { continue };
            let k = facts[pc] & below(d);
            let op = &proto.code[pc];
            let (fall, jump) =
                common_effect(op, d, k).unwrap_or_else(|| effect_of(proto, op, d, k));
            let mut meet = |to: usize, k: Slots| {
                if to < n && facts[to] & !(k & !captured) != 0 {
                    facts[to] &= k & !captured;
                    changed = true;
                }
            };
            let (falls_through, jumps) = effect(&proto.code[pc], d as i64);
            if falls_through.is_some() {
                meet(pc + 1, fall);
            }
            if let Some((t, _)) = jumps {
                meet(t as usize, jump);
            }
        }
    }
    for (k, d) in facts.iter_mut().zip(depth) {
        *k &= below(d.unwrap_or(0));
    }
    facts
}

/// The slots of locals that closures capture.
fn captured_slots(proto: &FunctionProto) -> Slots {
    (proto.protos.iter())
        .flat_map(|p| p.upvals.iter())
        .filter(|u| u.is_local)
        .fold(0, |k, u| k | bit(u.index))
}

impl Analysis {
    /// The facts for a copy of the body that runs only when the parameters
    /// in `params` hold ints (checked once on entry, see
    /// `Compiler::emit_parameter_checks`); `None` if that changes nothing.
    pub fn specialized(&self, proto: &FunctionProto, params: Slots) -> Option<Vec<u64>> {
        let ints = int_slots(proto, &self.depth, params);
        (ints != self.ints).then_some(ints)
    }
}

/// The parameters worth specializing the body on: those the body reads
/// straight into an int operator, a comparison or an index (`n - 1`,
/// `n < 2`, `a[i]`), and that no closure captures. A cheap look at the
/// instruction before the consumer finds them (the pushes the compiler
/// defers, see `compiler::Operand`); it may miss some, which only costs
/// speed.
pub fn int_params(proto: &FunctionProto) -> Slots {
    use Op::*;
    let params = below(proto.arity + 1) & !1; // slots 1..=arity
    let code = &proto.code;
    let mut used = 0;
    for pc in 1..code.len() {
        // How many entries the instruction reads as numbers.
        let n = match code[pc] {
            AddInt { .. } | SubInt { .. } | ModInt { .. } | Neg => 1,
            Add | Sub | Mul | Div | Mod | Eq | Ne | Lt | Le | Gt | Ge => 2,
            JumpIfNotLt { .. } | JumpIfNotLe { .. } | JumpIfNotGt { .. } => 2,
            JumpIfNotGe { .. } | JumpIfNotEq { .. } | JumpIfNotNe { .. } => 2,
            GetIndex => 1, // the index
            _ => continue,
        };
        // The locals pushed right before it, top first.
        let mut pushed = match code[pc - 1] {
            GetLocal2 { a, b } => vec![b, a],
            GetLocal { slot } => match code.get(pc.wrapping_sub(2)) {
                Some(GetLocal { slot: a }) => vec![slot, *a],
                Some(GetLocal2 { b, .. }) => vec![slot, *b],
                _ => vec![slot],
            },
            Int { .. } => match code.get(pc.wrapping_sub(2)) {
                Some(GetLocal { slot }) => vec![u32::MAX, *slot],
                Some(GetLocal2 { b, .. }) => vec![u32::MAX, *b],
                _ => vec![],
            },
            _ => vec![],
        };
        pushed.truncate(n);
        used |= pushed.into_iter().fold(0, |k, s| k | bit(s));
    }
    used & params & !captured_slots(proto)
}

/// The facts after `op` (at depth `d`, facts `k`) that do not depend on
/// what kind of value they are about: copies (`GetLocal`, `SetLocal`,
/// `Dup`) carry a fact along, results that are never an int or a float
/// clear it, and instructions that change no slot keep every fact. `None`
/// for the instructions whose results depend on the kind: constants,
/// operators, range loops.
fn common_effect(op: &Op, d: u32, k: Slots) -> Option<(Slots, Slots)> {
    use Op::*;
    let k = match *op {
        GetLocal { slot } => with(k, d, has(k, slot)),
        GetLocal2 { a, b } => with(with(k, d, has(k, a)), d + 1, has(k, b)),
        Dup => with(k, d, has(k, d - 1)),
        Dup2 => with(with(k, d, has(k, d - 2)), d + 1, has(k, d - 1)),
        SetLocal { slot } => with(k, slot, has(k, d - 1)),
        // An int stays an int and a float a float (anything else fails).
        Neg | AddInt { .. } | SubInt { .. } | ModInt { .. } => k,
        ForInPrep { slot } => k & !bit(slot) & !bit(slot + 1),
        ForInNext { slot, .. } => {
            let k = k & !bit(slot + 1);
            return Some((with(k, d, false), k));
        }
        // No slot changes: jumps and tests, pops, stores elsewhere.
        Pop | PopN { .. } | SetUpval { .. } | SetGlobal { .. } | DefineGlobal { .. } => k,
        CloseUpvals { .. } | SetIndex | SetField { .. } | Return => k,
        Jump { .. } | Loop { .. } | JumpIfFalse { .. } | JumpIfFalseOrPop { .. } => k,
        JumpIfTrueOrPop { .. } | JumpIfNotLt { .. } | JumpIfNotLe { .. } => k,
        JumpIfNotGt { .. } | JumpIfNotGe { .. } | JumpIfNotEq { .. } | JumpIfNotNe { .. } => k,
        // A result that may be anything, in the slot below the new depth.
        Nil | True | False | GetUpval { .. } | GetGlobal { .. } | GetBuiltin { .. } => {
            with(k, d, false)
        }
        Closure { .. } => with(k, d, false),
        Not | GetField { .. } => with(k, d - 1, false),
        Eq | Ne | Lt | Le | Gt | Ge | GetIndex => with(k, d - 2, false),
        Call { argc } => with(k, d - argc - 1, false),
        NewArray { n } => with(k, d - n, false),
        NewMap { n } => with(k, d - 2 * n, false),
        // Only the interpreter's copy of the code has these.
        superinstruction!() => 0,
        _ => return None,
    };
    Some((k, k))
}

/// The int slots after `op` (at depth `d`, int slots `k`), on falling
/// through and on jumping, for the instructions [`common_effect`] leaves
/// out.
fn int_effect(proto: &FunctionProto, op: &Op, d: u32, k: Slots) -> (Slots, Slots) {
    use Op::*;
    let both = |a: u32, b: u32| has(k, a) && has(k, b);
    let k = match *op {
        Int { .. } => with(k, d, true),
        Const { k: c } => with(k, d, matches!(proto.consts[c as usize], Constant::Int(_))),
        Add | Sub | Mul | Div | Mod => with(k, d - 2, both(d - 2, d - 1)),
        BitAnd | BitOr | BitXor | Shl | Shr => with(k, d - 2, true),
        BitNot => with(k, d - 1, true),
        ForRangePrep { slot, .. } => k | bit(slot) | bit(slot + 1),
        ForRangeNext { slot, .. } => {
            let k = k | bit(slot);
            // Falling through ends the loop; jumping starts an iteration
            // with the new loop variable in `slot + 2`.
            return (k & below(slot + 2), (k | bit(slot + 2)) & below(slot + 3));
        }
        // Not reached (`common_effect` covers the rest); no facts is sound.
        _ => 0,
    };
    (k, k)
}

/// The float slots after `op` (at depth `d`, float slots `k`), as
/// [`int_effect`] does for ints.
fn float_effect(proto: &FunctionProto, op: &Op, d: u32, k: Slots) -> (Slots, Slots) {
    use Op::*;
    let either = |a: u32, b: u32| has(k, a) || has(k, b);
    let k = match *op {
        Int { .. } => with(k, d, false),
        Const { k: c } => with(k, d, matches!(proto.consts[c as usize], Constant::Float(_))),
        Add | Sub | Mul | Div | Mod => with(k, d - 2, either(d - 2, d - 1)),
        BitAnd | BitOr | BitXor | Shl | Shr => with(k, d - 2, false),
        BitNot => with(k, d - 1, false),
        // The counter, the limit and the loop variable are ints.
        ForRangePrep { slot, .. } => k & !bit(slot) & !bit(slot + 1),
        ForRangeNext { slot, .. } => {
            let k = k & !bit(slot);
            return (k & below(slot + 2), k & !bit(slot + 2) & below(slot + 3));
        }
        // Not reached (`common_effect` covers the rest); no facts is sound.
        _ => 0,
    };
    (k, k)
}
