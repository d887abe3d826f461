"""Keras callbacks that make a GAN run observable: TensorBoard, sample grids, NaN guard.

The callbacks read the global step from the `step` variable that
`checkpoints.CheckpointCallback` advances, so it must come first in the list.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from tfgan_replica.images import image_grid, save_png, to_uint8


def _as_float(value):
    """A host float of a tensor, a (distributed) variable or a number."""
    return float(keras.ops.convert_to_numpy(value))


def _as_floats(logs):
    return {name: _as_float(value) for name, value in (logs or {}).items()}


def global_step(model):
    """The number of train steps taken: our GANs' `critic_updates`, else the optimizer's."""
    counter = getattr(model, "critic_updates", None)
    return int(keras.ops.convert_to_numpy(counter if counter is not None
                                          else model.optimizer.iterations))


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
    """Every `every_n_steps`, writes each train_step metric as TensorBoard scalars at the
    global step: that step's value as `train/NAME` (the GAN's `step_values`) and the
    epoch-to-date mean that Keras reports as `train_mean/NAME`.

    That covers the losses, D(real)/D(fake), the Earth-Mover estimate, both
    gradient norms and, under mixed_float16, the loss scale. Every worker reads the
    values (reading a distributed metric is a collective); only the chief writes the run.
    """

    def __init__(self, writer, step, every_n_steps=50):
        super().__init__()
        self.writer = writer
        self.step = step
        self.every_n_steps = every_n_steps

    def on_train_batch_end(self, batch, logs=None):
        step = int(self.step)
        if step % self.every_n_steps:
            return
        means = _as_floats(logs)
        values = {name: _as_float(self.model.step_values[name].result()) for name in means}
        with self.writer.as_default():
            for name in means:
                tf.summary.scalar(f"train/{name}", values[name], step=step)
                tf.summary.scalar(f"train_mean/{name}", means[name], step=step)

    def on_train_end(self, logs=None):
        self.writer.flush()


class SampleGrid(keras.callbacks.Callback):
    """After each epoch, draws one fixed noise batch as a grid PNG and a TensorBoard image
    at the global step (the model's `critic_updates`).

    The noise never changes, so the grids of successive epochs show the same
    latent points (the EMA generator's, when it is on).
    """

    def __init__(self, run_dir, writer, latent_dim, seed=0, rows=4, cols=4):
        super().__init__()
        self.folder = Path(run_dir, "samples")
        self.writer = writer
        self.noise = np.random.default_rng(seed).standard_normal((rows * cols, latent_dim)).astype("float32")
        self.rows = rows
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


class NanGuard(keras.callbacks.Callback):
    """Stops training at the first non-finite metric and says where the last good state is.

    The checkpointer refuses to save non-finite weights, so the checkpoint named
    in `message` is never overwritten by the diverged state.
    """

    def __init__(self, checkpointer):
        super().__init__()
        self.checkpointer = checkpointer
        self.message = None

    def on_train_batch_end(self, batch, logs=None):
        bad = {k: v for k, v in _as_floats(logs).items() if not math.isfinite(v)}
        if bad and self.message is None:
            self.model.stop_training = True
            self.message = (
                f"training diverged at step {int(self.checkpointer.step)}: non-finite {bad}; "
                f"last good checkpoint: {self.checkpointer.latest or 'none (no epoch finished)'}")


class EpochSummary(keras.callbacks.Callback):
    """Prints one line per epoch: step, metrics, time and the sample grid written."""

    KEYS = ("d_loss", "g_loss", "d_real", "d_fake", "em_estimate", "fid")

    def __init__(self, epochs, step, sample_grid, print_fn=print):
        super().__init__()
        self.epochs = epochs
        self.step = step
        self.sample_grid = sample_grid
        self.print_fn = print_fn
        self.started = None

    def on_epoch_begin(self, epoch, logs=None):
        self.started = time.monotonic()

    def on_epoch_end(self, epoch, logs=None):
        values = _as_floats(logs)
        metrics = " ".join(f"{k}={values[k]:.4f}" for k in self.KEYS if k in values)
        self.print_fn(
            f"epoch {epoch + 1}/{self.epochs} step {int(self.step)} {metrics} "
            f"({time.monotonic() - self.started:.1f} s) samples: {self.sample_grid.last_path}")
