//! `toyc bench --sweep-threshold LIST FILE`: how does the JIT threshold
//! change a program's running time?
//!
//! Each threshold runs the program `--runs` times, each time in a fresh child
//! process of this same binary (`toyc run --jit-stats --jit-threshold N FILE`,
//! or `--no-jit` for `never`), so no run inherits another's compiled code.
//! The wall time of a run is measured around the child; compile time and
//! the number of functions compiled come from the child's `--jit-stats`
//! report on stderr. The table shows medians, which a noisy machine moves
//! less than means. `--csv` and `--svg` also save the results as a CSV file
//! and as a line chart of time against threshold (drawn with `plotters`).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use clap::Args;
use plotters::prelude::*;
use toyc::diag::exit;

/// The arguments of `toyc bench`.
#[derive(Args, Debug)]
pub struct SweepArgs {
    /// Thresholds to try, separated by commas; `never` runs without the JIT.
    #[arg(long, value_delimiter = ',', required = true, value_name = "LIST")]
    sweep_threshold: Vec<Threshold>,

    /// Runs per threshold (the table shows their median).
    #[arg(long, default_value_t = 5, value_name = "N")]
    runs: usize,

    /// Also write the results as CSV to this file.
    #[arg(long, value_name = "FILE")]
    csv: Option<PathBuf>,

    /// Also draw time against threshold as an SVG line chart in this file.
    #[arg(long, value_name = "FILE")]
    svg: Option<PathBuf>,

    /// The `.toy` program to run.
    file: PathBuf,
}

/// A threshold to try: a number, or `never` (the interpreter alone).
#[derive(Clone, Copy, Debug, PartialEq)]
enum Threshold {
    At(u32),
    Never,
}

impl std::str::FromStr for Threshold {
    type Err = String;
    fn from_str(s: &str) -> Result<Threshold, String> {
        match s.trim() {
            "never" => Ok(Threshold::Never),
            n => n
                .parse()
                .map(Threshold::At)
                .map_err(|_| format!("'{n}' is neither a threshold (0, 1, 2, ...) nor 'never'")),
        }
    }
}

impl std::fmt::Display for Threshold {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Threshold::At(n) => write!(f, "{n}"),
            Threshold::Never => write!(f, "never"),
        }
    }
}

/// What one run's `--jit-stats` report said.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct JitStats {
    functions: u64,
    compile_ms: f64,
}

/// The results for one threshold.
#[derive(Clone, Debug)]
struct Row {
    threshold: Threshold,
    median_ms: f64,
    min_ms: f64,
    max_ms: f64,
    compile_ms: f64,
    functions: u64,
}

/// Runs the sweep; returns the exit code.
pub fn run(args: &SweepArgs) -> i32 {
    if args.runs == 0 {
        eprintln!("toyc: --runs must be at least 1");
        return exit::USAGE;
    }
    if !args.file.is_file() {
        eprintln!("toyc: cannot read '{}'", args.file.display());
        return exit::NOINPUT;
    }
    let mut rows = Vec::new();
    println!("{}", table_header());
    for &threshold in &args.sweep_threshold {
        match measure(threshold, args) {
            Ok(row) => {
                println!("{}", table_row(&row));
                rows.push(row);
            }
            Err(e) => {
                eprintln!("toyc: threshold {threshold}: {e}");
                return exit::SOFTWARE;
            }
        }
    }
    if let Some(path) = &args.csv {
        if let Err(e) = std::fs::write(path, csv(&rows)) {
            eprintln!("toyc: cannot write '{}': {e}", path.display());
            return exit::SOFTWARE;
        }
        println!("wrote {}", path.display());
    }
    if let Some(path) = &args.svg {
        let title = args.file.file_name().map_or_else(
            || args.file.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        if let Err(e) = chart(&rows, &title, path) {
            eprintln!("toyc: cannot write '{}': {e}", path.display());
            return exit::SOFTWARE;
        }
        println!("wrote {}", path.display());
    }
    0
}

/// Runs the program `args.runs` times at `threshold`.
fn measure(threshold: Threshold, args: &SweepArgs) -> Result<Row, String> {
    let mut times = Vec::with_capacity(args.runs);
    let mut compile = Vec::with_capacity(args.runs);
    let mut functions = 0;
    for _ in 0..args.runs {
        let (ms, stats) = run_once(threshold, &args.file)?;
        times.push(ms);
        compile.push(stats.compile_ms);
        functions = stats.functions;
    }
    Ok(Row {
        threshold,
        median_ms: median(&mut times),
        min_ms: times.iter().copied().fold(f64::INFINITY, f64::min),
        max_ms: times.iter().copied().fold(0.0, f64::max),
        compile_ms: median(&mut compile),
        functions,
    })
}

/// One child run: its wall time in ms and its JIT statistics.
fn run_once(threshold: Threshold, file: &Path) -> Result<(f64, JitStats), String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find toyc itself: {e}"))?;
    let mut cmd = Command::new(exe);
    cmd.arg("run");
    match threshold {
        Threshold::At(n) => cmd.args(["--jit-stats", "--jit-threshold", &n.to_string()]),
        Threshold::Never => cmd.arg("--no-jit"),
    };
    cmd.arg(file)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let start = Instant::now();
    let out = cmd.output().map_err(|e| format!("cannot start: {e}"))?;
    let ms = start.elapsed().as_secs_f64() * 1e3;
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        return Err(format!("the program failed ({}):\n{stderr}", out.status));
    }
    Ok((ms, parse_stats(&stderr)))
}

