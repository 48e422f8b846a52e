//! Hostile inputs: sources and programs built to break a compiler or a VM.
//!
//! Every input is generated here (nothing huge is committed) and run through
//! the real `toyc` binary in the interpreter, with every function compiled,
//! and with a small JIT threshold. Each must give a clean compile error
//! (exit 65), a clean runtime error (exit 70) or run correctly (exit 0), the
//! same in every tier: never a panic, a crash or a hang. Also here: the
//! resource limits (`--timeout`, `--max-heap`) and the crash report of a
//! fault in compiled code (`TOYC_JIT_CRASH_TEST`).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long one run may take before it counts as hung.
const HANG: Duration = Duration::from_secs(60);

const TIERS: &[&[&str]] = &[
    &["--no-jit"],
    &["--jit-threshold", "0"],
    &["--jit-threshold", "2"],
];

struct Run {
    code: Option<i32>,
    stdout: Vec<u8>,
    stderr: String,
}

impl Run {
    fn first_stderr_line(&self) -> &str {
        self.stderr.lines().next().unwrap_or("")
    }

    fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }
}

/// Writes `source` to a scratch file named after `name`.
fn scratch(name: &str, source: &[u8]) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("hostile");
    std::fs::create_dir_all(&dir).expect("create scratch dir");
    let path = dir.join(format!("{name}.toy"));
    std::fs::write(&path, source).expect("write scratch file");
    path
}

/// `toyc ARGS PATH` with the test-only environment variables removed and
/// stdout and stderr piped.
fn command(args: &[&str], path: &PathBuf) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_toyc"));
    cmd.args(args)
        .arg(path)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .env_remove("TOYC_GC_STRESS")
        .env_remove("TOYC_JIT_CRASH_TEST");
    cmd
}

/// Runs `toyc ARGS PATH`, with `env` set and no input.
fn toyc(args: &[&str], path: &PathBuf, env: &[(&str, &str)]) -> Run {
    let mut cmd = command(args, path);
    cmd.stdin(Stdio::null()).envs(env.iter().copied());
    finish(cmd.spawn().expect("spawn toyc"), args, path)
}

/// Collects a started toyc's output and exit code, killing it and failing
/// the test if it runs longer than [`HANG`].
fn finish(mut child: Child, args: &[&str], path: &Path) -> Run {
    let mut out = child.stdout.take().expect("stdout");
    let mut err = child.stderr.take().expect("stderr");
    let out_thread = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = out.read_to_end(&mut buf);
        buf
    });
    let err_thread = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = err.read_to_end(&mut buf);
        buf
    });
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if start.elapsed() > HANG {
            let _ = child.kill();
            panic!("toyc {args:?} {} hung", path.display());
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    Run {
        code: status.code(),
        stdout: out_thread.join().unwrap(),
        stderr: String::from_utf8_lossy(&err_thread.join().unwrap()).into_owned(),
    }
}

/// Runs `source` in every tier; all must agree and end in an orderly way.
/// Returns the interpreter's run.
fn in_every_tier(name: &str, source: &[u8]) -> Run {
    in_every_tier_with(name, source, &[])
}

fn in_every_tier_with(name: &str, source: &[u8], extra: &[&str]) -> Run {
    let path = scratch(name, source);
    let mut first: Option<Run> = None;
    for tier in TIERS {
        let mut args = vec!["run"];
        args.extend_from_slice(tier);
        args.extend_from_slice(extra);
        let run = toyc(&args, &path, &[]);
        assert!(
            matches!(run.code, Some(0 | 65 | 70)) && !run.stderr.contains("panicked"),
            "{name} {tier:?}: exit {:?}, stderr: {}",
            run.code,
            run.first_stderr_line()
        );
        if let Some(f) = &first {
            assert_eq!(
                (f.code, f.first_stderr_line(), &f.stdout),
                (run.code, run.first_stderr_line(), &run.stdout),
                "{name}: {tier:?} disagrees with the interpreter"
            );
        } else {
            first = Some(run);
        }
    }
    first.unwrap()
}

fn expect_compile_error(run: &Run, message: &str) {
    assert_eq!(run.code, Some(65), "stderr: {}", run.stderr);
    assert!(
        run.first_stderr_line()
            .contains(&format!("error: {message}")),
        "expected {message:?}, got {}",
        run.first_stderr_line()
    );
}

