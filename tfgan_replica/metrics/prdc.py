"""Precision/recall (Kynkaanniemi et al. 2019) and density/coverage (Naeem et al. 2020).

Each set's manifold is the union of balls around its points, of radius the distance to
the k-th nearest other point of the same set. Distances are computed block by block,
so memory stays at a few block-sized matrices whatever N (never an N x N matrix).
Comparisons follow each paper's reference code: `<=` for precision/recall, `<` for
density/coverage. All arithmetic is in float64 on squared distances.
"""

import numpy as np

from tfgan_replica.errors import InputError

DEFAULT_BLOCK_SIZE = 2048


def _blocks(n, block_size):
    return [slice(start, min(start + block_size, n)) for start in range(0, n, block_size)]


def _squared_distances(a, b, a_norms, b_norms):
    return np.maximum(a_norms[:, None] + b_norms[None, :] - 2.0 * (a @ b.T), 0.0)


def _as_features(features, name):
    features = np.asarray(features, dtype=np.float64)
    if features.ndim != 2 or len(features) < 2:
        raise InputError(f"{name} features must be a (N >= 2, D) array, got shape {features.shape}")
    return features


def knn_squared_radii(features, ks, block_size=DEFAULT_BLOCK_SIZE):
    """Squared distance of each point to its k-th nearest other point, for each k in `ks`.

    Keeps a running list of the max(ks) + 1 smallest distances of each row (the point
    itself is among them at distance 0), merged one column block at a time.
    """
    features = _as_features(features, "radius")
    n = len(features)
    keep = max(ks) + 1
    if n < keep:
        raise InputError(f"k={max(ks)} neighbours need more than {max(ks)} points, got {n}")
    norms = np.einsum("ij,ij->i", features, features)
    radii = {k: np.empty(n) for k in ks}
    for rows in _blocks(n, block_size):
        smallest = np.full((rows.stop - rows.start, 0), np.inf)
        for cols in _blocks(n, block_size):
            block = _squared_distances(features[rows], features[cols], norms[rows], norms[cols])
            merged = np.concatenate([smallest, block], axis=1)
            width = min(keep, merged.shape[1])
            smallest = np.partition(merged, width - 1, axis=1)[:, :width]
        smallest.sort(axis=1)
        for k in ks:
            radii[k][rows] = smallest[:, k]
    return radii


def prdc(real_features, fake_features, k_precision_recall=3, k_density_coverage=5,
         block_size=DEFAULT_BLOCK_SIZE):
    """Returns dict(precision, recall, density, coverage) of fake against real features."""
    real = _as_features(real_features, "real")
    fake = _as_features(fake_features, "fake")
    if real.shape[1] != fake.shape[1]:
        raise InputError(f"feature dimensions differ: {real.shape[1]} vs {fake.shape[1]}")
    k_pr, k_dc = k_precision_recall, k_density_coverage
    real_radii = knn_squared_radii(real, sorted({k_pr, k_dc}), block_size)
    fake_radii = knn_squared_radii(fake, [k_pr], block_size)[k_pr]

    fake_in_real = np.zeros(len(fake), dtype=bool)   # precision
    real_in_fake = np.zeros(len(real), dtype=bool)   # recall
    density_counts = np.zeros(len(fake))              # density
    nearest_fake = np.full(len(real), np.inf)         # coverage
    real_norms = np.einsum("ij,ij->i", real, real)
    fake_norms = np.einsum("ij,ij->i", fake, fake)
    for rows in _blocks(len(real), block_size):
        for cols in _blocks(len(fake), block_size):
            block = _squared_distances(real[rows], fake[cols], real_norms[rows], fake_norms[cols])
            fake_in_real[cols] |= (block <= real_radii[k_pr][rows, None]).any(axis=0)
            real_in_fake[rows] |= (block <= fake_radii[None, cols]).any(axis=1)
            density_counts[cols] += (block < real_radii[k_dc][rows, None]).sum(axis=0)
            nearest_fake[rows] = np.minimum(nearest_fake[rows], block.min(axis=1))
    return {
        "precision": float(fake_in_real.mean()),
        "recall": float(real_in_fake.mean()),
        "density": float(density_counts.mean() / k_dc),
        "coverage": float((nearest_fake < real_radii[k_dc]).mean()),
    }
