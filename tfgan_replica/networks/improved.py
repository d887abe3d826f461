"""Report A's improved MNIST DCGAN (its figure 3).

Biases follow the report's layer list: only the layers it marks "no bias" drop them.
"""

import keras
from keras import layers

from tfgan_replica.choices import DATASET_SHAPES
from tfgan_replica.networks.layers import batch_norm, images

IMAGE_SHAPE = DATASET_SHAPES["mnist"]


def generator(latent_dim=100):
    """An extra Dense(128) bottleneck with dropout, ReLU throughout, tanh output."""
    return keras.Sequential(
        [
            keras.Input((latent_dim,)),
            layers.Dense(128, use_bias=False),
            batch_norm(),
            layers.ReLU(),
            layers.Dropout(0.2),
            layers.Dense(7 * 7 * 256, use_bias=False),
            batch_norm(),
            layers.ReLU(),
            layers.Reshape((7, 7, 256)),
            layers.Conv2DTranspose(128, 5, strides=1, padding="same", use_bias=False),
            batch_norm(),
            layers.ReLU(),
            layers.Conv2DTranspose(64, 5, strides=2, padding="same"),
            batch_norm(),
            layers.ReLU(),
            layers.Conv2DTranspose(1, 5, strides=2, padding="same"),
            images("tanh"),
        ],
        name="dcgan_improved_generator",
    )


def discriminator(options, image_shape=IMAGE_SHAPE):
    """Conv 128 -> Conv 64 + BN, LeakyReLU(0.2), Dense(128, relu), logits (no sigmoid)."""
    w = options.weighted
    return keras.Sequential(
        [
            keras.Input(image_shape),
            w(layers.Conv2D(128, 5, strides=2, padding="same")),
            layers.LeakyReLU(0.2),
            w(layers.Conv2D(64, 5, strides=2, padding="same")),
            *options.normalization(),
            layers.LeakyReLU(0.2),
            *options.own_dropout(0.2),
            *options.stddev(),
            layers.Flatten(),
            w(layers.Dense(128, activation="relu")),
            *options.own_dropout(0.2),
            options.output(layers.Dense(1)),
            options.output_activation(),
        ],
        name="dcgan_improved_discriminator",
    )
