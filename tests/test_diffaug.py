"""DiffAugment ops: exact geometry, parameter ranges, gradients, dtypes, graph/XLA modes."""

import numpy as np
import pytest
import tensorflow as tf

from tfgan_replica import diffaug

ALL_OPS = tuple(diffaug.OPS)


def _images(n=4, size=28, channels=1, seed=0, low=-1.0, high=1.0):
    rng = np.random.default_rng(seed)
    return tf.constant(rng.uniform(low, high, (n, size, size, channels)).astype(np.float32))


# --- color -----------------------------------------------------------------------------


def test_brightness_offset_constant_per_sample_and_in_range():
    x = _images(n=256, size=8, channels=3)
    diff = (diffaug.brightness(x) - x).numpy().reshape(256, -1)
    offsets = diff[:, 0]
    np.testing.assert_allclose(diff, offsets[:, None] * np.ones_like(diff), atol=1e-6)
    assert offsets.min() >= -0.5 and offsets.max() < 0.5
    assert offsets.min() < -0.3 and offsets.max() > 0.3  # the whole range is used


def test_saturation_factor_range_and_constant_per_sample():
    x = _images(n=128, size=6, channels=3)
    mean = tf.reduce_mean(x, axis=3, keepdims=True)
    factor = ((diffaug.saturation(x) - mean) / (x - mean)).numpy().reshape(128, -1)
    np.testing.assert_allclose(factor, factor[:, :1] * np.ones_like(factor), rtol=1e-3, atol=1e-3)
    assert factor.min() >= 0.0 and factor.max() < 2.0 + 1e-4
    assert factor.min() < 0.3 and factor.max() > 1.7


def test_saturation_is_identity_on_one_channel():
    x = _images(n=8)
    assert diffaug.saturation(x) is x  # skipped explicitly, no pointless draw
    np.testing.assert_array_equal(diffaug.saturation(x).numpy(), x.numpy())


def test_contrast_factor_range_and_mean_kept():
    x = _images(n=128, size=6, channels=3)
    out = diffaug.contrast(x)
    mean = tf.reduce_mean(x, axis=[1, 2, 3], keepdims=True)
    np.testing.assert_allclose(tf.reduce_mean(out, axis=[1, 2, 3], keepdims=True), mean, atol=1e-5)
    factor = ((out - mean) / (x - mean)).numpy().reshape(128, -1)
    np.testing.assert_allclose(factor, factor[:, :1] * np.ones_like(factor), rtol=1e-3, atol=1e-3)
    assert factor.min() >= 0.5 - 1e-4 and factor.max() < 1.5 + 1e-4
    assert factor.min() < 0.7 and factor.max() > 1.3


# --- geometry --------------------------------------------------------------------------


def _shift(img, dy, dx):
    """Reference: out[i, j] = img[i - dy, j - dx], zero outside."""
    h, w = img.shape[:2]
    out = np.zeros_like(img)
    out[max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] = (
        img[max(-dy, 0):h + min(-dy, 0), max(-dx, 0):w + min(-dx, 0)])
    return out


@pytest.mark.parametrize("size", [28, 32])
def test_translation_is_whole_pixel_shift_with_zero_fill(size):
    s = int(size * 0.125 + 0.5)
    x = _images(n=48, size=size, channels=1, low=0.1, high=1.0).numpy()
    out = diffaug.translation(tf.constant(x)).numpy()
    found = []
    for img, res in zip(x, out):
        matches = [(dy, dx) for dy in range(-s, s + 1) for dx in range(-s, s + 1)
                   if np.array_equal(_shift(img, dy, dx), res)]
        assert len(matches) == 1, "output is not an integer shift within [-s, s]"
        found.append(matches[0])
    dys, dxs = np.array(found).T
    for d in (dys, dxs):
        assert d.min() < 0 < d.max(), "shifts should take both signs"


