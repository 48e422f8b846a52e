//! The bytecode: the one declaration of every opcode, and the compiled form of
//! a function ([`FunctionProto`]).
//!
//! Toy bytecode is a *stack* bytecode. A frame's window of the VM value stack is
//!
//! ```text
//!   base+0      base+1 .. base+arity   base+arity+1 ..        .. base+max_slots
//!   [ callee ][ arguments (params)   ][ locals, then temporaries          ]
//! ```
//!
//! Local slot numbers in operands are relative to `base`, so slot 0 is the
//! callee itself and slot 1 the first parameter. (Compiled calls through
//! a global do not write slot 0: the frame record holds the closure, and
//! the GC skips every frame's slot 0.)
//!
//! Instructions are a Rust enum with inline operands (at most 12 bytes each), so the
//! interpreter decodes an instruction with one load and one `match`. The enum
//! is declared once, through [`define_ops!`], which also derives each opcode's
//! printed name and its operand list for the disassembler. The interpreter,
//! the disassembler and the JIT each `match` on [`Op`] exhaustively, so adding
//! an opcode does not compile until every tier handles it.
//!
//! Jump operands are absolute instruction indices into `code`.

use std::rc::Rc;

macro_rules! define_ops {
    ($(
        $(#[doc = $doc:literal])*
        $name:ident $({ $($field:ident : $ty:ty),* $(,)? })? = $text:literal;
    )*) => {
        /// One bytecode instruction with its operands.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum Op {
            $(
                $(#[doc = $doc])*
                $name $({ $($field: $ty),* })?,
            )*
        }

        impl Op {
            /// The opcode's name as the disassembler prints it.
            pub fn name(&self) -> &'static str {
                match self {
                    $(Op::$name { .. } => $text,)*
                }
            }

            /// The operands as `(name, value)` pairs, in declaration order.
            pub fn operands(&self) -> Vec<(&'static str, i64)> {
                match *self {
                    $(
                        Op::$name $({ $($field),* })? => vec![$($((stringify!($field), $field as i64)),*)?],
                    )*
                }
            }
        }
    };
}

