//! The file-driven conformance suite for Toy.
//!
//! Every `tests/lang/**/*.toy` file is a program whose expected behaviour is
//! written in comments inside it (the format is described in
//! `tests/README.md`). Each file is run once per execution mode, through the
//! real `toyc` binary, so the interpreter, the JIT and the garbage collector
//! are all held to the same expectations. Trials are named
//! `MODE::area/file.toy`, so `cargo test --test lang closures` runs only the
//! files whose path contains `closures`.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use libtest_mimic::{Arguments, Failed, Trial};

/// How long one program may run before it counts as hung
/// (`TOYC_TEST_TIMEOUT=SECONDS` overrides it, for slow wrappers).
const TIMEOUT: Duration = Duration::from_secs(20);

fn timeout() -> Duration {
    std::env::var("TOYC_TEST_TIMEOUT")
        .ok()
        .and_then(|s| s.parse().ok())
        .map_or(TIMEOUT, Duration::from_secs)
}

/// `TOYC_TEST_WRAPPER="valgrind --smc-check=all -q --error-exitcode=99"`
/// runs every program under that command (split at spaces). A wrapper's own
/// complaints then fail the trial: they change stderr or the exit code.
fn command() -> Command {
    let toyc = env!("CARGO_BIN_EXE_toyc");
    let wrapper = std::env::var("TOYC_TEST_WRAPPER").unwrap_or_default();
    let mut words = wrapper.split_whitespace();
    match words.next() {
        Some(program) => {
            let mut cmd = Command::new(program);
            cmd.args(words).arg(toyc);
            cmd
        }
        None => Command::new(toyc),
    }
}

/// The corpus directory, relative to the crate root.
const CORPUS: &str = "tests/lang";

/// One way of running a program: a trial name prefix, the `toyc run` flags,
/// and whether to turn on the garbage collector's stress mode.
struct Mode {
    name: &'static str,
    flags: &'static [&'static str],
    gc_stress: bool,
}

const MODES: &[Mode] = &[
    Mode {
        name: "interp",
        flags: &["--no-jit"],
        gc_stress: false,
    },
    Mode {
        name: "jit0",
        flags: &["--jit-threshold", "0"],
        gc_stress: false,
    },
    Mode {
        name: "jit2",
        flags: &["--jit-threshold", "2"],
        gc_stress: false,
    },
    Mode {
        name: "gcstress",
        flags: &["--jit-threshold", "2"],
        gc_stress: true,
    },
    // Compiled frames with frame pointers (what `--perf-map` turns on),
    // tiers mixed from the first call.
    Mode {
        name: "framepointers",
        flags: &["--frame-pointers", "--jit-threshold", "1"],
        gc_stress: false,
    },
];

/// What a test file expects, parsed from its comments.
#[derive(Debug, Default, PartialEq)]
struct Expectations {
    /// Expected stdout, one entry per line (without the newline).
    stdout: Vec<String>,
    /// Lines fed to the program's stdin.
    stdin: Vec<String>,
    /// The expected error, if the program must fail.
    error: Option<ExpectedError>,
    /// Expected stack trace as `(function name, line)`, innermost first.
    /// Empty means "not checked".
    trace: Vec<(String, u32)>,
}

#[derive(Debug, PartialEq)]
enum ExpectedError {
    /// `LINE:COL: MESSAGE` for each expected compile error, in source order.
    /// The first must be stderr's first line; the others must follow it.
    Compile(Vec<String>),
    /// The line and message of a runtime error.
    Runtime { line: u32, message: String },
}

/// What one run of `toyc` produced.
#[derive(Debug, Default)]
struct Outcome {
    stdout: String,
    stderr: String,
    /// `None` when the process was killed (by a signal or by the timeout).
    code: Option<i32>,
    timed_out: bool,
}

/// Exit codes fixed by the spec.
const EXIT_COMPILE: i32 = 65;
const EXIT_RUNTIME: i32 = 70;

/// Returns the text after `marker` on `line`, if the marker occurs there.
/// One space after the marker's colon is part of the marker.
fn after<'a>(line: &'a str, marker: &str) -> Option<&'a str> {
    let rest = &line[line.find(marker)? + marker.len()..];
    Some(rest.strip_prefix(' ').unwrap_or(rest))
}

