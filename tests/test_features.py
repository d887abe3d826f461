"""Preprocessing (quantization, channels, each FID protocol's resize and scaling) and batched
feature extraction."""

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from tfgan_replica import choices, data
from tfgan_replica.errors import InputError
from tfgan_replica.metrics import features, protocols


@pytest.fixture(scope="module")
def extractor(tmp_path_factory, inception_weights_path):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TFGAN_REPLICA_CACHE", str(tmp_path_factory.mktemp("cache")))
        yield features.FeatureExtractor(inception_weights_path, batch_size=10)


def _bilinear(image, shape, source):
    """Reference bilinear resize of one channel to `shape`, float64: output pixel d of an
    axis reads the input at `source(d, n_in, n_out)`."""
    def axis_weights(n_in, n_out):
        src = np.clip(source(np.arange(n_out), n_in, n_out), 0, n_in - 1)
        low = np.floor(src).astype(int)
        high = np.minimum(low + 1, n_in - 1)
        return low, high, src - low

    y0, y1, wy = axis_weights(image.shape[0], shape[0])
    x0, x1, wx = axis_weights(image.shape[1], shape[1])
    top = image[y0][:, x0] * (1 - wx) + image[y0][:, x1] * wx
    bottom = image[y1][:, x0] * (1 - wx) + image[y1][:, x1] * wx
    return top * (1 - wy[:, None]) + bottom * wy[:, None]


def _bilinear_half_pixel(image, size):
    """Half-pixel centres (pytorch-fid's F.interpolate, align_corners=False)."""
    return _bilinear(image, (size, size), lambda d, n_in, n_out: (d + 0.5) * n_in / n_out - 0.5)


def _bilinear_tf1(image, shape):
    """TensorFlow 1's ResizeBilinear: output pixel d reads the input at d * in / out."""
    return _bilinear(image, shape, lambda d, n_in, n_out: d * n_in / n_out)


def test_standard_quantization_is_as_if_saved():
    x = np.array([-1.0, -0.999, 0.0, 0.5, 1.0, 1.2, -3.0], np.float32).reshape(1, 7, 1, 1)
    got = features.quantize(x).ravel()
    np.testing.assert_array_equal(got, [0, 0, 128, 191, 255, 255, 0])
    assert got.dtype == np.uint8


def test_course_mode_writes_samples_as_torchvision_save_image():
    x = np.array([-1.0, -0.2, 0.0, 0.001, 0.002, 0.5, 0.999, 1.0], np.float32).reshape(1, 8, 1, 1)
    # floor(clamp(255 x + 0.5, 0, 255)): 0.001 -> 0.755 -> 0, 0.002 -> 1.01 -> 1, 0.999 -> 255.245
    np.testing.assert_array_equal(features.quantize(x, "course").ravel(),
                                  [0, 0, 0, 0, 1, 128, 255, 255])
    assert not np.array_equal(features.quantize(x), features.quantize(x, "course"))
    with pytest.raises(ValueError, match="sample_mode"):
        features.quantize(x, "pytorch")


def test_course_mode_maps_stored_pixels_as_the_template_wrote_the_test_set():
    stored = np.array([0, 127, 128, 129, 200, 254, 255], np.uint8).reshape(1, 7, 1, 1)
    np.testing.assert_array_equal(features.quantize(stored, "course").ravel(),
                                  [0, 0, 1, 3, 145, 253, 255])  # max(0, 2u - 255)


def test_course_mode_treats_a_stored_image_like_its_normalized_tensor():
    # The template loaded u with ToTensor + Normalize(0.5, 0.5) and then saved it; both
    # routes must give the same pixels for every uint8 value.
    u = np.arange(256, dtype=np.uint8).reshape(1, 16, 16, 1)
    normalized = ((u.astype(np.float32) / np.float32(255) - np.float32(0.5)) / np.float32(0.5))
    np.testing.assert_array_equal(features.quantize(normalized, "course"),
                                  features.quantize(u, "course"))


