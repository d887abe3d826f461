"""Checkpoints: exact resume after kill -9 or SIGTERM, training time kept, partial state refused,
a damaged checkpoint skipped for the newest intact one."""

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from conftest import checkpointed_values
from tfgan_replica import checkpoints, gan, networks, presets, run_records, trainer
from tfgan_replica.errors import InputError

STEPS_PER_EPOCH = 150


def _quiet(messages=None, **options):
    print_fn = messages.append if messages is not None else (lambda *_: None)
    return dict(verbose=0, print_fn=print_fn, **options)


def _start_training(logdir, log_path):
    """`python -m tfgan_replica.cli.train` in a subprocess, long enough to be interrupted."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    with open(log_path, "w") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "tfgan_replica.cli.train", "--preset=quickstart", "--epochs=50",
             f"--steps_per_epoch={STEPS_PER_EPOCH}", f"--logdir={logdir}"],
            stdout=log, stderr=subprocess.STDOUT, env=env)


def _wait_for_first_checkpoint(process, logdir, log_path, timeout=180, after=None):
    """The newest checkpoint's path once there is one (other than `after`)."""
    deadline = time.monotonic() + timeout
    while tf.train.latest_checkpoint(str(logdir / "checkpoints")) in (None, after):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"no checkpoint appeared; training log:\n{log_path.read_text()}")
        time.sleep(0.2)
    return tf.train.latest_checkpoint(str(logdir / "checkpoints"))


def _weights(checkpoint_path):
    """All generator and discriminator weights stored in a checkpoint."""
    generator, discriminator = networks.build_generator("mlp"), networks.build_discriminator("mlp")
    tf.train.Checkpoint(generator=generator, discriminator=discriminator).restore(
        checkpoint_path).expect_partial()
    return generator.get_weights() + discriminator.get_weights()


def _step_of(checkpoint_path):
    return int(checkpoint_path.rsplit("-", 1)[1])


def test_resume_after_kill_9_continues_like_an_uninterrupted_run(tmp_path):
    logdir, log_path = tmp_path / "killed", tmp_path / "killed.log"
    process = _start_training(logdir, log_path)
    _wait_for_first_checkpoint(process, logdir, log_path)
    time.sleep(1.0)  # into the next epoch
    process.send_signal(signal.SIGKILL)
    process.wait()
    saved_step = _step_of(tf.train.latest_checkpoint(str(logdir / "checkpoints")))
    assert saved_step % STEPS_PER_EPOCH == 0
    epochs = saved_step // STEPS_PER_EPOCH + 1

    messages = []
    resumed = trainer.train(logdir=logdir, resume=True, epochs=epochs, **_quiet(messages))
    assert f"step {saved_step}" in messages[0]
    assert resumed.step == saved_step + STEPS_PER_EPOCH and resumed.epoch == epochs

    reference = trainer.train("quickstart", logdir=tmp_path / "reference", epochs=epochs,
                              steps_per_epoch=STEPS_PER_EPOCH, **_quiet())
    assert reference.step == resumed.step
    for got, want in zip(_weights(resumed.checkpoint), _weights(reference.checkpoint)):
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("name, changes", [
    ("mlp_diffaug_ct", {}),  # the template's dropout, spectral norm, hinge, DiffAugment
    ("mlp_wgan_gp", dict(ema_decay=0.99, diffaug="cutout",  # penalty, EMA, augmentation,
                         d_optimizer=presets.OptimizerConfig(decay_steps=10),  # decaying rates
                         g_optimizer=presets.OptimizerConfig(decay_steps=3))),
    ("mlp_wgan_clip", {}),  # clipping, n_critic 5
    ("mlp_wgan_clip", dict(n_critic_in_step=True)),  # 5 critic updates inside each step
    ("best_dcgan", dict(batch_size=16, diffaug="translation")),  # batch norm, EMA, smoothing
])
def test_an_interrupted_and_resumed_run_equals_an_uninterrupted_one(tmp_path, name, changes):
    preset = presets.get_preset(name).replace(epochs=2, **changes)
    options = dict(steps_per_epoch=7, export_generator=False, **_quiet())
    whole = trainer.train(preset, logdir=tmp_path / "whole", **options)
    trainer.train(preset.replace(epochs=1), logdir=tmp_path / "parts", **options)
    resumed = trainer.train(logdir=tmp_path / "parts", resume=True, epochs=2, **options)
    assert resumed.step == whole.step == 14
    got, want = checkpointed_values(resumed.checkpoint), checkpointed_values(whole.checkpoint)
    assert sorted(got) == sorted(want) and len(got) > 20
    for key in want:  # networks, optimizer slots, EMA, random state: bit for bit
        np.testing.assert_array_equal(got[key], want[key], err_msg=key)


