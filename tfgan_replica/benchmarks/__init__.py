"""Benchmarks: timings and memory of the package's costly parts, printed, not asserted."""
