"""Datasets: range, shape, determinism, every local format, every error case, tfds."""

import gzip
import struct
import time

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds
from PIL import Image

from tfgan_replica import data


def fake_digits(count, seed=0, shape=(28, 28)):
    return np.random.default_rng(seed).integers(0, 256, (count, *shape), dtype=np.uint8)


def write_keras_npz(path, train=None, test=None, **overrides):
    train = fake_digits(12) if train is None else train
    test = fake_digits(6, seed=1) if test is None else test
    arrays = {
        "x_train": train, "y_train": np.arange(len(train)) % 10,
        "x_test": test, "y_test": np.arange(len(test)) % 10,
    }
    arrays.update(overrides)
    np.savez(path, **arrays)
    return arrays


def write_idx(path, array, compress=False):
    header = bytes([0, 0, 8, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    payload = header + array.astype(np.uint8).tobytes()
    path.write_bytes(gzip.compress(payload) if compress else payload)


def test_bundled_mnist_is_real_mnist():
    images, labels = data.load_arrays("mnist", "train")
    assert images.shape == (60000, 28, 28, 1) and images.dtype == np.uint8
    np.testing.assert_array_equal(labels[:10], [5, 0, 4, 1, 9, 2, 1, 3, 1, 4])
    np.testing.assert_array_equal(np.bincount(labels), [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949])
    test_images, test_labels = data.load_arrays("mnist", "test")
    assert test_images.shape == (10000, 28, 28, 1)
    np.testing.assert_array_equal(test_labels[:10], [7, 2, 1, 0, 4, 1, 4, 9, 5, 9])


def test_holdout_and_train_fit_cut_the_train_split_in_two_the_same_way_every_time():
    train, train_labels = data.load_arrays("mnist", "train")
    holdout, holdout_labels = data.load_arrays("mnist", "holdout")
    fit, fit_labels = data.load_arrays("mnist", "train_fit")
    assert holdout.shape == (10_000, 28, 28, 1) and fit.shape == (50_000, 28, 28, 1)
    held_out = data.holdout_indices(len(train))
    np.testing.assert_array_equal(held_out[:5], [7, 8, 10, 20, 29])  # a fixed choice
    rest = np.setdiff1d(np.arange(len(train)), held_out)  # disjoint, and all of train together
    assert len(np.unique(held_out)) == 10_000 and len(rest) == 50_000
    np.testing.assert_array_equal(holdout, train[held_out])
    np.testing.assert_array_equal(holdout_labels, train_labels[held_out])
    np.testing.assert_array_equal(fit, train[rest])
    np.testing.assert_array_equal(fit_labels, train_labels[rest])
    again, _ = data.load_arrays("mnist", "holdout")
    np.testing.assert_array_equal(again, holdout)
    assert set(np.bincount(holdout_labels)) <= set(range(850, 1150))  # every digit, ~10% each


def test_a_source_too_small_to_hold_out_from_fails_clearly(tmp_path):
    write_keras_npz(tmp_path / "digits.npz")
    for split in ("holdout", "train_fit"):
        with pytest.raises(data.DatasetError, match=r"digits.npz: the train split holds 12 "
                           r"images, too few to hold out 10,000"):
            data.load_arrays("mnist", split, source=tmp_path / "digits.npz")
    assert len(data.load_arrays("mnist", "train", source=tmp_path / "digits.npz")[0]) == 12


def test_load_dataset_batches_float_images_in_range():
    batch = next(iter(data.load_dataset("mnist", "test", batch_size=32)))
    assert batch.shape == (32, 28, 28, 1) and batch.dtype == tf.float32
    assert float(tf.reduce_min(batch)) == -1.0 and float(tf.reduce_max(batch)) == 1.0


def test_to_float_maps_endpoints_exactly():
    np.testing.assert_array_equal(data.to_float(np.array([0, 255], np.uint8)).numpy(), [-1.0, 1.0])


def first_epoch(dataset, steps):
    return np.concatenate([batch.numpy() for batch in dataset.take(steps)])


def test_shuffle_is_deterministic_under_a_seed_and_differs_across_seeds():
    images = fake_digits(40)[..., None]
    same_a = first_epoch(data.make_dataset(images, 8, seed=3), 5)
    same_b = first_epoch(data.make_dataset(images, 8, seed=3), 5)
    other = first_epoch(data.make_dataset(images, 8, seed=4), 5)
    np.testing.assert_array_equal(same_a, same_b)
    assert not np.array_equal(same_a, other)
    # One epoch is a permutation of the whole set.
    assert sorted(map(bytes, same_a)) == sorted(map(bytes, data.to_float(images).numpy()))


def test_each_epoch_has_its_own_order_and_resuming_at_an_epoch_reproduces_it():
    images = fake_digits(40)[..., None]
    stream = first_epoch(data.make_dataset(images, 8, seed=0), 15)  # epochs 0, 1, 2
    epochs = stream.reshape(3, 40, 28, 28, 1)
    assert not np.array_equal(epochs[0], epochs[1])
    resumed = first_epoch(data.make_dataset(images, 8, seed=0, start_epoch=2), 5)
    np.testing.assert_array_equal(resumed, epochs[2])


def test_drop_remainder_and_unshuffled_order():
    images = fake_digits(10)[..., None]
    batches = list(data.make_dataset(images, 4, shuffle=False, drop_remainder=False))
    assert [len(b) for b in batches] == [4, 4, 2]
    np.testing.assert_array_equal(np.concatenate(batches), data.to_float(images).numpy())
    with pytest.raises(data.DatasetError, match="cannot fill one batch"):
        data.make_dataset(images, 16)


def test_local_keras_npz(tmp_path):
    arrays = write_keras_npz(tmp_path / "digits.npz")
    images, labels = data.load_arrays("mnist", "test", source=tmp_path / "digits.npz")
    np.testing.assert_array_equal(images[..., 0], arrays["x_test"])
    np.testing.assert_array_equal(labels, arrays["y_test"])


@pytest.mark.parametrize("compress", [False, True])
def test_local_idx_folder(tmp_path, compress):
    suffix = ".gz" if compress else ""
    images, labels = fake_digits(7), np.arange(7, dtype=np.uint8)
    write_idx(tmp_path / f"t10k-images-idx3-ubyte{suffix}", images, compress)
    write_idx(tmp_path / f"t10k-labels-idx1-ubyte{suffix}", labels, compress)
    loaded, loaded_labels = data.load_arrays("mnist", "test", source=tmp_path)
    np.testing.assert_array_equal(loaded[..., 0], images)
    np.testing.assert_array_equal(loaded_labels, labels)


def test_local_png_folder_grayscale_and_rgb(tmp_path):
    gray = fake_digits(3)
    for i, image in enumerate(gray):
        Image.fromarray(image).save(tmp_path / f"{i}.png")
    loaded, labels = data.load_arrays("mnist", "train", source=tmp_path)
    np.testing.assert_array_equal(loaded[..., 0], gray)
    assert (labels == -1).all()
    rgb_dir = tmp_path / "svhn" / "test"
    rgb_dir.mkdir(parents=True)
    colour = fake_digits(2, shape=(32, 32, 3))
    for i, image in enumerate(colour):
        Image.fromarray(image).save(rgb_dir / f"{i}.png")
    loaded, _ = data.load_arrays("svhn", "test", source=tmp_path / "svhn")
    np.testing.assert_array_equal(loaded, colour)


def test_missing_file_names_the_path(tmp_path):
    with pytest.raises(data.DatasetError, match="missing.npz: no such file"):
        data.load_arrays("mnist", "train", source=tmp_path / "missing.npz")
    with pytest.raises(data.DatasetError, match="not found"):
        data.load_arrays("mnist", "train", source=tmp_path / "nowhere")


def test_truncated_npz(tmp_path):
    write_keras_npz(tmp_path / "full.npz")
    raw = (tmp_path / "full.npz").read_bytes()
    (tmp_path / "cut.npz").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(data.DatasetError, match="cut.npz: truncated or corrupt"):
        data.load_arrays("mnist", "train", source=tmp_path / "cut.npz")


def test_npz_without_the_split(tmp_path):
    np.savez(tmp_path / "odd.npz", images=fake_digits(3))
    with pytest.raises(data.DatasetError, match="missing arrays"):
        data.load_arrays("mnist", "train", source=tmp_path / "odd.npz")


def test_a_split_the_file_lacks_names_the_splits_it_holds(tmp_path):
    with pytest.raises(data.DatasetError, match="holds no split 'validation', only test, train"):
        data.load_arrays("mnist", "validation")
    write_keras_npz(tmp_path / "digits.npz")
    with pytest.raises(data.DatasetError, match="digits.npz holds no split 'extra', only test, train"):
        data.load_arrays("mnist", "extra", source=tmp_path / "digits.npz")


def test_wrong_shape_dtype_and_label_count(tmp_path):
    write_keras_npz(tmp_path / "shape.npz", train=fake_digits(4, shape=(32, 32)))
    with pytest.raises(data.DatasetError, match=r"shape \(32, 32, 1\) but mnist needs \(28, 28, 1\)"):
        data.load_arrays("mnist", "train", source=tmp_path / "shape.npz")
    write_keras_npz(tmp_path / "dtype.npz", train=fake_digits(4).astype(np.float32))
    with pytest.raises(data.DatasetError, match="must be uint8"):
        data.load_arrays("mnist", "train", source=tmp_path / "dtype.npz")
    write_keras_npz(tmp_path / "count.npz", y_train=np.zeros(3))
    with pytest.raises(data.DatasetError, match="12 images but 3 labels"):
        data.load_arrays("mnist", "train", source=tmp_path / "count.npz")


def test_truncated_and_corrupt_idx(tmp_path):
    write_idx(tmp_path / "train-images-idx3-ubyte", fake_digits(5))
    write_idx(tmp_path / "train-labels-idx1-ubyte", np.arange(5, dtype=np.uint8))
    raw = (tmp_path / "train-images-idx3-ubyte").read_bytes()
    (tmp_path / "train-images-idx3-ubyte").write_bytes(raw[:-100])
    with pytest.raises(data.DatasetError, match="truncated or corrupt"):
        data.load_arrays("mnist", "train", source=tmp_path)
    (tmp_path / "train-images-idx3-ubyte").unlink()
    (tmp_path / "train-images-idx3-ubyte.gz").write_bytes(gzip.compress(raw)[:50])
    with pytest.raises(data.DatasetError, match="corrupt gzip"):
        data.load_arrays("mnist", "train", source=tmp_path)
    with pytest.raises(data.DatasetError, match="missing t10k-images-idx3-ubyte"):
        data.load_arrays("mnist", "test", source=tmp_path)


def test_png_folder_errors(tmp_path):
    with pytest.raises(data.DatasetError, match="no .png images"):
        data.load_arrays("mnist", "train", source=tmp_path)
    Image.fromarray(fake_digits(1)[0]).save(tmp_path / "a.png")
    Image.fromarray(fake_digits(1, shape=(20, 20))[0]).save(tmp_path / "b.png")
    with pytest.raises(data.DatasetError, match="differ in shape"):
        data.load_arrays("mnist", "train", source=tmp_path)
    (tmp_path / "b.png").write_bytes(b"not a png")
    with pytest.raises(data.DatasetError, match="b.png: unreadable PNG"):
        data.load_arrays("mnist", "train", source=tmp_path)


def test_unknown_dataset_and_unbundled_dataset():
    with pytest.raises(data.DatasetError, match="unknown dataset 'cifar10'"):
        data.load_arrays("cifar10")
    with pytest.raises(data.DatasetError, match="only MNIST is bundled"):
        data.load_arrays("svhn", source="bundled")


def test_bundled_copy_hash_mismatch(tmp_path, monkeypatch):
    tampered = tmp_path / "mnist.npz"
    write_keras_npz(tampered)
    monkeypatch.setattr(data, "BUNDLED_MNIST", tampered)
    with pytest.raises(data.DatasetError, match="does not match the bundled MNIST"):
        data.load_arrays("mnist")


def test_tfds_svhn_through_mock_data(monkeypatch):
    monkeypatch.setattr(data, "network_available", lambda: True)
    with tfds.testing.mock_data(num_examples=20):
        images, labels = data.load_arrays("svhn", "train")
        assert images.shape == (20, 32, 32, 3) and images.dtype == np.uint8
        assert labels.shape == (20,)
        batch = next(iter(data.load_dataset("svhn", "train", batch_size=8)))
    assert batch.shape == (8, 32, 32, 3)
    assert -1.0 <= float(tf.reduce_min(batch)) <= float(tf.reduce_max(batch)) <= 1.0


def test_tfds_offline_fails_fast_with_instructions(monkeypatch, tmp_path):
    monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path))
    monkeypatch.setattr(data, "network_available", lambda: False)
    start = time.monotonic()
    with pytest.raises(data.DatasetError,
                       match="'svhn_cropped' is not downloaded.*--data_source=PATH to train"):
        data.load_arrays("svhn", "train")
    assert time.monotonic() - start < 10


def test_network_probe_gives_up_quickly_on_a_closed_port():
    start = time.monotonic()
    assert data.network_available(("127.0.0.1", 9), seconds=2.0) is False
    assert time.monotonic() - start < 3