def _zero_boxes(out):
    """Per sample: (count of zeros, bounding box of the zeros)."""
    result = []
    for img in out[..., 0]:
        rows, cols = np.nonzero(img == 0)
        box = (rows.min(), rows.max() + 1, cols.min(), cols.max() + 1) if rows.size else None
        result.append((rows.size, box))
    return result


def test_cutout_zeroes_a_clipped_square_of_side_14():
    size, side = 28, 14
    out = diffaug.cutout(tf.ones([256, size, size, 1])).numpy()
    allowed = {a * b for a in range(7, side + 1) for b in range(7, side + 1)}
    heights, widths = [], []
    for count, (r0, r1, c0, c1) in _zero_boxes(out):
        assert count in allowed
        assert count == (r1 - r0) * (c1 - c0), "zeros must form one filled rectangle"
        for lo, hi in ((r0, r1), (c0, c1)):  # a side shorter than 14 must touch an edge
            assert hi - lo == side or lo == 0 or hi == size
        heights.append(r1 - r0)
        widths.append(c1 - c0)
    for sides in (heights, widths):  # clipped and unclipped along both axes
        assert max(sides) == side and min(sides) < side


@pytest.mark.parametrize("size,cell", [(28, 7), (32, 8)])
def test_grid_cutout_zeroes_one_aligned_cell(size, cell):
    out = diffaug.grid_cutout(tf.ones([64, size, size, 1])).numpy()
    cells = set()
    for count, (r0, r1, c0, c1) in _zero_boxes(out):
        assert count == cell * cell
        assert (r1 - r0, c1 - c0) == (cell, cell)
        assert r0 % cell == 0 and c0 % cell == 0
        cells.add((r0, c0))
    assert len(cells) > 4, "the cell should be drawn at random"


# --- blur / noise ----------------------------------------------------------------------


def test_blur_keeps_a_constant_image():
    x = tf.fill([16, 28, 28, 1], 0.37)
    np.testing.assert_allclose(diffaug.blur(x).numpy(), 0.37, atol=1e-5)


def test_blur_spreads_a_point_by_a_random_amount():
    x = np.zeros([128, 15, 15, 1], np.float32)
    x[:, 7, 7] = 1.0
    out = diffaug.blur(tf.constant(x)).numpy()[..., 0]
    assert out.min() >= 0
    np.testing.assert_allclose(out.sum(axis=(1, 2)), 1.0, atol=1e-4)  # far from edges
    np.testing.assert_allclose(out, out[:, ::-1, :], atol=1e-6)  # symmetric kernel
    peaks = out[:, 7, 7]
    assert peaks.min() < 0.3 and peaks.max() > 0.9  # sigma near 1 and near 0 both drawn


def test_noise_scale():
    x = tf.zeros([256, 28, 28, 1])
    std = diffaug.noise(x).numpy().reshape(256, -1).std(axis=1)
    assert std.max() < 0.11
    assert std.min() < 0.03 and std.max() > 0.08  # sigma drawn per sample
    expected_rms = np.sqrt(0.1**2 / 3)  # sigma ~ U[0, 0.1)
    assert abs(np.sqrt(np.mean(std**2)) / expected_rms - 1) < 0.15


# --- policies --------------------------------------------------------------------------


def test_empty_policy_is_identity():
    x = _images()
    for policy in ("", None, "  "):
        assert diffaug.parse_policy(policy) == ()
        np.testing.assert_array_equal(diffaug.augment(x, policy).numpy(), x.numpy())


@pytest.mark.parametrize("policy", ["color,,translation", "color,", " , ", ["color", ""]])
def test_an_empty_op_name_is_refused(policy):
    with pytest.raises(ValueError, match="empty op name in DiffAugment policy"):
        diffaug.parse_policy(policy)


def test_unknown_op_names_the_valid_ones():
    with pytest.raises(ValueError) as err:
        diffaug.parse_policy("color,flip")
    for name in ALL_OPS + ("safe",):
        assert name in str(err.value)
    assert "'flip'" in str(err.value)


