//! The Toy value: a 16-byte tagged pair that the interpreter, the GC and the
//! JIT all read and write directly.
//!
//! ```text
//!   offset 0            offset 8
//!   +-------------------+---------------------------------------------+
//!   | tag: u64          | payload: u64                                |
//!   +-------------------+---------------------------------------------+
//!     TAG_NIL      = 0    0
//!     TAG_BOOL     = 1    0 (false) or 1 (true)
//!     TAG_INT      = 2    the i64, two's complement
//!     TAG_FLOAT    = 3    the f64's bits
//!     TAG_STRING   = 4    *mut StrObj     ┐
//!     TAG_ARRAY    = 5    *mut ArrayObj   │ heap objects: tags 4..=7,
//!     TAG_MAP      = 6    *mut MapObj     │ payload points at the object's
//!     TAG_FUNCTION = 7    *mut ClosureObj ┘ header (see `heap.rs`)
//!     TAG_BUILTIN  = 8    builtin number (index into BUILTIN_NAMES)
//!     TAG_UNDEF    = 9    0: internal marker, "global not yet defined" and
//!                         "deleted map entry"; never visible to programs
//! ```
//!
//! Zeroed memory is `nil`, so a stack allocated with `alloc_zeroed` starts
//! out full of valid values.
//!
//! Why 16 bytes and not NaN-boxing in 8: Toy ints are full 64-bit integers
//! that wrap modulo 2^64. NaN-boxing has only ~51 payload bits, so ints would
//! need a second representation (boxed bigger ints) and every arithmetic fast
//! path an overflow-into-box check. With a separate tag word an int is its
//! machine word, the JIT's int fast path is `cmp tag; add; mov`, and the tag
//! test is one compare against a small constant. The cost is twice the memory
//! traffic for stack slots and array elements, which the tests show is cheap
//! next to dispatch.

use std::fmt;

pub const TAG_NIL: u64 = 0;
pub const TAG_BOOL: u64 = 1;
pub const TAG_INT: u64 = 2;
pub const TAG_FLOAT: u64 = 3;
pub const TAG_STRING: u64 = 4;
pub const TAG_ARRAY: u64 = 5;
pub const TAG_MAP: u64 = 6;
pub const TAG_FUNCTION: u64 = 7;
pub const TAG_BUILTIN: u64 = 8;
pub const TAG_UNDEF: u64 = 9;

/// A Toy value. `Copy`: values that point at heap objects are kept alive by
/// the GC's roots, not by Rust ownership.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct Value {
    pub tag: u64,
    pub payload: u64,
}

// The JIT relies on this layout.
const _: () = assert!(std::mem::size_of::<Value>() == 16);
const _: () = assert!(std::mem::align_of::<Value>() == 8);
const _: () = assert!(std::mem::offset_of!(Value, tag) == 0);
const _: () = assert!(std::mem::offset_of!(Value, payload) == 8);

impl Value {
    pub const NIL: Value = Value {
        tag: TAG_NIL,
        payload: 0,
    };
    pub const TRUE: Value = Value {
        tag: TAG_BOOL,
        payload: 1,
    };
    pub const FALSE: Value = Value {
        tag: TAG_BOOL,
        payload: 0,
    };
    pub const UNDEF: Value = Value {
        tag: TAG_UNDEF,
        payload: 0,
    };

    #[inline(always)]
    pub fn int(i: i64) -> Value {
        Value {
            tag: TAG_INT,
            payload: i as u64,
        }
    }

    #[inline(always)]
    pub fn float(f: f64) -> Value {
        Value {
            tag: TAG_FLOAT,
            payload: f.to_bits(),
        }
    }

    #[inline(always)]
    pub fn bool(b: bool) -> Value {
        Value {
            tag: TAG_BOOL,
            payload: b as u64,
        }
    }

    pub fn builtin(index: u32) -> Value {
        Value {
            tag: TAG_BUILTIN,
            payload: index as u64,
        }
    }

    /// A value pointing at a heap object of the kind `tag` names.
    #[inline(always)]
    pub fn object<T>(tag: u64, ptr: *mut T) -> Value {
        debug_assert!(is_heap_tag(tag));
        Value {
            tag,
            payload: ptr as u64,
        }
    }

    #[inline(always)]
    pub fn as_int(self) -> i64 {
        self.payload as i64
    }

