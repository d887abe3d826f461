"""The Keras FID Inception equals an independent float64 NumPy evaluation of the file.

The NumPy graph below follows the published inception-v3 block structure (mixed0..mixed10)
and names tensors as the TorchScript file does; it shares no code with the Keras topology.
"""

import os
import pickle
import shutil
import zipfile

import numpy as np
import pytest

from tfgan_replica.metrics import inception, torchscript, weights

# ----------------------------------------------------------------- NumPy reference graph


def _conv_bn_relu(x, tensors, name, stride=1, padding="same"):
    """Conv (OIHW weights, no bias) + batch norm (no gamma, eps 1e-3) + ReLU, via im2col."""
    w = tensors[f"{name}.weight"].astype(np.float64)
    out_ch, in_ch, kh, kw = w.shape
    if padding == "same":
        x = np.pad(x, ((0, 0), (kh // 2, kh // 2), (kw // 2, kw // 2), (0, 0)))
    windows = np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(1, 2))
    windows = windows[:, ::stride, ::stride]  # (N, Ho, Wo, C, kh, kw)
    n, ho, wo = windows.shape[:3]
    columns = windows.reshape(n * ho * wo, in_ch * kh * kw)
    y = (columns @ w.reshape(out_ch, -1).T).reshape(n, ho, wo, out_ch)
    mean, var, beta = (tensors[f"{name}.{k}"].astype(np.float64) for k in ("mean", "var", "beta"))
    return np.maximum((y - mean) / np.sqrt(var + 1e-3) + beta, 0.0)


def _max_pool(x, stride):
    """3x3 max pool: stride 2 without padding, or stride 1 with -inf padding (same size)."""
    if stride == 1:
        x = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)), constant_values=-np.inf)
    windows = np.lib.stride_tricks.sliding_window_view(x, (3, 3), axis=(1, 2))
    return windows[:, ::stride, ::stride].max(axis=(-2, -1))


def _avg_pool_same(x):
    """3x3 stride-1 average pool, padding excluded from the count."""
    padded = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
    sums = np.lib.stride_tricks.sliding_window_view(padded, (3, 3), axis=(1, 2)).sum(axis=(-2, -1))
    ones = np.pad(np.ones(x.shape[1:3]), 1)
    counts = np.lib.stride_tricks.sliding_window_view(ones, (3, 3)).sum(axis=(-2, -1))
    return sums / counts[None, :, :, None]


def _block_a(x, t, p):
    return np.concatenate([
        _conv_bn_relu(x, t, f"{p}.conv"),
        _conv_bn_relu(_conv_bn_relu(x, t, f"{p}.tower.conv"), t, f"{p}.tower.conv_1"),
        _conv_bn_relu(_conv_bn_relu(_conv_bn_relu(x, t, f"{p}.tower_1.conv"), t, f"{p}.tower_1.conv_1"),
                      t, f"{p}.tower_1.conv_2"),
        _conv_bn_relu(_avg_pool_same(x), t, f"{p}.tower_2.conv"),
    ], axis=-1)


def _block_b(x, t, p):
    dbl = _conv_bn_relu(_conv_bn_relu(x, t, f"{p}.tower.conv"), t, f"{p}.tower.conv_1")
    return np.concatenate([
        _conv_bn_relu(x, t, f"{p}.conv", stride=2, padding="valid"),
        _conv_bn_relu(dbl, t, f"{p}.tower.conv_2", stride=2, padding="valid"),
        _max_pool(x, stride=2),
    ], axis=-1)


def _chain(x, t, names):
    for name in names:
        x = _conv_bn_relu(x, t, name)
    return x


def _block_c(x, t, p):
    return np.concatenate([
        _conv_bn_relu(x, t, f"{p}.conv"),
        _chain(x, t, [f"{p}.tower.conv{s}" for s in ("", "_1", "_2")]),
        _chain(x, t, [f"{p}.tower_1.conv{s}" for s in ("", "_1", "_2", "_3", "_4")]),
        _conv_bn_relu(_avg_pool_same(x), t, f"{p}.tower_2.conv"),
    ], axis=-1)


