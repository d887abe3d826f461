"""The machine a timing ran on. CPUs differ several times over in speed (AVX2 only against
AVX-512 or AMX) and in whether bfloat16 helps at all, so every recorded time names its CPU."""

from __future__ import annotations

import os
import platform
from pathlib import Path

import tensorflow as tf

# The instruction sets that decide the matmul speed and whether bfloat16 pays.
SPEED_FLAGS = ("avx2", "avx512f", "avx512_bf16", "amx_bf16")
CPUINFO = Path("/proc/cpuinfo")


def _cpuinfo_field(name):
    try:
        for line in CPUINFO.read_text().splitlines():
            if line.split(":", 1)[0].strip() == name:
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def cpu_model():
    """The CPU's model name (from /proc/cpuinfo; the platform's word for it elsewhere)."""
    return _cpuinfo_field("model name") or platform.processor() or platform.machine()


def cpu_speed_flags():
    """Which of SPEED_FLAGS the CPU has (empty where /proc/cpuinfo is not readable)."""
    flags = set((_cpuinfo_field("flags") or "").split())
    return [flag for flag in SPEED_FLAGS if flag in flags]


def description():
    """The machine as results.json records it beside each run's times."""
    return {"cpu": cpu_model(), "cpu_flags": cpu_speed_flags(), "cpus": os.cpu_count(),
            "platform": platform.platform(), "tensorflow": tf.__version__}


def summary_line():
    """One line naming the CPU, its speed-relevant instructions and its cores."""
    flags = ", ".join(cpu_speed_flags()) or "none of " + ", ".join(SPEED_FLAGS)
    return f"CPU: {cpu_model()} ({flags}); {os.cpu_count()} cores"
