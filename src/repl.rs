//! The interactive session: `toyc` with no arguments, or `toyc repl`.
//!
//! Each input is compiled as a little script that shares the session's
//! globals with every earlier one, so `let` and `fn` definitions persist. An
//! input continues over several lines while brackets are open. The value of a
//! final expression statement is echoed in its quoted printed form.
//!
//! Interactive use goes through `rustyline` (line editing, history in
//! `~/.toyc_history`). Ctrl-C at the prompt clears the line; while code runs
//! it sets the VM's interrupt flag, which running code polls at loop
//! back-edges, so an endless loop stops with `interrupted` and the session
//! keeps every definition. Non-interactive input (a pipe) is read line by
//! line with no prompts and no banner.
//!
//! Commands (lines starting with `:`) look inside the VM: bytecode
//! (`:disasm`), machine code (`:asm`), JIT statistics (`:stats`), and switch
//! the JIT (`:jit on|off`, `:threshold N`) between inputs; see
//! `docs/tools.md`.

use std::io::{BufRead, IsTerminal};
use std::sync::Arc;

use crate::runtime::interrupt::Interrupt;

use rustyline::DefaultEditor;
use rustyline::error::ReadlineError;

use crate::bytecode::GlobalNames;
use crate::compiler::CompileOptions;
use crate::driver;
use crate::jit::tools::ToolOptions;
use crate::runtime::{Vm, VmOptions};

const HELP: &str = "\
Type Toy statements; an expression's value is echoed. Inputs continue while
brackets are open. Ctrl-C interrupts running code or clears the line; Ctrl-D exits.
Commands:
  :help          this text
  :quit          leave (also Ctrl-D)
  :disasm NAME   the bytecode of the function in global NAME
  :asm NAME      its machine code, if the JIT has compiled it
  :jit on|off    switch the JIT (off: everything runs in the interpreter)
  :threshold N   compile a function after N calls + loop iterations (0: at once)
  :stats         JIT statistics so far (as --jit-stats prints them)";

/// One session: the VM and the global names compiled so far.
pub struct Session {
    vm: Vm,
    globals: GlobalNames,
    interrupt: Arc<Interrupt>,
}

impl Session {
    pub fn new(opts: VmOptions) -> Session {
        Session::with_tools(opts, ToolOptions::default())
    }

    /// A session whose VM has the JIT tools in `tools` switched on.
    pub fn with_tools(opts: VmOptions, tools: ToolOptions) -> Session {
        let interrupt = opts.interrupt.clone();
        let mut vm = Vm::new(opts, Box::new(std::io::stdout()));
        if let Err(e) = vm.set_jit_tools(tools) {
            eprintln!("toyc: warning: cannot create the perf map: {e}");
        }
        Session {
            interrupt,
            vm,
            globals: GlobalNames::default(),
        }
    }

    /// Compiles and runs one complete input; returns what to show on stdout
    /// (the echoed value) and on stderr (errors).
    pub fn eval(&mut self, input: &str) -> (String, String) {
        if let Some(command) = input.trim().strip_prefix(':') {
            return self.command(command);
        }
        // `1 + 2` at the prompt means `1 + 2;`.
        let trimmed = input.trim_end();
        let owned;
        let input = if trimmed.ends_with([';', '}']) {
            input
        } else {
            owned = format!("{trimmed};\n");
            &owned
        };
        let opts = CompileOptions { repl: true };
        match driver::compile_source(input, &mut self.globals, opts) {
            Ok(script) => {
                let result = self.vm.run(script, &self.globals);
                self.vm.flush();
                match result {
                    Ok(value) => {
                        let shown = self.vm.repr(value);
                        let out = if shown == "nil" {
                            String::new()
                        } else {
                            shown + "\n"
                        };
                        (out, String::new())
                    }
                    Err(err) => (String::new(), driver::render_runtime_error("<repl>", &err)),
                }
            }
            Err(errors) => (
                String::new(),
                driver::render_compile_errors("<repl>", input, &errors),
            ),
        }
    }

