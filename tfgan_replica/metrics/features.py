"""Images -> FID Inception features, with the evaluation protocol's preprocessing.

Generated images are first quantized to uint8 as if saved to PNG, so that scores of
in-memory samples equal scores of the same samples written to disk. Then grayscale is
repeated to 3 channels, images are resized bilinearly to 299x299 (no antialiasing) and
scaled to [-1, 1], the input range of the network.
"""

import functools

import keras
import numpy as np
import tensorflow as tf

from tfgan_replica.errors import InputError
from tfgan_replica.images import as_image_batch, check_sample_mode, to_uint8
from tfgan_replica.metrics import inception

RESIZE = "tf.image.resize bilinear 299x299, antialias=False"
INPUT_SCALING = "x / 127.5 - 1"


def quantize(images, sample_mode="standard"):
    """Images -> the uint8 pixels that `sample_mode` scores (see `images.SAMPLE_MODES`)."""
    check_sample_mode(sample_mode)
    return to_uint8(as_image_batch(images), sample_mode)


def to_network_input(images_uint8):
    """uint8 (N, H, W, 1|3) tensor -> float32 (N, 299, 299, 3) in [-1, 1]."""
    images = tf.cast(images_uint8, tf.float32)
    if images.shape[-1] == 1:
        images = tf.repeat(images, 3, axis=-1)
    size = (inception.INPUT_SIZE, inception.INPUT_SIZE)
    images = tf.image.resize(images, size, method="bilinear", antialias=False)
    return images / 127.5 - 1.0


class FeatureExtractor:
    """Computes 2048-d pool_3 features of image arrays, one fixed-size batch at a time.

    The last batch is zero-padded to `batch_size`, so one traced graph serves every
    call; features do not depend on the batch size (inference mode, no batch statistics).
    """

    def __init__(self, inception_weights=None, batch_size=50):
        if batch_size < 1:
            raise InputError(f"batch_size must be at least 1, got {batch_size}")
        self.model, self.weights_sha1 = inception.load_fid_inception(inception_weights)
        self.batch_size = int(batch_size)
        self._batch_features = tf.function(
            lambda batch: self.model(to_network_input(batch), training=False), reduce_retracing=True
        )

    @classmethod
    @functools.lru_cache(maxsize=2)
    def shared(cls, inception_weights=None, batch_size=50):
        """One extractor per (weights, batch size) per process: building one takes seconds."""
        return cls(inception_weights, batch_size)

    @property
    def settings(self):
        """Everything about the network and preprocessing that changes the features."""
        return {
            "network": "inception-2015-12-05 pool_3 (mixed10 pool branch: 3x3 max pool)",
            "weights_sha1": self.weights_sha1,
            "resize": RESIZE,
            "input_scaling": INPUT_SCALING,
            "feature_dtype": "float32",
        }

    def __call__(self, images, sample_mode="standard", progress=True):
        """Features (N, 2048) float32 of uint8 images or of float images in [-1, 1], with
        the pixels that `sample_mode` scores."""
        images = quantize(images, sample_mode)
        count = len(images)
        bar = keras.utils.Progbar(count, unit_name="image") if progress else None
        features = np.empty((count, inception.FEATURE_DIM), np.float32)
        for start in range(0, count, self.batch_size):
            batch = images[start:start + self.batch_size]
            padded = np.zeros((self.batch_size, *images.shape[1:]), np.uint8)
            padded[:len(batch)] = batch
            features[start:start + len(batch)] = self._batch_features(tf.constant(padded))[:len(batch)]
            if bar is not None:
                bar.add(len(batch))
        return features
