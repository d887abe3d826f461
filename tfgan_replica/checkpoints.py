"""Checkpoints of a whole GAN run: networks, optimizers, EMA, counters and random state.

TF's `CheckpointManager` makes a save atomic: the tensors are written to a
`<prefix>_temp` folder and renamed into place by the merge step, and only then is
the `checkpoint` index file rewritten (through a temp file and a rename). A crash in
the middle of a save therefore leaves the index pointing at the last complete
checkpoint. `Checkpointer.save` also refuses to write non-finite weights, so a
diverged run can never replace its last good state. Files damaged later (a full disk, a
cut copy) are caught on reading: `newest_intact` names them and falls back to the newest
checkpoint that still reads back whole.
"""

from __future__ import annotations

import os
import signal
import sys
import threading

import keras
import numpy as np
import tensorflow as tf

from tfgan_replica import run_clock
from tfgan_replica.errors import InputError
from tfgan_replica.replicas import any_worker

SEED_STATE_SUFFIX = "seed_generator_state"


class NonFiniteStateError(InputError):
    """Raised instead of saving weights that hold NaN or Inf."""


class CheckpointMismatchError(InputError):
    """The newest checkpoint lacks part of the run's state: another version wrote it."""


def _damage(path):
    """Why the checkpoint `path` cannot be read back, or None when every value can."""
    try:
        reader = tf.train.load_checkpoint(path)
        for key in reader.get_variable_to_shape_map():
            reader.get_tensor(key)  # checks the length and the checksum of every value
    except (tf.errors.OpError, IndexError, ValueError) as error:  # IndexError: cut short
        return (str(error).strip() or type(error).__name__).splitlines()[0]
    return None


def _to_stderr(line):
    """Looked up at each call, so that a redirected `sys.stderr` receives the line."""
    print(line, file=sys.stderr)


def newest_intact(directory, print_fn=_to_stderr):
    """The newest checkpoint in `directory` that reads back whole, or None if it has none.

    Newer damaged ones are named to `print_fn` in one line; when all are damaged, raises
    `InputError` naming them.
    """
    state = tf.train.get_checkpoint_state(str(directory))
    damaged = []
    for path in reversed(state.all_model_checkpoint_paths if state else []):
        reason = _damage(path)
        if reason is None:
            if damaged:
                print_fn("".join(f"checkpoint {p} is damaged ({r}); " for p, r in damaged)
                         + f"using {os.path.basename(path)}, the newest intact one")
            return path
        damaged.append((path, reason))
    if damaged:
        raise InputError(f"no intact checkpoint in {directory}: "
                         + "".join(f"{os.path.basename(p)} is damaged ({r}); " for p, r in damaged)
                         + "train the run again in a new --logdir")
    return None


def _seed_states(model):
    """Keras keeps dropout/noise RNG state in variables that TF checkpoints do not track."""
    seen, states = set(), []
    for variable in model.variables:
        if variable.path.endswith(SEED_STATE_SUFFIX) and id(variable) not in seen:
            seen.add(id(variable))
            states.append(variable)
    return states


def build_optimizers(model):
    """Creates optimizer slots now, so a restore fills them instead of being deferred."""
    for optimizer, network in ((model.d_optimizer, model.discriminator),
                               (model.g_optimizer, model.generator)):
        if not optimizer.built:
            optimizer.build(network.trainable_variables)


class Checkpointer:
    """Saves and restores the complete state of a run under `directory`.

    `step` counts train steps (critic iterations), `epoch` completed epochs and
    `train_seconds` the time spent training up to the checkpoint; all are restored with
    everything else, so a resumed (even twice interrupted) run continues counting.
    """

    def __init__(self, model, directory, max_to_keep=3, restore_from=None):
        self.model = model
        self.restore_from = str(restore_from or directory)  # a non-chief worker reads the chief's
        self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
        self.epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name="epoch")
        self.train_seconds = tf.Variable(0.0, dtype=tf.float64, trainable=False,
                                         name="train_seconds")
        parts = dict(
            generator=model.generator,
            discriminator=model.discriminator,
            d_optimizer=model.d_optimizer,
            g_optimizer=model.g_optimizer,
            step=self.step,
            epoch=self.epoch,
            train_seconds=self.train_seconds,
            # The latent-noise generator, dropout seeds and the critic/generator phase.
            noise_rng=model.noise_rng,
            seed_states=_seed_states(model),
            critic_updates=model.critic_updates,
        )
        if model.ema_generator is not None:
            parts["ema_generator"] = model.ema_generator
        self.checkpoint = tf.train.Checkpoint(**parts)
        self.manager = tf.train.CheckpointManager(self.checkpoint, directory, max_to_keep)

    @property
    def latest(self):
        """Path prefix of the newest complete checkpoint, or None."""
        return self.manager.latest_checkpoint

    def save(self):
        """Writes a checkpoint and returns its path; never writes a non-finite state."""
        bad = [v.path for v in self.model.trainable_variables
               if not np.all(np.isfinite(keras.ops.convert_to_numpy(v)))]
        if bad:
            raise NonFiniteStateError(
                f"not saving step {int(self.step)}: non-finite values in {bad[:3]}; "
                f"the last good checkpoint is {self.latest}")
        return self.manager.save(checkpoint_number=int(self.step))

    def restore_latest(self, print_fn=_to_stderr):
        """Restores the newest intact checkpoint in `restore_from` (all of it must match);
        returns its path or None. `print_fn` hears of damaged newer ones."""
        path = newest_intact(self.restore_from, print_fn)
        if path is not None:
            build_optimizers(self.model)
            try:
                self.checkpoint.restore(path).assert_existing_objects_matched()
            except AssertionError as error:
                raise CheckpointMismatchError(
                    f"{path} does not hold all of this run's state; an earlier version of "
                    "tfgan_replica wrote it. Train a new run in another --logdir "
                    f"(reproduce: --force). ({error})"
                ) from error
        return path


