"""How fast are the metrics, and how much memory do they need?

    python -m tfgan_replica.cli.bench --suite=metrics [--inception_weights=PATH]

Prints feature-extraction throughput against baselines measured in the same run, peak
memory of precision/recall at 10k vs 10k against a full distance matrix, and an
estimate of the time to score 10,000 generated images against a cached reference.
"""

import time
import tracemalloc

import numpy as np

from tfgan_replica import data
from tfgan_replica.metrics import kid, prdc
from tfgan_replica.metrics.features import FeatureExtractor, to_network_input
from tfgan_replica.metrics.fid import FeatureStatistics, frechet_distance

THROUGHPUT_IMAGES = 100
SCORE_N = 10_000


def _timed(fn):
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def _images_per_second(fn, count):
    fn()  # warm-up: tracing and first-call allocations
    _, seconds = _timed(fn)
    return count / seconds


def _throughput(inception_weights, images):
    count = len(images)
    rates = {}
    for batch_size in (50, 10):
        extractor = FeatureExtractor(inception_weights, batch_size)
        rates[f"extractor batch {batch_size}"] = _images_per_second(
            lambda: extractor(images, progress=False), count)
    inputs = to_network_input(images).numpy()
    rates["model.predict batch 50 (preprocessed)"] = _images_per_second(
        lambda: extractor.model.predict(inputs, batch_size=50, verbose=0), count)
    return rates


def _prdc_memory(dim):
    rng = np.random.default_rng(0)
    real = rng.standard_normal((SCORE_N, dim), dtype=np.float32)
    fake = rng.standard_normal((SCORE_N, dim), dtype=np.float32) + 0.1
    tracemalloc.start()
    inputs = tracemalloc.get_traced_memory()[0]
    _, seconds = _timed(lambda: prdc.prdc(real, fake))
    peak = tracemalloc.get_traced_memory()[1] - inputs
    tracemalloc.stop()
    return real, fake, peak, seconds


def run(inception_weights=None):
    """Measures and prints; returns the numbers as a dict."""
    images = data.load_arrays("mnist", "test")[0][:THROUGHPUT_IMAGES]
    rates = _throughput(inception_weights, images)
    best = rates["extractor batch 50"]
    print(f"Feature extraction at 299x299 ({THROUGHPUT_IMAGES} MNIST images, after warm-up):")
    for name, rate in rates.items():
        print(f"  {name:40s} {rate:7.1f} images/s   ratio to batch 50: {rate / best:5.2f}")

    real, fake, peak, prdc_seconds = _prdc_memory(2048)
    full_matrix = SCORE_N * SCORE_N * 8
    print(f"Precision/recall/density/coverage, {SCORE_N} vs {SCORE_N} x 2048:")
    print(f"  peak extra memory {peak / 2**20:8.1f} MiB   one full float64 distance matrix "
          f"{full_matrix / 2**20:8.1f} MiB   ratio {peak / full_matrix:5.2f}   time {prdc_seconds:6.1f} s")

    stats_real = FeatureStatistics.from_features(real)
    fid_seconds = _timed(lambda: frechet_distance(FeatureStatistics.from_features(fake), stats_real))[1]
    kid_seconds = _timed(lambda: kid.kid(real, fake))[1]
    extraction_seconds = SCORE_N / best
    print(f"Estimate for {SCORE_N} generated images against a cached reference:")
    print(f"  features {extraction_seconds:7.1f} s + FID statistics {fid_seconds:5.1f} s "
          f"= FID in {extraction_seconds + fid_seconds:7.1f} s")
    print(f"  all scores (+ PR/DC {prdc_seconds:.1f} s + KID {kid_seconds:.1f} s): "
          f"{extraction_seconds + fid_seconds + prdc_seconds + kid_seconds:7.1f} s")
    return {"images_per_second": rates, "prdc_peak_bytes": peak, "prdc_seconds": prdc_seconds,
            "fid_seconds": fid_seconds, "kid_seconds": kid_seconds,
            "fid_10k_estimate_seconds": extraction_seconds + fid_seconds}

