"""Shared test fixtures: offline, CPU only, the read-only shared/ folder beside the repo."""

import os
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("TFGAN_REPLICA_SHARED", REPO.parent / "shared"))


@pytest.fixture(scope="session")
def shared_dir():
    """The read-only folder with real MNIST and the FID Inception weights."""
    if not SHARED.is_dir():
        pytest.skip(f"{SHARED} not found: set TFGAN_REPLICA_SHARED to the shared/ folder")
    return SHARED


@pytest.fixture(scope="session")
def inception_weights_path(shared_dir):
    return shared_dir / "weights" / "fid_inception_2015_12_05.pt"


@pytest.fixture(scope="module")
def cache_root(tmp_path_factory):
    """A fresh metrics cache per test module, so cached features never leak between tests."""
    root = tmp_path_factory.mktemp("cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TFGAN_REPLICA_CACHE", str(root))
        yield root


def checkpointed_values(path):
    """Every variable a checkpoint holds, by key, except the wall-clock training time and the
    number of saves (an interrupted run saves once more)."""
    import tensorflow as tf

    reader = tf.train.load_checkpoint(path)
    return {key: reader.get_tensor(key) for key in reader.get_variable_to_shape_map()
            if key.endswith("VARIABLE_VALUE") and "train_seconds" not in key
            and not key.startswith("save_counter")}
