//! Errors as data. The compiler and the VM return these; the driver is the one
//! place that prints them and maps them to exit codes.

use std::fmt;

/// A compile-time error (lexing, parsing, name resolution) at a source
/// position. Printed as `FILE:LINE:COL: error: MESSAGE`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct CompileError {
    pub line: u32,
    pub col: u32,
    pub message: String,
}

impl CompileError {
    pub fn new(span: crate::ast::Span, message: impl Into<String>) -> CompileError {
        CompileError {
            line: span.line,
            col: span.col,
            message: message.into(),
        }
    }
}

impl fmt::Display for CompileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: error: {}", self.line, self.col, self.message)
    }
}

/// One line of a runtime error's stack trace: `  at NAME (FILE:LINE)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceEntry {
    /// `<script>`, `<fn>` or the function's name.
    pub function: String,
    pub line: u32,
}

/// A runtime error with the stack trace at the point it was raised.
/// `trace[0]` is the innermost frame; its line is the error's line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuntimeError {
    pub message: String,
    pub trace: Vec<TraceEntry>,
}

impl RuntimeError {
    /// The line reported in the first line of the error.
    pub fn line(&self) -> u32 {
        self.trace.first().map_or(0, |t| t.line)
    }
}

/// Process exit codes (BSD `sysexits.h`, as the spec asks).
pub mod exit {
    /// Bad command-line usage.
    pub const USAGE: i32 = 64;
    /// Compile error in the program.
    pub const DATAERR: i32 = 65;
    /// The input file cannot be read.
    pub const NOINPUT: i32 = 66;
    /// Runtime error.
    pub const SOFTWARE: i32 = 70;
}