    #[inline(always)]
    pub fn as_float(self) -> f64 {
        f64::from_bits(self.payload)
    }

    #[inline(always)]
    pub fn as_bool(self) -> bool {
        self.payload != 0
    }

    /// The payload as a pointer (only meaningful for heap tags).
    #[inline(always)]
    pub fn as_ptr<T>(self) -> *mut T {
        self.payload as *mut T
    }

    #[inline(always)]
    pub fn is_int(self) -> bool {
        self.tag == TAG_INT
    }

    #[inline(always)]
    pub fn is_heap(self) -> bool {
        is_heap_tag(self.tag)
    }

    /// Only `nil` and `false` are falsy.
    #[inline(always)]
    pub fn is_truthy(self) -> bool {
        !(self.tag == TAG_NIL || (self.tag == TAG_BOOL && self.payload == 0))
    }

    /// The number as a float, if it is an int or a float.
    pub fn as_number(self) -> Option<f64> {
        match self.tag {
            TAG_INT => Some(self.as_int() as f64),
            TAG_FLOAT => Some(self.as_float()),
            _ => None,
        }
    }

    /// Identical tag and payload (identity for heap objects).
    #[inline(always)]
    pub fn bits_eq(self, other: Value) -> bool {
        self.tag == other.tag && self.payload == other.payload
    }

    /// The name `type()` returns.
    pub fn type_name(self) -> &'static str {
        match self.tag {
            TAG_NIL => "nil",
            TAG_BOOL => "bool",
            TAG_INT => "int",
            TAG_FLOAT => "float",
            TAG_STRING => "string",
            TAG_ARRAY => "array",
            TAG_MAP => "map",
            TAG_FUNCTION | TAG_BUILTIN => "function",
            _ => "undefined",
        }
    }
}

/// Tags 4..=7 carry a pointer to a GC object.
#[inline(always)]
pub fn is_heap_tag(tag: u64) -> bool {
    tag.wrapping_sub(TAG_STRING) < 4
}

impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.tag {
            TAG_NIL => write!(f, "nil"),
            TAG_BOOL => write!(f, "{}", self.as_bool()),
            TAG_INT => write!(f, "{}", self.as_int()),
            TAG_FLOAT => write!(f, "{:?}", self.as_float()),
            TAG_BUILTIN => write!(f, "<builtin #{}>", self.payload),
            TAG_UNDEF => write!(f, "<undef>"),
            _ => write!(f, "<{} @{:#x}>", self.type_name(), self.payload),
        }
    }
}

/// Copies a value as two 8-byte moves. A value is often read right after
/// it was written as two 8-byte stores (tag, payload): by a fused
/// instruction, or by a Rust function returning a `Result<Value, _>`
/// through memory. The CPU cannot forward two such stores to the one
/// 16-byte load a plain copy compiles to: the load would stall until both
/// stores retire.
///
/// # Safety
/// `dst` and `src` point at valid values.
#[inline(always)]
pub unsafe fn copy_value(dst: *mut Value, src: *const Value) {
    // SAFETY: the caller passes valid slots. Volatile keeps the two loads
    // from being merged into one.
    unsafe {
        let tag = std::ptr::read_volatile(&raw const (*src).tag);
        let payload = std::ptr::read_volatile(&raw const (*src).payload);
        dst.write(Value { tag, payload });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zeroed_is_nil() {
        // SAFETY: Value is plain old data; all-zero bits are a valid value.
        let v: Value = unsafe { std::mem::zeroed() };
        assert_eq!(v.tag, TAG_NIL);
        assert!(!v.is_truthy());
    }

    #[test]
    fn truthiness() {
        assert!(!Value::NIL.is_truthy());
        assert!(!Value::FALSE.is_truthy());
        assert!(Value::TRUE.is_truthy());
        assert!(Value::int(0).is_truthy());
        assert!(Value::float(0.0).is_truthy());
    }

    #[test]
    fn payloads_round_trip() {
        assert_eq!(Value::int(i64::MIN).as_int(), i64::MIN);
        assert_eq!(Value::float(-0.0).as_float().to_bits(), (-0.0f64).to_bits());
        assert!(Value::bool(true).as_bool());
        assert!(is_heap_tag(TAG_STRING) && is_heap_tag(TAG_FUNCTION));
        assert!(!is_heap_tag(TAG_BUILTIN) && !is_heap_tag(TAG_NIL));
    }
}
