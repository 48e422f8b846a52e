//! Crash reports for faults inside compiled code.
//!
//! A bug in a template or a helper contract shows up as a signal (SIGSEGV,
//! SIGBUS, SIGILL, SIGFPE) while machine code runs. Without help, the
//! process just dies and the user sees "Segmentation fault". With
//! [`install`], the signal handler looks up the faulting instruction address
//! in a table of installed code ranges and prints which compiled function,
//! and which bytecode instruction of it, was running:
//!
//! ```text
//! toyc: crash: SIGSEGV in compiled code of 'fib' at bytecode offset 7 (machine code +0x5c)
//! ```
//!
//! With `--frame-pointers` every compiled frame links to its caller's
//! through `rbp` (`docs/jit.md`, section 3), so the handler also walks that
//! chain and names each compiled caller, up to the frame Rust entered:
//!
//! ```text
//! toyc: crash:   called from 'b' at bytecode offset 2 (machine code +0x1f3)
//! toyc: crash:   called from '<script>' at bytecode offset 9 (machine code +0x2b0)
//! toyc: crash:   '<script>' was entered from Rust (the interpreter or a runtime helper)
//! ```
//!
//! It reads the stack with `process_vm_readv`, which fails cleanly on a bad
//! address where a plain load would fault inside the handler.
//!
//! The handler then exits with [`CRASH_EXIT_CODE`] (71). A fault anywhere else prints
//! `toyc: crash: SIGSEGV outside compiled code`, gives Rust's own handler
//! (which reports native stack overflows) its turn, then exits with 71 too.
//!
//! A signal handler may only call async-signal-safe functions: no locks, no
//! allocation, no `std::io`. So the handler writes with `write(2)` from a
//! stack buffer, and the table is a lock-free, append-only linked list whose
//! records are never freed (one per compiled function, in a process that
//! compiles a bounded amount of code). Buffered program output is *not*
//! flushed: the process state cannot be trusted after a fault.
//!
//! `TOYC_JIT_CRASH_TEST=ill` (or `segv`) makes the first compiled function
//! fault on its first instruction, so tests can check the report;
//! `segv:NAME@PC` plants the fault at bytecode offset `PC` of the function
//! `NAME` instead, so that it happens deep in compiled calls.

use std::ptr;
use std::sync::atomic::{AtomicBool, AtomicPtr, Ordering};

/// The exit code after a crash report (`EX_OSERR` in sysexits.h terms).
pub const CRASH_EXIT_CODE: i32 = 71;

/// One installed function: its code range and the offsets table the
/// compiler returned (`(machine code offset, bytecode pc)`, ascending).
struct Record {
    start: usize,
    end: usize,
    name: String,
    offsets: Vec<(usize, usize)>,
    next: *const Record,
}

/// The newest record; each points at the one registered before it.
static HEAD: AtomicPtr<Record> = AtomicPtr::new(ptr::null_mut());
/// Set by [`install`]; without a handler there is nothing to register for.
static ENABLED: AtomicBool = AtomicBool::new(false);
/// Whether compiled frames keep the `rbp` chain (`--frame-pointers`), so
/// that the handler may walk it.
static FRAME_POINTERS: AtomicBool = AtomicBool::new(false);

/// Tells the handler whether compiled code keeps frame pointers.
pub fn set_frame_pointers(on: bool) {
    FRAME_POINTERS.store(on, Ordering::Relaxed);
}

/// Records that `[start, start + len)` holds the code of function `name`.
pub fn register(start: usize, len: usize, name: &str, offsets: &[(usize, usize)]) {
    if !ENABLED.load(Ordering::Relaxed) {
        return;
    }
    let record = Box::into_raw(Box::new(Record {
        start,
        end: start + len,
        name: name.to_string(),
        offsets: offsets.to_vec(),
        next: ptr::null(),
    }));
    let mut head = HEAD.load(Ordering::Acquire);
    loop {
        // SAFETY: `record` is ours until the exchange publishes it.
        unsafe { (*record).next = head };
        match HEAD.compare_exchange_weak(head, record, Ordering::Release, Ordering::Acquire) {
            Ok(_) => return,
            Err(now) => head = now,
        }
    }
}

/// Where the crash-test mode (`TOYC_JIT_CRASH_TEST`) plants a faulting
/// instruction in a function being compiled. Test-only hook; see the
/// module docs.
pub struct CrashTest {
    /// The instruction bytes to plant.
    pub bytes: &'static [u8],
    /// The bytecode offset to plant them at; `None`: the body's start.
    pub pc: Option<usize>,
}

