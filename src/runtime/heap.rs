//! Heap objects and the garbage collector.
//!
//! Every GC object is a `#[repr(C)]` struct that starts with a [`Header`], is
//! allocated with `Box`, and is listed in [`Heap::objects`]. A [`Value`] with
//! a heap tag points at the header, so the GC can find any object's kind.
//!
//! ```text
//!   ArrayObj (the JIT inlines `a[i]`):
//!   offset 0   Header { kind: u8, marked: u8 }   (padded to 8 bytes)
//!   offset 8   items.ptr: *mut Value             ARRAY_ITEMS_PTR_OFFSET
//!   offset 16  items.len: usize                  ARRAY_LEN_OFFSET
//!   offset 24  items.cap: usize                  ARRAY_CAP_OFFSET
//! ```
//!
//! The collector is mark-and-sweep. Marking uses an explicit worklist (the
//! "gray" stack), so deeply nested arrays cannot overflow the Rust stack.
//! Cycles are collected because reachability, not ownership, decides what
//! lives. A collection runs when the bytes allocated since the last one pass a
//! threshold that is twice the live size (or at every allocation in stress
//! mode). The heap itself does not know the roots: the VM marks them in the
//! closure it passes to [`Heap::collect`].
//!
//! Per-function runtime data ([`FuncObj`]) is *not* collected: the VM keeps
//! every loaded function for the whole session, and treats their constants as
//! roots.

use std::alloc::{self, Layout};
use std::cell::Cell;
use std::collections::HashSet;
use std::hash::{BuildHasherDefault, Hasher};
use std::ptr::NonNull;
use std::rc::Rc;

use super::map::Map;
use super::value::{TAG_ARRAY, TAG_FUNCTION, TAG_MAP, TAG_STRING, Value, copy_value, is_heap_tag};
use crate::bytecode::FunctionProto;

/// The kind of a heap object, stored in its header.
#[repr(u8)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Str,
    Array,
    Map,
    Closure,
    Upval,
}

/// The common first field of every GC object.
#[repr(C)]
pub struct Header {
    pub kind: Kind,
    pub marked: Cell<bool>,
}

impl Header {
    fn new(kind: Kind) -> Header {
        Header {
            kind,
            marked: Cell::new(false),
        }
    }
}

/// An immutable byte string with its hash computed once.
#[repr(C)]
pub struct StrObj {
    pub header: Header,
    pub hash: u64,
    pub bytes: Box<[u8]>,
}

/// A growable vector of values with a fixed, documented layout
/// (`{ptr, len, cap}`), unlike `Vec`.
#[repr(C)]
pub struct ValueVec {
    ptr: NonNull<Value>,
    len: usize,
    cap: usize,
}

#[repr(C)]
pub struct ArrayObj {
    pub header: Header,
    pub items: ValueVec,
}

pub const ARRAY_ITEMS_PTR_OFFSET: usize = 8;
pub const ARRAY_LEN_OFFSET: usize = 16;
const _: () = assert!(std::mem::offset_of!(ArrayObj, items) == ARRAY_ITEMS_PTR_OFFSET);
const _: () = assert!(
    std::mem::offset_of!(ArrayObj, items) + std::mem::offset_of!(ValueVec, len) == ARRAY_LEN_OFFSET
);
pub const ARRAY_CAP_OFFSET: usize = 24;
const _: () = assert!(
    std::mem::offset_of!(ArrayObj, items) + std::mem::offset_of!(ValueVec, cap) == ARRAY_CAP_OFFSET
);
const _: () = assert!(std::mem::offset_of!(ValueVec, ptr) == 0);

#[repr(C)]
pub struct MapObj {
    pub header: Header,
    pub map: Map,
}

/// A function value: runtime function data plus captured variables.
#[repr(C)]
pub struct ClosureObj {
    pub header: Header,
    pub func: *const FuncObj,
    pub upvals: Box<[*mut UpvalObj]>,
    /// `upvals`' first element, for compiled code (the layout of a
    /// `Box<[T]>` is not specified; its contents never move).
    pub upvals_ptr: *const *mut UpvalObj,
}