define_ops! {
    // ---- constants -------------------------------------------------------
    /// Push `nil`.
    Nil = "NIL";
    /// Push `true`.
    True = "TRUE";
    /// Push `false`.
    False = "FALSE";
    /// Push the small integer `v` (no constant-pool entry needed).
    Int { v: i32 } = "INT";
    /// Push constant `k` of the function's constant pool.
    Const { k: u32 } = "CONST";

    // ---- stack shuffling -------------------------------------------------
    /// Discard the top value.
    Pop = "POP";
    /// Discard the top `n` values.
    PopN { n: u32 } = "POPN";
    /// Push a copy of the top value: `a -> a a`.
    Dup = "DUP";
    /// Push copies of the top two values: `a b -> a b a b`.
    Dup2 = "DUP2";

    // ---- variables ---------------------------------------------------------
    /// Push local `slot` (relative to the frame base).
    GetLocal { slot: u32 } = "GET_LOCAL";
    /// Pop a value into local `slot`.
    SetLocal { slot: u32 } = "SET_LOCAL";
    /// Push local `a`, then local `b`: exactly `GetLocal a; GetLocal b` in
    /// one dispatch (a superinstruction, emitted for `x + y`, `a[i]`, ...).
    GetLocal2 { a: u32, b: u32 } = "GET_LOCAL2";
    /// Push upvalue `idx` of the running closure.
    GetUpval { idx: u32 } = "GET_UPVAL";
    /// Pop a value into upvalue `idx` of the running closure.
    SetUpval { idx: u32 } = "SET_UPVAL";
    /// Push global `g`; runtime error `undefined variable` if its declaration
    /// has not run yet.
    GetGlobal { g: u32 } = "GET_GLOBAL";
    /// Pop a value into global `g`; runtime error `undefined variable` if its
    /// declaration has not run yet.
    SetGlobal { g: u32 } = "SET_GLOBAL";
    /// Pop a value into global `g` and mark it defined (`let`/`fn` at file
    /// scope).
    DefineGlobal { g: u32 } = "DEFINE_GLOBAL";
    /// Push builtin function number `b` (see [`BUILTIN_NAMES`]).
    GetBuiltin { b: u32 } = "GET_BUILTIN";
    /// Close every open upvalue that points at a local slot `>= slot` of this
    /// frame (end of a scope whose locals were captured; end of each loop
    /// iteration). Does not pop.
    CloseUpvals { slot: u32 } = "CLOSE_UPVALS";

    // ---- operators -------------------------------------------------------
    /// `a b -> a+b`
    Add = "ADD";
    /// `a b -> a-b`
    Sub = "SUB";
    /// `a b -> a*b`
    Mul = "MUL";
    /// `a b -> a/b`
    Div = "DIV";
    /// `a b -> a%b`
    Mod = "MOD";
    /// `a b -> a&b`
    BitAnd = "BIT_AND";
    /// `a b -> a|b`
    BitOr = "BIT_OR";
    /// `a b -> a^b`
    BitXor = "BIT_XOR";
    /// `a b -> a<<b`
    Shl = "SHL";
    /// `a b -> a>>b`
    Shr = "SHR";
    /// `a -> -a`
    Neg = "NEG";
    /// `a -> ~a`
    BitNot = "BIT_NOT";
    /// `a -> not a`
    Not = "NOT";
    /// `a b -> a==b`
    Eq = "EQ";
    /// `a b -> a!=b`
    Ne = "NE";
    /// `a b -> a<b`
    Lt = "LT";
    /// `a b -> a<=b`
    Le = "LE";
    /// `a b -> a>b`
    Gt = "GT";
    /// `a b -> a>=b`
    Ge = "GE";
    /// `a -> a+v`: exactly `Int v; Add` (same results, same errors, naming
    /// `+` and `int`), for `x + 1`.
    AddInt { v: i32 } = "ADD_INT";
    /// `a -> a-v`: exactly `Int v; Sub`, for `x - 1`.
    SubInt { v: i32 } = "SUB_INT";
    /// `a -> a%v`: exactly `Int v; Mod` (including `division by zero` when
    /// `v` is 0), for `x % 3`.
    ModInt { v: i32 } = "MOD_INT";

    // ---- control flow ----------------------------------------------------
    /// Jump forward to `target`.
    Jump { target: u32 } = "JUMP";
    /// Pop a value; jump to `target` if it is falsy.
    JumpIfFalse { target: u32 } = "JUMP_IF_FALSE";
    /// `a b -> `: jump to `target` unless `a < b`. Exactly `Lt;
    /// JumpIfFalse target` (same errors; NaN compares false, so it jumps).
    /// The fused compare-and-branch of an `if`/`while` condition.
    JumpIfNotLt { target: u32 } = "JUMP_IF_NOT_LT";
    /// `a b -> `: jump to `target` unless `a <= b` (`Le; JumpIfFalse`).
    JumpIfNotLe { target: u32 } = "JUMP_IF_NOT_LE";
    /// `a b -> `: jump to `target` unless `a > b` (`Gt; JumpIfFalse`).
    JumpIfNotGt { target: u32 } = "JUMP_IF_NOT_GT";
    /// `a b -> `: jump to `target` unless `a >= b` (`Ge; JumpIfFalse`).
    JumpIfNotGe { target: u32 } = "JUMP_IF_NOT_GE";
    /// `a b -> `: jump to `target` unless `a == b` (`Eq; JumpIfFalse`).
    JumpIfNotEq { target: u32 } = "JUMP_IF_NOT_EQ";
    /// `a b -> `: jump to `target` unless `a != b` (`Ne; JumpIfFalse`).
    JumpIfNotNe { target: u32 } = "JUMP_IF_NOT_NE";
    /// `and`: if the top is falsy jump to `target` keeping it, else pop it.
    JumpIfFalseOrPop { target: u32 } = "JUMP_IF_FALSE_OR_POP";
    /// `or`: if the top is truthy jump to `target` keeping it, else pop it.
    JumpIfTrueOrPop { target: u32 } = "JUMP_IF_TRUE_OR_POP";
    /// Jump backward to the loop header `target`. A back-edge: bumps the
    /// function's hotness counter and polls the interrupt flag.
    Loop { target: u32 } = "LOOP";
    /// `for` over a range. Locals `slot` (counter) and `slot+1` (limit) hold
    /// the bounds; runtime error unless both are ints; jump to `exit` if
    /// `counter >= limit`.
    ForRangePrep { slot: u32, exit: u32 } = "FOR_RANGE_PREP";
    /// End of a range-loop iteration (a back-edge), fused with what
    /// surrounds it: drop every value above the hidden locals (`sp =
    /// slot+2`: the body's locals and the loop variable), `counter += 1`;
    /// if `counter < limit`, push the counter (the next iteration's fresh
    /// loop variable) and jump back to `target`, the first instruction of
    /// the body after the loop variable's `GetLocal`.
    ForRangeNext { slot: u32, target: u32 } = "FOR_RANGE_NEXT";
    /// `for x in v`: local `slot` holds `v`. A map is replaced by an array of
    /// its keys (a snapshot); anything but an array or a map is a runtime
    /// error. Local `slot+1` (the index) is set to 0.
    ForInPrep { slot: u32 } = "FOR_IN_PREP";
    /// Loop header of `for x in v`: if index `< len(array)` push
    /// `array[index]` and increment the index, else jump to `exit`.
    ForInNext { slot: u32, exit: u32 } = "FOR_IN_NEXT";

    // ---- functions -------------------------------------------------------
    /// Push a new closure of nested function `proto` (an index into
    /// [`FunctionProto::protos`]), capturing the upvalues its
    /// [`FunctionProto::upvals`] describe.
    Closure { proto: u32 } = "CLOSURE";
    /// Call the value below the `argc` arguments on top of the stack. The
    /// callee slot becomes the new frame's base; on return the callee and the
    /// arguments are replaced by the one return value.
    Call { argc: u32 } = "CALL";
    /// Pop the return value, close the frame's upvalues, leave the frame.
    Return = "RETURN";

    // ---- arrays and maps -------------------------------------------------
    /// Pop `n` values and push a new array holding them (first pushed first).
    NewArray { n: u32 } = "NEW_ARRAY";
    /// Pop `n` key/value pairs (`k1 v1 k2 v2 ..`) and push a new map.
    NewMap { n: u32 } = "NEW_MAP";
    /// `obj index -> obj[index]` (arrays, maps, strings)
    GetIndex = "GET_INDEX";
    /// `obj index value -> ` stores `obj[index] = value`
    SetIndex = "SET_INDEX";
    /// `obj -> obj.name` where constant `k` is the string `name`
    GetField { k: u32 } = "GET_FIELD";
    /// `obj value -> ` stores `obj.name = value` (constant `k` is `name`)
    SetField { k: u32 } = "SET_FIELD";

    // ---- superinstructions (interpreter only) ------------------------------
    // The compiler never emits these. When the VM loads a function it makes
    // the interpreter's own copy of the code, writing each of these over the
    // first instruction of the sequence it stands for and leaving the rest
    // of the sequence in place (see `crate::compiler::fuse`), so instruction
    // indices, lines and jump targets stay those of `code`. One runs its
    // whole sequence in one dispatch when its operands are ints; otherwise
    // it does only what its first instruction does (a push; for
    // `AddReturn` the `Add`; for the `Loop..` ones the `Loop`) and the rest of the sequence runs unfused, with
    // its own errors, lines and GC rooting.
    // [`Op::expand`] gives each one's sequence.
    /// `GetLocal2 a b; Add`
    AddLocals { a: u32, b: u32 } = "ADD_LOCALS";
    /// `GetLocal2 a b; Sub`
    SubLocals { a: u32, b: u32 } = "SUB_LOCALS";
    /// `GetLocal2 a b; Mul`
    MulLocals { a: u32, b: u32 } = "MUL_LOCALS";
    /// `GetLocal slot; Add`: `x -> x + local`
    AddLocal { slot: u32 } = "ADD_LOCAL";
    /// `GetLocal slot; Sub`
    SubLocal { slot: u32 } = "SUB_LOCAL";
    /// `GetLocal slot; Mul`
    MulLocal { slot: u32 } = "MUL_LOCAL";
    /// `GetLocal2 a b; Add; SetLocal dst`: `dst = a + b`, `a += b`
    AddLocalsTo { a: u16, b: u16, dst: u32 } = "ADD_LOCALS_TO";
    /// `GetLocal2 a b; Sub; SetLocal dst`
    SubLocalsTo { a: u16, b: u16, dst: u32 } = "SUB_LOCALS_TO";
    /// `GetLocal2 a b; Mul; SetLocal dst`
    MulLocalsTo { a: u16, b: u16, dst: u32 } = "MUL_LOCALS_TO";
    /// `GetLocal slot; AddInt v`
    AddLocalInt { slot: u32, v: i32 } = "ADD_LOCAL_INT";
    /// `GetLocal slot; SubInt v`
    SubLocalInt { slot: u32, v: i32 } = "SUB_LOCAL_INT";
    /// `GetLocal slot; ModInt v`
    ModLocalInt { slot: u32, v: i32 } = "MOD_LOCAL_INT";
    /// `GetLocal src; AddInt v; SetLocal dst`: `i += 1`
    AddLocalIntTo { src: u16, dst: u16, v: i32 } = "ADD_LOCAL_INT_TO";
    /// `GetLocal src; SubInt v; SetLocal dst`
    SubLocalIntTo { src: u16, dst: u16, v: i32 } = "SUB_LOCAL_INT_TO";
    /// `GetLocal2 a b; JumpIfNotLt target`
    JumpIfNotLtLocals { a: u16, b: u16, target: u32 } = "JUMP_IF_NOT_LT_LOCALS";
    /// `GetLocal2 a b; JumpIfNotLe target`
    JumpIfNotLeLocals { a: u16, b: u16, target: u32 } = "JUMP_IF_NOT_LE_LOCALS";
    /// `GetLocal2 a b; JumpIfNotGt target`
    JumpIfNotGtLocals { a: u16, b: u16, target: u32 } = "JUMP_IF_NOT_GT_LOCALS";
    /// `GetLocal2 a b; JumpIfNotGe target`
    JumpIfNotGeLocals { a: u16, b: u16, target: u32 } = "JUMP_IF_NOT_GE_LOCALS";
    /// `GetLocal2 a b; JumpIfNotEq target`
    JumpIfNotEqLocals { a: u16, b: u16, target: u32 } = "JUMP_IF_NOT_EQ_LOCALS";
    /// `GetLocal2 a b; JumpIfNotNe target`
    JumpIfNotNeLocals { a: u16, b: u16, target: u32 } = "JUMP_IF_NOT_NE_LOCALS";
    /// `GetLocal slot; Int v; JumpIfNotLt target`: `if n < 2`
    JumpIfNotLtLocalInt { slot: u16, v: i16, target: u32 } = "JUMP_IF_NOT_LT_LOCAL_INT";
    /// `GetLocal slot; Int v; JumpIfNotLe target`
    JumpIfNotLeLocalInt { slot: u16, v: i16, target: u32 } = "JUMP_IF_NOT_LE_LOCAL_INT";
    /// `GetLocal slot; Int v; JumpIfNotGt target`
    JumpIfNotGtLocalInt { slot: u16, v: i16, target: u32 } = "JUMP_IF_NOT_GT_LOCAL_INT";
    /// `GetLocal slot; Int v; JumpIfNotGe target`
    JumpIfNotGeLocalInt { slot: u16, v: i16, target: u32 } = "JUMP_IF_NOT_GE_LOCAL_INT";
    /// `GetLocal slot; Int v; JumpIfNotEq target`
    JumpIfNotEqLocalInt { slot: u16, v: i16, target: u32 } = "JUMP_IF_NOT_EQ_LOCAL_INT";
    /// `GetLocal slot; Int v; JumpIfNotNe target`
    JumpIfNotNeLocalInt { slot: u16, v: i16, target: u32 } = "JUMP_IF_NOT_NE_LOCAL_INT";
    /// `Int v; JumpIfNotLt target`: `x -> `, jump unless `x < v`
    JumpIfNotLtInt { v: i32, target: u32 } = "JUMP_IF_NOT_LT_INT";
    /// `Int v; JumpIfNotLe target`
    JumpIfNotLeInt { v: i32, target: u32 } = "JUMP_IF_NOT_LE_INT";
    /// `Int v; JumpIfNotGt target`
    JumpIfNotGtInt { v: i32, target: u32 } = "JUMP_IF_NOT_GT_INT";
    /// `Int v; JumpIfNotGe target`
    JumpIfNotGeInt { v: i32, target: u32 } = "JUMP_IF_NOT_GE_INT";
    /// `Int v; JumpIfNotEq target`
    JumpIfNotEqInt { v: i32, target: u32 } = "JUMP_IF_NOT_EQ_INT";
    /// `Int v; JumpIfNotNe target`
    JumpIfNotNeInt { v: i32, target: u32 } = "JUMP_IF_NOT_NE_INT";
    /// `GetLocal2 a b; GetIndex`: push `local_a[local_b]`
    GetIndexLocals { a: u32, b: u32 } = "GET_INDEX_LOCALS";
    /// `GetLocal slot; Return`
    ReturnLocal { slot: u32 } = "RETURN_LOCAL";
    /// `Add; Return`: `return f(n - 1) + f(n - 2)`. Its slow path is the
    /// whole `Add`.
    AddReturn = "ADD_RETURN";
    /// `GetLocal2 a b; True; SetIndex`: `a[b] = true`
    SetIndexLocalsTrue { a: u32, b: u32 } = "SET_INDEX_LOCALS_TRUE";
    /// `GetLocal2 a b; False; SetIndex`
    SetIndexLocalsFalse { a: u32, b: u32 } = "SET_INDEX_LOCALS_FALSE";
    /// `GetLocal2 a b; Nil; SetIndex`
    SetIndexLocalsNil { a: u32, b: u32 } = "SET_INDEX_LOCALS_NIL";
    /// `GetLocal2 a b; Int v; SetIndex`
    SetIndexLocalsInt { a: u16, b: u16, v: i32 } = "SET_INDEX_LOCALS_INT";
    /// `GetLocal2 a b; GetLocal src; SetIndex`: `a[b] = src`
    SetIndexLocalsLocal { a: u16, b: u16, src: u32 } = "SET_INDEX_LOCALS_LOCAL";
    // The loop back-edge and the loop's condition in one dispatch: `Loop
    // target` where the interpreter's code at `target` is the fused
    // compare named (so its sequence is just the `Loop`). The slow path is
    // the whole `Loop`.
    /// `Loop target` onto `JumpIfNotLtLocals`: `while i < n`
    LoopLtLocals { target: u32 } = "LOOP_LT_LOCALS";
    /// `Loop target` onto `JumpIfNotLeLocals`
    LoopLeLocals { target: u32 } = "LOOP_LE_LOCALS";
    /// `Loop target` onto `JumpIfNotGtLocals`
    LoopGtLocals { target: u32 } = "LOOP_GT_LOCALS";
    /// `Loop target` onto `JumpIfNotGeLocals`
    LoopGeLocals { target: u32 } = "LOOP_GE_LOCALS";
    /// `Loop target` onto `JumpIfNotEqLocals`
    LoopEqLocals { target: u32 } = "LOOP_EQ_LOCALS";
    /// `Loop target` onto `JumpIfNotNeLocals`
    LoopNeLocals { target: u32 } = "LOOP_NE_LOCALS";
}