fn expect_runtime_error(run: &Run, message: &str) {
    assert_eq!(run.code, Some(70), "stderr: {}", run.stderr);
    assert!(
        run.first_stderr_line()
            .ends_with(&format!("runtime error: {message}")),
        "expected {message:?}, got {}",
        run.first_stderr_line()
    );
}

// ------------------------------------------------------------ bad bytes

#[test]
fn invalid_utf8_is_a_compile_error() {
    for (name, bytes) in [
        ("utf8-lone-continuation", &b"print(1);\n\x80\n"[..]),
        ("utf8-in-string", b"print(\"a\xff\xfeb\");\n"),
        ("utf8-truncated", b"print(\"\xe2\x82\");"),
        ("utf8-overlong", b"let x = \"\xc0\xaf\";"),
    ] {
        let run = in_every_tier(name, bytes);
        assert_eq!(run.code, Some(65), "{name}: {}", run.stderr);
        assert!(run.stdout.is_empty());
    }
}

#[test]
fn nul_bytes() {
    let run = in_every_tier("nul-outside-string", b"print(1);\0print(2);\n");
    assert_eq!(run.code, Some(65), "{}", run.stderr);
    // A NUL inside a string literal is just a character.
    let run = in_every_tier("nul-in-string", b"print(len(\"a\0b\"));\n");
    assert!(matches!(run.code, Some(0 | 65)), "{}", run.stderr);
    if run.code == Some(0) {
        assert_eq!(run.stdout_text(), "3\n");
    }
    let run = in_every_tier("nul-only", &[0u8; 1000]);
    assert_eq!(run.code, Some(65));
}

// ------------------------------------------------------------ big sources

#[test]
fn a_20_mb_source_runs() {
    // About 20 MB of top-level statements: one huge script function, whose
    // machine code exceeds the default code cache, so the JIT must refuse
    // it and leave it interpreted.
    let mut src = String::from("let x = 0;\n");
    let line = "x = x + 1; // padding padding padding padding\n";
    let n = 20_000_000 / line.len() + 1;
    for _ in 0..n {
        src.push_str(line);
    }
    src.push_str("print(x);\n");
    assert!(src.len() >= 20_000_000);
    let run = in_every_tier("source-20mb", src.as_bytes());
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(run.stdout_text(), format!("{n}\n"));
}

#[test]
fn a_million_constants_in_one_function() {
    let mut src = String::from("fn f() {\n  let s = 0.0;\n");
    for i in 0..1_000_000 {
        src.push_str(&format!("  s = s + {i}.5;\n"));
    }
    src.push_str("  return s;\n}\nprint(f());\n");
    let run = in_every_tier("million-constants", src.as_bytes());
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    // Sum of i + 0.5 for i < 10^6, exact in binary64 at every step.
    assert_eq!(run.stdout_text(), "500000000000.0\n");
}

#[test]
fn deep_nesting_is_a_compile_error() {
    const DEPTH: usize = 100_000;
    let cases = [
        (
            "blocks",
            format!("{}{}", "{".repeat(DEPTH), "}".repeat(DEPTH)),
        ),
        (
            "arrays",
            format!("print({}{});", "[".repeat(DEPTH), "]".repeat(DEPTH)),
        ),
        (
            "parens",
            format!("print({}1{});", "(".repeat(DEPTH), ")".repeat(DEPTH)),
        ),
        (
            "calls",
            format!("print({}1{});", "len(".repeat(DEPTH), ")".repeat(DEPTH)),
        ),
        ("unary", format!("print({}1);", "-".repeat(DEPTH))),
        ("not", format!("print({}true);", "not ".repeat(DEPTH))),
        (
            "functions",
            format!("{}{}", "fn f() {".repeat(DEPTH), "}".repeat(DEPTH)),
        ),
        (
            "ifs",
            format!("{}{}", "if true {".repeat(DEPTH), "}".repeat(DEPTH)),
        ),
        (
            "maps",
            format!("print({}1{});", "{a: ".repeat(DEPTH), "}".repeat(DEPTH)),
        ),
        ("chain", format!("print(1{});", " + 1".repeat(DEPTH))),
        (
            "index chain",
            format!("let a = [0]; print(a{});", "[0]".repeat(DEPTH)),
        ),
        ("unclosed", "(".repeat(DEPTH)),
    ];
    for (name, src) in cases {
        let run = in_every_tier(&format!("nest-{}", name.replace(' ', "-")), src.as_bytes());
        expect_compile_error(&run, "nesting too deep");
    }
}