def _block_d(x, t, p):
    b3 = _conv_bn_relu(x, t, f"{p}.tower.conv")
    b7 = _chain(x, t, [f"{p}.tower_1.conv", f"{p}.tower_1.conv_1", f"{p}.tower_1.conv_2"])
    return np.concatenate([
        _conv_bn_relu(b3, t, f"{p}.tower.conv_1", stride=2, padding="valid"),
        _conv_bn_relu(b7, t, f"{p}.tower_1.conv_3", stride=2, padding="valid"),
        _max_pool(x, stride=2),
    ], axis=-1)


def _block_e(x, t, p, pool):
    a = _conv_bn_relu(x, t, f"{p}.tower_conv")
    b = _chain(x, t, [f"{p}.tower_1_conv", f"{p}.tower_1_conv_1"])
    pooled = _max_pool(x, stride=1) if pool == "max" else _avg_pool_same(x)
    return np.concatenate([
        _conv_bn_relu(x, t, f"{p}.conv"),
        _conv_bn_relu(a, t, f"{p}.tower_mixed_conv"),
        _conv_bn_relu(a, t, f"{p}.tower_mixed_conv_1"),
        _conv_bn_relu(b, t, f"{p}.tower_1_mixed_conv"),
        _conv_bn_relu(b, t, f"{p}.tower_1_mixed_conv_1"),
        _conv_bn_relu(pooled, t, f"{p}.tower_2_conv"),
    ], axis=-1)


def numpy_fid_features(images, t, mixed10_pool="max"):
    """pool_3 features of NHWC images in [-1, 1], in float64."""
    p = "net.layers"
    x = images.astype(np.float64)
    x = _conv_bn_relu(x, t, f"{p}.conv", stride=2, padding="valid")
    x = _conv_bn_relu(x, t, f"{p}.conv_1", padding="valid")
    x = _max_pool(_conv_bn_relu(x, t, f"{p}.conv_2"), stride=2)
    x = _conv_bn_relu(x, t, f"{p}.conv_3", padding="valid")
    x = _max_pool(_conv_bn_relu(x, t, f"{p}.conv_4", padding="valid"), stride=2)
    for name in ("mixed", "mixed_1", "mixed_2"):
        x = _block_a(x, t, f"{p}.{name}")
    x = _block_b(x, t, f"{p}.mixed_3")
    for name in ("mixed_4", "mixed_5", "mixed_6", "mixed_7"):
        x = _block_c(x, t, f"{p}.{name}")
    x = _block_d(x, t, f"{p}.mixed_8")
    x = _block_e(x, t, f"{p}.mixed_9", pool="avg")
    x = _block_e(x, t, f"{p}.mixed_10", pool=mixed10_pool)
    return x.mean(axis=(1, 2))


# ----------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def fid_model(cache_root, inception_weights_path):
    model, _ = inception.load_fid_inception(inception_weights_path)
    return model


@pytest.fixture(scope="module")
def file_tensors(inception_weights_path):
    return dict(torchscript.named_tensors(torchscript.load_module_tree(inception_weights_path)))


@pytest.fixture(scope="module")
def two_images():
    """Smooth random images (noise plus a low-frequency pattern) in [-1, 1]."""
    rng = np.random.default_rng(0)
    coarse = rng.uniform(-1, 1, (2, 10, 10, 3))
    smooth = np.kron(coarse, np.ones((1, 30, 30, 1)))[:, :299, :299]
    return np.clip(0.7 * smooth + 0.3 * rng.uniform(-1, 1, (2, 299, 299, 3)), -1, 1).astype(np.float32)


def _relative_error(a, b):
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


# ----------------------------------------------------------------- tests


def test_keras_network_equals_numpy_float64_reference(fid_model, file_tensors, two_images):
    keras_features = fid_model(two_images, training=False).numpy()
    reference = numpy_fid_features(two_images, file_tensors)
    assert keras_features.shape == (2, inception.FEATURE_DIM)
    assert keras_features.dtype == np.float32
    for got, want in zip(keras_features, reference):
        assert _relative_error(got, want) <= 1e-4
    # The two images are told apart, so the check is not satisfied by a constant.
    assert _relative_error(reference[0], reference[1]) > 0.05


