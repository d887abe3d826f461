"""One `train` at a time per run folder: an OS lock on RUN/train.lock while it trains.

Two trainings in one folder would write into the same checkpoints. The lock is
`fcntl.flock`, which belongs to the open file: the kernel drops it when the process
ends however it ends (an exception, a signal, `kill -9`), so a lock file left behind
by a dead process blocks nothing. The file holds the holder's pid, host and command,
so a refused `train` can name it; the holder removes it on release.
"""

import contextlib
import fcntl
import os
import socket
import sys
from pathlib import Path

from tfgan_replica.errors import InputError

LOCK_NAME = "train.lock"


def _holder():
    """This process as the one line a refused command prints."""
    command = " ".join(" ".join(sys.orig_argv).split())  # a `python -c` script spans lines
    return f"pid {os.getpid()} on {socket.gethostname()} ({command})"


def _still_linked(handle, path):
    """Whether `path` is still the file `handle` locked: a releasing holder unlinks it."""
    try:
        return os.path.samestat(os.stat(path), os.fstat(handle.fileno()))
    except FileNotFoundError:
        return False


@contextlib.contextmanager
def training_lock(run_dir):
    """Holds the lock of `run_dir` (created if missing) for the `with` block.

    Raises `InputError` naming the holder when another process (or another `with` in
    this one) has it.
    """
    run_dir = Path(run_dir)
    path = run_dir / LOCK_NAME
    run_dir.mkdir(parents=True, exist_ok=True)
    while True:
        handle = open(path, "a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise InputError(f"{run_dir} is in use by {holder}; wait for it to end or choose "
                             "another --logdir") from None
        if _still_linked(handle, path):
            break
        handle.close()  # locked the file its holder was removing: lock the new one
    try:
        handle.truncate(0)
        handle.write(_holder() + "\n")
        handle.flush()
        yield
    finally:
        path.unlink(missing_ok=True)
        handle.close()
