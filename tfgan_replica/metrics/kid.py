"""Kernel Inception Distance (Binkowski et al. 2018).

The unbiased estimate of MMD^2 with the cubic polynomial kernel k(x, y) = (x.y / d + 1)^3,
averaged over random subsets; unlike FID it has no bias at small N, so the mean is
comparable across sample sizes and its standard deviation across subsets is reported.
"""

import numpy as np

from tfgan_replica.errors import InputError


def polynomial_kernel(a, b):
    return (a @ b.T / a.shape[1] + 1.0) ** 3


def mmd2_unbiased(x, y):
    """Unbiased MMD^2 between samples x (m, d) and y (n, d): diagonal terms excluded."""
    m, n = len(x), len(y)
    k_xx, k_yy, k_xy = polynomial_kernel(x, x), polynomial_kernel(y, y), polynomial_kernel(x, y)
    within_x = (k_xx.sum() - np.trace(k_xx)) / (m * (m - 1))
    within_y = (k_yy.sum() - np.trace(k_yy)) / (n * (n - 1))
    return float(within_x + within_y - 2.0 * k_xy.mean())


def kid(real_features, fake_features, num_subsets=100, subset_size=1000, seed=0):
    """Returns dict(kid_mean, kid_std) over `num_subsets` random subsets of each set."""
    real = np.asarray(real_features, dtype=np.float64)
    fake = np.asarray(fake_features, dtype=np.float64)
    if real.ndim != 2 or fake.ndim != 2 or real.shape[1] != fake.shape[1]:
        raise InputError(f"need two (N, D) feature arrays of equal D, got {real.shape}, {fake.shape}")
    size = min(subset_size, len(real), len(fake))
    if size < 2:
        raise InputError(f"KID needs at least 2 samples in each set, got {len(real)} and {len(fake)}")
    rng = np.random.default_rng(seed)
    estimates = [
        mmd2_unbiased(real[rng.choice(len(real), size, replace=False)],
                      fake[rng.choice(len(fake), size, replace=False)])
        for _ in range(num_subsets)
    ]
    return {"kid_mean": float(np.mean(estimates)), "kid_std": float(np.std(estimates))}
