//! Line input for `read_line` that a Ctrl-C or a `--timeout` can stop.
//!
//! A plain blocking `read` would leave a program waiting for input deaf to
//! the interrupt flag: compiled and interpreted code poll it at back-edges
//! and calls, but a thread blocked in the kernel polls nothing. So the
//! reader waits with `poll(2)` in short slices and checks the flag between
//! them. Bytes read past the end of a line stay in a buffer for the next
//! call, as with any buffered reader.

use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, Ordering};

/// How long one wait for input lasts before the interrupt flag is checked.
const POLL_SLICE_MS: i32 = 50;

thread_local! {
    /// Bytes read from stdin but not yet returned.
    static PENDING: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// What [`read_line`] got.
pub enum Line {
    /// A line without its `\n` (the last line of the input may lack one).
    Text(Vec<u8>),
    /// End of input with nothing pending.
    Eof,
    /// The interrupt flag was set while waiting.
    Interrupted,
}

/// Reads one line from standard input (file descriptor 0).
pub fn read_line(interrupt: &AtomicBool) -> Line {
    PENDING.with_borrow_mut(|pending| {
        loop {
            if let Some(i) = pending.iter().position(|&b| b == b'\n') {
                let mut line: Vec<u8> = pending.drain(..=i).collect();
                line.pop();
                return Line::Text(line);
            }
            if !wait_readable(interrupt) {
                return Line::Interrupted;
            }
            let mut chunk = [0u8; 8192];
            match read_stdin(&mut chunk) {
                Some(0) | None if pending.is_empty() => return Line::Eof,
                Some(0) | None => return Line::Text(std::mem::take(pending)),
                Some(n) => pending.extend_from_slice(&chunk[..n]),
            }
        }
    })
}

/// Waits until stdin can be read without blocking (data, end of input or an
/// error). Returns `false` if the interrupt flag was set first.
fn wait_readable(interrupt: &AtomicBool) -> bool {
    loop {
        if interrupt.load(Ordering::Relaxed) {
            return false;
        }
        let mut fd = libc::pollfd {
            fd: 0,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: `fd` is one valid, initialized pollfd and the count says 1.
        let ready = unsafe { libc::poll(&mut fd, 1, POLL_SLICE_MS) };
        // Anything but "nothing yet" or a signal (EINTR) means the next read
        // will not block: data, end of input, or an error that read reports.
        if ready > 0 || (ready < 0 && last_errno() != libc::EINTR) {
            return true;
        }
    }
}

/// One `read(2)` from stdin; `None` on an error other than EINTR.
fn read_stdin(buf: &mut [u8]) -> Option<usize> {
    loop {
        // SAFETY: `buf` is valid for writes of `buf.len()` bytes.
        let n = unsafe { libc::read(0, buf.as_mut_ptr().cast(), buf.len()) };
        if n >= 0 {
            return Some(n as usize);
        }
        if last_errno() != libc::EINTR {
            return None;
        }
    }
}

fn last_errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}
