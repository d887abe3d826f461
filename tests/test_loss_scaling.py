"""Dynamic loss scaling: which optimizers scale, by how much, and the gradient norm it hides."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfgan_replica import gan, loss_scaling

LATENT = 4


@pytest.fixture(autouse=True)
def float32_afterwards():
    yield
    keras.mixed_precision.set_global_policy("float32")


def gradients_of(loss_fn, variable):
    with tf.GradientTape() as tape:
        loss = loss_fn()
    return tape.gradient(loss, [variable])


@pytest.mark.parametrize("policy", ["float32", "mixed_bfloat16"])
def test_without_float16_the_loss_is_not_scaled(policy):
    keras.mixed_precision.set_global_policy(policy)
    optimizer = keras.optimizers.SGD(0.1)
    assert loss_scaling.with_loss_scaling(optimizer) is optimizer
    assert not loss_scaling.scales_loss(optimizer)
    assert float(loss_scaling.loss_scale(optimizer)) == 1.0
    assert float(loss_scaling.scaled_loss(tf.constant(2.5), optimizer)) == 2.5


def test_float16_wraps_once_and_scales_by_the_dynamic_scale():
    keras.mixed_precision.set_global_policy("mixed_float16")
    wrapped = loss_scaling.with_loss_scaling(keras.optimizers.SGD(0.1))
    wrapped.build([tf.Variable(0.0)])  # creates the scale
    assert isinstance(wrapped, keras.optimizers.LossScaleOptimizer)
    assert loss_scaling.scales_loss(wrapped)
    assert loss_scaling.with_loss_scaling(wrapped) is wrapped
    scale = float(wrapped.dynamic_scale)
    assert scale == wrapped.initial_scale == 2.0**15
    assert float(loss_scaling.loss_scale(wrapped)) == scale
    assert float(loss_scaling.scaled_loss(tf.constant(2.5), wrapped)) == 2.5 * scale


@pytest.mark.parametrize("scaled", [False, True])
def test_gradient_norm_is_that_of_the_unscaled_loss(scaled):
    optimizer = keras.optimizers.SGD(0.1)
    if scaled:
        optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
    weights = tf.Variable([1.0, 1.0])
    optimizer.build([weights])
    grads = gradients_of(  # d/dw of 3 w0 + 4 w1: (3, 4), norm 5
        lambda: loss_scaling.scaled_loss(3.0 * weights[0] + 4.0 * weights[1], optimizer),
        weights)
    assert float(tf.linalg.global_norm(grads)) == pytest.approx(5.0 * (2.0**15 if scaled else 1))
    assert float(loss_scaling.gradient_norm(grads + [None], optimizer)) == pytest.approx(5.0)


def tiny_gan():
    keras.utils.set_random_seed(0)
    generator = keras.Sequential([keras.Input((LATENT,)), keras.layers.Dense(8),
                                  keras.layers.Activation("tanh", dtype="float32")])
    discriminator = keras.Sequential([keras.Input((8,)), keras.layers.Dense(1),
                                      keras.layers.Activation("linear", dtype="float32")])
    model = gan.GAN(generator, discriminator, latent_dim=LATENT, noise_seed=0)
    model.compile(keras.optimizers.SGD(0.1), keras.optimizers.SGD(0.1))
    return model


def one_step_logs(policy):
    keras.mixed_precision.set_global_policy(policy)
    model = tiny_gan()
    images = np.random.default_rng(0).normal(size=(8, 8)).astype(np.float32)
    logs = model.fit(images, batch_size=8, epochs=1, verbose=0).history
    return model, {name: values[-1] for name, values in logs.items()}


def test_a_float16_gan_scales_its_losses_and_records_unscaled_gradient_norms():
    plain, plain_logs = one_step_logs("float32")
    scaled, scaled_logs = one_step_logs("mixed_float16")
    assert not plain.loss_scaled and "loss_scale" not in plain_logs
    assert scaled.loss_scaled
    assert scaled_logs["loss_scale"] == scaled_logs["g_loss_scale"] == 2.0**15
    for name in ("d_grad_norm", "g_grad_norm"):  # float16 arithmetic: close, not equal
        assert scaled_logs[name] == pytest.approx(plain_logs[name], rel=1e-3)
