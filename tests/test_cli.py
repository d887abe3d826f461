"""The command-line tools: train (also from a flagfile), export, sample, and fast failures."""

import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

ENV = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")


def _run(module, *flags, cwd=None):
    return subprocess.run([sys.executable, "-m", f"tfgan_replica.cli.{module}", *flags],
                          capture_output=True, text=True, env=ENV, cwd=cwd, timeout=300)


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    """One tiny run through the CLI, configured by a flagfile."""
    folder = tmp_path_factory.mktemp("cli")
    flagfile = folder / "run.flags"
    flagfile.write_text(f"--preset=mlp_bce\n--epochs=1\n--steps_per_epoch=4\n--logdir={folder / 'run'}\n")
    completed = _run("train", f"--flagfile={flagfile}")
    assert completed.returncode == 0, completed.stderr + completed.stdout
    return folder / "run", completed.stdout


def test_train_writes_a_complete_run_and_says_where(trained_run):
    run_dir, stdout = trained_run
    for part in ("config.json", "samples/epoch_0001.png", "checkpoints/checkpoint",
                 "generator/saved_model.pb"):
        assert (run_dir / part).exists(), part
        assert part.split("/")[0] in stdout
    assert "run directory: " + str(run_dir) in stdout
    assert Image.open(run_dir / "samples" / "epoch_0001.png").size == (4 * 28, 4 * 28)


def test_sample_writes_pngs_and_npz(trained_run, tmp_path):
    generator = trained_run[0] / "generator"
    completed = _run("sample", f"--generator={generator}", "--num=5", f"--output={tmp_path / 'png'}")
    assert completed.returncode == 0, completed.stderr
    files = sorted((tmp_path / "png").glob("*.png"))
    assert len(files) == 5 and np.asarray(Image.open(files[0])).shape == (28, 28)

    completed = _run("sample", f"--generator={generator}", "--num=5", "--seed=0",
                     f"--output={tmp_path / 's.npz'}")
    assert completed.returncode == 0, completed.stderr
    images = np.load(tmp_path / "s.npz")["images"]
    assert images.shape == (5, 28, 28, 1) and images.dtype == np.uint8
    np.testing.assert_array_equal(images[0, ..., 0], np.asarray(Image.open(files[0])))


def test_export_from_the_checkpoint_matches_the_trainers_export(trained_run, tmp_path):
    run_dir = trained_run[0]
    completed = _run("export", f"--logdir={run_dir}", f"--output={tmp_path / 'again'}")
    assert completed.returncode == 0, completed.stderr
    for source in (run_dir / "generator", tmp_path / "again"):
        assert _run("sample", f"--generator={source}", "--num=8",
                    f"--output={tmp_path / source.name}.npz").returncode == 0
    np.testing.assert_array_equal(np.load(tmp_path / "generator.npz")["images"],
                                  np.load(tmp_path / "again.npz")["images"])


@pytest.mark.parametrize("flags, message", [
    (["--preset=nope"], "unknown preset 'nope'; choose one of"),
    (["--precision=fp8"], "value should be one of"),
    (["--steps_per_epoch=0"], "steps_per_epoch must be >= 1"),
    (["--resume"], "resume needs the logdir"),
    (["--diffaug=zoom"], "zoom"),
    (["--preset=dcgan_tutorial", "--batch_size=0"], "must be positive"),
    (["stray"], "unexpected arguments"),
])
def test_impossible_flags_fail_fast_with_a_clear_message(tmp_path, flags, message):
    completed = _run("train", *flags, cwd=tmp_path)
    assert completed.returncode != 0
    assert message in completed.stderr
    assert not (tmp_path / "runs").exists()


def test_sample_and_export_name_the_missing_input(tmp_path):
    completed = _run("sample", f"--generator={tmp_path}", f"--output={tmp_path / 'x.npz'}")
    assert completed.returncode != 0 and "not an exported generator" in completed.stderr
    completed = _run("export", f"--logdir={tmp_path}")
    assert completed.returncode != 0 and "no config.json" in completed.stderr


def _one_clear_line(completed, message):
    """Exit status 1 and one line naming the problem, no traceback."""
    assert completed.returncode == 1, completed.stderr
    assert "Traceback" not in completed.stderr
    assert message in completed.stderr.strip().splitlines()[-1], completed.stderr