/// The crash test for the function `name`, if `TOYC_JIT_CRASH_TEST` asks
/// for one there (`first`: no function has been compiled before it).
pub fn crash_test(name: &str, first: bool) -> Option<CrashTest> {
    let var = std::env::var("TOYC_JIT_CRASH_TEST").ok()?;
    let (kind, target) = match var.split_once(':') {
        Some((kind, target)) => (kind, Some(target)),
        None => (var.as_str(), None),
    };
    let bytes: &'static [u8] = match kind {
        // ud2
        "1" | "ill" => &[0x0f, 0x0b],
        // mov byte [0], 0
        "segv" => &[0xc6, 0x04, 0x25, 0, 0, 0, 0, 0],
        _ => return None,
    };
    match target {
        None => first.then_some(CrashTest { bytes, pc: None }),
        Some(target) => {
            let (func, pc) = match target.split_once('@') {
                Some((func, pc)) => (func, Some(pc.parse().ok()?)),
                None => (target, None),
            };
            (func == name).then_some(CrashTest { bytes, pc })
        }
    }
}

/// The previous handlers, called for faults outside compiled code.
static mut PREVIOUS: [Option<libc::sigaction>; 4] = [None; 4];
const SIGNALS: [libc::c_int; 4] = [libc::SIGSEGV, libc::SIGBUS, libc::SIGILL, libc::SIGFPE];

/// Installs the crash handler for the whole process (the `toyc` binary
/// calls this once at startup).
pub fn install() {
    if ENABLED.swap(true, Ordering::SeqCst) {
        return;
    }
    for (i, &sig) in SIGNALS.iter().enumerate() {
        // SAFETY: a zeroed sigaction is a valid starting point; the handler
        // has the SA_SIGINFO signature; PREVIOUS is written before the
        // handler can run for this signal and only read afterwards.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = handler as *const () as usize;
            // SA_ONSTACK: a native stack overflow must still be reportable
            // (Rust gives every thread an alternate signal stack).
            action.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
            libc::sigemptyset(&mut action.sa_mask);
            let mut old: libc::sigaction = std::mem::zeroed();
            if libc::sigaction(sig, &action, &mut old) == 0 {
                PREVIOUS[i] = Some(old);
            }
        }
    }
}

/// A fixed buffer for building the report without allocating.
struct Line {
    buf: [u8; 512],
    len: usize,
}

impl Line {
    fn new() -> Line {
        Line {
            buf: [0; 512],
            len: 0,
        }
    }

    fn text(&mut self, s: &[u8]) {
        for &b in s {
            if self.len < self.buf.len() {
                self.buf[self.len] = b;
                self.len += 1;
            }
        }
    }

    fn number(&mut self, mut n: usize, radix: usize) {
        let mut digits = [0u8; 20];
        let mut i = digits.len();
        loop {
            i -= 1;
            digits[i] = b"0123456789abcdef"[n % radix];
            n /= radix;
            if n == 0 {
                break;
            }
        }
        self.text(&digits[i..]);
    }

    fn write(&self) {
        // SAFETY: write(2) is async-signal-safe; the buffer is valid.
        unsafe { libc::write(2, self.buf.as_ptr().cast(), self.len) };
    }
}

fn signal_name(sig: libc::c_int) -> &'static [u8] {
    match sig {
        libc::SIGSEGV => b"SIGSEGV",
        libc::SIGBUS => b"SIGBUS",
        libc::SIGILL => b"SIGILL",
        _ => b"SIGFPE",
    }
}

/// The registered function containing `pc`.
fn find(pc: usize) -> Option<&'static Record> {
    let mut p = HEAD.load(Ordering::Acquire) as *const Record;
    while !p.is_null() {
        // SAFETY: published records are never freed or changed.
        let r = unsafe { &*p };
        if (r.start..r.end).contains(&pc) {
            return Some(r);
        }
        p = r.next;
    }
    None
}

/// A register of the interrupted code, from the saved register state
/// (`libc::REG_RIP`: the faulting instruction's address).
///
/// # Safety
/// `context` is the `ucontext_t` the kernel passed to the handler.
unsafe fn saved_register(context: *mut libc::c_void, reg: libc::c_int) -> usize {
    // SAFETY: the caller's contract.
    unsafe {
        let uc = &*(context as *const libc::ucontext_t);
        uc.uc_mcontext.gregs[reg as usize] as usize
    }
}

/// The bytecode offset of the instruction whose machine code holds `offset`
/// (the last one starting at or before it), or `None` in the entry code.
fn bytecode_at(r: &Record, offset: usize) -> Option<usize> {
    let found = r.offsets.iter().take_while(|&&(at, _)| at <= offset).last();
    found.map(|&(_, pc)| pc)
}

