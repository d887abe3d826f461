"""Images as they are saved, read and looked at: uint8 quantization, .npz and PNG files,
grids, sampling.

Every place that turns generator outputs into pixels (sample grids, `sample`,
the metrics) goes through `to_uint8`, so an image scored in memory equals the
same image written to disk; every place that reads image files (datasets, samples
to score) goes through `read_npz` and `read_png_folder`.
"""

import dataclasses
import math
import zipfile
from pathlib import Path
from typing import Callable

import numpy as np
import tensorflow as tf


@dataclasses.dataclass(frozen=True)
class PixelMode:
    """How an evaluator turns images into the uint8 pixels it scores.

    `from_float` maps generator outputs in [-1, 1]; `from_uint8` maps stored images
    (the reference set, or uint8 samples). Both sides of a comparison go through the
    same mode.
    """

    from_float: Callable[[np.ndarray], np.ndarray]
    from_uint8: Callable[[np.ndarray], np.ndarray]
    float_description: str
    uint8_description: str


def _save_image_pixels(x):
    """`torchvision.utils.save_image` of a float tensor: floor(clamp(255 x + 0.5, 0, 255))."""
    x = np.asarray(x, np.float32)
    return np.floor(np.clip(x * np.float32(255) + np.float32(0.5), 0, 255)).astype(np.uint8)


def _standard_pixels(x):
    return np.clip(np.rint((np.asarray(x, np.float32) + 1.0) * 127.5), 0, 255).astype(np.uint8)


def _course_stored_pixels(u):
    """A stored pixel u, normalized to 2u/255 - 1 and written by save_image: max(0, 2u - 255)."""
    return np.maximum(0, 2 * np.asarray(u, np.int32) - 255).astype(np.uint8)


SAMPLE_MODES = {
    "standard": PixelMode(_standard_pixels, np.asarray,
                          "uint8 = round((x + 1) * 127.5), clipped to [0, 255]",
                          "uint8 as stored in the dataset"),
    # Report B's evaluator read PNG folders that torchvision's save_image wrote from tensors
    # in [-1, 1], for the test images and the samples alike: negatives became black.
    "course": PixelMode(_save_image_pixels, _course_stored_pixels,
                        "uint8 = floor(clip(255 x + 0.5, 0, 255)) (torchvision save_image)",
                        "uint8 = max(0, 2u - 255) (save_image of the normalized image 2u/255 - 1)"),
}


def check_sample_mode(sample_mode):
    if sample_mode not in SAMPLE_MODES:
        raise ValueError(f"sample_mode must be one of {sorted(SAMPLE_MODES)}, got {sample_mode!r}")


def to_uint8(images, sample_mode="standard"):
    """Images -> the uint8 pixels `sample_mode` scores (standard: as a PNG writer stores them).

    Float images are taken to lie in [-1, 1]; uint8 images are stored pixels.
    """
    check_sample_mode(sample_mode)
    mode = SAMPLE_MODES[sample_mode]
    images = np.asarray(images)
    return mode.from_uint8(images) if images.dtype == np.uint8 else mode.from_float(images)


class ImageFileError(ValueError):
    """An image file or folder that cannot be read; the message names it and the fix."""


def read_npz(path, keys, layout):
    """The arrays `keys` of the .npz at `path`, read without pickles; `layout` tells the
    user what the file should hold."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            missing = [key for key in keys if key not in archive.files]
            if missing:
                raise ImageFileError(f"{path}: missing arrays {missing} (found {archive.files}); "
                                     f"{layout}")
            return [archive[key] for key in keys]
    except ImageFileError:
        raise
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as error:
        raise ImageFileError(f"{path}: truncated or corrupt .npz ({error}); write or download "
                             "it again") from error


def _png_pixels(image):
    """uint8 (H, W) for gray images, (H, W, 3) otherwise. A palette image is looked up
    (its indices are not pixels) and kept gray when its palette is."""
    if image.mode in ("1", "L", "LA", "I", "I;16"):
        return np.asarray(image.convert("L"))
    rgb = np.asarray(image.convert("RGB"))
    if image.mode in ("P", "PA") and (rgb == rgb[..., :1]).all():
        return rgb[..., 0]
    return rgb


def read_png_folder(folder):
    """Every .png in `folder` (sorted by name) as one uint8 array: (N, H, W) when all are
    gray, else (N, H, W, 3)."""
    from PIL import Image, UnidentifiedImageError

    files = sorted(Path(folder).glob("*.png"))
    if not files:
        raise ImageFileError(f"{folder}: no .png images found")
    arrays = []
    for file in files:
        try:
            with Image.open(file) as image:
                arrays.append(_png_pixels(image))
        except (UnidentifiedImageError, OSError) as error:
            raise ImageFileError(f"{file}: unreadable PNG ({error}); remove or replace it") from error
    if any(array.ndim == 3 for array in arrays):  # one colour image makes the batch RGB
        arrays = [np.repeat(a[..., None], 3, axis=-1) if a.ndim == 2 else a for a in arrays]
    shapes = {array.shape for array in arrays}
    if len(shapes) > 1:
        raise ImageFileError(f"{folder}: images differ in shape {sorted(shapes)}; resize them to "
                             "one size")
    return np.stack(arrays)


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
