"""Benchmarks: `python -m tfgan_replica.cli.bench --suite=training|metrics|all`.

`training` times our fit-based train step against a plain tf.function loop,
mixed_bfloat16 against float32 and XLA on against off; `metrics` times the
evaluation (FID network, features, scores).
"""

from absl import app, flags

from tfgan_replica.cli import no_positional_arguments, reporting_errors

FLAGS = flags.FLAGS
flags.DEFINE_enum("suite", "training", ["training", "metrics", "all"], "Which benchmarks to run.")
flags.DEFINE_integer("steps", 4, "Timed train steps per variant and repeat.")
flags.DEFINE_integer("repeats", 6, "Interleaved repeats per training variant (median reported).")
flags.DEFINE_integer("warmup", 2, "Untimed train steps per variant (tracing, XLA compilation).")
flags.DEFINE_string("inception_weights", None, "FID Inception weights for the metrics suite.")


def main(argv):
    no_positional_arguments(argv)
    with reporting_errors("bench"):
        if FLAGS.suite in ("training", "all"):
            from tfgan_replica.benchmarks import training

            training.run(steps=FLAGS.steps, repeats=FLAGS.repeats, warmup=FLAGS.warmup)
        if FLAGS.suite in ("metrics", "all"):
            from tfgan_replica.benchmarks import metrics

            metrics.run(inception_weights=FLAGS.inception_weights)


if __name__ == "__main__":
    app.run(main)
