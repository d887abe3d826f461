"""Exponential moving average (EMA) of the generator's weights.

Samples from an average of the generator's recent weights are steadier than
samples from its latest weights (Yazici et al. 2019). The average lives in a
clone of the generator, a Keras model of its own, so that checkpoints, export
and sampling treat it like the generator itself.

Its batch-norm statistics are not averaged: the live generator's statistics
belong to the live weights. Each update re-estimates them by running the
average on the step's noise.
"""

import keras

from tfgan_replica.errors import InputError
from tfgan_replica.replicas import assign_each


def check_decay(decay):
    """Reject a decay outside (0, 1): 0 would copy the generator, 1 would never move."""
    if not 0.0 < decay < 1.0:
        raise InputError(f"ema_decay must be in (0, 1), got {decay}")


def _batch_norms(model):
    return [layer for layer in model.layers
            if isinstance(layer, keras.layers.BatchNormalization)]


def averaged_copy(generator):
    """A copy of `generator` to hold its moving average, equal to it at first.

    No optimizer may reach the copy's weights, but its batch-norm layers stay
    trainable: only a trainable batch norm updates its statistics when called
    with `training=True`.
    """
    average = keras.models.clone_model(generator)
    average.set_weights(generator.get_weights())
    average.trainable = False
    for layer in _batch_norms(average):
        layer.trainable = True
    return average


def update(average, generator, decay, noise):
    """average <- decay * average + (1 - decay) * generator for the trained weights,
    then the average's batch-norm statistics from a call on `noise`."""
    pairs = [(mean, weight) for mean, weight in zip(average.weights, generator.weights)
             if weight.trainable]
    assign_each([mean for mean, _ in pairs],
                lambda mean, weight: decay * mean + (1.0 - decay) * weight,
                [weight for _, weight in pairs])
    if _batch_norms(average):
        average(noise, training=True)
