"""Paired, interleaved timing of a workload's arms, and verdicts that hold still.

An arm is one way of running a workload (our `fit` step, a plain `tf.function` loop,
another precision). Each arm runs whole steps for a time window of at least
`window_seconds`. The arms take turns: pair i is the i-th window of every arm, run
back to back (A, B, then B, A for the next pair, so that neither always runs first),
and a ratio between two arms is taken within each pair. A machine whose speed drifts
between pairs then moves both arms of a ratio alike, and the spread over pairs shows
how much a single pair could mislead. A verdict is decided on the median ratio over
pairs; the summary also says whether the range over pairs straddles the target.

Every window also records how many cores the process kept busy, the hypervisor's
steal time, the time some task waited on I/O (the kernel's pressure stall information)
and a single-threaded clock probe, so a slow window can be told apart: fewer busy cores
with an I/O stall (waiting on the disk), fewer busy cores without one (threads waiting
on each other), steal (another guest on the host) or a slower probe (a lower clock for
everything on the machine).
"""

from __future__ import annotations

import dataclasses
import gc
import math
import os
import statistics
import time

import keras


@dataclasses.dataclass(frozen=True)
class Window:
    """What one arm did in one window."""

    steps: int
    seconds: float
    cpu_seconds: float = math.nan  # process CPU time (user + system) over the window
    steal_seconds: float = math.nan  # the machine's steal time over the window (all cores)
    probe_ms: float = math.nan  # the clock probe taken just before the window
    io_stall_seconds: float = math.nan  # time some task of the machine waited on I/O

    @property
    def steps_per_second(self):
        return self.steps / self.seconds

    @property
    def busy_cores(self):
        return self.cpu_seconds / self.seconds

    def items_per_second(self, items_per_step):
        return self.steps_per_second * items_per_step


@dataclasses.dataclass(frozen=True)
class Spread:
    """Median and range of a set of values (over pairs)."""

    median: float
    low: float
    high: float

    @classmethod
    def of(cls, values):
        values = list(values)
        return cls(statistics.median(values), min(values), max(values))

    def format(self, spec=".3f"):
        return f"{self.median:{spec}} [{self.low:{spec}}, {self.high:{spec}}]"


@dataclasses.dataclass(frozen=True)
class Ratio:
    """`top / bottom` steps per second, taken within each pair, with an optional target."""

    top: str
    bottom: str
    label: str
    target: float | None = None

    def per_pair(self, windows):
        """The ratio in each pair, from {arm: [Window per pair]}."""
        return [a.steps_per_second / b.steps_per_second
                for a, b in zip(windows[self.top], windows[self.bottom], strict=True)]


@dataclasses.dataclass(frozen=True)
class Verdict:
    """A target judged on the median over pairs."""

    spread: Spread
    target: float

    @property
    def passed(self):
        return self.spread.median >= self.target

    @property
    def straddles(self):
        """Pairs on either side of the target: a single pair could have flipped the verdict."""
        return self.spread.low < self.target <= self.spread.high

    def format(self):
        text = f"target >= {self.target:g}: {'pass' if self.passed else 'FAIL'}"
        if self.straddles:
            text += " (the range over pairs straddles it)"
        return text


class LoopArm:
    """An arm that calls `make_step()`'s step from Python, the way a hand-written loop does.

    `make_step()` is called once per window (say, to open a fresh dataset iterator) and
    returns the step: a callable returning a value (a tensor or an array) that is read
    back once, at the end of the window, so the time covers all the work.
    """

    def __init__(self, name, make_step, items_per_step, dtype="float32"):
        self.name = name
        self.make_step = make_step
        self.items_per_step = items_per_step
        self.dtype = dtype

    def window(self, seconds, min_steps=1):
        """Runs whole steps until both `seconds` and `min_steps` are reached;
        returns (steps, seconds)."""
        step = self.make_step()
        steps, start = 0, time.perf_counter()
        while steps < min_steps or time.perf_counter() - start < seconds:
            result = step()
            steps += 1
        keras.ops.convert_to_numpy(result)
        return steps, time.perf_counter() - start


