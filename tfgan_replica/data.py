"""Datasets as tf.data pipelines of float32 images in [-1, 1].

    train = data.load_dataset("mnist", "train", batch_size=256, seed=0)

Sources: the MNIST copy bundled with the package (MNIST's default, so that
everything works offline), TensorFlow Datasets (SVHN's default), or local files
given by path: a keras-layout `.npz`, a folder of IDX files (raw or .gz) or a
folder of PNG images. Every source is checked before any work starts and a bad
one raises `DatasetError` naming the file and the fix.

Besides a source's own `train` and `test` splits, two are cut from `train`: `holdout`,
`HOLDOUT_IMAGES` training images set aside for choosing among runs (so that the test
split only reports), and `train_fit`, the rest, to train on (see `holdout_indices`).
"""

import contextlib
import hashlib
import os
import socket
import threading
from pathlib import Path

import numpy as np
import tensorflow as tf

from tfgan_replica.choices import DATASET_SHAPES, HOLDOUT_IMAGES
from tfgan_replica.errors import InputError
from tfgan_replica.images import ImageFileError, npz_names, read_idx, read_npz, read_png_folder

TFDS_NAMES = {"mnist": "mnist", "svhn": "svhn_cropped"}
BUNDLED_MNIST = Path(__file__).parent / "data_files" / "mnist.npz"
BUNDLED_MNIST_SHA256 = "06af5dfe73b70e3bc1c36439982b18a8d76803db9b544f6fdf838a37fbb01b64"
IDX_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
# The splits cut from a source's training split (see `holdout_indices`).
HELD_OUT_SPLITS = ("train_fit", "holdout")
HOLDOUT_SEED = 20_000  # keys the permutation that picks the held-out training images
OFFLINE_PROBE = ("storage.googleapis.com", 443)
OFFLINE_PROBE_SECONDS = 5.0


class DatasetError(InputError):
    """A dataset that cannot be loaded; the message says which file and what to do."""


def image_shape(name):
    """The (height, width, channels) of dataset `name`."""
    return _spec(name)[0]


def load_arrays(name, split="train", source=None):
    """Loads a whole split as (uint8 images (N, H, W, C), int64 labels (N,)).

    `split` is one of the source's ("train", "test") or one cut from its training split:
    "holdout" (`HOLDOUT_IMAGES` of them, for choosing among runs) or "train_fit" (the
    rest, to train on); see `holdout_indices`. `source` is None (the dataset's default),
    "bundled", "tfds", or a path to a keras-layout .npz, a folder of IDX files or a folder
    of PNG images. Labels are -1 where the source has none (PNG folders).
    """
    if split not in HELD_OUT_SPLITS:
        return _load_split(name, split, source)
    images, labels = _load_split(name, "train", source)
    held_out = np.zeros(len(images), bool)
    held_out[holdout_indices(len(images), source or f"{name}'s default source")] = True
    chosen = held_out if split == "holdout" else ~held_out
    return images[chosen], labels[chosen]


def _load_split(name, split, source):
    """A split the source stores itself, checked."""
    shape, tfds_name = _spec(name)
    if source is None:
        source = "bundled" if name == "mnist" else "tfds"
    if source == "bundled":
        if name != "mnist":
            raise DatasetError(f"only MNIST is bundled; load {name!r} with source='tfds' or a path")
        images, labels = _load_npz(BUNDLED_MNIST, split, expected_sha256=BUNDLED_MNIST_SHA256)
    elif source == "tfds":
        images, labels = _load_tfds(tfds_name, split)
    else:
        images, labels = _load_path(Path(source), split)
    return _check_images(images, labels, shape, name, source), labels


def holdout_indices(train_count, what="the source"):
    """The sorted indices of the `holdout` images in a training split of `train_count`.

    The same images every time: the first `HOLDOUT_IMAGES` of a permutation keyed by
    `HOLDOUT_SEED`, drawn with NumPy's legacy `RandomState`, whose stream NumPy keeps
    fixed across versions. A random draw rather than the split's last images, because a
    source may store its images in an order (a PNG folder by class, for one) and the
    held-out images must be distributed as the training split is. `what` names the
    split in the error raised when it is too small to leave images to train on.
    """
    if train_count <= HOLDOUT_IMAGES:
        raise DatasetError(
            f"{what}: the train split holds {train_count} images, too few to hold out "
            f"{HOLDOUT_IMAGES:,} for the 'holdout' split and train on the rest; give a source "
            f"with more than {HOLDOUT_IMAGES:,} training images or use the 'train' split")
    order = np.random.RandomState(HOLDOUT_SEED).permutation(train_count)
    return np.sort(order[:HOLDOUT_IMAGES])


def make_dataset(images, batch_size, shuffle=True, seed=0, drop_remainder=True, start_epoch=0):
    """Turns uint8 images (N, H, W, C) into a batched, prefetched tf.data pipeline.

    With `shuffle`, the stream is endless: epoch e is the permutation keyed by
    (seed, e), so a run resumed at epoch e sees exactly the batches an
    uninterrupted run would (pass `steps_per_epoch = len(images) // batch_size`
    to `fit`). Without it, the images come once in their stored order.
    """
    if batch_size < 1:
        raise DatasetError(f"batch_size must be at least 1, got {batch_size}")
    if len(images) < batch_size and drop_remainder:
        raise DatasetError(f"{len(images)} images cannot fill one batch of {batch_size}")
    stored = tf.constant(images)
    if shuffle:
        count = tf.constant(len(images), tf.int64)

        def epoch_batches(epoch):
            key = tf.stack([tf.constant(seed, tf.int64), epoch])
            order = tf.random.experimental.stateless_shuffle(tf.range(count), seed=key)
            return tf.data.Dataset.from_tensor_slices(order).batch(batch_size, drop_remainder)

        batches = tf.data.Dataset.counter(start_epoch).flat_map(epoch_batches)
    else:
        indices = tf.data.Dataset.range(len(images))
        batches = indices.batch(batch_size, drop_remainder=drop_remainder)
    return batches.map(
        lambda index: to_float(tf.gather(stored, index)), num_parallel_calls=tf.data.AUTOTUNE
    ).prefetch(tf.data.AUTOTUNE)


