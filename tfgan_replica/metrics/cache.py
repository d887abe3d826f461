"""Where evaluation artefacts are cached, and how they are written safely."""

import contextlib
import hashlib
import json
import os
import tempfile
from pathlib import Path

CACHE_ENV = "TFGAN_REPLICA_CACHE"


def cache_dir():
    """The cache folder: $TFGAN_REPLICA_CACHE, else ~/.cache/tfgan_replica."""
    path = Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "tfgan_replica")
    path.mkdir(parents=True, exist_ok=True)
    return path


def settings_key(settings):
    """A short stable hash of a JSON-serialisable dict of settings."""
    text = json.dumps(settings, sort_keys=True)
    return hashlib.sha1(text.encode()).hexdigest()[:16]


def file_sha1(path):
    digest = hashlib.sha1()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@contextlib.contextmanager
def atomic_path(path):
    """Yields a temporary path beside `path`; renames it onto `path` only on success.

    Readers never see a half-written file, and a failure leaves nothing behind.
    The temporary name keeps the suffix of `path`, which some writers require.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix="".join(path.suffixes))
    os.close(handle)
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
