"""Benchmarks: `./run.sh bench --suite=training|metrics|all`.

`training` times report B's MLP GAN (batch 64) and report A's improved DCGAN (batch
256), each as our `fit` with the trainer's callbacks against a plain `tf.function` loop
of the same math, and the DCGAN also in mixed_bfloat16 and under XLA; `metrics` times
FID feature extraction against a plain call of the network, and the memory and time of
the scores. Every suite first times a large matmul in float32 and bfloat16, the peak
each workload's GFLOP/s is set beside.

Arms are timed in interleaved pairs of windows of at least `--window_seconds`; ratios
are taken within each pair and reported as median [min, max] over `--pairs`, and each
target is judged on the median. `--inter_op_threads`/`--intra_op_threads` fix
TensorFlow's thread pools, to test whether thread scheduling moves the numbers.
"""

from absl import flags

from tfgan_replica.cli import no_positional_arguments, reporting_errors, run

FLAGS = flags.FLAGS
flags.DEFINE_enum("suite", "training", ["training", "metrics", "all"], "Which benchmarks to run.")
flags.DEFINE_float("window_seconds", 20.0, "Each arm runs whole steps for at least this long "
                   "per pair.", lower_bound=0.0)
flags.DEFINE_integer("pairs", 5, "Interleaved pairs of windows per workload (ratios are taken "
                     "per pair; median, min and max reported).", lower_bound=1)
flags.DEFINE_integer("warmup", 2, "Untimed steps per arm first (tracing, XLA compilation).",
                     lower_bound=1)
flags.DEFINE_integer("inter_op_threads", 0, "TensorFlow's inter-op threads (0: its default).",
                     lower_bound=0)
flags.DEFINE_integer("intra_op_threads", 0, "TensorFlow's intra-op threads (0: its default).",
                     lower_bound=0)
flags.DEFINE_string("inception_weights", None, "FID Inception weights for the metrics suite.")


def main(argv):
    no_positional_arguments(argv)
    import tensorflow as tf

    tf.config.threading.set_inter_op_parallelism_threads(FLAGS.inter_op_threads)
    tf.config.threading.set_intra_op_parallelism_threads(FLAGS.intra_op_threads)
    with reporting_errors("bench"):
        from tfgan_replica import machine
        from tfgan_replica.benchmarks import peak

        if FLAGS.suite in ("metrics", "all"):  # a missing file fails before any timing
            from tfgan_replica.metrics import weights

            weights.resolve_weights(FLAGS.inception_weights)
        print(machine.summary_line())
        print(f"TensorFlow {tf.__version__}; threads: inter-op {FLAGS.inter_op_threads or 'default'}, "
              f"intra-op {FLAGS.intra_op_threads or 'default'}")
        peak_gflops = peak.measure_peak()
        timing = dict(window_seconds=FLAGS.window_seconds, pairs=FLAGS.pairs,
                      warmup=FLAGS.warmup, peak_gflops=peak_gflops)
        if FLAGS.suite in ("training", "all"):
            from tfgan_replica.benchmarks import training

            training.run(**timing)
        if FLAGS.suite in ("metrics", "all"):
            from tfgan_replica.benchmarks import metrics

            metrics.run(inception_weights=FLAGS.inception_weights, **timing)


def start():
    """`python -m tfgan_replica.cli.bench` and the `tfgan-bench` console script (setup.cfg)
    both start here."""
    run(main)


if __name__ == "__main__":
    start()
