"""Images as they are saved, read and looked at: uint8 quantization, image files, grids.

Every place that turns generator outputs into pixels (sample grids, sample files,
the metrics) goes through `to_uint8`, so an image scored in memory equals the same
image written to disk. Every place that reads images (datasets, samples to score)
goes through `read_npz`, `read_idx` and `read_png_folder`, and checks arrays with
`as_image_batch` (and samples from outside with `check_generated`), so a bad file
fails alike wherever it is read.
"""

import contextlib
import dataclasses
import gzip
import math
import struct
import zipfile
from pathlib import Path
from typing import Callable

import numpy as np

from tfgan_replica.errors import InputError


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


_FLOAT_MARGIN = 1e-3

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
        raise InputError(f"sample_mode must be one of {sorted(SAMPLE_MODES)}, got {sample_mode!r}")


def to_uint8(images, sample_mode="standard"):
    """Images -> the uint8 pixels `sample_mode` scores (standard: as a PNG writer stores them).

    Float images are taken to lie in [-1, 1]; uint8 images are stored pixels.
    """
    check_sample_mode(sample_mode)
    mode = SAMPLE_MODES[sample_mode]
    images = np.asarray(images)
    return mode.from_uint8(images) if images.dtype == np.uint8 else mode.from_float(images)


class ImageFileError(InputError):
    """An image file or folder that cannot be read; the message names it and the fix."""


@contextlib.contextmanager
def _open_npz(path):
    """The .npz at `path`, opened without pickles; a file numpy cannot read, while open or
    while reading an array, raises `ImageFileError`."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            yield archive
    except ImageFileError:
        raise
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as error:
        raise ImageFileError(f"{path}: truncated or corrupt .npz ({error}); write or download "
                             "it again") from error


def npz_names(path):
    """The names of the arrays in the .npz at `path`, none of them read."""
    with _open_npz(path) as archive:
        return list(archive.files)


def read_npz(path, keys, layout):
    """The arrays `keys` of the .npz at `path`, read without pickles; `layout` tells the
    user what the file should hold."""
    with _open_npz(path) as archive:
        missing = [key for key in keys if key not in archive.files]
        if missing:
            raise ImageFileError(f"{path}: missing arrays {missing} (found {archive.files}); "
                                 f"{layout}")
        return [archive[key] for key in keys]


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


def read_idx(path, ndim):
    """The uint8 array of an IDX file (MNIST's format; `.gz` read as gzip): magic bytes
    (0, 0, 0x08, ndim), `ndim` big-endian uint32 sizes, then the raw bytes."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as stream:
            raw = stream.read()
    except (OSError, EOFError) as error:
        raise ImageFileError(f"{path}: truncated or corrupt gzip ({error}); download it again") from error
    if len(raw) < 4 or raw[:3] != b"\x00\x00\x08" or raw[3] != ndim:
        raise ImageFileError(f"{path}: not a uint8 IDX file with {ndim} dimensions")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ImageFileError(f"{path}: truncated header; download it again")
    dims = struct.unpack(f">{ndim}I", raw[4:header])
    expected = int(np.prod(dims))
    if len(raw) - header != expected:
        raise ImageFileError(
            f"{path}: header promises {expected} bytes of data, file has {len(raw) - header}; "
            f"the file is truncated or corrupt, download it again"
        )
    return np.frombuffer(raw, np.uint8, offset=header).reshape(dims)


def as_image_batch(images, name="images"):
    """`images` as an (N, H, W, C) array with C in {1, 3}, uint8 or float."""
    images = np.asarray(images)
    if images.ndim == 3:
        images = images[..., None]
    if images.ndim != 4 or images.shape[-1] not in (1, 3):
        raise InputError(f"{name} must be (N, H, W) or (N, H, W, 1|3), got shape {images.shape}")
    if images.dtype != np.uint8 and not np.issubdtype(images.dtype, np.floating):
        raise InputError(f"{name} must be uint8 or float in [-1, 1], got dtype {images.dtype}")
    return images


def check_generated(images, name="images"):
    """Refuses float images that are not finite or not in [-1, 1] (a margin of 1e-3 allows
    for rounding): samples read from outside, where clipping would hide a wrong range."""
    if images.dtype == np.uint8:
        return
    bad = int(np.count_nonzero(~np.isfinite(images)))
    if bad:
        raise InputError(f"{name}: {bad} pixel values are NaN or Inf; the generator diverged, "
                         "score an earlier checkpoint")
    low, high = float(images.min(initial=0.0)), float(images.max(initial=0.0))
    if low < -1 - _FLOAT_MARGIN or high > 1 + _FLOAT_MARGIN:
        raise InputError(f"{name}: float images must lie in [-1, 1] (tanh outputs), found "
                         f"[{low:.3g}, {high:.3g}]; convert [0, 1] images with x * 2 - 1, or "
                         "pass uint8")


def save_png(image, path):
    """Writes one uint8 (H, W, C) image with C in {1, 3}."""
    from PIL import Image

    Image.fromarray(image[..., 0] if image.shape[-1] == 1 else image).save(path)


# The sample grids' layout (runs, TensorBoard, `sample --output=X.png`, results/): each digit
# at twice its size, cells apart on a gray that neither black background nor white strokes have.
GRID_SCALE, GRID_GAP, GRID_GAP_VALUE = 2, 2, 128


def image_grid(images, rows, scale=GRID_SCALE, gap=GRID_GAP):
    """uint8 (N, H, W, C) -> one image of `rows` rows filled row by row, each image enlarged
    `scale` times (nearest neighbour, so pixels stay sharp) and cells `gap` pixels apart."""
    images = images.repeat(scale, axis=1).repeat(scale, axis=2)
    count, height, width, channels = images.shape
    cols = math.ceil(count / rows)
    grid = np.full((rows * (height + gap) - gap, cols * (width + gap) - gap, channels),
                   GRID_GAP_VALUE, images.dtype)
    for index, image in enumerate(images):
        top, left = (height + gap) * (index // cols), (width + gap) * (index % cols)
        grid[top:top + height, left:left + width] = image
    return grid
