"""The published FID protocols: how uint8 images become the 299x299 input of the network.

Published FIDs use the same network and weights but differ in how images are resized to
299x299 and scaled, so a score compares only with scores of the same protocol. Each
protocol here is one function, uint8 (N, H, W, 1|3) -> float32 (N, 299, 299, 3), traced
into one graph with the shared network (see `features.FeatureExtractor`); gray images
become RGB by repeating the channel, which commutes with every resize here (each channel
is resized on its own).

- `pytorch_fid`: bilinear with half-pixel centres, then [-1, 1] (pytorch-fid).
- `tf1`: TensorFlow 1's bilinear resize without half-pixel centres, then (x - 128) / 128
  (TTUR's fid.py, TF-GAN until 2019, torch-fidelity).
- `clean`: PIL's bicubic filter on float pixels, not re-quantized, then (x - 128) / 128
  (clean-fid's default).
"""

import dataclasses
import os
from concurrent.futures import ThreadPoolExecutor
from typing import Callable

import numpy as np
import tensorflow as tf
from PIL import Image

from tfgan_replica.errors import InputError
from tfgan_replica.metrics import inception

SIZE = (inception.INPUT_SIZE, inception.INPUT_SIZE)


@dataclasses.dataclass(frozen=True)
class Protocol:
    """One protocol's preprocessing; `resize` and `input_scaling` key the reference cache
    and go into every score's provenance, with `used_by`."""

    to_network_input: Callable  # uint8 (N, H, W, 1|3) -> float32 (N, 299, 299, 3)
    resize: str
    input_scaling: str
    used_by: str


def _rgb(images):
    return tf.repeat(images, 3, axis=-1) if images.shape[-1] == 1 else images


def pytorch_fid_input(images_uint8):
    """pytorch-fid's preprocessing: `InceptionV3.forward` in mseitzer/pytorch-fid
    src/pytorch_fid/inception.py takes pixels / 255, resizes with `F.interpolate(mode=
    "bilinear", align_corners=False)` (half-pixel centres, no antialiasing) and maps
    x -> 2x - 1. `tf.image.resize` samples at the same centres; dividing by 255 before or
    after a bilinear resize is the same map (up to rounding), so this resizes the uint8
    values and scales once.
    """
    images = _rgb(tf.cast(images_uint8, tf.float32))
    images = tf.image.resize(images, SIZE, method="bilinear", antialias=False)
    return images / 127.5 - 1.0


def tf1_resize(images, size=SIZE):
    """TensorFlow 1's ResizeBilinear op with align_corners=False and no half-pixel centres
    (what `tf.compat.v1.image.resize_bilinear` defaults to): output pixel d samples the
    source at d * in / out, so the image shifts by up to half a source pixel towards the
    top left. Float (N, H, W, C) -> float32 (N, *size, C)."""
    return tf.raw_ops.ResizeBilinear(images=images, size=size, align_corners=False,
                                     half_pixel_centers=False)


def tf1_input(images_uint8):
    """The original FID code's preprocessing, inside the 2015 Inception graph: bioinf-jku/TTUR
    fid.py feeds float pixels 0-255 to `FID_Inception_Net/ExpandDims:0` (`get_activations`),
    after which the graph runs ResizeBilinear to 299x299 and (x - 128) * (1 / 128). torch-fidelity
    re-implements both steps (torch_fidelity/feature_extractor_inceptionv3.py,
    `FeatureExtractorInceptionV3.forward`, calling `interpolate_bilinear_2d_like_tensorflow1x`
    of interpolate_compat_tensorflow.py with align_corners=False)."""
    images = _rgb(tf.cast(images_uint8, tf.float32))
    return (tf1_resize(images) - 128.0) / 128.0


def clean_resize(images_uint8):
    """clean-fid's resize (GaParmar/clean-fid cleanfid/resize.py: `build_resizer("clean")`
    -> `make_resizer("PIL", False, "bicubic", (299, 299))`): each channel as a float32
    PIL image (mode "F") resized with `Image.BICUBIC`, clipped to [0, 255] and kept as
    floats. uint8 (N, H, W, C) -> float32 (N, 299, 299, C).

    PIL runs on the host, one batch at a time (memory stays at one batch), with a thread
    per core: Pillow releases the GIL while it resamples (ImagingSectionEnter in
    src/libImaging/Resample.c).
    """
    images = np.asarray(images_uint8, np.float32)
    resized = np.empty((len(images), *SIZE, images.shape[-1]), np.float32)

    def resize_image(index):
        for channel in range(images.shape[-1]):
            pixels = Image.fromarray(np.ascontiguousarray(images[index, ..., channel]), mode="F")
            resized[index, ..., channel] = np.asarray(pixels.resize(SIZE[::-1], Image.BICUBIC))

    with ThreadPoolExecutor(max_workers=os.cpu_count()) as pool:
        list(pool.map(resize_image, range(len(images))))
    return np.clip(resized, 0, 255, out=resized)


def clean_input(images_uint8):
    """clean-fid's preprocessing: `clean_resize`, then (x - 128) / 128, the scaling of
    `InceptionV3W.forward` in cleanfid/inception_torchscript.py (features.py's
    `build_feature_extractor("clean")` feeds it the resized pixels 0-255)."""
    resized = tf.numpy_function(clean_resize, [images_uint8], tf.float32, stateful=False)
    resized = tf.ensure_shape(resized, [images_uint8.shape[0], *SIZE, images_uint8.shape[-1]])
    return _rgb((resized - 128.0) / 128.0)


PROTOCOLS = {
    "pytorch_fid": Protocol(
        pytorch_fid_input, "tf.image.resize bilinear 299x299, antialias=False", "x / 127.5 - 1",
        "pytorch-fid (F.interpolate bilinear, align_corners=False); report B's evaluator"),
    "tf1": Protocol(
        tf1_input,
        "TensorFlow 1 ResizeBilinear 299x299, align_corners=False, half_pixel_centers=False, "
        "float pixels 0-255", "(x - 128) / 128",
        "TTUR fid.py (the original FID code), TF-GAN until 2019, torch-fidelity"),
    "clean": Protocol(
        clean_input,
        "PIL Image.BICUBIC 299x299 per channel on float32 (mode F), clipped to [0, 255], "
        "not re-quantized", "(x - 128) / 128",
        "clean-fid's default mode 'clean'"),
}


def get_protocol(name):
    """The `Protocol` called `name`; an `InputError` naming the choices otherwise."""
    if name not in PROTOCOLS:
        raise InputError(f"protocol must be one of {list(PROTOCOLS)}, got {name!r}")
    return PROTOCOLS[name]