impl Op {
    /// The unfused sequence a superinstruction stands for (see the
    /// superinstructions' section of [`Op`]); `None` for every other
    /// instruction. Documents and tests the fusing pass, and lets the JIT's
    /// analysis treat a superinstruction like its sequence.
    pub fn expand(self) -> Option<Vec<Op>> {
        use Op::*;
        let get2 = |a: u16, b: u16| GetLocal2 {
            a: a.into(),
            b: b.into(),
        };
        let get = |slot: u16| GetLocal { slot: slot.into() };
        let get_int = |slot: u16, v: i16, jump: Op| vec![get(slot), Int { v: v.into() }, jump];
        let seq = match self {
            AddLocals { a, b } => vec![GetLocal2 { a, b }, Add],
            SubLocals { a, b } => vec![GetLocal2 { a, b }, Sub],
            MulLocals { a, b } => vec![GetLocal2 { a, b }, Mul],
            AddLocal { slot } => vec![GetLocal { slot }, Add],
            SubLocal { slot } => vec![GetLocal { slot }, Sub],
            MulLocal { slot } => vec![GetLocal { slot }, Mul],
            AddLocalsTo { a, b, dst } => vec![get2(a, b), Add, SetLocal { slot: dst }],
            SubLocalsTo { a, b, dst } => vec![get2(a, b), Sub, SetLocal { slot: dst }],
            MulLocalsTo { a, b, dst } => vec![get2(a, b), Mul, SetLocal { slot: dst }],
            AddLocalInt { slot, v } => vec![GetLocal { slot }, AddInt { v }],
            SubLocalInt { slot, v } => vec![GetLocal { slot }, SubInt { v }],
            ModLocalInt { slot, v } => vec![GetLocal { slot }, ModInt { v }],
            AddLocalIntTo { src, dst, v } => {
                vec![get(src), AddInt { v }, SetLocal { slot: dst.into() }]
            }
            SubLocalIntTo { src, dst, v } => {
                vec![get(src), SubInt { v }, SetLocal { slot: dst.into() }]
            }
            JumpIfNotLtLocals { a, b, target } => vec![get2(a, b), JumpIfNotLt { target }],
            JumpIfNotLeLocals { a, b, target } => vec![get2(a, b), JumpIfNotLe { target }],
            JumpIfNotGtLocals { a, b, target } => vec![get2(a, b), JumpIfNotGt { target }],
            JumpIfNotGeLocals { a, b, target } => vec![get2(a, b), JumpIfNotGe { target }],
            JumpIfNotEqLocals { a, b, target } => vec![get2(a, b), JumpIfNotEq { target }],
            JumpIfNotNeLocals { a, b, target } => vec![get2(a, b), JumpIfNotNe { target }],
            JumpIfNotLtLocalInt { slot, v, target } => get_int(slot, v, JumpIfNotLt { target }),
            JumpIfNotLeLocalInt { slot, v, target } => get_int(slot, v, JumpIfNotLe { target }),
            JumpIfNotGtLocalInt { slot, v, target } => get_int(slot, v, JumpIfNotGt { target }),
            JumpIfNotGeLocalInt { slot, v, target } => get_int(slot, v, JumpIfNotGe { target }),
            JumpIfNotEqLocalInt { slot, v, target } => get_int(slot, v, JumpIfNotEq { target }),
            JumpIfNotNeLocalInt { slot, v, target } => get_int(slot, v, JumpIfNotNe { target }),
            JumpIfNotLtInt { v, target } => vec![Int { v }, JumpIfNotLt { target }],
            JumpIfNotLeInt { v, target } => vec![Int { v }, JumpIfNotLe { target }],
            JumpIfNotGtInt { v, target } => vec![Int { v }, JumpIfNotGt { target }],
            JumpIfNotGeInt { v, target } => vec![Int { v }, JumpIfNotGe { target }],
            JumpIfNotEqInt { v, target } => vec![Int { v }, JumpIfNotEq { target }],
            JumpIfNotNeInt { v, target } => vec![Int { v }, JumpIfNotNe { target }],
            GetIndexLocals { a, b } => vec![GetLocal2 { a, b }, GetIndex],
            ReturnLocal { slot } => vec![GetLocal { slot }, Return],
            AddReturn => vec![Add, Return],
            SetIndexLocalsTrue { a, b } => vec![GetLocal2 { a, b }, True, SetIndex],
            SetIndexLocalsFalse { a, b } => vec![GetLocal2 { a, b }, False, SetIndex],
            SetIndexLocalsNil { a, b } => vec![GetLocal2 { a, b }, Nil, SetIndex],
            SetIndexLocalsInt { a, b, v } => vec![get2(a, b), Int { v }, SetIndex],
            SetIndexLocalsLocal { a, b, src } => {
                vec![get2(a, b), GetLocal { slot: src }, SetIndex]
            }
            LoopLtLocals { target }
            | LoopLeLocals { target }
            | LoopGtLocals { target }
            | LoopGeLocals { target }
            | LoopEqLocals { target }
            | LoopNeLocals { target } => vec![Loop { target }],
            _ => return None,
        };
        Some(seq)
    }
}

