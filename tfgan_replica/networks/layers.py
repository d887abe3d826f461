"""Layers and helpers shared by the discriminator builders."""

import math

import keras
from keras import layers, ops


@keras.saving.register_keras_serializable(package="tfgan_replica")
class MinibatchStddev(layers.Layer):
    """Appends the batch's average feature standard deviation (Karras et al. 2017).

    The standard deviation over the batch is taken per feature and position,
    averaged to one scalar and appended as a constant feature map (4-D input) or
    feature (2-D input). A collapsed generator produces a small value, which the
    discriminator can learn to penalise. Computed in float32 for stability.
    """

    def __init__(self, epsilon=1e-8, **kwargs):
        super().__init__(**kwargs)
        self.epsilon = epsilon

    def call(self, inputs):
        x = ops.cast(inputs, "float32")
        variance = ops.mean(ops.square(x - ops.mean(x, axis=0, keepdims=True)), axis=0)
        stddev = ops.mean(ops.sqrt(variance + self.epsilon))
        feature = ops.ones_like(inputs[..., :1]) * ops.cast(stddev, inputs.dtype)
        return ops.concatenate([inputs, feature], axis=-1)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], input_shape[-1] + 1)

    def get_config(self):
        return {**super().get_config(), "epsilon": self.epsilon}


class DiscriminatorOptions:
    """Applies the discriminator options uniformly to every builder's layers."""

    def __init__(self, spectral_norm=False, minibatch_stddev=False):
        self.spectral_norm = spectral_norm
        self.minibatch_stddev = minibatch_stddev

    def weighted(self, layer):
        """Wraps a Dense/Conv layer in spectral normalization when asked."""
        return layers.SpectralNormalization(layer) if self.spectral_norm else layer

    def stddev(self):
        """The minibatch-stddev layer, or nothing, placed before the last layers."""
        return [MinibatchStddev()] if self.minibatch_stddev else []


def logits():
    """Final identity layer that keeps the logits in float32 under mixed precision."""
    return layers.Activation("linear", dtype="float32", name="logits")


def images(activation="tanh"):
    """Final generator activation, in float32 whatever the global policy."""
    return layers.Activation(activation, dtype="float32", name="images")


def torch_init(fan_in):
    """PyTorch's default Linear/Conv2d initialization, U(+-1/sqrt(fan_in)) for kernel and bias.

    Report B's networks were PyTorch modules, so its numbers come from this
    initialization, not from Keras' Glorot-uniform kernels and zero biases; a
    GAN's early dynamics (and whether it collapses) depend on it.
    """
    bound = 1.0 / math.sqrt(fan_in)
    return {
        "kernel_initializer": keras.initializers.VarianceScaling(1.0 / 3.0, "fan_in", "uniform"),
        "bias_initializer": keras.initializers.RandomUniform(-bound, bound),
    }
