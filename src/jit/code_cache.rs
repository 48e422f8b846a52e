//! The code cache: executable memory that compiled functions live in.
//!
//! # What it guarantees
//!
//! * **W^X.** A page is either writable (`RW-`) or executable (`R-X`), never
//!   both. Code is copied in while its chunk is `RW-`, then the chunk is flipped
//!   to `R-X` with `mprotect` (memmap2's [`MmapMut::make_exec`] and
//!   [`Mmap::make_mut`]). The test `no_rwx_mapping_exists` reads
//!   `/proc/self/maps` to check this.
//! * **Code never moves.** Each installed function keeps its address until the
//!   cache is dropped. Compiled frames may be live on the native stack (a
//!   compiled function calls a helper, the helper triggers the compilation of
//!   another function, that installs new code...), and their return addresses
//!   point into the cache. This is why we do not let a growable dynasmrt
//!   `Assembler` own the code: when it grows, it maps a bigger buffer and copies
//!   the code there, leaving those return addresses dangling.
//! * **A limit.** [`CodeCache::new`] takes a byte limit (`--jit-code-limit`).
//!   When the next function would exceed it, [`CodeCache::install`] returns
//!   [`CacheError::Full`] and the caller keeps interpreting.
//! * **Graceful refusal.** Some systems forbid making anonymous memory
//!   executable (SELinux `deny_execmem`, PaX `MPROTECT`, some seccomp
//!   profiles). The first failed `RW- → R-X` flip returns
//!   [`CacheError::ExecDenied`]; from then on every install fails the same way
//!   at once and the VM stays in the interpreter. Set `TOYC_JIT_DENY_EXEC=1`, or
//!   use [`CodeCache::new_refusing`], to simulate such a system.
//!
//! # Layout
//!
//! Memory is reserved in chunks of [`CHUNK_SIZE`] (1 MiB) bytes, each its own
//! anonymous mapping. Functions are bump-allocated in the newest chunk, each
//! start aligned to [`CODE_ALIGN`] bytes; the gap is filled with `int3` so a
//! stray jump traps. When a function does not fit, the newest chunk is left as
//! it is and a new chunk is mapped (a function bigger than a chunk gets a chunk
//! of its own, rounded up to whole pages). Chunks are never unmapped before the
//! cache is dropped: there is no freeing of individual functions.
//!
//! # Position-independent code
//!
//! The cache copies code bytes to an address chosen at install time, so the
//! bytes must not depend on where they end up. The JIT assembles with
//! `dynasmrt::VecAssembler<X64Relocation>` (see [`super::asm::Ops`]) and only
//! uses constructs whose encoding is independent of the code's address:
//!
//! * jumps and calls to labels inside the function are `rel8`/`rel32`
//!   (relative to the next instruction: same bytes wherever the code is);
//! * the address of a label is taken with `lea reg, [=>label]`, which is
//!   RIP-relative;
//! * helpers (Rust functions) are called through an absolute address loaded as
//!   an immediate: `mov rax, QWORD addr; call rax`. The immediate is the
//!   helper's address, which does not depend on where the code is.
//!
//! Two dynasm forms are *not* position-independent and are not used: `call
//! extern addr` / `jmp extern addr` (a `rel32` to an absolute address, which
//! also may not reach: the cache can be more than 2 GiB away from the
//! binary) and absolute label addresses (`mov rax, QWORD =>label`,
//! `.qword =>label`). The test `asm::tests::templates_are_position_independent`
//! assembles code at two base addresses and checks the bytes are equal.
//!
//! # Cost of permission flips
//!
//! Every install costs two `mprotect` calls (`R-X → RW-` for the newest chunk,
//! then back), about a microsecond each plus a TLB shootdown. To compile several
//! functions per flip, use [`CodeCache::install_many`]: it writes all of them
//! while the chunk is writable and flips once per chunk touched.

