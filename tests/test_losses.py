"""Closed-form checks of the adversarial losses and the gradient penalty."""

import numpy as np
import pytest
import tensorflow as tf

from tfgan_replica import losses

REAL = np.array([[2.0], [-1.0], [0.5]], np.float32)
FAKE = np.array([[0.5], [-3.0], [1.5]], np.float32)


def log_sigmoid(x):
    return -np.log1p(np.exp(-x))


def cross_entropy(logits, target):
    """-t log s(x) - (1 - t) log(1 - s(x)), written out by hand."""
    return -(target * log_sigmoid(logits) + (1 - target) * log_sigmoid(-logits))


@pytest.mark.parametrize("real_target", [0.9, 1.0, 0.7])
def test_bce_d_loss_smooths_only_real_targets(real_target):
    expected = cross_entropy(REAL, real_target).mean() + cross_entropy(FAKE, 0.0).mean()
    got = losses.bce_d_loss(REAL, FAKE, real_target=real_target)
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-6)


def test_bce_d_loss_default_target_is_the_plain_loss():
    np.testing.assert_allclose(losses.bce_d_loss(REAL, FAKE).numpy(),
                               losses.bce_d_loss(REAL, FAKE, real_target=1.0).numpy())
    assert losses.bce_d_loss(REAL, FAKE).numpy() != pytest.approx(
        losses.bce_d_loss(REAL, FAKE, real_target=0.9).numpy())


def test_bce_g_loss_is_non_saturating():
    np.testing.assert_allclose(losses.bce_g_loss(FAKE).numpy(),
                               -log_sigmoid(FAKE).mean(), rtol=1e-6)


def test_hinge_losses():
    real = np.array([0.5, 2.0, -1.0], np.float32)  # 1 - x: 0.5, -1 -> 0, 2
    fake = np.array([0.5, -2.0, 0.0], np.float32)  # 1 + x: 1.5, -1 -> 0, 1
    np.testing.assert_allclose(losses.hinge_d_loss(real, fake).numpy(),
                               2.5 / 3 + 2.5 / 3, rtol=1e-6)
    np.testing.assert_allclose(losses.hinge_g_loss(fake).numpy(), 0.5, rtol=1e-6)


def test_wasserstein_losses():
    np.testing.assert_allclose(losses.wasserstein_d_loss(REAL, FAKE).numpy(),
                               FAKE.mean() - REAL.mean(), rtol=1e-6)
    np.testing.assert_allclose(losses.wasserstein_g_loss(FAKE).numpy(), -FAKE.mean(),
                               rtol=1e-6)


def test_least_squares_losses():
    """Mao et al.'s a=0, b=1, c=1: reals pulled to 1, fakes to 0, the generator's fakes to 1."""
    real = np.array([1.0, 3.0, -1.0], np.float32)  # (x - 1)^2: 0, 4, 4
    fake = np.array([0.0, 2.0, -2.0], np.float32)  # x^2: 0, 4, 4; (x - 1)^2: 1, 1, 9
    np.testing.assert_allclose(losses.least_squares_d_loss(real, fake).numpy(),
                               0.5 * 8 / 3 + 0.5 * 8 / 3, rtol=1e-6)
    np.testing.assert_allclose(losses.least_squares_g_loss(fake).numpy(), 0.5 * 11 / 3,
                               rtol=1e-6)
    perfect = losses.least_squares_d_loss(np.ones(3, np.float32), np.zeros(3, np.float32))
    assert perfect.numpy() == 0.0


def test_losses_are_named_pairs():
    assert sorted(losses.LOSSES) == ["bce", "hinge", "lsgan", "wasserstein"]
    hinge = losses.get("hinge")
    assert (hinge.d, hinge.g) == (losses.hinge_d_loss, losses.hinge_g_loss)
    assert [name for name, loss in losses.LOSSES.items() if loss.lipschitz] == ["wasserstein"]
    smoothed = losses.get("bce", real_target=0.9)
    np.testing.assert_allclose(smoothed.d(REAL, FAKE).numpy(),
                               losses.bce_d_loss(REAL, FAKE, real_target=0.9).numpy())
    assert losses.get("bce", real_target=None) is losses.LOSSES["bce"]
    with pytest.raises(TypeError, match=r"loss 'lsgan' takes no 'real_target'; \['bce'\] do"):
        losses.get("lsgan", real_target=0.9)
    with pytest.raises(ValueError, match=r"unknown loss 'l2'; choose one of \['bce'"):
        losses.get("l2")