    fn command(&mut self, command: &str) -> (String, String) {
        let ok = |text: String| (text, String::new());
        let err = |text: String| (String::new(), text);
        let words: Vec<&str> = command.split_whitespace().collect();
        match words[..] {
            ["help"] => ok(format!("{HELP}\n")),
            ["disasm", name] => match self.vm.global_function(name) {
                Some(proto) => ok(crate::disasm::disassemble(&proto)),
                None => err(format!("no function named '{name}'\n")),
            },
            ["asm", name] => self.asm(name),
            ["jit", "on"] => {
                self.vm.set_jit_enabled(true);
                ok(self.jit_status())
            }
            ["jit", "off"] => {
                self.vm.set_jit_enabled(false);
                ok(self.jit_status())
            }
            ["jit"] => ok(self.jit_status()),
            ["threshold", n] => match n.parse::<u32>() {
                Ok(n) if self.vm.set_jit_threshold(n) => ok(self.jit_status()),
                Ok(_) => err("the JIT is off; :jit on first\n".to_string()),
                Err(_) => err(format!("'{n}' is not a threshold (0, 1, 2, ...)\n")),
            },
            ["stats"] => match self.vm.jit_stats_report() {
                Some(report) => ok(report),
                None => err("the JIT is off: no statistics\n".to_string()),
            },
            _ => err(format!("unknown command ':{command}' (try :help)\n")),
        }
    }

    /// `:asm NAME`: the machine code of a compiled function, or why there
    /// is none.
    fn asm(&self, name: &str) -> (String, String) {
        let Some(proto) = self.vm.global_function(name) else {
            return (String::new(), format!("no function named '{name}'\n"));
        };
        if let Some(listing) = self.vm.jit_listing(&proto) {
            let note = if self.vm.jit_enabled() {
                ""
            } else {
                "(the JIT is off: this code is not used until :jit on)\n"
            };
            return (format!("{listing}{note}"), String::new());
        }
        let why = match self.vm.jit_threshold() {
            Some(n) if self.vm.jit_enabled() => format!(
                "'{name}' is not compiled yet: it runs in the interpreter until its \
                 calls + loop iterations reach the threshold ({n}); :threshold 0 compiles at once\n"
            ),
            _ => format!("'{name}' is not compiled: the JIT is off (:jit on)\n"),
        };
        (why, String::new())
    }

    fn jit_status(&self) -> String {
        match self.vm.jit_threshold() {
            Some(n) if self.vm.jit_enabled() => format!("JIT on, threshold {n}\n"),
            _ => "JIT off: everything runs in the interpreter\n".to_string(),
        }
    }

    fn interrupt(&self) -> Arc<Interrupt> {
        self.interrupt.clone()
    }
}

/// Whether `src` is complete: no bracket left open and no string left
/// unterminated (comments and strings are skipped).
pub fn is_complete(src: &str) -> bool {
    let mut depth = 0i32;
    let mut chars = src.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => loop {
                match chars.next() {
                    None => return false,
                    Some('\\') => {
                        chars.next();
                    }
                    Some('"') => break,
                    Some(_) => {}
                }
            },
            '/' if chars.peek() == Some(&'/') => while chars.next_if(|&c| c != '\n').is_some() {},
            '/' if chars.peek() == Some(&'*') => {
                chars.next();
                let mut prev = ' ';
                loop {
                    match chars.next() {
                        None => return false,
                        Some('/') if prev == '*' => break,
                        Some(c) => prev = c,
                    }
                }
            }
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => depth -= 1,
            _ => {}
        }
    }
    depth <= 0
}

fn is_quit(input: &str) -> bool {
    matches!(input.trim(), ":quit" | ":q" | ":exit")
}

