"""The FID Inception network (inception-2015-12-05, pool_3) in Keras.

It is `keras.applications.InceptionV3` with one change that matters for FID: the
pooling branch of the last mixed block (mixed10) is a 3x3 stride-1 max pool, as in
the original TensorFlow graph, not an average pool. Weights come from the TorchScript
file (see `weights.py`); the converted Keras weights are cached keyed by its sha1.
"""

import contextlib
import warnings

import keras
import numpy as np

from tfgan_replica.errors import InputError
from tfgan_replica.metrics import cache, torchscript, weights

FEATURE_DIM = 2048
INPUT_SIZE = 299
NUM_PARAMS = 21_802_784
BN_EPSILON = 1e-3


@contextlib.contextmanager
def float32_policy():
    """Builds layers in float32 whatever the global mixed-precision policy; restores it."""
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("float32")
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def _is_mixed10_pool(layer, mixed9_output):
    return isinstance(layer, keras.layers.AveragePooling2D) and layer.input is mixed9_output


def build_inception(mixed10_pool="max"):
    """Builds the untrained network: 299x299x3 in [-1, 1] -> 2048-d pool_3 features.

    `mixed10_pool="avg"` gives the stock Keras graph, useful only to show the difference.
    """
    if mixed10_pool not in ("max", "avg"):
        raise InputError(f"mixed10_pool must be 'max' or 'avg', got {mixed10_pool!r}")
    with float32_policy():
        stock = keras.applications.InceptionV3(
            weights=None, include_top=False, pooling="avg", input_shape=(INPUT_SIZE, INPUT_SIZE, 3)
        )
        if mixed10_pool == "avg":
            return stock
        mixed9_output = stock.get_layer("mixed9").output

        def replace_pool(layer):
            if _is_mixed10_pool(layer, mixed9_output):
                return keras.layers.MaxPooling2D(
                    pool_size=3, strides=1, padding="same", name="mixed10_branch_max_pool"
                )
            return layer.__class__.from_config(layer.get_config())

        model = keras.models.clone_model(stock, clone_function=replace_pool)
    replaced = [layer for layer in model.layers if layer.name == "mixed10_branch_max_pool"]
    if len(replaced) != 1:
        raise RuntimeError("could not find the mixed10 pooling branch in keras InceptionV3")
    return model


def _creation_index(layer):
    """Keras numbers auto-named layers in creation order: conv2d, conv2d_1, conv2d_2, ..."""
    _, _, suffix = layer.name.rpartition("_")
    return int(suffix) if suffix.isdigit() else -1


def _conv_bn_pairs(model):
    """The model's (Conv2D, BatchNormalization) pairs in the order keras created them.

    `model.layers` is a topological order, which interleaves branches differently.
    """
    def created(kind):
        return sorted((l for l in model.layers if isinstance(l, kind)), key=_creation_index)

    return list(zip(created(keras.layers.Conv2D), created(keras.layers.BatchNormalization), strict=True))


def assign_torchscript_weights(model, weights_path):
    """Copies the conv and batch-norm tensors of the TorchScript file onto `model`.

    The file stores each conv as OIHW `weight` plus batch-norm `beta`, `mean`, `var`
    (no gamma, epsilon 1e-3), in the same order keras creates its conv/BN pairs.
    """
    tree = torchscript.load_module_tree(weights_path)
    records = [
        record for _, record in torchscript.named_modules(tree)
        if isinstance(record.attributes.get("weight"), np.ndarray)
    ]
    pairs = _conv_bn_pairs(model)
    if len(records) != len(pairs):
        raise InputError(f"{weights_path} has {len(records)} conv layers, the network {len(pairs)}")
    for record, (conv, norm) in zip(records, pairs):
        kernel = np.transpose(record.attributes["weight"], (2, 3, 1, 0))
        if tuple(conv.kernel.shape) != kernel.shape:
            raise InputError(f"{conv.name}: kernel {tuple(conv.kernel.shape)} != file {kernel.shape}")
        if norm.scale or norm.epsilon != BN_EPSILON:
            raise InputError(f"{norm.name} must have no gamma and epsilon {BN_EPSILON}")
        conv.kernel.assign(kernel)
        norm.beta.assign(record.attributes["beta"])
        norm.moving_mean.assign(record.attributes["mean"])
        norm.moving_variance.assign(record.attributes["var"])
    if model.count_params() != NUM_PARAMS:
        raise InputError(f"network has {model.count_params()} parameters, expected {NUM_PARAMS}")


def load_fid_inception(inception_weights=None):
    """Returns the FID Inception model with its weights loaded, and the weights sha1.

    `inception_weights` is a path to the TorchScript file; None uses the cached copy or
    fetches it with pip. The converted weights are cached as `.weights.h5` keyed by sha1.
    """
    weights_path = weights.resolve_weights(inception_weights)
    sha1 = weights.WEIGHTS_SHA1
    model = build_inception()
    converted = cache.cache_dir() / f"fid_inception_{sha1}.weights.h5"
    if converted.exists():
        model.load_weights(converted)
    else:
        assign_torchscript_weights(model, weights_path)
        with cache.atomic_path(converted) as tmp, warnings.catch_warnings():
            # Keras' h5 writer converts variables with a numpy-1 idiom; harmless here.
            warnings.filterwarnings("ignore", "__array__ implementation", DeprecationWarning)
            model.save_weights(tmp)
    model.trainable = False
    return model, sha1