use memmap2::{Mmap, MmapMut};
use std::fmt;
use std::ptr::NonNull;

/// Size of one reserved chunk of code memory.
pub const CHUNK_SIZE: usize = 1 << 20;

/// Alignment of each function's first instruction (a common fetch-block size).
pub const CODE_ALIGN: usize = 16;

/// The byte used to fill alignment gaps: `int3`, which traps if executed.
const INT3: u8 = 0xCC;

/// Environment variable that makes every new cache refuse to execute code,
/// to test the interpreter-only fallback.
pub const DENY_EXEC_ENV: &str = "TOYC_JIT_DENY_EXEC";

/// Why an install failed. In every case the caller keeps interpreting.
#[derive(Debug)]
pub enum CacheError {
    /// The code limit (`--jit-code-limit`) would be exceeded.
    Full,
    /// The OS refused to make memory executable (or refusal was simulated).
    ExecDenied,
    /// The OS could not give us more memory.
    MapFailed(std::io::Error),
}

impl fmt::Display for CacheError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CacheError::Full => write!(f, "JIT code cache is full"),
            CacheError::ExecDenied => write!(f, "the system refused executable memory"),
            CacheError::MapFailed(e) => write!(f, "cannot map JIT code memory: {e}"),
        }
    }
}

impl std::error::Error for CacheError {}

/// The address and size of one installed function.
///
/// Valid for as long as the [`CodeCache`] that returned it is alive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CodePtr {
    start: NonNull<u8>,
    len: usize,
}

impl CodePtr {
    /// The address of the first instruction.
    pub fn as_ptr(self) -> *const u8 {
        self.start.as_ptr()
    }

    /// The address of the first instruction, as a number (for listings and
    /// perf maps).
    pub fn addr(self) -> usize {
        self.start.as_ptr() as usize
    }

    /// The size of the code in bytes.
    pub fn len(self) -> usize {
        self.len
    }

    /// Whether the code is empty (never true for installed code).
    pub fn is_empty(self) -> bool {
        self.len == 0
    }

    /// The installed bytes.
    ///
    /// # Safety
    /// The cache that returned `self` must be alive, and nothing may patch
    /// these bytes while the slice is in use.
    pub unsafe fn bytes<'a>(self) -> &'a [u8] {
        // SAFETY: the range was written by `install` and stays mapped (and
        // readable: RW- or R-X) while the cache lives, as the caller promises.
        unsafe { std::slice::from_raw_parts(self.start.as_ptr(), self.len) }
    }

    /// Turns the code address into a callable function pointer of type `F`,
    /// e.g. `extern "sysv64" fn(i64, i64) -> i64`.
    ///
    /// # Safety
    /// `F` must be an `extern "sysv64" fn` pointer type whose signature is
    /// the one the code was assembled for, and the cache must outlive every
    /// call through the result.
    pub unsafe fn as_fn<F: Copy>(self) -> F {
        assert_eq!(
            std::mem::size_of::<F>(),
            std::mem::size_of::<*const u8>(),
            "as_fn needs a function pointer type"
        );
        // SAFETY: F is pointer-sized (checked above) and, as the caller
        // promises, a fn pointer type matching the code; a fn pointer is just
        // the address of the first instruction.
        unsafe { std::mem::transmute_copy::<*const u8, F>(&self.as_ptr()) }
    }
}

/// The pages of one chunk, in one of the two W^X states.
enum Pages {
    Writable(MmapMut),
    Executable(Mmap),
}

/// One anonymous mapping holding many functions.
struct Chunk {
    /// `None` only for a moment while the state is being flipped.
    pages: Option<Pages>,
    /// Bytes of the chunk handed out so far (bump pointer).
    used: usize,
    /// Capacity in bytes.
    size: usize,
    /// Whether this chunk has ever been executable, i.e. may hold live code.
    ever_exec: bool,
}