#[test]
fn ten_thousand_parameters_and_arguments() {
    let params: Vec<String> = (0..10_000).map(|i| format!("p{i}")).collect();
    let src = format!("fn f({}) {{ return p0; }}\n", params.join(", "));
    expect_compile_error(
        &in_every_tier("params-10000", src.as_bytes()),
        "too many parameters",
    );
    let args = vec!["1"; 10_000].join(", ");
    let src = format!("fn f(a) {{ return a; }}\nprint(f({args}));\n");
    expect_compile_error(
        &in_every_tier("args-10000", src.as_bytes()),
        "too many arguments",
    );
    // 255 is the limit and works in every tier.
    let params: Vec<String> = (0..255).map(|i| format!("p{i}")).collect();
    let args: Vec<String> = (0..255).map(|i| i.to_string()).collect();
    let src = format!(
        "fn f({}) {{ return p0 + p254; }}\nfor i in 0..3 {{ print(f({})); }}\n",
        params.join(", "),
        args.join(", ")
    );
    let run = in_every_tier("params-255", src.as_bytes());
    assert_eq!(run.stdout_text(), "254\n254\n254\n", "{}", run.stderr);
}

/// A loop whose body is `n` statements long: its jumps span far more than
/// an i16 (and any short-jump encoding) can reach.
fn long_loop(n: usize) -> String {
    let mut src = String::from("let t = 0;\nlet i = 0;\nwhile i < 3 {\n  i += 1;\n");
    src.push_str("  if i == 2 { continue; }\n");
    for k in 0..n {
        src.push_str(&format!("  t = t + {};\n", k % 7));
    }
    src.push_str("}\nprint(t, i);\n");
    src
}

#[test]
fn jumps_over_huge_bodies() {
    let n = 100_000;
    let per_pass: usize = (0..n).map(|k| k % 7).sum();
    let run = in_every_tier("long-jumps", long_loop(n).as_bytes());
    assert_eq!(run.stdout_text(), format!("{} 3\n", 2 * per_pass));
}

#[test]
fn functions_bigger_than_the_code_cache_stay_interpreted() {
    let n = 2_000;
    let per_pass: usize = (0..n).map(|k| k % 7).sum();
    for limit in ["4096", "1", "0"] {
        let run = in_every_tier_with(
            &format!("code-limit-{limit}"),
            long_loop(n).as_bytes(),
            &["--jit-code-limit", limit],
        );
        assert_eq!(run.code, Some(0), "{}", run.stderr);
        assert_eq!(run.stdout_text(), format!("{} 3\n", 2 * per_pass));
    }
}

// ------------------------------------------------------- deep data at run time

#[test]
fn an_array_nested_a_million_deep() {
    let src = "let a = [];\n\
               for i in 0..1000000 { a = [a]; }\n\
               let s = str(a);\n\
               print(len(s), s == str(a), a == a, a[0] == a[0][0]);\n\
               print(a);\n\
               let m = {};\n\
               m[\"k\"] = a;\n\
               print(len(str(m)));\n\
               m[a] = 1;\n";
    let run = in_every_tier("nested-million", src.as_bytes());
    expect_runtime_error(&run, "invalid map key type array");
    let text = run.stdout_text();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("2000002 true true false"));
    let printed = lines.next().expect("the array");
    assert_eq!(printed.len(), 2_000_002);
    assert!(printed.starts_with("[[[[") && printed.ends_with("]]]]"));
    assert_eq!(lines.next(), Some("2000009"));
}

// ------------------------------------------------------------ limits

