"""The trainer: real learning on the bundled MNIST, validation, NaN guard, precision."""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from tfgan_replica import checkpoints, data, export, images, networks, presets, sampling, trainer
from tfgan_replica.errors import InputError


def _quiet(**options):
    return dict(verbose=0, print_fn=lambda *_: None, **options)


def _mean_nn_distance(images_uint8, reference):
    """Mean L2 distance (in [-1, 1] pixel units) from each image to its nearest reference."""
    x = images_uint8.reshape(len(images_uint8), -1).astype(np.float32) / 127.5 - 1.0
    squared = (x ** 2).sum(1)[:, None] - 2.0 * x @ reference.T + (reference ** 2).sum(1)[None]
    return float(np.sqrt(np.maximum(squared.min(1), 0.0)).mean())


def test_short_training_moves_samples_towards_real_digits(tmp_path):
    """One epoch of the MLP GAN: samples get clearly closer to real digits and stay varied.

    In these units the untrained generator (random speckle) scores ~27, and so
    would one that is never updated; one good epoch reaches 12-15 with a pixel
    spread of 27-31 across samples (real digits: ~46), one collapsed image has
    no spread. With report B's PyTorch initialization the generator passes
    through a low-diversity phase (spread ~11 after 400 steps), hence a whole epoch.
    """
    real, _ = data.load_arrays("mnist", "test")
    reference = real[:2000].reshape(2000, -1).astype(np.float32) / 127.5 - 1.0
    preset = presets.get_preset("quickstart").replace(epochs=1)

    keras.utils.set_random_seed(preset.seed)
    untrained = export.export_generator(networks.build_generator("mlp"), tmp_path / "untrained")
    result = trainer.train(preset, logdir=tmp_path / "run", **_quiet())

    before = _mean_nn_distance(images.to_uint8(sampling.from_export(untrained, 256, seed=1)), reference)
    samples = images.to_uint8(sampling.from_export(result.export_path, 256, seed=1))
    after = _mean_nn_distance(samples, reference)
    assert result.step == 60000 // 64 and np.isfinite(list(result.metrics.values())).all()
    assert after < 0.75 * before, (before, after)
    assert samples.astype(np.float32).std(axis=0).mean() > 20  # neither one image nor a few


@pytest.mark.parametrize("name", ["cnn_hinge_sn", "cnn_hinge_sn_diffaug"])
def test_report_b_cnn_rows_move_samples_towards_real_digits(tmp_path, name):
    """300 steps of the CNN upgrade (with and without DiffAugment): samples get closer to
    real digits (distance as above) and stay varied."""
    real, _ = data.load_arrays("mnist", "test")
    reference = real[:2000].reshape(2000, -1).astype(np.float32) / 127.5 - 1.0
    preset = presets.get_preset(name).replace(epochs=1)

    keras.utils.set_random_seed(preset.seed)
    untrained = export.export_generator(networks.build_generator("cnn"), tmp_path / "untrained")
    result = trainer.train(preset, logdir=tmp_path / "run", steps_per_epoch=300, **_quiet())

    before = _mean_nn_distance(images.to_uint8(sampling.from_export(untrained, 256, seed=1)), reference)
    samples = images.to_uint8(sampling.from_export(result.export_path, 256, seed=1))
    after = _mean_nn_distance(samples, reference)
    assert result.step == 300 and np.isfinite(list(result.metrics.values())).all()
    assert after < 0.75 * before, (before, after)
    assert samples.astype(np.float32).std(axis=0).mean() > 20


def test_run_directory_layout(tmp_path):
    result = trainer.train("quickstart", logdir=tmp_path, epochs=2, steps_per_epoch=3, **_quiet())
    assert (tmp_path / "config.json").is_file()
    assert sorted(p.name for p in (tmp_path / "samples").iterdir()) == ["epoch_0001.png", "epoch_0002.png"]
    assert list((tmp_path / "tensorboard").glob("events.out.tfevents.*"))
    assert result.checkpoint.endswith("ckpt-6") and (result.step, result.epoch) == (6, 2)
    assert (tmp_path / "generator" / "saved_model.pb").is_file()