impl Chunk {
    fn map(size: usize) -> Result<Chunk, CacheError> {
        let map = MmapMut::map_anon(size).map_err(CacheError::MapFailed)?;
        let pages = Some(Pages::Writable(map));
        Ok(Chunk {
            pages,
            used: 0,
            size,
            ever_exec: false,
        })
    }

    fn base(&self) -> usize {
        match self.pages.as_ref().expect("chunk pages present") {
            Pages::Writable(m) => m.as_ptr() as usize,
            Pages::Executable(m) => m.as_ptr() as usize,
        }
    }

    fn contains(&self, addr: usize, len: usize) -> bool {
        let base = self.base();
        addr >= base && addr + len <= base + self.used
    }

    /// Offset where a function of `len` bytes would start, if it fits.
    fn fit(&self, len: usize) -> Option<usize> {
        let at = self.used.next_multiple_of(CODE_ALIGN);
        (at + len <= self.size).then_some(at)
    }

    /// `R-X → RW-`. Cannot fail in practice (dropping execute permission is
    /// always allowed); if it does, memmap2 has already unmapped the chunk,
    /// possibly under live compiled frames, so the process cannot go on.
    fn make_writable(&mut self) {
        self.pages = match self.pages.take() {
            Some(Pages::Executable(m)) => match m.make_mut() {
                Ok(w) => Some(Pages::Writable(w)),
                Err(e) => fatal("R-X -> RW-", &e),
            },
            other => other,
        };
    }

    /// `RW- → R-X`. A chunk that was never executable holds no live code, so
    /// a refusal there is reported as [`CacheError::ExecDenied`] (the caller
    /// drops the chunk). A refusal for a chunk that ran before is fatal, as in
    /// [`Chunk::make_writable`].
    fn make_executable(&mut self, simulate_refusal: bool) -> Result<(), CacheError> {
        let map = match self.pages.take() {
            Some(Pages::Writable(m)) => m,
            other => {
                self.pages = other;
                return Ok(());
            }
        };
        // On x86-64 the instruction cache is coherent with data writes, so no
        // flush is needed here. On AArch64 or RISC-V, this is where the
        // written range would be flushed from the data cache and invalidated
        // in the instruction cache before it may run.
        let result = if simulate_refusal {
            drop(map);
            Err(std::io::Error::from(std::io::ErrorKind::PermissionDenied))
        } else {
            map.make_exec()
        };
        match result {
            Ok(x) => {
                self.pages = Some(Pages::Executable(x));
                self.ever_exec = true;
                Ok(())
            }
            Err(e) if self.ever_exec => fatal("RW- -> R-X", &e),
            Err(_) => Err(CacheError::ExecDenied),
        }
    }

    /// Copies `code` to offset `at`. The chunk must be writable.
    fn write(&mut self, at: usize, code: &[u8]) -> CodePtr {
        let Some(Pages::Writable(map)) = self.pages.as_mut() else {
            unreachable!("write into a chunk that is not writable");
        };
        map[self.used..at].fill(INT3);
        map[at..at + code.len()].copy_from_slice(code);
        self.used = at + code.len();
        let start = NonNull::new(map[at..].as_mut_ptr()).expect("mapping is not null");
        CodePtr {
            start,
            len: code.len(),
        }
    }

    /// Overwrites bytes at absolute address `addr`. The chunk must be writable.
    fn overwrite(&mut self, addr: usize, bytes: &[u8]) {
        let base = self.base();
        let Some(Pages::Writable(map)) = self.pages.as_mut() else {
            unreachable!("patch of a chunk that is not writable");
        };
        let at = addr - base;
        map[at..at + bytes.len()].copy_from_slice(bytes);
    }
}

/// Reports a permission flip that failed on memory that may hold live code,
/// then aborts: unwinding through compiled frames is not possible.
fn fatal(what: &str, err: &std::io::Error) -> ! {
    eprintln!("toyc: fatal: JIT code memory {what} failed: {err}");
    std::process::abort()
}

