#!/usr/bin/env python3
"""Compare toyc with other language implementations on the benchmark suite.

Usage (from anywhere inside the repository):

    python3 benches/compare.py [--runs N] [--only fib,loop] [--out docs/performance-table.md]
                               [--no-build] [--timeout SECONDS]

What it does:

1. Builds toyc in release mode (`cargo build --release`) unless --no-build.
   If the build fails, the toyc columns read `error` and the peers still run.
2. Compiles the C peers with `gcc -O2`, once, into a temporary directory
   that is removed at the end.
3. Runs every benchmark of `benches/programs/` with each implementation
   (toyc without and with the JIT, lua5.4, luajit -joff, luajit, python3,
   node, C), N times each (default 5), and records the median wall time and
   the peak resident set size (from `os.wait4`, i.e. the child's own rusage).
4. Checks that each implementation printed exactly the expected stdout,
   `benches/programs/NAME.out`. A mismatch is reported loudly on stderr and
   the cell reads `wrong output` instead of a time. Without a `.out` file,
   the output most implementations agree on is taken as the reference.
5. Prints a Markdown report (times with the ratio to lua5.4, peak RSS,
   geometric means relative to lua5.4, luajit -joff and luajit) headed by
   the date, the machine (CPU model, cores, OS) and the version of every
   implementation. --out writes it to a file; --update replaces the part of
   a document between the markers `<!-- compare.py begin -->` and
   `<!-- compare.py end -->` (how docs/performance.md is refreshed).

Implementations that are not installed are skipped with a note. Only the
Python standard library is needed.
"""

import argparse
import datetime
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROGRAMS = os.path.join(ROOT, "benches", "programs")
PEERS = os.path.join(ROOT, "benches", "peers")
TARGET = os.environ.get("CARGO_TARGET_DIR") or os.path.join(ROOT, "target")
TOYC = os.path.join(TARGET, "release", "toyc")
# Where the C peers and the RSS wrapper are compiled: a temporary directory
# made by main().
PEER_BIN = None

# The column every ratio in the table is relative to.
BASELINE = "lua5.4"
# The other columns the geometric means are also given relative to.
GEOMEAN_BASES = [BASELINE, "luajit -joff", "luajit"]

# The markers around the generated part of a document (--update).
BEGIN_MARKER = "<!-- compare.py begin -->"
END_MARKER = "<!-- compare.py end -->"

# Why a wrapper: on Linux a process's peak RSS survives exec, and a child
# that Python spawns starts as a copy of (or shares) Python's memory, so its
# ru_maxrss would never read below Python's own ~16 MB. This tiny program is
# exec'd instead; it forks the real command from its own small image and
# reports that grandchild's peak RSS (KiB) on the file descriptor given as
# its first argument.
RSS_WRAPPER_C = r"""
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
int main(int argc, char **argv) {
    if (argc < 3) return 64;
    int fd = atoi(argv[1]);
    pid_t pid = fork();
    if (pid < 0) return 71;
    if (pid == 0) { close(fd); execvp(argv[2], argv + 2); perror(argv[2]); _exit(127); }
    int status; struct rusage ru;
    if (wait4(pid, &status, 0, &ru) < 0) return 71;
    dprintf(fd, "%ld\n", ru.ru_maxrss);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
"""


class Impl:
    """One implementation: a column of the table.

    `argv(bench)` gives the command line that runs benchmark `bench`;
    `tool` is the executable that must exist for the column to run.
    """

    def __init__(self, name, tool, argv, version_cmd):
        self.name = name
        self.tool = tool
        self.argv = argv
        self.version_cmd = version_cmd
        self.skip_reason = None


def toy_file(bench):
    return os.path.join(PROGRAMS, bench + ".toy")


def peer_file(bench, ext):
    return os.path.join(PEERS, bench + "." + ext)


IMPLS = [
    Impl("toyc --no-jit", TOYC, lambda b: [TOYC, "run", "--no-jit", toy_file(b)], [TOYC, "--version"]),
    Impl("toyc", TOYC, lambda b: [TOYC, "run", toy_file(b)], [TOYC, "--version"]),
    Impl("lua5.4", "lua5.4", lambda b: ["lua5.4", peer_file(b, "lua")], ["lua5.4", "-v"]),
    Impl("luajit -joff", "luajit", lambda b: ["luajit", "-joff", peer_file(b, "lua")], ["luajit", "-v"]),
    Impl("luajit", "luajit", lambda b: ["luajit", peer_file(b, "lua")], ["luajit", "-v"]),
    Impl("python3", "python3", lambda b: ["python3", peer_file(b, "py")], ["python3", "--version"]),
    Impl("node", "node", lambda b: ["node", peer_file(b, "js")], ["node", "--version"]),
    Impl("C (gcc -O2)", "gcc", lambda b: [os.path.join(PEER_BIN, b)], ["gcc", "--version"]),
]


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def all_benchmarks():
    return sorted(f[:-4] for f in os.listdir(PROGRAMS) if f.endswith(".toy"))


