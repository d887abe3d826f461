"""FID against closed forms and against the textbook sqrtm formula."""

import numpy as np
import pytest
import scipy.linalg

from tfgan_replica.metrics import fid
from tfgan_replica.metrics.fid import FeatureStatistics


def _stats(mu, sigma):
    return FeatureStatistics(np.asarray(mu, float), np.asarray(sigma, float), num=1000)


def _random_spd(rng, dim):
    a = rng.standard_normal((dim, dim + 3))
    return a @ a.T / dim


def test_identical_sets_give_zero():
    features = np.random.default_rng(0).standard_normal((500, 16))
    assert fid.fid_from_features(features, features) == pytest.approx(0.0, abs=1e-9)


def test_equal_covariances_give_squared_mean_distance():
    rng = np.random.default_rng(1)
    sigma = _random_spd(rng, 8)
    mu1, mu2 = rng.standard_normal(8), rng.standard_normal(8)
    expected = float(np.sum((mu1 - mu2) ** 2))
    assert fid.frechet_distance(_stats(mu1, sigma), _stats(mu2, sigma)) == pytest.approx(expected, rel=1e-9)


def test_diagonal_covariances_closed_form():
    rng = np.random.default_rng(2)
    a, b = rng.uniform(0.1, 3.0, 10), rng.uniform(0.1, 3.0, 10)
    mu1, mu2 = rng.standard_normal(10), rng.standard_normal(10)
    expected = np.sum((np.sqrt(a) - np.sqrt(b)) ** 2) + np.sum((mu1 - mu2) ** 2)
    got = fid.frechet_distance(_stats(mu1, np.diag(a)), _stats(mu2, np.diag(b)))
    assert got == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize("seed", [3, 4, 5])
def test_random_spd_pairs_agree_with_scipy_sqrtm(seed):
    rng = np.random.default_rng(seed)
    s1, s2 = _random_spd(rng, 20), _random_spd(rng, 20)
    mu1, mu2 = rng.standard_normal(20), rng.standard_normal(20)
    covmean = scipy.linalg.sqrtm(s1 @ s2).real
    expected = np.sum((mu1 - mu2) ** 2) + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean)
    assert fid.frechet_distance(_stats(mu1, s1), _stats(mu2, s2)) == pytest.approx(expected, rel=1e-8)


def test_singular_covariances_from_few_samples_stay_finite():
    rng = np.random.default_rng(6)
    small1, small2 = rng.standard_normal((5, 32)), rng.standard_normal((5, 32)) + 1.0
    value = fid.fid_from_features(small1, small2)
    assert np.isfinite(value) and value > 0
    assert "feature dimension" in FeatureStatistics.from_features(small1).small_sample_warning("generated")


def test_statistics_are_float64_and_need_two_samples():
    stats = FeatureStatistics.from_features(np.ones((3, 4), np.float32) * np.arange(3)[:, None])
    assert stats.mu.dtype == np.float64 and stats.sigma.dtype == np.float64
    assert stats.small_sample_warning("x") is not None
    assert FeatureStatistics.from_features(np.random.rand(10, 4)).small_sample_warning("x") is None
    with pytest.raises(ValueError, match="at least 2"):
        FeatureStatistics.from_features(np.zeros((1, 4)))


def test_mismatched_dimensions_are_an_error():
    with pytest.raises(ValueError, match="dimensions"):
        fid.frechet_distance(_stats(np.zeros(3), np.eye(3)), _stats(np.zeros(4), np.eye(4)))