/// Executable memory for compiled functions. See the module docs.
pub struct CodeCache {
    chunks: Vec<Chunk>,
    limit: usize,
    used: usize,
    /// Set once the OS refused `R-X` (or a refusal was simulated).
    denied: bool,
    /// Simulate a system that refuses executable memory.
    simulate_refusal: bool,
}

impl CodeCache {
    /// A cache that accepts up to `limit_bytes` of code (counting each
    /// function's size rounded up to [`CODE_ALIGN`]). No memory is mapped
    /// until the first install. Honors `TOYC_JIT_DENY_EXEC=1`.
    pub fn new(limit_bytes: usize) -> CodeCache {
        let refuse = refusal_requested(std::env::var_os(DENY_EXEC_ENV).as_deref());
        CodeCache {
            chunks: Vec::new(),
            limit: limit_bytes,
            used: 0,
            denied: false,
            simulate_refusal: refuse,
        }
    }

    /// A cache on which making memory executable always fails, as on a system
    /// with SELinux `deny_execmem`: every install returns
    /// [`CacheError::ExecDenied`].
    pub fn new_refusing(limit_bytes: usize) -> CodeCache {
        CodeCache {
            simulate_refusal: true,
            ..CodeCache::new(limit_bytes)
        }
    }

    /// Like `new`, but ignores `TOYC_JIT_DENY_EXEC`, so unit tests that run
    /// code pass even when the suite runs with refusal simulated.
    #[cfg(test)]
    pub(crate) fn for_tests(limit_bytes: usize) -> CodeCache {
        CodeCache {
            simulate_refusal: false,
            ..CodeCache::new(limit_bytes)
        }
    }

    /// Bytes of code installed so far (what the limit is compared against).
    pub fn used_bytes(&self) -> usize {
        self.used
    }

    /// The code limit in bytes.
    pub fn limit_bytes(&self) -> usize {
        self.limit
    }

    /// Bytes of address space reserved for code (whole chunks).
    pub fn reserved_bytes(&self) -> usize {
        self.chunks.iter().map(|c| c.size).sum()
    }

    /// Copies one function's machine code into executable memory and returns
    /// its fixed address. `code` must be position-independent (module docs).
    pub fn install(&mut self, code: &[u8]) -> Result<CodePtr, CacheError> {
        self.install_many(&[code]).map(|ptrs| ptrs[0])
    }

    /// Installs several functions with one permission flip per chunk touched.
    /// All or nothing: on error none of them is installed.
    pub fn install_many(&mut self, codes: &[&[u8]]) -> Result<Vec<CodePtr>, CacheError> {
        if self.denied {
            return Err(CacheError::ExecDenied);
        }
        let cost: usize = codes
            .iter()
            .map(|c| c.len().next_multiple_of(CODE_ALIGN))
            .sum();
        if self.used + cost > self.limit {
            return Err(CacheError::Full);
        }
        let first_new = self.chunks.len();
        let written = self.write_all(codes);
        // Seal whatever was made writable, even if a later mapping failed.
        let sealed = self.seal(first_new);
        let ptrs = written?;
        sealed?;
        self.used += cost;
        Ok(ptrs)
    }

    /// Writes each function into the newest chunk, mapping new chunks as
    /// needed. Leaves touched chunks writable; [`CodeCache::seal`] flips them.
    fn write_all(&mut self, codes: &[&[u8]]) -> Result<Vec<CodePtr>, CacheError> {
        let mut ptrs = Vec::with_capacity(codes.len());
        for code in codes {
            assert!(!code.is_empty(), "cannot install empty code");
            let at = match self.chunks.last().and_then(|c| c.fit(code.len())) {
                Some(at) => at,
                None => {
                    let size = code.len().max(CHUNK_SIZE).next_multiple_of(page_size());
                    self.chunks.push(Chunk::map(size)?);
                    0
                }
            };
            let chunk = self.chunks.last_mut().expect("a chunk was just ensured");
            chunk.make_writable();
            ptrs.push(chunk.write(at, code));
        }
        Ok(ptrs)
    }

