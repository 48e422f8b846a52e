//! The bytecode disassembler behind `toyc disasm`.
//!
//! Output for one function:
//!
//! ```text
//! == fn fib (arity 1, 1 constants, 0 upvalues, max_slots 5) ==
//! 0000    2  GET_LOCAL         slot=1
//! 0001    |  INT               v=2
//! 0002    |  JUMP_IF_NOT_LT    target=0005
//! 0003    3  CONST             k=0  ; "hi"
//! ```
//!
//! Columns: instruction index, source line (`|` when it repeats the line
//! above), opcode, operands, and after `;` what a constant, builtin or
//! nested function operand stands for. Jump targets are instruction indices.
//! Nested functions follow their parent, depth first.

use std::fmt::Write as _;

use crate::bytecode::{BUILTIN_NAMES, Constant, FunctionProto, Op};

/// Renders a function and, after it, every nested function.
pub fn disassemble(proto: &FunctionProto) -> String {
    let mut out = String::new();
    function(&mut out, proto);
    out
}

fn function(out: &mut String, proto: &FunctionProto) {
    header(out, proto);
    let mut prev_line = None;
    for (i, op) in proto.code.iter().enumerate() {
        let line = proto.lines.get(i).copied().unwrap_or(0);
        let line_col = if prev_line == Some(line) {
            "|".to_string()
        } else {
            line.to_string()
        };
        prev_line = Some(line);
        let mut text = format!("{i:04} {line_col:>4}  {:<17} {}", op.name(), operands(op));
        if let Some(note) = note(proto, op) {
            let _ = write!(text, "  ; {note}");
        }
        let _ = writeln!(out, "{}", text.trim_end());
    }
    for nested in &proto.protos {
        out.push('\n');
        function(out, nested);
    }
}

fn header(out: &mut String, proto: &FunctionProto) {
    let title = match proto.name.as_deref() {
        Some("<script>") => "<script>".to_string(),
        _ => format!("fn {}", proto.display_name()),
    };
    let _ = writeln!(
        out,
        "== {title} (arity {}, {} constants, {} upvalues, max_slots {}) ==",
        proto.arity,
        proto.consts.len(),
        proto.upvals.len(),
        proto.max_slots
    );
    if !proto.upvals.is_empty() {
        let list: Vec<String> = proto
            .upvals
            .iter()
            .enumerate()
            .map(|(i, u)| {
                let from = if u.is_local { "local" } else { "upval" };
                format!("{i}={from} {}", u.index)
            })
            .collect();
        let _ = writeln!(out, "   upvalues: {}", list.join(", "));
    }
}

/// `name=value` pairs; jump targets printed as 4-digit indices like the
/// offsets they point at.
fn operands(op: &Op) -> String {
    let parts: Vec<String> = op
        .operands()
        .into_iter()
        .map(|(name, value)| match name {
            "target" | "exit" => format!("{name}={value:04}"),
            _ => format!("{name}={value}"),
        })
        .collect();
    parts.join(" ")
}

/// What an operand refers to, when that is not obvious from the number.
fn note(proto: &FunctionProto, op: &Op) -> Option<String> {
    match *op {
        Op::Const { k } | Op::GetField { k } | Op::SetField { k } => Some(
            proto
                .consts
                .get(k as usize)
                .map_or("?".to_string(), constant),
        ),
        Op::GetBuiltin { b } => BUILTIN_NAMES.get(b as usize).map(|n| n.to_string()),
        Op::Closure { proto: p } => proto
            .protos
            .get(p as usize)
            .map(|f| format!("fn {}", f.display_name())),
        _ => None,
    }
}

fn constant(c: &Constant) -> String {
    match c {
        Constant::Int(i) => i.to_string(),
        Constant::Float(f) => format!("{f:?}"),
        Constant::Str(s) => format!("{s:?}"),
    }
}
