"""How fast are the metrics, and how much memory do they need?

    ./run.sh bench --suite=metrics [--inception_weights=PATH]

Times FID feature extraction (`FeatureExtractor` on uint8 MNIST images: quantization,
resizing to 299x299, the network, the copy back) against a plain `tf.function` call of
the same network on the same batch already preprocessed, in interleaved pairs of
windows (see `paired`), with its GFLOP/s beside the matmul peak. Then each FID
protocol's preprocessing (resize to 299x299 and scaling, see `metrics.protocols`) beside
that network call, per image: the network has to stay the bottleneck under every
protocol. Then the peak memory of precision/recall at 10k vs 10k against a full distance
matrix, and an estimate of the time to score 10,000 generated images against a cached
reference.
"""

import time
import tracemalloc

import numpy as np
import tensorflow as tf

from tfgan_replica import data
from tfgan_replica.benchmarks import paired, peak
from tfgan_replica.metrics import inception, kid, prdc, protocols
from tfgan_replica.metrics.features import FeatureExtractor
from tfgan_replica.metrics.fid import FeatureStatistics, frechet_distance

BATCH = 50  # the batch size `metrics.evaluate` extracts features with
SCORE_N = 10_000
RATIO = paired.Ratio("extractor", "plain", "extractor / plain call", target=0.95)
# Each protocol's preprocessing runs at least 10x as fast as the network: under a tenth
# of the time of a feature.
PREPROCESSING_SPEEDUP = 10.0


def _timed(fn):
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def extractor_arm(extractor, images):
    """`FeatureExtractor` on one batch of uint8 images a step, as `evaluate` calls it."""
    return paired.LoopArm("extractor", lambda: lambda: extractor(images, progress=False),
                          len(images))


def plain_arm(model, inputs):
    """The network called in a plain `tf.function` on a batch already preprocessed."""
    network = tf.function(lambda batch: model(batch, training=False))
    return paired.LoopArm("plain", lambda: lambda: network(inputs), len(inputs))


def preprocessing_arm(protocol, images):
    """One protocol's preprocessing of a batch of uint8 images, traced as the extractor
    traces it."""
    step = tf.function(protocols.get_protocol(protocol).to_network_input)
    batch = tf.constant(images)
    return paired.LoopArm(protocol, lambda: lambda: step(batch), len(images))


def feature_batch(inception_weights=None):
    """The extractor `metrics.evaluate` uses, and one batch for it: the first `BATCH`
    MNIST test images."""
    images = data.load_arrays("mnist", "test")[0][:BATCH]
    return FeatureExtractor.shared(inception_weights, BATCH), images


def feature_extraction(inception_weights=None, window_seconds=20.0, pairs=5, warmup=1,
                       peak_gflops=None, print_fn=print):
    """Times the two arms on one batch (see `feature_batch`); returns the
    `paired.WorkloadResult`."""
    extractor, images = feature_batch(inception_weights)
    inputs = extractor.protocol.to_network_input(images)
    spec = tf.TensorSpec(inputs.shape, tf.float32)
    flops = peak.call_flops(lambda batch: extractor.model(batch, training=False), spec)
    return paired.run_workload(
        f"FID Inception features at {inception.INPUT_SIZE}x{inception.INPUT_SIZE}, batch {BATCH}, "
        f"{flops / 1e9:.1f} GFLOP a batch",
        [extractor_arm(extractor, images), plain_arm(extractor.model, inputs)], [RATIO], pairs,
        window_seconds, warmup, flops, peak_gflops, print_fn=print_fn)


