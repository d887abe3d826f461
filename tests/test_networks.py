"""Every builder: output shape, hand-counted parameters, options and shape checks."""

import numpy as np
import pytest
import tensorflow as tf

from tfgan_replica import networks

# Trainable parameters from each report's layer list. BatchNormalization trains 2
# per channel (gamma, beta); a 5x5 Conv/ConvT from c_in to c_out has 25*c_in*c_out
# weights (+ c_out biases where the report keeps them).
GENERATOR_PARAMS = {
    "dcgan_tutorial": (
        100 * 7 * 7 * 256  # Dense, no bias
        + 2 * 7 * 7 * 256  # BN
        + 25 * 256 * 128 + 2 * 128  # ConvT 128, no bias, BN
        + 25 * 128 * 64 + 2 * 64  # ConvT 64, no bias, BN
        + 25 * 64 * 1  # ConvT 1, no bias
    ),  # = 2,305,472 as the tutorial prints
    "dcgan_improved": (
        100 * 128 + 2 * 128  # Dense 128 no bias, BN
        + 128 * 7 * 7 * 256 + 2 * 7 * 7 * 256  # Dense no bias, BN
        + 25 * 256 * 128 + 2 * 128  # ConvT 128 no bias, BN
        + (25 * 128 * 64 + 64) + 2 * 64  # ConvT 64, BN
        + (25 * 64 * 1 + 1)  # ConvT 1
    ),
    "dcgan_svhn": (
        (100 * 4 * 4 * 512 + 4 * 4 * 512) + 2 * 512  # Dense, BN on 512 channels
        + 25 * 512 * 256 + 2 * 256  # ConvT 256 no bias, BN
        + (25 * 256 * 128 + 128) + 2 * 128  # ConvT 128, BN
        + (25 * 128 * 3 + 3)  # ConvT 3
    ),
    "mlp": (100 * 256 + 256) + (256 * 512 + 512) + (512 * 1024 + 1024) + (1024 * 784 + 784),
    "cnn": (
        (100 * 7 * 7 * 128 + 7 * 7 * 128) + 2 * 128  # Dense, BN on 128 channels
        + (16 * 128 * 64 + 64) + 2 * 64  # 4x4 ConvT 64, BN
        + (16 * 64 * 1 + 1)  # 4x4 ConvT 1
    ),  # = 766,017
}
DISCRIMINATOR_PARAMS = {
    "dcgan_tutorial": (25 * 1 * 64 + 64) + (25 * 64 * 128 + 128) + (7 * 7 * 128 + 1),
    "dcgan_improved": (
        (25 * 1 * 128 + 128) + (25 * 128 * 64 + 64) + 2 * 64  # conv, conv + BN
        + (7 * 7 * 64 * 128 + 128) + (128 + 1)  # Dense 128, Dense 1
    ),
    "dcgan_svhn": (
        (25 * 3 * 64 + 64)
        + (25 * 64 * 128 + 128) + 2 * 128
        + (25 * 128 * 256 + 256) + 2 * 256
        + (4 * 4 * 256 + 1)
    ),
    "mlp": (784 * 1024 + 1024) + (1024 * 512 + 512) + (512 * 256 + 256) + (256 + 1),
    "conv": (16 * 1 * 64 + 64) + (16 * 64 * 128 + 128) + (7 * 7 * 128 + 1),
}


# The discriminator each generator is trained with, where it has no namesake.
PAIRED_DISCRIMINATOR = {"cnn": "conv"}


def trainable_count(model):
    return sum(int(np.prod(w.shape)) for w in model.trainable_weights)


@pytest.mark.parametrize("name", sorted(GENERATOR_PARAMS))
def test_generator_shape_range_and_parameters(name):
    generator = networks.build_generator(name, latent_dim=100)
    images = generator(tf.random.normal((3, 100)), training=False)
    assert tuple(images.shape) == (3, *networks.image_shape(name))
    assert images.dtype == tf.float32
    assert float(tf.reduce_max(tf.abs(images))) <= 1.0
    assert trainable_count(generator) == GENERATOR_PARAMS[name]


@pytest.mark.parametrize("name", sorted(DISCRIMINATOR_PARAMS))
def test_discriminator_logits_and_parameters(name):
    discriminator = networks.build_discriminator(name)
    shape = discriminator.input_shape[1:]
    logits = discriminator(tf.random.uniform((3, *shape), -1, 1), training=False)
    assert tuple(logits.shape) == (3, 1)
    assert trainable_count(discriminator) == DISCRIMINATOR_PARAMS[name]


