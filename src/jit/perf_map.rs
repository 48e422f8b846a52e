//! The Linux `perf` JIT map: `/tmp/perf-PID.map`.
//!
//! `perf report` cannot name addresses in anonymous executable memory by
//! itself. By convention it looks for `/tmp/perf-<pid>.map`, a text file with
//! one line per piece of generated code:
//!
//! ```text
//! START SIZE name
//! ```
//!
//! where `START` and `SIZE` are hexadecimal without `0x`. The JIT appends one
//! line per installed function (when asked to), and `perf` reads the file
//! when it reports. Entries are never removed: code in the cache never moves
//! nor is freed.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// An open perf map file to which entries are appended.
pub struct PerfMap {
    file: File,
    path: PathBuf,
}

impl PerfMap {
    /// Opens (creating it if needed) `/tmp/perf-PID.map` for this process.
    pub fn open() -> io::Result<PerfMap> {
        PerfMap::open_at(&default_path())
    }

    /// Opens a map at another path (for tests).
    pub fn open_at(path: &Path) -> io::Result<PerfMap> {
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        Ok(PerfMap {
            file,
            path: path.to_path_buf(),
        })
    }

    /// Where this map is written.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one `START SIZE name` line. Line breaks in `name` would end
    /// the entry early, so they are replaced by spaces.
    pub fn add(&mut self, start: usize, size: usize, name: &str) -> io::Result<()> {
        let line = format_entry(start, size, name);
        // One write per line, so entries from a crash are complete or absent.
        self.file.write_all(line.as_bytes())
    }
}

/// `/tmp/perf-PID.map` for the current process.
pub fn default_path() -> PathBuf {
    PathBuf::from(format!("/tmp/perf-{}.map", std::process::id()))
}

/// One map line, newline included.
fn format_entry(start: usize, size: usize, name: &str) -> String {
    let name = name.replace(['\n', '\r'], " ");
    format!("{start:x} {size:x} {name}\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_format_is_hex_start_size_name() {
        assert_eq!(
            format_entry(0x7f00_dead_0000, 0x1a, "toy:main"),
            "7f00dead0000 1a toy:main\n"
        );
        assert_eq!(format_entry(16, 255, "a\nb"), "10 ff a b\n");
    }

    #[test]
    fn appends_lines_to_the_file() {
        let path = std::env::temp_dir().join(format!("toyc-perf-test-{}.map", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let mut map = PerfMap::open_at(&path).unwrap();
        map.add(0x1000, 0x20, "toy:f").unwrap();
        map.add(0x1020, 0x8, "toy:g").unwrap();
        drop(map);
        let mut again = PerfMap::open_at(&path).unwrap();
        again.add(0x2000, 0x10, "toy:h").unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        assert_eq!(text, "1000 20 toy:f\n1020 8 toy:g\n2000 10 toy:h\n");
    }

    #[test]
    fn default_path_names_the_process() {
        let path = default_path();
        assert_eq!(
            path.to_str().unwrap(),
            format!("/tmp/perf-{}.map", std::process::id())
        );
    }
}
