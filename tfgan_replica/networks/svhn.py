"""Report A's SVHN DCGAN (its figure 4) for 32x32x3 images.

Biases follow the report's layer list: only the layers it marks "no bias" drop them.
"""

import keras
from keras import layers

from tfgan_replica.choices import DATASET_SHAPES
from tfgan_replica.networks.layers import batch_norm, images

IMAGE_SHAPE = DATASET_SHAPES["svhn"]


def generator(latent_dim=100):
    """Dense(4*4*512) -> 8x8 -> 16x16 -> 32x32x3 with BN, LeakyReLU(0.2), tanh."""
    return keras.Sequential(
        [
            keras.Input((latent_dim,)),
            layers.Dense(4 * 4 * 512),
            layers.Reshape((4, 4, 512)),
            batch_norm(),
            layers.LeakyReLU(0.2),
            layers.Dropout(0.2),
            layers.Conv2DTranspose(256, 5, strides=2, padding="same", use_bias=False),
            batch_norm(),
            layers.LeakyReLU(0.2),
            layers.Conv2DTranspose(128, 5, strides=2, padding="same"),
            batch_norm(),
            layers.LeakyReLU(0.2),
            layers.Conv2DTranspose(3, 5, strides=2, padding="same"),
            images("tanh"),
        ],
        name="dcgan_svhn_generator",
    )


def discriminator(options, image_shape=IMAGE_SHAPE):
    """Three strided 5x5 convolutions (64, 128, 256), BN on the last two, logits."""
    w = options.weighted
    return keras.Sequential(
        [
            keras.Input(image_shape),
            w(layers.Conv2D(64, 5, strides=2, padding="same")),
            layers.LeakyReLU(0.2),
            *options.own_dropout(0.2),
            w(layers.Conv2D(128, 5, strides=2, padding="same")),
            *options.normalization(),
            layers.LeakyReLU(0.2),
            *options.own_dropout(0.2),
            w(layers.Conv2D(256, 5, strides=2, padding="same")),
            *options.normalization(),
            layers.LeakyReLU(0.2),
            *options.stddev(),
            layers.Flatten(),
            options.output(layers.Dense(1)),
            options.output_activation(),
        ],
        name="dcgan_svhn_discriminator",
    )
