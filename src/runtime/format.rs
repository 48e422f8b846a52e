//! Printed forms of values (`print`, `str`, the REPL).
//!
//! Strings print raw at top level and quoted inside containers. The printer
//! walks containers with an explicit work stack instead of recursion, so a
//! deeply nested array cannot overflow the Rust stack; a container that is
//! being printed and shows up inside itself prints as `[...]` / `{...}`.

use std::collections::HashSet;
use std::fmt::Write as _;

use super::heap::{array_obj, closure_func, closure_obj, map_obj, str_bytes};
use super::value::{
    TAG_ARRAY, TAG_BOOL, TAG_BUILTIN, TAG_FLOAT, TAG_FUNCTION, TAG_INT, TAG_MAP, TAG_NIL,
    TAG_STRING, TAG_UNDEF, Value,
};
use crate::bytecode::BUILTIN_NAMES;

/// A float as Rust's `{:?}` prints it: `1.0`, `0.1`, `1e16`, `NaN`, `-inf`.
pub fn format_float(f: f64) -> String {
    format!("{f:?}")
}

/// Pending output of the printer.
enum Work {
    Value {
        v: Value,
        quoted: bool,
    },
    Text(&'static str),
    /// The container with this address is done printing.
    Leave(u64),
}

/// Appends the printed form of `v` to `out`; `quoted` for the form used
/// inside containers.
pub fn write_value(out: &mut Vec<u8>, v: Value, quoted: bool) {
    // Past the limit the text is cut short (for error messages and the REPL).
    let _ = write_value_limited(out, v, quoted, super::heap::MAX_OBJECT_BYTES);
}

/// [`write_value`] that gives up with `out of memory` once `out` holds more than
/// `limit` bytes: an array holding the same array twice, nested 60 deep,
/// prints 2^60 elements.
pub fn write_value_limited(
    out: &mut Vec<u8>,
    v: Value,
    quoted: bool,
    limit: usize,
) -> Result<(), String> {
    let mut work = vec![Work::Value { v, quoted }];
    let mut open: HashSet<u64> = HashSet::new();
    while let Some(item) = work.pop() {
        if out.len() > limit {
            return Err(super::heap::OUT_OF_MEMORY.to_string());
        }
        match item {
            Work::Text(t) => out.extend_from_slice(t.as_bytes()),
            Work::Leave(p) => {
                open.remove(&p);
            }
            Work::Value { v, quoted } => {
                if (v.tag == TAG_ARRAY || v.tag == TAG_MAP) && !open.insert(v.payload) {
                    let t: &[u8] = if v.tag == TAG_ARRAY {
                        b"[...]"
                    } else {
                        b"{...}"
                    };
                    out.extend_from_slice(t);
                } else {
                    write_one(out, v, quoted, &mut work);
                }
            }
        }
    }
    Ok(())
}

/// Writes a scalar, or the opening of a container and schedules the rest.
fn write_one(out: &mut Vec<u8>, v: Value, quoted: bool, work: &mut Vec<Work>) {
    match v.tag {
        TAG_NIL => out.extend_from_slice(b"nil"),
        TAG_BOOL => out.extend_from_slice(if v.as_bool() { b"true" } else { b"false" }),
        TAG_INT => out.extend_from_slice(v.as_int().to_string().as_bytes()),
        TAG_FLOAT => out.extend_from_slice(format_float(v.as_float()).as_bytes()),
        TAG_STRING if quoted => write_quoted(out, str_bytes(v)),
        TAG_STRING => out.extend_from_slice(str_bytes(v)),
        TAG_ARRAY => {
            out.push(b'[');
            work.push(Work::Leave(v.payload));
            work.push(Work::Text("]"));
            let items = array_obj(v).items.as_slice();
            for (i, &x) in items.iter().enumerate().rev() {
                work.push(Work::Value { v: x, quoted: true });
                if i > 0 {
                    work.push(Work::Text(", "));
                }
            }
        }
        TAG_MAP => {
            out.push(b'{');
            work.push(Work::Leave(v.payload));
            work.push(Work::Text("}"));
            let entries: Vec<_> = map_obj(v).map.iter().collect();
            for (i, &(k, x)) in entries.iter().enumerate().rev() {
                work.push(Work::Value { v: x, quoted: true });
                work.push(Work::Text(": "));
                work.push(Work::Value { v: k, quoted: true });
                if i > 0 {
                    work.push(Work::Text(", "));
                }
            }
        }
        TAG_FUNCTION => {
            let func = closure_func(closure_obj(v));
            match &func.proto.name {
                Some(name) => out.extend_from_slice(format!("<fn {name}>").as_bytes()),
                None => out.extend_from_slice(b"<fn>"),
            }
        }
        TAG_BUILTIN => {
            let name = BUILTIN_NAMES[v.payload as usize];
            out.extend_from_slice(format!("<builtin {name}>").as_bytes());
        }
        TAG_UNDEF => out.extend_from_slice(b"<undefined>"),
        _ => unreachable!("bad value tag {}", v.tag),
    }
}

/// A string in quotes with `\\ \" \n \t \r \0` and other control characters
/// escaped; bytes that are not UTF-8 are written as they are.
pub fn write_quoted(out: &mut Vec<u8>, bytes: &[u8]) {
    out.push(b'"');
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\\' => out.extend_from_slice(b"\\\\"),
                '"' => out.extend_from_slice(b"\\\""),
                '\n' => out.extend_from_slice(b"\\n"),
                '\t' => out.extend_from_slice(b"\\t"),
                '\r' => out.extend_from_slice(b"\\r"),
                '\0' => out.extend_from_slice(b"\\0"),
                c if c.is_control() => {
                    let mut s = String::new();
                    let _ = write!(s, "\\u{{{:x}}}", c as u32);
                    out.extend_from_slice(s.as_bytes());
                }
                c => {
                    let mut buf = [0u8; 4];
                    out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                }
            }
        }
        out.extend_from_slice(chunk.invalid());
    }
    out.push(b'"');
}

