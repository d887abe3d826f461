"""Replicate two GAN reports on MNIST and SVHN in TensorFlow/Keras."""

__version__ = "0.1.0"
