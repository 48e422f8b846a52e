//! The interrupt request: how Ctrl-C, `--timeout` and `--max-heap` ask a
//! running program to stop.
//!
//! Whoever wants the program stopped calls [`Interrupt::raise`] (from any
//! thread: the Ctrl-C handler and the timeout timer run on their own). The
//! running code notices at its next poll: the interpreter reads the flag at
//! loop back-edges and calls, `read_line` while it waits. It then raises
//! the runtime error (`interrupted`, `timeout`, `out of memory`) and clears
//! the flag.
//!
//! Compiled code does not read the flag at all on its fast paths. It
//! compares the frame stack's top with a limit at every call and loop
//! back-edge anyway (for stack overflow); raising an interrupt also sets
//! every registered [`Watcher`]'s limit to zero, so that compare fails and
//! the slow path, which reads the flag, runs. See `jit::tier::JitCtx`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, Weak};

/// Something that must hear about an interrupt as soon as it is raised.
pub trait Watcher: Send + Sync {
    /// Called by [`Interrupt::raise`], on the raising thread.
    fn interrupted(&self);
}

/// A shared interrupt request (one per program or REPL session, in an
/// `Arc`).
///
/// `repr(C)` keeps the flag first, at the offset the interpreter's loads at
/// every back-edge and call used before this type existed (the old flag
/// was a bare `AtomicBool` in an `Arc`). A build with the flag after the
/// mutex ran `--no-jit` `loop.toy` up to 30% slower with the same
/// instructions executing; see docs/performance.md, "Code layout".
#[derive(Default)]
#[repr(C)]
pub struct Interrupt {
    flag: AtomicBool,
    watchers: Mutex<Vec<Weak<dyn Watcher>>>,
}

impl std::fmt::Debug for Interrupt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Interrupt")
            .field("set", &self.is_set())
            .finish_non_exhaustive()
    }
}

impl Interrupt {
    pub fn new() -> Interrupt {
        Interrupt::default()
    }

    /// Asks the running program to stop at its next poll. Returns whether a
    /// request was already pending. (Rare: kept out of the interpreter's
    /// loop, whose register allocation suffers from inlined cold code.)
    #[cold]
    #[inline(never)]
    pub fn raise(&self) -> bool {
        let was = self.flag.swap(true, Ordering::SeqCst);
        // A poisoned lock only means a panic elsewhere; the list is intact.
        let watchers = self.watchers.lock().unwrap_or_else(|e| e.into_inner());
        for w in watchers.iter().filter_map(Weak::upgrade) {
            w.interrupted();
        }
        was
    }

    /// Whether a request is pending.
    #[inline]
    pub fn is_set(&self) -> bool {
        self.flag.load(Ordering::Relaxed)
    }

    /// Forgets a pending request (it has been acted on).
    pub fn clear(&self) {
        self.flag.store(false, Ordering::Relaxed);
    }

    /// The flag itself, for code that polls it by address (compiled code's
    /// slow paths) or waits on it (`read_line`).
    pub fn flag(&self) -> &AtomicBool {
        &self.flag
    }

    /// Registers `w` to hear of every later [`Interrupt::raise`] for as
    /// long as it lives.
    pub fn watch(&self, w: Weak<dyn Watcher>) {
        let mut watchers = self.watchers.lock().unwrap_or_else(|e| e.into_inner());
        watchers.retain(|w| w.strong_count() > 0);
        watchers.push(w);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::AtomicUsize;

    struct Limit(AtomicUsize);
    impl Watcher for Limit {
        fn interrupted(&self) {
            self.0.store(0, Ordering::Relaxed);
        }
    }

    #[test]
    fn raising_sets_the_flag_and_tells_live_watchers() {
        let i = Interrupt::new();
        let live = Arc::new(Limit(AtomicUsize::new(7)));
        let gone = Arc::new(Limit(AtomicUsize::new(7)));
        i.watch(Arc::downgrade(&live) as Weak<dyn Watcher>);
        i.watch(Arc::downgrade(&gone) as Weak<dyn Watcher>);
        drop(gone);
        assert!(!i.is_set());
        assert!(!i.raise());
        assert!(i.is_set());
        assert_eq!(live.0.load(Ordering::Relaxed), 0);
        assert!(i.raise(), "a second raise sees the pending one");
        i.clear();
        assert!(!i.is_set());
    }
}
