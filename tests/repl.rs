//! Drives the real `toyc` binary's REPL through a pipe: no prompts, values
//! echoed, definitions kept across inputs, errors reported without leaving.

use std::io::Write;
use std::process::{Command, Stdio};

fn repl(input: &str) -> (String, String, i32) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_toyc"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start toyc");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("write input");
    let out = child.wait_with_output().expect("wait for toyc");
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.status.code().unwrap_or(-1),
    )
}

#[test]
fn piped_session() {
    let (out, err, code) = repl(
        "let x = 40;\nfn add(a,\n b) {\n  return a + b;\n}\nadd(x, 2);\nprint(\"hi\");\n\"s\"\n\
         1 / 0;\nnope;\nx\n[1, \"two\"]\n",
    );
    assert_eq!(code, 0);
    assert_eq!(out, "42\nhi\n\"s\"\n40\n[1, \"two\"]\n");
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines[0], "<repl>:1: runtime error: division by zero");
    assert_eq!(lines[1], "  at <script> (<repl>:1)");
    assert_eq!(lines[2], "<repl>:1:1: error: undefined variable 'nope'");
}

#[test]
fn quit_command_and_help() {
    let (out, _, code) = repl(":help\n:quit\nprint(1);\n");
    assert_eq!(code, 0);
    assert!(out.contains(":disasm NAME"), "{out}");
    assert!(!out.ends_with("1\n"), "ran input after :quit: {out}");
}