/// A captured variable. While open, `location` points at the variable's VM
/// stack slot; when the slot's scope ends the value moves into `closed` and
/// `location` points there, so reads and writes never need to know which.
#[repr(C)]
pub struct UpvalObj {
    pub header: Header,
    pub location: *mut Value,
    pub closed: Value,
}

/// Offsets compiled code's inline call and upvalue paths read (see
/// `jit/compiler.rs`).
pub const CLOSURE_FUNC_OFFSET: usize = std::mem::offset_of!(ClosureObj, func);
pub const CLOSURE_UPVALS_OFFSET: usize = std::mem::offset_of!(ClosureObj, upvals_ptr);
pub const FUNC_ARITY_OFFSET: usize = std::mem::offset_of!(FuncObj, arity);
pub const FUNC_MAX_SLOTS_OFFSET: usize = std::mem::offset_of!(FuncObj, max_slots);
/// `Cell<*const u8>` has the layout of the pointer it holds.
pub const FUNC_JIT_ENTRY_OFFSET: usize = std::mem::offset_of!(FuncObj, jit_entry);

pub const UPVAL_LOCATION_OFFSET: usize = 8;
const _: () = assert!(std::mem::offset_of!(UpvalObj, location) == UPVAL_LOCATION_OFFSET);

/// The runtime side of a [`FunctionProto`]: constants as values, nested
/// functions, and the hotness counter the JIT's tier-up reads.
pub struct FuncObj {
    pub proto: Rc<FunctionProto>,
    /// `proto.arity` and `proto.max_slots`, copied here so compiled code's
    /// inline call path reads them at a fixed offset.
    pub arity: u32,
    pub max_slots: u32,
    /// The instructions the interpreter runs: `proto.code` here, replaced by
    /// the VM's copy with superinstructions written in (`compiler::fuse`),
    /// which the VM keeps alive as long as this function. The JIT compiles
    /// `proto.code`.
    pub code: *const crate::bytecode::Op,
    pub consts: Vec<Value>,
    /// `children[i]` is the runtime function of `proto.protos[i]`.
    pub children: Vec<*const FuncObj>,
    /// Calls plus loop back-edges so far.
    pub hotness: Cell<u32>,
    /// Entry point of compiled code, once the JIT has compiled this function.
    pub jit_entry: Cell<*const u8>,
    /// One inline-cache slot per instruction, used by `GetField`/`SetField`
    /// in both tiers: the entry number where that instruction last found
    /// its field (see `Map::get_hinted`).
    pub field_hints: Box<[Cell<u32>]>,
}

impl FuncObj {
    /// A runtime function for `proto` with its constants already made;
    /// `children` are filled in by the loader.
    pub fn new(proto: &Rc<FunctionProto>, consts: Vec<Value>) -> FuncObj {
        FuncObj {
            proto: proto.clone(),
            arity: proto.arity,
            max_slots: proto.max_slots,
            code: proto.code.as_ptr(),
            consts,
            children: Vec::new(),
            hotness: Default::default(),
            jit_entry: Cell::new(std::ptr::null()),
            field_hints: proto.code.iter().map(|_| Default::default()).collect(),
        }
    }
}

impl ValueVec {
    pub fn new() -> ValueVec {
        ValueVec {
            ptr: NonNull::dangling(),
            len: 0,
            cap: 0,
        }
    }

    pub fn from_slice(items: &[Value]) -> ValueVec {
        let mut v = ValueVec::new();
        v.reserve(items.len());
        for &x in items {
            v.push(x);
        }
        v
    }

    /// [`ValueVec::from_slice`] for values that were just written as two
    /// 8-byte stores each (by compiled code): each is copied as two 8-byte
    /// moves, since a 16-byte load of them would stall (see
    /// [`copy_value`]). The interpreter keeps `from_slice`, whose inlined
    /// form suits its dispatch loop's registers.
    pub fn from_stored_slots(items: &[Value]) -> ValueVec {
        let mut v = ValueVec::new();
        v.reserve(items.len());
        // SAFETY: `reserve` made room for `items.len()` values; each is
        // written before `len` counts it.
        unsafe {
            for (i, x) in items.iter().enumerate() {
                copy_value(v.ptr.as_ptr().add(i), x);
            }
        }
        v.len = items.len();
        v
    }

    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn capacity(&self) -> usize {
        self.cap
    }