/// Parses the expectation comments of a test file.
fn parse_expectations(source: &str) -> Result<Expectations, String> {
    let mut exp = Expectations::default();
    let mut compile_errors = Vec::new();
    for (index, raw) in source.lines().enumerate() {
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        let lineno = index + 1;
        let bad = |what: &str| format!("line {lineno}: malformed {what}: {line:?}");
        if let Some(text) = after(line, "// expect:").filter(|t| !t.is_empty()) {
            exp.stdout.push(text.to_string());
        } else if line.trim_end().ends_with("// expect:") {
            // `// expect:` with nothing after it: an empty line of output.
            exp.stdout.push(String::new());
        } else if let Some(text) = after(line, "// expect compile error:") {
            parse_compile_error(text).ok_or_else(|| bad("compile error"))?;
            compile_errors.push(text.to_string());
        } else if let Some(text) = after(line, "// expect runtime error:") {
            let (num, message) = text.split_once(": ").ok_or_else(|| bad("runtime error"))?;
            let line = num.parse().map_err(|_| bad("runtime error"))?;
            if exp.error.is_some() {
                return Err(bad("second runtime error"));
            }
            let message = message.to_string();
            exp.error = Some(ExpectedError::Runtime { line, message });
        } else if let Some(text) = after(line, "// expect trace:") {
            let (name, num) = text.rsplit_once(' ').ok_or_else(|| bad("trace"))?;
            let num = num.parse().map_err(|_| bad("trace"))?;
            exp.trace.push((name.to_string(), num));
        } else if let Some(text) = after(line, "// stdin:") {
            exp.stdin.push(text.to_string());
        } else if line.contains("// expect") {
            return Err(bad("expectation"));
        }
    }
    if !compile_errors.is_empty() {
        if exp.error.is_some() || !exp.stdout.is_empty() || !exp.trace.is_empty() {
            return Err("a compile error excludes output, runtime errors and traces".into());
        }
        exp.error = Some(ExpectedError::Compile(compile_errors));
    }
    if !exp.trace.is_empty() && exp.error.is_none() {
        return Err("a trace needs a runtime error".into());
    }
    Ok(exp)
}

/// Splits `LINE:COL: MESSAGE`, checking that both numbers are numbers.
fn parse_compile_error(text: &str) -> Option<(u32, u32, &str)> {
    let (line, rest) = text.split_once(':')?;
    let (col, message) = rest.split_once(": ")?;
    Some((line.parse().ok()?, col.parse().ok()?, message))
}

/// Compares an outcome with the expectations. `path` is the path that was
/// passed to `toyc` (and so appears in its messages). Returns a readable
/// report of every difference.
fn check(path: &str, exp: &Expectations, out: &Outcome) -> Result<(), String> {
    let mut problems = Vec::new();
    if out.timed_out {
        problems.push(format!("timed out after {} s", timeout().as_secs()));
    }
    let want_code = match exp.error {
        None => 0,
        Some(ExpectedError::Compile(_)) => EXIT_COMPILE,
        Some(ExpectedError::Runtime { .. }) => EXIT_RUNTIME,
    };
    if out.code != Some(want_code) {
        let got = out
            .code
            .map_or("none (killed)".to_string(), |c| c.to_string());
        problems.push(format!("exit code: expected {want_code}, got {got}"));
    }
    let want_stdout: String = exp.stdout.iter().map(|l| format!("{l}\n")).collect();
    if out.stdout != want_stdout {
        problems.push(format!(
            "stdout differs:\n{}",
            diff_lines(&want_stdout, &out.stdout)
        ));
    }
    let err_lines: Vec<&str> = out.stderr.lines().collect();
    let first = err_lines.first().copied().unwrap_or("");
    match &exp.error {
        None if !out.stderr.is_empty() => problems.push("expected empty stderr".into()),
        None => {}
        Some(ExpectedError::Compile(errors)) => {
            let want: Vec<String> = errors
                .iter()
                .map(|e| {
                    let (line, col, msg) = parse_compile_error(e).expect("checked when parsed");
                    format!("{path}:{line}:{col}: error: {msg}")
                })
                .collect();
            if first != want[0] {
                problems.push(format!(
                    "first stderr line:\n  expected: {}\n  actual:   {first}",
                    want[0]
                ));
            }
            let mut rest = err_lines.iter().skip(1);
            for w in &want[1..] {
                if !rest.any(|l| l == w) {
                    problems.push(format!("missing later compile error: {w}"));
                }
            }
        }
        Some(ExpectedError::Runtime { line, message }) => {
            let want = format!("{path}:{line}: runtime error: {message}");
            if first != want {
                problems.push(format!(
                    "first stderr line:\n  expected: {want}\n  actual:   {first}"
                ));
            }
            if !exp.trace.is_empty() {
                let want: Vec<String> = exp
                    .trace
                    .iter()
                    .map(|(name, line)| format!("  at {name} ({path}:{line})"))
                    .collect();
                let got: Vec<&str> = err_lines
                    .iter()
                    .skip(1)
                    .copied()
                    .filter(|l| l.starts_with("  at "))
                    .collect();
                if got != want {
                    problems.push(format!(
                        "stack trace differs:\n  expected:\n{}\n  actual:\n{}",
                        want.join("\n"),
                        got.join("\n")
                    ));
                }
            }
        }
    }
    if problems.is_empty() {
        return Ok(());
    }
    if !out.stderr.is_empty() {
        problems.push(format!("full stderr:\n{}", out.stderr));
    }
    Err(problems.join("\n"))
}