def tool_exists(tool):
    return os.path.isabs(tool) and os.access(tool, os.X_OK) or shutil.which(tool) is not None


def build_toyc():
    """Build toyc in release mode; returns an error text or None."""
    log("building toyc (cargo build --release) ...")
    r = subprocess.run(["cargo", "build", "--release"], cwd=ROOT, stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        tail = r.stderr.strip().splitlines()[-1:] or ["?"]
        return "cargo build failed: " + tail[0]
    return None


def rss_wrapper():
    return os.path.join(PEER_BIN, "maxrss")


def build_rss_wrapper():
    """Compile the peak-RSS wrapper; returns True if it is usable."""
    if not tool_exists("gcc"):
        return False
    src = rss_wrapper() + ".c"
    with open(src, "w") as f:
        f.write(RSS_WRAPPER_C)
    r = subprocess.run(["gcc", "-O2", "-o", rss_wrapper(), src], stderr=subprocess.PIPE, text=True)
    return r.returncode == 0


def build_c_peers(benches):
    """Compile each C peer; returns {bench: error text} for the ones that failed."""
    failures = {}
    for b in benches:
        src = peer_file(b, "c")
        # -ffp-contract=off: no fused multiply-add, so floats round exactly
        # as in the other implementations.
        cmd = ["gcc", "-O2", "-ffp-contract=off", "-o", os.path.join(PEER_BIN, b), src, "-lm"]
        r = subprocess.run(cmd, stderr=subprocess.PIPE, text=True)
        if r.returncode != 0:
            failures[b] = r.stderr.strip()
    return failures


class Run:
    """The outcome of one process: stdout, status, wall seconds, peak RSS in KiB."""

    def __init__(self, stdout, status, seconds, max_rss_kib):
        self.stdout = stdout
        self.status = status  # "ok", "error" or "timeout"
        self.seconds = seconds
        self.max_rss_kib = max_rss_kib


def run_once(argv, timeout, use_wrapper):
    """Run argv, capturing stdout; measure wall time and the peak RSS."""
    rss_read, rss_write = os.pipe()
    if use_wrapper:
        argv = [rss_wrapper(), str(rss_write)] + argv
    with tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        try:
            # A new session, so that a timeout can kill the whole group.
            proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=err, stdin=subprocess.DEVNULL,
                                    pass_fds=(rss_write,), start_new_session=True)
        except OSError as e:
            os.close(rss_read)
            os.close(rss_write)
            return Run(b"", "error: " + str(e), 0.0, 0)
        os.close(rss_write)
        timed_out = threading.Event()

        def kill():
            timed_out.set()
            os.killpg(proc.pid, 9)

        timer = threading.Timer(timeout, kill)
        timer.start()
        stdout = proc.stdout.read()
        # wait4 instead of proc.wait(): it also returns the child's rusage
        # (used when the wrapper is unavailable).
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        timer.cancel()
        proc.returncode = os.waitstatus_to_exitcode(status)  # tell Popen it is reaped
        proc.stdout.close()
        with os.fdopen(rss_read) as f:
            reported = f.read().strip()
        max_rss = int(reported) if reported.isdigit() else usage.ru_maxrss
        if timed_out.is_set():
            return Run(stdout, "timeout", seconds, max_rss)
        if proc.returncode != 0:
            err.seek(0)
            first = (err.read().decode("utf-8", "replace").strip().splitlines() or [""])[0]
            return Run(stdout, ("error (exit %d) %s" % (proc.returncode, first)).strip(), seconds, max_rss)
        return Run(stdout, "ok", seconds, max_rss)


class Cell:
    """One table cell: either a median time and peak RSS, or a failure word."""

    def __init__(self, seconds=None, rss_kib=None, failure=None, detail=None):
        self.seconds = seconds
        self.rss_kib = rss_kib
        self.failure = failure
        self.detail = detail or failure  # what went wrong, for the notes


def expected_output(bench, first_runs):
    """The reference stdout: the .out file, else the output most runs agree on."""
    path = os.path.join(PROGRAMS, bench + ".out")
    if os.path.exists(path):
        with open(path, "rb") as f:
            return f.read()
    outputs = [r.stdout for r in first_runs.values() if r.status == "ok"]
    if not outputs:
        return None
    return max(outputs, key=outputs.count)  # ties: the first implementation listed