def test_uint8_passes_through_the_standard_mode_and_grayscale_gains_a_channel_axis():
    images = np.random.default_rng(0).integers(0, 256, (3, 28, 28), dtype=np.uint8)
    quantized = features.quantize(images)
    assert quantized.shape == (3, 28, 28, 1)
    np.testing.assert_array_equal(quantized[..., 0], images)


@pytest.mark.parametrize("bad", [np.zeros((2, 8, 8, 2)), np.zeros((8, 8)), np.zeros((2, 8, 8, 1), np.int32)])
def test_bad_image_arrays_are_refused(bad):
    with pytest.raises(ValueError, match="images must be"):
        features.quantize(bad)


def test_pytorch_fid_input_repeats_gray_resizes_with_half_pixel_centres_and_scales():
    image = np.random.default_rng(1).integers(0, 256, (1, 28, 28, 1), dtype=np.uint8)
    net_input = protocols.pytorch_fid_input(tf.constant(image)).numpy()
    assert net_input.shape == (1, 299, 299, 3) and net_input.dtype == np.float32
    np.testing.assert_array_equal(net_input[..., 0], net_input[..., 2])
    expected = _bilinear_half_pixel(image[0, ..., 0].astype(np.float64), 299) / 127.5 - 1.0
    np.testing.assert_allclose(net_input[0, ..., 1], expected, atol=1e-5)
    assert -1.0 <= net_input.min() and net_input.max() <= 1.0
    # The pixels every pytorch_fid score and cached reference was computed from, op for op.
    rgb = tf.repeat(tf.cast(image, tf.float32), 3, axis=-1)
    unchanged = tf.image.resize(rgb, (299, 299), method="bilinear", antialias=False) / 127.5 - 1.0
    np.testing.assert_array_equal(net_input, unchanged.numpy())


def test_tf1_resize_reads_the_source_at_destination_times_in_over_out():
    image = np.random.default_rng(2).uniform(0, 255, (5, 7)).astype(np.float32)
    resized = protocols.tf1_resize(tf.constant(image[None, ..., None]), (11, 13)).numpy()
    assert resized.shape == (1, 11, 13, 1)
    expected = _bilinear_tf1(image.astype(np.float64), (11, 13))
    np.testing.assert_allclose(resized[0, ..., 0], expected, rtol=0, atol=1e-3)
    # Without half-pixel centres the first output pixel is the first input pixel.
    assert resized[0, 0, 0, 0] == image[0, 0]


def test_tf1_input_is_the_tf1_resize_of_pixels_0_255_then_x_minus_128_over_128():
    digit = data.load_arrays("mnist", "test")[0][:1]
    net_input = protocols.tf1_input(tf.constant(digit)).numpy()
    assert net_input.shape == (1, 299, 299, 3) and net_input.dtype == np.float32
    np.testing.assert_array_equal(net_input[..., 0], net_input[..., 2])
    expected = (_bilinear_tf1(digit[0, ..., 0].astype(np.float64), (299, 299)) - 128) / 128
    np.testing.assert_allclose(net_input[0, ..., 1], expected, rtol=0, atol=1e-5)
    # Not the same pixels as pytorch_fid's: the image shifts by up to half a source pixel.
    half_pixel = protocols.pytorch_fid_input(tf.constant(digit)).numpy()
    assert np.abs(net_input - half_pixel).max() > 0.1