    #[inline]
    pub fn as_slice(&self) -> &[Value] {
        // SAFETY: `ptr` is valid for `len` initialized values (or dangling
        // and `len == 0`).
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }

    #[inline]
    pub fn as_mut_slice(&mut self) -> &mut [Value] {
        // SAFETY: as in `as_slice`, and `&mut self` makes the access unique.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len) }
    }

    #[inline]
    pub fn get(&self, i: usize) -> Option<Value> {
        self.as_slice().get(i).copied()
    }

    pub fn push(&mut self, v: Value) {
        if self.len == self.cap {
            self.reserve(1);
        }
        // SAFETY: `len < cap` after `reserve`, so the slot is inside the allocation.
        unsafe { self.ptr.as_ptr().add(self.len).write(v) };
        self.len += 1;
    }

    pub fn pop(&mut self) -> Option<Value> {
        if self.len == 0 {
            return None;
        }
        self.len -= 1;
        // SAFETY: the slot at the old `len - 1` was initialized.
        Some(unsafe { self.ptr.as_ptr().add(self.len).read() })
    }

    /// Makes room for `extra` more values (at least doubling).
    pub fn reserve(&mut self, extra: usize) {
        let needed = self.len.checked_add(extra).expect("array too large");
        if needed <= self.cap {
            return;
        }
        let new_cap = needed.max(self.cap * 2).max(4);
        let new_layout = Layout::array::<Value>(new_cap).expect("array too large");
        // SAFETY: the layouts have non-zero size; when `cap > 0` the old
        // pointer came from this allocator with `old_layout`.
        let raw = unsafe {
            if self.cap == 0 {
                alloc::alloc(new_layout)
            } else {
                let old_layout = Layout::array::<Value>(self.cap).unwrap();
                alloc::realloc(self.ptr.as_ptr() as *mut u8, old_layout, new_layout.size())
            }
        };
        self.ptr = NonNull::new(raw as *mut Value)
            .unwrap_or_else(|| alloc::handle_alloc_error(new_layout));
        self.cap = new_cap;
    }
}

impl Default for ValueVec {
    fn default() -> Self {
        ValueVec::new()
    }
}

impl Drop for ValueVec {
    fn drop(&mut self) {
        if self.cap > 0 {
            // SAFETY: allocated by `reserve` with exactly this layout.
            unsafe {
                alloc::dealloc(
                    self.ptr.as_ptr() as *mut u8,
                    Layout::array::<Value>(self.cap).unwrap(),
                )
            };
        }
    }
}

/// The hash of a byte string (FxHash-style: rotate, xor, multiply).
pub fn hash_bytes(bytes: &[u8]) -> u64 {
    const K: u64 = 0x517c_c1b7_2722_0a95;
    let mut h: u64 = bytes.len() as u64;
    let mut chunks = bytes.chunks_exact(8);
    for c in &mut chunks {
        let w = u64::from_le_bytes(c.try_into().unwrap());
        h = (h.rotate_left(5) ^ w).wrapping_mul(K);
    }
    for &b in chunks.remainder() {
        h = (h.rotate_left(5) ^ b as u64).wrapping_mul(K);
    }
    h
}

// ---- typed access to objects ---------------------------------------------
//
// The VM's central invariant: a heap-tagged value that the running program
// can reach points at a live object of the kind its tag names. The GC only
// frees objects that no root reaches, so these accessors are sound as long
// as callers only use values they hold in roots (the stack, globals, ...).

/// The string object behind a `TAG_STRING` value.
#[inline]
pub fn str_obj<'a>(v: Value) -> &'a StrObj {
    debug_assert_eq!(v.tag, TAG_STRING);
    // SAFETY: the VM invariant above.
    unsafe { &*v.as_ptr::<StrObj>() }
}

/// The bytes of a `TAG_STRING` value.
#[inline]
pub fn str_bytes<'a>(v: Value) -> &'a [u8] {
    &str_obj(v).bytes
}