/// Runs the session on standard input; returns the process exit code.
pub fn run(opts: VmOptions, tools: ToolOptions) -> i32 {
    let mut session = Session::with_tools(opts, tools);
    if std::io::stdin().is_terminal() {
        interactive(&mut session)
    } else {
        piped(&mut session)
    }
}

fn show((out, err): (String, String)) {
    print!("{out}");
    eprint!("{err}");
}

fn piped(session: &mut Session) -> i32 {
    let mut pending = String::new();
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        pending.push_str(&line);
        pending.push('\n');
        if !is_complete(&pending) {
            continue;
        }
        let input = std::mem::take(&mut pending);
        if is_quit(&input) {
            return 0;
        }
        if !input.trim().is_empty() {
            show(session.eval(&input));
        }
    }
    if !pending.trim().is_empty() {
        show(session.eval(&pending));
    }
    0
}

fn history_path() -> Option<std::path::PathBuf> {
    std::env::var_os("HOME").map(|home| std::path::Path::new(&home).join(".toyc_history"))
}

fn interactive(session: &mut Session) -> i32 {
    let Ok(mut editor) = DefaultEditor::new() else {
        return piped(session);
    };
    let history = history_path();
    if let Some(path) = &history {
        let _ = editor.load_history(path);
    }
    // Ctrl-C while code runs: ask the VM to stop at its next poll. At the
    // prompt the terminal is in raw mode and rustyline sees the key instead.
    let interrupt = session.interrupt();
    let _ = ctrlc::set_handler(move || {
        interrupt.raise();
    });
    println!(
        "toyc {} — Toy with a baseline JIT. :help for help, Ctrl-D to exit.",
        env!("CARGO_PKG_VERSION")
    );
    let mut pending = String::new();
    loop {
        let prompt = if pending.is_empty() { "> " } else { "... " };
        match editor.readline(prompt) {
            Ok(line) => {
                pending.push_str(&line);
                pending.push('\n');
                if !is_complete(&pending) {
                    continue;
                }
                let input = std::mem::take(&mut pending);
                if input.trim().is_empty() {
                    continue;
                }
                let _ = editor.add_history_entry(input.trim_end());
                if is_quit(&input) {
                    break;
                }
                session.interrupt().clear();
                show(session.eval(&input));
            }
            Err(ReadlineError::Interrupted) => pending.clear(),
            Err(_) => break,
        }
    }
    if let Some(path) = &history {
        let _ = editor.save_history(path);
    }
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn completeness() {
        assert!(is_complete("print(1);\n"));
        assert!(!is_complete("fn f() {\n"));
        assert!(!is_complete("let s = \"abc\n"));
        assert!(is_complete("let s = \"a{\";\n"));
        assert!(is_complete("// {\n"));
        assert!(!is_complete("/* ( \n"));
        assert!(is_complete("/* ( */ 1;\n"));
        assert!(is_complete("}\n"));
    }

    #[test]
    fn session_keeps_definitions_and_echoes() {
        let mut s = Session::new(VmOptions::default());
        assert_eq!(s.eval("let x = 20;\n"), (String::new(), String::new()));
        assert_eq!(s.eval("fn f(a) { return a + x; }\n").1, "");
        assert_eq!(s.eval("f(22);\n"), ("42\n".to_string(), String::new()));
        assert_eq!(s.eval("\"s\";\n").0, "\"s\"\n");
        let (_, err) = s.eval("y;\n");
        assert!(
            err.starts_with("<repl>:1:1: error: undefined variable 'y'"),
            "{err}"
        );
        let (_, err) = s.eval("f(nil);\n");
        assert!(
            err.starts_with("<repl>:1: runtime error: cannot apply '+' to nil and int"),
            "{err}"
        );
        assert_eq!(s.eval("x;\n").0, "20\n");
        assert_eq!(s.eval("x + 1\n").0, "21\n");
        assert!(s.eval(":disasm f\n").0.contains("fn f"));
        assert!(s.eval(":bogus\n").1.contains("unknown command"));
    }
}