def test_a_run_suspended_by_sigtstp_leaves_the_pause_out_of_its_clock(tmp_path):
    """Ctrl-Z (or kill -TSTP) while a run shares the machine: the clock its checkpoints
    keep counts the training, not the pause."""
    logdir, log_path = tmp_path / "run", tmp_path / "run.log"
    process = _start_training(logdir, log_path)
    first = _wait_for_first_checkpoint(process, logdir, log_path)
    process.send_signal(signal.SIGTSTP)
    time.sleep(3.0)
    process.send_signal(signal.SIGCONT)
    second = _wait_for_first_checkpoint(process, logdir, log_path, after=first)
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=60)
    wall = os.path.getmtime(f"{second}.index") - os.path.getmtime(f"{first}.index")
    clock = (tf.train.load_variable(second, "train_seconds/.ATTRIBUTES/VARIABLE_VALUE")
             - tf.train.load_variable(first, "train_seconds/.ATTRIBUTES/VARIABLE_VALUE"))
    assert wall - clock > 2.0, (wall, clock)


def test_sigterm_saves_mid_epoch_and_resume_finishes_that_epoch(tmp_path):
    logdir, log_path = tmp_path / "run", tmp_path / "run.log"
    process = _start_training(logdir, log_path)
    _wait_for_first_checkpoint(process, logdir, log_path)
    time.sleep(1.0)
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=60) == 130, log_path.read_text()
    log = log_path.read_text()
    assert "interrupted at step" in log and "--resume" in log

    latest = tf.train.latest_checkpoint(str(logdir / "checkpoints"))
    saved_step = _step_of(latest)
    assert f"interrupted at step {saved_step}" in log
    epochs = saved_step // STEPS_PER_EPOCH + 1
    with pytest.raises(ValueError, match=r"other settings \['batch_size'\]"):
        trainer.train(presets.get_preset("quickstart").replace(batch_size=32), logdir=logdir,
                      resume=True, **_quiet())
    interrupted_seconds = tf.train.load_variable(latest, "train_seconds/.ATTRIBUTES/VARIABLE_VALUE")
    assert interrupted_seconds > 1.0  # trained past the first checkpoint for a second
    started = time.monotonic()
    resumed = trainer.train(presets.get_preset("quickstart").replace(epochs=epochs),
                            logdir=logdir, resume=True, **_quiet())
    resumed_wall = time.monotonic() - started
    assert resumed.step == epochs * STEPS_PER_EPOCH and resumed.epoch == epochs
    # the time of the interrupted part is kept and this part's is added
    assert interrupted_seconds < resumed.train_seconds < interrupted_seconds + resumed_wall
    assert sorted(p.name for p in (logdir / "samples").iterdir())[-1] == f"epoch_{epochs:04d}.png"


class _EpochEndEvaluation(keras.callbacks.Callback):
    """Stands for the FID curve: a second of work after each epoch's checkpoint."""

    def on_epoch_end(self, epoch, logs=None):
        time.sleep(1.0)


