"""The generator's exponential moving average: its copy, its update rule, its decay range."""

import re

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfgan_replica import ema

LATENT = 2


def generator(batch_norm=False):
    """Latent -> 3 features, optionally batch-normalized, with weights set by the tests."""
    layers = [keras.Input((LATENT,)), keras.layers.Dense(3, use_bias=False)]
    if batch_norm:
        layers.append(keras.layers.BatchNormalization(momentum=0.5))
    return keras.Sequential(layers)


def test_the_copy_starts_equal_and_only_its_batch_norms_are_trainable():
    live = generator(batch_norm=True)
    average = ema.averaged_copy(live)
    assert average is not live
    assert not any(copied is original for copied, original in zip(average.weights, live.weights))
    for copied, original in zip(average.get_weights(), live.get_weights()):
        np.testing.assert_array_equal(copied, original)
    assert not average.trainable_weights  # no optimizer may reach it
    assert average.layers[1].trainable  # so that a training call updates its statistics
    assert live.trainable and live.layers[1].trainable


def test_one_update_is_the_decayed_average_of_the_weights():
    live = generator()
    average = ema.averaged_copy(live)
    average.set_weights([np.full((LATENT, 3), 1.0, np.float32)])
    live.set_weights([np.full((LATENT, 3), 3.0, np.float32)])
    ema.update(average, live, 0.75, tf.zeros((4, LATENT)))
    expected = 0.75 * 1.0 + 0.25 * 3.0  # 1.5, exact in float32
    np.testing.assert_array_equal(average.get_weights()[0], np.full((LATENT, 3), expected))
    np.testing.assert_array_equal(live.get_weights()[0], np.full((LATENT, 3), 3.0))


def test_batch_norm_statistics_come_from_the_noise_not_from_the_generator():
    live = generator(batch_norm=True)
    average = ema.averaged_copy(live)
    average.layers[0].kernel.assign(np.ones((LATENT, 3), np.float32))
    live.layers[0].kernel.assign(np.full((LATENT, 3), 3.0, np.float32))
    live.layers[1].moving_mean.assign([100.0, 100.0, 100.0])  # would leak in if copied or averaged
    live.layers[1].moving_variance.assign([50.0, 50.0, 50.0])
    noise = tf.constant([[1.0, 0.0], [0.0, 1.0], [2.0, 2.0], [-1.0, 0.0]])
    ema.update(average, live, 0.75, noise)
    # Kernel 1.5 everywhere: each feature is 1.5 * (row sum) = [1.5, 1.5, 6, -1.5].
    features = 1.5 * noise.numpy().sum(axis=1)
    batch_norm = average.layers[1]  # momentum 0.5, from the initial mean 0 and variance 1
    np.testing.assert_allclose(batch_norm.moving_mean.numpy(), [0.5 * features.mean()] * 3,
                               rtol=1e-6)
    np.testing.assert_allclose(batch_norm.moving_variance.numpy(),
                               [0.5 + 0.5 * features.var()] * 3, rtol=1e-6)


def test_update_runs_in_a_traced_step():
    live = generator(batch_norm=True)
    average = ema.averaged_copy(live)
    average.layers[0].kernel.assign(np.ones((LATENT, 3), np.float32))
    live.layers[0].kernel.assign(np.full((LATENT, 3), 3.0, np.float32))
    tf.function(lambda noise: ema.update(average, live, 0.5, noise))(tf.ones((4, LATENT)))
    np.testing.assert_array_equal(average.layers[0].kernel.numpy(), np.full((LATENT, 3), 2.0))
    # Every feature is 2 + 2 = 4: batch mean 4, batch variance 0.
    np.testing.assert_allclose(average.layers[1].moving_mean.numpy(), [2.0] * 3, rtol=1e-6)
    np.testing.assert_allclose(average.layers[1].moving_variance.numpy(), [0.5] * 3, rtol=1e-6)


@pytest.mark.parametrize("decay", [0.0, 1.0, -0.1, 1.5])
def test_check_decay_rejects_values_outside_the_open_unit_interval(decay):
    with pytest.raises(ValueError, match=re.escape(f"ema_decay must be in (0, 1), got {decay}")):
        ema.check_decay(decay)


@pytest.mark.parametrize("decay", [1e-6, 0.5, 0.999])
def test_check_decay_accepts_values_inside_it(decay):
    ema.check_decay(decay)
