"""Paths a command writes to, checked before any work.

A path that cannot be written would otherwise fail in a traceback after the work (a
minute of scoring, thousands of samples); checked first, it fails in one line that names
the path and the fix, and nothing is created.
"""

import os
import tempfile
from pathlib import Path

from tfgan_replica.errors import InputError


def check_writable(path, folder=False):
    """Raises `InputError` unless this process can create or overwrite `path` as a file
    (as a folder with `folder=True`); missing parent folders count as creatable. Leaves
    nothing behind."""
    path = Path(path)
    kind = "folder" if folder else "file"
    existing = next(p for p in (path, *path.parents) if p.exists())
    if existing == path and path.is_dir() != folder:
        raise InputError(f"cannot write to {path}: it exists and is not a {kind}; give the path "
                         f"of a {kind}")
    if existing != path and not existing.is_dir():
        raise InputError(f"cannot write to {path}: {existing} is a file, not a folder; choose a "
                         f"path inside a folder")
    if not os.access(existing, os.W_OK | (os.X_OK if existing.is_dir() else 0)):
        raise InputError(f"cannot write to {path}: {existing} is not writable; choose another "
                         f"path or make {existing} writable")
    directory = existing if existing.is_dir() else existing.parent
    try:  # os.access reads mode bits, which root, ACLs and network filesystems override
        tempfile.TemporaryFile(dir=directory).close()
    except OSError as error:
        raise InputError(f"cannot write to {path}: no file can be created in {directory} "
                         f"({error.strerror}); choose another path or make {directory} writable"
                         ) from error
