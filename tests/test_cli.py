"""The command-line tools: train (also from a flagfile), export, sample, and fast failures."""

import configparser
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO
from PIL import Image

ENV = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
COMMANDS = ("train", "evaluate", "sample", "export", "reproduce", "bench", "presets", "crosscheck")


def _run(module, *flags, cwd=None):
    return subprocess.run([sys.executable, "-m", f"tfgan_replica.cli.{module}", *flags],
                          capture_output=True, text=True, env=ENV, cwd=cwd, timeout=300)


def _run_sh(command, *flags):
    """The command as users type it: `./run.sh COMMAND` from the repository."""
    return subprocess.run(["./run.sh", command, *flags], capture_output=True, text=True, env=ENV,
                          cwd=REPO, timeout=300)


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    """One tiny run through the CLI, configured by a flagfile."""
    folder = tmp_path_factory.mktemp("cli")
    flagfile = folder / "run.flags"
    flagfile.write_text(f"--preset=mlp_bce\n--epochs=1\n--steps_per_epoch=4\n--seed=3\n"
                        f"--logdir={folder / 'run'}\n")
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
    side = 8 * 2 * 28 + 7 * 2  # the default 8x8 digits at 2x, 2 pixels apart
    assert Image.open(run_dir / "samples" / "epoch_0001.png").size == (side, side)


def _console_metrics(stdout):
    """The metric names the progress and epoch lines show (`name: 1.2` or `name=1.2`)."""
    return set(re.findall(r"([a-z_]+)[:=] ?-?\d", stdout))


def test_train_console_shows_the_losses_in_short_lines_without_library_logs(trained_run, tmp_path):
    completed = _run("train", "--preset=mlp_wgan_gp", "--epochs=1", "--steps_per_epoch=3",
                     "--logdir=run", cwd=tmp_path)
    assert completed.returncode == 0, completed.stderr
    assert "Sharding callback" not in completed.stdout + completed.stderr  # absl INFO, per save
    assert _console_metrics(completed.stdout) == {"d_loss", "g_loss", "em_estimate"}
    assert _console_metrics(trained_run[1]) == {"d_loss", "g_loss"}  # no Wasserstein critic
    for line in completed.stdout.splitlines():  # of a short --logdir: lines hold its paths
        assert len(line) <= 120, line


def test_sample_writes_pngs_and_npz(trained_run, tmp_path):
    generator = trained_run[0] / "generator"
    completed = _run("sample", f"--generator={generator}", "--num_samples=5",
                     f"--output={tmp_path / 'png'}")
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
    (["--epochs=-1"], "epochs must be positive (>= 1), got -1"),
    (["--diffaug=color,,translation"], "empty op name in DiffAugment policy 'color,,translation'"),
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


