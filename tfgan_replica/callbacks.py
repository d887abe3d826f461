"""Keras callbacks that make a GAN run observable: TensorBoard, sample grids, FID, NaN guard,
the console.

The global step is the number of train steps (batches) taken: what the model counts
(`global_step`) and the checkpoint stores. The callbacks that look at every step read it
from the Python int that `checkpoints.CheckpointCallback` (the `saver`) advances, so the
saver must come first in the list. Their per-step work reads only host values: Keras has
already turned the logs into Python floats.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from tfgan_replica import data, run_clock, sampling
from tfgan_replica.choices import DEFAULT_FID_PROTOCOL
from tfgan_replica.errors import InputError
from tfgan_replica.images import image_grid, save_png, to_uint8
from tfgan_replica.metrics import protocols, reference
from tfgan_replica.metrics.features import FeatureExtractor
from tfgan_replica.metrics.fid import FeatureStatistics, frechet_distance


def _as_float(value):
    """A host float of a tensor, a (distributed) variable or a number."""
    return float(keras.ops.convert_to_numpy(value))


def global_step(model):
    """The train steps (batches) `model` has taken: a GAN's `train_steps` (a step may make
    several critic updates), or the `critic_updates` of a model that makes one a step."""
    steps = getattr(model, "train_steps", None)
    return int(keras.ops.convert_to_numpy(model.critic_updates if steps is None else steps))


def summary_writer(run_dir):
    """The one TensorBoard writer of a run, under `run_dir/tensorboard`."""
    return tf.summary.create_file_writer(str(Path(run_dir, "tensorboard")))


def write_config(run_dir, config, writer):
    """Writes the run configuration to `run_dir/config.json` and as TensorBoard text."""
    text = json.dumps(config, indent=2, sort_keys=True, default=str)
    Path(run_dir, "config.json").write_text(text + "\n")
    with writer.as_default():
        tf.summary.text("config", f"```\n{text}\n```", step=0)


class MetricsLogger(keras.callbacks.Callback):
    """On the GAN's logged steps (every `grad_norm_every`, the interval it was built with),
    writes each train_step metric as TensorBoard scalars at the global step: that step's
    value as `train/NAME` and the epoch-to-date mean that Keras reports as `train_mean/NAME`.

    That covers the losses, D(real)/D(fake), the Earth-Mover estimate, both
    gradient norms (taken on those steps only, so their epoch means average them) and,
    under mixed_float16, the loss scale. Every worker reads the values (reading a
    distributed metric is a collective); only the chief writes the run.
    The writes run as one traced function: eager summary ops cost ~0.2 ms each.
    At each epoch's end it also writes the training clock, `train_seconds`.
    """

    def __init__(self, writer, saver):
        super().__init__()
        self.writer = writer
        self.saver = saver

    def on_train_batch_end(self, batch, logs=None):
        step = self.saver.step
        if step % self.model.grad_norm_every:
            return
        names = tuple(logs or {})
        metrics = self.model.training_metrics
        values = [_as_float(metrics.step_value(name)) for name in names]
        self._write(names, tf.constant(values, tf.float32),
                    tf.constant([logs[name] for name in names], tf.float32),
                    tf.constant(step, tf.int64))

    @tf.function
    def _write(self, names, values, means, step):
        with self.writer.as_default():
            for i, name in enumerate(names):
                tf.summary.scalar(f"train/{name}", values[i], step=step)
                tf.summary.scalar(f"train_mean/{name}", means[i], step=step)

    def on_epoch_end(self, epoch, logs=None):
        """The training clock as the saver checkpointed it at this epoch's end, as
        `train_seconds`: with it, a curve of the epochs can be drawn against time."""
        if self.saver.interrupted or self.model.stop_training:
            return  # the saver did not save: the epoch did not end
        with self.writer.as_default():
            tf.summary.scalar("train_seconds", float(self.saver.checkpointer.train_seconds),
                              step=self.saver.step)

    def on_train_end(self, logs=None):
        self.writer.flush()


# Digits a side of a sample grid: 64 samples, enough to judge diversity and mode collapse.
GRID_SIZE = 8


class SampleGrid(keras.callbacks.Callback):
    """After each epoch, draws one fixed noise batch as a `size` x `size` grid PNG (the
    layout of `images.image_grid`) and a TensorBoard image at the global step.

    The noise never changes, so the grids of successive epochs show the same
    latent points (the EMA generator's, when it is on).
    """

    def __init__(self, run_dir, writer, latent_dim, seed=0, size=GRID_SIZE):
        super().__init__()
        self.folder = Path(run_dir, "samples")
        self.writer = writer
        self.noise = sampling.latent_noise(size * size, latent_dim, seed)
        self.rows = size
        self.last_path = None

    def on_epoch_end(self, epoch, logs=None):
        images = keras.ops.convert_to_numpy(self.model.generate(self.noise))
        if not np.isfinite(images).all():
            return  # a diverged generator; the NaN guard reports it
        grid = image_grid(to_uint8(images), self.rows)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.last_path = self.folder / f"epoch_{epoch + 1:04d}.png"
        save_png(grid, self.last_path)
        with self.writer.as_default():
            tf.summary.image("samples", grid[None], step=global_step(self.model))
        self.writer.flush()


class FIDCallback(keras.callbacks.Callback):
    """Every `every_epochs` epochs (or at the end of each epoch of `at_epochs`, 1-based),
    puts `fid` into the logs and writes it to TensorBoard at the global step, with the
    seconds it took as `fid_seconds`.

    The generator is `generator_fn(z)` when given, otherwise `model.ema_generator` when it
    is not None, otherwise `model.generator`; latent_dim defaults to `model.latent_dim`.
    The same noise (drawn with `seed`) is used at every evaluation. FID of 2,048 samples is
    biased upward against the 10,000-sample protocol but cheap: compare it across epochs
    and runs of the same settings, not with published numbers. `protocol` is the FID
    protocol's preprocessing (see `metrics.protocols`); its reference is cached apart.
    `reference_source` is where the real split is read (see `data.load_arrays`).
    """

    def __init__(self, generator_fn=None, every_epochs=5, num_samples=2048, dataset="mnist",
                 split="test", num_reference=None, inception_weights=None, logdir=None,
                 batch_size=50, seed=0, latent_dim=None, protocol=DEFAULT_FID_PROTOCOL,
                 reference_source=None, at_epochs=None):
        super().__init__()
        if every_epochs < 1:
            raise InputError(f"every_epochs must be at least 1, got {every_epochs}")
        self.at_epochs = None if at_epochs is None else frozenset(at_epochs)
        if self.at_epochs is not None and min(self.at_epochs, default=1) < 1:
            raise InputError(f"at_epochs counts epochs from 1, got {sorted(self.at_epochs)}")
        if num_samples < 2:
            raise InputError(f"num_samples must be at least 2, got {num_samples}")
        data.image_shape(dataset)
        protocols.get_protocol(protocol)
        self.protocol = protocol
        self.generator_fn = generator_fn
        self.every_epochs = every_epochs
        self.num_samples = num_samples
        self.dataset, self.split, self.num_reference = dataset, split, num_reference
        self.reference_source = reference_source
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
        """FID of the current generator against the cached reference statistics (NaN when
        the generator outputs NaN or Inf)."""
        if self._extractor is None:
            self._extractor = FeatureExtractor.shared(self.inception_weights, self.batch_size,
                                                      self.protocol)
            self._reference_stats = reference.reference_features(
                self._extractor, self.dataset, self.split, self.num_reference,
                self.reference_source, progress=False).statistics
        generator_fn, latent_dim = self._generator()
        images = sampling.generate(generator_fn, latent_dim, self.num_samples, self.seed)
        if not np.isfinite(images).all():
            return float("nan")  # a diverged generator; the NaN guard reports it
        features = self._extractor(images, progress=False)
        return frechet_distance(FeatureStatistics.from_features(features), self._reference_stats)

    def on_epoch_end(self, epoch, logs=None):
        # An epoch cut short by a stop (a signal, a divergence) did not end: its FID would
        # be a point between epochs, and computing it would delay the stop.
        due = ((epoch + 1) in self.at_epochs if self.at_epochs is not None
               else (epoch + 1) % self.every_epochs == 0)
        if not due or getattr(self.model, "stop_training", False):
            return
        started = run_clock.now()
        value = self.compute_fid()
        if logs is not None:
            logs["fid"] = value
        if self.writer is not None:
            # the seconds let training time be read without the measurement's own
            # (`run_records.training_minutes`)
            with self.writer.as_default():
                tf.summary.scalar("fid", value, step=global_step(self.model))
                tf.summary.scalar("fid_seconds", run_clock.now() - started,
                                  step=global_step(self.model))
            self.writer.flush()


class NanGuard(keras.callbacks.Callback):
    """Stops training at the first non-finite metric and says where the last good state is.

    The checkpointer refuses to save non-finite weights, so the checkpoint named
    in `message` is never overwritten by the diverged state.
    """

    def __init__(self, saver):
        super().__init__()
        self.saver = saver
        self.message = None

    def on_train_batch_end(self, batch, logs=None):
        bad = {k: v for k, v in (logs or {}).items() if not math.isfinite(v)}
        if bad and self.message is None:
            self.model.stop_training = True
            latest = self.saver.checkpointer.latest or "none (no epoch finished)"
            self.message = (f"training diverged at step {self.saver.step}: non-finite {bad}; "
                            f"last good checkpoint: {latest}")


def console_logs(model, logs):
    """The metrics of `logs` a person reads while training: the GAN's `console_metric_names`
    and FID. The others stay in TensorBoard and in `fit`'s history."""
    logs = logs or {}
    return {name: logs[name] for name in (*model.console_metric_names, "fid") if name in logs}


class ProgressBar(keras.callbacks.ProgbarLogger):
    """Keras' progress bar over `console_logs` only (all metrics make a 230-character line).

    It counts epochs out of the run's `epochs`, not the `fit` call's (a resumed run's
    first `fit` may end early), and a bar stopped inside its epoch (a signal, a
    divergence) ends at the step reached, not at the epoch's last.
    """

    def __init__(self, epochs):
        super().__init__()
        self.run_epochs = epochs

    def set_params(self, params):
        super().set_params(params)
        self.epochs = self.run_epochs

    def on_train_batch_end(self, batch, logs=None):
        super().on_train_batch_end(batch, console_logs(self.model, logs))

    def on_epoch_end(self, epoch, logs=None):
        if self.model.stop_training:
            self.target = self.seen
        super().on_epoch_end(epoch, console_logs(self.model, logs))


class EpochSummary(keras.callbacks.Callback):
    """Prints one line per epoch: step, `console_logs`, time and the sample grid written."""

    def __init__(self, epochs, saver, sample_grid, print_fn=print):
        super().__init__()
        self.epochs = epochs
        self.saver = saver
        self.sample_grid = sample_grid
        self.print_fn = print_fn
        self.started = None

    def on_epoch_begin(self, epoch, logs=None):
        self.started = run_clock.now()

    def on_epoch_end(self, epoch, logs=None):
        metrics = " ".join(f"{k}={v:.4f}" for k, v in console_logs(self.model, logs).items())
        self.print_fn(
            f"epoch {epoch + 1}/{self.epochs} step {self.saver.step} {metrics} "
            f"({run_clock.now() - self.started:.1f} s) samples: {self.sample_grid.last_path}")
