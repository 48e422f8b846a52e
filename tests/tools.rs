//! Drives the real `toyc` binary's JIT tools: `--dump-asm`, `disasm --asm`,
//! `--perf-map`, `--trace-jit`, `bench --sweep-threshold`, the REPL's
//! commands through a pipe, and the interactive REPL (Ctrl-C, Ctrl-D,
//! history) through a pseudo-terminal.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const TOYC: &str = env!("CARGO_BIN_EXE_toyc");

fn toyc(args: &[&str]) -> Output {
    Command::new(TOYC)
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::null())
        .output()
        .expect("start toyc")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A fresh scratch directory for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("toyc-tools-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create scratch dir");
    dir
}

fn write_program(dir: &Path, src: &str) -> String {
    let path = dir.join("p.toy");
    std::fs::write(&path, src).expect("write program");
    path.to_str().unwrap().to_string()
}

/// The bytecode lines `toyc disasm` prints for `fn name`.
fn bytecode_lines(file: &str, name: &str) -> Vec<String> {
    let out = text(&toyc(&["disasm", file]).stdout);
    let header = format!("== fn {name} (");
    out.lines()
        .skip_while(|l| !l.starts_with(&header))
        .skip(1)
        .take_while(|l| !l.is_empty())
        .filter(|l| l.as_bytes().first().is_some_and(u8::is_ascii_digit))
        .map(str::to_string)
        .collect()
}

#[test]
fn dump_asm_shows_each_bytecode_with_its_code_and_helper_names() {
    let out = toyc(&[
        "run",
        "--dump-asm",
        "--jit-threshold",
        "0",
        "lang-examples/fib.toy",
    ]);
    assert!(out.status.success());
    let expected = std::fs::read_to_string("lang-examples/fib.out").unwrap();
    assert_eq!(text(&out.stdout), expected, "program output stays clean");
    let err = text(&out.stderr);
    assert!(
        err.contains("== machine code for fn fib (15 bytecode instructions, "),
        "{err}"
    );
    assert!(err.contains("== machine code for <script> ("), "{err}");
    // Every bytecode line of `fib`, as `toyc disasm` prints it, heads its code.
    let lines = bytecode_lines("lang-examples/fib.toy", "fib");
    assert!(lines.len() >= 10, "{lines:?}");
    for line in &lines {
        assert!(
            err.contains(&format!("; {line}")),
            "missing '{line}' in\n{err}"
        );
    }
    // Helper calls show the helper's name, not its address.
    assert!(err.contains("mov     rax,jit_call"), "{err}");
    assert!(err.contains("call    rax"), "{err}");
    // An instruction line: offset, bytes, Intel syntax.
    assert!(
        err.contains("  0000  55                      push    rbp"),
        "{err}"
    );
    // `fib(n)` uses `n` as a number: a second body assumes it is an int,
    // and the listing shows both bodies' code for each instruction.
    assert!(
        err.contains("; specialized body, for ints in parameter slots 1 "),
        "{err}"
    );
    for line in &lines {
        let head = format!("; {line}");
        let fused = format!("{head}   (fused into the code above)");
        let heads = (err.lines()).filter(|l| *l == head || *l == fused).count();
        assert_eq!(heads, 2, "'{line}' should head the code of both bodies");
    }
}

#[test]
fn jit_stats_mark_specialized_bodies() {
    let out = toyc(&[
        "run",
        "--jit-stats",
        "--jit-threshold",
        "0",
        "lang-examples/fib.toy",
    ]);
    assert!(out.status.success());
    let err = text(&out.stderr);
    let fib = err
        .lines()
        .find(|l| l.starts_with("jit:   fib: "))
        .expect("a line for fib");
    assert!(
        fib.contains(" bytes (two bodies: one for int parameters), "),
        "{err}"
    );
    let script = (err.lines())
        .find(|l| l.starts_with("jit:   <script>: "))
        .expect("a line for the script");
    assert!(!script.contains("two bodies"), "{err}");
}

#[test]
fn disasm_asm_compiles_every_function_without_running() {
    let out = toyc(&["disasm", "--asm", "lang-examples/fib.toy"]);
    assert!(out.status.success());
    let listing = text(&out.stdout);
    let bytecode = text(&toyc(&["disasm", "lang-examples/fib.toy"]).stdout);
    assert!(listing.starts_with(&bytecode), "bytecode comes first");
    for name in ["<script>", "fn fib", "fn fib_loop"] {
        assert!(
            listing.contains(&format!("== machine code for {name} (")),
            "{name} missing:\n{listing}"
        );
    }
    assert!(!listing.contains("75025"), "the program must not run");
    assert!(listing.contains("; 0000    6  GET_LOCAL         slot=1"));
}

