//! The machine-code listings quoted in `docs/` are the binary's own output.
//!
//! A listing block in a Markdown file under `docs/` is checked when the line
//! before its opening fence names where it comes from:
//!
//! ```text
//! <!-- listing: run --dump-asm benches/programs/fib.toy | fn fib -->
//! ```
//!
//! that is, `toyc` with those arguments (run from the crate root, stdin
//! empty), and the function whose listing header reads `== machine code for
//! fn fib (…`. Every line of the block must appear in that listing, in the
//! same order (a block may leave lines out: the offsets keep the match
//! exact), except lines starting with `...` (a note on what was left out)
//! or `$ ` (the command). Two things vary from run to run and are not
//! compared: the header's load address and the bytes of an instruction
//! whose 64-bit immediate is an address (`mov r15,jit_ctx`,
//! `mov rax,jit_call`, a field cache's hint).
//!
//! When the code generator changes, this test fails with the fresh listing;
//! copy the part the prose talks about into the block (and check that the
//! prose still says what the code does).
//!
//! A REPL session is checked the same way when its marker is
//!
//! ```text
//! <!-- session: --trace-jit -->
//! ```
//!
//! The block's lines that start with `> ` are piped into `toyc ARGS` (the
//! REPL, with no prompts); every other line but the notes must appear in
//! what it prints (stdout and stderr as one stream), in order. Timings
//! (`47.6 µs`, `0.079 ms`) are not compared.

use std::path::Path;
use std::process::{Command, Stdio};

const TOYC: &str = env!("CARGO_BIN_EXE_toyc");
const MARKER: &str = "<!-- listing:";
const SESSION_MARKER: &str = "<!-- session:";

/// One marked block: where its marker is, what the marker says after
/// its keyword, and the block's lines.
struct Marked {
    at: String,
    spec: String,
    lines: Vec<String>,
}

/// The blocks of the Markdown file `path` whose marker starts `marker`.
fn marked(path: &Path, marker: &str) -> Vec<Marked> {
    let text = std::fs::read_to_string(path).expect("read doc");
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let Some(rest) = line.trim().strip_prefix(marker) else {
            continue;
        };
        let at = format!("{}:{}", path.display(), i + 1);
        let spec = rest.strip_suffix("-->").expect("marker ends with -->");
        assert_eq!(lines.get(i + 1).copied(), Some("```text"), "{at}: no block");
        let body = (lines[i + 2..].iter())
            .take_while(|l| !l.starts_with("```"))
            .map(|l| l.to_string())
            .collect();
        out.push(Marked {
            at,
            spec: spec.to_string(),
            lines: body,
        });
    }
    out
}

/// One checked listing: where it is, the command, the function, its lines.
struct Block {
    at: String,
    args: Vec<String>,
    function: String,
    lines: Vec<String>,
}

fn blocks(path: &Path) -> Vec<Block> {
    (marked(path, MARKER).into_iter())
        .map(|m| {
            let (args, function) = m.spec.split_once('|').expect("marker: ARGS | FUNCTION");
            Block {
                args: args.split_whitespace().map(String::from).collect(),
                function: function.trim().to_string(),
                at: m.at,
                lines: m.lines,
            }
        })
        .collect()
}

/// What `toyc ARGS` printed with `input` piped in, stdout and stderr
/// through one pipe, so that their lines stay in the order printed.
fn session_output(args: &[String], input: &str) -> String {
    use std::io::{Read, Write};
    let (mut reader, writer) = std::io::pipe().expect("pipe");
    let mut child = Command::new(TOYC)
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::piped())
        .stdout(writer.try_clone().expect("pipe"))
        .stderr(writer)
        .spawn()
        .expect("run toyc");
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(input.as_bytes()).expect("write input");
    drop(stdin);
    let mut text = String::new();
    reader.read_to_string(&mut text).expect("read output");
    child.wait().expect("toyc exits");
    text
}

/// `line` with every timing (a number followed by `µs`, `us` or `ms`)
/// replaced by `T`.
fn without_times(line: &str) -> String {
    let words: Vec<&str> = line.split(' ').collect();
    let is_unit = |w: &str| matches!(w.trim_end_matches([',', ')']), "µs" | "us" | "ms");
    let mut out = Vec::new();
    for (i, w) in words.iter().enumerate() {
        let timed = words.get(i + 1).is_some_and(|n| is_unit(n)) && w.parse::<f64>().is_ok();
        out.push(if timed { "T" } else { w });
    }
    out.join(" ")
}

/// What `toyc ARGS` printed, stdout then stderr.
fn output(args: &[String]) -> String {
    let out = Command::new(TOYC)
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::null())
        .output()
        .expect("run toyc");
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    text
}