def test_grid_size_sets_the_samples_and_tensorboard_grid_and_a_resume_keeps_it(tmp_path):
    trainer.train("quickstart", logdir=tmp_path, epochs=1, steps_per_epoch=2, grid_size=3,
                  **_quiet())
    trainer.train(logdir=tmp_path, resume=True, epochs=2, **_quiet())
    side = 3 * 2 * 28 + 2 * 2  # 3 digits at 2x, 2 pixels apart
    for epoch in (1, 2):
        grid = np.asarray(Image.open(tmp_path / "samples" / f"epoch_{epoch:04d}.png"))
        assert grid.shape == (side, side)
    shown = [tf.image.decode_png(value.tensor.string_val[2]).shape
             for _, value in _events(tmp_path / "tensorboard")
             if value.metadata.plugin_data.plugin_name == "images"]
    assert shown and all(tuple(shape) == (side, side, 1) for shape in shown)
    assert json.loads((tmp_path / "config.json").read_text())["grid_size"] == 3
    with pytest.raises(InputError, match="grid_size must be >= 1"):
        trainer.train("quickstart", logdir=tmp_path / "bad", grid_size=0, **_quiet())


def _events(folder):
    for path in folder.glob("events.out.tfevents.*"):
        for event in tf.compat.v1.train.summary_iterator(str(path)):
            for value in event.summary.value:
                yield event.step, value


def _scalars(folder):
    """{tag: {step: value}} of a run's TensorBoard scalars."""
    scalars = {}
    for step, value in _events(folder):
        if value.metadata.plugin_data.plugin_name == "scalars":
            scalars.setdefault(value.tag, {})[step] = float(tf.make_ndarray(value.tensor))
    return scalars


def _image_steps(folder):
    """{tag: [steps]} of a run's TensorBoard images."""
    images = {}
    for step, value in _events(folder):
        if value.metadata.plugin_data.plugin_name == "images":
            images.setdefault(value.tag, []).append(step)
    return images


def test_tensorboard_shows_each_steps_value_and_the_epoch_mean_at_the_global_step(tmp_path):
    trainer.train("quickstart", logdir=tmp_path, epochs=2, steps_per_epoch=3,
                  log_every_n_steps=1, **_quiet())
    scalars = _scalars(tmp_path / "tensorboard")
    assert _image_steps(tmp_path / "tensorboard")["samples"] == [3, 6]
    for name in ("d_loss", "g_loss", "em_estimate", "d_grad_norm"):
        per_step, means = scalars[f"train/{name}"], scalars[f"train_mean/{name}"]
        assert sorted(per_step) == sorted(means) == [1, 2, 3, 4, 5, 6]
        for step in per_step:  # the Keras mean restarts each epoch of 3 steps
            first = step - (step - 1) % 3
            expected = np.mean([per_step[s] for s in range(first, step + 1)])
            assert means[step] == pytest.approx(expected, rel=1e-5, abs=1e-6), (name, step)
        assert len(set(per_step.values())) > 1


def test_gradient_norms_are_taken_on_the_logged_steps_and_averaged_over_them(tmp_path):
    trainer.train("quickstart", logdir=tmp_path, epochs=2, steps_per_epoch=4,
                  log_every_n_steps=2, **_quiet())
    scalars = _scalars(tmp_path / "tensorboard")
    for name in ("d_grad_norm", "g_grad_norm"):
        per_step, means = scalars[f"train/{name}"], scalars[f"train_mean/{name}"]
        assert sorted(per_step) == sorted(means) == [2, 4, 6, 8]
        assert all(value > 0 for value in per_step.values())
        for step in (4, 8):  # each epoch of 4 steps took norms on its 2nd and 4th
            expected = (per_step[step - 2] + per_step[step]) / 2
            assert means[step] == pytest.approx(expected, rel=1e-5), (name, step)