#[test]
fn perf_map_names_compiled_functions() {
    let child = Command::new(TOYC)
        .args(["run", "--perf-map", "lang-examples/fib.toy"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(Stdio::null())
        .spawn()
        .expect("start toyc");
    let pid = child.id();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let path = format!("/tmp/perf-{pid}.map");
    let map = std::fs::read_to_string(&path).expect("perf map written");
    let _ = std::fs::remove_file(&path);
    let mut names = Vec::new();
    for line in map.lines() {
        let parts: Vec<&str> = line.splitn(3, ' ').collect();
        assert_eq!(parts.len(), 3, "{line}");
        let start = u64::from_str_radix(parts[0], 16).expect("hex start");
        let size = u64::from_str_radix(parts[1], 16).expect("hex size");
        assert!(start > 0 && size > 0, "{line}");
        names.push(parts[2].to_string());
    }
    assert!(names.contains(&"toy:fib".to_string()), "{map}");
    assert!(names.contains(&"toy:fib_loop".to_string()), "{map}");
}

#[test]
fn trace_jit_reports_call_and_osr_tier_ups() {
    let dir = scratch("trace");
    let file = write_program(
        &dir,
        "fn f(x) { return x + 1; }\nlet s = 0;\nfor i in 0..50 { s = f(s); }\nprint(s);\n",
    );
    let out = toyc(&["run", "--trace-jit", "--jit-threshold", "10", &file]);
    assert!(out.status.success());
    assert_eq!(text(&out.stdout), "50\n");
    let err = text(&out.stderr);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 2, "{err}");
    assert!(
        lines[0].starts_with("jit: compiled f (call count, counter 10) in "),
        "{err}"
    );
    assert!(
        lines[1].starts_with("jit: compiled <script> (OSR at loop header pc "),
        "{err}"
    );
    assert!(lines[1].contains(", counter 10) in "), "{err}");
    for line in lines {
        assert!(line.contains(" µs, ") && line.ends_with(" bytes"), "{line}");
    }
    // With a code cache too small for any function, every compile fails
    // and the program still runs in the interpreter.
    let tiny_cache = |switch: &str| {
        toyc(&[
            "run",
            switch,
            "--jit-threshold",
            "10",
            "--jit-code-limit",
            "16",
            &file,
        ])
    };
    // A compile that fails is traced too.
    let out = tiny_cache("--trace-jit");
    assert!(out.status.success());
    assert_eq!(text(&out.stdout), "50\n");
    let err = text(&out.stderr);
    assert!(
        err.contains("jit: could not compile f (call count, counter 10): JIT code cache is full"),
        "{err}"
    );
    // `--jit-stats` names what stayed interpreted, and why.
    let out = tiny_cache("--jit-stats");
    assert!(out.status.success());
    assert_eq!(text(&out.stdout), "50\n");
    let err = text(&out.stderr);
    assert!(err.contains("jit: functions compiled: 0\n"), "{err}");
    assert!(
        err.contains("jit: functions left interpreted: 2\n"),
        "{err}"
    );
    assert!(
        err.contains("jit:   f: left interpreted: JIT code cache is full\n"),
        "{err}"
    );
    assert!(
        err.contains("jit:   <script>: left interpreted: JIT code cache is full\n"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn threshold_sweep_writes_table_csv_and_svg() {
    let dir = scratch("sweep");
    let file = write_program(
        &dir,
        "fn f(x) { return x + 1; }\nlet s = 0;\nfor i in 0..2000 { s = f(s); }\nprint(s);\n",
    );
    let csv = dir.join("sweep.csv");
    let svg = dir.join("sweep.svg");
    let out = toyc(&[
        "bench",
        "--sweep-threshold",
        "0,10,never",
        "--runs",
        "2",
        "--csv",
        csv.to_str().unwrap(),
        "--svg",
        svg.to_str().unwrap(),
        &file,
    ]);
    let table = text(&out.stdout);
    assert!(out.status.success(), "{table}{}", text(&out.stderr));
    assert!(table.starts_with("threshold  "), "{table}");
    let csv = std::fs::read_to_string(csv).expect("csv written");
    let rows: Vec<Vec<&str>> = csv.lines().map(|l| l.split(',').collect()).collect();
    assert_eq!(
        rows[0],
        [
            "threshold",
            "median_ms",
            "min_ms",
            "max_ms",
            "compile_ms",
            "functions_compiled"
        ]
    );
    assert_eq!(rows.len(), 4, "{csv}");
    let thresholds: Vec<&str> = rows[1..].iter().map(|r| r[0]).collect();
    assert_eq!(thresholds, ["0", "10", "never"]);
    assert_eq!(rows[1][5], "2", "threshold 0 compiles f and the script");
    assert_eq!(rows[3][5], "0", "never compiles nothing");
    assert!(rows[1][1].parse::<f64>().unwrap() > 0.0);
    let svg = std::fs::read_to_string(svg).expect("svg written");
    assert!(svg.contains("<svg"), "{svg}");
    assert!(svg.contains("<polyline"), "a line is drawn");
    assert!(svg.contains("never"), "x axis labels");
    // A bad threshold is a usage error.
    let out = toyc(&["bench", "--sweep-threshold", "ten", &file]);
    assert_eq!(out.status.code(), Some(64), "{}", text(&out.stderr));
    let _ = std::fs::remove_dir_all(dir);
}

/// Runs the REPL with `input` piped to stdin.
fn repl(args: &[&str], input: &str) -> (String, String) {
    let mut child = Command::new(TOYC)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start toyc");
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(input.as_bytes()).unwrap();
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    (text(&out.stdout), text(&out.stderr))
}

#[test]
fn repl_jit_commands() {
    let (out, err) = repl(
        &[],
        "fn f(n) { return n + 1; }\n:asm f\n:threshold 0\nfn g(x) { return x * 2; }\n\
         :asm g\ng(21)\n:stats\n:jit off\ng(4)\n:jit on\n:jit\n:asm nope\n:threshold x\n:help\n",
    );
    assert_eq!(
        err,
        "no function named 'nope'\n'x' is not a threshold (0, 1, 2, ...)\n"
    );
    assert!(
        out.contains("'f' is not compiled yet: it runs in the interpreter"),
        "{out}"
    );
    assert!(out.contains("JIT on, threshold 0\n"), "{out}");
    assert!(
        out.contains("== machine code for fn g (4 bytecode instructions, "),
        "{out}"
    );
    assert!(out.contains("; 0002    |  MUL"), "{out}");
    assert!(out.contains("\n42\n"), "{out}");
    assert!(out.contains("jit:   g: 4 bytecode instructions"), "{out}");
    assert!(
        out.contains("JIT off: everything runs in the interpreter\n8\n"),
        "{out}"
    );
    for command in [":asm NAME", ":jit on|off", ":threshold N", ":stats"] {
        assert!(out.contains(command), "help lacks {command}: {out}");
    }
    // `:jit on` in a session started with --no-jit brings a JIT.
    let (out, _) = repl(
        &["--no-jit"],
        ":stats\n:jit on\n:threshold 0\nfn h() { return 1; }\n:asm h\n",
    );
    assert!(out.contains("JIT on, threshold 100\n"), "{out}");
    assert!(out.contains("== machine code for fn h ("), "{out}");
}

/// The interactive REPL in a pseudo-terminal.
mod pty {
    use super::*;
    use rexpect::session::{PtySession, spawn_command};

    /// Generous: a loaded machine can be slow; nothing here waits on purpose.
    const TIMEOUT_MS: u64 = 30_000;

    fn start(home: &Path, args: &[&str]) -> PtySession {
        let mut cmd = Command::new(TOYC);
        cmd.args(args).env("HOME", home).env("TERM", "xterm");
        let mut p = spawn_command(cmd, Some(TIMEOUT_MS)).expect("spawn toyc in a pty");
        p.exp_string(":help for help").expect("banner");
        p.exp_string("> ").expect("prompt");
        p
    }

    /// Sends `line` and waits for `shows` (text that the echo of the line
    /// itself does not contain) and then the next prompt. Waiting matters:
    /// the line editor discards input typed ahead of its prompt.
    fn send(p: &mut PtySession, line: &str, shows: &str) {
        p.send_line(line).unwrap();
        p.exp_string(shows)
            .unwrap_or_else(|e| panic!("'{line}' should show '{shows}': {e}"));
        p.exp_string("> ").expect("next prompt");
    }

    /// Starts an endless loop, waits for `running` (a trace line proving
    /// the tier), interrupts it with Ctrl-C, and checks that the session
    /// goes on with its definitions.
    fn interrupt_endless_loop(name: &str, setup: &[(&str, &str)], running: Option<&str>) {
        let home = scratch(name);
        let mut p = start(&home, &["--trace-jit"]);
        send(&mut p, "let kept = 40 + 1; print(kept * 100);", "4100");
        for (line, shows) in setup {
            send(&mut p, line, shows);
        }
        p.send_line("while true {}").unwrap();
        match running {
            Some(trace) => {
                p.exp_string(trace).expect("the loop runs compiled");
            }
            // Interpreted: give the loop time to start.
            None => std::thread::sleep(std::time::Duration::from_millis(300)),
        }
        p.send_control('c').unwrap();
        p.exp_string("runtime error: interrupted")
            .expect("Ctrl-C stops the loop");
        p.exp_string("> ").unwrap();
        send(&mut p, "print(kept + 1);", "42");
        p.send_control('d').unwrap();
        p.exp_eof().expect("Ctrl-D exits");
        let _ = std::fs::remove_dir_all(home);
    }

    #[test]
    fn ctrl_c_interrupts_a_loop_entered_by_osr() {
        // Default threshold: the loop starts interpreted and moves into
        // machine code by on-stack replacement.
        interrupt_endless_loop(
            "pty-osr",
            &[],
            Some("jit: compiled <script> (OSR at loop header pc"),
        );
    }

    #[test]
    fn ctrl_c_interrupts_a_compiled_loop() {
        interrupt_endless_loop(
            "pty-compiled",
            &[(":threshold 0", "JIT on, threshold 0")],
            Some("jit: compiled <script> (threshold 0, at load"),
        );
    }

    #[test]
    fn ctrl_c_interrupts_an_interpreted_loop() {
        interrupt_endless_loop("pty-interp", &[(":jit off", "JIT off")], None);
    }

    #[test]
    fn ctrl_c_clears_the_line_and_history_persists() {
        let home = scratch("pty-history");
        let mut p = start(&home, &[]);
        p.send("garbage(").unwrap();
        p.flush().unwrap();
        p.send_control('c').unwrap();
        p.exp_string("> ").expect("a fresh prompt");
        send(&mut p, "print(6 * 7);", "42");
        p.send_line("fn twice(x) {").unwrap();
        p.exp_string("... ").expect("continuation prompt");
        p.send_line("return 2 * x; }").unwrap();
        p.exp_string("> ").expect("the definition is complete");
        send(&mut p, "twice(10 + 11)", "42");
        send(&mut p, "print(40 + 2);", "42");
        p.send_control('d').unwrap();
        p.exp_eof().unwrap();
        let history = std::fs::read_to_string(home.join(".toyc_history")).expect("history saved");
        assert!(history.contains("print(6 * 7);"), "{history}");
        assert!(!history.contains("garbage("), "{history}");
        // The next session recalls the last input (Up arrow, then Enter).
        let mut p = start(&home, &[]);
        p.send("\x1b[A").unwrap();
        send(&mut p, "", "42");
        p.send_control('d').unwrap();
        p.exp_eof().unwrap();
        let _ = std::fs::remove_dir_all(home);
    }
}

/// `--frame-pointers` (and `--perf-map`, which implies it): every internal
/// entry pushes `rbp` and points it at its frame, every return pops it, so
/// `perf record -g` can walk through compiled frames. Without it the 8
/// bytes are padding (`sub rsp,8` / `add rsp,8`).
#[test]
fn frame_pointers_chain_compiled_frames() {
    // The listing's instructions (mnemonic and operands) and how many
    // functions it shows.
    let listing = |flag: Option<&str>| {
        let child = Command::new(TOYC)
            .args(["run", "--dump-asm"])
            .args(flag)
            .arg("lang-examples/fib.toy")
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start toyc");
        let pid = child.id();
        let out = child.wait_with_output().unwrap();
        let _ = std::fs::remove_file(format!("/tmp/perf-{pid}.map"));
        assert!(out.status.success());
        let text = String::from_utf8_lossy(&out.stderr).into_owned();
        let functions = text.matches("== machine code for").count();
        let asm: Vec<String> = (text.lines())
            .filter(|l| l.starts_with("  ") && l.len() > 32)
            .map(|l| l[32..].split_whitespace().collect::<Vec<_>>().join(" "))
            .collect();
        (asm, functions)
    };
    let count = |asm: &[String], i: &str| asm.iter().filter(|a| *a == i).count();
    for flag in ["--frame-pointers", "--perf-map"] {
        let (asm, functions) = listing(Some(flag));
        assert!(functions >= 2, "{flag}: {asm:?}");
        // The external entry's prologue, then the internal and OSR entries
        // of each function (and its specialized body, if any).
        assert!(count(&asm, "push rbp") >= 3 * functions, "{flag}: {asm:?}");
        assert_eq!(
            count(&asm, "mov rbp,rsp"),
            count(&asm, "push rbp"),
            "{flag}"
        );
        assert_eq!(
            count(&asm, "sub rsp,8") + count(&asm, "add rsp,8"),
            0,
            "{flag}"
        );
    }
    let (asm, functions) = listing(None);
    assert_eq!(count(&asm, "push rbp"), functions, "{asm:?}");
    assert!(count(&asm, "sub rsp,8") >= 2 * functions, "{asm:?}");
}
