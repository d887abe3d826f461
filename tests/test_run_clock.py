"""The run clock leaves out the time the process spent suspended by SIGTSTP (Ctrl-Z)."""

import os
import signal
import subprocess
import sys
import time

import pytest

from tfgan_replica import run_clock


@pytest.mark.skipif(not hasattr(signal, "SIGTSTP"), reason="no job-control signals here")
def test_a_suspension_is_left_out_of_the_clock():
    previous = signal.getsignal(signal.SIGTSTP)
    run_clock.count_suspensions()
    try:  # another process continues this one after 2 s
        waker = subprocess.Popen([sys.executable, "-c", "import os, signal, time; "
                                  f"time.sleep(2); os.kill({os.getpid()}, signal.SIGCONT)"])
        wall, clock = time.monotonic(), run_clock.now()
        os.kill(os.getpid(), signal.SIGTSTP)
        wall, clock = time.monotonic() - wall, run_clock.now() - clock
        waker.wait(timeout=30)
    finally:
        signal.signal(signal.SIGTSTP, previous)
    assert wall >= 2.0
    assert 0 <= clock < 0.5


def test_without_suspensions_the_clock_runs_with_monotonic_time():
    wall, clock = time.monotonic(), run_clock.now()
    time.sleep(0.2)
    assert abs((run_clock.now() - clock) - (time.monotonic() - wall)) < 0.01