/// A pattern matching every superinstruction (the ops [`Op::expand`]
/// expands), for the `match`es on [`Op`] outside the interpreter: they
/// stay exhaustive, so a new ordinary opcode still needs an arm there.
macro_rules! superinstruction {
    () => {
        $crate::bytecode::Op::AddLocals { .. }
            | $crate::bytecode::Op::SubLocals { .. }
            | $crate::bytecode::Op::MulLocals { .. }
            | $crate::bytecode::Op::AddLocal { .. }
            | $crate::bytecode::Op::SubLocal { .. }
            | $crate::bytecode::Op::MulLocal { .. }
            | $crate::bytecode::Op::AddLocalsTo { .. }
            | $crate::bytecode::Op::SubLocalsTo { .. }
            | $crate::bytecode::Op::MulLocalsTo { .. }
            | $crate::bytecode::Op::AddLocalInt { .. }
            | $crate::bytecode::Op::SubLocalInt { .. }
            | $crate::bytecode::Op::ModLocalInt { .. }
            | $crate::bytecode::Op::AddLocalIntTo { .. }
            | $crate::bytecode::Op::SubLocalIntTo { .. }
            | $crate::bytecode::Op::JumpIfNotLtLocals { .. }
            | $crate::bytecode::Op::JumpIfNotLeLocals { .. }
            | $crate::bytecode::Op::JumpIfNotGtLocals { .. }
            | $crate::bytecode::Op::JumpIfNotGeLocals { .. }
            | $crate::bytecode::Op::JumpIfNotEqLocals { .. }
            | $crate::bytecode::Op::JumpIfNotNeLocals { .. }
            | $crate::bytecode::Op::JumpIfNotLtInt { .. }
            | $crate::bytecode::Op::JumpIfNotLeInt { .. }
            | $crate::bytecode::Op::JumpIfNotGtInt { .. }
            | $crate::bytecode::Op::JumpIfNotGeInt { .. }
            | $crate::bytecode::Op::JumpIfNotEqInt { .. }
            | $crate::bytecode::Op::JumpIfNotNeInt { .. }
            | $crate::bytecode::Op::GetIndexLocals { .. }
            | $crate::bytecode::Op::ReturnLocal { .. }
            | $crate::bytecode::Op::AddReturn
            | $crate::bytecode::Op::JumpIfNotLtLocalInt { .. }
            | $crate::bytecode::Op::JumpIfNotLeLocalInt { .. }
            | $crate::bytecode::Op::JumpIfNotGtLocalInt { .. }
            | $crate::bytecode::Op::JumpIfNotGeLocalInt { .. }
            | $crate::bytecode::Op::JumpIfNotEqLocalInt { .. }
            | $crate::bytecode::Op::JumpIfNotNeLocalInt { .. }
            | $crate::bytecode::Op::SetIndexLocalsTrue { .. }
            | $crate::bytecode::Op::SetIndexLocalsFalse { .. }
            | $crate::bytecode::Op::SetIndexLocalsNil { .. }
            | $crate::bytecode::Op::SetIndexLocalsInt { .. }
            | $crate::bytecode::Op::SetIndexLocalsLocal { .. }
            | $crate::bytecode::Op::LoopLtLocals { .. }
            | $crate::bytecode::Op::LoopLeLocals { .. }
            | $crate::bytecode::Op::LoopGtLocals { .. }
            | $crate::bytecode::Op::LoopGeLocals { .. }
            | $crate::bytecode::Op::LoopEqLocals { .. }
            | $crate::bytecode::Op::LoopNeLocals { .. }
    };
}
pub(crate) use superinstruction;