/// A line-by-line comparison showing the first difference in context.
fn diff_lines(want: &str, got: &str) -> String {
    let want: Vec<&str> = want.lines().collect();
    let got: Vec<&str> = got.lines().collect();
    let mut report = String::new();
    for i in 0..want.len().max(got.len()) {
        let (w, g) = (want.get(i), got.get(i));
        let mark = if w == g { ' ' } else { '!' };
        let show = |s: Option<&&str>| s.map_or("<missing>".to_string(), |s| format!("{s:?}"));
        report += &format!("{mark} {:>4} expected {}\n", i + 1, show(w));
        if w != g {
            report += &format!("{mark} {:>4} actual   {}\n", i + 1, show(g));
        }
    }
    report
}

/// Runs `toyc run FLAGS PATH` from the crate root, feeding `stdin`, and
/// kills it if it outlives [`timeout`].
fn run_toyc(mode: &Mode, path: &str, stdin: &[String]) -> Result<Outcome, String> {
    let mut cmd = command();
    cmd.arg("run")
        .args(mode.flags)
        .arg(path)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if mode.gc_stress {
        cmd.env("TOYC_GC_STRESS", "1");
    }
    let mut child = cmd.spawn().map_err(|e| format!("cannot start toyc: {e}"))?;
    let input: String = stdin.iter().map(|l| format!("{l}\n")).collect();
    let mut pipe_in = child.stdin.take().expect("piped");
    // Separate threads so that a program that does not read its input, or
    // that prints a lot, cannot block the runner.
    let writer = thread::spawn(move || {
        let _ = pipe_in.write_all(input.as_bytes());
    });
    let stdout = read_all(child.stdout.take().expect("piped"));
    let stderr = read_all(child.stderr.take().expect("piped"));
    let (start, limit) = (Instant::now(), timeout());
    let mut timed_out = false;
    let status = loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            break status;
        }
        if start.elapsed() > limit {
            timed_out = true;
            let _ = child.kill();
            break child.wait().map_err(|e| e.to_string())?;
        }
        thread::sleep(Duration::from_millis(5));
    };
    let _ = writer.join();
    Ok(Outcome {
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
        code: status.code(),
        timed_out,
    })
}

fn read_all(mut pipe: impl Read + Send + 'static) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

/// Every `.toy` file under `dir`, sorted, as paths relative to the crate root.
fn discover(dir: &Path, found: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            discover(&path, found);
        } else if path.extension().is_some_and(|e| e == "toy") {
            found.push(path);
        }
    }
}

/// One trial: parse the file, run it in `mode`, compare.
fn run_file(mode: &'static Mode, path: String) -> Result<(), Failed> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let source = std::fs::read_to_string(root.join(&path)).map_err(|e| e.to_string())?;
    let exp = parse_expectations(&source).map_err(|e| format!("{path}: {e}"))?;
    let out = run_toyc(mode, &path, &exp.stdin)?;
    check(&path, &exp, &out).map_err(Failed::from)
}

/// Checks of the runner itself, run as ordinary trials: a suite whose
/// comparison accepted everything would pass vacuously.
fn self_tests() -> Vec<Trial> {
    vec![
        Trial::test("selftest::parse", || {
            selftest_parse();
            Ok(())
        }),
        Trial::test("selftest::detects_mismatch", || {
            selftest_mismatch();
            Ok(())
        }),
    ]
}

