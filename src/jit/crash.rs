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
//! and exits with [`CRASH_EXIT_CODE`] (71). A fault anywhere else prints
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
//! fault on its first instruction, so tests can check the report.

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

/// The crash-test mode from `TOYC_JIT_CRASH_TEST`: the instruction bytes to
/// plant at the start of the first compiled function's body, if any.
/// Test-only hook; see the module docs.
pub fn crash_test_bytes() -> Option<&'static [u8]> {
    match std::env::var("TOYC_JIT_CRASH_TEST").ok()?.as_str() {
        // ud2
        "1" | "ill" => Some(&[0x0f, 0x0b]),
        // mov byte [0], 0
        "segv" => Some(&[0xc6, 0x04, 0x25, 0, 0, 0, 0, 0]),
        _ => None,
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

/// The faulting instruction's address, from the saved register state.
///
/// # Safety
/// `context` is the `ucontext_t` the kernel passed to the handler.
unsafe fn fault_pc(context: *mut libc::c_void) -> usize {
    // SAFETY: the caller's contract.
    unsafe {
        let uc = &*(context as *const libc::ucontext_t);
        uc.uc_mcontext.gregs[libc::REG_RIP as usize] as usize
    }
}

extern "C" fn handler(sig: libc::c_int, info: *mut libc::siginfo_t, context: *mut libc::c_void) {
    // SAFETY: the kernel passes a valid ucontext_t for SA_SIGINFO handlers.
    let pc = unsafe { fault_pc(context) };
    let mut line = Line {
        buf: [0; 512],
        len: 0,
    };
    line.text(b"toyc: crash: ");
    line.text(signal_name(sig));
    if let Some(r) = find(pc) {
        let offset = pc - r.start;
        // The last instruction starting at or before the fault.
        let bytecode = r.offsets.iter().take_while(|&&(at, _)| at <= offset).last();
        line.text(b" in compiled code of '");
        line.text(r.name.as_bytes());
        line.text(b"'");
        if let Some(&(_, pc)) = bytecode {
            line.text(b" at bytecode offset ");
            line.number(pc, 10);
        } else {
            line.text(b" in its entry code");
        }
        line.text(b" (machine code +0x");
        line.number(offset, 16);
        line.text(b")\n");
        line.write();
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
