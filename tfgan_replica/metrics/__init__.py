"""GAN evaluation on the FID Inception network: FID, precision/recall, density/coverage, KID.

The protocol (network, preprocessing, sample sizes, k) is fixed and written into every
result; see `evaluation.evaluate`.
"""

from tfgan_replica.metrics.evaluation import evaluate, score_features
from tfgan_replica.metrics.features import FeatureExtractor
from tfgan_replica.metrics.fid import FeatureStatistics, fid_from_features, frechet_distance

__all__ = [
    "FeatureExtractor",
    "FeatureStatistics",
    "evaluate",
    "fid_from_features",
    "frechet_distance",
    "score_features",
]
