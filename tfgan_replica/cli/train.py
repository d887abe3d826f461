"""Train a GAN preset: `./run.sh train --preset=mlp_bce --epochs=10`.

Without flags it trains the short `quickstart` preset on the bundled MNIST.
Resume an interrupted run with `--resume --logdir=runs/RUN`. Flags can also
come from a file with `--flagfile=PATH`. `--list_presets` (or `./run.sh presets`)
lists the presets.
"""

import sys

from absl import flags

from tfgan_replica.cli import no_positional_arguments, reporting_errors, run
from tfgan_replica.choices import PRECISIONS, STRATEGIES, TRAIN_SPLITS

FLAGS = flags.FLAGS
flags.DEFINE_string("preset", None, "Preset name (default: quickstart, or the resumed run's); "
                    "list them with ./run.sh presets or --list_presets.")
flags.DEFINE_bool("list_presets", False, "Print every preset, one line each, and stop.")
flags.DEFINE_integer("epochs", None, "Override the preset's number of epochs.")
flags.DEFINE_integer("batch_size", None, "Override the preset's (global) batch size.")
flags.DEFINE_integer("seed", None, "Override the preset's seed (initial weights, noise, data "
                     "order).")
flags.DEFINE_string("logdir", None, "Run directory (default runs/<preset>-<YYYYmmdd-HHMMSS>).")
flags.DEFINE_bool("resume", False, "Continue the newest checkpoint in --logdir.")
flags.DEFINE_enum("precision", None, PRECISIONS,
                  "Keras mixed-precision policy (default: float32, or the resumed run's).")
flags.DEFINE_enum("strategy", "default", STRATEGIES,
                  "tf.distribute strategy (multi_worker reads TF_CONFIG).")
flags.DEFINE_bool("jit_compile", False, "Compile the train step with XLA.")
flags.DEFINE_string("diffaug", None, "DiffAugment policy, e.g. 'color,translation,cutout'.")
flags.DEFINE_string("data_source", None, "'bundled', 'tfds' or a path (see data.load_arrays).")
flags.DEFINE_enum("train_split", None, TRAIN_SPLITS, "Split to train on: train, or train_fit "
                  "(all but the 10,000 held-out images); default train, or the resumed run's.")
flags.DEFINE_integer("steps_per_epoch", None, "Train steps per epoch (default: one pass).")
flags.DEFINE_integer("grid_size", None, "Digits a side of the samples/ and TensorBoard grids "
                     "(default 8, or the resumed run's).")


def main(argv):
    no_positional_arguments(argv)
    if FLAGS.list_presets:
        from tfgan_replica import presets

        print(presets.listing())
        return
    from tfgan_replica import trainer

    with reporting_errors("train"):
        result = trainer.train(
            FLAGS.preset, logdir=FLAGS.logdir, epochs=FLAGS.epochs, batch_size=FLAGS.batch_size,
            resume=FLAGS.resume, precision=FLAGS.precision, strategy=FLAGS.strategy,
            jit_compile=FLAGS.jit_compile, diffaug=FLAGS.diffaug, seed=FLAGS.seed,
            data_source=FLAGS.data_source, train_split=FLAGS.train_split,
            steps_per_epoch=FLAGS.steps_per_epoch,
            grid_size=FLAGS.grid_size)
    if result.interrupted:
        sys.exit(130)


def start():
    """`python -m tfgan_replica.cli.train` and the `tfgan-train` console script (setup.cfg)
    both start here."""
    run(main)


if __name__ == "__main__":
    start()