/// Declares the builtins once: the [`Builtin`] enum, whose order gives each
/// builtin its number (the `b` operand of [`Op::GetBuiltin`], the payload
/// of a builtin value), and their names.
macro_rules! builtins {
    ($($variant:ident = $name:literal,)*) => {
        /// The builtins (spec §6). Builtin names are reserved: they can be
        /// neither declared nor assigned.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum Builtin {
            $($variant,)*
        }

        impl Builtin {
            /// Every builtin, by number.
            pub const ALL: [Builtin; BUILTIN_NAMES.len()] = [$(Builtin::$variant,)*];
        }

        /// The builtins' names, by number.
        pub const BUILTIN_NAMES: [&str; [$($name,)*].len()] = [$($name,)*];
    };
}

builtins! {
    Print = "print",
    Len = "len",
    Push = "push",
    Pop = "pop",
    Str = "str",
    Int = "int",
    Float = "float",
    Type = "type",
    Keys = "keys",
    Has = "has",
    Del = "del",
    Sqrt = "sqrt",
    Floor = "floor",
    Abs = "abs",
    Clock = "clock",
    ReadLine = "read_line",
    Assert = "assert",
    Error = "error",
}

/// The builtin `push`'s number: the interpreter and the JIT both run
/// `push(array, v)` inline when the array has room.
pub const BUILTIN_PUSH: u32 = Builtin::Push as u32;

