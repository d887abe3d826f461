"""Images from a generator: the one way noise is drawn outside training.

For a seed s the latent vectors are numpy's `default_rng(s).standard_normal((num,
latent_dim))` in float32, so one seed gives the same images from a GAN in memory, its
exported SavedModel, the sample grids, the `sample` command and the metrics.

    images = sampling.generate(model.generate, model.latent_dim, num=64, seed=0)
    images = sampling.from_export("runs/x/generator", num=10_000)
"""

import math
from pathlib import Path

import numpy as np
import tensorflow as tf

from tfgan_replica import export
from tfgan_replica.errors import InputError
from tfgan_replica.images import image_grid, save_png, to_uint8
from tfgan_replica.outputs import check_writable

SAMPLE_SUFFIXES = (".npz", ".png", "")  # what `write_samples` writes: one file, one grid, a folder


def latent_noise(num, latent_dim, seed=0):
    """float32 (num, latent_dim) draws of N(0, I) keyed by `seed`."""
    return np.random.default_rng(seed).standard_normal((num, latent_dim)).astype(np.float32)


def generate(generator_fn, latent_dim, num, seed=0, batch_size=500):
    """float32 images `generator_fn(z)` for `num` latent vectors of `latent_noise`, computed
    `batch_size` at a time."""
    z = latent_noise(num, latent_dim, seed)
    batches = [np.asarray(generator_fn(tf.constant(z[i:i + batch_size])), np.float32)
               for i in range(0, num, batch_size)]
    return np.concatenate(batches)


def from_export(path, num, seed=0, batch_size=500):
    """`num` float32 images from the exported generator at `path`."""
    return generate(*export.load_generator(path), num, seed, batch_size)


def write_samples(generator_path, num, output, seed=0):
    """Writes `num` samples as `output` (.npz, key `images`; .png, one grid) or, for a path
    without suffix, as `output/sample_XXXXX.png`. The output is checked before any sampling."""
    if num < 1:
        raise InputError(f"num must be >= 1, got {num}")
    output = Path(output)
    if output.suffix not in SAMPLE_SUFFIXES:
        raise InputError(f"{output}: cannot write samples as {output.suffix!r}; give an .npz "
                         "(key `images`), a .png (one grid of the samples) or a folder (a path "
                         "without suffix)")
    check_writable(output, folder=not output.suffix)
    images = to_uint8(from_export(generator_path, num, seed))
    if not output.suffix:
        output.mkdir(parents=True, exist_ok=True)
        for index, image in enumerate(images):
            save_png(image, output / f"sample_{index:05d}.png")
        return output
    output.parent.mkdir(parents=True, exist_ok=True)
    if output.suffix == ".npz":
        np.savez_compressed(output, images=images)
    else:
        save_png(image_grid(images, rows=math.isqrt(num)), output)
    return output
