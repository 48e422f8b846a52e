//! Differential testing: random programs must behave identically in every
//! execution mode.
//!
//! `random_programs_agree_in_every_mode` generates programs with
//! `support/progen.rs` and runs each through the real `toyc` binary in the
//! interpreter, with every function compiled before it runs, with a JIT
//! threshold of 1 (tier-up at calls and on-stack replacement in loops), and
//! with the garbage collector's stress mode (a collection at every
//! allocation) at JIT thresholds 3 and 0. Stdout, stderr (a runtime error's
//! message and its whole stack trace) and the exit code must be the same in
//! all five. On a divergence the program is saved to
//! `<target dir>/differential-failures/seed-N.toy`, shrunk by deleting
//! statements while the divergence persists (`seed-N.min.toy`), and the seed
//! and outputs are printed.
//!
//! Environment variables:
//! - `TOYC_DIFF_COUNT`: how many programs (default 300).
//! - `TOYC_DIFF_SEED`: the first seed (default 1); seeds run consecutively.
//! - `TOYC_DIFF_JOBS`: parallel workers (default: the number of cores, at
//!   most 8).
//! - `TOYC_DIFF_BIN`: the `toyc` binary to test (default: the one Cargo
//!   built), e.g. a copy that a rebuild cannot replace during a long run.
//!
//! A long run (see docs/testing.md):
//!
//! ```sh
//! TOYC_DIFF_COUNT=100000 TOYC_DIFF_SEED=1000000 \
//!     cargo test --release --test differential -- --nocapture
//! ```
//!
//! `toyc_check_survives_garbage` feeds random bytes, random token soup and
//! mangled generated programs to `toyc check`, which must answer 0 or 65
//! without panicking, crashing or hanging.
//!
//! Run with `-- --nocapture` to see the statistics of the generated programs.

#[path = "support/progen.rs"]
mod progen;

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use progen::{Node, Rng};

/// How long one run may take before it counts as hung.
const TIMEOUT: Duration = Duration::from_secs(20);

/// Stop generating after this many divergent programs.
const MAX_FAILURES: usize = 3;

/// One way of running a program: a name, `toyc run` flags, GC stress.
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
        name: "jit1",
        flags: &["--jit-threshold", "1"],
        gc_stress: false,
    },
    Mode {
        name: "gcstress-jit3",
        flags: &["--jit-threshold", "3"],
        gc_stress: true,
    },
    Mode {
        name: "gcstress-jit0",
        flags: &["--jit-threshold", "0"],
        gc_stress: true,
    },
    Mode {
        name: "framepointers-jit1",
        flags: &["--frame-pointers", "--jit-threshold", "1"],
        gc_stress: false,
    },
];

/// The observable behaviour of one run.
#[derive(Clone, Debug, PartialEq)]
struct Outcome {
    stdout: Vec<u8>,
    first_stderr_line: String,
    /// The whole of stderr: runtime errors' stack traces must agree too.
    stderr: String,
    /// `None` when killed by a signal or by the timeout.
    code: Option<i32>,
    timed_out: bool,
}

impl Outcome {
    /// Exit codes `toyc` may legitimately end with.
    /// (A panic also exits with 70, so its message is checked too.)
    fn is_orderly(&self) -> bool {
        matches!(self.code, Some(0 | 65 | 70))
            && !self.timed_out
            && !self.first_stderr_line.contains("panicked")
    }
}

/// Runs `toyc ARGS` with empty stdin, killing it after `TIMEOUT`.
fn run_toyc(args: &[&str], path: &Path, gc_stress: bool) -> Outcome {
    let bin =
        std::env::var_os("TOYC_DIFF_BIN").unwrap_or_else(|| env!("CARGO_BIN_EXE_toyc").into());
    let mut cmd = Command::new(bin);
    cmd.args(args)
        .arg(path)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if gc_stress {
        cmd.env("TOYC_GC_STRESS", "1");
    } else {
        cmd.env_remove("TOYC_GC_STRESS");
    }
    let mut child = cmd.spawn().expect("spawn toyc");
    // Drain both pipes on threads so a chatty program cannot block on a full pipe.
    let mut out_pipe = child.stdout.take().expect("stdout");
    let mut err_pipe = child.stderr.take().expect("stderr");
    let out_thread = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = out_pipe.read_to_end(&mut buf);
        buf
    });
    let err_thread = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = err_pipe.read_to_end(&mut buf);
        buf
    });
    let start = Instant::now();
    let mut timed_out = false;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for toyc") {
            break status;
        }
        if start.elapsed() > TIMEOUT {
            let _ = child.kill();
            timed_out = true;
            break child.wait().expect("wait for killed toyc");
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    let stdout = out_thread.join().expect("stdout reader");
    let stderr = err_thread.join().expect("stderr reader");
    let stderr = String::from_utf8_lossy(&stderr).into_owned();
    let first_stderr_line = stderr.lines().next().unwrap_or("").to_string();
    Outcome {
        stdout,
        first_stderr_line,
        stderr,
        code: status.code(),
        timed_out,
    }
}

