"""Frechet Inception Distance between two sets of features (Heusel et al. 2017).

FID = ||mu1 - mu2||^2 + tr(S1) + tr(S2) - 2 tr sqrt(sqrt(S1) S2 sqrt(S1)).
The last trace is taken through symmetric eigendecompositions, in float64, which is
exact for positive semi-definite matrices and free of `scipy.linalg.sqrtm`'s
version-dependent complex round-off.
"""

import dataclasses

import numpy as np

from tfgan_replica.errors import InputError


@dataclasses.dataclass(frozen=True)
class FeatureStatistics:
    """Mean and covariance (float64) of `num` feature vectors."""

    mu: np.ndarray
    sigma: np.ndarray
    num: int

    @classmethod
    def from_features(cls, features):
        features = np.asarray(features, dtype=np.float64)
        if features.ndim != 2:
            raise InputError(f"features must be a (N, D) array, got shape {features.shape}")
        if len(features) < 2:
            raise InputError(
                f"FID needs at least 2 feature vectors for a covariance, got {len(features)}; "
                "use more samples (10,000 is the convention)"
            )
        return cls(features.mean(axis=0), np.cov(features, rowvar=False), len(features))

    def small_sample_warning(self, name):
        """A note when N < D: the covariance is then rank-deficient and FID biased upward."""
        dim = len(self.mu)
        if self.num < dim:
            return (f"{name}: {self.num} samples < feature dimension {dim}; the covariance is "
                    "singular and FID is strongly biased, compare only at equal N")
        return None


def _psd_sqrt(matrix):
    eigenvalues, eigenvectors = np.linalg.eigh((matrix + matrix.T) / 2)
    return (eigenvectors * np.sqrt(np.clip(eigenvalues, 0, None))) @ eigenvectors.T


def trace_sqrt_product(sigma1, sigma2):
    """tr sqrt(S1 S2) for PSD S1, S2, as tr sqrt(sqrt(S1) S2 sqrt(S1)) (a PSD matrix)."""
    root1 = _psd_sqrt(sigma1)
    middle = root1 @ sigma2 @ root1
    eigenvalues = np.linalg.eigvalsh((middle + middle.T) / 2)
    return float(np.sqrt(np.clip(eigenvalues, 0, None)).sum())


def frechet_distance(stats1, stats2):
    """FID between two `FeatureStatistics`."""
    if stats1.mu.shape != stats2.mu.shape:
        raise InputError(f"feature dimensions differ: {stats1.mu.shape} vs {stats2.mu.shape}")
    diff = stats1.mu - stats2.mu
    value = (diff @ diff + np.trace(stats1.sigma) + np.trace(stats2.sigma)
             - 2.0 * trace_sqrt_product(stats1.sigma, stats2.sigma))
    return max(float(value), 0.0)


def fid_from_features(features1, features2):
    """FID between two (N, D) feature arrays."""
    return frechet_distance(FeatureStatistics.from_features(features1),
                            FeatureStatistics.from_features(features2))
