"""A Keras callback that logs FID while a GAN trains.

    model.fit(data, epochs=50, callbacks=[FIDCallback(every_epochs=5, logdir="runs/x")])

FID of a small fixed-noise sample (2,048 by default) against a cached reference is
biased upward compared with the 10,000-sample protocol, but it is cheap and tracks
progress; compare it only across epochs of runs with the same settings.
"""

import keras
import tensorflow as tf

from tfgan_replica import data
from tfgan_replica.callbacks import global_step
from tfgan_replica.images import sample_generator
from tfgan_replica.metrics import reference
from tfgan_replica.metrics.features import FeatureExtractor
from tfgan_replica.metrics.fid import FeatureStatistics, frechet_distance


class FIDCallback(keras.callbacks.Callback):
    """Every `every_epochs` epochs, puts `fid` into the logs and writes it to TensorBoard
    at the global step (the model's `critic_updates`, or else its optimizer's iterations).

    The generator is `generator_fn(z)` when given, otherwise `model.ema_generator` when it
    is not None, otherwise `model.generator`; latent_dim defaults to `model.latent_dim`.
    The same noise (drawn with `seed`) is used at every evaluation.
    """

    def __init__(self, generator_fn=None, every_epochs=5, num_samples=2048, dataset="mnist",
                 split="test", num_reference=None, inception_weights=None, logdir=None,
                 batch_size=50, seed=0, latent_dim=None):
        super().__init__()
        if every_epochs < 1:
            raise ValueError(f"every_epochs must be at least 1, got {every_epochs}")
        if num_samples < 2:
            raise ValueError(f"num_samples must be at least 2, got {num_samples}")
        data.image_shape(dataset)
        self.generator_fn = generator_fn
        self.every_epochs = every_epochs
        self.num_samples = num_samples
        self.dataset, self.split, self.num_reference = dataset, split, num_reference
        self.inception_weights = inception_weights
        self.batch_size = batch_size
        self.seed = seed
        self.latent_dim = latent_dim
        self.writer = tf.summary.create_file_writer(str(logdir)) if logdir else None
        self._extractor = None
        self._reference_stats = None

    def _generator(self):
        latent_dim = self.latent_dim or self.model.latent_dim
        if self.generator_fn is not None:
            return self.generator_fn, latent_dim
        ema = getattr(self.model, "ema_generator", None)
        generator = ema if ema is not None else self.model.generator
        return (lambda z: generator(z, training=False)), latent_dim

    def compute_fid(self):
        """FID of the current generator against the cached reference statistics."""
        if self._extractor is None:
            self._extractor = FeatureExtractor.shared(self.inception_weights, self.batch_size)
            self._reference_stats = reference.reference_features(
                self._extractor, self.dataset, self.split, self.num_reference, progress=False
            ).statistics
        generator_fn, latent_dim = self._generator()
        images = sample_generator(generator_fn, latent_dim, self.num_samples, self.seed)
        features = self._extractor(images, progress=False)
        return frechet_distance(FeatureStatistics.from_features(features), self._reference_stats)

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every_epochs:
            return
        value = self.compute_fid()
        if logs is not None:
            logs["fid"] = value
        if self.writer is not None:
            with self.writer.as_default():
                tf.summary.scalar("fid", value, step=global_step(self.model))
            self.writer.flush()