@pytest.mark.parametrize("name, hidden_layers", [("mlp", 3), ("conv", 2)])
def test_template_dropout_follows_each_hidden_layer_and_stays_on_at_inference(name, hidden_layers):
    plain = networks.build_discriminator(name)
    dropped = networks.build_discriminator(name, dropout=0.3)
    kinds = [type(layer).__name__ for layer in dropped.layers]
    assert kinds.count("AlwaysOnDropout") == hidden_layers
    assert all(kinds[i - 1] == "LeakyReLU" for i, kind in enumerate(kinds) if kind == "AlwaysOnDropout")
    assert trainable_count(dropped) == trainable_count(plain)

    # Like PyTorch's F.dropout(x, 0.3): a 1 - 0.3 keep rate, kept units scaled by 1 / 0.7,
    # on every call, also with training=False.
    layer = networks.AlwaysOnDropout(0.3, seed=1)
    ones = tf.ones((200, 500))
    for training in (False, True, None):
        out = layer(ones, training=training).numpy()
        kept = out != 0
        assert abs(kept.mean() - 0.7) < 0.01
        np.testing.assert_allclose(out[kept], 1 / 0.7, rtol=1e-6)
    batch = tf.random.uniform((8, 28, 28, 1), -1, 1)
    first, second = (dropped(batch, training=False).numpy() for _ in range(2))
    assert not np.allclose(first, second)  # a fresh mask on every call
    np.testing.assert_array_equal(plain(batch, training=False), plain(batch, training=False))


@pytest.mark.parametrize("name", sorted(DISCRIMINATOR_PARAMS))
def test_sigmoid_output_gives_the_probabilities_of_the_logits(name):
    plain = networks.build_discriminator(name)
    probabilities = networks.build_discriminator(name, sigmoid_output=True)
    probabilities.set_weights(plain.get_weights())
    batch = tf.random.uniform((4, *plain.input_shape[1:]), -1, 1)
    expected = tf.sigmoid(plain(batch, training=False))
    got = probabilities(batch, training=False)
    assert got.dtype == tf.float32
    np.testing.assert_allclose(got.numpy(), expected.numpy(), rtol=1e-6)


def test_dropout_option_is_refused_outside_report_bs_discriminators():
    with pytest.raises(ValueError, match="no dropout option"):
        networks.build_discriminator("dcgan_tutorial", dropout=0.3)
    with pytest.raises(ValueError, match=r"dropout must be in \[0, 1\)"):
        networks.build_discriminator("mlp", dropout=1.0)


@pytest.mark.parametrize("name, norms, dropouts", [
    ("dcgan_tutorial", 0, 2), ("dcgan_improved", 1, 2), ("dcgan_svhn", 2, 2)])
def test_report_a_critics_drop_their_batch_norm_or_dropout_on_request(name, norms, dropouts):
    def count(model, kind):
        return sum(type(layer).__name__ == kind for layer in model.layers)

    full = networks.build_discriminator(name)
    assert (count(full, "BatchNormalization"), count(full, "Dropout")) == (norms, dropouts)
    if norms:
        plain = networks.build_discriminator(name, batch_norm=False)
        assert count(plain, "BatchNormalization") == 0 and count(plain, "Dropout") == dropouts
        # each batch norm trains gamma and beta of its channels
        assert full.count_params() - plain.count_params() == sum(
            layer.count_params() for layer in full.layers
            if type(layer).__name__ == "BatchNormalization")
    else:
        with pytest.raises(ValueError, match="no batch norm to switch off"):
            networks.build_discriminator(name, batch_norm=False)
    bare = networks.build_discriminator(name, builtin_dropout=False)
    assert count(bare, "Dropout") == 0 and bare.count_params() == full.count_params()
    with pytest.raises(ValueError, match="no dropout layers of its own"):
        networks.build_discriminator("conv", builtin_dropout=False)


def test_spectral_norm_wraps_every_weighted_layer_and_adds_no_trainable_weights():
    plain = networks.build_discriminator("dcgan_improved")
    normed = networks.build_discriminator("dcgan_improved", spectral_norm=True)
    weighted = [layer for layer in plain.layers if hasattr(layer, "kernel")]
    wrapped = [layer for layer in normed.layers if isinstance(layer, networks.SpectralNorm)]
    assert len(wrapped) == len(weighted) == 4
    assert trainable_count(normed) == trainable_count(plain)


