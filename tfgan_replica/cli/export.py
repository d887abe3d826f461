"""Export the (EMA) generator of a run's newest checkpoint as a SavedModel.

    ./run.sh export --logdir=runs/RUN [--output=PATH]
"""

from absl import flags

from tfgan_replica.cli import no_positional_arguments, reporting_errors, run

FLAGS = flags.FLAGS
flags.DEFINE_string("logdir", None, "Run directory (holds config.json and checkpoints/).")
flags.DEFINE_string("output", None, "Where to write the SavedModel (default RUN/generator).")
flags.mark_flag_as_required("logdir")


def main(argv):
    no_positional_arguments(argv)
    import tensorflow as tf

    from tfgan_replica import export

    tf.get_logger().setLevel("ERROR")  # a refused checkpoint lists every unmatched value
    with reporting_errors("export"):
        path = export.export_run(FLAGS.logdir, FLAGS.output)
    print(f"exported generator to {path}")


def start():
    """`python -m tfgan_replica.cli.export` and the `tfgan-export` console script (setup.cfg)
    both start here."""
    run(main)


if __name__ == "__main__":
    start()
