//! The driver: glue between the stages, and the one place that turns errors
//! into text and exit codes.
//!
//! `source → parser → compiler → VM`: [`compile_source`] runs the front end and
//! merges its errors; [`render_compile_errors`] and [`render_runtime_error`]
//! print them in the spec's formats.

use std::cell::RefCell;
use std::fmt::Write as _;
use std::rc::Rc;

use crate::bytecode::{FunctionProto, GlobalNames};
use crate::compiler::{self, CompileOptions};
use crate::diag::{CompileError, RuntimeError};
use crate::parser;

/// An output sink whose bytes can be read back: give a clone to
/// `Vm::new` and read what the program printed with [`CapturedOutput::bytes`]
/// (the tests, the fuzz harnesses, anything that embeds the VM).
#[derive(Clone, Default)]
pub struct CapturedOutput(Rc<RefCell<Vec<u8>>>);

impl CapturedOutput {
    /// Everything written so far.
    pub fn bytes(&self) -> Vec<u8> {
        self.0.borrow().clone()
    }
}

impl std::io::Write for CapturedOutput {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Parses and compiles `src`. On failure returns every error in source order.
///
/// Parse errors and name-resolution errors are merged so that the first error
/// printed is the earliest one in the file. The compiler runs on the
/// statements that did parse; its errors located after the first syntax error
/// are dropped, because a statement the parser had to skip (a `let`, say) can
/// make later names look undefined.
pub fn compile_source(
    src: &str,
    globals: &mut GlobalNames,
    opts: CompileOptions,
) -> Result<Rc<FunctionProto>, Vec<CompileError>> {
    let (program, mut errors) = parser::parse(src);
    // Compile into a scratch copy so that a failed REPL input declares nothing.
    let mut scratch = globals.clone();
    let compiled = compiler::compile(&program, &mut scratch, opts);
    let first_syntax_error = errors.iter().min().map(|e| (e.line, e.col));
    match compiled {
        Ok(proto) if errors.is_empty() => {
            *globals = scratch;
            return Ok(proto);
        }
        Ok(_) => {}
        Err(compile_errors) => {
            errors.extend(
                compile_errors
                    .into_iter()
                    .filter(|e| match first_syntax_error {
                        Some(first) => (e.line, e.col) < first,
                        None => true,
                    }),
            );
        }
    }
    errors.sort();
    errors.dedup();
    Err(errors)
}

/// Checks that `bytes` is UTF-8; otherwise reports the first bad byte as a
/// compile error at its line and column.
pub fn decode_source(bytes: &[u8]) -> Result<&str, CompileError> {
    std::str::from_utf8(bytes).map_err(|e| {
        let good = &bytes[..e.valid_up_to()];
        // `good` is valid UTF-8 by construction.
        let text = std::str::from_utf8(good).unwrap_or("");
        let line = text.matches('\n').count() as u32 + 1;
        let col = text.rsplit('\n').next().map_or(0, |l| l.chars().count()) as u32 + 1;
        CompileError {
            line,
            col,
            message: "invalid UTF-8 in source".to_string(),
        }
    })
}

/// Formats compile errors: for each, the spec's first line
/// `FILE:LINE:COL: error: MESSAGE`, then the source line with a caret under the
/// column.
pub fn render_compile_errors(file: &str, src: &str, errors: &[CompileError]) -> String {
    let mut out = String::new();
    for e in errors {
        let _ = writeln!(out, "{file}:{}:{}: error: {}", e.line, e.col, e.message);
        if let Some(text) = src.lines().nth(e.line.saturating_sub(1) as usize) {
            let gutter = e.line.to_string();
            let pad = " ".repeat(gutter.len());
            // Keep tabs so the caret lines up under the same character.
            let lead: String = text
                .chars()
                .take(e.col.saturating_sub(1) as usize)
                .map(|c| if c == '\t' { '\t' } else { ' ' })
                .collect();
            let _ = writeln!(out, "{pad} |");
            let _ = writeln!(out, "{gutter} | {text}");
            let _ = writeln!(out, "{pad} | {lead}^");
        }
    }
    out
}

/// A trace longer than this shows its first and last `TRACE_KEEP / 2` frames
/// and one line saying how many were left out (a `stack overflow` would
/// otherwise print 200,000 lines).
const TRACE_KEEP: usize = 40;

/// Formats a runtime error: `FILE:LINE: runtime error: MESSAGE` and the stack
/// trace, innermost frame first.
pub fn render_runtime_error(file: &str, err: &RuntimeError) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{file}:{}: runtime error: {}", err.line(), err.message);
    let n = err.trace.len();
    let half = TRACE_KEEP / 2;
    for (i, t) in err.trace.iter().enumerate() {
        if n > TRACE_KEEP && i >= half && i < n - half {
            if i == half {
                let _ = writeln!(out, "  ... {} more frames ...", n - TRACE_KEEP);
            }
            continue;
        }
        let _ = writeln!(out, "  at {} ({file}:{})", t.function, t.line);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::TraceEntry;

    #[test]
    fn caret_under_column() {
        let errs = [CompileError {
            line: 2,
            col: 5,
            message: "boom".into(),
        }];
        let text = render_compile_errors("t.toy", "a\n\tb  c\n", &errs);
        assert_eq!(
            text,
            "t.toy:2:5: error: boom\n  |\n2 | \tb  c\n  | \t   ^\n"
        );
    }

    #[test]
    fn runtime_error_format() {
        let err = RuntimeError {
            message: "division by zero".into(),
            trace: vec![
                TraceEntry {
                    function: "f".into(),
                    line: 3,
                },
                TraceEntry {
                    function: "<script>".into(),
                    line: 7,
                },
            ],
        };
        assert_eq!(
            render_runtime_error("a.toy", &err),
            "a.toy:3: runtime error: division by zero\n  at f (a.toy:3)\n  at <script> (a.toy:7)\n"
        );
    }

    #[test]
    fn long_traces_are_shortened() {
        let entry = |line| TraceEntry {
            function: "f".into(),
            line,
        };
        let err = RuntimeError {
            message: "stack overflow".into(),
            trace: (1..=100).map(entry).collect(),
        };
        let text = render_runtime_error("a.toy", &err);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 1 + TRACE_KEEP + 1);
        assert_eq!(lines[1], "  at f (a.toy:1)");
        assert_eq!(lines[21], "  ... 60 more frames ...");
        assert_eq!(lines[22], "  at f (a.toy:81)");
        assert_eq!(lines[41], "  at f (a.toy:100)");
    }

    #[test]
    fn bad_utf8_position() {
        let e = decode_source(b"ok\nab\xffc").unwrap_err();
        assert_eq!((e.line, e.col), (2, 3));
    }
}
