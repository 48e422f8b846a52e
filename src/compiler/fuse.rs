//! Superinstructions: the interpreter's copy of a function's code.
//!
//! A stack bytecode spends most of its time in dispatch: `total += x` is
//! `GetLocal2; Add; SetLocal`, three trips through the interpreter's
//! `match` for one addition. When the VM loads a function it runs [`fuse`],
//! which writes a superinstruction (see the last section of [`Op`]) over
//! the first instruction of each common sequence, here `AddLocalsTo`, and
//! leaves the rest of the sequence where it was:
//!
//! ```text
//!   code (compiler, JIT, disassembler)   interpreter's copy
//!   17  GET_LOCAL2  a=2 b=9              17  ADD_LOCALS_TO a=2 b=9 dst=2
//!   18  ADD                              18  ADD
//!   19  SET_LOCAL   slot=2               19  SET_LOCAL     slot=2
//! ```
//!
//! With int operands the superinstruction does the whole sequence and skips
//! to 20. Otherwise it does only what instruction 17 does and carries on at
//! 18, so floats, strings, errors (message and line) and GC rooting are
//! exactly the unfused code's. Because every index keeps its meaning, jumps
//! into the middle of a sequence, error lines, frames' saved pcs and OSR
//! into the JIT's code (compiled from the unfused `code`) need no mapping.

use crate::bytecode::Op;

/// The interpreter's copy of `code`, with superinstructions written over
/// the first instruction of each sequence they stand for.
pub fn fuse(code: &[Op]) -> Vec<Op> {
    (0..code.len())
        .map(|i| fuse_at(&code[i..]).unwrap_or(code[i]))
        .collect()
}

/// The superinstruction for the longest sequence `code` starts with.
fn fuse_at(code: &[Op]) -> Option<Op> {
    fuse3(code).or_else(|| fuse2(code))
}

/// Three-instruction sequences: an operator whose result goes to a local,
/// a comparison of a local with an int.
fn fuse3(code: &[Op]) -> Option<Op> {
    use Op::*;
    if let [GetLocal { slot }, Int { v }, jump, ..] = *code {
        return compare_local_int(jump, narrow(slot)?, i16::try_from(v).ok()?);
    }
    let [first, op, SetLocal { slot: dst }, ..] = *code else {
        return None;
    };
    match (first, op) {
        (GetLocal2 { a, b }, Add | Sub | Mul) => {
            let (a, b) = (narrow(a)?, narrow(b)?);
            Some(match op {
                Add => AddLocalsTo { a, b, dst },
                Sub => SubLocalsTo { a, b, dst },
                _ => MulLocalsTo { a, b, dst },
            })
        }
        (GetLocal { slot }, AddInt { v } | SubInt { v }) => {
            let (src, dst) = (narrow(slot)?, narrow(dst)?);
            Some(match op {
                AddInt { .. } => AddLocalIntTo { src, dst, v },
                _ => SubLocalIntTo { src, dst, v },
            })
        }
        _ => None,
    }
}

/// Two-instruction sequences: a push and the instruction that consumes it.
fn fuse2(code: &[Op]) -> Option<Op> {
    use Op::*;
    let [first, second, ..] = *code else {
        return None;
    };
    match (first, second) {
        (GetLocal2 { a, b }, Add) => Some(AddLocals { a, b }),
        (GetLocal2 { a, b }, Sub) => Some(SubLocals { a, b }),
        (GetLocal2 { a, b }, Mul) => Some(MulLocals { a, b }),
        (GetLocal2 { a, b }, GetIndex) => Some(GetIndexLocals { a, b }),
        (GetLocal2 { a, b }, jump) => compare_locals(jump, narrow(a)?, narrow(b)?),
        (GetLocal { slot }, Add) => Some(AddLocal { slot }),
        (GetLocal { slot }, Sub) => Some(SubLocal { slot }),
        (GetLocal { slot }, Mul) => Some(MulLocal { slot }),
        (GetLocal { slot }, AddInt { v }) => Some(AddLocalInt { slot, v }),
        (GetLocal { slot }, SubInt { v }) => Some(SubLocalInt { slot, v }),
        (GetLocal { slot }, ModInt { v }) => Some(ModLocalInt { slot, v }),
        (GetLocal { slot }, Return) => Some(ReturnLocal { slot }),
        (Add, Return) => Some(AddReturn),
        (Int { v }, jump) => compare_int(jump, v),
        _ => None,
    }
}

/// `GetLocal2 a b; JumpIfNot<cmp>` as one instruction.
fn compare_locals(jump: Op, a: u16, b: u16) -> Option<Op> {
    use Op::*;
    Some(match jump {
        JumpIfNotLt { target } => JumpIfNotLtLocals { a, b, target },
        JumpIfNotLe { target } => JumpIfNotLeLocals { a, b, target },
        JumpIfNotGt { target } => JumpIfNotGtLocals { a, b, target },
        JumpIfNotGe { target } => JumpIfNotGeLocals { a, b, target },
        JumpIfNotEq { target } => JumpIfNotEqLocals { a, b, target },
        JumpIfNotNe { target } => JumpIfNotNeLocals { a, b, target },
        _ => return None,
    })
}