@pytest.mark.parametrize("name", sorted(DISCRIMINATOR_PARAMS))
def test_spectral_norm_can_leave_the_output_layer_free(name):
    every = networks.build_discriminator(name, spectral_norm=True)
    hidden = networks.build_discriminator(name, spectral_norm=True, spectral_norm_output=False)
    assert isinstance(every.layers[-2], networks.SpectralNorm)  # before the float32 logits
    assert type(hidden.layers[-2]).__name__ == "Dense"
    wrapped = [layer for layer in hidden.layers if isinstance(layer, networks.SpectralNorm)]
    assert len(wrapped) == sum(isinstance(layer, networks.SpectralNorm) for layer in every.layers) - 1
    assert trainable_count(hidden) == trainable_count(every)


def test_spectral_norm_brings_largest_singular_value_to_one_and_keeps_the_raw_kernel():
    critic = networks.build_discriminator("mlp", spectral_norm=True)
    wrapper = critic.layers[1]
    wrapper.layer.kernel.assign(wrapper.layer.kernel * 5.0)
    raw = wrapper.layer.kernel.numpy()
    batch = tf.random.uniform((8, 28, 28, 1), -1, 1)
    for _ in range(50):
        critic(batch, training=True)
    assert np.linalg.svd(raw, compute_uv=False)[0] > 3.0
    top = np.linalg.svd(wrapper.normalized_kernel().numpy(), compute_uv=False)[0]
    assert top == pytest.approx(1.0, abs=0.02)
    np.testing.assert_array_equal(wrapper.layer.kernel.numpy(), raw)


@pytest.mark.parametrize("name", ["mlp", "conv"])
def test_spectral_norm_gradient_flows_through_sigma(name):
    # W / sigma(W) does not change when W is scaled, so the gradient of any loss
    # with respect to W is orthogonal to W: <dL/dW, W> = 0. Without a gradient
    # through sigma (keras.layers.SpectralNormalization) it is not.
    critic = networks.build_discriminator(name, spectral_norm=True)
    batch = tf.random.uniform((8, 28, 28, 1), -1, 1)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(tf.square(critic(batch, training=True)))
    wrappers = [layer for layer in critic.layers if isinstance(layer, networks.SpectralNorm)]
    kernels = [wrapper.layer.kernel for wrapper in wrappers]
    for kernel, gradient in zip(kernels, tape.gradient(loss, kernels)):
        assert float(tf.norm(gradient)) > 1e-4
        cosine = tf.reduce_sum(gradient * kernel) / (tf.norm(gradient) * tf.norm(kernel))
        assert abs(float(cosine)) < 1e-4