def test_a_step_of_several_critic_updates_is_one_global_step(tmp_path):
    """With `n_critic_in_step` a step makes 5 critic updates: the scalars, the grids and the
    checkpoint all count steps (batches)."""
    preset = presets.get_preset("mlp_wgan_clip").replace(n_critic_in_step=True, epochs=2)
    result = trainer.train(preset, logdir=tmp_path, steps_per_epoch=2, log_every_n_steps=1,
                           export_generator=False, **_quiet())
    assert result.step == 4
    assert _image_steps(tmp_path / "tensorboard")["samples"] == [2, 4]
    assert sorted(_scalars(tmp_path / "tensorboard")["train/g_grad_norm"]) == [1, 2, 3, 4]


class _ThreeReplicas:
    num_replicas_in_sync = 3


@pytest.mark.parametrize("options, problem", [
    (dict(precision="float8"), "unknown precision 'float8'"),
    (dict(strategy="tpu"), "unknown strategy 'tpu'"),
    (dict(steps_per_epoch=0), "steps_per_epoch must be >= 1"),
    (dict(epochs=0), "must be positive"),
    (dict(diffaug="zoom"), "zoom"),
    (dict(resume=True), "cannot resume"),
    (dict(train_split="test"), "cannot train on split 'test'"),
])
def test_bad_options_fail_before_anything_is_written(tmp_path, options, problem):
    logdir = tmp_path / "run"
    with pytest.raises((ValueError, FileNotFoundError), match=problem):
        trainer.train("quickstart", logdir=logdir, **_quiet(**options))
    assert not logdir.exists()


def test_multi_worker_needs_one_logdir_for_all_workers(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match="multi_worker needs --logdir"):
        trainer.train("quickstart", strategy="multi_worker", **_quiet())
    assert not list(tmp_path.iterdir())


def test_batch_size_must_divide_over_replicas(tmp_path, monkeypatch):
    monkeypatch.setattr(trainer, "make_strategy", lambda name: _ThreeReplicas())
    with pytest.raises(ValueError, match="batch size 64 is not divisible by the 3 replicas"):
        trainer.train("quickstart", logdir=tmp_path / "run", **_quiet())
    assert not (tmp_path / "run").exists()
    assert keras.mixed_precision.global_policy().name == "float32"


def test_an_existing_run_is_never_overwritten(tmp_path):
    trainer.train("quickstart", logdir=tmp_path, epochs=1, steps_per_epoch=2, **_quiet())
    before = sorted(p.name for p in (tmp_path / "checkpoints").iterdir())
    with pytest.raises(InputError, match="pass --resume"):
        trainer.train("quickstart", logdir=tmp_path, epochs=1, steps_per_epoch=2, **_quiet())
    assert sorted(p.name for p in (tmp_path / "checkpoints").iterdir()) == before


def test_nan_guard_names_the_step_and_keeps_the_last_good_checkpoint(tmp_path, monkeypatch):
    """From step 5 on the data holds NaN: the run stops there; ckpt-3 stays the newest."""
    make_dataset = data.make_dataset

    def poisoned(*args, **kwargs):
        batches = make_dataset(*args, **kwargs).enumerate()
        return batches.map(lambda i, x: tf.where(i >= 4, np.float32("nan"), x))

    monkeypatch.setattr(data, "make_dataset", poisoned)
    with pytest.raises(trainer.TrainingDiverged,
                       match=r"diverged at step 5: .*last good checkpoint: .*ckpt-3$"):
        trainer.train("quickstart", logdir=tmp_path, epochs=3, steps_per_epoch=3, **_quiet())

    latest = tf.train.latest_checkpoint(str(tmp_path / "checkpoints"))
    assert latest.endswith("ckpt-3")
    generator = networks.build_generator("mlp")
    checkpoints.restore_generator(generator, latest)
    assert all(np.isfinite(w).all() for w in generator.get_weights())


