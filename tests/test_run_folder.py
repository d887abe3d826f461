"""The outputs of `train` and `export`: one `train` at a time per run folder, and an output
that cannot be written refused before any work."""

import json
import os
import subprocess
import sys

import pytest

from tfgan_replica import data, export, networks, outputs, presets, run_lock, trainer
from tfgan_replica.errors import InputError

ENV = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
HOLD_THE_LOCK = """
import os, sys, time
from tfgan_replica import run_lock
with run_lock.training_lock(sys.argv[1]):
    print("locked", flush=True)
    if sys.argv[2] == "die":
        os._exit(0)  # ends without releasing, as a killed process does
    time.sleep(600)
"""


def _quiet(**options):
    return dict(verbose=0, print_fn=lambda *_: None, **options)


def _hold_lock(run_dir, then):
    """A process that locks `run_dir`, then dies at once ("die") or keeps the lock."""
    holder = subprocess.Popen([sys.executable, "-c", HOLD_THE_LOCK, str(run_dir), then],
                              stdout=subprocess.PIPE, text=True, env=ENV)
    assert holder.stdout.readline() == "locked\n"
    return holder


def test_a_second_train_in_a_locked_run_folder_is_refused_naming_the_holder(tmp_path):
    run_dir = tmp_path / "run"
    holder = _hold_lock(run_dir, "keep")
    try:
        second = subprocess.run(
            [sys.executable, "-m", "tfgan_replica.cli.train", f"--logdir={run_dir}", "--epochs=1",
             "--steps_per_epoch=1"], capture_output=True, text=True, env=ENV, timeout=300)
    finally:
        holder.kill()
        holder.wait()
    assert second.returncode == 1, second.stderr
    assert "Traceback" not in second.stderr
    line = second.stderr.strip().splitlines()[-1]
    assert line.startswith(f"train: {run_dir} is in use by pid {holder.pid} on ")
    assert "from tfgan_replica import run_lock" in line  # its command
    assert line.endswith("; wait for it to end or choose another --logdir")
    assert [p.name for p in run_dir.iterdir()] == [run_lock.LOCK_NAME]  # nothing written


def test_a_lock_file_left_by_a_dead_process_does_not_block(tmp_path):
    run_dir = tmp_path / "run"
    holder = _hold_lock(run_dir, "die")
    holder.wait()
    assert f"pid {holder.pid} " in (run_dir / run_lock.LOCK_NAME).read_text()
    result = trainer.train("quickstart", logdir=run_dir, epochs=1, steps_per_epoch=1,
                           export_generator=False, **_quiet())
    assert result.step == 1
    assert not (run_dir / run_lock.LOCK_NAME).exists()  # released at the end


def test_a_folder_locked_in_this_process_is_refused_and_any_exit_releases_it(tmp_path):
    with run_lock.training_lock(tmp_path):
        with pytest.raises(InputError, match=f"{tmp_path} is in use by pid {os.getpid()} "):
            trainer.train("quickstart", logdir=tmp_path, **_quiet())
    with pytest.raises(ZeroDivisionError), run_lock.training_lock(tmp_path):
        1 / 0
    with run_lock.training_lock(tmp_path):  # free again
        pass
    assert not list(tmp_path.iterdir())


@pytest.fixture
def no_work(monkeypatch):
    """Fails the test if data is loaded or a network built."""
    def work(*_, **__):
        raise AssertionError("work started before the output was checked")

    for module, name in ((data, "load_arrays"), (networks, "build_generator"),
                         (networks, "build_discriminator")):
        monkeypatch.setattr(module, name, work)


def _run_folder(path):
    """A run folder with only its config.json: enough for `export_run` to check its output."""
    path.mkdir()
    (path / "config.json").write_text(json.dumps(
        {"preset": presets.get_preset("quickstart").to_dict()}))
    return path


def test_an_output_below_a_file_is_refused_before_any_work(tmp_path, no_work):
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    with pytest.raises(InputError, match=f"cannot write to {blocker / 'run'}: {blocker} is a file"):
        trainer.train("quickstart", logdir=blocker / "run", **_quiet())
    run_dir = _run_folder(tmp_path / "run")
    with pytest.raises(InputError, match=f"cannot write to {blocker / 'out'}: {blocker} is a file"):
        export.export_run(run_dir, blocker / "out")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_file", "run"]


def test_writability_is_tried_not_read_from_permission_bits(tmp_path):
    """/proc allows root by its mode bits, yet no file can be created there."""
    with pytest.raises(InputError, match="cannot write to /proc/tfgan_replica_run"):
        outputs.check_writable("/proc/tfgan_replica_run", folder=True)
    outputs.check_writable(tmp_path / "new" / "folder", folder=True)
    assert not list(tmp_path.iterdir())  # the try leaves nothing behind


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_run_folder_is_refused_before_any_work(tmp_path, no_work):
    run_dir = _run_folder(tmp_path / "run")
    run_dir.chmod(0o555)
    try:
        with pytest.raises(InputError, match=f"cannot write to {run_dir}: "):
            trainer.train("quickstart", logdir=run_dir, **_quiet())
        with pytest.raises(InputError, match=f"cannot write to {run_dir / 'generator'}: "):
            export.export_run(run_dir)
    finally:
        run_dir.chmod(0o755)
