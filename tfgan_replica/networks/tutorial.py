"""The TensorFlow DCGAN tutorial networks: report A's starting point (MNIST)."""

import keras
from keras import layers

from tfgan_replica.choices import DATASET_SHAPES
from tfgan_replica.networks.layers import batch_norm, images

IMAGE_SHAPE = DATASET_SHAPES["mnist"]


def generator(latent_dim=100):
    """Dense(7*7*256) -> 7x7 -> 14x14 -> 28x28, BN and LeakyReLU(0.3), no biases."""
    return keras.Sequential(
        [
            keras.Input((latent_dim,)),
            layers.Dense(7 * 7 * 256, use_bias=False),
            batch_norm(),
            layers.LeakyReLU(0.3),
            layers.Reshape((7, 7, 256)),
            layers.Conv2DTranspose(128, 5, strides=1, padding="same", use_bias=False),
            batch_norm(),
            layers.LeakyReLU(0.3),
            layers.Conv2DTranspose(64, 5, strides=2, padding="same", use_bias=False),
            batch_norm(),
            layers.LeakyReLU(0.3),
            layers.Conv2DTranspose(1, 5, strides=2, padding="same", use_bias=False),
            images("tanh"),
        ],
        name="dcgan_tutorial_generator",
    )


def discriminator(options, image_shape=IMAGE_SHAPE):
    """Two strided 5x5 convolutions with LeakyReLU(0.3) and Dropout(0.3), then logits."""
    w = options.weighted
    return keras.Sequential(
        [
            keras.Input(image_shape),
            w(layers.Conv2D(64, 5, strides=2, padding="same")),
            layers.LeakyReLU(0.3),
            *options.own_dropout(0.3),
            w(layers.Conv2D(128, 5, strides=2, padding="same")),
            layers.LeakyReLU(0.3),
            *options.own_dropout(0.3),
            *options.stddev(),
            layers.Flatten(),
            options.output(layers.Dense(1)),
            options.output_activation(),
        ],
        name="dcgan_tutorial_discriminator",
    )
