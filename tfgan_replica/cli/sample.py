"""Draw samples from an exported generator as PNGs or one .npz (key `images`, uint8 NHWC).

    python -m tfgan_replica.cli.sample --generator=runs/RUN/generator --num=64 --output=out/
    python -m tfgan_replica.cli.sample --generator=runs/RUN/generator --num=10000 --output=s.npz
"""

from absl import app, flags

from tfgan_replica.cli import no_positional_arguments, reporting_errors

FLAGS = flags.FLAGS
flags.DEFINE_string("generator", None, "Exported generator (SavedModel folder).")
flags.DEFINE_integer("num", 64, "Number of samples.")
flags.DEFINE_string("output", None, "A folder for PNGs, or a file ending in .npz.")
flags.DEFINE_integer("seed", 0, "Seed of the latent vectors.")
flags.mark_flags_as_required(["generator", "output"])


def main(argv):
    no_positional_arguments(argv)
    from tfgan_replica import sampling

    with reporting_errors("sample"):
        output = sampling.write_samples(FLAGS.generator, FLAGS.num, FLAGS.output, FLAGS.seed)
    print(f"wrote {FLAGS.num} samples to {output}")


if __name__ == "__main__":
    app.run(main)