fn run_all_modes(path: &Path) -> Vec<Outcome> {
    MODES
        .iter()
        .map(|m| {
            let mut args = vec!["run"];
            args.extend_from_slice(m.flags);
            run_toyc(&args, path, m.gc_stress)
        })
        .collect()
}

/// What is wrong with a set of outcomes, if anything.
fn verdict(outcomes: &[Outcome]) -> Option<String> {
    if let Some((i, o)) = outcomes.iter().enumerate().find(|(_, o)| !o.is_orderly()) {
        return Some(format!(
            "{}: crashed, hung or bad exit code {:?}",
            MODES[i].name, o.code
        ));
    }
    if let Some(i) = (1..outcomes.len()).find(|&i| outcomes[i] != outcomes[0]) {
        return Some(format!("{} and {} disagree", MODES[0].name, MODES[i].name));
    }
    if outcomes[0].code == Some(65) {
        return Some("the generator produced a program that does not compile".into());
    }
    None
}

/// Whether the outcomes show a tier bug (as opposed to a generator bug).
fn diverges(outcomes: &[Outcome]) -> bool {
    outcomes.iter().any(|o| !o.is_orderly()) || outcomes.iter().any(|o| *o != outcomes[0])
}

/// The target directory (`target/` unless `CARGO_TARGET_DIR` moves it).
fn target_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("the tmp dir lives in the target dir")
        .to_path_buf()
}

fn env_u64(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(v) => v
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name} must be a number, not {v:?}")),
        Err(_) => default,
    }
}

/// Deletes statements one at a time while the divergence persists.
fn shrink(nodes: Vec<Node>, scratch: &Path) -> Vec<Node> {
    let mut best = nodes;
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut progress = true;
    while progress && Instant::now() < deadline {
        progress = false;
        let mut i = 0;
        while i < progen::count_nodes(&best) && Instant::now() < deadline {
            let candidate = progen::remove_node(&best, i);
            std::fs::write(scratch, progen::render(&candidate)).expect("write scratch");
            if diverges(&run_all_modes(scratch)) {
                best = candidate;
                progress = true;
            } else {
                i += 1;
            }
        }
    }
    best
}

fn describe(outcomes: &[Outcome]) -> String {
    let mut text = String::new();
    for (mode, o) in MODES.iter().zip(outcomes) {
        let stdout = String::from_utf8_lossy(&o.stdout);
        let lines: Vec<&str> = stdout.lines().collect();
        let tail = lines[lines.len().saturating_sub(15)..].join("\n");
        text += &format!(
            "--- {} (exit {:?}{}): stderr: {}\n{} stdout lines, last ones:\n{tail}\n",
            mode.name,
            o.code,
            if o.timed_out { ", timed out" } else { "" },
            o.first_stderr_line,
            lines.len(),
        );
    }
    text
}