/// The printed form as bytes (`quoted`: as inside a container).
pub fn to_bytes(v: Value, quoted: bool) -> Vec<u8> {
    let mut out = Vec::new();
    write_value(&mut out, v, quoted);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::heap::{Heap, ValueVec};
    use crate::runtime::map::Map;

    fn show(v: Value) -> String {
        String::from_utf8(to_bytes(v, false)).unwrap()
    }

    #[test]
    fn floats_print_like_rust_debug() {
        let cases = [
            (1.0, "1.0"),
            (0.1, "0.1"),
            (1e16, "1e16"),
            (1e-7, "1e-7"),
            (f64::NAN, "NaN"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
            (-0.0, "-0.0"),
            (123456.5, "123456.5"),
        ];
        for (f, s) in cases {
            assert_eq!(show(Value::float(f)), s);
        }
    }

    #[test]
    fn scalars() {
        assert_eq!(show(Value::NIL), "nil");
        assert_eq!(show(Value::TRUE), "true");
        assert_eq!(show(Value::int(-42)), "-42");
        assert_eq!(show(Value::builtin(1)), "<builtin len>");
    }

    #[test]
    fn containers_quote_strings() {
        let mut heap = Heap::new(false);
        let s = heap.new_string(b"a\n\"\x1b\\\0\t\r\xc3\xa9".to_vec().into());
        assert_eq!(show(s), "a\n\"\x1b\\\0\t\r\u{e9}");
        let inner = heap.new_array(ValueVec::from_slice(&[Value::int(2)]));
        let arr = heap.new_array(ValueVec::from_slice(&[Value::int(1), s, inner]));
        assert_eq!(show(arr), r#"[1, "a\n\"\u{1b}\\\0\t\ré", [2]]"#);
        let mut map = Map::new();
        map.insert(s, Value::int(1));
        map.insert(Value::int(2), Value::TRUE);
        let m = heap.new_map(map);
        assert_eq!(show(m), r#"{"a\n\"\u{1b}\\\0\t\ré": 1, 2: true}"#);
        assert_eq!(show(heap.new_map(Map::new())), "{}");
        assert_eq!(show(heap.new_array(ValueVec::new())), "[]");
    }

    #[test]
    fn self_containing_containers() {
        let mut heap = Heap::new(false);
        let a = heap.new_array(ValueVec::new());
        array_obj(a).items.push(a);
        assert_eq!(show(a), "[[...]]");
        let m = heap.new_map(Map::new());
        map_obj(m).map.insert(Value::int(1), m);
        assert_eq!(show(m), "{1: {...}}");
        // The same array twice side by side is not a cycle.
        let b = heap.new_array(ValueVec::from_slice(&[Value::int(1)]));
        let c = heap.new_array(ValueVec::from_slice(&[b, b]));
        assert_eq!(show(c), "[[1], [1]]");
    }

    #[test]
    fn deep_nesting_prints_without_recursion() {
        let mut heap = Heap::new(false);
        let mut v = heap.new_array(ValueVec::new());
        for _ in 0..200_000 {
            v = heap.new_array(ValueVec::from_slice(&[v]));
        }
        assert_eq!(to_bytes(v, false).len(), 2 * 200_001);
    }
}
