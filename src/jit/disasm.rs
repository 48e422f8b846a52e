//! Disassembly of generated machine code (Intel syntax, via iced-x86), for
//! `--print-jit`-style listings and golden tests.
//!
//! Two things make a raw listing readable:
//!
//! * **Symbols.** Helper calls are `mov rax, 0x55d0c0ffee10; call rax`; given
//!   a table of `(address, name)` the immediate is printed as the helper's
//!   name, e.g. `mov rax,toy_add`.
//! * **Annotations.** `(code_offset, text)` pairs are printed as `; text`
//!   lines before the instruction at that offset, so a listing can show each
//!   bytecode followed by the machine code generated for it.
//!
//! Lines look like this (offset, bytes, instruction):
//!
//! ```text
//! ; ADD
//!   0000  4889f8                  mov     rax,rdi
//!   0003  48b8102f3e5a5d550000    mov     rax,toy_add
//! ```

use iced_x86::{
    Decoder, DecoderOptions, Formatter, Instruction, IntelFormatter, SymbolResolver, SymbolResult,
};
use std::fmt::Write;

/// Resolves absolute addresses (immediates, branch targets) to names.
struct Symbols(Vec<(u64, String)>);

impl SymbolResolver for Symbols {
    fn symbol(
        &mut self,
        _instruction: &Instruction,
        _operand: u32,
        _instruction_operand: Option<u32>,
        address: u64,
        _address_size: u32,
    ) -> Option<SymbolResult<'_>> {
        let (addr, name) = self.0.iter().find(|(a, _)| *a == address)?;
        Some(SymbolResult::with_str(*addr, name))
    }
}

/// Disassembles `code`, which starts at address `ip` (use the real address
/// to see absolute branch targets, or 0 to see offsets), naming any address
/// found in `symbols` and printing `annotations` (sorted or not) before the
/// instruction at their offset. Undecodable bytes print as `(bad)`.
pub fn disassemble(
    code: &[u8],
    ip: u64,
    symbols: &[(u64, &str)],
    annotations: &[(usize, &str)],
) -> String {
    let mut notes: Vec<(usize, &str)> = annotations.to_vec();
    notes.sort_by_key(|&(offset, _)| offset);
    let mut notes = notes.into_iter().peekable();

    let mut formatter = formatter(symbols);
    let mut decoder = Decoder::with_ip(64, code, ip, DecoderOptions::NONE);
    let mut out = String::new();
    let mut text = String::new();
    while decoder.can_decode() {
        let insn = decoder.decode();
        let offset = (insn.ip() - ip) as usize;
        while let Some((_, note)) = notes.next_if(|&(at, _)| at <= offset) {
            writeln!(out, "; {note}").unwrap();
        }
        text.clear();
        if insn.is_invalid() {
            text.push_str("(bad)");
        } else {
            formatter.format(&insn, &mut text);
        }
        let bytes = &code[offset..offset + insn.len()];
        writeln!(out, "  {offset:04x}  {:<22}  {text}", hex(bytes)).unwrap();
    }
    for (_, note) in notes {
        writeln!(out, "; {note}").unwrap();
    }
    out
}

/// An Intel-syntax formatter with the listing's conventions: lowercase
/// hex with a `0x` prefix (small numbers in decimal), branch targets without
/// leading zeros, symbols instead of known addresses.
fn formatter(symbols: &[(u64, &str)]) -> IntelFormatter {
    let owned = symbols.iter().map(|&(a, n)| (a, n.to_string())).collect();
    let mut formatter = IntelFormatter::with_options(Some(Box::new(Symbols(owned))), None);
    let options = formatter.options_mut();
    options.set_first_operand_char_index(8);
    options.set_hex_prefix("0x");
    options.set_hex_suffix("");
    options.set_uppercase_hex(false);
    options.set_branch_leading_zeros(false);
    formatter
}

/// Instruction bytes as lowercase hex, without separators.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jit::asm::{emit_call, finish, jit_asm, new_ops};
    use dynasmrt::{DynasmApi, DynasmLabelApi};

    extern "sysv64" fn toy_add(a: i64, b: i64) -> i64 {
        a.wrapping_add(b)
    }

    fn sample() -> Vec<u8> {
        let mut ops = new_ops();
        jit_asm!(ops ; mov r_arg0, r_arg1);
        emit_call(&mut ops, toy_add as *const () as usize);
        jit_asm!(ops ; ret);
        finish(ops).unwrap()
    }

    #[test]
    fn names_helper_addresses() {
        let addr = toy_add as *const () as usize as u64;
        let listing = disassemble(&sample(), 0, &[(addr, "toy_add")], &[]);
        assert!(listing.contains("mov     rax,toy_add"), "{listing}");
        assert!(listing.contains("call    rax"), "{listing}");
    }

    #[test]
    fn unknown_addresses_stay_numeric() {
        let listing = disassemble(&sample(), 0, &[], &[]);
        let addr = format!("mov     rax,{:#x}", toy_add as *const () as usize);
        assert!(listing.contains(&addr), "{listing}");
    }

    #[test]
    fn annotations_precede_their_code() {
        // sample(): mov rdi,rsi (3 bytes) at 0, mov rax,imm64 (10) at 3,
        // call rax (2) at 13, ret at 15.
        let notes = [(15, "RETURN"), (0, "LOAD"), (3, "CALL"), (16, "END")];
        let listing = disassemble(&sample(), 0, &[], &notes);
        let lines: Vec<&str> = listing.lines().collect();
        assert_eq!(lines[0], "; LOAD");
        assert!(lines[1].contains("mov     rdi,rsi"), "{listing}");
        assert_eq!(lines[2], "; CALL");
        assert!(lines[5].starts_with("; RETURN"), "{listing}");
        assert!(lines[6].contains("ret"), "{listing}");
        assert_eq!(lines[7], "; END");
    }

    #[test]
    fn golden_listing() {
        let mut ops = new_ops();
        jit_asm!(ops
            ; mov r_ret, QWORD [r_base + 8]
            ; add r_ret, 1
            ; jo >overflow
            ; ret
            ; overflow:
            ; int3
        );
        let listing = disassemble(&finish(ops).unwrap(), 0, &[], &[(0, "LOAD_LOCAL 1")]);
        let expected = "\
; LOAD_LOCAL 1
  0000  498b4508                mov     rax,[r13+8]
  0004  4883c001                add     rax,1
  0008  0f8001000000            jo      0xf
  000e  c3                      ret
  000f  cc                      int3
";
        assert_eq!(listing, expected);
    }
}