def restore_generator(generator, path, ema=False):
    """Loads only the (EMA) generator weights from a run checkpoint, e.g. for export."""
    part = "ema_generator" if ema else "generator"
    try:
        tf.train.Checkpoint(**{part: generator}).restore(path).expect_partial() \
            .assert_existing_objects_matched()
    except (AssertionError, ValueError) as error:
        raise CheckpointMismatchError(
            f"{path} holds no {part.replace('_', ' ')} of the networks its run's config.json "
            f"describes ({str(error).splitlines()[0]}); export from the run folder whose "
            "config.json wrote it") from error
    return generator


class CheckpointCallback(keras.callbacks.Callback):
    """Saves at every epoch end, and on SIGINT/SIGTERM after the current step, then stops.

    A signal that comes after the last step marks the run interrupted all the same. A
    second signal while the first is being handled falls back to the default
    behaviour (a second Ctrl-C interrupts immediately). Under multi-worker training a
    signal to any worker stops all of them after the same step, and every worker saves
    (the chief into the run, the others into their scratch folders): the protocol of
    Keras' `BackupAndRestore`, with this run's complete state in the checkpoint.

    `step` is the global step as a Python int, which the callbacks after this one read
    on every step without a device round trip; the checkpointer's `step` variable takes
    its value at each save and when `fit` ends.
    """

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self, checkpointer):
        super().__init__()
        self.checkpointer = checkpointer
        self.received_signal = None
        self.interrupted = False  # by a signal here or, under multi-worker, on another worker
        self._previous_handlers = {}
        self._clock_started = None
        self.step = int(checkpointer.step)
        self._strategy = None

    def save(self):
        """Adds the training time since the last save (or `fit` start), then saves."""
        self.checkpointer.step.assign(self.step)
        now = run_clock.now()
        self.checkpointer.train_seconds.assign_add(now - self._clock_started)
        self._clock_started = now
        self.checkpointer.save()

    def on_train_begin(self, logs=None):
        self.step = int(self.checkpointer.step)
        self._strategy = self.model.distribute_strategy
        self._clock_started = run_clock.now()
        if threading.current_thread() is threading.main_thread():
            for signum in self.SIGNALS:
                self._previous_handlers[signum] = signal.signal(signum, self._on_signal)

    def _on_signal(self, signum, frame):
        self.received_signal = signum
        self._restore_handlers()

    def _restore_handlers(self):
        for signum, handler in self._previous_handlers.items():
            signal.signal(signum, handler)
        self._previous_handlers = {}

    def on_train_batch_end(self, batch, logs=None):
        self.step += 1
        if self.interrupted or self.model.stop_training:
            return
        # Every worker stops after the same step, so none waits alone in the next all-reduce.
        if any_worker(self.received_signal is not None, self._strategy):
            self.interrupted = True
            self.model.stop_training = True
            self.save()

    def on_epoch_end(self, epoch, logs=None):
        if self.interrupted or self.model.stop_training:
            return  # interrupted (already saved) or stopped by another callback
        self.checkpointer.epoch.assign(epoch + 1)
        self.save()

    def on_train_end(self, logs=None):
        # A signal after the last step (during the last epoch's evaluations) still stops the
        # run: the epoch's checkpoint is saved, and whoever called `fit` must not go on.
        if not self.interrupted and any_worker(self.received_signal is not None, self._strategy):
            self.interrupted = True
        self.checkpointer.step.assign(self.step)
        self._restore_handlers()


class SaveAfterEvaluations(keras.callbacks.Callback):
    """Saves the epoch's checkpoint again after the callbacks that evaluate the run at
    epoch ends (the FID curve), whose time the training clock counts until the next save:
    a run killed before that save, or continued past its last epoch, keeps it on its clock.
    """

    def __init__(self, saver):
        super().__init__()
        self.saver = saver

    def on_epoch_end(self, epoch, logs=None):
        if not (self.saver.interrupted or self.model.stop_training):
            self.saver.save()
