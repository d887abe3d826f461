"""Images -> FID Inception features, with the evaluation protocol's preprocessing.

Generated images are first quantized to uint8 as if saved to PNG, so that scores of
in-memory samples equal scores of the same samples written to disk. Then the chosen FID
protocol (`protocols.PROTOCOLS`: pytorch_fid, tf1 or clean) resizes them to 299x299 and
scales them, traced into one graph with the network, which all protocols share.
"""

import functools

import keras
import numpy as np
import tensorflow as tf

from tfgan_replica.choices import DEFAULT_FID_PROTOCOL
from tfgan_replica.errors import InputError
from tfgan_replica.images import as_image_batch, check_sample_mode, to_uint8
from tfgan_replica.metrics import inception, protocols

# One network per weights file per process, whichever protocols and batch sizes use it.
_network = functools.lru_cache(maxsize=2)(inception.load_fid_inception)


def quantize(images, sample_mode="standard"):
    """Images -> the uint8 pixels that `sample_mode` scores (see `images.SAMPLE_MODES`)."""
    check_sample_mode(sample_mode)
    return to_uint8(as_image_batch(images), sample_mode)


class FeatureExtractor:
    """Computes 2048-d pool_3 features of image arrays under one FID protocol, one
    fixed-size batch at a time.

    The last batch is zero-padded to `batch_size`, so one traced graph serves every
    call; features do not depend on the batch size (inference mode, no batch statistics).
    """

    def __init__(self, inception_weights=None, batch_size=50, protocol=DEFAULT_FID_PROTOCOL):
        if batch_size < 1:
            raise InputError(f"batch_size must be at least 1, got {batch_size}")
        self.protocol = protocols.get_protocol(protocol)
        self.model, self.weights_sha1 = _network(inception_weights)
        self.batch_size = int(batch_size)
        self._batch_features = tf.function(
            lambda batch: self.model(self.protocol.to_network_input(batch), training=False),
            reduce_retracing=True,
        )
        self._network_features = tf.function(lambda batch: self.model(batch, training=False),
                                             reduce_retracing=True)

    @classmethod
    @functools.lru_cache(maxsize=4)
    def shared(cls, inception_weights=None, batch_size=50, protocol=DEFAULT_FID_PROTOCOL):
        """One extractor per (weights, batch size, protocol) per process, so each graph is
        traced once."""
        return cls(inception_weights, batch_size, protocol)

    @property
    def settings(self):
        """Everything about the network and preprocessing that changes the features; the
        protocol enters through its resize and input scaling."""
        return {
            "network": "inception-2015-12-05 pool_3 (mixed10 pool branch: 3x3 max pool)",
            "weights_sha1": self.weights_sha1,
            "resize": self.protocol.resize,
            "input_scaling": self.protocol.input_scaling,
            "feature_dtype": "float32",
        }

    def __call__(self, images, sample_mode="standard", progress=True):
        """Features (N, 2048) float32 of uint8 images or of float images in [-1, 1], with
        the pixels that `sample_mode` scores. `progress` shows a progress bar; a string
        names it, on a line before, since a command may show several."""
        images = quantize(images, sample_mode)
        if isinstance(progress, str):
            print(progress)
        bar = keras.utils.Progbar(len(images), unit_name="image") if progress else None
        return self._in_batches(self._batch_features, images, bar)

    def network_features(self, network_inputs):
        """Features (N, 2048) float32 of inputs that other code already resized and scaled:
        float32 (N, 299, 299, 3), as a protocol's `to_network_input` returns them. The same
        network as `__call__`, without this extractor's preprocessing, so that another
        implementation of a protocol can be scored through it (`crosscheck`)."""
        inputs = np.asarray(network_inputs, np.float32)
        expected = (inception.INPUT_SIZE, inception.INPUT_SIZE, 3)
        if inputs.ndim != 4 or inputs.shape[1:] != expected:
            raise InputError(f"network inputs must be (N, {', '.join(map(str, expected))}), "
                             f"got {inputs.shape}")
        return self._in_batches(self._network_features, inputs)

    def _in_batches(self, batch_features, arrays, bar=None):
        """`batch_features` of `arrays` one `batch_size` batch at a time, the last zero-padded."""
        count = len(arrays)
        features = np.empty((count, inception.FEATURE_DIM), np.float32)
        for start in range(0, count, self.batch_size):
            batch = arrays[start:start + self.batch_size]
            padded = np.zeros((self.batch_size, *arrays.shape[1:]), arrays.dtype)
            padded[:len(batch)] = batch
            features[start:start + len(batch)] = batch_features(tf.constant(padded))[:len(batch)]
            if bar is not None:
                bar.add(len(batch))
        return features