/// The array object behind a `TAG_ARRAY` value.
#[inline]
pub fn array_obj<'a>(v: Value) -> &'a mut ArrayObj {
    debug_assert_eq!(v.tag, TAG_ARRAY);
    // SAFETY: the VM invariant above; the VM is single-threaded and callers
    // keep the reference short-lived, so no two of them overlap.
    unsafe { &mut *v.as_ptr::<ArrayObj>() }
}

/// The map object behind a `TAG_MAP` value.
#[inline]
pub fn map_obj<'a>(v: Value) -> &'a mut MapObj {
    debug_assert_eq!(v.tag, TAG_MAP);
    // SAFETY: as in `array_obj`.
    unsafe { &mut *v.as_ptr::<MapObj>() }
}

/// The closure behind a `TAG_FUNCTION` value.
#[inline]
pub fn closure_obj<'a>(v: Value) -> &'a ClosureObj {
    debug_assert_eq!(v.tag, TAG_FUNCTION);
    // SAFETY: the VM invariant above.
    unsafe { &*v.as_ptr::<ClosureObj>() }
}

/// The runtime function a closure runs.
#[inline]
pub fn closure_func<'a>(c: &ClosureObj) -> &'a FuncObj {
    // SAFETY: function objects live as long as the VM.
    unsafe { &*c.func }
}

/// All objects, the allocation counters, and the mark/sweep machinery.
pub struct Heap {
    objects: Vec<NonNull<Header>>,
    gray: Vec<NonNull<Header>>,
    /// Bytes allocated since the last collection.
    allocated: usize,
    /// Live bytes found by the last collection.
    live: usize,
    threshold: usize,
    stress: bool,
    /// In stress mode: the address of every object, kept up to date as
    /// objects are made and freed, so that marking something else (a stale
    /// slot, a freed object) is caught at once instead of corrupting the
    /// allocator.
    known: Option<HashSet<usize, BuildHasherDefault<AddressHasher>>>,
    /// `--max-heap`: the most live bytes allowed after a collection.
    limit: usize,
    /// Number of collections so far (for tests and statistics).
    pub collections: usize,
}

/// Hashes the object addresses of stress mode's `known` set: one folded
/// multiply instead of SipHash, which made the set the slowest part of a
/// stress-mode collection (each one looks up every marked object).
#[derive(Default)]
struct AddressHasher(u64);

