"""Report B's fixed MLP generator and its MLP discriminator (MNIST).

Both keep PyTorch's default initialization, as in the report (see `torch_init`).
"""

import math

import keras
from keras import layers

from tfgan_replica.choices import DATASET_SHAPES
from tfgan_replica.networks.layers import images, torch_init

IMAGE_SHAPE = DATASET_SHAPES["mnist"]


def generator(latent_dim=100):
    """z -> 256 -> 512 -> 1024 (LeakyReLU 0.2) -> 784 tanh -> 28x28x1. Fixed by report B."""
    return keras.Sequential(
        [
            keras.Input((latent_dim,)),
            layers.Dense(256, **torch_init(latent_dim)),
            layers.LeakyReLU(0.2),
            layers.Dense(512, **torch_init(256)),
            layers.LeakyReLU(0.2),
            layers.Dense(1024, **torch_init(512)),
            layers.LeakyReLU(0.2),
            layers.Dense(math.prod(IMAGE_SHAPE), **torch_init(1024)),
            layers.Reshape(IMAGE_SHAPE),
            images("tanh"),  # last, so that the output stays float32 under mixed precision
        ],
        name="mlp_generator",
    )


def discriminator(options, image_shape=IMAGE_SHAPE):
    """Flatten -> 1024 -> 512 -> 256 (LeakyReLU 0.2, each then `options.dropout`) -> logits.

    Works on any image size. Report B's template drops 30% of each hidden layer's units.
    """
    w = options.weighted
    return keras.Sequential(
        [
            keras.Input(image_shape),
            layers.Flatten(),
            w(layers.Dense(1024, **torch_init(math.prod(image_shape)))),
            layers.LeakyReLU(0.2),
            *options.hidden_dropout(),
            w(layers.Dense(512, **torch_init(1024))),
            layers.LeakyReLU(0.2),
            *options.hidden_dropout(),
            w(layers.Dense(256, **torch_init(512))),
            layers.LeakyReLU(0.2),
            *options.hidden_dropout(),
            *options.stddev(),
            options.output(layers.Dense(1, **torch_init(256 + options.minibatch_stddev))),
            options.output_activation(),
        ],
        name="mlp_discriminator",
    )