/// The builtin `sqrt`'s number: compiled code runs `sqrt(x)` inline for a
/// number `x`.
pub const BUILTIN_SQRT: u32 = Builtin::Sqrt as u32;

/// The number of the builtin called `name`, if any.
pub fn builtin_index(name: &str) -> Option<u32> {
    BUILTIN_NAMES
        .iter()
        .position(|&n| n == name)
        .map(|i| i as u32)
}

/// A constant-pool entry. The compiler produces these as plain Rust data; the
/// VM turns them into runtime values when it loads the function.
#[derive(Clone, Debug, PartialEq)]
pub enum Constant {
    Int(i64),
    Float(f64),
    Str(String),
}

/// How a closure captures one upvalue when it is created.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UpvalDesc {
    /// `true`: capture local slot `index` of the enclosing frame;
    /// `false`: share upvalue `index` of the enclosing closure.
    pub is_local: bool,
    pub index: u32,
}

/// A compiled function: its bytecode, constants, nested functions and the
/// line of every instruction.
#[derive(Clone, Debug, PartialEq)]
pub struct FunctionProto {
    /// `Some("f")` for `fn f`, `None` for `fn(..)` expressions,
    /// `Some("<script>")` for the top-level code.
    pub name: Option<String>,
    /// Number of parameters.
    pub arity: u32,
    pub code: Vec<Op>,
    /// `lines[i]` is the source line of `code[i]`.
    pub lines: Vec<u32>,
    pub consts: Vec<Constant>,
    /// Functions defined inside this one; `Op::Closure { proto }` indexes here.
    pub protos: Vec<Rc<FunctionProto>>,
    /// What this function captures from its enclosing function.
    pub upvals: Vec<UpvalDesc>,
    /// The most stack slots a frame of this function ever uses, counted from
    /// its base (callee slot and parameters included). The VM checks this
    /// much room on entry, so nothing inside the function can overflow the
    /// VM stack.
    pub max_slots: u32,
}