def measure(bench, impls, runs, timeout, use_wrapper):
    """Run one benchmark with every implementation; returns {impl name: Cell}."""
    first = {}
    for impl in impls:
        log("  %-14s %s" % (impl.name, bench))
        first[impl.name] = run_once(impl.argv(bench), timeout, use_wrapper)
    reference = expected_output(bench, first)
    cells = {}
    for impl in impls:
        r = first[impl.name]
        if r.status != "ok":
            log("!! %s on %s: %s" % (impl.name, bench, r.status))
            cells[impl.name] = Cell(failure="timeout" if r.status == "timeout" else "error", detail=r.status)
            continue
        if reference is not None and r.stdout != reference:
            log("!! WRONG OUTPUT: %s on %s printed\n%s!! instead of\n%s" % (
                impl.name, bench, r.stdout.decode("utf-8", "replace"), reference.decode("utf-8", "replace")))
            cells[impl.name] = Cell(failure="wrong output")
            continue
        samples = [r]
        for _ in range(runs - 1):
            samples.append(run_once(impl.argv(bench), timeout, use_wrapper))
        bad = [s for s in samples if s.status != "ok" or s.stdout != r.stdout]
        if bad:
            log("!! %s on %s: a repeated run failed or changed its output" % (impl.name, bench))
            cells[impl.name] = Cell(failure="error")
            continue
        cells[impl.name] = Cell(
            seconds=statistics.median(s.seconds for s in samples),
            rss_kib=max(s.max_rss_kib for s in samples),
        )
    return cells


def geomean(values):
    return math.exp(sum(math.log(v) for v in values) / len(values)) if values else None


def time_cell(cell, base):
    if cell is None:
        return "—"
    if cell.failure:
        return cell.failure
    text = "%.3f s" % cell.seconds
    if base is not None and base.seconds:
        text += " (%.2f×)" % (cell.seconds / base.seconds)
    return text


def rss_cell(cell):
    if cell is None:
        return "—"
    if cell.failure:
        return cell.failure
    return "%.1f MB" % (cell.rss_kib / 1024)


def geomean_cell(benches, results, name, base_name):
    """The geometric mean of `name`'s time ratios to `base_name`, over the
    benchmarks where both succeeded; the count follows when some failed."""
    ratios = []
    for b in benches:
        c, base = results[b].get(name), results[b].get(base_name)
        if c and base and c.failure is None and base.failure is None:
            ratios.append(c.seconds / base.seconds)
    g = geomean(ratios)
    if g is None:
        return "—"
    return "%.2f×" % g + ("" if len(ratios) == len(benches) else " (%d of %d)" % (len(ratios), len(benches)))


def markdown_tables(benches, impls, results):
    names = [i.name for i in impls]
    header = "| benchmark | " + " | ".join(names) + " |"
    rule = "|---|" + "---:|" * len(names)

    lines = ["### Median wall time (ratio to %s)" % BASELINE, "", header, rule]
    for b in benches:
        base = results[b].get(BASELINE)
        base = base if base is not None and base.failure is None else None
        lines.append("| %s | %s |" % (b, " | ".join(time_cell(results[b].get(n), base) for n in names)))
    for base_name in GEOMEAN_BASES:
        if base_name in names:
            label = "**geometric mean**" if base_name == BASELINE else "geometric mean vs %s" % base_name
            lines.append("| %s | %s |" % (label, " | ".join(geomean_cell(benches, results, n, base_name)
                                                         for n in names)))
    lines += ["", "### Peak resident set size", "", header, rule]
    for b in benches:
        lines.append("| %s | %s |" % (b, " | ".join(rss_cell(results[b].get(n)) for n in names)))
    return lines


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def os_name():
    """The distribution's name from /etc/os-release, and the kernel."""
    pretty = None
    try:
        with open("/etc/os-release") as f:
            for line in f:
                if line.startswith("PRETTY_NAME="):
                    pretty = line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    kernel = "%s %s" % (platform.system(), platform.release())
    return "%s, %s" % (pretty, kernel) if pretty else kernel


def version_of(impl):
    if impl.skip_reason:
        return "not available"
    try:
        r = subprocess.run(impl.version_cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True, timeout=10)
        first = (r.stdout.strip().splitlines() or ["?"])[0]
        return first if r.returncode == 0 else "unknown (%s)" % first
    except (OSError, subprocess.TimeoutExpired) as e:
        return "unknown (%s)" % e


def git_commit():
    r = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, stdout=subprocess.PIPE,
                       stderr=subprocess.DEVNULL, text=True)
    return r.stdout.strip() or "unknown"