/// The message of a runtime error line without the file and line number.
fn error_kind(line: &str) -> String {
    let message = line.split("runtime error: ").nth(1).unwrap_or(line);
    // Group messages that differ only in numbers or quoted values.
    let mut out = String::new();
    for word in message.split(' ') {
        let word = if word.chars().any(|c| c.is_ascii_digit()) || word.contains('"') {
            "N"
        } else {
            word
        };
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

#[derive(Default)]
struct Stats {
    programs: u64,
    runtime_errors: u64,
    stdout_lines: u64,
    max_stdout_lines: u64,
    source_lines: u64,
    errors: BTreeMap<String, u64>,
    features: BTreeMap<&'static str, u64>,
    failures: Vec<String>,
}

impl Stats {
    fn report(&self) -> String {
        let n = self.programs.max(1) as f64;
        let mut text = format!(
            "{} programs: {} ended in a runtime error ({:.0}%), {} exited 0\n\
             average {:.1} source lines, {:.1} printed lines (max {})\n",
            self.programs,
            self.runtime_errors,
            100.0 * self.runtime_errors as f64 / n,
            self.programs - self.runtime_errors,
            self.source_lines as f64 / n,
            self.stdout_lines as f64 / n,
            self.max_stdout_lines,
        );
        text += "runtime errors:\n";
        let mut errors: Vec<_> = self.errors.iter().collect();
        errors.sort_by(|a, b| b.1.cmp(a.1));
        for (message, count) in errors {
            text += &format!("  {count:5}  {message}\n");
        }
        text += "programs using each feature:\n";
        for (feature, count) in &self.features {
            text += &format!("  {:5.1}%  {feature}\n", 100.0 * *count as f64 / n);
        }
        text
    }
}

/// Generates, runs and compares one program; records what happened.
fn check_seed(seed: u64, scratch: &Path, stats: &Mutex<Stats>) {
    let program = progen::generate(seed);
    let source = program.source();
    std::fs::write(scratch, &source).expect("write program");
    let outcomes = run_all_modes(scratch);
    let problem = verdict(&outcomes);
    {
        let mut s = stats.lock().unwrap();
        s.programs += 1;
        s.source_lines += source.lines().count() as u64;
        let lines = outcomes[0].stdout.iter().filter(|&&b| b == b'\n').count() as u64;
        s.stdout_lines += lines;
        s.max_stdout_lines = s.max_stdout_lines.max(lines);
        if outcomes[0].code == Some(70) {
            s.runtime_errors += 1;
            *s.errors
                .entry(error_kind(&outcomes[0].first_stderr_line))
                .or_default() += 1;
        }
        for f in &program.features {
            *s.features.entry(f).or_default() += 1;
        }
    }
    let Some(problem) = problem else { return };
    let dir = target_dir().join("differential-failures");
    std::fs::create_dir_all(&dir).expect("create failure dir");
    let saved = dir.join(format!("seed-{seed}.toy"));
    std::fs::write(&saved, &source).expect("save failing program");
    let mut report = format!(
        "seed {seed}: {problem}\nprogram: {}\n{}",
        saved.display(),
        describe(&outcomes)
    );
    if diverges(&outcomes) {
        let small = shrink(program.nodes, scratch);
        let min = dir.join(format!("seed-{seed}.min.toy"));
        std::fs::write(&min, progen::render(&small)).expect("save shrunk program");
        report += &format!(
            "shrunk to {} statements: {}\n{}",
            progen::count_nodes(&small),
            min.display(),
            describe(&run_all_modes(&min))
        );
    }
    eprintln!("{report}");
    stats.lock().unwrap().failures.push(report);
}

#[test]
fn random_programs_agree_in_every_mode() {
    let count = env_u64("TOYC_DIFF_COUNT", 300);
    let first = env_u64("TOYC_DIFF_SEED", 1);
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get().min(8)) as u64;
    let workers = env_u64("TOYC_DIFF_JOBS", cores).max(1);
    let scratch_dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("differential");
    std::fs::create_dir_all(&scratch_dir).expect("create scratch dir");
    let next = AtomicU64::new(first);
    let stats = Mutex::new(Stats::default());
    let started = Instant::now();
    std::thread::scope(|scope| {
        for w in 0..workers {
            let (next, stats) = (&next, &stats);
            // The process id keeps concurrent runs (a long run in the
            // background, a quick one in the foreground) apart.
            let pid = std::process::id();
            let scratch = scratch_dir.join(format!("worker-{pid}-{w}.toy"));
            scope.spawn(move || {
                loop {
                    let seed = next.fetch_add(1, Ordering::Relaxed);
                    if seed >= first + count || stats.lock().unwrap().failures.len() >= MAX_FAILURES
                    {
                        break;
                    }
                    check_seed(seed, &scratch, stats);
                    let done = seed + 1 - first;
                    if done.is_multiple_of(1000) {
                        // Progress for long runs (`--nocapture` shows it).
                        let secs = started.elapsed().as_secs_f64();
                        let failed = stats.lock().unwrap().failures.len();
                        eprintln!(
                            "progress: about {done} programs in {secs:.0}s, {failed} divergent"
                        );
                    }
                }
            });
        }
    });
    let stats = stats.into_inner().unwrap();
    eprintln!(
        "seeds {first}..{} in {:.1}s\n{}",
        first + count,
        started.elapsed().as_secs_f64(),
        stats.report()
    );
    assert!(
        stats.failures.is_empty(),
        "{} divergent program(s):\n{}",
        stats.failures.len(),
        stats.failures.join("\n")
    );
}

// ------------------------------------------------------ `toyc check` smoke

/// Pieces of Toy source, valid and not, for token soup.
const TOKENS: &[&str] = &[
    "fn",
    "let",
    "if",
    "else",
    "while",
    "for",
    "in",
    "return",
    "break",
    "continue",
    "true",
    "false",
    "nil",
    "and",
    "or",
    "not",
    "x",
    "y",
    "f",
    "len",
    "print",
    "_a1",
    "0",
    "1",
    "42",
    "0xFF",
    "0x",
    "1_000",
    "1_",
    "9223372036854775807",
    "9223372036854775808",
    "99999999999999999999",
    "1.5",
    "1e9",
    "1e",
    "2.5e-3",
    "1.",
    ".5",
    "\"s\"",
    "\"\\n\"",
    "\"\\q\"",
    "\"\\u{1F600}\"",
    "\"\\u{110000}\"",
    "\"open",
    "'",
    "+",
    "-",
    "*",
    "/",
    "%",
    "&",
    "|",
    "^",
    "~",
    "<<",
    ">>",
    "==",
    "!=",
    "<",
    "<=",
    ">",
    ">=",
    "=",
    "+=",
    "-=",
    "*=",
    "/=",
    "%=",
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    ",",
    ";",
    ":",
    ".",
    "..",
    "!",
    "$",
    "@",
    "#",
    "//c\n",
    "/* c */",
    "/*",
    "*/",
    "\n",
    "\t",
    " ",
    "é",
    "\u{0}",
];

fn token_soup(rng: &mut Rng) -> Vec<u8> {
    let mut out = String::new();
    let n = rng.below(200);
    for _ in 0..n {
        if rng.chance(2) {
            // A long run of one opener: exercises the nesting limits.
            let t = rng.pick(&["(", "[", "{", "-", "not ", "fn(){", "a.", "x+"]);
            out.push_str(&t.repeat(1 + rng.below(3000)));
        } else {
            out.push_str(rng.pick(TOKENS));
            if rng.chance(60) {
                out.push(' ');
            }
        }
    }
    out.into_bytes()
}

fn random_bytes(rng: &mut Rng) -> Vec<u8> {
    let n = rng.below(1000);
    (0..n).map(|_| rng.next_u64() as u8).collect()
}

/// A generated program with a few bytes deleted, duplicated or replaced.
fn mangled_program(rng: &mut Rng) -> Vec<u8> {
    let mut bytes = progen::generate(rng.next_u64()).source().into_bytes();
    for _ in 0..1 + rng.below(4) {
        if bytes.is_empty() {
            break;
        }
        let at = rng.below(bytes.len());
        match rng.below(3) {
            0 => {
                bytes.remove(at);
            }
            1 => bytes.insert(at, bytes[at]),
            _ => bytes[at] = rng.pick(b"(){}[];,.=+-\"/*"),
        }
    }
    bytes
}

#[test]
fn toyc_check_survives_garbage() {
    let count = env_u64("TOYC_DIFF_COUNT", 300) / 3;
    let mut rng = Rng::new(env_u64("TOYC_DIFF_SEED", 1));
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("check-smoke");
    std::fs::create_dir_all(&dir).expect("create scratch dir");
    let scratch = dir.join(format!("input-{}.toy", std::process::id()));
    let mut failures = Vec::new();
    let mut codes: BTreeMap<Option<i32>, u64> = BTreeMap::new();
    for i in 0..count * 3 {
        let (kind, input) = match i % 3 {
            0 => ("random bytes", random_bytes(&mut rng)),
            1 => ("token soup", token_soup(&mut rng)),
            _ => ("mangled program", mangled_program(&mut rng)),
        };
        std::fs::write(&scratch, &input).expect("write input");
        let out = run_toyc(&["check"], &scratch, false);
        *codes.entry(out.code).or_default() += 1;
        if !matches!(out.code, Some(0 | 65)) || !out.is_orderly() {
            let dir = target_dir().join("differential-failures");
            std::fs::create_dir_all(&dir).expect("create failure dir");
            let saved = dir.join(format!("check-{i}.toy"));
            std::fs::write(&saved, &input).expect("save input");
            failures.push(format!(
                "{kind} {}: exit {:?}{}, stderr: {}",
                saved.display(),
                out.code,
                if out.timed_out { " (timed out)" } else { "" },
                out.first_stderr_line
            ));
        }
    }
    eprintln!("toyc check exit codes: {codes:?}");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
