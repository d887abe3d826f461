"""Adversarial losses, each a named pair of functions, and the WGAN-GP gradient penalty.

A loss is the pair Keras' GAN example compiles (`d_loss_fn`, `g_loss_fn`) and TF-GAN
names `*_discriminator_loss` / `*_generator_loss`: `LOSSES` holds each pair under its
name, and `gan.GAN(loss=NAME)` trains with it. A new loss is its two functions and one
entry there, which also makes it a preset `family` (see `gan.FAMILIES`).

Every function takes float32 logits (or critic scores) of shape (batch, 1) or
(batch,) and returns the mean over the batch it is given. Under a
`tf.distribute` strategy that batch is the per-replica batch; the caller turns
these means into a share of the global-batch loss (see `gan.py`), so the same
functions serve one device and many.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Callable

import tensorflow as tf

from tfgan_replica.choices import REAL_TARGET
from tfgan_replica.errors import InputError


def _mean(values):
    return tf.reduce_mean(tf.cast(values, tf.float32))


def bce_d_loss(real_logits, fake_logits, real_target=REAL_TARGET):
    """Discriminator cross-entropy with one-sided label smoothing.

    Reals are pulled towards `real_target` (1.0 by default; 0.9 smooths the target and
    keeps the discriminator from becoming over-confident); fakes keep the hard target 0,
    since smoothing fakes would reward the generator's mistakes.
    """
    real_logits = tf.cast(real_logits, tf.float32)
    fake_logits = tf.cast(fake_logits, tf.float32)
    real_loss = tf.nn.sigmoid_cross_entropy_with_logits(
        labels=tf.fill(tf.shape(real_logits), tf.cast(real_target, tf.float32)),
        logits=real_logits)
    fake_loss = tf.nn.sigmoid_cross_entropy_with_logits(
        labels=tf.zeros_like(fake_logits), logits=fake_logits)
    return _mean(real_loss) + _mean(fake_loss)


def bce_g_loss(fake_logits):
    """Non-saturating generator loss, -log sigmoid(D(G(z))).

    It has strong gradients exactly when the discriminator rejects the fakes,
    unlike the minimax form log(1 - sigmoid(D(G(z)))).
    """
    return _mean(tf.nn.softplus(-tf.cast(fake_logits, tf.float32)))


def hinge_d_loss(real_logits, fake_logits):
    """Hinge loss: only scores inside the margin [-1, 1] produce gradients."""
    return (_mean(tf.nn.relu(1.0 - tf.cast(real_logits, tf.float32)))
            + _mean(tf.nn.relu(1.0 + tf.cast(fake_logits, tf.float32))))


def hinge_g_loss(fake_logits):
    """Generator side of the hinge loss: raise the critic's score of fakes."""
    return -_mean(fake_logits)


def wasserstein_d_loss(real_scores, fake_scores):
    """Critic loss; its negative is the Earth-Mover (Wasserstein-1) estimate."""
    return _mean(fake_scores) - _mean(real_scores)


def wasserstein_g_loss(fake_scores):
    """Generator loss of WGAN: raise the critic's score of fakes."""
    return -_mean(fake_scores)


def least_squares_d_loss(real_logits, fake_logits):
    """Least-squares critic loss of Mao et al. 2017 with labels 0 for fakes and 1 for reals
    (their a=0, b=1): 0.5 E[(D(x) - 1)^2] + 0.5 E[D(G(z))^2] on the raw scores.

    Unlike the cross-entropy it keeps penalising fakes that are scored on the right side of
    the boundary but far from the reals, so their gradients do not vanish.
    """
    return (0.5 * _mean(tf.square(tf.cast(real_logits, tf.float32) - 1.0))
            + 0.5 * _mean(tf.square(tf.cast(fake_logits, tf.float32))))


def least_squares_g_loss(fake_logits):
    """Generator side of the least-squares loss (c=1): 0.5 E[(D(G(z)) - 1)^2]."""
    return 0.5 * _mean(tf.square(tf.cast(fake_logits, tf.float32) - 1.0))