fn selftest_parse() {
    let src = "print(1); // expect: 1\nprint(); // expect:\n// stdin: hi\n\
               f(); // expect runtime error: 4: boom\n// expect trace: f 9\n\
               // expect trace: <script> 4\n";
    let exp = parse_expectations(src).unwrap();
    assert_eq!(exp.stdout, ["1", ""]);
    assert_eq!(exp.stdin, ["hi"]);
    let runtime = ExpectedError::Runtime {
        line: 4,
        message: "boom".into(),
    };
    assert_eq!(exp.error, Some(runtime));
    assert_eq!(exp.trace, [("f".into(), 9), ("<script>".into(), 4)]);

    let src = "x; // expect compile error: 1:1: undefined variable 'x'\n\
               y; // expect compile error: 2:1: undefined variable 'y'\n";
    let exp = parse_expectations(src).unwrap();
    let errors = vec![
        "1:1: undefined variable 'x'".to_string(),
        "2:1: undefined variable 'y'".to_string(),
    ];
    assert_eq!(exp.error, Some(ExpectedError::Compile(errors)));

    // Typos in markers must not be silently ignored.
    assert!(parse_expectations("// expect runtime error 3: x\n").is_err());
    assert!(parse_expectations("// expect compile error: 3: x\n").is_err());
    assert!(parse_expectations("// expect trace: f 1\n").is_err());
}

fn selftest_mismatch() {
    let exp = parse_expectations("print(1); // expect: 1\n").unwrap();
    let good = Outcome {
        stdout: "1\n".into(),
        code: Some(0),
        ..Outcome::default()
    };
    assert!(check("t.toy", &exp, &good).is_ok());
    let wrong_text = Outcome {
        stdout: "2\n".into(),
        ..good
    };
    assert!(check("t.toy", &exp, &wrong_text).is_err());
    let extra_line = Outcome {
        stdout: "1\n1\n".into(),
        code: Some(0),
        ..Outcome::default()
    };
    assert!(check("t.toy", &exp, &extra_line).is_err());
    let bad_exit = Outcome {
        stdout: "1\n".into(),
        code: Some(70),
        ..Outcome::default()
    };
    assert!(check("t.toy", &exp, &bad_exit).is_err());
    let noisy = Outcome {
        stdout: "1\n".into(),
        stderr: "warning\n".into(),
        code: Some(0),
        ..Outcome::default()
    };
    assert!(check("t.toy", &exp, &noisy).is_err());

    let src = "print(1); // expect: 1\nerror(\"x\"); // expect runtime error: 2: x\n\
               // expect trace: <script> 2\n";
    let exp = parse_expectations(src).unwrap();
    let ok = Outcome {
        stdout: "1\n".into(),
        stderr: "t.toy:2: runtime error: x\n  at <script> (t.toy:2)\n".into(),
        code: Some(70),
        timed_out: false,
    };
    assert!(check("t.toy", &exp, &ok).is_ok());
    let wrong_trace = Outcome {
        stderr: "t.toy:2: runtime error: x\n  at <script> (t.toy:3)\n".into(),
        stdout: "1\n".into(),
        code: Some(70),
        timed_out: false,
    };
    assert!(check("t.toy", &exp, &wrong_trace).is_err());
    let wrong_path = Outcome {
        stderr: "other.toy:2: runtime error: x\n  at <script> (other.toy:2)\n".into(),
        stdout: "1\n".into(),
        code: Some(70),
        timed_out: false,
    };
    assert!(check("t.toy", &exp, &wrong_path).is_err());
    let hung = Outcome {
        timed_out: true,
        ..ok
    };
    assert!(check("t.toy", &exp, &hung).is_err());

    let exp =
        parse_expectations("x; // expect compile error: 1:1: undefined variable 'x'\n").unwrap();
    let wrong_col = Outcome {
        stderr: "t.toy:1:2: error: undefined variable 'x'\n".into(),
        code: Some(65),
        ..Outcome::default()
    };
    assert!(check("t.toy", &exp, &wrong_col).is_err());
}

fn main() {
    let args = Arguments::from_args();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    discover(&root.join(CORPUS), &mut files);
    files.sort();
    let mut trials = self_tests();
    for mode in MODES {
        for file in &files {
            let rel = file.strip_prefix(root).expect("under the crate root");
            let path = rel.to_string_lossy().replace('\\', "/");
            let short = path.trim_start_matches(CORPUS).trim_start_matches('/');
            let name = format!("{}::{short}", mode.name);
            trials.push(Trial::test(name, move || run_file(mode, path)));
        }
    }
    libtest_mimic::run(&args, trials).exit();
}
