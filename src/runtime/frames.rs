//! The stack of frame records: one [`Frame`] per active call, in a fixed
//! allocation of [`MAX_FRAMES`] records that never moves.
//!
//! It behaves like a `Vec<Frame>` (and derefs to a slice), but its layout is
//! fixed (`#[repr(C)]`: the records pointer, then the top pointer), so
//! compiled code can push and pop frame records itself without calling into
//! Rust: see the inline call path in `jit/compiler.rs`. The top is a
//! pointer (one past the last live record) rather than a length because
//! that is what compiled code keeps in a register: a push is then one add,
//! and the record's address needs no multiplication. The memory is an anonymous
//! mapping, which the OS fills lazily, so untouched records cost no RAM.

use std::ops::{Deref, DerefMut};
use std::ptr::NonNull;

use super::vm::{Frame, MAX_FRAMES, zeroed_region};

#[repr(C)]
pub struct FrameStack {
    /// `MAX_FRAMES` records; those below `top` are live.
    ptr: NonNull<Frame>,
    top: *mut Frame,
    /// One past the last record (`ptr + MAX_FRAMES`).
    end: *mut Frame,
    /// The mapping `ptr` points into (unmapped on drop).
    _map: memmap2::MmapMut,
}

/// Byte offset of the records pointer (for compiled code).
pub const FRAMES_PTR_OFFSET: usize = std::mem::offset_of!(FrameStack, ptr);
/// Byte offset of the top pointer (for compiled code).
pub const FRAMES_TOP_OFFSET: usize = std::mem::offset_of!(FrameStack, top);

impl FrameStack {
    pub fn new() -> FrameStack {
        // All-zero bytes are a valid `Frame` (null closure, pc 0, base 0).
        let mut map = zeroed_region(MAX_FRAMES * std::mem::size_of::<Frame>());
        let ptr = NonNull::new(map.as_mut_ptr() as *mut Frame).expect("mapped");
        FrameStack {
            ptr,
            top: ptr.as_ptr(),
            // SAFETY: one past the mapping's last record.
            end: unsafe { ptr.as_ptr().add(MAX_FRAMES) },
            _map: map,
        }
    }

    /// The number of live records.
    #[inline]
    pub fn len(&self) -> usize {
        // SAFETY: `top` is inside the allocation, at or after `ptr`.
        unsafe { self.top.offset_from_unsigned(self.ptr.as_ptr()) }
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.top == self.ptr.as_ptr()
    }

    /// Whether `MAX_FRAMES` records are live (a push would overflow).
    #[inline]
    pub fn is_full(&self) -> bool {
        self.top == self.end
    }

    /// The top pointer, to compare with a later one (cheaper than `len`,
    /// which divides).
    #[inline]
    pub fn top(&self) -> *const Frame {
        self.top
    }

    /// The topmost record (shadows the slice method: no `len` needed).
    #[inline]
    pub fn last(&self) -> Option<&Frame> {
        // SAFETY: a record below `top` is live.
        (self.top != self.ptr.as_ptr()).then(|| unsafe { &*self.top.sub(1) })
    }

    #[inline]
    pub fn last_mut(&mut self) -> Option<&mut Frame> {
        // SAFETY: as in `last`, and `&mut self` is exclusive.
        (self.top != self.ptr.as_ptr()).then(|| unsafe { &mut *self.top.sub(1) })
    }

    /// Pushes a record. Callers check `is_full()` first (and raise
    /// `stack overflow`); this check only guards the memory.
    #[inline]
    pub fn push(&mut self, frame: Frame) {
        assert!(!self.is_full(), "frame stack overflow");
        // SAFETY: fewer than `MAX_FRAMES` live records: `top` is inside
        // the allocation, and one past it still is (or is its end).
        unsafe {
            self.top.write(frame);
            self.top = self.top.add(1);
        }
    }

    #[inline]
    pub fn pop(&mut self) -> Option<Frame> {
        if self.top == self.ptr.as_ptr() {
            return None;
        }
        // SAFETY: there is a live record below `top`.
        unsafe {
            self.top = self.top.sub(1);
            Some(self.top.read())
        }
    }

    pub fn clear(&mut self) {
        self.top = self.ptr.as_ptr();
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
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len()) }
    }
}

impl DerefMut for FrameStack {
    fn deref_mut(&mut self) -> &mut [Frame] {
        // SAFETY: as in `deref`, and `&mut self` is exclusive.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len()) }
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
                base: std::ptr::null_mut::<crate::runtime::Value>().wrapping_add(i * 10),
            });
        }
        assert_eq!(s.len(), 5);
        s.last_mut().unwrap().pc = 99;
        assert_eq!(s.pop().unwrap().pc, 99);
        let bases = s.iter().map(|f| f.base.addr()).sum::<usize>();
        assert_eq!(bases, 60 * size_of::<crate::runtime::Value>());
        s.clear();
        assert!(s.is_empty());
    }
}