def test_the_saved_clock_holds_the_evaluation_after_the_epochs_checkpoint(tmp_path):
    """A run killed before its next save, or continued past its last epoch, resumes from
    the last checkpoint: its clock must already count the epoch-end evaluation, which
    `run_records.training_minutes` subtracts from the later clock values."""
    options = dict(steps_per_epoch=3, export_generator=False, **_quiet())
    trainer.train(presets.get_preset("mlp_bce").replace(epochs=1), logdir=tmp_path,
                  extra_callbacks=[_EpochEndEvaluation()], **options)
    (step, logged), = run_records.read_scalars(tmp_path / "tensorboard")["train_seconds"]
    latest = tf.train.latest_checkpoint(str(tmp_path / "checkpoints"))
    assert _step_of(latest) == step == 3
    saved = tf.train.load_variable(latest, "train_seconds/.ATTRIBUTES/VARIABLE_VALUE")
    assert saved >= logged + 1.0
    resumed = trainer.train(logdir=tmp_path, resume=True, epochs=2, **options)
    assert resumed.train_seconds > saved


def test_the_stream_resumed_at_a_step_is_the_uninterrupted_stream():
    images = np.arange(10 * 2 * 2, dtype=np.uint8).reshape(10, 2, 2, 1)
    full = list(trainer.stream_from_step(images, 3, seed=7, step=0).take(11).as_numpy_iterator())
    for step in (1, 3, 5, 9):
        later = list(trainer.stream_from_step(images, 3, seed=7, step=step).take(2).as_numpy_iterator())
        np.testing.assert_array_equal(later, full[step:step + 2])
    assert not np.array_equal(full[0], full[3])  # each data epoch has its own order


def test_a_non_finite_state_is_never_saved(tmp_path):
    model = gan.make_gan("bce", networks.build_generator("mlp"), networks.build_discriminator("mlp"))
    model.compile(keras.optimizers.Adam(), keras.optimizers.Adam())
    checkpointer = checkpoints.Checkpointer(model, tmp_path)
    good = checkpointer.save()
    weight = model.generator.trainable_variables[0]
    weight.assign(weight * np.float32("nan"))
    with pytest.raises(checkpoints.NonFiniteStateError, match=f"last good checkpoint is {good}"):
        checkpointer.save()
    assert checkpointer.latest == good


def test_a_checkpoint_missing_part_of_the_state_is_refused_by_name(tmp_path):
    model = gan.make_gan("bce", networks.build_generator("mlp"), networks.build_discriminator("mlp"))
    model.compile(keras.optimizers.Adam(), keras.optimizers.Adam())
    older = tf.train.Checkpoint(generator=model.generator, discriminator=model.discriminator)
    tf.train.CheckpointManager(older, tmp_path, max_to_keep=1).save(checkpoint_number=7)
    with pytest.raises(checkpoints.CheckpointMismatchError, match="ckpt-7 does not hold.*new run"):
        checkpoints.Checkpointer(model, tmp_path).restore_latest()