/// The listings of functions titled `function` in `text` (several
/// anonymous functions are all `fn <fn>`), one line per entry.
fn listings<'a>(text: &'a str, function: &str) -> Vec<Vec<&'a str>> {
    let header = format!("== machine code for {function} (");
    let mut out = Vec::new();
    for (start, _) in text.match_indices(&header) {
        let rest = &text[start..];
        let end = rest[1..].find("\n== ").map_or(rest.len(), |e| e + 1);
        out.push(rest[..end].lines().collect());
    }
    out
}

/// A line as compared: an instruction whose immediate is an address loses
/// its bytes column (the address changes from run to run).
fn normal(line: &str) -> String {
    let line = line.trim_end();
    if line.starts_with("== machine code for")
        && let Some((title, _)) = line.split_once(" bytes at ")
    {
        return title.to_string();
    }
    let is_instruction = line.len() > 32
        && line.starts_with("  ")
        && line[2..6].chars().all(|c| c.is_ascii_hexdigit());
    if !is_instruction {
        return line.to_string();
    }
    let text = &line[32..];
    let operand = text.rsplit(',').next().unwrap_or("");
    let address = operand.starts_with("jit_")
        || operand == "interrupt_flag"
        || (operand.starts_with("0x") && operand.len() > 10);
    if address {
        format!("{} {}", &line[..6], text)
    } else {
        line.to_string()
    }
}

/// Whether a block line is not listing output: `...` for lines left out
/// (possibly followed by a note of what they do), or a shell command
/// (`$ toyc ...`).
fn is_note(line: &str) -> bool {
    let line = line.trim_start();
    line.starts_with("...") || line.starts_with("$ ")
}

/// `Ok` if every line of `block` but its notes ([`is_note`]) is in
/// `listing`, in the same order; else the first line that is not.
fn find(block: &[String], listing: &[&str]) -> Result<(), String> {
    let listing: Vec<String> = listing.iter().map(|l| normal(l)).collect();
    let mut rest = listing.iter();
    for line in block.iter().filter(|l| !is_note(l)) {
        let line = normal(line);
        if !rest.any(|l| *l == line) {
            return Err(line);
        }
    }
    Ok(())
}

#[test]
fn listings_in_the_docs_are_current() {
    let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs");
    let mut checked = 0;
    let mut stale = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(&docs)
        .expect("docs/")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    files.sort();
    for path in files {
        for block in blocks(&path) {
            let text = output(&block.args);
            let fresh = listings(&text, &block.function);
            let command = format!("`toyc {}`", block.args.join(" "));
            if fresh.is_empty() {
                stale.push(format!(
                    "{}: no listing of {} in {command}",
                    block.at, block.function
                ));
                continue;
            }
            checked += 1;
            let results: Vec<_> = fresh.iter().map(|l| find(&block.lines, l)).collect();
            if let Some(Err(line)) = results.iter().find(|r| r.is_err())
                && !results.iter().any(|r| r.is_ok())
            {
                let now: Vec<String> = fresh.iter().map(|l| l.join("\n")).collect();
                stale.push(format!(
                    "{}: the block is not in the listing of {} from {command} \
                     (this line is not: {line:?}), which is now:\n{}",
                    block.at,
                    block.function,
                    now.join("\n")
                ));
            }
        }
    }
    assert!(stale.is_empty(), "{}", stale.join("\n\n"));
    assert!(checked >= 15, "only {checked} marked listings found");
}

#[test]
fn repl_sessions_in_the_docs_are_current() {
    let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs");
    let mut checked = 0;
    let mut stale = Vec::new();
    for entry in std::fs::read_dir(&docs).expect("docs/").flatten() {
        let path = entry.path();
        if path.extension().is_none_or(|e| e != "md") {
            continue;
        }
        for session in marked(&path, SESSION_MARKER) {
            let input: String = (session.lines.iter())
                .filter_map(|l| l.strip_prefix("> "))
                .map(|l| format!("{l}\n"))
                .collect();
            let args: Vec<String> = session.spec.split_whitespace().map(String::from).collect();
            let text = session_output(&args, &input);
            let printed: Vec<&str> = text.lines().collect();
            let expected: Vec<String> = (session.lines.iter())
                .filter(|l| !l.starts_with("> "))
                .map(|l| without_times(l))
                .collect();
            let printed: Vec<String> = printed.iter().map(|l| without_times(l)).collect();
            let printed: Vec<&str> = printed.iter().map(String::as_str).collect();
            checked += 1;
            if let Err(line) = find(&expected, &printed) {
                stale.push(format!(
                    "{}: this line of the session is not in what `toyc {}` prints now: \
                     {line:?}; it printed:\n{text}",
                    session.at,
                    args.join(" ")
                ));
            }
        }
    }
    assert!(stale.is_empty(), "{}", stale.join("\n\n"));
    assert!(checked >= 1, "no marked sessions found");
}
