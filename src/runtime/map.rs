//! Toy's map: an insertion-ordered hash map.
//!
//! Entries live in a `Vec` in insertion order; a separate open-addressing
//! index (linear probing) maps a hash to an entry number. Deleting marks the
//! entry dead (its key becomes `UNDEF`) so the others keep their order; dead
//! entries are dropped when the index is rebuilt, which happens when it
//! fills up or when dead entries outnumber live ones. All operations are
//! O(1) on average, deletion amortized.
//!
//! Keys are ints, strings (compared by content, using the string's cached
//! hash) and bools. The caller checks the key type (see `ops::check_key`).
//!
//! # Layout for compiled code
//!
//! The JIT's field access reads a map's entries itself when the access
//! site's hint (see [`Map::get_hinted`]) hits. `Map` is `#[repr(C)]` and
//! starts with a copy of the entries' pointer and length (`view_ptr`,
//! `view_len`), refreshed whenever `entries` grows or shrinks (a `Vec`'s
//! own layout is not fixed); `Entry` is `#[repr(C)]` too. The offsets are
//! the `MAP_*` and `ENTRY_*` constants.

use std::cell::Cell;

use super::heap::{str_bytes, str_obj};
use super::value::{TAG_BOOL, TAG_INT, TAG_STRING, TAG_UNDEF, Value};

#[repr(C)]
#[derive(Clone, Copy)]
struct Entry {
    hash: u64,
    key: Value,
    value: Value,
}

/// The empty marker in `index`; other slots hold an entry number + 1.
const EMPTY: u32 = 0;

#[repr(C)]
pub struct Map {
    /// `entries.as_ptr()` and `entries.len()`, for compiled code (see the
    /// module docs); [`Map::sync_view`] keeps them current.
    view_ptr: *const Entry,
    view_len: usize,
    entries: Vec<Entry>,
    index: Vec<u32>,
    live: usize,
}

impl Default for Map {
    fn default() -> Map {
        Map {
            view_ptr: std::ptr::null(),
            view_len: 0,
            entries: Vec::new(),
            index: Vec::new(),
            live: 0,
        }
    }
}

/// Byte offsets compiled code uses: inside `Map`, the entries pointer and
/// length; inside an entry, the key and the value; and an entry's size.
pub const MAP_ENTRIES_PTR: usize = std::mem::offset_of!(Map, view_ptr);
pub const MAP_ENTRIES_LEN: usize = std::mem::offset_of!(Map, view_len);
pub const ENTRY_KEY: usize = std::mem::offset_of!(Entry, key);
pub const ENTRY_VALUE: usize = std::mem::offset_of!(Entry, value);
pub const ENTRY_SIZE: usize = std::mem::size_of::<Entry>();

/// The hash of a valid key.
pub fn key_hash(k: Value) -> u64 {
    match k.tag {
        TAG_STRING => str_obj(k).hash,
        TAG_BOOL => 0x9e37_79b9 ^ k.payload,
        _ => k.payload,
    }
}

fn key_eq(a: Value, b: Value) -> bool {
    a.tag == b.tag
        && match a.tag {
            TAG_INT | TAG_BOOL => a.payload == b.payload,
            TAG_STRING => a.payload == b.payload || str_bytes(a) == str_bytes(b),
            _ => false,
        }
}

impl Map {
    pub fn new() -> Map {
        Map::default()
    }