/// Reads the 8 bytes at `addr` without faulting: `process_vm_readv` on
/// this process reports a bad address as an error.
fn read_word(addr: usize) -> Option<usize> {
    let mut word = 0usize;
    let local = libc::iovec {
        iov_base: (&raw mut word).cast(),
        iov_len: 8,
    };
    let remote = libc::iovec {
        iov_base: addr as *mut libc::c_void,
        iov_len: 8,
    };
    // SAFETY: both are async-signal-safe system calls; `local` describes
    // 8 writable bytes; a bad `remote` address makes the call fail.
    let n = unsafe { libc::process_vm_readv(libc::getpid(), &local, 1, &remote, 1, 0) };
    (n == 8).then_some(word)
}

/// The most callers the report names.
const MAX_CALLERS: usize = 32;

/// Names the compiled callers of the frame whose `rbp` is `frame`, walking
/// the frame-pointer chain: `[rbp]` is the caller's `rbp`, `[rbp + 8]` the
/// return address into the caller. It stops at a return address into an
/// external entry (Rust called the function there), or at anything that is
/// not a compiled frame.
fn report_callers(mut frame: usize) {
    for _ in 0..MAX_CALLERS {
        let mut line = Line::new();
        line.text(b"toyc: crash:   ");
        let (Some(next), Some(ret)) = (read_word(frame), read_word(frame + 8)) else {
            return;
        };
        let Some(r) = find(ret) else {
            return;
        };
        // The call instruction ends at the return address.
        let offset = (ret - r.start).saturating_sub(1);
        let Some(pc) = bytecode_at(r, offset) else {
            line.text(b"'");
            line.text(r.name.as_bytes());
            line.text(b"' was entered from Rust (the interpreter or a runtime helper)\n");
            line.write();
            return;
        };
        line.text(b"called from '");
        line.text(r.name.as_bytes());
        line.text(b"' at bytecode offset ");
        line.number(pc, 10);
        line.text(b" (machine code +0x");
        line.number(offset + 1, 16);
        line.text(b")\n");
        line.write();
        // Callers' frames lie above, each 16-byte aligned.
        if next <= frame || next % 16 != 0 {
            return;
        }
        frame = next;
    }
    let mut line = Line::new();
    line.text(b"toyc: crash:   ... (more callers)\n");
    line.write();
}

extern "C" fn handler(sig: libc::c_int, info: *mut libc::siginfo_t, context: *mut libc::c_void) {
    // SAFETY: the kernel passes a valid ucontext_t for SA_SIGINFO handlers.
    let pc = unsafe { saved_register(context, libc::REG_RIP) };
    let mut line = Line::new();
    line.text(b"toyc: crash: ");
    line.text(signal_name(sig));
    if let Some(r) = find(pc) {
        let offset = pc - r.start;
        let bytecode = bytecode_at(r, offset);
        line.text(b" in compiled code of '");
        line.text(r.name.as_bytes());
        line.text(b"'");
        if let Some(pc) = bytecode {
            line.text(b" at bytecode offset ");
            line.number(pc, 10);
        } else {
            line.text(b" in its entry code");
        }
        line.text(b" (machine code +0x");
        line.number(offset, 16);
        line.text(b")\n");
        line.write();
        // In a body (not in entry code, where the frame is not set up yet)
        // `rbp` is this function's frame, if frames keep the chain.
        if bytecode.is_some() && FRAME_POINTERS.load(Ordering::Relaxed) {
            // SAFETY: as above.
            report_callers(unsafe { saved_register(context, libc::REG_RBP) });
        } else if bytecode.is_some() {
            let mut hint = Line::new();
            hint.text(
                b"toyc: crash:   (with --frame-pointers the report names the compiled callers)\n",
            );
            hint.write();
        }
    } else {
        line.text(b" outside compiled code\n");
        line.write();
        call_previous(sig, info, context);
    }
    // SAFETY: _exit is async-signal-safe and skips all user-space cleanup.
    unsafe { libc::_exit(CRASH_EXIT_CODE) };
}

/// Lets the handler that was there before (Rust's stack-overflow reporter)
/// look at a fault outside compiled code.
fn call_previous(sig: libc::c_int, info: *mut libc::siginfo_t, context: *mut libc::c_void) {
    let Some(i) = SIGNALS.iter().position(|&s| s == sig) else {
        return;
    };
    // SAFETY: PREVIOUS was filled in by `install` before this handler was
    // registered; a non-default SA_SIGINFO handler has this signature.
    unsafe {
        let Some(old) = (*ptr::addr_of!(PREVIOUS))[i] else {
            return;
        };
        let f = old.sa_sigaction;
        if f == libc::SIG_DFL || f == libc::SIG_IGN || old.sa_flags & libc::SA_SIGINFO == 0 {
            return;
        }
        let previous: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) =
            std::mem::transmute(f);
        previous(sig, info, context);
    }
}
