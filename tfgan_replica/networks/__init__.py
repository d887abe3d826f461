"""Keras Sequential builders for every network of both reports, registered by name.

    generator = networks.build_generator("dcgan_improved")
    critic = networks.build_discriminator("mlp", spectral_norm=True)

Generators map z (batch, latent_dim) to float32 images in [-1, 1]; discriminators
always return float32 logits (batch, 1), so one builder serves BCE, hinge and
Wasserstein critics (the losses apply any sigmoid).
"""

from tfgan_replica.errors import InputError
from tfgan_replica.networks import cnn, conv, improved, mlp, svhn, tutorial
from tfgan_replica.networks.layers import (AlwaysOnDropout, DiscriminatorOptions, MinibatchStddev,
                                           SpectralNorm)

GENERATORS = {
    "dcgan_tutorial": tutorial,
    "dcgan_improved": improved,
    "dcgan_svhn": svhn,
    "mlp": mlp,
    "cnn": cnn,
}
DISCRIMINATORS = {
    "dcgan_tutorial": tutorial,
    "dcgan_improved": improved,
    "dcgan_svhn": svhn,
    "mlp": mlp,
    "conv": conv,
}
# Discriminators without a spatial layout tied to their generator accept any image size.
ANY_SHAPE_DISCRIMINATORS = ("mlp", "conv")
# Discriminators with the `dropout` option: report B's template MLP, and its conv D (whether
# report B's had dropout is not known: the sn_conv study measures it).
DROPOUT_DISCRIMINATORS = ("mlp", "conv")
# Report A's critics, whose own batch norm and (training-only) dropout can be switched off.
BATCH_NORM_DISCRIMINATORS = ("dcgan_improved", "dcgan_svhn")
BUILTIN_DROPOUT_DISCRIMINATORS = ("dcgan_tutorial", "dcgan_improved", "dcgan_svhn")


def _lookup(registry, kind, name):
    if name not in registry:
        raise InputError(f"unknown {kind} {name!r}; choose one of {sorted(registry)}")
    return registry[name]


def image_shape(name):
    """The (height, width, channels) that generator `name` produces."""
    return _lookup(GENERATORS, "generator", name).IMAGE_SHAPE


def build_generator(name, latent_dim=100, image_shape=None):
    """Builds generator `name`; `image_shape`, if given, must be the one it produces."""
    module = _lookup(GENERATORS, "generator", name)
    if image_shape is not None and tuple(image_shape) != module.IMAGE_SHAPE:
        raise InputError(
            f"generator {name!r} produces {_describe(module.IMAGE_SHAPE)} images, not "
            f"{_describe(image_shape)}; pick a generator built for that dataset "
            f"(for example 'dcgan_svhn' for 32x32x3)"
        )
    return module.generator(latent_dim)


def check_discriminator_options(name, dropout=0.0, batch_norm=True, builtin_dropout=True):
    """Rejects options that discriminator `name` does not have (one home for presets too)."""
    if not 0.0 <= dropout < 1.0:
        raise InputError(f"dropout must be in [0, 1), got {dropout}")
    if dropout and name not in DROPOUT_DISCRIMINATORS:
        raise InputError(f"discriminator {name!r} has no dropout option; it belongs to "
                         f"{list(DROPOUT_DISCRIMINATORS)} (report B's discriminators); set "
                         "dropout=0")
    if not batch_norm and name not in BATCH_NORM_DISCRIMINATORS:
        raise InputError(f"discriminator {name!r} has no batch norm to switch off; "
                         f"{list(BATCH_NORM_DISCRIMINATORS)} have")
    if not builtin_dropout and name not in BUILTIN_DROPOUT_DISCRIMINATORS:
        raise InputError(f"discriminator {name!r} has no dropout layers of its own to switch "
                         f"off; {list(BUILTIN_DROPOUT_DISCRIMINATORS)} have")


def build_discriminator(name, image_shape=None, spectral_norm=False, minibatch_stddev=False,
                        dropout=0.0, spectral_norm_output=True, sigmoid_output=False,
                        batch_norm=True, builtin_dropout=True):
    """Builds discriminator `name` with optional spectral norm (on the output layer too,
    unless `spectral_norm_output=False`), minibatch stddev, the template's always-on
    dropout (report B's `mlp` and `conv` only) and a final sigmoid; `batch_norm` and
    `builtin_dropout` off remove the layers of those kinds that report A's critics have."""
    module = _lookup(DISCRIMINATORS, "discriminator", name)
    shape = tuple(image_shape) if image_shape is not None else module.IMAGE_SHAPE
    if shape != module.IMAGE_SHAPE and name not in ANY_SHAPE_DISCRIMINATORS:
        raise InputError(
            f"discriminator {name!r} takes {_describe(module.IMAGE_SHAPE)} images, not "
            f"{_describe(shape)}; pick one built for that dataset, or 'mlp'/'conv' "
            f"which take any size"
        )
    if len(shape) != 3 or (name == "conv" and (shape[0] % 4 or shape[1] % 4)):
        raise InputError(f"discriminator {name!r} cannot take images of shape {shape}")
    check_discriminator_options(name, dropout, batch_norm, builtin_dropout)
    options = DiscriminatorOptions(spectral_norm=spectral_norm, minibatch_stddev=minibatch_stddev,
                                   dropout=dropout, spectral_norm_output=spectral_norm_output,
                                   sigmoid_output=sigmoid_output, batch_norm=batch_norm,
                                   builtin_dropout=builtin_dropout)
    return module.discriminator(options, shape)


def _describe(shape):
    return "x".join(str(d) for d in shape)


__all__ = [
    "GENERATORS",
    "DISCRIMINATORS",
    "ANY_SHAPE_DISCRIMINATORS",
    "DROPOUT_DISCRIMINATORS",
    "BATCH_NORM_DISCRIMINATORS",
    "BUILTIN_DROPOUT_DISCRIMINATORS",
    "AlwaysOnDropout",
    "MinibatchStddev",
    "SpectralNorm",
    "build_generator",
    "build_discriminator",
    "check_discriminator_options",
    "image_shape",
]
