"""Draw samples from an exported generator: PNGs, one grid PNG, or an .npz (key `images`).

    ./run.sh sample --generator=runs/RUN/generator --num_samples=64 --output=out/
    ./run.sh sample --generator=runs/RUN/generator --num_samples=64 --output=grid.png
    ./run.sh sample --generator=runs/RUN/generator --num_samples=10000 --output=s.npz
"""

from absl import flags

from tfgan_replica.cli import no_positional_arguments, reporting_errors, run

FLAGS = flags.FLAGS
flags.DEFINE_string("generator", None, "Exported generator (SavedModel folder).")
flags.DEFINE_integer("num_samples", 64, "Number of samples (as evaluate's --num_samples).")
flags.DEFINE_alias("num", "num_samples")
flags.DEFINE_string("output", None, "A folder for PNGs (a path without suffix), a .png for one "
                    "grid of the samples, or an .npz.")
flags.DEFINE_integer("seed", 0, "Seed of the latent vectors.")
flags.mark_flags_as_required(["generator", "output"])


def main(argv):
    no_positional_arguments(argv)
    from tfgan_replica import sampling

    with reporting_errors("sample"):
        output = sampling.write_samples(FLAGS.generator, FLAGS.num_samples, FLAGS.output, FLAGS.seed)
    print(f"wrote {FLAGS.num_samples} samples to {output}")


def start():
    """`python -m tfgan_replica.cli.sample` and the `tfgan-sample` console script (setup.cfg)
    both start here."""
    run(main)


if __name__ == "__main__":
    start()
