"""A small convolutional discriminator for report B's "DCGAN with hinge loss" row.

Report B pairs its fixed MLP generator with a DCGAN-style critic: two strided
4x4 convolutions with LeakyReLU(0.2) and no batch norm (spectral norm is meant
to be the regularizer), then a linear output, with PyTorch's default
initialization like the rest of report B (see `torch_init`). The `dropout` option
puts the template's always-on dropout after each activation, as the MLP D and the
TensorFlow DCGAN tutorial's D have it; report B does not say whether its conv D did.
"""

import keras
from keras import layers

from tfgan_replica.choices import DATASET_SHAPES
from tfgan_replica.networks.layers import torch_init

IMAGE_SHAPE = DATASET_SHAPES["mnist"]


def discriminator(options, image_shape=IMAGE_SHAPE):
    """Conv(64, 4, s2) -> Conv(128, 4, s2), LeakyReLU(0.2) (each then `options.dropout`),
    Flatten, logits."""
    w = options.weighted
    flat_features = (image_shape[0] // 4) * (image_shape[1] // 4) * (128 + options.minibatch_stddev)
    return keras.Sequential(
        [
            keras.Input(image_shape),
            w(layers.Conv2D(64, 4, strides=2, padding="same", **torch_init(16 * image_shape[-1]))),
            layers.LeakyReLU(0.2),
            *options.hidden_dropout(),
            w(layers.Conv2D(128, 4, strides=2, padding="same", **torch_init(16 * 64))),
            layers.LeakyReLU(0.2),
            *options.hidden_dropout(),
            *options.stddev(),
            layers.Flatten(),
            options.output(layers.Dense(1, **torch_init(flat_features))),
            options.output_activation(),
        ],
        name="conv_discriminator",
    )