def test_clean_resize_is_pils_bicubic_of_each_float_channel_clipped_not_quantized():
    rng = np.random.default_rng(3)
    gray = data.load_arrays("mnist", "test")[0][:2]
    color = rng.integers(0, 256, (2, 9, 12, 3), dtype=np.uint8)
    for images in (gray, color):
        resized = protocols.clean_resize(images)
        assert resized.shape == (2, 299, 299, images.shape[-1]) and resized.dtype == np.float32
        for index in range(2):
            for channel in range(images.shape[-1]):
                pil = Image.fromarray(images[index, ..., channel].astype(np.float32), mode="F")
                expected = np.asarray(pil.resize((299, 299), Image.BICUBIC))
                np.testing.assert_array_equal(resized[index, ..., channel], np.clip(expected, 0, 255))
        assert (expected < 0).any() or (expected > 255).any()  # bicubic overshoots: the clip acts
        assert (resized != np.round(resized)).any()  # floats, not re-quantized to uint8
    net_input = protocols.clean_input(tf.constant(gray)).numpy()
    assert net_input.shape == (2, 299, 299, 3) and net_input.dtype == np.float32
    scaled = (protocols.clean_resize(gray) - np.float32(128)) / np.float32(128)
    for channel in range(3):
        np.testing.assert_array_equal(net_input[..., channel], scaled[..., 0])


def test_protocols_are_named_in_one_place_and_unknown_names_are_refused():
    assert tuple(protocols.PROTOCOLS) == choices.FID_PROTOCOLS
    assert choices.DEFAULT_FID_PROTOCOL == "pytorch_fid"
    with pytest.raises(InputError, match="protocol must be one of"):
        protocols.get_protocol("tf2")


def test_features_do_not_depend_on_batch_size(extractor):
    mnist, _ = data.load_arrays("mnist", "test")
    images = mnist[:20]
    try:
        extractor.batch_size = 50
        with_50 = extractor(images, progress=False)
        extractor.batch_size = 7
        with_7 = extractor(images, progress=False)
    finally:
        extractor.batch_size = 10
    assert with_50.shape == (20, 2048) and with_50.dtype == np.float32
    np.testing.assert_allclose(with_7, with_50, rtol=1e-5, atol=1e-5)
    assert np.linalg.norm(with_50[0] - with_50[1]) > 1.0  # different digits, different features


def test_float_samples_score_as_their_saved_uint8(extractor):
    rng = np.random.default_rng(2)
    floats = np.tanh(rng.standard_normal((4, 28, 28, 1)) * 2).astype(np.float32)
    from_floats = extractor(floats, progress=False)
    from_uint8 = extractor(features.quantize(floats), progress=False)
    np.testing.assert_array_equal(from_floats, from_uint8)
    course = extractor(floats, sample_mode="course", progress=False)
    assert np.abs(course - from_floats).max() > 1e-2


def test_extractor_settings_name_the_protocol(extractor, inception_weights_path):
    # pytorch_fid's settings are the key of every reference already cached: they stay as is.
    assert extractor.settings == {
        "network": "inception-2015-12-05 pool_3 (mixed10 pool branch: 3x3 max pool)",
        "weights_sha1": "a16e4d89c0ecbc17a915dd76ea9e41211aa82562",
        "resize": "tf.image.resize bilinear 299x299, antialias=False",
        "input_scaling": "x / 127.5 - 1",
        "feature_dtype": "float32",
    }
    others = [features.FeatureExtractor(inception_weights_path, 10, name)
              for name in ("tf1", "clean")]
    assert all(other.model is extractor.model for other in others)  # one network for all
    settings = [extractor.settings] + [other.settings for other in others]
    assert len({(s["resize"], s["input_scaling"]) for s in settings}) == 3  # a cache entry each


def test_network_features_of_a_protocols_inputs_are_the_extractors_features(extractor):
    # The seam `crosscheck` scores other projects' preprocessing through: the same network.
    digits = data.load_arrays("mnist", "test")[0][:3]
    net_input = extractor.protocol.to_network_input(tf.constant(digits)).numpy()
    np.testing.assert_allclose(extractor.network_features(net_input),
                               extractor(digits, progress=False), rtol=1e-5, atol=1e-5)
    with pytest.raises(InputError, match=r"network inputs must be \(N, 299, 299, 3\)"):
        extractor.network_features(net_input[..., :1])