def preprocessing(inception_weights=None, window_seconds=20.0, pairs=5, warmup=1,
                  print_fn=print):
    """Times each protocol's preprocessing against the plain network call on one batch
    (see `feature_batch`), and prints both per image; returns the `paired.WorkloadResult`."""
    extractor, images = feature_batch(inception_weights)
    names = list(protocols.PROTOCOLS)
    arms = [plain_arm(extractor.model, extractor.protocol.to_network_input(images))]
    arms += [preprocessing_arm(name, images) for name in names]
    ratios = [paired.Ratio(name, "plain", f"{name} / plain call", PREPROCESSING_SPEEDUP)
              for name in names]
    result = paired.run_workload(
        f"FID protocols' preprocessing to {inception.INPUT_SIZE}x{inception.INPUT_SIZE} beside "
        f"the network (plain), batch {BATCH}", arms, ratios, pairs, window_seconds, warmup,
        print_fn=print_fn)
    ms = {name: 1e3 / spread.median for name, spread in result.items_per_second.items()}
    print_fn(f"  ms per image: network {ms['plain']:.2f}; preprocessing " + ", ".join(
        f"{name} {ms[name]:.2f} ({ms[name] / ms['plain']:.1%} of the network)" for name in names))
    return result


def _prdc_memory(dim):
    rng = np.random.default_rng(0)
    real = rng.standard_normal((SCORE_N, dim), dtype=np.float32)
    fake = rng.standard_normal((SCORE_N, dim), dtype=np.float32) + 0.1
    tracemalloc.start()
    inputs = tracemalloc.get_traced_memory()[0]
    _, seconds = _timed(lambda: prdc.prdc(real, fake))
    peak_bytes = tracemalloc.get_traced_memory()[1] - inputs
    tracemalloc.stop()
    return real, fake, peak_bytes, seconds


def run(inception_weights=None, window_seconds=20.0, pairs=5, warmup=1, peak_gflops=None,
        print_fn=print):
    """Measures and prints; returns the numbers as a dict.

    `peak_gflops` ({dtype: Spread}) is measured first unless given.
    """
    peak_gflops = peak_gflops or peak.measure_peak(print_fn=print_fn)
    extraction = feature_extraction(inception_weights, window_seconds, pairs, warmup,
                                    peak_gflops, print_fn)
    extractor_rate = extraction.items_per_second["extractor"].median
    preprocessing_result = preprocessing(inception_weights, window_seconds, pairs, warmup,
                                         print_fn)

    real, fake, peak_bytes, prdc_seconds = _prdc_memory(2048)
    full_matrix = SCORE_N * SCORE_N * 8
    print_fn(f"Precision/recall/density/coverage, {SCORE_N} vs {SCORE_N} x 2048:")
    print_fn(f"  peak extra memory {peak_bytes / 2**20:8.1f} MiB   one full float64 distance "
             f"matrix {full_matrix / 2**20:8.1f} MiB   ratio {peak_bytes / full_matrix:5.2f}   "
             f"time {prdc_seconds:6.1f} s")

    stats_real = FeatureStatistics.from_features(real)
    fid_seconds = _timed(lambda: frechet_distance(FeatureStatistics.from_features(fake), stats_real))[1]
    kid_seconds = _timed(lambda: kid.kid(real, fake))[1]
    extraction_seconds = SCORE_N / extractor_rate
    print_fn(f"Estimate for {SCORE_N} generated images against a cached reference "
             f"(features at the extractor's median rate):")
    print_fn(f"  features {extraction_seconds:7.1f} s + FID statistics {fid_seconds:5.1f} s "
             f"= FID in {extraction_seconds + fid_seconds:7.1f} s")
    print_fn(f"  all scores (+ PR/DC {prdc_seconds:.1f} s + KID {kid_seconds:.1f} s): "
             f"{extraction_seconds + fid_seconds + prdc_seconds + kid_seconds:7.1f} s")
    return {"feature_extraction": extraction, "preprocessing": preprocessing_result,
            "prdc_peak_bytes": peak_bytes,
            "prdc_seconds": prdc_seconds, "fid_seconds": fid_seconds, "kid_seconds": kid_seconds,
            "fid_10k_estimate_seconds": extraction_seconds + fid_seconds}
