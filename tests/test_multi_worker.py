"""Two workers on loopback ports (TF_CONFIG), as on a cluster: one run folder, the chief writes,
a signal to either worker stops both, and the result equals a single-process run."""

import json
import os
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest
import tensorflow as tf

from conftest import checkpointed_values
from tfgan_replica import trainer

STEPS_PER_EPOCH = 5


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _start_workers(logdir, scratch, epochs, *flags):
    cluster = {"worker": [f"127.0.0.1:{_free_port()}", f"127.0.0.1:{_free_port()}"]}
    workers = []
    for index in range(2):
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", TMPDIR=str(scratch),
                   TF_CONFIG=json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}}))
        workers.append(subprocess.Popen(
            [sys.executable, "-m", "tfgan_replica.cli.train", "--preset=quickstart", f"--epochs={epochs}",
             f"--steps_per_epoch={STEPS_PER_EPOCH}", "--strategy=multi_worker", f"--logdir={logdir}",
             *flags], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env))
    return workers


def _finish(workers, timeout=300):
    outputs = [worker.communicate(timeout=timeout)[0] for worker in workers]
    return [worker.returncode for worker in workers], outputs


def _assert_same_run(path, reference_path, tolerance=1e-6):
    got, want = checkpointed_values(path), checkpointed_values(reference_path)
    assert sorted(got) == sorted(want)
    for key, value in want.items():
        np.testing.assert_allclose(got[key], value, rtol=tolerance, atol=tolerance, err_msg=key)


def _single_process(tmp_path, epochs):
    return trainer.train("quickstart", logdir=tmp_path / "single", epochs=epochs,
                         steps_per_epoch=STEPS_PER_EPOCH, export_generator=False, verbose=0,
                         print_fn=lambda *_: None)


def test_two_workers_write_one_run_that_equals_a_single_process_run(tmp_path):
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    codes, outputs = _finish(_start_workers(tmp_path / "run", scratch, epochs=2))
    assert codes == [0, 0], "\n".join(output[-3000:] for output in outputs)
    run = tmp_path / "run"
    assert sorted(p.name for p in run.iterdir()) == [
        "checkpoints", "config.json", "generator", "samples", "tensorboard"]
    assert sorted(p.name for p in (run / "checkpoints").glob("*.index")) == ["ckpt-10.index", "ckpt-5.index"]
    assert (run / "generator" / "saved_model.pb").is_file()
    assert len(list((run / "tensorboard").iterdir())) == 1  # one writer: the chief's
    assert json.loads((run / "config.json").read_text())["replicas"] == 2
    assert not list(scratch.iterdir())  # the other worker's scratch folder is gone

    # Each worker trains on its half of every global batch of 64 with its rows of the noise.
    reference = _single_process(tmp_path, epochs=2)
    _assert_same_run(str(run / "checkpoints" / "ckpt-10"), reference.checkpoint)


def test_a_signal_to_one_worker_stops_both_and_the_run_resumes(tmp_path):
    run, scratch = tmp_path / "run", tmp_path / "scratch"
    scratch.mkdir()
    epochs = 12
    workers = _start_workers(run, scratch, epochs)
    deadline = time.monotonic() + 240
    while tf.train.latest_checkpoint(str(run / "checkpoints")) is None:
        if time.monotonic() > deadline or any(w.poll() is not None for w in workers):
            for worker in workers:
                worker.kill()
            pytest.fail("no checkpoint appeared: " + "\n".join(_finish(workers)[1]))
        time.sleep(0.2)
    workers[1].send_signal(signal.SIGTERM)  # the non-chief: the chief must not wait for it forever
    codes, outputs = _finish(workers, timeout=120)
    assert codes == [130, 130], "\n".join(output[-3000:] for output in outputs)
    stopped_at = int(tf.train.latest_checkpoint(str(run / "checkpoints")).rsplit("-", 1)[1])
    assert 0 < stopped_at < epochs * STEPS_PER_EPOCH

    codes, outputs = _finish(_start_workers(run, scratch, epochs, "--resume"))
    assert codes == [0, 0], "\n".join(output[-3000:] for output in outputs)
    assert f"step {stopped_at}" in outputs[0]
    # Against two uninterrupted workers: over 200 steps a GAN amplifies the rounding of
    # another summation order, so a single process is the reference only of the short run.
    codes, _ = _finish(_start_workers(tmp_path / "whole", scratch, epochs))
    assert codes == [0, 0]
    final = f"ckpt-{epochs * STEPS_PER_EPOCH}"
    _assert_same_run(str(run / "checkpoints" / final), str(tmp_path / "whole" / "checkpoints" / final))
