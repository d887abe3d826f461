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


@keras.saving.register_keras_serializable(package="tfgan_replica")
class SpectralNorm(layers.Wrapper):
    """Dense or Conv2D whose kernel is used as W / sigma(W) (Miyato et al. 2018).

    sigma comes from one power iteration per training call; the vectors are not
    differentiated but sigma is, and the raw W stays the trained variable. That is
    the paper's and `torch.nn.utils.spectral_norm`'s definition (report B was
    PyTorch). `keras.layers.SpectralNormalization` instead overwrites W with
    W / sigma after each call, with no gradient through sigma: a different
    optimization problem. Inference reuses the stored vectors without updating them.
    """

    def __init__(self, layer, epsilon=1e-12, **kwargs):
        if not isinstance(layer, (layers.Dense, layers.Conv2D)):
            raise TypeError("SpectralNorm wraps Dense or Conv2D layers, "
                            f"not {type(layer).__name__}")
        super().__init__(layer, **kwargs)
        self.epsilon = epsilon

    def build(self, input_shape):
        self.layer.build(input_shape)
        units = self.layer.kernel.shape[-1]
        self.vector_u = self.add_weight(shape=(units,), name="vector_u", trainable=False,
                                        initializer=keras.initializers.RandomNormal(seed=0))
        self.vector_v = self.add_weight(shape=(math.prod(self.layer.kernel.shape[:-1]),),
                                        name="vector_v", trainable=False, initializer="zeros")
        self.vector_u.assign(self._normalize(self.vector_u))
        self.vector_v.assign(self._normalize(ops.matmul(self._matrix(), self.vector_u)))
        self.built = True

    def _matrix(self):
        """The kernel as a (fan_in, units) matrix: the transpose of PyTorch's weight."""
        kernel = ops.cast(self.layer.kernel, "float32")
        return ops.reshape(kernel, (-1, kernel.shape[-1]))

    def _normalize(self, vector):
        return vector / ops.maximum(ops.norm(vector), self.epsilon)

    def sigma(self, training=False):
        """sigma(W) = v^T W u, after one power-iteration step when training.

        Differentiable in W only, as in PyTorch: u and v are constants of the step. Its
        second matvec, v^T W, is both the step's new u (normalized) and, dotted with
        that u, sigma itself: two passes over W a call, not three.
        """
        with keras.name_scope("sigma"):  # its ops' own scope, for profiles
            matrix = self._matrix()
            if not training:
                return ops.sum(self.vector_v * ops.matmul(matrix, self.vector_u))
            v = ops.stop_gradient(self._normalize(ops.matmul(matrix, self.vector_u)))
            v_matrix = ops.matmul(v, matrix)
            u = ops.stop_gradient(self._normalize(v_matrix))
            self.vector_v.assign(v)
            self.vector_u.assign(u)
            return ops.sum(v_matrix * u)

    def normalized_kernel(self, training=False):
        """W / sigma(W): the kernel the layer applies."""
        return ops.cast(self.layer.kernel, "float32") / self.sigma(training)

    def call(self, inputs, training=False):
        # (x W) / sigma equals x (W / sigma) and divides a batch of outputs instead of
        # the whole kernel, forward and backward: on the MLP D at batch 64, 12x fewer
        # elements.
        kernel = ops.cast(self.layer.kernel, inputs.dtype)
        layer = self.layer
        if isinstance(layer, layers.Conv2D):
            outputs = ops.conv(inputs, kernel, strides=layer.strides, padding=layer.padding,
                               data_format=layer.data_format, dilation_rate=layer.dilation_rate)
        else:
            outputs = ops.matmul(inputs, kernel)
        outputs = outputs / ops.cast(self.sigma(training), inputs.dtype)
        if layer.use_bias:
            outputs = outputs + ops.cast(layer.bias, inputs.dtype)  # channels-last
        return layer.activation(outputs)

    def compute_output_shape(self, input_shape):
        return self.layer.compute_output_shape(input_shape)

    def get_config(self):
        return {**super().get_config(), "epsilon": self.epsilon}


@keras.saving.register_keras_serializable(package="tfgan_replica")
class AlwaysOnDropout(layers.Dropout):
    """Dropout that is active on every call, whatever the `training` flag.

    Report B's template applied PyTorch's functional `F.dropout(x, 0.3)`, whose
    `training` argument defaults to True: the discriminator dropped units whenever it
    was called, in training and in evaluation alike, not only under `model.train()`.
    Its numbers come from that discriminator, so this layer keeps the semantics.
    """

    def call(self, inputs, training=None):
        return super().call(inputs, training=True)


class DiscriminatorOptions:
    """Applies the discriminator options uniformly to every builder's layers."""

    def __init__(self, spectral_norm=False, minibatch_stddev=False, dropout=0.0,
                 spectral_norm_output=True, sigmoid_output=False, batch_norm=True,
                 builtin_dropout=True):
        self.batch_norm = batch_norm
        self.builtin_dropout = builtin_dropout
        self.spectral_norm = spectral_norm
        self.spectral_norm_output = spectral_norm_output
        self.sigmoid_output = sigmoid_output
        self.minibatch_stddev = minibatch_stddev
        self.dropout = dropout

    def weighted(self, layer):
        """Wraps a Dense/Conv layer in spectral normalization when asked."""
        return SpectralNorm(layer) if self.spectral_norm else layer

    def output(self, layer):
        """The final (logit) layer: spectrally normalized too, unless `spectral_norm_output`
        is off (some implementations leave the last layer free)."""
        return self.weighted(layer) if self.spectral_norm_output else layer

    def output_activation(self):
        """Float32 logits, or with `sigmoid_output` float32 probabilities: report B's template
        D ended in a sigmoid, which a hinge or Wasserstein loss then acts on."""
        if self.sigmoid_output:
            return layers.Activation("sigmoid", dtype="float32", name="probability")
        return logits()

    def hidden_dropout(self):
        """The template's always-on dropout after a hidden activation, or nothing."""
        return [AlwaysOnDropout(self.dropout)] if self.dropout else []

    def normalization(self):
        """A builder's own batch norm (report A's critics), or nothing with `batch_norm` off."""
        return [batch_norm()] if self.batch_norm else []

    def own_dropout(self, rate):
        """A builder's own training-only dropout (report A's critics), or nothing with
        `builtin_dropout` off."""
        return [layers.Dropout(rate)] if self.builtin_dropout else []

    def stddev(self):
        """The minibatch-stddev layer, or nothing, placed before the last layers."""
        return [MinibatchStddev()] if self.minibatch_stddev else []


def batch_norm(**kwargs):
    """BatchNormalization whose statistics cover the global batch when the current strategy
    has several replicas (as one device would compute them); a plain one otherwise, so a
    single device keeps the usual two-pass moments. Build inside the strategy's scope."""
    import tensorflow as tf

    synchronized = tf.distribute.get_strategy().num_replicas_in_sync > 1
    return layers.BatchNormalization(synchronized=synchronized, **kwargs)


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
