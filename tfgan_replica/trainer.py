"""Train a preset with `model.fit`: precision, distribution, checkpoints, logs, export.

    result = trainer.train("mlp_bce", epochs=2)
    print(result.run_dir, result.export_path, result.metrics)

Everything is validated before any work: the preset, the options, the data
source and the network shapes; the run folder must be writable and is locked
(`run_lock`) while it trains. A run directory holds `config.json`,
`tensorboard/`, `samples/epoch_XXXX.png`, `checkpoints/` and `generator/` (the
exported SavedModel). `resume=True` continues the newest intact checkpoint of `logdir`
with the same step count and the same data order as an uninterrupted run.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import json
import sys
import tempfile
import time
from pathlib import Path

import keras
import tensorflow as tf

from tfgan_replica import (callbacks, checkpoints, data, export, gan, networks, outputs, presets,
                           replicas, run_lock)
from tfgan_replica.choices import PRECISIONS, STRATEGIES, TRAIN_SPLITS
from tfgan_replica.errors import InputError

DEFAULT_PRESET = "quickstart"
LOG_EVERY_N_STEPS = 50  # TensorBoard scalars and gradient norms: every this many steps


class TrainingDiverged(InputError):
    """A metric became NaN/Inf; the message names the step and the last good checkpoint."""


@dataclasses.dataclass
class TrainResult:
    run_dir: Path
    checkpoint: str | None
    export_path: str | None
    metrics: dict
    step: int
    epoch: int
    interrupted: bool = False
    start_step: int = 0  # where this call began: 0, or the step of the checkpoint resumed
    train_seconds: float = 0.0  # of the whole run up to `checkpoint`, all resumed parts included


def make_strategy(name):
    """A tf.distribute strategy by name; 'multi_worker' reads the cluster from TF_CONFIG."""
    if name not in STRATEGIES:
        raise InputError(f"unknown strategy {name!r}; choose one of {list(STRATEGIES)}")
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multi_worker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    return tf.distribute.get_strategy()


def build_model(preset, jit_compile=False, log_every_n_steps=LOG_EVERY_N_STEPS):
    """Networks, GAN and optimizers of `preset`, compiled (call inside a strategy scope); the
    GAN takes gradient norms on the steps whose metrics are logged, every `log_every_n_steps`."""
    generator = networks.build_generator(preset.generator, preset.latent_dim)
    discriminator = networks.build_discriminator(
        preset.discriminator, image_shape=data.image_shape(preset.dataset),
        spectral_norm=preset.spectral_norm, minibatch_stddev=preset.minibatch_stddev,
        dropout=preset.dropout, spectral_norm_output=preset.spectral_norm_output,
        sigmoid_output=preset.sigmoid_output, batch_norm=preset.d_batch_norm,
        builtin_dropout=preset.d_builtin_dropout)
    augment = None
    if preset.diffaug:
        from tfgan_replica import diffaug

        augment = functools.partial(diffaug.augment, policy=preset.diffaug)
    model = gan.make_gan(preset.family, generator, discriminator, augment=augment,
                         noise_seed=preset.seed, grad_norm_every=log_every_n_steps,
                         **preset.gan_options())
    model.compile(preset.d_optimizer.build(), preset.g_optimizer.build(), jit_compile=jit_compile)
    return model


def _saved_config(run_dir):
    path = run_dir / "config.json"
    if not path.is_file():
        raise InputError(f"cannot resume: {path} does not exist; pass --logdir of an earlier run")
    return json.loads(path.read_text())


def _resolve_preset(preset, saved_config, run_dir, overrides):
    """The preset to train: by name or value, or the one a resumed run was started with."""
    if saved_config is not None:
        saved = presets.from_dict(saved_config["preset"])
        if preset is not None and getattr(preset, "name", preset) != saved.name:
            raise InputError(f"{run_dir} was trained with preset {saved.name!r}, not "
                             f"{getattr(preset, 'name', preset)!r}; drop --preset to resume it")
        if isinstance(preset, presets.Preset):  # a resumed run may only train longer
            changed = presets.changed_settings(saved_config["preset"], preset)
            if changed:
                raise InputError(f"cannot resume {run_dir} with other settings {changed}; only "
                                 f"the run length {list(presets.RUN_LENGTH_FIELDS)} may change")
            saved = preset
        for name in ("batch_size", "seed"):  # a run keeps the data order they set
            if overrides.get(name) not in (None, getattr(saved, name)):
                raise InputError(f"cannot resume {run_dir} with {name} {overrides[name]}: "
                                 f"it was trained with {getattr(saved, name)}")
        preset = saved
    elif preset is None:
        preset = DEFAULT_PRESET
    if isinstance(preset, str):
        preset = presets.get_preset(preset)
    return preset.replace(**{k: v for k, v in overrides.items() if v is not None})


def _check_options(precision, steps_per_epoch, train_split):
    if train_split is not None and train_split not in TRAIN_SPLITS:
        raise InputError(f"cannot train on split {train_split!r}; choose one of "
                         f"{list(TRAIN_SPLITS)}")
    if precision is not None and precision not in PRECISIONS:
        raise InputError(f"unknown precision {precision!r}; choose one of {list(PRECISIONS)}")
    if steps_per_epoch is not None and steps_per_epoch < 1:
        raise InputError(f"steps_per_epoch must be >= 1, got {steps_per_epoch}")


def _run_dir(logdir, preset_name, resume):
    if logdir is None:
        if resume:
            raise InputError("resume needs the logdir of the run to continue")
        return Path("runs", f"{preset_name}-{time.strftime('%Y%m%d-%H%M%S')}")
    run_dir = Path(logdir)
    if not resume and (run_dir / "checkpoints").exists():
        raise InputError(f"{run_dir} already holds a run; pass --resume to continue it "
                              f"or choose another --logdir")
    return run_dir


def train(preset=None, *, logdir=None, epochs=None, batch_size=None, seed=None, resume=False,
          precision=None, strategy="default", jit_compile=False, diffaug=None,
          data_source=None, train_split=None, steps_per_epoch=None, log_every_n_steps=LOG_EVERY_N_STEPS,
          grid_size=None, export_generator=True, print_fn=print, verbose=None,
          extra_callbacks=()):
    """Trains `preset` (a name, a `Preset`, or None for the default / the resumed run).

    The samples/ and TensorBoard grids show `grid_size` x `grid_size` digits (default
    `callbacks.GRID_SIZE`, or the resumed run's).

    `extra_callbacks` (e.g. `callbacks.FIDCallback`) run after each epoch's checkpoint, before
    the epoch's summary line; the checkpoint is saved again after them, so that the clock
    it keeps counts them. Raises `TrainingDiverged` when a metric becomes non-finite. On SIGINT/SIGTERM
    it saves a checkpoint after the current step and returns with `interrupted`.
    `verbose` is Keras' (default: a progress bar on a terminal, one line per epoch
    otherwise). `train_split` is the split of `data_source` trained on: "train" (the
    default) or "train_fit", which leaves out the images of the "holdout" split (see
    `data.load_arrays`); a resumed run keeps its own.
    """
    if verbose is None:
        verbose = 1 if sys.stdout.isatty() else 2
    _check_options(precision, steps_per_epoch, train_split)
    if strategy == "multi_worker" and logdir is None:
        raise InputError("--strategy=multi_worker needs --logdir: the same run folder on every "
                         "worker (a filesystem they share)")
    distribution = make_strategy(strategy)  # first: collectives are configured at start-up
    preset_name = getattr(preset, "name", preset) or DEFAULT_PRESET
    run_dir = _run_dir(logdir, preset_name, resume)
    saved_config = _saved_config(run_dir) if resume else None
    preset = _resolve_preset(preset, saved_config, run_dir,
                             dict(epochs=epochs, batch_size=batch_size, seed=seed, diffaug=diffaug))
    if saved_config is not None:  # keep the data, epoch length and precision of the run resumed
        data_source = data_source or saved_config["data_source"]
        steps_per_epoch = steps_per_epoch or saved_config["steps_per_epoch"]
        trained_on = saved_config.get("train_split", "train")  # older runs trained on "train"
        if train_split not in (None, trained_on):
            raise InputError(f"cannot resume {run_dir} on split {train_split!r}: it was "
                             f"trained on {trained_on!r}; leave out --train_split")
        train_split = trained_on
        if precision not in (None, saved_config["precision"]):
            raise InputError(f"cannot resume {run_dir} in {precision}: it was trained in "
                             f"{saved_config['precision']}; leave out --precision or pass "
                             f"--precision={saved_config['precision']}")
        precision = saved_config["precision"]
        if grid_size is None:
            grid_size = saved_config.get("grid_size")
    precision = precision or "float32"
    train_split = train_split or "train"
    if grid_size is None:
        grid_size = callbacks.GRID_SIZE
    if grid_size < 1:
        raise InputError(f"grid_size must be >= 1, got {grid_size}")
    replica_count = distribution.num_replicas_in_sync
    if preset.batch_size % replica_count:
        raise InputError(f"batch size {preset.batch_size} is not divisible by the "
                         f"{replica_count} replicas of strategy {strategy!r}; pick a multiple")
    with _writing_run_folder(run_dir, distribution):
        images, _ = data.load_arrays(preset.dataset, train_split, data_source)
        previous_policy = keras.mixed_precision.global_policy()
        keras.mixed_precision.set_global_policy(precision)
        try:
            keras.utils.set_random_seed(preset.seed)
            with distribution.scope():
                model = build_model(preset, jit_compile, log_every_n_steps)
            return _fit(model, preset, images, run_dir, resume, steps_per_epoch,
                        export_generator, print_fn, verbose,
                        list(extra_callbacks),
                        config=dict(preset=preset.to_dict(), precision=precision,
                                    strategy=strategy, replicas=replica_count,
                                    jit_compile=jit_compile, data_source=data_source,
                                    train_split=train_split,
                                    steps_per_epoch=steps_per_epoch, grid_size=grid_size))
        finally:
            keras.mixed_precision.set_global_policy(previous_policy)


def _writing_run_folder(run_dir, distribution):
    """Checks that `run_dir` can be written and locks it for this training, before any work.

    Only the chief writes the run folder (the other workers write scratch folders), so only
    the chief checks and locks it: a second training there is refused, its own workers not.
    """
    if not replicas.is_chief(distribution):
        return contextlib.nullcontext()
    outputs.check_writable(run_dir, folder=True)
    return run_lock.training_lock(run_dir)


def _fit(model, preset, images, run_dir, resume, steps_per_epoch, export_generator, print_fn,
         verbose, extra_callbacks, config):
    """Trains in `run_dir`; a non-chief worker writes into a scratch folder it removes after."""
    if replicas.is_chief(model.distribute_strategy):
        return _fit_in(model, preset, images, run_dir, run_dir, resume, steps_per_epoch,
                       export_generator, print_fn, verbose, extra_callbacks, config)
    with tempfile.TemporaryDirectory(prefix="tfgan_replica-worker-") as scratch:
        return _fit_in(model, preset, images, run_dir, Path(scratch), resume, steps_per_epoch,
                       export_generator, print_fn, verbose, extra_callbacks, config)


def _fit_in(model, preset, images, run_dir, work_dir, resume, steps_per_epoch,
            export_generator, print_fn, verbose, extra_callbacks, config):
    batches_per_data_epoch = len(images) // preset.batch_size
    if batches_per_data_epoch < 1:
        raise InputError(f"{len(images)} images cannot fill one batch of {preset.batch_size}")
    steps_per_epoch = steps_per_epoch or batches_per_data_epoch
    checkpointer = checkpoints.Checkpointer(model, work_dir / "checkpoints",
                                            restore_from=run_dir / "checkpoints")
    if resume:
        restored = checkpointer.restore_latest(print_fn)
        if restored is None:
            raise InputError(f"cannot resume: no checkpoint in {run_dir / 'checkpoints'}")
        epoch, step = int(checkpointer.epoch), int(checkpointer.step)
        segments = _segments(step, steps_per_epoch, preset.epochs)
        if not segments:
            print_fn(f"{run_dir} has finished its {epoch} epoch{'s' * (epoch != 1)} (step "
                     f"{step}); to train it longer, resume it with --epochs=N for an N above "
                     f"{epoch}")
            finished = TrainResult(run_dir, restored, None, {}, step, epoch, start_step=step,
                                   train_seconds=float(checkpointer.train_seconds))
            return _exported(finished, model, work_dir, preset, export_generator)
        # 1-based, as the epoch lines: the epoch the next step belongs to
        print_fn(f"resuming {restored} at epoch {segments[0][0] + 1}, step {step}")
    work_dir.mkdir(parents=True, exist_ok=True)
    writer = callbacks.summary_writer(work_dir)
    callbacks.write_config(work_dir, config, writer)
    run_callbacks = make_callbacks(preset, checkpointer, work_dir, writer, extra_callbacks,
                                   print_fn, config["grid_size"])
    saver, nan_guard, grid = run_callbacks.saver, run_callbacks.nan_guard, run_callbacks.grid
    metrics = {}
    start_step = int(checkpointer.step)
    for epoch, end_epoch, steps in _segments(start_step, steps_per_epoch, preset.epochs):
        stream = stream_from_step(images, preset.batch_size, preset.seed, int(checkpointer.step))
        history = model.fit(stream, epochs=end_epoch, initial_epoch=epoch, steps_per_epoch=steps,
                            callbacks=run_callbacks.all, verbose=verbose, shuffle=False)
        metrics = {k: float(v[-1]) for k, v in history.history.items()} or metrics
        if model.stop_training:
            break

    if nan_guard.message:
        raise TrainingDiverged(nan_guard.message)
    result = TrainResult(run_dir, checkpointer.latest, None, metrics, int(checkpointer.step),
                         int(checkpointer.epoch), interrupted=saver.interrupted,
                         start_step=start_step, train_seconds=float(checkpointer.train_seconds))
    if result.interrupted:
        print_fn(f"interrupted at step {result.step}; saved {result.checkpoint}; continue with "
                 f"--resume --logdir={run_dir}")
        return result
    _exported(result, model, work_dir, preset, export_generator)
    print_fn(f"run directory: {run_dir}\n  config: {run_dir / 'config.json'}"
             f"\n  tensorboard: tensorboard --logdir={run_dir / 'tensorboard'}"
             f"\n  samples: {grid.last_path}\n  checkpoint: {result.checkpoint}"
             f"\n  generator: {result.export_path}")
    return result


def _exported(result, model, work_dir, preset, export_generator):
    """`result`, with the generator exported into `work_dir` when `export_generator` asks."""
    if export_generator:
        result.export_path = export.export_generator(model, work_dir / "generator",
                                                     preset.latent_dim)
    return result


@dataclasses.dataclass
class RunCallbacks:
    """The callbacks of a run; `all` is the list for `fit`, in the order they must run."""

    saver: checkpoints.CheckpointCallback
    nan_guard: callbacks.NanGuard
    grid: callbacks.SampleGrid
    all: list


def make_callbacks(preset, checkpointer, work_dir, writer, extra_callbacks=(), print_fn=print,
                   grid_size=None):
    """The callbacks `train` runs `fit` with: checkpoints and the step counter, the NaN
    guard, TensorBoard scalars (on the model's logged steps), sample grids,
    `extra_callbacks` and a second save after them, the progress bar and the epoch summary
    (the benchmarks time `fit` with exactly these)."""
    saver = checkpoints.CheckpointCallback(checkpointer)
    nan_guard = callbacks.NanGuard(saver)
    grid = callbacks.SampleGrid(work_dir, writer, preset.latent_dim, seed=preset.seed,
                                size=grid_size or callbacks.GRID_SIZE)
    return RunCallbacks(saver, nan_guard, grid, [
        # the saver advances the step the others read, so it comes first
        saver, nan_guard,
        callbacks.MetricsLogger(writer, saver),
        grid, *extra_callbacks,
        *([checkpoints.SaveAfterEvaluations(saver)] if extra_callbacks else []),
        callbacks.ProgressBar(preset.epochs),  # the summary after it
        callbacks.EpochSummary(preset.epochs, saver, grid, print_fn),
    ])


def stream_from_step(images, batch_size, seed, step):
    """The endless batch stream of a run, from its `step`-th batch on.

    Data epochs are permutations keyed by (seed, epoch), so this is exactly what
    an uninterrupted run would see next, whatever `steps_per_epoch` is.
    """
    data_epoch, offset = divmod(step, len(images) // batch_size)
    return data.make_dataset(images, batch_size, seed=seed, start_epoch=data_epoch).skip(offset)


def _segments(step, steps_per_epoch, epochs):
    """`fit` calls (initial_epoch, epochs, steps_per_epoch) that reach `epochs` from `step`.

    A checkpoint written on a signal lies inside an epoch: that epoch is first
    finished with a shorter `fit`, so epoch boundaries stay where they were.
    """
    epoch, done = divmod(step, steps_per_epoch)
    segments = []
    if done and epoch < epochs:
        segments.append((epoch, epoch + 1, steps_per_epoch - done))
        epoch += 1
    if epoch < epochs:
        segments.append((epoch, epochs, steps_per_epoch))
    return segments