/// `GetLocal slot; Int v; JumpIfNot<cmp>` as one instruction.
fn compare_local_int(jump: Op, slot: u16, v: i16) -> Option<Op> {
    use Op::*;
    Some(match jump {
        JumpIfNotLt { target } => JumpIfNotLtLocalInt { slot, v, target },
        JumpIfNotLe { target } => JumpIfNotLeLocalInt { slot, v, target },
        JumpIfNotGt { target } => JumpIfNotGtLocalInt { slot, v, target },
        JumpIfNotGe { target } => JumpIfNotGeLocalInt { slot, v, target },
        JumpIfNotEq { target } => JumpIfNotEqLocalInt { slot, v, target },
        JumpIfNotNe { target } => JumpIfNotNeLocalInt { slot, v, target },
        _ => return None,
    })
}

/// `Int v; JumpIfNot<cmp>` as one instruction.
fn compare_int(jump: Op, v: i32) -> Option<Op> {
    use Op::*;
    Some(match jump {
        JumpIfNotLt { target } => JumpIfNotLtInt { v, target },
        JumpIfNotLe { target } => JumpIfNotLeInt { v, target },
        JumpIfNotGt { target } => JumpIfNotGtInt { v, target },
        JumpIfNotGe { target } => JumpIfNotGeInt { v, target },
        JumpIfNotEq { target } => JumpIfNotEqInt { v, target },
        JumpIfNotNe { target } => JumpIfNotNeInt { v, target },
        _ => return None,
    })
}

/// A slot number as a 16-bit operand (superinstructions with three
/// operands have room for only that); `None` skips the fusion.
fn narrow(slot: u32) -> Option<u16> {
    u16::try_from(slot).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use Op::*;

    /// Every superinstruction stands for exactly the code it replaced.
    fn check_expansions(code: &[Op]) -> Vec<Op> {
        let fused = fuse(code);
        assert_eq!(fused.len(), code.len());
        for (i, op) in fused.iter().enumerate() {
            match op.expand() {
                Some(seq) => assert_eq!(seq[..], code[i..i + seq.len()], "at {i}"),
                None => assert_eq!(*op, code[i], "at {i}"),
            }
        }
        fused
    }

    #[test]
    fn fuses_the_longest_sequence_and_keeps_the_rest() {
        let code = [
            GetLocal2 { a: 2, b: 9 },
            Add,
            SetLocal { slot: 2 },
            GetLocal { slot: 1 },
            Int { v: 2 },
            JumpIfNotLt { target: 0 },
            GetLocal { slot: 1 },
            Return,
        ];
        let fused = check_expansions(&code);
        assert_eq!(fused[0], AddLocalsTo { a: 2, b: 9, dst: 2 });
        assert_eq!(fused[1..3], code[1..3]);
        let lt = JumpIfNotLtLocalInt {
            slot: 1,
            v: 2,
            target: 0,
        };
        assert_eq!(fused[3], lt);
        // A jump may land on the `Int`.
        assert_eq!(fused[4], JumpIfNotLtInt { v: 2, target: 0 });
        assert_eq!(fused[6], ReturnLocal { slot: 1 });
    }

    #[test]
    fn wide_slots_fall_back_to_shorter_sequences() {
        let wide = 70_000;
        let code = [GetLocal2 { a: wide, b: 1 }, Add, SetLocal { slot: 1 }];
        let fused = check_expansions(&code);
        assert_eq!(fused[0], AddLocals { a: wide, b: 1 });
        let code = [GetLocal2 { a: wide, b: 1 }, JumpIfNotEq { target: 0 }];
        assert_eq!(check_expansions(&code), code);
        let code = [
            GetLocal { slot: 1 },
            Int { v: 40_000 },
            JumpIfNotEq { target: 0 },
        ];
        let fused = check_expansions(&code);
        assert_eq!(fused[0], code[0]);
        assert_eq!(
            fused[1],
            JumpIfNotEqInt {
                v: 40_000,
                target: 0
            }
        );
    }

    #[test]
    fn every_pattern_expands_to_its_source() {
        let ops = [
            GetLocal2 { a: 3, b: 4 },
            GetLocal { slot: 5 },
            Int { v: -7 },
            Add,
            Sub,
            Mul,
            AddInt { v: 1 },
            SubInt { v: 2 },
            ModInt { v: 3 },
            GetIndex,
            Return,
            SetLocal { slot: 6 },
            JumpIfNotLt { target: 1 },
            JumpIfNotLe { target: 1 },
            JumpIfNotGt { target: 1 },
            JumpIfNotGe { target: 1 },
            JumpIfNotEq { target: 1 },
            JumpIfNotNe { target: 1 },
        ];
        let mut fused_kinds = std::collections::BTreeSet::new();
        for &x in &ops {
            for &y in &ops {
                for &z in &ops {
                    for op in check_expansions(&[x, y, z]) {
                        if op.expand().is_some() {
                            fused_kinds.insert(op.name());
                        }
                    }
                }
            }
        }
        // Every superinstruction is produced by some pattern.
        assert_eq!(fused_kinds.len(), 35, "{fused_kinds:?}");
    }
}