def test_policy_parsing_and_safe_expansion():
    assert diffaug.parse_policy("color, translation,cutout") == ("color", "translation", "cutout")
    assert diffaug.parse_policy("safe") == ("blur", "noise", "gridcutout")
    assert diffaug.parse_policy(["color", "safe"]) == ("color", "blur", "noise", "gridcutout")


# --- autodiff, dtypes, graph modes -----------------------------------------------------


@pytest.mark.parametrize("op", ALL_OPS)
def test_gradient_flows(op):
    x = _images(n=4, channels=3)
    w = _images(n=4, channels=3, seed=1)
    with tf.GradientTape() as tape:
        tape.watch(x)
        loss = tf.reduce_mean(diffaug.augment(x, op) * w)
    grad = tape.gradient(loss, x)
    assert grad is not None
    assert np.all(np.isfinite(grad.numpy())) and np.any(grad.numpy() != 0)


@pytest.mark.parametrize("dtype", [tf.float16, tf.bfloat16])
@pytest.mark.parametrize("op", ALL_OPS)
def test_dtype_preserved(op, dtype):
    x = tf.cast(_images(n=2, channels=3), dtype)
    out = diffaug.augment(x, op)
    assert out.dtype == dtype
    assert np.all(np.isfinite(tf.cast(out, tf.float32).numpy()))


@pytest.mark.parametrize("dtype", [tf.float32, tf.bfloat16])
def test_xla_gradient_and_fresh_draws(dtype):
    policy = ",".join(ALL_OPS)

    @tf.function(jit_compile=True)
    def step(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            out = diffaug.augment(x, policy)
            loss = tf.reduce_mean(tf.cast(out, tf.float32) * 0.5)
        return out, tape.gradient(loss, x)

    x = tf.cast(_images(n=4, size=32, channels=3), dtype)
    (a, grad), (b, _) = step(x), step(x)
    assert a.dtype == dtype and a.shape == x.shape
    a, b, grad = (tf.cast(t, tf.float32).numpy() for t in (a, b, grad))
    assert np.all(np.isfinite(a)) and np.any(grad != 0)
    assert not np.array_equal(a, b), "each call must draw new parameters"


def test_unknown_batch_in_tf_function():
    @tf.function(input_signature=[tf.TensorSpec([None, 28, 28, 1], tf.float32)])
    def fn(x):
        return diffaug.augment(x, "color,translation,cutout,safe")

    for n in (3, 5):
        assert fn(_images(n=n)).shape == (n, 28, 28, 1)


@pytest.mark.parametrize("op", ALL_OPS)
def test_fresh_draws_every_eager_call(op):
    x = _images(n=4, channels=3)
    assert not np.array_equal(diffaug.augment(x, op).numpy(), diffaug.augment(x, op).numpy())


@pytest.mark.parametrize("discriminator", ["conv", "mlp"])
def test_short_training_with_color_translation_cutout(discriminator):
    """The trainer's model applies the policy in both steps and still learns."""
    from tfgan_replica import data, presets, trainer

    preset = presets.get_preset("mlp_bce").replace(
        discriminator=discriminator, diffaug="color,translation,cutout", batch_size=32,
        dropout=0.0)
    model = trainer.build_model(preset)
    assert model.augment.keywords["policy"] == "color,translation,cutout"
    images = data.load_arrays("mnist", "test")[0][:256]
    before = [w.numpy().copy() for w in model.generator.trainable_weights]
    history = model.fit(data.make_dataset(images, 32), steps_per_epoch=6, epochs=1, verbose=0)
    assert all(np.isfinite(v[-1]) for v in history.history.values())
    moved = [not np.allclose(a, w.numpy()) for a, w in zip(before, model.generator.trainable_weights)]
    assert all(moved)


@pytest.mark.parametrize("op", ALL_OPS)
def test_a_seeded_generator_gives_reproducible_draws(op):
    x = _images(n=4, channels=3)

    def draw(seed):
        return diffaug.augment(x, op, rng=tf.random.Generator.from_seed(seed)).numpy()

    np.testing.assert_array_equal(draw(1), draw(1))
    assert not np.array_equal(draw(1), draw(2))
