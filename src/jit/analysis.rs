//! The compiler's pre-pass: which instructions are jump targets, which are
//! loop headers (OSR entries), and the operand-stack depth before each one.
//!
//! Toy's bytecode compiler guarantees that the stack depth at an instruction
//! is the same on every path that reaches it (like JVM bytecode). That lets
//! compiled code address operand slots as `[r_base + 16 * depth]` with the
//! depth a compile-time constant: no stack-pointer register, and pops cost
//! nothing at run time.

use crate::bytecode::{FunctionProto, Op, superinstruction};

/// What the template compiler needs to know before emitting code.
pub struct Analysis {
    /// `depth[pc]`: slots in use (from the frame base) before `code[pc]`
    /// runs; `None` for unreachable instructions.
    pub depth: Vec<Option<u32>>,
    /// Instructions that some jump lands on.
    pub is_target: Vec<bool>,
    /// Loop headers: targets of back-edges, where OSR may enter.
    pub loop_headers: Vec<u32>,
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
    Ok(Analysis {
        depth,
        is_target,
        loop_headers,
    })
}