def _steal_seconds():
    """The machine's cumulative steal time: the 8th value of /proc/stat's `cpu` line
    (clock ticks in which a virtual CPU was ready but the hypervisor ran something else)."""
    try:
        with open("/proc/stat") as stat:
            fields = stat.readline().split()
        return int(fields[8]) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return math.nan


def io_stall_seconds(path="/proc/pressure/io"):
    """The machine's cumulative time in which some task waited on I/O: the `total`
    (microseconds) of the `some` line of Linux's pressure stall information."""
    try:
        with open(path) as pressure:
            for line in pressure:
                kind, *fields = line.split()
                if kind == "some":
                    return int(dict(f.split("=") for f in fields)["total"]) / 1e6
    except (OSError, KeyError, ValueError):
        pass
    return math.nan


def _cpu_seconds():
    times = os.times()
    return times.user + times.system


def clock_probe_ms(repeats=5):
    """Milliseconds of a fixed single-threaded Python loop, the fastest of `repeats`
    (the fastest leaves out preemption): it slows down only when the core itself does."""
    best = math.inf
    for _ in range(repeats):
        start = time.perf_counter()
        total = 0
        for i in range(20_000):
            total += i * i
        best = min(best, time.perf_counter() - start)
    return best * 1e3


def measure(arm, seconds):
    """One window of `arm`, with the process's CPU time, the steal and I/O stall times
    and a probe.

    Garbage from earlier windows is collected first, outside the timing: after a window
    of the XLA-compiled DCGAN's `fit`, one collection took 20 s, blocked in a dataset
    iterator's destructor waiting for its tf.data threads; left to chance, such a
    collection fell inside a later window (28 s of one window's steps).
    """
    gc.collect()
    probe = clock_probe_ms()
    cpu, steal, io_stall = _cpu_seconds(), _steal_seconds(), io_stall_seconds()
    steps, elapsed = arm.window(seconds)
    return Window(steps, elapsed, _cpu_seconds() - cpu, _steal_seconds() - steal, probe,
                  io_stall_seconds() - io_stall)


def _window_note(window, items_per_step):
    note = f"{window.items_per_second(items_per_step):.1f}/s ({window.busy_cores:.2f} cores"
    if window.io_stall_seconds >= 0.1:
        note += f", {window.io_stall_seconds:.1f} s I/O stall"
    return note + ")"


def interleave(arms, pairs, window_seconds, print_fn=print):
    """Runs one window of every arm per pair, in reverse order for every other pair;
    returns {arm name: [Window per pair]}."""
    windows = {arm.name: [] for arm in arms}
    for index in range(pairs):
        for arm in (arms if index % 2 == 0 else arms[::-1]):
            windows[arm.name].append(measure(arm, window_seconds))
        print_fn(f"  pair {index + 1}/{pairs}: " + ", ".join(
            f"{arm.name} {_window_note(windows[arm.name][-1], arm.items_per_step)}"
            for arm in arms))
    return windows


def probe_correlation(windows):
    """Correlation over all windows between an arm's speed and the probe's speed, each
    relative to its median over the arm's windows: near 1 when the machine's clock
    explains the differences between windows, near 0 when it does not."""
    speeds, probes = [], []
    for arm_windows in windows.values():
        rates = [w.steps_per_second for w in arm_windows]
        probe_speeds = [1.0 / w.probe_ms for w in arm_windows]
        speeds += [rate / statistics.median(rates) for rate in rates]
        probes += [speed / statistics.median(probe_speeds) for speed in probe_speeds]
    try:
        return statistics.correlation(speeds, probes)
    except statistics.StatisticsError:  # fewer than two windows, or all equal
        return math.nan


