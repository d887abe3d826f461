"""One call from generated images to every score, written with its provenance.

    scores = tfgan_replica.metrics.evaluate("runs/x/generator", dataset="mnist")
    scores["fid"], scores["precision"], scores["provenance"]["weights_sha1"]
"""

import platform
from datetime import datetime, timezone

import keras
import numpy as np
import PIL
import tensorflow as tf

import tfgan_replica
from tfgan_replica import data, run_clock
from tfgan_replica.choices import DEFAULT_FID_PROTOCOL
from tfgan_replica.errors import InputError
from tfgan_replica.metrics import kid, prdc, protocols, reference, sources
from tfgan_replica.images import SAMPLE_MODES, check_sample_mode
from tfgan_replica.metrics.features import FeatureExtractor
from tfgan_replica.metrics.fid import FeatureStatistics, frechet_distance

K_PRECISION_RECALL = 3
K_DENSITY_COVERAGE = 5
KID_SUBSETS = 100
KID_SUBSET_SIZE = 1000
COURSE_EVALUATOR = ("report B's template: pytorch_fid.calculate_fid_given_paths on PNG folders "
                    "of the test images and the samples, both written by torchvision save_image")


def score_features(fake_features, real):
    """FID, precision/recall, density/coverage and KID of features against a reference."""
    fake_stats = FeatureStatistics.from_features(fake_features)
    scores = {"fid": frechet_distance(fake_stats, real.statistics)}
    scores.update(prdc.prdc(real.features, fake_features, K_PRECISION_RECALL, K_DENSITY_COVERAGE))
    scores.update(kid.kid(real.features, fake_features, KID_SUBSETS, KID_SUBSET_SIZE))
    notes = [fake_stats.small_sample_warning("generated"),
             real.statistics.small_sample_warning("reference")]
    scores["warnings"] = [note for note in notes if note]
    return scores


def _quantization(sample_mode, images):
    mode = SAMPLE_MODES[sample_mode]
    return mode.uint8_description if images.dtype == np.uint8 else mode.float_description


def _check_arguments(source, dataset, num_samples, num_reference, sample_mode, batch_size,
                     protocol):
    check_sample_mode(sample_mode)
    protocols.get_protocol(protocol)
    if sample_mode == "course" and protocol != DEFAULT_FID_PROTOCOL:
        raise InputError(f"sample_mode='course' is report B's evaluator, which preprocessed as "
                         f"pytorch_fid does; use it with protocol={DEFAULT_FID_PROTOCOL!r}, not "
                         f"{protocol!r}")
    data.image_shape(dataset)
    if num_samples < 2:
        raise InputError(f"num_samples must be at least 2 (10,000 is the convention), got {num_samples}")
    if num_reference is not None and num_reference < 2:
        raise InputError(f"num_reference must be at least 2 or None (whole split), got {num_reference}")
    if batch_size < 1:
        raise InputError(f"batch_size must be at least 1, got {batch_size}")
    return sources.describe_source(source)


def evaluate(source, dataset="mnist", split="test", num_samples=10_000, num_reference=None,
             inception_weights=None, batch_size=50, sample_mode="standard", seed=0,
             reference_source=None, progress=True, protocol=DEFAULT_FID_PROTOCOL):
    """Scores generated images against a real split; returns a dict with a `provenance` entry.

    `source`: an exported generator folder, an .npz with key `images` (uint8, or float in
    [-1, 1]), a folder of PNGs, or an image array. `num_reference=None` uses the whole
    split. `sample_mode='course'` adds a `course` entry: report B's own evaluator, which
    scored PNGs that torchvision's save_image wrote from [-1, 1] tensors, for the samples
    and the test images alike (see `images.SAMPLE_MODES`). It comes beside the standard
    scores, never instead of them. uint8 samples are taken as stored images, like the
    reference: the course mode maps them as the template mapped its test set.
    `protocol` ('pytorch_fid', 'tf1' or 'clean', see `protocols.PROTOCOLS`) chooses how
    images are resized and scaled for the network, for the samples and the reference
    alike; the course evaluator exists under pytorch_fid only. `progress` shows a progress
    bar per feature extraction, named on the line before it.
    """
    kind = _check_arguments(source, dataset, num_samples, num_reference, sample_mode, batch_size,
                            protocol)
    started = run_clock.now()
    images = sources.load_samples(source, num_samples, seed)
    expected_shape = data.image_shape(dataset)
    if images.shape[1:] != expected_shape:
        raise InputError(f"generated images have shape {images.shape[1:]} but {dataset} images "
                         f"are {expected_shape}; check --dataset")

    extractor = FeatureExtractor.shared(inception_weights, batch_size, protocol)

    def score(mode):
        course = ", course mode" if mode == "course" else ""
        real = reference.reference_features(
            extractor, dataset, split, num_reference, reference_source,
            progress and f"reference features ({dataset} {split}{course})", mode)
        fake = extractor(images, mode, progress and f"sample features ({len(images)} images{course})")
        return real, score_features(fake, real)

    real, result = score("standard")
    if sample_mode == "course":
        _, result["course"] = score("course")
    result["provenance"] = {
        **real.settings,
        "num_generated": len(images),
        "num_reference": real.statistics.num,
        "reference_source": real.settings["source"],  # where the real split was read
        "source": "array" if kind == "array" else str(source),
        "source_kind": kind,
        "seed": seed,
        "quantization": _quantization("standard", images),
        "reference_quantization": SAMPLE_MODES["standard"].uint8_description,
        "sample_mode": sample_mode,
        "protocol": protocol,
        "protocol_used_by": extractor.protocol.used_by,
        **({"course": {"evaluator": COURSE_EVALUATOR,
                       "quantization": _quantization("course", images),
                       "reference_quantization": SAMPLE_MODES["course"].uint8_description}}
           if sample_mode == "course" else {}),
        "k_precision_recall": K_PRECISION_RECALL,
        "k_density_coverage": K_DENSITY_COVERAGE,
        "kid": {"kernel": "(x.y / d + 1)^3", "subsets": KID_SUBSETS, "subset_size": KID_SUBSET_SIZE},
        "dtypes": {"features": "float32", "statistics": "float64", "distances": "float64"},
        "versions": {"tfgan_replica": tfgan_replica.__version__, "tensorflow": tf.__version__,
                     "keras": keras.__version__, "numpy": np.__version__,
                     "pillow": PIL.__version__, "python": platform.python_version()},
        "time": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "seconds": round(run_clock.now() - started, 1),
    }
    return result
