"""Where generated images to evaluate come from: an exported generator, a training run,
an .npz, a PNG folder or an array."""

import tempfile
from pathlib import Path

import numpy as np

from tfgan_replica import export, sampling
from tfgan_replica.errors import InputError
from tfgan_replica.images import as_image_batch, check_generated, read_npz, read_png_folder


def describe_source(source):
    """'generator', 'npz', 'png_folder' or 'array'; raises before any work if unusable."""
    if isinstance(source, np.ndarray):
        return "array"
    path = Path(source)
    if not path.exists():
        raise InputError(f"{source} does not exist; check the path")
    if path.is_dir() and (path / "saved_model.pb").is_file():
        return "generator"
    if path.is_dir() and (path / "config.json").is_file() and (path / "checkpoints").is_dir():
        return "run"
    if path.is_file() and path.suffix == ".npz":
        return "npz"
    if path.is_dir() and any(path.glob("*.png")):
        return "png_folder"
    raise InputError(
        f"{source}: not an exported generator (folder with saved_model.pb), a training run "
        "(config.json and checkpoints/), an .npz with key 'images', or a folder of .png files"
    )


def load_samples(source, num_samples, seed=0, batch_size=500):
    """The first `num_samples` images of `source`: float32 in [-1, 1] or uint8, NHWC."""
    kind = describe_source(source)
    if kind == "generator":
        images = sampling.from_export(source, num_samples, seed, batch_size)
    elif kind == "run":  # the generator of its newest checkpoint, exported for the occasion
        with tempfile.TemporaryDirectory() as folder:
            images = sampling.from_export(export.export_run(source, folder), num_samples, seed,
                                          batch_size)
    elif kind == "npz":
        (images,) = read_npz(source, ["images"], "save samples with np.savez(path, images=...)")
    elif kind == "png_folder":
        images = read_png_folder(source)
    else:
        images = source
    name = str(source) if kind != "array" else "samples"
    images = as_image_batch(images, name)
    check_generated(images, name)
    if len(images) < num_samples:
        raise InputError(f"{kind} source holds {len(images)} images, fewer than num_samples="
                         f"{num_samples}; generate more or lower num_samples")
    return images[:num_samples]
