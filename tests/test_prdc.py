"""Precision/recall and density/coverage: known geometries and blocked == brute force."""

import numpy as np
import pytest

from tfgan_replica.metrics import prdc


def _brute_force(real, fake, k_pr=3, k_dc=5):
    """Straight from the definitions, with full distance matrices."""
    def dist(a, b):
        return np.sqrt(((a[:, None, :] - b[None, :, :]) ** 2).sum(-1))

    d_rr, d_ff, d_rf = dist(real, real), dist(fake, fake), dist(real, fake)
    r_real_pr = np.sort(d_rr, axis=1)[:, k_pr]
    r_real_dc = np.sort(d_rr, axis=1)[:, k_dc]
    r_fake = np.sort(d_ff, axis=1)[:, k_pr]
    return {
        "precision": (d_rf <= r_real_pr[:, None]).any(axis=0).mean(),
        "recall": (d_rf <= r_fake[None, :]).any(axis=1).mean(),
        "density": (d_rf < r_real_dc[:, None]).sum(axis=0).mean() / k_dc,
        "coverage": (d_rf.min(axis=1) < r_real_dc).mean(),
    }


def test_a_set_against_itself_is_perfect():
    features = np.random.default_rng(0).standard_normal((300, 8))
    scores = prdc.prdc(features, features, block_size=64)
    assert scores["precision"] == 1.0 and scores["recall"] == 1.0 and scores["coverage"] == 1.0


def test_tight_fake_cluster_inside_wide_reals_has_precision_not_recall():
    rng = np.random.default_rng(1)
    real = rng.standard_normal((1000, 4)) * 3.0
    fake = rng.standard_normal((1000, 4)) * 0.2
    scores = prdc.prdc(real, fake)
    assert scores["precision"] > 0.9
    assert scores["recall"] < 0.1


def test_disjoint_sets_score_zero():
    rng = np.random.default_rng(2)
    real = rng.standard_normal((200, 4))
    fake = rng.standard_normal((200, 4)) + 100.0
    assert prdc.prdc(real, fake) == {"precision": 0.0, "recall": 0.0, "density": 0.0, "coverage": 0.0}


@pytest.mark.parametrize("block_size", [7, 50, 1000])
def test_blocked_equals_brute_force(block_size):
    rng = np.random.default_rng(3)
    real = rng.standard_normal((120, 6))
    fake = rng.standard_normal((90, 6)) * 1.3 + 0.4
    expected = _brute_force(real, fake)
    got = prdc.prdc(real, fake, block_size=block_size)
    for name, value in expected.items():
        assert got[name] == pytest.approx(value, abs=1e-12), name
    assert 0.0 < got["precision"] < 1.0 and 0.0 < got["recall"] < 1.0


def test_radii_exclude_the_point_itself():
    points = np.array([[0.0], [1.0], [3.0], [6.0], [10.0]])
    radii = prdc.knn_squared_radii(points, [1, 3], block_size=2)
    np.testing.assert_allclose(np.sqrt(radii[1]), [1, 1, 2, 3, 4])
    np.testing.assert_allclose(np.sqrt(radii[3]), [6, 5, 3, 5, 9])


def test_too_few_points_for_k_is_an_error():
    with pytest.raises(ValueError, match="neighbours"):
        prdc.prdc(np.zeros((4, 2)), np.zeros((4, 2)))