    /// Flips every writable chunk back to `R-X`. If the OS refuses, the
    /// chunks mapped in this batch (index `first_new` on; they hold no live
    /// code) are dropped and the cache remembers the refusal.
    fn seal(&mut self, first_new: usize) -> Result<(), CacheError> {
        let mut result = Ok(());
        for chunk in &mut self.chunks {
            if let Err(e) = chunk.make_executable(self.simulate_refusal) {
                result = Err(e);
            }
        }
        if result.is_err() {
            // Only new chunks can be refused (a refusal for an older one
            // aborts in `make_executable`); they hold nothing live.
            self.denied = true;
            self.chunks.truncate(first_new);
        }
        result
    }

    /// Overwrites `bytes` at `offset` inside the installed function `code`
    /// (e.g. to retarget a call site), flipping its chunk `RW-` and back.
    ///
    /// Must not be called while another thread may execute that chunk. The
    /// VM is single-threaded, and compiled code of this chunk that is on the
    /// stack is not running during the patch (we are in Rust code), so the
    /// short `RW-` window is safe.
    pub fn patch(&mut self, code: CodePtr, offset: usize, bytes: &[u8]) -> Result<(), CacheError> {
        assert!(
            offset + bytes.len() <= code.len(),
            "patch outside the function"
        );
        let addr = code.addr() + offset;
        let simulate = self.simulate_refusal;
        let chunk = self
            .chunks
            .iter_mut()
            .find(|c| c.contains(addr, bytes.len()))
            .expect("patched code belongs to this cache");
        chunk.make_writable();
        chunk.overwrite(addr, bytes);
        chunk.make_executable(simulate)
    }
}

/// The OS page size (4 KiB on x86-64 Linux; chunk sizes are rounded to it).
fn page_size() -> usize {
    4096
}