def failure_notes(benches, impls, results):
    """One note per implementation and distinct failure, naming the benchmarks."""
    grouped = {}
    for b in benches:
        for impl in impls:
            cell = results[b].get(impl.name)
            if cell is not None and cell.failure:
                grouped.setdefault((impl.name, cell.detail), []).append(b)
    return ["%s failed on %s: %s" % (name, ", ".join(bs), detail) for (name, detail), bs in grouped.items()]


def report(benches, impls, results, runs, notes):
    notes = notes + failure_notes(benches, impls, results)
    seen = set()
    versions = []
    for impl in impls:
        if impl.tool not in seen:
            seen.add(impl.tool)
            versions.append("- %s: %s" % (impl.name.split()[0], version_of(impl)))
    lines = [
        "Generated by `python3 benches/compare.py --runs %d` on %s." % (runs, datetime.date.today().isoformat()),
        "",
        "- CPU: %s (%d logical cores)" % (cpu_model(), os.cpu_count() or 0),
        "- OS: %s" % os_name(),
        "- toyc commit: %s" % git_commit(),
        "- runs per cell: %d (median wall time; peak RSS is the largest of the runs)" % runs,
    ] + versions + [""]
    lines += markdown_tables(benches, impls, results)
    if notes:
        lines += ["", "Notes:", ""] + ["- " + n for n in notes]
    return "\n".join(lines) + "\n"


def parse_args():
    p = argparse.ArgumentParser(description="Compare toyc with other implementations on benches/programs.")
    p.add_argument("--runs", type=int, default=5, help="runs per benchmark and implementation (default 5)")
    p.add_argument("--only", help="comma-separated benchmark names, e.g. fib,loop")
    p.add_argument("--out", help="also write the Markdown report to this file, e.g. docs/performance-table.md")
    p.add_argument("--update", help="replace the part of this Markdown file between the markers %s and %s"
                   % (BEGIN_MARKER, END_MARKER))
    p.add_argument("--no-build", action="store_true", help="do not run cargo build --release first")
    p.add_argument("--timeout", type=float, default=120.0, help="seconds before a run is killed (default 120)")
    args = p.parse_args()
    if args.runs < 1:
        p.error("--runs must be at least 1")
    return args


def update_document(path, text):
    """Replace what lies between the begin and end markers of `path` by `text`."""
    with open(path) as f:
        doc = f.read()
    start, end = doc.find(BEGIN_MARKER), doc.find(END_MARKER)
    if start < 0 or end < start:
        sys.exit("%s: no %s ... %s section to update" % (path, BEGIN_MARKER, END_MARKER))
    start += len(BEGIN_MARKER)
    with open(path, "w") as f:
        f.write(doc[:start] + "\n" + text + doc[end:])
    log("updated " + path)


def main():
    global PEER_BIN
    args = parse_args()
    benches = all_benchmarks()
    if args.only:
        wanted = [b.strip() for b in args.only.split(",") if b.strip()]
        unknown = [b for b in wanted if b not in benches]
        if unknown:
            sys.exit("unknown benchmark(s): %s (have: %s)" % (", ".join(unknown), ", ".join(benches)))
        benches = wanted

    notes = []
    for impl in IMPLS:
        if not tool_exists(impl.tool) and not impl.name.startswith("toyc"):
            impl.skip_reason = "%s not installed" % impl.tool
    if not args.no_build:
        err = build_toyc()
        if err:
            notes.append(err)
            log("!! " + err)
    tmp = tempfile.TemporaryDirectory(prefix="toyc-bench-")
    PEER_BIN = tmp.name
    c_failures = build_c_peers(benches) if tool_exists("gcc") else {}
    for b, err in c_failures.items():
        notes.append("C peer of %s did not compile" % b)
        log("!! gcc failed on %s:\n%s" % (b, err))

    impls = [i for i in IMPLS if not i.skip_reason]
    for i in IMPLS:
        if i.skip_reason:
            notes.append("skipped %s: %s" % (i.name, i.skip_reason))
            log("note: skipping " + notes[-1][8:])

    use_wrapper = build_rss_wrapper()
    if not use_wrapper:
        notes.append("peak RSS includes the benchmark driver's own (no gcc for the RSS wrapper)")
    results = {}
    for b in benches:
        results[b] = measure(b, impls, args.runs, args.timeout, use_wrapper)

    text = report(benches, impls, results, args.runs, notes)
    print(text)
    if args.out:
        out = os.path.join(ROOT, args.out) if not os.path.isabs(args.out) else args.out
        os.makedirs(os.path.dirname(out), exist_ok=True)
        with open(out, "w") as f:
            f.write(text)
        log("wrote " + out)
    if args.update:
        update_document(os.path.join(ROOT, args.update), text)
    tmp.cleanup()


if __name__ == "__main__":
    main()