@dataclasses.dataclass(frozen=True)
class Loss:
    """A critic loss `d(real_logits, fake_logits, **options)` and its generator loss
    `g(fake_logits)`.

    `options` names the keyword arguments of `d` a model may set (the cross-entropy's
    `real_target`). `lipschitz` marks a loss that holds only for a (roughly) 1-Lipschitz
    critic, without which the critic loss has no minimum: models that keep the critic so
    train it (`gan.WGANClip`, `gan.WGANGP`), and their d_real - d_fake estimates the
    Earth-Mover distance.
    """

    d: Callable
    g: Callable
    options: tuple[str, ...] = ()
    lipschitz: bool = False


LOSSES = {
    "bce": Loss(bce_d_loss, bce_g_loss, options=("real_target",)),
    "hinge": Loss(hinge_d_loss, hinge_g_loss),
    "lsgan": Loss(least_squares_d_loss, least_squares_g_loss),
    "wasserstein": Loss(wasserstein_d_loss, wasserstein_g_loss, lipschitz=True),
}


def get(name, **options):
    """The pair `LOSSES[name]` with keyword `options` of its `d` set (None leaves an option
    at the function's default)."""
    if name not in LOSSES:
        raise InputError(f"unknown loss {name!r}; choose one of {sorted(LOSSES)}")
    loss = LOSSES[name]
    options = {option: value for option, value in options.items() if value is not None}
    for option in sorted(set(options) - set(loss.options)):
        takers = [other for other, pair in LOSSES.items() if option in pair.options]
        raise TypeError(f"loss {name!r} takes no {option!r}; {takers} do")
    return dataclasses.replace(loss, d=functools.partial(loss.d, **options)) if options else loss


def gradient_penalty(critic, real, fake, epsilon=1e-12, rng=None):
    """Two-sided penalty mean((||grad_x D(x_hat)|| - 1)^2) of Gulrajani et al.

    `x_hat` interpolates each real/fake pair with its own uniform weight. The
    norm is taken over all non-batch axes, in float32 whatever the critic's
    compute dtype; `epsilon` keeps the square root differentiable where the
    gradient vanishes. `rng`, a `tf.random.Generator`, makes the weights
    reproducible.

    The gradient of the summed scores is the per-sample gradient only when the
    critic treats samples independently (no BatchNorm, no minibatch
    statistics), which is why WGAN-GP critics avoid batch normalization.

    Returns (penalty, per-sample gradient norms).
    """
    real = tf.cast(real, tf.float32)
    fake = tf.cast(fake, tf.float32)
    weight_shape = tf.concat(
        [tf.shape(real)[:1], tf.ones([tf.rank(real) - 1], tf.int32)], axis=0)
    uniform = rng.uniform if rng is not None else tf.random.uniform
    alpha = uniform(weight_shape, dtype=tf.float32)
    interpolates = real + alpha * (fake - real)
    with tf.GradientTape() as tape:
        tape.watch(interpolates)
        scores = tf.cast(critic(interpolates, training=True), tf.float32)
    grads = tf.cast(tape.gradient(scores, interpolates), tf.float32)
    reduce_axes = tf.range(1, tf.rank(grads))
    norms = tf.sqrt(tf.reduce_sum(tf.square(grads), axis=reduce_axes) + epsilon)
    penalty = tf.reduce_mean(tf.square(norms - 1.0))
    return penalty, norms


def r1_penalty(critic, real):
    """Mescheder et al. 2018's R1: mean ||grad_x D(x)||^2 over the real images, in float32.

    It pulls the critic's gradient on the data towards zero, which keeps it from pushing
    the generator past the data. Like `gradient_penalty`, the gradient of the summed
    scores is the per-sample gradient only for a critic without batch statistics; with
    batch norm it is the gradient of the batch's summed score.
    """
    real = tf.cast(real, tf.float32)
    with tf.GradientTape() as tape:
        tape.watch(real)
        scores = tf.cast(critic(real, training=True), tf.float32)
    grads = tape.gradient(scores, real)
    return tf.reduce_mean(tf.reduce_sum(tf.square(grads), axis=tf.range(1, tf.rank(grads))))
