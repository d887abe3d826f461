"""The exported generator: a SavedModel any TensorFlow program can load and sample.

    export.export_generator(model, "runs/x/generator", latent_dim=100)
    images = tf.saved_model.load("runs/x/generator").serve(z)  # float32 NHWC in [-1, 1]

From a run's newest checkpoint: `export_run("runs/RUN")`, or on the command line
`./run.sh export --logdir=runs/RUN`.
"""

from __future__ import annotations

import json
from pathlib import Path

import keras
import tensorflow as tf
from absl import logging

from tfgan_replica.errors import InputError
from tfgan_replica.outputs import check_writable

ENDPOINT = "serve"


def float32_copy(generator):
    """`generator` computing in float32: the same weights in layers rebuilt without any
    mixed-precision policy, so an export samples alike whatever policy trained it."""
    if all(layer.dtype_policy.name == "float32" for layer in generator.layers):
        return generator
    copy = keras.models.clone_model(
        generator, clone_function=lambda layer: layer.__class__.from_config(
            {**layer.get_config(), "dtype": "float32"}))
    copy.set_weights(generator.get_weights())
    return copy


def export_generator(model_or_generator, path, latent_dim=None):
    """Writes a SavedModel whose `serve(z)` maps float32 (N, latent_dim) to float32 images.

    Given a GAN, exports its EMA generator when it has one. Inference mode
    (batch-norm statistics, no dropout) is baked in, and the graph computes in float32.
    """
    generator = model_or_generator
    if isinstance(model_or_generator, keras.Model) and hasattr(model_or_generator, "generator"):
        ema = model_or_generator.ema_generator
        generator = ema if ema is not None else model_or_generator.generator
    generator = float32_copy(generator)
    latent_dim = latent_dim or generator.input_shape[-1]
    archive = keras.export.ExportArchive()
    archive.track(generator)
    archive.add_endpoint(
        name=ENDPOINT,
        fn=lambda z: tf.cast(generator(z, training=False), tf.float32),
        input_signature=[tf.TensorSpec((None, latent_dim), tf.float32, name="z")],
    )
    verbosity = logging.get_verbosity()  # SavedModel writing logs a screenful of INFO lines
    logging.set_verbosity(logging.WARNING)
    try:
        archive.write_out(str(path), verbose=False)
    finally:
        logging.set_verbosity(verbosity)
    return str(path)


def load_generator(path):
    """Loads an exported generator; returns (serve function, latent_dim)."""
    if not Path(path, "saved_model.pb").is_file():
        raise InputError(f"{path}: not an exported generator (no saved_model.pb); "
                                f"create one with `./run.sh export --logdir=RUN`")
    loaded = tf.saved_model.load(str(path))
    signature = getattr(loaded, ENDPOINT).concrete_functions[0].structured_input_signature
    # The closure keeps `loaded` alive: its variables die with it.
    return (lambda z: getattr(loaded, ENDPOINT)(z)), int(signature[0][0].shape[-1])


def export_run(run_dir, output=None):
    """Exports the (EMA) generator of `run_dir`'s newest intact checkpoint; returns the export
    path. Damaged newer checkpoints are named on stderr."""
    from tfgan_replica import checkpoints, networks, presets

    run_dir = Path(run_dir)
    config_path = run_dir / "config.json"
    if not config_path.is_file():
        raise InputError(f"{run_dir}: no config.json; is it a training run directory?")
    preset = presets.from_dict(json.loads(config_path.read_text())["preset"])
    output = Path(output or run_dir / "generator")
    check_writable(output, folder=True)
    latest = checkpoints.newest_intact(run_dir / "checkpoints")
    if latest is None:
        raise InputError(f"{run_dir}/checkpoints: no checkpoint yet; train at least one epoch")
    generator = networks.build_generator(preset.generator, preset.latent_dim)
    checkpoints.restore_generator(generator, latest, ema=preset.ema_decay is not None)
    return export_generator(generator, output, preset.latent_dim)