def load_dataset(name, split="train", batch_size=256, source=None, shuffle=True, seed=0,
                 drop_remainder=True, start_epoch=0):
    """`load_arrays` then `make_dataset`: batches of float32 images in [-1, 1]."""
    images, _ = load_arrays(name, split, source)
    return make_dataset(images, batch_size, shuffle, seed, drop_remainder, start_epoch)


def to_float(images):
    """uint8 [0, 255] -> float32 [-1, 1], the range of the generators' tanh."""
    return tf.cast(images, tf.float32) / 127.5 - 1.0


def _spec(name):
    if name not in DATASET_SHAPES:
        raise DatasetError(f"unknown dataset {name!r}; choose one of {sorted(DATASET_SHAPES)}")
    return DATASET_SHAPES[name], TFDS_NAMES[name]


def _check_images(images, labels, shape, name, source):
    if images.dtype != np.uint8:
        raise DatasetError(f"{source}: images must be uint8 in [0, 255], got {images.dtype}")
    if images.ndim == 3:
        images = images[..., None]
    if images.shape[1:] != shape:
        raise DatasetError(
            f"{source}: images have shape {images.shape[1:]} but {name} needs {shape}; "
            f"check that the file holds {name} images"
        )
    if len(labels) != len(images):
        raise DatasetError(f"{source}: {len(images)} images but {len(labels)} labels")
    if len(images) == 0:
        raise DatasetError(f"{source}: the split holds no images")
    return images


def _load_npz(path, split, expected_sha256=None):
    if not path.is_file():
        raise DatasetError(f"{path}: no such file; give the path of a keras-layout .npz")
    if expected_sha256 is not None:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if digest != expected_sha256:
            raise DatasetError(
                f"{path}: sha256 {digest} does not match the bundled MNIST "
                f"({expected_sha256}); reinstall the package or pass a local copy by path"
            )
    with _reading():
        splits = sorted(name[2:] for name in npz_names(path) if name.startswith("x_"))
        if splits and split not in splits:
            raise DatasetError(f"{path} holds no split {split!r}, only {', '.join(splits)}; "
                               f"choose one of those (evaluate --split)")
        images, labels = read_npz(path, (f"x_{split}", f"y_{split}"),
                                  "a keras-layout .npz holds x_train, y_train, x_test, y_test")
    return images, labels.astype(np.int64)


@contextlib.contextmanager
def _reading():
    """Reports an unreadable image file as the dataset's error."""
    try:
        yield
    except ImageFileError as error:
        raise DatasetError(str(error)) from error


def _load_path(path, split):
    if path.suffix == ".npz":
        return _load_npz(path, split)
    if not path.is_dir():
        raise DatasetError(f"{path}: not found; give a .npz file, a folder of IDX files or of PNGs")
    if list(path.glob("*idx*-ubyte*")):
        return _load_idx_folder(path, split)
    return _load_png_folder(path / split if (path / split).is_dir() else path)


def _load_idx_folder(folder, split):
    if split not in IDX_FILES:
        raise DatasetError(f"IDX folders hold the 'train' and 't10k' (test) splits, not {split!r}")
    images_name, labels_name = IDX_FILES[split]
    with _reading():
        images = read_idx(_find(folder, images_name), ndim=3)
        labels = read_idx(_find(folder, labels_name), ndim=1).astype(np.int64)
    return images, labels


def _find(folder, stem):
    for candidate in (folder / stem, folder / f"{stem}.gz"):
        if candidate.is_file():
            return candidate
    raise DatasetError(f"{folder}: missing {stem} (or {stem}.gz); put the IDX files of MNIST there")


def _load_png_folder(folder):
    with _reading():
        images = read_png_folder(folder)
    return images, np.full(len(images), -1, np.int64)


def _load_tfds(tfds_name, split):
    import tensorflow_datasets as tfds

    builder = tfds.builder(tfds_name)
    prepared = tf.io.gfile.exists(os.path.join(builder.data_dir, "dataset_info.json"))
    if not prepared and not network_available():
        raise DatasetError(
            f"tfds dataset {tfds_name!r} is not downloaded and there is no network to fetch it; "
            f"download it where there is a network (tfds build {tfds_name}) and copy "
            f"~/tensorflow_datasets here, or pass a local .npz or folder: --data_source=PATH "
            f"to train, --reference_source=PATH to evaluate (source=PATH in Python)"
        )
    builder.download_and_prepare()
    dataset = builder.as_dataset(split=split, as_supervised=True).batch(4096)
    chunks = list(tfds.as_numpy(dataset))
    if not chunks:
        raise DatasetError(f"tfds dataset {tfds_name!r} has no examples in split {split!r}")
    images, labels = (np.concatenate(parts) for parts in zip(*chunks))
    return images, labels.astype(np.int64)


def network_available(address=OFFLINE_PROBE, seconds=OFFLINE_PROBE_SECONDS):
    """True when a TCP connection to the tfds storage host opens within `seconds`.

    Runs in a daemon thread so that a hanging DNS lookup cannot block the caller.
    """
    result = []

    def probe():
        try:
            socket.create_connection(address, timeout=seconds).close()
            result.append(True)
        except OSError:
            result.append(False)

    thread = threading.Thread(target=probe, daemon=True)
    thread.start()
    thread.join(seconds)
    return bool(result and result[0])