/// Whether the value of `TOYC_JIT_DENY_EXEC` asks to simulate refusal.
fn refusal_requested(value: Option<&std::ffi::OsStr>) -> bool {
    value.is_some_and(|v| v == "1")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `mov rax, imm32; ret` — returns `v`.
    fn ret_const(v: i32) -> Vec<u8> {
        let mut code = vec![0x48, 0xC7, 0xC0];
        code.extend_from_slice(&v.to_le_bytes());
        code.push(0xC3);
        code
    }

    fn call(ptr: CodePtr) -> i64 {
        // SAFETY: every code in these tests is a `ret_const`, i.e. a function
        // with no arguments returning in rax, and the cache outlives the call.
        let f: extern "sysv64" fn() -> i64 = unsafe { ptr.as_fn() };
        f()
    }

    #[test]
    fn install_and_call() {
        let mut cache = CodeCache::for_tests(1 << 20);
        let p = cache.install(&ret_const(42)).unwrap();
        assert_eq!(call(p), 42);
        assert_eq!(p.addr() % CODE_ALIGN, 0);
        assert_eq!(cache.used_bytes(), 16);
    }

    #[test]
    fn limit_returns_full_and_installs_nothing() {
        let mut cache = CodeCache::for_tests(32);
        cache.install(&ret_const(1)).unwrap();
        cache.install(&ret_const(2)).unwrap();
        assert!(matches!(
            cache.install(&ret_const(3)),
            Err(CacheError::Full)
        ));
        assert_eq!(cache.used_bytes(), 32);
        let too_many = cache.install_many(&[&ret_const(4)]);
        assert!(matches!(too_many, Err(CacheError::Full)));
    }

    #[test]
    fn refusal_returns_exec_denied_every_time() {
        let mut cache = CodeCache::new_refusing(1 << 20);
        assert!(matches!(
            cache.install(&ret_const(1)),
            Err(CacheError::ExecDenied)
        ));
        assert!(matches!(
            cache.install(&ret_const(1)),
            Err(CacheError::ExecDenied)
        ));
        assert_eq!(cache.used_bytes(), 0);
        assert_eq!(cache.reserved_bytes(), 0, "the refused chunk is unmapped");
    }

    #[test]
    fn deny_exec_env_value() {
        assert!(refusal_requested(Some("1".as_ref())));
        assert!(!refusal_requested(Some("0".as_ref())));
        assert!(!refusal_requested(None));
    }

    #[test]
    fn many_chunks_addresses_never_change() {
        let mut cache = CodeCache::for_tests(8 << 20);
        // 100 KiB functions: ten fit in a 1 MiB chunk, so 40 span four chunks.
        let mut funcs = Vec::new();
        for i in 0..40 {
            let mut code = ret_const(i);
            code.resize(100 * 1024, INT3);
            let p = cache.install(&code).unwrap();
            funcs.push((i, p));
            // Every function installed so far still runs at its address.
            for &(j, q) in &funcs {
                assert_eq!(call(q), j as i64);
            }
        }
        assert!(cache.reserved_bytes() >= 4 * CHUNK_SIZE);
    }

    #[test]
    fn big_function_gets_its_own_chunk() {
        let mut cache = CodeCache::for_tests(8 << 20);
        let mut code = ret_const(7);
        code.resize(CHUNK_SIZE + 1, INT3);
        let p = cache.install(&code).unwrap();
        assert_eq!(call(p), 7);
        let q = cache.install(&ret_const(8)).unwrap();
        assert_eq!((call(p), call(q)), (7, 8));
    }

    #[test]
    fn install_many_is_one_batch() {
        let mut cache = CodeCache::for_tests(1 << 20);
        let codes: Vec<Vec<u8>> = (0..10).map(ret_const).collect();
        let refs: Vec<&[u8]> = codes.iter().map(|c| c.as_slice()).collect();
        let ptrs = cache.install_many(&refs).unwrap();
        for (i, p) in ptrs.into_iter().enumerate() {
            assert_eq!(call(p), i as i64);
        }
    }

    #[test]
    fn patch_rewrites_code_in_place() {
        let mut cache = CodeCache::for_tests(1 << 20);
        let p = cache.install(&ret_const(5)).unwrap();
        let q = cache.install(&ret_const(6)).unwrap();
        assert_eq!(call(p), 5);
        // Rewrite the imm32 of `mov rax, imm32` (offset 3).
        cache.patch(p, 3, &9i32.to_le_bytes()).unwrap();
        assert_eq!((call(p), call(q)), (9, 6));
        // SAFETY: the cache is alive and nothing patches concurrently.
        assert_eq!(unsafe { p.bytes() }, ret_const(9).as_slice());
    }

    #[test]
    fn no_rwx_mapping_exists() {
        let mut cache = CodeCache::for_tests(1 << 20);
        let p = cache.install(&ret_const(3)).unwrap();
        cache.patch(p, 3, &4i32.to_le_bytes()).unwrap();
        let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
        for line in maps.lines() {
            let perms = line.split_whitespace().nth(1).unwrap_or("");
            assert!(!perms.starts_with("rwx"), "writable and executable: {line}");
        }
        // And the code's own page is r-x.
        let addr = p.addr();
        let own = maps.lines().find(|l| {
            let range = l.split_whitespace().next().unwrap_or("");
            let (lo, hi) = range.split_once('-').unwrap();
            let lo = usize::from_str_radix(lo, 16).unwrap();
            let hi = usize::from_str_radix(hi, 16).unwrap();
            (lo..hi).contains(&addr)
        });
        assert!(
            own.unwrap()
                .split_whitespace()
                .nth(1)
                .unwrap()
                .starts_with("r-x")
        );
        assert_eq!(call(p), 4);
    }
}