def test_stock_average_pool_gives_measurably_different_features(
    fid_model, file_tensors, two_images, inception_weights_path
):
    stock = inception.build_inception(mixed10_pool="avg")
    inception.assign_torchscript_weights(stock, inception_weights_path)
    stock_features = stock(two_images, training=False).numpy()
    max_features = fid_model(two_images, training=False).numpy()
    assert _relative_error(stock_features, max_features) > 1e-2
    numpy_avg = numpy_fid_features(two_images[:1], file_tensors, mixed10_pool="avg")
    assert _relative_error(stock_features[0], numpy_avg[0]) <= 1e-4


def test_parameter_count_and_converted_weights_cache(fid_model, cache_root):
    assert fid_model.count_params() == inception.NUM_PARAMS
    assert fid_model.output_shape == (None, inception.FEATURE_DIM)
    cached = list(cache_root.glob(f"fid_inception_{weights.WEIGHTS_SHA1}.weights.h5"))
    assert len(cached) == 1
    assert not [p for p in cache_root.iterdir() if p.name.startswith(".")]  # no temp leftovers


def test_network_is_float32_under_a_mixed_precision_policy():
    import keras

    keras.config.set_dtype_policy("mixed_bfloat16")
    try:
        model = inception.build_inception()
        assert keras.config.dtype_policy().name == "mixed_bfloat16"
    finally:
        keras.config.set_dtype_policy("float32")
    assert {layer.dtype_policy.name for layer in model.layers} == {"float32"}
    assert model.output.dtype == "float32"


# ----------------------------------------------------------------- reading the file safely


class _RunsCommand:
    def __init__(self, command):
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command,))


def test_restricted_unpickler_refuses_code_and_runs_nothing(tmp_path):
    marker = tmp_path / "executed"
    archive = tmp_path / "evil.pt"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("evil/data.pkl", pickle.dumps(_RunsCommand(f"touch {marker}"), protocol=2))
    with pytest.raises(torchscript.UnsafePickleError, match="system"):
        torchscript.load_module_tree(archive)
    assert not marker.exists()


def test_reader_returns_every_tensor_of_the_file(file_tensors):
    convs = [name for name in file_tensors if name.endswith(".weight")]
    assert len(convs) == 94
    assert sum(array.size for array in file_tensors.values()) == inception.NUM_PARAMS
    assert file_tensors["net.layers.conv.weight"].shape == (32, 3, 3, 3)


@pytest.mark.parametrize("damage", ["truncated", "tampered", "missing"])
def test_damaged_weights_give_a_clear_error_and_write_nothing(damage, tmp_path, monkeypatch,
                                                              inception_weights_path):
    monkeypatch.setenv("TFGAN_REPLICA_CACHE", str(tmp_path / "cache"))
    bad = tmp_path / "weights.pt"
    if damage != "missing":
        shutil.copyfile(inception_weights_path, bad)
        with open(bad, "r+b") as f:
            if damage == "truncated":
                f.truncate(1 << 20)
            else:
                f.seek(5_000_000)
                byte = f.read(1)
                f.seek(5_000_000)
                f.write(bytes([byte[0] ^ 1]))
    with pytest.raises(weights.WeightsError, match="inception_weights|sha1") as error:
        inception.load_fid_inception(bad)
    assert str(bad) in str(error.value)
    assert not any((tmp_path / "cache").glob("*"))


def test_fetch_fails_fast_with_advice_when_offline(tmp_path, monkeypatch):
    monkeypatch.setenv("TFGAN_REPLICA_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:9/simple")  # nothing listens there
    monkeypatch.setenv("PIP_FIND_LINKS", str(tmp_path))
    monkeypatch.delenv("PIP_EXTRA_INDEX_URL", raising=False)
    with pytest.raises(weights.WeightsError, match="--inception_weights"):
        weights.resolve_weights(None)
    assert not list((tmp_path / "cache").iterdir())