def test_mixed_bfloat16_trains_and_restores_the_policy(tmp_path):
    result = trainer.train("quickstart", logdir=tmp_path, epochs=1, steps_per_epoch=3,
                           precision="mixed_bfloat16", **_quiet())
    assert np.isfinite(list(result.metrics.values())).all()
    assert keras.mixed_precision.global_policy().name == "float32"
    serve, _ = export.load_generator(result.export_path)
    z = np.random.default_rng(0).standard_normal((8, 100)).astype(np.float32)
    assert serve(z).dtype == tf.float32
    # The export computes in float32: it equals a float32 generator with the trained weights.
    generator = networks.build_generator("mlp")
    checkpoints.restore_generator(generator, result.checkpoint)
    np.testing.assert_allclose(serve(z).numpy(), generator(z, training=False).numpy(), atol=1e-6)

    with pytest.raises(ValueError, match="in float32: it was trained in mixed_bfloat16"):
        trainer.train(logdir=tmp_path, resume=True, epochs=2, precision="float32", **_quiet())
    trainer.train(logdir=tmp_path, resume=True, epochs=2, **_quiet())  # keeps its precision
    assert json.loads((tmp_path / "config.json").read_text())["precision"] == "mixed_bfloat16"


def test_train_split_is_read_recorded_in_the_config_and_kept_on_resume(tmp_path, monkeypatch):
    read = []
    load_arrays = data.load_arrays
    monkeypatch.setattr(data, "load_arrays",
                        lambda name, split, source=None: (read.append(split),
                                                          load_arrays(name, split, source))[1])
    trainer.train("quickstart", logdir=tmp_path, epochs=1, steps_per_epoch=2,
                  train_split="train_fit", **_quiet())
    assert json.loads((tmp_path / "config.json").read_text())["train_split"] == "train_fit"
    with pytest.raises(InputError, match="on split 'train': it was trained on 'train_fit'"):
        trainer.train(logdir=tmp_path, resume=True, epochs=2, train_split="train", **_quiet())
    trainer.train(logdir=tmp_path, resume=True, epochs=2, **_quiet())
    assert read == ["train_fit", "train_fit"]
    assert json.loads((tmp_path / "config.json").read_text())["train_split"] == "train_fit"


def test_the_ema_generator_is_checkpointed_and_exported(tmp_path):
    preset = presets.get_preset("quickstart").replace(ema_decay=0.9)
    result = trainer.train(preset, logdir=tmp_path, epochs=1, steps_per_epoch=3, **_quiet())
    again = export.export_run(tmp_path, tmp_path / "from_checkpoint")
    np.testing.assert_array_equal(images.to_uint8(sampling.from_export(result.export_path, 16)),
                                  images.to_uint8(sampling.from_export(again, 16)))


def test_wgan_clip_preset_keeps_the_critic_clipped(tmp_path):
    result = trainer.train("wgan_clip_mnist", logdir=tmp_path, epochs=1, steps_per_epoch=5,
                           batch_size=32, export_generator=False, **_quiet())
    critic = networks.build_discriminator("dcgan_improved")
    tf.train.Checkpoint(discriminator=critic).restore(result.checkpoint).expect_partial()
    assert max(np.abs(keras.ops.convert_to_numpy(v)).max() for v in critic.trainable_variables) <= 0.01
    assert "em_estimate" in result.metrics


def test_mirrored_strategy_trains(tmp_path):
    result = trainer.train("quickstart", logdir=tmp_path, epochs=1, steps_per_epoch=3,
                           strategy="mirrored", **_quiet())
    assert result.step == 3 and np.isfinite(list(result.metrics.values())).all()
    assert tf.distribute.get_strategy().num_replicas_in_sync == 1  # the scope was left


def test_segments_finish_an_interrupted_epoch_first():
    assert trainer._segments(0, 10, 3) == [(0, 3, 10)]
    assert trainer._segments(20, 10, 3) == [(2, 3, 10)]
    assert trainer._segments(23, 10, 3) == [(2, 3, 7)]
    assert trainer._segments(13, 10, 3) == [(1, 2, 7), (2, 3, 10)]
    assert trainer._segments(30, 10, 3) == []