impl FunctionProto {
    /// The name used in stack traces: `<script>`, `<fn>` or the function's.
    pub fn display_name(&self) -> &str {
        self.name.as_deref().unwrap_or("<fn>")
    }
}

/// The names of the globals of a program (or of a REPL session), indexed by
/// the `g` operand of the global opcodes.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct GlobalNames {
    pub names: Vec<String>,
}

impl GlobalNames {
    pub fn index_of(&self, name: &str) -> Option<u32> {
        self.names.iter().position(|n| n == name).map(|i| i as u32)
    }

    /// The index of `name`, adding it if it is new.
    pub fn intern(&mut self, name: &str) -> u32 {
        match self.index_of(name) {
            Some(i) => i,
            None => {
                self.names.push(name.to_string());
                (self.names.len() - 1) as u32
            }
        }
    }
}

/// The compiler's output: the top-level function and the global names it
/// refers to.
#[derive(Clone, Debug)]
pub struct CompiledProgram {
    pub script: Rc<FunctionProto>,
    pub globals: GlobalNames,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn op_is_small() {
        // Opcode tag plus at most two u32 operands.
        assert!(std::mem::size_of::<Op>() <= 12);
    }

    #[test]
    fn names_and_operands() {
        let op = Op::ForRangeNext { slot: 3, target: 7 };
        assert_eq!(op.name(), "FOR_RANGE_NEXT");
        assert_eq!(op.operands(), vec![("slot", 3), ("target", 7)]);
        assert_eq!(Op::Add.operands(), vec![]);
    }

    #[test]
    fn builtins_are_numbered() {
        assert_eq!(builtin_index("print"), Some(0));
        assert_eq!(builtin_index("error"), Some(17));
        assert_eq!(builtin_index("nope"), None);
    }
}
