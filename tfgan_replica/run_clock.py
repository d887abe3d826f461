"""The clock that times training and evaluation: monotonic time less the time the process
spent suspended.

A run shares its machine: it is suspended (Ctrl-Z, or `kill -TSTP PID`; `fg` or
`kill -CONT PID` continues it) while something else needs the cores. Once
`count_suspensions` is installed (the command-line apps install it), the process stops
itself on SIGTSTP and, when continued, leaves the pause out of `now()`, so the seconds a
checkpoint keeps and the FID curve's timings are the run's own. SIGSTOP cannot be
caught: a run paused with it counts the pause.
"""

import os
import signal
import threading
import time

_suspended_seconds = 0.0


def now():
    """Seconds on a monotonic clock that stood still while the process was suspended."""
    return time.monotonic() - _suspended_seconds


def _suspend(signum, frame):
    global _suspended_seconds
    stopped = time.monotonic()
    os.kill(os.getpid(), signal.SIGSTOP)  # returns once the process is continued
    _suspended_seconds += time.monotonic() - stopped


def count_suspensions():
    """Handles SIGTSTP by suspending the process and leaving the pause out of `now()`.
    Only the main thread can install a signal handler; where SIGTSTP does not exist
    (Windows) or elsewhere, pauses count."""
    if hasattr(signal, "SIGTSTP") and threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTSTP, _suspend)