#[test]
fn timeout_stops_loops_and_recursion_in_every_tier() {
    let cases = [
        ("timeout-loop", "print(\"before\");\nwhile true { }\n"),
        (
            "timeout-recursion",
            "print(\"before\");\nfn fib(n) { if n < 2 { return n; } return fib(n - 1) + fib(n - 2); }\nprint(fib(100));\n",
        ),
    ];
    for (name, src) in cases {
        let start = Instant::now();
        let run = in_every_tier_with(name, src.as_bytes(), &["--timeout", "0.3"]);
        expect_runtime_error(&run, "timeout");
        assert_eq!(run.stdout_text(), "before\n", "output is flushed first");
        assert!(run.stderr.contains("  at "), "with a trace: {}", run.stderr);
        assert!(start.elapsed() < Duration::from_secs(20));
    }
    // A program that finishes in time is unaffected.
    let run = in_every_tier_with("timeout-ok", b"print(1);", &["--timeout", "30"]);
    assert_eq!(run.stdout_text(), "1\n");
}

/// Starts `toyc run ARGS PATH` with stdin an open pipe nobody writes to, so
/// `read_line` blocks; `signal` (if any) is sent after `delay`. Returns the
/// finished run.
fn run_waiting(args: &[&str], path: &PathBuf, signal: Option<i32>, delay: Duration) -> Run {
    let args: Vec<&str> = ["run"].iter().chain(args).copied().collect();
    let mut child = command(&args, path)
        .stdin(Stdio::piped())
        .spawn()
        .expect("spawn toyc");
    // Kept open (and silent) until the run ends, so `read_line` blocks.
    let _stdin = child.stdin.take();
    std::thread::sleep(delay);
    if let Some(sig) = signal {
        wait_for_sigint_handler(child.id());
        // SAFETY: kill(2) on our own child's pid has no memory effects.
        unsafe { libc::kill(child.id() as i32, sig) };
    }
    finish(child, &args, path)
}