def test_losses_accept_float16_logits_and_return_float32():
    loss = losses.bce_d_loss(tf.constant(REAL, tf.float16), tf.constant(FAKE, tf.float16))
    assert loss.dtype == tf.float32
    np.testing.assert_allclose(loss.numpy(), losses.bce_d_loss(REAL, FAKE).numpy(), rtol=1e-3)


def linear_critic(weights):
    """D(x) = <w, x>: its input gradient is w everywhere."""
    def critic(images, training=False):
        return tf.reduce_sum(images * weights, axis=[1, 2, 3])[:, None]
    return critic


@pytest.mark.parametrize("norm", [3.0, 1.0, 0.25])
def test_gradient_penalty_on_linear_critic(norm):
    rng = np.random.default_rng(0)
    w = rng.normal(size=(1, 4, 4, 2)).astype(np.float32)
    w = tf.constant(w * norm / np.linalg.norm(w))
    real = rng.normal(size=(5, 4, 4, 2)).astype(np.float32)
    fake = rng.normal(size=(5, 4, 4, 2)).astype(np.float32)
    penalty, norms = losses.gradient_penalty(linear_critic(w), real, fake)
    np.testing.assert_allclose(norms.numpy(), np.full(5, norm), rtol=1e-5)
    np.testing.assert_allclose(penalty.numpy(), (norm - 1.0) ** 2, atol=1e-5)


def test_gradient_penalty_gradient_reaches_critic_weights():
    """d/dw (||w|| - 1)^2 = 2 (||w|| - 1) w / ||w||: the penalty trains the critic."""
    w = tf.Variable(tf.fill([1, 2, 2, 1], 1.5))  # ||w|| = 3
    real = tf.random.normal([3, 2, 2, 1])
    fake = tf.random.normal([3, 2, 2, 1])
    with tf.GradientTape() as tape:
        penalty, _ = losses.gradient_penalty(linear_critic(w), real, fake)
    grad = tape.gradient(penalty, w)
    np.testing.assert_allclose(grad.numpy(), 2 * (3.0 - 1.0) * w.numpy() / 3.0, rtol=1e-5)


def test_r1_penalty_is_the_squared_input_gradient_on_reals():
    """A linear critic's input gradient is w: R1 = ||w||^2. A quadratic critic
    |x|^2 / 2 has gradient x: R1 = mean ||x||^2 over the batch."""
    rng = np.random.default_rng(1)
    w = tf.constant(rng.normal(size=(1, 4, 4, 2)).astype(np.float32))
    real = rng.normal(size=(5, 4, 4, 2)).astype(np.float32)
    np.testing.assert_allclose(losses.r1_penalty(linear_critic(w), real).numpy(),
                               np.sum(w.numpy() ** 2), rtol=1e-5)

    def quadratic(images, training=False):
        return 0.5 * tf.reduce_sum(tf.square(images), axis=[1, 2, 3])[:, None]

    np.testing.assert_allclose(losses.r1_penalty(quadratic, real).numpy(),
                               np.mean(np.sum(real ** 2, axis=(1, 2, 3))), rtol=1e-5)


def test_gradient_penalty_interpolates_between_real_and_fake():
    """With a critic |x|^2 / 2 the gradient is x_hat itself, so its norm lies
    between the norms of the real and the fake sample it interpolates."""
    def critic(images, training=False):
        return 0.5 * tf.reduce_sum(tf.square(images), axis=[1, 2, 3])[:, None]

    real = tf.zeros([64, 2, 2, 1])
    fake = tf.fill([64, 2, 2, 1], 0.5)  # ||fake|| = 1
    _, norms = losses.gradient_penalty(critic, real, fake, rng=tf.random.Generator.from_seed(1))
    norms = norms.numpy()
    assert np.all(norms >= 0) and np.all(norms <= 1.0 + 1e-5)
    assert norms.std() > 0.1, "each sample needs its own interpolation weight"


def test_gradient_penalty_is_float32_for_float16_critic():
    w = tf.constant(np.full((1, 2, 2, 1), 0.5, np.float16))

    def critic(images, training=False):
        return tf.reduce_sum(tf.cast(images, tf.float16) * w, axis=[1, 2, 3])[:, None]

    penalty, norms = losses.gradient_penalty(critic, tf.zeros([2, 2, 2, 1]), tf.ones([2, 2, 2, 1]))
    assert penalty.dtype == tf.float32 and norms.dtype == tf.float32
    np.testing.assert_allclose(penalty.numpy(), 0.0, atol=1e-5)  # ||w|| = 1