def test_export_and_resume_without_an_intact_checkpoint_fail_in_one_line(trained_run, tmp_path):
    import shutil

    run_dir = tmp_path / "run"
    shutil.copytree(trained_run[0], run_dir)
    data_file = run_dir / "checkpoints" / "ckpt-4.data-00000-of-00001"
    os.truncate(data_file, data_file.stat().st_size // 3)
    problem = f"no intact checkpoint in {run_dir / 'checkpoints'}: ckpt-4 is damaged"
    _one_clear_line(_run("export", f"--logdir={run_dir}", f"--output={tmp_path / 'out'}"), problem)
    _one_clear_line(_run("train", "--resume", f"--logdir={run_dir}", "--epochs=2"), problem)
    assert not (tmp_path / "out").exists()


def test_train_and_export_name_an_output_they_cannot_write_in_one_line(trained_run, tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder\n")
    _one_clear_line(_run("train", f"--logdir={blocker / 'run'}", cwd=tmp_path),
                    f"train: cannot write to {blocker / 'run'}")
    _one_clear_line(_run("export", f"--logdir={trained_run[0]}", f"--output={blocker / 'out'}"),
                    f"export: cannot write to {blocker / 'out'}")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_file"]


@pytest.mark.parametrize("command", COMMANDS)
def test_help_exits_0_and_shows_the_command_as_typed(command):
    completed = _run_sh(command, "--help")
    assert completed.returncode == 0, completed.stderr
    assert f"./run.sh {command}" in completed.stdout
    assert "python -m" not in completed.stdout and "tfgan_replica/cli" not in completed.stdout
    if command == "train":
        text = " ".join(completed.stdout.split())
        assert "--seed" in text and "list them with ./run.sh presets" in text


def test_help_of_python_m_exits_0_and_bad_flags_still_fail():
    completed = _run("sample", "--helpfull")
    assert completed.returncode == 0 and "python -m tfgan_replica.cli.sample:" in completed.stdout
    completed = _run("sample", "--nmu=3", "--output=x.npz", "--generator=g")
    assert completed.returncode == 1 and "Unknown command line flag 'nmu'" in completed.stderr


def _console_scripts():
    """setup.cfg's console scripts: {name: (module, function)}."""
    config = configparser.ConfigParser()
    config.read(REPO / "setup.cfg")
    lines = config["options.entry_points"]["console_scripts"].strip().splitlines()
    return {name.strip(): tuple(target.strip().split(":"))
            for name, target in (line.split("=") for line in lines)}


def test_every_run_sh_command_but_test_has_a_console_script_of_its_module():
    commands = re.search(r'^COMMANDS="(.*)"$', (REPO / "run.sh").read_text(), re.M).group(1)
    expected = {f"tfgan-{command}": f"tfgan_replica.cli.{command}"
                for command in commands.split() if command != "test"}
    assert {name: module for name, (module, _) in _console_scripts().items()} == expected


# One process per target: the command modules define flags of the same names, which absl
# refuses to define twice in one process.
IMPORT_CHECK = ("import importlib, inspect, sys; "
                "start = getattr(importlib.import_module(sys.argv[1]), sys.argv[2]); "
                "assert callable(start) and not inspect.signature(start).parameters")


@pytest.mark.parametrize("name", sorted(_console_scripts()))
def test_console_script_targets_are_importable_zero_argument_functions(name):
    module, function = _console_scripts()[name]
    completed = subprocess.run([sys.executable, "-c", IMPORT_CHECK, module, function],
                               capture_output=True, text=True, env=ENV, timeout=300)
    assert completed.returncode == 0, completed.stderr


def test_installed_console_script_names_itself_in_help():
    script = Path(sys.executable).parent / "tfgan-train"
    if not script.exists():
        pytest.skip(f"{script} is not installed: pip install -e . installs it")
    completed = subprocess.run([str(script), "--help"], capture_output=True, text=True, env=ENV,
                               timeout=300)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.startswith("Train a GAN preset")  # the command's own docstring
    assert "\ntfgan-train:\n" in completed.stdout and "--grid_size" in completed.stdout
    assert "python -m" not in completed.stdout and str(script) not in completed.stdout


def test_presets_are_listed_one_line_each_by_report_then_name(tmp_path):
    from tfgan_replica import presets

    listed = _run_sh("presets")
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert lines[0].split()[:4] == ["report", "preset", "epochs", "cpu_epochs"]
    assert "./run.sh train --preset=NAME" in lines[-1]
    order = sorted(presets.PRESETS.values(),
                   key=lambda preset: (presets.REPORTS.index(preset.report), preset.name))
    assert len(lines) == len(order) + 2
    for line, preset in zip(lines[1:], order):
        report, name, epochs, cpu_epochs, what = line.split(maxsplit=4)
        assert (report, name, int(epochs)) == (preset.report or "-", preset.name, preset.epochs)
        assert int(cpu_epochs) == (preset.cpu_epochs or preset.epochs)
        assert len(what) <= 90 and preset.note.startswith(what.removesuffix(" ..."))
    assert "2 to 5 minutes on two CPU cores" in lines[-2] and "collapsed" not in lines[-2]
    from_train = _run("train", "--list_presets", cwd=tmp_path)
    assert from_train.returncode == 0 and from_train.stdout == listed.stdout
    assert not list(tmp_path.iterdir())


def test_train_seed_overrides_the_presets_and_a_resume_keeps_it(trained_run, tmp_path):
    import json
    import shutil

    assert json.loads((trained_run[0] / "config.json").read_text())["preset"]["seed"] == 3
    run_dir = tmp_path / "run"
    shutil.copytree(trained_run[0], run_dir)
    before = sorted((run_dir / "checkpoints").iterdir())
    _one_clear_line(_run("train", "--resume", f"--logdir={run_dir}", "--epochs=2", "--seed=4"),
                    f"cannot resume {run_dir} with seed 4: it was trained with 3")
    assert sorted((run_dir / "checkpoints").iterdir()) == before


def test_sample_writes_one_grid_to_a_png(trained_run, tmp_path):
    generator = trained_run[0] / "generator"
    for output in ("grid.png", "s.npz"):
        completed = _run("sample", f"--generator={generator}", "--num=5",
                         f"--output={tmp_path / output}")
        assert completed.returncode == 0, completed.stderr
    grid = np.asarray(Image.open(tmp_path / "grid.png"))
    assert grid.shape == (2 * 56 + 2, 3 * 56 + 2 * 2)  # 5 samples in 2 rows of 3, 2x, 2 apart
    images = np.load(tmp_path / "s.npz")["images"][..., 0]
    np.testing.assert_array_equal(grid[:56:2, 58:114:2], images[1])
    np.testing.assert_array_equal(grid[58:, 116:], 128)  # the sixth place is empty: gap gray


def test_sample_and_evaluate_check_their_output_before_any_work(trained_run, tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder\n")
    generator = trained_run[0] / "generator"
    for output in (blocker / "s.npz", blocker / "grid.png", blocker / "pngs"):
        _one_clear_line(_run("sample", f"--generator={generator}", f"--output={output}"),
                        f"sample: cannot write to {output}: {blocker} is a file, not a folder")
    _one_clear_line(_run("sample", f"--generator={generator}", f"--output={tmp_path / 'foo.txt'}"),
                    f"sample: {tmp_path / 'foo.txt'}: cannot write samples as '.txt'; give an .npz")
    np.savez(tmp_path / "good.npz", images=np.zeros((4, 28, 28, 1), np.float32))
    scores = blocker / "scores.json"
    _one_clear_line(_run("evaluate", f"--samples={tmp_path / 'good.npz'}", "--num_samples=4",
                         "--inception_weights=/no/such/file", f"--output={scores}"),
                    f"evaluate: cannot write to {scores}: {blocker} is a file, not a folder")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_file", "good.npz"]


def test_evaluate_says_that_missing_samples_do_not_exist(tmp_path):
    _one_clear_line(_run("evaluate", f"--samples={tmp_path / 'missing.npz'}", cwd=tmp_path),
                    f"evaluate: {tmp_path / 'missing.npz'} does not exist; check the path")