/// Reads the totals of a `--jit-stats` report (absent with `--no-jit`).
fn parse_stats(stderr: &str) -> JitStats {
    let mut stats = JitStats::default();
    for line in stderr.lines() {
        if let Some(n) = line.strip_prefix("jit: functions compiled: ") {
            stats.functions = n.trim().parse().unwrap_or(0);
        } else if let Some(t) = line.strip_prefix("jit: total compile time: ") {
            stats.compile_ms = t.trim_end_matches("ms").trim().parse().unwrap_or(0.0);
        }
    }
    stats
}

fn median(xs: &mut [f64]) -> f64 {
    xs.sort_by(f64::total_cmp);
    let n = xs.len();
    if n % 2 == 1 {
        xs[n / 2]
    } else {
        (xs[n / 2 - 1] + xs[n / 2]) / 2.0
    }
}

fn table_header() -> String {
    format!(
        "{:>9}  {:>10}  {:>10}  {:>10}  {:>11}  {:>9}",
        "threshold", "median ms", "min ms", "max ms", "compile ms", "compiled"
    )
}

fn table_row(r: &Row) -> String {
    format!(
        "{:>9}  {:>10.1}  {:>10.1}  {:>10.1}  {:>11.3}  {:>9}",
        r.threshold.to_string(),
        r.median_ms,
        r.min_ms,
        r.max_ms,
        r.compile_ms,
        r.functions
    )
}

fn csv(rows: &[Row]) -> String {
    let mut out = String::from("threshold,median_ms,min_ms,max_ms,compile_ms,functions_compiled\n");
    for r in rows {
        let _ = writeln!(
            out,
            "{},{:.3},{:.3},{:.3},{:.3},{}",
            r.threshold, r.median_ms, r.min_ms, r.max_ms, r.compile_ms, r.functions
        );
    }
    out
}

/// Draws median wall time (and compile time) against threshold. The
/// thresholds are evenly spaced whatever their values: a sweep is usually
/// by powers of ten, and `never` is not a number.
fn chart(rows: &[Row], title: &str, path: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let root = SVGBackend::new(path, (800, 480)).into_drawing_area();
    root.fill(&WHITE)?;
    let top = rows.iter().map(|r| r.max_ms).fold(1.0, f64::max) * 1.1;
    let n = rows.len() as i32;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            format!("{title}: wall time against JIT threshold"),
            ("sans-serif", 22),
        )
        .margin(16)
        .x_label_area_size(44)
        .y_label_area_size(64)
        .build_cartesian_2d(-1..n, 0.0..top)?;
    let label = |i: &i32| {
        usize::try_from(*i)
            .ok()
            .and_then(|i| rows.get(i))
            .map_or(String::new(), |r| r.threshold.to_string())
    };
    chart
        .configure_mesh()
        .x_labels(rows.len() + 2)
        .x_label_formatter(&label)
        .y_label_formatter(&|ms| format!("{ms:.0}"))
        .x_desc("JIT threshold (calls + loop back-edges before compiling)")
        .y_desc("milliseconds")
        .draw()?;
    // A whisker from the fastest to the slowest run shows the noise.
    chart.draw_series(
        rows.iter()
            .zip(0..)
            .map(|(r, i)| PathElement::new(vec![(i, r.min_ms), (i, r.max_ms)], BLUE.mix(0.4))),
    )?;
    let series = |f: fn(&Row) -> f64| (0..n).zip(rows.iter().map(f)).collect::<Vec<_>>();
    let wall = series(|r| r.median_ms);
    chart
        .draw_series(LineSeries::new(wall.clone(), BLUE.stroke_width(2)))?
        .label("median wall time (whisker: fastest to slowest run)")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLUE.stroke_width(2)));
    chart.draw_series(wall.iter().map(|&p| Circle::new(p, 4, BLUE.filled())))?;
    let compile = series(|r| r.compile_ms);
    chart
        .draw_series(LineSeries::new(compile.clone(), RED.stroke_width(2)))?
        .label("compile time (median)")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], RED.stroke_width(2)));
    chart.draw_series(compile.iter().map(|&p| Circle::new(p, 3, RED.filled())))?;
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_parse() {
        assert_eq!("10".parse(), Ok(Threshold::At(10)));
        assert_eq!("never".parse(), Ok(Threshold::Never));
        assert!("-1".parse::<Threshold>().is_err());
    }

    #[test]
    fn stats_are_read_from_the_report() {
        let report = "jit: functions compiled: 3\njit: OSR entries: 1\n\
                      jit: machine code bytes: 900\njit: total compile time: 0.125 ms\n";
        let stats = parse_stats(report);
        assert_eq!(stats.functions, 3);
        assert!((stats.compile_ms - 0.125).abs() < 1e-9);
        assert_eq!(parse_stats(""), JitStats::default());
    }

    #[test]
    fn medians() {
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&mut [4.0, 1.0, 2.0, 3.0]), 2.5);
    }
}
