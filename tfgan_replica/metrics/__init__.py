"""GAN evaluation on the FID Inception network: FID, precision/recall, density/coverage, KID.

The network, sample sizes and k are fixed; the preprocessing is one of the published FID
protocols (`protocols`, pytorch_fid by default). All of it is written into every result;
see `evaluation.evaluate`.
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
