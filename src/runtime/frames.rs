//! The stack of frame records: one [`Frame`] per active call, in a fixed
//! allocation of [`MAX_FRAMES`] records that never moves.
//!
//! It behaves like a `Vec<Frame>` (and derefs to a slice), but its layout is
//! fixed (`#[repr(C)]`: the pointer, then the length), so compiled code can
//! push and pop frame records itself without calling into Rust: see the
//! inline call path in `jit/compiler.rs`. The memory is an anonymous
//! mapping, which the OS fills lazily, so untouched records cost no RAM.

use std::ops::{Deref, DerefMut};
use std::ptr::NonNull;

use super::vm::{Frame, MAX_FRAMES, zeroed_region};

#[repr(C)]
pub struct FrameStack {
    /// `MAX_FRAMES` records; the first `len` are live.
    ptr: NonNull<Frame>,
    len: usize,
    /// The mapping `ptr` points into (unmapped on drop).
    _map: memmap2::MmapMut,
}

/// Byte offset of the records pointer (for compiled code).
pub const FRAMES_PTR_OFFSET: usize = std::mem::offset_of!(FrameStack, ptr);
/// Byte offset of the length (for compiled code).
pub const FRAMES_LEN_OFFSET: usize = std::mem::offset_of!(FrameStack, len);

impl FrameStack {
    pub fn new() -> FrameStack {
        // All-zero bytes are a valid `Frame` (null closure, pc 0, base 0).
        let mut map = zeroed_region(MAX_FRAMES * std::mem::size_of::<Frame>());
        let ptr = NonNull::new(map.as_mut_ptr() as *mut Frame).expect("mapped");
        FrameStack {
            ptr,
            len: 0,
            _map: map,
        }
    }

    /// Pushes a record. Callers check `len() < MAX_FRAMES` first (and raise
    /// `stack overflow`); this check only guards the memory.
    pub fn push(&mut self, frame: Frame) {
        assert!(self.len < MAX_FRAMES, "frame stack overflow");
        // SAFETY: `len < MAX_FRAMES`, inside the allocation.
        unsafe { self.ptr.as_ptr().add(self.len).write(frame) };
        self.len += 1;
    }

    pub fn pop(&mut self) -> Option<Frame> {
        self.len = self.len.checked_sub(1)?;
        // SAFETY: the record at the old `len - 1` is live.
        Some(unsafe { self.ptr.as_ptr().add(self.len).read() })
    }

    pub fn clear(&mut self) {
        self.len = 0;
    }
}

impl Default for FrameStack {
    fn default() -> Self {
        Self::new()
    }
}

impl Deref for FrameStack {
    type Target = [Frame];
    fn deref(&self) -> &[Frame] {
        // SAFETY: the first `len` records are initialized (zeroed or pushed).
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }
}

impl DerefMut for FrameStack {
    fn deref_mut(&mut self) -> &mut [Frame] {
        // SAFETY: as in `deref`, and `&mut self` is exclusive.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_pop_like_a_vec() {
        let mut s = FrameStack::new();
        assert!(s.pop().is_none());
        for i in 0..5 {
            s.push(Frame {
                closure: std::ptr::null_mut(),
                pc: i,
                base: i * 10,
            });
        }
        assert_eq!(s.len(), 5);
        s.last_mut().unwrap().pc = 99;
        assert_eq!(s.pop().unwrap().pc, 99);
        assert_eq!(s.iter().map(|f| f.base).sum::<usize>(), 60);
        s.clear();
        assert!(s.is_empty());
    }
}