def _damage(checkpoint_path):
    """Cuts a checkpoint's data file short, as a full disk or an interrupted copy leaves it."""
    data_file = f"{checkpoint_path}.data-00000-of-00001"
    os.truncate(data_file, os.path.getsize(data_file) // 3)


DAMAGED_NOTICE = r"checkpoint .*ckpt-6 is damaged \(.+\); using ckpt-3, the newest intact one"


class _CtrlCAtSecondStep(keras.callbacks.Callback):
    def on_train_batch_end(self, batch, logs=None):
        if batch == 1:
            signal.raise_signal(signal.SIGINT)


class _CtrlCDuringLastEvaluation(keras.callbacks.Callback):
    """A Ctrl-C while the last epoch is evaluated, after its last step."""

    def on_epoch_end(self, epoch, logs=None):
        if epoch + 1 == self.params["epochs"]:
            signal.raise_signal(signal.SIGINT)


def test_a_ctrl_c_after_the_last_step_still_interrupts_the_run(tmp_path):
    """No step follows to stop at: the run is saved at its end and reported interrupted, so
    a caller (reproduce) stops instead of going on to evaluate it."""
    options = dict(steps_per_epoch=3, export_generator=False, **_quiet())
    stopped = trainer.train(presets.get_preset("mlp_bce").replace(epochs=2), logdir=tmp_path,
                            extra_callbacks=[_CtrlCDuringLastEvaluation()], **options)
    assert stopped.interrupted and stopped.step == 6 and stopped.epoch == 2
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # handlers restored
    resumed = trainer.train(logdir=tmp_path, resume=True, **options)
    assert not resumed.interrupted and resumed.step == 6


def test_console_of_a_ctrl_c_mid_epoch_and_its_resume(tmp_path, capsys):
    """The bar stops at the step reached, not the epoch's last, and the resume line counts
    epochs from 1 as the epoch lines do."""
    messages = []
    options = dict(epochs=3, steps_per_epoch=5, export_generator=False, verbose=2,
                   print_fn=messages.append)
    stopped = trainer.train("quickstart", logdir=tmp_path, extra_callbacks=[_CtrlCAtSecondStep()],
                            **options)
    assert stopped.interrupted and 1 < stopped.step < 5
    bars = capsys.readouterr().out.splitlines()
    assert f"{stopped.step}/5 - " in bars[-1] and "5/5" not in "".join(bars)
    assert messages[0].startswith(f"epoch 1/3 step {stopped.step} ")

    messages.clear()
    trainer.train(logdir=tmp_path, resume=True, **options)
    assert messages[0].startswith(f"resuming {stopped.checkpoint} at epoch 1, step {stopped.step}")
    assert messages[1].startswith("epoch 1/3 step 5 ")
    assert capsys.readouterr().out.startswith("Epoch 1/3\n")  # of the run, not of its first fit


def test_a_damaged_newest_checkpoint_is_named_and_the_newest_intact_one_used(tmp_path, capsys):
    from tfgan_replica.metrics import sources

    run = trainer.train("quickstart", logdir=tmp_path / "run", epochs=2, steps_per_epoch=3,
                        export_generator=False, **_quiet())
    uninterrupted = checkpointed_values(run.checkpoint)
    _damage(run.checkpoint)

    exported = subprocess.run(
        [sys.executable, "-m", "tfgan_replica.cli.export", f"--logdir={run.run_dir}",
         f"--output={tmp_path / 'export'}"], capture_output=True, text=True, timeout=300,
        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
    assert exported.returncode == 0, exported.stderr
    assert any(re.fullmatch(DAMAGED_NOTICE, line) for line in exported.stderr.splitlines()), \
        exported.stderr
    assert (tmp_path / "export" / "saved_model.pb").is_file()

    assert sources.load_samples(run.run_dir, 4).shape == (4, 28, 28, 1)  # evaluate --generator=RUN
    assert re.fullmatch(DAMAGED_NOTICE, capsys.readouterr().err.strip())

    messages = []
    resumed = trainer.train(logdir=run.run_dir, resume=True, export_generator=False,
                            **_quiet(messages))
    assert re.fullmatch(DAMAGED_NOTICE, messages[0])
    assert messages[1].startswith(f"resuming {run.run_dir / 'checkpoints' / 'ckpt-3'} at epoch 2, "
                                  "step 3")
    assert messages[2].startswith("epoch 2/2 step 6 ")
    assert (resumed.start_step, resumed.step, resumed.epoch) == (3, 6, 2)
    got = checkpointed_values(resumed.checkpoint)  # ckpt-6 written again, intact
    assert sorted(got) == sorted(uninterrupted)
    for key, value in uninterrupted.items():
        np.testing.assert_array_equal(got[key], value, err_msg=key)


def test_without_an_intact_checkpoint_resume_names_the_damage_and_the_fix(tmp_path):
    run = trainer.train("quickstart", logdir=tmp_path, epochs=1, steps_per_epoch=2,
                        export_generator=False, **_quiet())
    _damage(run.checkpoint)
    with pytest.raises(InputError,
                       match=r"no intact checkpoint in .*: ckpt-2 is damaged \(.+\); train the run "
                             r"again in a new --logdir"):
        trainer.train(logdir=tmp_path, resume=True, epochs=2, **_quiet())


def test_resuming_a_finished_run_says_so_and_how_to_train_it_longer(tmp_path):
    trainer.train("quickstart", logdir=tmp_path, epochs=1, steps_per_epoch=2,
                  export_generator=False, **_quiet())
    messages = []
    result = trainer.train(logdir=tmp_path, resume=True, export_generator=False,
                           **_quiet(messages))
    assert messages == [f"{tmp_path} has finished its 1 epoch (step 2); to train it longer, "
                        "resume it with --epochs=N for an N above 1"]
    assert (result.step, result.epoch, result.interrupted) == (2, 1, False)


# A run's state as the version before the loss registry wrote it (commit 801cea1): for
# `family`, `_small_gan` with keras.utils.set_random_seed(0), compiled with its optimizers at
# rate 1e-3, fit for one epoch of 6 steps (batch 8, test_gan.real_images(48), no shuffle)
# with a `CheckpointCallback` into `gan_state_v1/FAMILY/`; `_run_state` of the result in
# `FAMILY.npz`, and the hinge model also saved as `hinge.keras`.
STATE_V1 = Path(__file__).parent / "data" / "gan_state_v1"
STATE_V1_RUNS = {"hinge": (keras.optimizers.Adam, dict(ema_decay=0.5)),
                 "wgan_clip": (keras.optimizers.RMSprop, dict(clip_value=0.05, n_critic=5))}


def _small_gan(family):
    """A GAN of `family` on networks small enough for a fixture (batch norm in G)."""
    optimizer, options = STATE_V1_RUNS[family]
    generator = keras.Sequential([
        keras.Input((2,)), keras.layers.Dense(4), keras.layers.BatchNormalization(),
        keras.layers.Dense(64, activation="tanh"), keras.layers.Reshape((8, 8, 1))])
    discriminator = keras.Sequential([
        keras.Input((8, 8, 1)), keras.layers.Flatten(), keras.layers.Dense(1)])
    model = gan.make_gan(family, generator, discriminator, latent_dim=2, noise_seed=3, **options)
    model.compile(optimizer(1e-3), optimizer(1e-3))
    return model


def _run_state(model, checkpointer=None):
    """Every value of a run's state, by part and position."""
    parts = {"generator": model.generator.weights,
             "discriminator": model.discriminator.weights,
             "ema_generator": model.ema_generator.weights if model.ema_generator else [],
             "d_optimizer": model.d_optimizer.variables,
             "g_optimizer": model.g_optimizer.variables,
             "critic_updates": [model.critic_updates]}
    if checkpointer is not None:  # what a .keras file does not hold
        parts.update(noise_rng=[model.noise_rng.state], step=[checkpointer.step],
                     epoch=[checkpointer.epoch])
    return {f"{part}/{i}": keras.ops.convert_to_numpy(value)
            for part, values in parts.items() for i, value in enumerate(values)}


@pytest.mark.parametrize("family", sorted(STATE_V1_RUNS))
def test_a_checkpoint_of_the_previous_version_restores_every_value(family, tmp_path):
    model = _small_gan(family)
    checkpointer = checkpoints.Checkpointer(model, tmp_path, restore_from=STATE_V1 / family)
    assert checkpointer.restore_latest().endswith("ckpt-6")
    want = np.load(STATE_V1 / f"{family}.npz")
    got = _run_state(model, checkpointer)
    assert sorted(got) == sorted(want.files)
    for key in want.files:
        np.testing.assert_array_equal(got[key], want[key], err_msg=key)


def test_a_keras_file_of_the_previous_version_loads_every_value():
    restored = keras.models.load_model(STATE_V1 / "hinge.keras")
    assert (restored.loss_name, restored.ema_decay) == ("hinge", 0.5)
    want = np.load(STATE_V1 / "hinge.npz")
    got = _run_state(restored)
    assert set(got) <= set(want.files) and len(got) > 20
    for key, value in got.items():
        np.testing.assert_array_equal(value, want[key], err_msg=key)
