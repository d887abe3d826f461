"""Features and statistics of real images, cached on disk.

A cache entry is keyed by every setting that changes the features: dataset, split,
number of images, data source, network weights hash, resize and input scaling (so each
FID protocol has its own entries), and how pixels were quantized. Any change is a miss;
an entry is written atomically and its stored settings are checked again on load.
"""

import dataclasses
import json

import numpy as np

from tfgan_replica import data
from tfgan_replica.errors import InputError
from tfgan_replica.images import SAMPLE_MODES
from tfgan_replica.metrics import cache
from tfgan_replica.metrics.fid import FeatureStatistics


@dataclasses.dataclass(frozen=True)
class ReferenceFeatures:
    features: np.ndarray
    statistics: FeatureStatistics
    settings: dict


def reference_settings(dataset, split, num_reference, extractor_settings, source=None,
                       sample_mode="standard"):
    """The cache key material; also written into every score's provenance."""
    return {
        "dataset": dataset,
        "split": split,
        "num_reference": "all" if num_reference is None else int(num_reference),
        "source": "default" if source is None else str(source),
        "quantization": SAMPLE_MODES[sample_mode].uint8_description,
        **extractor_settings,
    }


def _cache_path(settings):
    name = f"{settings['dataset']}-{settings['split']}-{settings['num_reference']}"
    return cache.cache_dir() / "reference" / f"{name}-{cache.settings_key(settings)}.npz"


def load_reference_images(dataset, split, num_reference=None, source=None):
    """The first `num_reference` images of the split (all when None), uint8 NHWC."""
    images, _ = data.load_arrays(dataset, split, source)
    if num_reference is None:
        return images
    if not 2 <= num_reference <= len(images):
        raise InputError(f"num_reference must be between 2 and {len(images)} (the size of "
                         f"{dataset} {split}), got {num_reference}")
    return images[:num_reference]


def reference_features(extractor, dataset, split, num_reference=None, source=None, progress=True,
                       sample_mode="standard"):
    """Returns `ReferenceFeatures` for the split, from the cache or computed and cached.

    `extractor` maps uint8 images to features and has a `settings` dict (see
    `features.FeatureExtractor`); `sample_mode` says how the stored pixels are mapped
    first (the course evaluator wrote its test images through save_image too).
    """
    settings = reference_settings(dataset, split, num_reference, extractor.settings, source,
                                  sample_mode)
    path = _cache_path(settings)
    if path.exists():
        with np.load(path, allow_pickle=False) as stored:
            if json.loads(str(stored["settings"])) == settings:
                stats = FeatureStatistics(stored["mu"], stored["sigma"], int(stored["num"]))
                return ReferenceFeatures(stored["features"], stats, settings)
    images = load_reference_images(dataset, split, num_reference, source)
    features = extractor(images, sample_mode, progress=progress)
    stats = FeatureStatistics.from_features(features)
    with cache.atomic_path(path) as tmp:
        np.savez(tmp, features=features, mu=stats.mu, sigma=stats.sigma, num=stats.num,
                 settings=json.dumps(settings, sort_keys=True))
    return ReferenceFeatures(features, stats, settings)
