"""KID: a hand-computed example, unbiasedness, and sensitivity to a shift."""

import numpy as np
import pytest

from tfgan_replica.metrics import kid


def test_tiny_example_by_hand():
    x = np.array([[1.0], [2.0]])
    y = np.array([[0.0], [-1.0]])
    k = lambda a, b: (a * b + 1.0) ** 3  # d = 1
    expected = (2 * k(1, 2)) / 2 + (2 * k(0, -1)) / 2 - 2 * (k(1, 0) + k(1, -1) + k(2, 0) + k(2, -1)) / 4
    assert kid.mmd2_unbiased(x, y) == pytest.approx(expected)
    scores = kid.kid(x, y, num_subsets=3, subset_size=2)
    assert scores["kid_mean"] == pytest.approx(expected) and scores["kid_std"] == pytest.approx(0.0)


def test_estimate_is_unbiased_for_equal_distributions():
    """Averaged over many small draws, the unbiased estimate centres on 0; the biased one does not."""
    rng = np.random.default_rng(0)
    unbiased, biased = [], []
    for _ in range(400):
        x, y = rng.standard_normal((8, 3)), rng.standard_normal((8, 3))
        unbiased.append(kid.mmd2_unbiased(x, y))
        biased.append(kid.polynomial_kernel(x, x).mean() + kid.polynomial_kernel(y, y).mean()
                      - 2 * kid.polynomial_kernel(x, y).mean())
    standard_error = np.std(unbiased) / np.sqrt(len(unbiased))
    assert abs(np.mean(unbiased)) < 3 * standard_error
    assert np.mean(biased) > 10 * standard_error


def test_shifted_distribution_scores_clearly_higher():
    rng = np.random.default_rng(1)
    real = rng.standard_normal((600, 16))
    same = kid.kid(real, rng.standard_normal((600, 16)), num_subsets=20, subset_size=200)
    shifted = kid.kid(real, rng.standard_normal((600, 16)) + 0.5, num_subsets=20, subset_size=200)
    assert abs(same["kid_mean"]) < 3 * same["kid_std"]
    assert shifted["kid_mean"] > 10 * shifted["kid_std"] > 0
    assert shifted["kid_mean"] > 20 * abs(same["kid_mean"])


def test_bad_shapes_are_an_error():
    with pytest.raises(ValueError, match="equal D"):
        kid.kid(np.zeros((5, 3)), np.zeros((5, 4)))
