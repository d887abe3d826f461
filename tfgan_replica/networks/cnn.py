"""A lightweight convolutional generator for report B's "illegal CNN upgrade".

Report B's last experiment swaps in a small CNN generator and discriminator ("stride
convs, spectral norm") to test whether DiffAugment works with convolutions; it gives no
layer list. Ours mirrors the conv D it pairs with (`conv`, spectral norm in D only):
the same 4x4 kernels with stride 2, run backwards from 7x7 (Dense -> 7x7x128 -> 14x14x64
-> 28x28x1, tanh), with PyTorch's default initialization like the rest of report B.
Batch norm after the Dense and the first transposed convolution is our choice, as in
every DCGAN generator; the generator has no spectral norm.
"""

import keras
from keras import layers

from tfgan_replica.choices import DATASET_SHAPES
from tfgan_replica.networks.layers import batch_norm, images, torch_init

IMAGE_SHAPE = DATASET_SHAPES["mnist"]


def generator(latent_dim=100):
    """Dense(7*7*128) + BN + ReLU -> ConvT(64, 4, s2) + BN + ReLU -> ConvT(1, 4, s2), tanh.

    A transposed convolution's PyTorch fan-in is out_channels * 16 (its weight is laid
    out (in, out, k, k)), which is also what Keras' fan-in of the kernel counts.
    """
    return keras.Sequential(
        [
            keras.Input((latent_dim,)),
            layers.Dense(7 * 7 * 128, **torch_init(latent_dim)),
            layers.Reshape((7, 7, 128)),
            batch_norm(),
            layers.ReLU(),
            layers.Conv2DTranspose(64, 4, strides=2, padding="same", **torch_init(16 * 64)),
            batch_norm(),
            layers.ReLU(),
            layers.Conv2DTranspose(1, 4, strides=2, padding="same", **torch_init(16 * 1)),
            images("tanh"),
        ],
        name="cnn_generator",
    )