/// Waits until process `pid` catches SIGINT (its `SigCgt` mask in
/// /proc/PID/status has bit 1 set), so a signal sent next cannot arrive
/// before toyc installed its handler, however slow the machine.
fn wait_for_sigint_handler(pid: u32) {
    let start = Instant::now();
    while start.elapsed() < HANG {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        let caught = status
            .lines()
            .find_map(|l| l.strip_prefix("SigCgt:"))
            .and_then(|mask| u64::from_str_radix(mask.trim(), 16).ok())
            .unwrap_or(0);
        if caught & (1 << (libc::SIGINT - 1)) != 0 {
            return;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn timeout_stops_a_program_waiting_for_input() {
    let path = scratch(
        "timeout-read-line",
        b"print(\"before\");\nprint(read_line());\n",
    );
    for tier in TIERS {
        let mut args = tier.to_vec();
        args.extend_from_slice(&["--timeout", "0.3"]);
        let run = run_waiting(&args, &path, None, Duration::ZERO);
        expect_runtime_error(&run, "timeout");
        assert_eq!(run.stdout_text(), "before\n", "{tier:?}");
    }
}

#[test]
fn ctrl_c_stops_toyc_run_and_keeps_the_output() {
    let cases = [
        (
            "ctrl-c-loop",
            "print(\"before\");\nlet i = 0;\nwhile true { i += 1; }\n",
        ),
        (
            "ctrl-c-recursion",
            "print(\"before\");\nfn fib(n) { if n < 2 { return n; } return fib(n - 1) + fib(n - 2); }\nprint(fib(100));\n",
        ),
        (
            "ctrl-c-read-line",
            "print(\"before\");\nprint(read_line());\n",
        ),
    ];
    for (name, src) in cases {
        let path = scratch(name, src.as_bytes());
        for tier in TIERS {
            let run = run_waiting(tier, &path, Some(libc::SIGINT), Duration::from_millis(300));
            expect_runtime_error(&run, "interrupted");
            assert_eq!(run.stdout_text(), "before\n", "{name} {tier:?}");
            assert!(run.stderr.contains("  at "), "with a trace: {}", run.stderr);
        }
    }
}

#[test]
fn max_heap_gives_out_of_memory() {
    let cases = [
        (
            "oom-push",
            "print(\"before\");\nlet a = [];\nwhile true { push(a, [1, 2, 3]); }\n",
        ),
        (
            "oom-string-doubling",
            "print(\"before\");\nlet s = \"ab\";\nwhile true { s = s + s; }\n",
        ),
        (
            "oom-map",
            "print(\"before\");\nlet m = {};\nlet i = 0;\nwhile true { m[i] = str(i); i += 1; }\n",
        ),
        (
            "oom-recursion",
            "print(\"before\");\nfn grow(a) { push(a, [a]); return grow(a) + 1; }\nprint(grow([]));\n",
        ),
    ];
    for (name, src) in cases {
        let run = in_every_tier_with(name, src.as_bytes(), &["--max-heap", "20000000"]);
        if name == "oom-recursion" {
            // Whichever limit comes first: both are clean errors.
            assert_eq!(run.code, Some(70), "{}", run.stderr);
            continue;
        }
        expect_runtime_error(&run, "out of memory");
        assert_eq!(run.stdout_text(), "before\n");
    }
    // Under the limit, nothing changes.
    let src = "let a = []; for i in 0..10000 { push(a, i); } print(len(a));";
    let run = in_every_tier_with("oom-ok", src.as_bytes(), &["--max-heap", "20000000"]);
    assert_eq!(run.stdout_text(), "10000\n");
}

#[test]
fn strings_too_large_for_memory_fail_cleanly() {
    // No --max-heap: straight-line doubling passes 2 GiB before any loop
    // back-edge, so the size check must catch it before allocating.
    let mut src = String::from("print(\"before\");\nlet s = \"ab\";\n");
    for _ in 0..40 {
        src.push_str("s = s + s;\n");
    }
    src.push_str("print(len(s));\n");
    let run = in_every_tier_with("huge-string", src.as_bytes(), &["--max-heap", "50000000"]);
    expect_runtime_error(&run, "out of memory");
    // An array holding one array twice, nested 64 deep, prints 2^64 items.
    let src =
        "let a = [1];\nfor i in 0..64 { a = [a, a]; }\nprint(\"before\");\nprint(len(str(a)));\n";
    let run = in_every_tier_with(
        "exponential-print",
        src.as_bytes(),
        &["--max-heap", "1000000"],
    );
    expect_runtime_error(&run, "out of memory");
    assert_eq!(run.stdout_text(), "before\n");
}

// ------------------------------------------------------------ crash reports

#[test]
fn a_fault_in_compiled_code_names_the_function() {
    let path = scratch(
        "crash-test",
        b"print(\"hi\");\nfn answer(x) { return x + 1; }\nprint(answer(41));\n",
    );
    for (kind, signal) in [("ill", "SIGILL"), ("segv", "SIGSEGV")] {
        let run = toyc(
            &["run", "--jit-threshold", "0"],
            &path,
            &[("TOYC_JIT_CRASH_TEST", kind)],
        );
        assert_eq!(run.code, Some(71), "stderr: {}", run.stderr);
        let line = run.first_stderr_line();
        assert!(
            line.starts_with(&format!("toyc: crash: {signal} in compiled code of '"))
                // Offset 0 or 1: `GET_LOCAL` x defers its push, so its
                // code is the `ADD_INT` that follows it.
                && (line.contains("at bytecode offset 0 (machine code +0x")
                    || line.contains("at bytecode offset 1 (machine code +0x")),
            "{line}"
        );
    }
    // Without frame pointers the report cannot name the callers, and says
    // how to get them.
    let run = toyc(
        &["run", "--jit-threshold", "0"],
        &path,
        &[("TOYC_JIT_CRASH_TEST", "segv")],
    );
    assert!(
        run.stderr.contains(
            "\ntoyc: crash:   (with --frame-pointers the report names the compiled callers)\n"
        ),
        "{}",
        run.stderr
    );
    // Without the JIT the hook does nothing.
    let run = toyc(
        &["run", "--no-jit"],
        &path,
        &[("TOYC_JIT_CRASH_TEST", "ill")],
    );
    assert_eq!(run.code, Some(0));
    assert_eq!(run.stdout_text(), "hi\n42\n");
}

#[test]
fn with_frame_pointers_a_crash_report_names_the_compiled_callers() {
    // `c` faults at bytecode offset 4 (`x + 1`), which only `a(1000)`
    // reaches: by then `<script>`, `a`, `b` and `c` are compiled and call
    // each other directly, so the frames between are all compiled ones.
    let path = scratch(
        "crash-callers",
        b"fn c(x) {\n    if x > 100 {\n        return x + 1;\n    }\n    return x;\n}\n\
          fn b(x) { return c(x) * 2; }\nfn a(x) { return b(x) - 1; }\n\
          print(a(1));\nprint(a(1));\nprint(a(1000));\n",
    );
    let run = toyc(
        &["run", "--jit-threshold", "0", "--frame-pointers"],
        &path,
        &[("TOYC_JIT_CRASH_TEST", "segv:c@4")],
    );
    assert_eq!(run.code, Some(71), "stderr: {}", run.stderr);
    // The machine code offsets vary with the templates; the rest may not.
    let lines: Vec<String> = run
        .stderr
        .lines()
        .map(|l| l.split(" (machine code +0x").next().unwrap().to_string())
        .collect();
    assert_eq!(
        lines,
        [
            "toyc: crash: SIGSEGV in compiled code of 'c' at bytecode offset 4",
            "toyc: crash:   called from 'b' at bytecode offset 2",
            "toyc: crash:   called from 'a' at bytecode offset 2",
            // The third `a(...)` call.
            "toyc: crash:   called from '<script>' at bytecode offset 21",
            "toyc: crash:   '<script>' was entered from Rust (the interpreter or a runtime helper)",
        ],
        "{}",
        run.stderr
    );

    // Deep recursion: the report stops after 32 callers. With threshold 5
    // the innermost 36 frames are compiled, entered from the interpreted
    // fifth call.
    let path = scratch(
        "crash-deep",
        b"fn f(n) {\n    if n == 0 {\n        return 1;\n    }\n    return f(n - 1) + 1;\n}\nprint(f(40));\n",
    );
    // Crashes `f` at its deepest call with the given threshold; returns how
    // many compiled callers the report names, and how it ends.
    let crash_deep = |threshold: &str| {
        let run = toyc(
            &["run", "--jit-threshold", threshold, "--frame-pointers"],
            &path,
            &[("TOYC_JIT_CRASH_TEST", "segv:f@3")],
        );
        assert_eq!(run.code, Some(71), "stderr: {}", run.stderr);
        let callers = run
            .stderr
            .matches("toyc: crash:   called from 'f' at bytecode offset 8 (")
            .count();
        let last = run.stderr.lines().last().unwrap_or_default().to_string();
        (callers, last)
    };
    assert_eq!(
        crash_deep("5"),
        (32, "toyc: crash:   ... (more callers)".to_string())
    );
    // Mixed tiers: with threshold 38 the 38th call (`f(3)`) is the first
    // to run compiled, so only the innermost four frames are compiled; the
    // walk ends at the one the interpreter entered.
    assert_eq!(
        crash_deep("38"),
        (
            3,
            "toyc: crash:   'f' was entered from Rust (the interpreter or a runtime helper)"
                .to_string()
        )
    );
}

// ------------------------------------------------- no executable memory

#[test]
fn refused_executable_memory_warns_once_and_interprets() {
    // Many functions, so a JIT that retried per function would warn again.
    let mut src = String::new();
    for i in 0..20 {
        src.push_str(&format!("fn f{i}(x) {{ return x + {i}; }}\n"));
    }
    src.push_str("let total = 0;\nfor i in 0..1000 {\n");
    for i in 0..20 {
        src.push_str(&format!("  total = total + f{i}(i);\n"));
    }
    src.push_str("}\nprint(total);\n");
    let path = scratch("deny-exec", src.as_bytes());
    let expected = toyc(&["run", "--no-jit"], &path, &[]);
    assert_eq!(expected.code, Some(0), "{}", expected.stderr);
    for threshold in ["0", "2"] {
        let run = toyc(
            &["run", "--jit-threshold", threshold],
            &path,
            &[("TOYC_JIT_DENY_EXEC", "1")],
        );
        assert_eq!(run.code, Some(0), "{}", run.stderr);
        assert_eq!(run.stdout, expected.stdout);
        let warnings: Vec<&str> = run.stderr.lines().collect();
        assert_eq!(warnings.len(), 1, "{}", run.stderr);
        assert!(
            warnings[0].contains("refused executable memory"),
            "{}",
            run.stderr
        );
    }
    let run = toyc(
        &["run", "--jit-stats"],
        &path,
        &[("TOYC_JIT_DENY_EXEC", "1")],
    );
    assert_eq!(run.stdout, expected.stdout);
    assert!(
        run.stderr
            .contains("jit: disabled: the system refused executable memory\n"),
        "{}",
        run.stderr
    );
}