    /// Number of live entries.
    pub fn len(&self) -> usize {
        self.live
    }

    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    /// Live `(key, value)` pairs in insertion order.
    pub fn iter(&self) -> impl Iterator<Item = (Value, Value)> + '_ {
        self.entries
            .iter()
            .filter(|e| e.key.tag != TAG_UNDEF)
            .map(|e| (e.key, e.value))
    }

    pub fn keys(&self) -> impl Iterator<Item = Value> + '_ {
        self.iter().map(|(k, _)| k)
    }

    pub fn get(&self, key: Value) -> Option<Value> {
        self.find(key, key_hash(key)).map(|i| self.entries[i].value)
    }

    /// `get` for a field access site that remembers, in `hint`, the entry
    /// where it last found its key. Maps built the same way keep their
    /// fields at the same entry numbers, so the hint usually hits, and a
    /// hit costs one comparison: field names are string constants, which
    /// the VM interns, so the same name is the same pointer.
    pub fn get_hinted(&self, key: Value, hint: &Cell<u32>) -> Option<Value> {
        self.find_hinted(key, hint).map(|i| self.entries[i].value)
    }

    /// `insert` with a hint, as in [`Map::get_hinted`].
    pub fn insert_hinted(&mut self, key: Value, value: Value, hint: &Cell<u32>) {
        match self.find_hinted(key, hint) {
            Some(i) => self.entries[i].value = value,
            None => {
                self.push_new(key, key_hash(key), value);
                hint.set(self.entries.len() as u32 - 1);
            }
        }
    }

    fn find_hinted(&self, key: Value, hint: &Cell<u32>) -> Option<usize> {
        let h = hint.get() as usize;
        if let Some(e) = self.entries.get(h)
            && e.key.tag == key.tag
            && e.key.payload == key.payload
        {
            return Some(h);
        }
        let i = self.find(key, key_hash(key))?;
        hint.set(i as u32);
        Some(i)
    }

    pub fn contains(&self, key: Value) -> bool {
        self.find(key, key_hash(key)).is_some()
    }

    /// Inserts or updates (an update keeps the key's position).
    pub fn insert(&mut self, key: Value, value: Value) {
        let hash = key_hash(key);
        if let Some(i) = self.find(key, hash) {
            self.entries[i].value = value;
            return;
        }
        self.push_new(key, hash, value);
    }

    /// Appends an entry for `key`, which is not in the map.
    fn push_new(&mut self, key: Value, hash: u64, value: Value) {
        if (self.entries.len() + 1) * 2 > self.index.len() {
            self.rebuild(self.live + 1);
        }
        self.entries.push(Entry { hash, key, value });
        self.sync_view();
        let n = self.entries.len() as u32;
        self.place(hash, n);
        self.live += 1;
    }

    /// Removes `key`, returning its value.
    pub fn remove(&mut self, key: Value) -> Option<Value> {
        let i = self.find(key, key_hash(key))?;
        let value = self.entries[i].value;
        self.entries[i].key = Value::UNDEF;
        self.entries[i].value = Value::NIL;
        self.live -= 1;
        let dead = self.entries.len() - self.live;
        if dead > 8 && dead > self.live {
            self.rebuild(self.live);
        }
        Some(value)
    }

    /// Approximate heap bytes owned (for the GC trigger).
    pub fn heap_bytes(&self) -> usize {
        self.entries.capacity() * std::mem::size_of::<Entry>() + self.index.capacity() * 4
    }

    /// Refreshes the entries' pointer and length for compiled code, after
    /// `entries` changed length (and so perhaps moved).
    fn sync_view(&mut self) {
        self.view_ptr = self.entries.as_ptr();
        self.view_len = self.entries.len();
    }

    fn mask(&self) -> usize {
        self.index.len() - 1
    }

    fn start(&self, hash: u64) -> usize {
        // Fibonacci hashing spreads ints that differ only in high bits.
        (hash.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 32) as usize & self.mask()
    }

    fn find(&self, key: Value, hash: u64) -> Option<usize> {
        if self.index.is_empty() {
            return None;
        }
        let mut pos = self.start(hash);
        loop {
            let slot = self.index[pos];
            if slot == EMPTY {
                return None;
            }
            let i = (slot - 1) as usize;
            let e = &self.entries[i];
            if e.hash == hash && key_eq(e.key, key) {
                return Some(i);
            }
            pos = (pos + 1) & self.mask();
        }
    }

    /// Puts entry number `n` (1-based) into the first free index slot.
    fn place(&mut self, hash: u64, n: u32) {
        let mut pos = self.start(hash);
        while self.index[pos] != EMPTY {
            pos = (pos + 1) & self.mask();
        }
        self.index[pos] = n;
    }

    /// Drops dead entries and rebuilds the index with room for `want` entries.
    fn rebuild(&mut self, want: usize) {
        self.entries.retain(|e| e.key.tag != TAG_UNDEF);
        self.sync_view();
        let cap = (want.max(4) * 2).next_power_of_two();
        self.index.clear();
        self.index.resize(cap, EMPTY);
        for i in 0..self.entries.len() {
            self.place(self.entries[i].hash, i as u32 + 1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::heap::Heap;

    /// Compiled code reads `view_ptr`/`view_len` instead of the `Vec`.
    #[test]
    fn the_view_follows_the_entries() {
        let mut m = Map::new();
        let check = |m: &Map| {
            assert_eq!(m.view_ptr, m.entries.as_ptr());
            assert_eq!(m.view_len, m.entries.len());
        };
        for i in 0..100 {
            m.insert(Value::int(i), Value::int(i));
            check(&m);
        }
        for i in 0..95 {
            m.remove(Value::int(i));
            check(&m);
        }
        m.insert(Value::int(7), Value::int(7));
        check(&m);
    }

    fn ints(m: &Map) -> Vec<i64> {
        m.keys().map(|k| k.as_int()).collect()
    }

    #[test]
    fn insert_get_update_keeps_position() {
        let mut m = Map::new();
        for i in 0..100 {
            m.insert(Value::int(i * 7919), Value::int(i));
        }
        assert_eq!(m.len(), 100);
        assert_eq!(m.get(Value::int(7919 * 5)).unwrap().as_int(), 5);
        m.insert(Value::int(0), Value::int(-1));
        assert_eq!(ints(&m)[0], 0);
        assert_eq!(m.get(Value::int(0)).unwrap().as_int(), -1);
        assert!(m.get(Value::int(1)).is_none());
    }

    #[test]
    fn hinted_lookups_survive_stale_hints() {
        let mut m = Map::new();
        for i in 0..10 {
            m.insert(Value::int(i), Value::int(i * 10));
        }
        let hint = Cell::new(0);
        assert_eq!(m.get_hinted(Value::int(7), &hint).unwrap().as_int(), 70);
        assert_eq!(hint.get(), 7);
        // A hit through the hint, then the hinted entry dies and moves.
        assert_eq!(m.get_hinted(Value::int(7), &hint).unwrap().as_int(), 70);
        m.remove(Value::int(7));
        assert!(m.get_hinted(Value::int(7), &hint).is_none());
        m.insert_hinted(Value::int(7), Value::int(-7), &hint);
        assert_eq!(ints(&m), vec![0, 1, 2, 3, 4, 5, 6, 8, 9, 7]);
        // A hint pointing at another key, or past the end, falls back.
        hint.set(3);
        assert_eq!(m.get_hinted(Value::int(7), &hint).unwrap().as_int(), -7);
        hint.set(1000);
        m.insert_hinted(Value::int(2), Value::int(22), &hint);
        assert_eq!(m.get(Value::int(2)).unwrap().as_int(), 22);
        assert_eq!(m.len(), 10);
    }

    #[test]
    fn delete_keeps_order_and_reinsert_appends() {
        let mut m = Map::new();
        for i in 0..5 {
            m.insert(Value::int(i), Value::NIL);
        }
        assert!(m.remove(Value::int(1)).is_some());
        assert!(m.remove(Value::int(1)).is_none());
        assert_eq!(ints(&m), vec![0, 2, 3, 4]);
        m.insert(Value::int(1), Value::NIL);
        assert_eq!(ints(&m), vec![0, 2, 3, 4, 1]);
        assert_eq!(m.len(), 5);
    }

    #[test]
    fn many_deletes_compact() {
        let mut m = Map::new();
        for i in 0..10_000 {
            m.insert(Value::int(i), Value::int(i));
        }
        for i in 0..9_990 {
            assert_eq!(m.remove(Value::int(i)).unwrap().as_int(), i);
        }
        assert_eq!(ints(&m), (9_990..10_000).collect::<Vec<_>>());
        assert!(m.entries.len() < 100);
        for i in 0..9_990 {
            assert!(!m.contains(Value::int(i)));
        }
    }

    #[test]
    fn keys_of_different_types_differ() {
        let mut heap = Heap::new(false);
        let s1 = heap.new_string(b"1".to_vec().into());
        let s1b = heap.new_string(b"1".to_vec().into());
        let mut m = Map::new();
        m.insert(Value::int(1), Value::int(10));
        m.insert(Value::TRUE, Value::int(20));
        m.insert(s1, Value::int(30));
        assert_eq!(m.len(), 3);
        assert_eq!(m.get(s1b).unwrap().as_int(), 30);
        assert_eq!(m.get(Value::int(1)).unwrap().as_int(), 10);
        assert_eq!(m.get(Value::TRUE).unwrap().as_int(), 20);
        assert!(m.get(Value::FALSE).is_none());
    }
}
