"""Images as they are saved and looked at: uint8 quantization, PNG files, grids, sampling.

Every place that turns generator outputs into pixels (sample grids, `sample`,
the metrics) goes through `to_uint8`, so an image scored in memory equals the
same image written to disk.
"""

import math

import numpy as np
import tensorflow as tf

SAMPLE_MODES = {
    # name: (pixel value of a float image x in [-1, 1], description for provenance)
    "standard": (lambda x: (x + 1.0) * 127.5, "uint8 = round((x + 1) * 127.5), clipped to [0, 255]"),
    # Report B's sample writer saved tanh outputs without rescaling: negatives became black.
    "course": (lambda x: np.clip(x, 0.0, 1.0) * 255.0, "uint8 = round(clip(x, 0, 1) * 255)"),
}


def check_sample_mode(sample_mode):
    if sample_mode not in SAMPLE_MODES:
        raise ValueError(f"sample_mode must be one of {sorted(SAMPLE_MODES)}, got {sample_mode!r}")


def to_uint8(images, sample_mode="standard"):
    """Float images in [-1, 1] -> uint8 pixels as a PNG writer would store them."""
    check_sample_mode(sample_mode)
    pixels = SAMPLE_MODES[sample_mode][0](np.asarray(images, np.float32))
    return np.clip(np.rint(pixels), 0, 255).astype(np.uint8)


def save_png(image, path):
    """Writes one uint8 (H, W, C) image with C in {1, 3}."""
    from PIL import Image

    Image.fromarray(image[..., 0] if image.shape[-1] == 1 else image).save(path)


def image_grid(images, rows):
    """uint8 (N, H, W, C) -> one (rows*H, cols*W, C) image, filled row by row."""
    count, height, width, channels = images.shape
    cols = math.ceil(count / rows)
    padded = np.zeros((rows * cols, height, width, channels), images.dtype)
    padded[:count] = images
    grid = padded.reshape(rows, cols, height, width, channels).swapaxes(1, 2)
    return grid.reshape(rows * height, cols * width, channels)


def sample_generator(generator_fn, latent_dim, num, seed=0, batch_size=500):
    """float32 images of `generator_fn(z)` for `num` z ~ N(0, I) drawn with numpy `seed`."""
    z = np.random.default_rng(seed).standard_normal((num, latent_dim)).astype(np.float32)
    batches = [np.asarray(generator_fn(tf.constant(z[i:i + batch_size])), np.float32)
               for i in range(0, num, batch_size)]
    return np.concatenate(batches)
