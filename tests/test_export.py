"""Exported generators: plain TensorFlow can load them and gets the same images."""

import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest

from tfgan_replica import export, gan, images, networks
from tfgan_replica.errors import InputError

LOAD_WITHOUT_PACKAGE = textwrap.dedent("""
    import sys
    import numpy as np
    import tensorflow as tf
    loaded = tf.saved_model.load(sys.argv[1])
    z = np.load(sys.argv[2])
    images = loaded.serve(tf.constant(z))
    assert images.dtype == tf.float32, images.dtype
    assert "tfgan_replica" not in sys.modules
    np.save(sys.argv[3], images.numpy())
""")


def _noise(num=8, latent_dim=100, seed=3):
    return np.random.default_rng(seed).standard_normal((num, latent_dim)).astype(np.float32)


def test_round_trip_in_a_process_without_the_package(tmp_path):
    keras.utils.set_random_seed(1)
    generator = networks.build_generator("dcgan_tutorial")
    path = export.export_generator(generator, tmp_path / "generator", latent_dim=100)
    z = _noise()
    expected = keras.ops.convert_to_numpy(generator(z, training=False))
    np.save(tmp_path / "z.npy", z)
    subprocess.run([sys.executable, "-c", LOAD_WITHOUT_PACKAGE, path, str(tmp_path / "z.npy"),
                    str(tmp_path / "out.npy")], check=True, cwd=tmp_path)
    images = np.load(tmp_path / "out.npy")
    assert images.shape == (8, 28, 28, 1)
    np.testing.assert_array_equal(images, expected)
    assert -1.0 <= images.min() and images.max() <= 1.0


def test_a_gan_with_ema_exports_the_ema_generator(tmp_path):
    model = gan.make_gan("bce", networks.build_generator("mlp"), networks.build_discriminator("mlp"),
                         ema_decay=0.99)
    model.ema_generator.set_weights([w * 0.5 for w in model.generator.get_weights()])
    serve, latent_dim = export.load_generator(export.export_generator(model, tmp_path / "g"))
    z = _noise()
    assert latent_dim == 100
    np.testing.assert_allclose(serve(z).numpy(), model.ema_generator(z).numpy(), atol=1e-6)
    assert not np.allclose(serve(z).numpy(), model.generator(z).numpy(), atol=1e-3)


def test_to_uint8_quantizes_as_a_saved_png():
    pixels = images.to_uint8(np.array([-1.0, -0.999, 0.0, 0.999, 1.0, 1.5]))
    np.testing.assert_array_equal(pixels, [0, 0, 128, 255, 255, 255])
    assert pixels.dtype == np.uint8


def test_load_generator_names_the_fix_for_a_wrong_path(tmp_path):
    with pytest.raises(InputError, match=r"\./run.sh export --logdir"):
        export.load_generator(tmp_path)