@pytest.mark.parametrize("layer, shape", [
    (tf.keras.layers.Dense(6), (4, 5)),
    (tf.keras.layers.Conv2D(3, 3, strides=2, padding="same"), (2, 8, 8, 2)),
])
def test_spectral_norm_scaling_the_outputs_equals_applying_the_normalized_kernel(layer, shape):
    # The layer divides x W by sigma; the definition applies W / sigma. With sigma = v^T W u
    # on the step's (constant) vectors, both give the same outputs and kernel gradients.
    wrapper = networks.SpectralNorm(layer)
    inputs = tf.random.uniform(shape, -1, 1, seed=1)
    weights = tf.random.uniform(wrapper.compute_output_shape(shape), seed=2)
    with tf.GradientTape() as tape:
        outputs = wrapper(inputs, training=True)
        loss = tf.reduce_sum(weights * tf.square(outputs))
    kernel = layer.kernel
    gradient = tape.gradient(loss, kernel)
    u, v = wrapper.vector_u, wrapper.vector_v  # the vectors the call used, stored by it
    with tf.GradientTape() as tape:
        sigma = tf.reduce_sum(v * tf.linalg.matvec(tf.reshape(kernel, (-1, kernel.shape[-1])), u))
        reference = tf.nn.bias_add(
            tf.matmul(inputs, kernel / sigma) if len(shape) == 2 else
            tf.nn.conv2d(inputs, kernel / sigma, 2, "SAME"), layer.bias)
        reference_loss = tf.reduce_sum(weights * tf.square(reference))
    np.testing.assert_allclose(outputs, reference, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(gradient, tape.gradient(reference_loss, kernel),
                               rtol=1e-4, atol=1e-6)


def test_spectral_norm_inference_uses_the_stored_vectors():
    critic = networks.build_discriminator("conv", spectral_norm=True)
    wrapper = next(layer for layer in critic.layers if isinstance(layer, networks.SpectralNorm))
    batch = tf.random.uniform((4, 28, 28, 1), -1, 1)
    before = wrapper.vector_u.numpy()
    first = critic(batch, training=False).numpy()
    np.testing.assert_array_equal(wrapper.vector_u.numpy(), before)
    np.testing.assert_array_equal(critic(batch, training=False).numpy(), first)
    critic(batch, training=True)
    assert not np.array_equal(wrapper.vector_u.numpy(), before)


def test_spectral_norm_rejects_layers_without_a_plain_kernel():
    with pytest.raises(TypeError, match="Dense or Conv2D"):
        networks.SpectralNorm(tf.keras.layers.Conv2DTranspose(4, 3))


def test_minibatch_stddev_closed_form():
    # Two samples, two features on a 1x1 map: feature stds over the batch are
    # std(0, 2) = 1 and std(2, 6) = 2, so the appended map holds their mean 1.5.
    x = tf.constant([[[[0.0, 2.0]]], [[[2.0, 6.0]]]])
    y = networks.MinibatchStddev()(x).numpy()
    assert y.shape == (2, 1, 1, 3)
    np.testing.assert_allclose(y[..., :2], x.numpy())
    np.testing.assert_allclose(y[..., 2], 1.5, rtol=1e-6)


def test_minibatch_stddev_is_zero_for_a_collapsed_batch_and_works_on_features():
    x = tf.tile(tf.constant([[1.0, -3.0, 0.5]]), (4, 1))
    y = networks.MinibatchStddev()(x).numpy()
    assert y.shape == (4, 4)
    np.testing.assert_allclose(y[:, 3], 0.0, atol=1e-3)


@pytest.mark.parametrize("name", sorted(DISCRIMINATOR_PARAMS))
def test_minibatch_stddev_option_adds_one_channel_before_the_last_layers(name):
    critic = networks.build_discriminator(name, minibatch_stddev=True)
    assert any(isinstance(layer, networks.MinibatchStddev) for layer in critic.layers)
    shape = critic.input_shape[1:]
    assert tuple(critic(tf.zeros((2, *shape))).shape) == (2, 1)


@pytest.mark.parametrize("name", sorted(GENERATOR_PARAMS))
def test_mixed_precision_keeps_outputs_float32(name):
    tf.keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        generator = networks.build_generator(name)
        critic = networks.build_discriminator(PAIRED_DISCRIMINATOR.get(name, name),
                                              spectral_norm=True)
        images = generator(tf.random.normal((2, 100)))
        assert images.dtype == tf.float32
        assert critic(images).dtype == tf.float32
    finally:
        tf.keras.mixed_precision.set_global_policy("float32")


def test_shape_mismatch_is_a_clear_error():
    with pytest.raises(ValueError, match="dcgan_svhn"):
        networks.build_generator("dcgan_improved", image_shape=(32, 32, 3))
    with pytest.raises(ValueError, match="takes 28x28x1 images, not 32x32x3"):
        networks.build_discriminator("dcgan_improved", image_shape=(32, 32, 3))
    assert networks.build_discriminator("mlp", image_shape=(32, 32, 3)).input_shape == (None, 32, 32, 3)


def test_unknown_name_lists_the_choices():
    with pytest.raises(ValueError, match="choose one of"):
        networks.build_generator("stylegan")
    with pytest.raises(ValueError, match="'conv'"):
        networks.build_discriminator("resnet")


@pytest.mark.parametrize("build, name", [
    (networks.build_discriminator, "mlp"), (networks.build_discriminator, "conv"),
    (networks.build_generator, "cnn")])
def test_report_b_networks_use_pytorch_default_initialization(build, name):
    # PyTorch draws kernel and bias from U(-1/sqrt(fan_in), 1/sqrt(fan_in)); its fan-in of a
    # transposed convolution counts out_channels * k * k, as Keras' (k, k, out, in) kernel does.
    network = build(name)
    for layer in network.layers:
        if hasattr(layer, "kernel"):
            kernel, bias = layer.kernel.numpy(), layer.bias.numpy()
            bound = 1 / np.sqrt(np.prod(kernel.shape[:-1])) * (1 + 1e-6)  # float32 rounding
            assert 0.9 * bound < np.abs(kernel).max() <= bound
            assert np.abs(bias).max() <= bound
            if bias.size >= 64:  # a Glorot kernel or a zero bias would fail one of these
                assert np.abs(bias).max() > 0.5 * bound