def test_evaluate_refuses_corrupt_and_non_finite_samples_before_any_work(tmp_path):
    np.savez(tmp_path / "good.npz", images=np.zeros((4, 28, 28, 1), np.float32))
    whole = (tmp_path / "good.npz").read_bytes()
    (tmp_path / "truncated.npz").write_bytes(whole[: len(whole) // 2])
    _one_clear_line(_run("evaluate", f"--samples={tmp_path / 'truncated.npz'}", "--num_samples=4",
                         cwd=tmp_path), "truncated.npz: truncated or corrupt .npz")
    broken = np.zeros((4, 28, 28, 1), np.float32)
    broken[0, 0, :3, 0] = [np.nan, np.inf, -np.inf]
    np.savez(tmp_path / "nan.npz", images=broken)
    _one_clear_line(_run("evaluate", f"--samples={tmp_path / 'nan.npz'}", "--num_samples=4",
                         "--inception_weights=/no/such/file", cwd=tmp_path),
                    "3 pixel values are NaN or Inf")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["good.npz", "nan.npz", "truncated.npz"]


def test_reproduce_without_weights_fails_before_training(tmp_path):
    completed = _run("reproduce", "--budget=smoke", "--presets=mlp_bce",
                     "--inception_weights=/no/such/weights.pt", f"--results_dir={tmp_path / 'r'}",
                     f"--runs_dir={tmp_path / 'runs'}", cwd=tmp_path)
    _one_clear_line(completed, "FID Inception weights not found at /no/such/weights.pt")
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("flags, problem", [
    (["--seeds=1,x"], "--seeds takes non-negative integers"),
    (["--seeds=1", "--ablations=sn_mlp"], "leave out --seeds"),
])
def test_reproduce_refuses_bad_seeds_before_any_work(tmp_path, flags, problem):
    completed = _run("reproduce", "--budget=smoke", *flags, f"--results_dir={tmp_path / 'r'}",
                     f"--runs_dir={tmp_path / 'runs'}", cwd=tmp_path)
    _one_clear_line(completed, problem)
    assert not list(tmp_path.iterdir())


def test_reproduce_stops_on_ctrl_c_with_one_line_and_keeps_the_run(tmp_path, inception_weights_path):
    import signal
    import time

    process = subprocess.Popen(
        [sys.executable, "-m", "tfgan_replica.cli.reproduce", "--budget=smoke", "--presets=mlp_bce",
         f"--inception_weights={inception_weights_path}", f"--results_dir={tmp_path / 'r'}",
         f"--runs_dir={tmp_path / 'runs'}"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, env=ENV, cwd=tmp_path)
    config = tmp_path / "runs" / "smoke" / "mlp_bce" / "config.json"
    deadline = time.time() + 240
    while not config.exists() and time.time() < deadline and process.poll() is None:
        time.sleep(0.2)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=300)
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert "interrupted" in stderr.strip().splitlines()[-1]
    assert config.is_file()  # the run folder is kept for the next call to resume


@pytest.mark.parametrize("change, part", [
    (dict(generator="dcgan_tutorial"), "generator"),  # other shapes
    (dict(ema_decay=0.999), "ema generator"),  # the checkpoint has no EMA
])
def test_export_names_a_checkpoint_of_other_networks(trained_run, tmp_path, change, part):
    import json
    import shutil

    run_dir = tmp_path / "run"
    shutil.copytree(trained_run[0], run_dir)
    config = json.loads((run_dir / "config.json").read_text())
    config["preset"].update(change)  # not the networks the checkpoint holds
    (run_dir / "config.json").write_text(json.dumps(config))
    _one_clear_line(_run("export", f"--logdir={run_dir}", f"--output={tmp_path / 'out'}"),
                    f"holds no {part} of the networks its run's config.json describes")
    assert not (tmp_path / "out").exists()


def test_every_command_reports_input_errors_as_one_line_and_ctrl_c_as_130(capsys):
    from tfgan_replica.cli import reporting_errors
    from tfgan_replica.errors import InputError

    with pytest.raises(SystemExit) as stopped, reporting_errors("train"):
        raise InputError("bad.npz: truncated; download it again")
    assert stopped.value.code == "train: bad.npz: truncated; download it again"  # printed, status 1
    with pytest.raises(SystemExit) as stopped, reporting_errors("reproduce", "interrupted; resume"):
        raise KeyboardInterrupt
    assert stopped.value.code == 130
    assert capsys.readouterr().err == "reproduce: interrupted; resume\n"
    with pytest.raises(ZeroDivisionError), reporting_errors("train"):  # a bug keeps its traceback
        1 / 0