impl Hasher for AddressHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }

    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }

    fn write_u64(&mut self, n: u64) {
        let product = u128::from(self.0 ^ n) * 0x9e37_79b9_7f4a_7c15;
        self.0 = (product as u64) ^ ((product >> 64) as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

const MIN_THRESHOLD: usize = 4 << 20;

/// The runtime error of a program that needs more memory than it may use.
pub const OUT_OF_MEMORY: &str = "out of memory";

/// The longest string (or printed form) toyc builds, with or without
/// `--max-heap`: past it, `out of memory` is raised before allocating, so a
/// doubling loop cannot make the allocator abort the process.
pub const MAX_OBJECT_BYTES: usize = 1 << 31;

impl Heap {
    pub fn new(stress: bool) -> Heap {
        Heap {
            objects: Vec::new(),
            gray: Vec::new(),
            allocated: 0,
            live: 0,
            threshold: MIN_THRESHOLD,
            stress,
            known: stress.then(HashSet::default),
            limit: usize::MAX,
            collections: 0,
        }
    }

    /// Should the next allocation be preceded by a collection?
    #[inline]
    pub fn should_collect(&self) -> bool {
        self.stress || self.allocated > self.threshold
    }

    /// Sets `--max-heap`. Collections then also run before the heap could
    /// pass the limit, so [`Heap::over_limit`] notices in time.
    pub fn set_limit(&mut self, bytes: usize) {
        self.limit = bytes;
        self.threshold = self.threshold.min(bytes);
    }

    /// Did the last collection find more live bytes than the limit allows?
    pub fn over_limit(&self) -> bool {
        self.live > self.limit
    }

    /// The most bytes one string (or printed form) may have.
    pub fn object_limit(&self) -> usize {
        self.limit.min(MAX_OBJECT_BYTES)
    }

    /// `out of memory` if one object of `bytes` bytes could never fit.
    pub fn check_size(&self, bytes: usize) -> Result<(), String> {
        if bytes > self.limit.min(MAX_OBJECT_BYTES) {
            return Err(OUT_OF_MEMORY.to_string());
        }
        Ok(())
    }

    /// Number of live (not yet swept) objects.
    pub fn object_count(&self) -> usize {
        self.objects.len()
    }

    /// Counts memory that an existing object grew by (e.g. `push`).
    pub fn note_growth(&mut self, bytes: usize) {
        self.allocated += bytes;
    }

    /// Adds a new object to the list the sweep walks (and, in stress mode,
    /// to the known addresses).
    fn track(&mut self, h: *mut Header) {
        self.objects.push(NonNull::new(h).unwrap());
        if let Some(known) = &mut self.known {
            known.insert(h as usize);
        }
    }

    fn register<T>(&mut self, obj: Box<T>, tag: u64) -> Value {
        let ptr = Box::into_raw(obj);
        self.track(ptr as *mut Header);
        // SAFETY: `ptr` was just created from a live box; every object
        // starts with a `Header`.
        let size = unsafe { object_size(&*(ptr as *const Header)) };
        self.allocated += size;
        Value::object(tag, ptr)
    }

    // The `new_*` functions never collect; the VM decides when to collect
    // (before allocating), so an object is never swept while being built.

    pub fn new_string(&mut self, bytes: Box<[u8]>) -> Value {
        let obj = Box::new(StrObj {
            header: Header::new(Kind::Str),
            hash: hash_bytes(&bytes),
            bytes,
        });
        self.register(obj, TAG_STRING)
    }

    pub fn new_array(&mut self, items: ValueVec) -> Value {
        let obj = Box::new(ArrayObj {
            header: Header::new(Kind::Array),
            items,
        });
        self.register(obj, TAG_ARRAY)
    }

    /// A new array of `items`, VM stack slots that compiled code has just
    /// written: [`ValueVec::from_stored_slots`], built here so that the
    /// vector's fields go into the object from registers (passed through
    /// memory they too would be read back as one stalling 16-byte load).
    pub fn new_array_of_stored_slots(&mut self, items: &[Value]) -> Value {
        let obj = Box::new(ArrayObj {
            header: Header::new(Kind::Array),
            items: ValueVec::from_stored_slots(items),
        });
        self.register(obj, TAG_ARRAY)
    }

    pub fn new_map(&mut self, map: Map) -> Value {
        let obj = Box::new(MapObj {
            header: Header::new(Kind::Map),
            map,
        });
        self.register(obj, TAG_MAP)
    }

    pub fn new_closure(&mut self, func: *const FuncObj, upvals: Box<[*mut UpvalObj]>) -> Value {
        let upvals_ptr = upvals.as_ptr();
        let obj = Box::new(ClosureObj {
            header: Header::new(Kind::Closure),
            func,
            upvals,
            upvals_ptr,
        });
        self.register(obj, TAG_FUNCTION)
    }

    /// A new open upvalue pointing at `slot`.
    pub fn new_upval(&mut self, slot: *mut Value) -> *mut UpvalObj {
        let obj = Box::new(UpvalObj {
            header: Header::new(Kind::Upval),
            location: slot,
            closed: Value::NIL,
        });
        let ptr = Box::into_raw(obj);
        self.track(ptr as *mut Header);
        self.allocated += std::mem::size_of::<UpvalObj>();
        ptr
    }

    // ---- collection ------------------------------------------------------

    /// Runs a full collection. `mark_roots` must call [`Heap::mark_value`] /
    /// [`Heap::mark_upval`] for every root.
    pub fn collect(&mut self, mark_roots: impl FnOnce(&mut Heap)) {
        mark_roots(self);
        self.trace();
        self.sweep();
        self.collections += 1;
    }

    #[inline]
    pub fn mark_value(&mut self, v: Value) {
        if is_heap_tag(v.tag) {
            self.mark_header(v.as_ptr::<Header>());
        }
    }

    pub fn mark_upval(&mut self, u: *mut UpvalObj) {
        self.mark_header(u as *mut Header);
    }

    fn mark_header(&mut self, h: *mut Header) {
        if let Some(known) = &self.known {
            assert!(
                known.contains(&(h as usize)),
                "the GC was asked to mark {h:?}, which is not a live object"
            );
        }
        // SAFETY: roots and traced fields point at live objects.
        let header = unsafe { &*h };
        if !header.marked.get() {
            header.marked.set(true);
            self.gray.push(NonNull::new(h).unwrap());
        }
    }

    /// Marks everything reachable from the gray objects.
    fn trace(&mut self) {
        while let Some(h) = self.gray.pop() {
            let h = h.as_ptr();
            // SAFETY: gray objects are live; the kind says the real type.
            unsafe {
                match (*h).kind {
                    Kind::Str => {}
                    Kind::Array => {
                        let a = &*(h as *const ArrayObj);
                        for &v in a.items.as_slice() {
                            self.mark_value(v);
                        }
                    }
                    Kind::Map => {
                        let m = &*(h as *const MapObj);
                        for (k, v) in m.map.iter() {
                            self.mark_value(k);
                            self.mark_value(v);
                        }
                    }
                    Kind::Closure => {
                        let c = &*(h as *const ClosureObj);
                        for &u in c.upvals.iter() {
                            self.mark_upval(u);
                        }
                    }
                    Kind::Upval => {
                        let u = &*(h as *const UpvalObj);
                        // Open upvalues' slots are marked with the stack.
                        self.mark_value(u.closed);
                    }
                }
            }
        }
    }

    /// Frees unmarked objects and clears the marks of the survivors.
    fn sweep(&mut self) {
        let mut live = 0;
        let known = &mut self.known;
        self.objects.retain(|&h| {
            // SAFETY: every listed object is live until freed right here.
            unsafe {
                let header = &*h.as_ptr();
                if header.marked.get() {
                    header.marked.set(false);
                    live += object_size(header);
                    true
                } else {
                    if let Some(known) = known.as_mut() {
                        known.remove(&(h.as_ptr() as usize));
                    }
                    free_object(h.as_ptr());
                    false
                }
            }
        });
        self.live = live;
        self.allocated = 0;
        self.threshold = (live * 2)
            .max(MIN_THRESHOLD)
            .min(self.limit.saturating_sub(live));
    }
}

impl Drop for Heap {
    fn drop(&mut self) {
        for &h in &self.objects {
            // SAFETY: the heap owns all its objects; nothing uses them after.
            unsafe { free_object(h.as_ptr()) };
        }
    }
}

/// Approximate bytes an object occupies (for the collection trigger).
///
/// # Safety
/// `h` must be the header of a live object.
unsafe fn object_size(h: &Header) -> usize {
    let p = h as *const Header;
    // SAFETY: the caller guarantees a live object of kind `h.kind`.
    unsafe {
        match h.kind {
            Kind::Str => std::mem::size_of::<StrObj>() + (&*(p as *const StrObj)).bytes.len(),
            Kind::Array => {
                std::mem::size_of::<ArrayObj>() + (&*(p as *const ArrayObj)).items.capacity() * 16
            }
            Kind::Map => std::mem::size_of::<MapObj>() + (&*(p as *const MapObj)).map.heap_bytes(),
            Kind::Closure => {
                std::mem::size_of::<ClosureObj>() + (&*(p as *const ClosureObj)).upvals.len() * 8
            }
            Kind::Upval => std::mem::size_of::<UpvalObj>(),
        }
    }
}

/// # Safety
/// `h` must be a live object created by [`Heap::register`] that nothing will
/// use again.
unsafe fn free_object(h: *mut Header) {
    // SAFETY: the caller guarantees `h` came from `Box::into_raw` of the type
    // its kind names.
    unsafe {
        match (*h).kind {
            Kind::Str => drop(Box::from_raw(h as *mut StrObj)),
            Kind::Array => drop(Box::from_raw(h as *mut ArrayObj)),
            Kind::Map => drop(Box::from_raw(h as *mut MapObj)),
            Kind::Closure => drop(Box::from_raw(h as *mut ClosureObj)),
            Kind::Upval => drop(Box::from_raw(h as *mut UpvalObj)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn string(heap: &mut Heap, s: &str) -> Value {
        heap.new_string(s.as_bytes().into())
    }

    #[test]
    fn unreachable_objects_are_freed_and_roots_survive() {
        let mut heap = Heap::new(false);
        let keep = string(&mut heap, "keep");
        let _drop = string(&mut heap, "drop");
        let arr = heap.new_array(ValueVec::from_slice(&[keep]));
        assert_eq!(heap.object_count(), 3);
        heap.collect(|h| h.mark_value(arr));
        assert_eq!(heap.object_count(), 2);
        assert_eq!(str_bytes(array_obj(arr).items.get(0).unwrap()), b"keep");
        heap.collect(|_| {});
        assert_eq!(heap.object_count(), 0);
    }

    #[test]
    fn cycles_are_collected() {
        let mut heap = Heap::new(false);
        let a = heap.new_array(ValueVec::new());
        let b = heap.new_array(ValueVec::new());
        array_obj(a).items.push(b);
        array_obj(b).items.push(a);
        heap.collect(|h| h.mark_value(a));
        assert_eq!(heap.object_count(), 2);
        heap.collect(|_| {});
        assert_eq!(heap.object_count(), 0);
    }

    #[test]
    fn deep_nesting_does_not_overflow_the_marker() {
        let mut heap = Heap::new(false);
        let mut v = heap.new_array(ValueVec::new());
        for _ in 0..1_000_000 {
            v = heap.new_array(ValueVec::from_slice(&[v]));
        }
        heap.collect(|h| h.mark_value(v));
        assert_eq!(heap.object_count(), 1_000_001);
    }

    #[test]
    fn closed_upvalues_keep_their_value_alive() {
        let mut heap = Heap::new(false);
        let s = string(&mut heap, "captured");
        let u = heap.new_upval(std::ptr::null_mut());
        // SAFETY: `u` is live; closing it points `location` at `closed`.
        unsafe {
            (*u).closed = s;
            (*u).location = &mut (*u).closed;
        }
        heap.collect(|h| h.mark_upval(u));
        assert_eq!(heap.object_count(), 2);
    }

    #[test]
    fn threshold_grows_with_live_size() {
        let mut heap = Heap::new(false);
        assert!(!heap.should_collect());
        let big = heap.new_string(vec![0u8; 10 << 20].into());
        assert!(heap.should_collect());
        heap.collect(|h| h.mark_value(big));
        assert!(!heap.should_collect());
        assert!(Heap::new(true).should_collect());
    }

    #[test]
    #[should_panic(expected = "which is not a live object")]
    fn stress_mode_catches_a_root_that_was_freed() {
        let mut heap = Heap::new(true);
        let keep = string(&mut heap, "keep");
        let stale = string(&mut heap, "freed by the first collection");
        heap.collect(|h| h.mark_value(keep));
        assert_eq!(heap.object_count(), 1);
        // A root the first collection did not see: the address is stale.
        heap.collect(|h| {
            h.mark_value(keep);
            h.mark_value(stale);
        });
    }

    #[test]
    fn stress_mode_knows_every_object_it_made_and_kept() {
        let mut heap = Heap::new(true);
        let mut kept = Vec::new();
        for i in 0..1000 {
            let s = string(&mut heap, &i.to_string());
            if i % 3 == 0 {
                kept.push(s);
            }
            heap.collect(|h| kept.iter().for_each(|&v| h.mark_value(v)));
        }
        assert_eq!(heap.object_count(), kept.len());
        assert_eq!(heap.known.as_ref().map(|k| k.len()), Some(kept.len()));
    }

    #[test]
    fn value_vec_push_pop() {
        let mut v = ValueVec::new();
        for i in 0..100 {
            v.push(Value::int(i));
        }
        assert_eq!(v.len(), 100);
        assert_eq!(v.pop().unwrap().as_int(), 99);
        assert_eq!(v.get(5).unwrap().as_int(), 5);
        assert!(v.get(99).is_none());
    }
}