@dataclasses.dataclass(frozen=True)
class WorkloadResult:
    """A workload's arms and ratios over pairs; GFLOP/s when its FLOPs a step are known."""

    title: str
    unit: str
    items_per_second: dict  # arm name: Spread
    gflops: dict  # arm name: Spread (empty without FLOPs a step)
    ratios: dict  # Ratio label: Spread
    ratios_per_pair: dict  # Ratio label: [ratio in each pair]
    verdicts: dict  # Ratio label: Verdict, for the ratios with a target
    windows: dict  # arm name: [Window per pair]


def summarize(title, arms, ratios, windows, flops_per_step=None, unit="images"):
    """Spreads over pairs of every arm's throughput and of every ratio, and the verdicts."""
    items = {arm.name: Spread.of(w.items_per_second(arm.items_per_step)
                                 for w in windows[arm.name]) for arm in arms}
    gflops = {} if flops_per_step is None else {
        arm.name: Spread.of(w.steps_per_second * flops_per_step / 1e9 for w in windows[arm.name])
        for arm in arms}
    per_pair = {ratio.label: ratio.per_pair(windows) for ratio in ratios}
    spreads = {label: Spread.of(values) for label, values in per_pair.items()}
    verdicts = {ratio.label: Verdict(spreads[ratio.label], ratio.target)
                for ratio in ratios if ratio.target is not None}
    return WorkloadResult(title, unit, items, gflops, spreads, per_pair, verdicts, windows)


def report(result, arms, peak=None, print_fn=print):
    """Prints a workload's summary; `peak` ({dtype: Spread of GFLOP/s}) adds each arm's
    share of the matmul peak of its compute dtype."""
    print_fn(f"{result.title}: median [min, max] over {len(next(iter(result.windows.values())))} "
             "pairs")
    width = max(len(arm.name) for arm in arms)
    for arm in arms:
        line = (f"  {arm.name:{width}s} {result.items_per_second[arm.name].format('8.1f')} "
                f"{result.unit}/s")
        if result.gflops:
            gflops = result.gflops[arm.name]
            line += f"  {gflops.format('6.1f')} GFLOP/s"
            if peak and arm.dtype in peak:
                line += f" = {gflops.median / peak[arm.dtype].median:4.0%} of the {arm.dtype} peak"
        busy = statistics.median(w.busy_cores for w in result.windows[arm.name])
        print_fn(f"{line}  ({busy:.2f} cores busy)")
    for label, spread in result.ratios.items():
        verdict = result.verdicts.get(label)
        print_fn(f"  {label:26s} {spread.format()}" + (f"  {verdict.format()}" if verdict else ""))
        print_fn(f"  {'':26s} by pair: " + " ".join(f"{r:.3f}" for r in result.ratios_per_pair[label]))
    every = [w for arm_windows in result.windows.values() for w in arm_windows]
    seconds = sum(w.seconds for w in every)
    steal = sum(w.steal_seconds for w in every) / seconds
    io_stall = sum(w.io_stall_seconds for w in every) / seconds
    print_fn(f"  windows: speed vs clock probe r = {probe_correlation(result.windows):.2f}, "
             f"steal {steal:.2f} of {os.cpu_count()} cores, I/O stall {io_stall:.1%} of the time")


def run_workload(title, arms, ratios, pairs, window_seconds, warmup_steps=2, flops_per_step=None,
                 peak=None, unit="images", print_fn=print):
    """Warms every arm up (tracing, first allocations), times them in interleaved pairs
    and prints the summary; returns the `WorkloadResult`."""
    print_fn(f"{title}: warming up {', '.join(arm.name for arm in arms)} "
             f"({warmup_steps} steps each); then {pairs} pairs of >= {window_seconds:g} s windows")
    for arm in arms:
        arm.window(0.0, warmup_steps)
    windows = interleave(arms, pairs, window_seconds, print_fn)
    result = summarize(title, arms, ratios, windows, flops_per_step, unit)
    report(result, arms, peak, print_fn)
    return result
