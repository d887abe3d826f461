"""The benchmarks' method (paired windows, ratios, verdicts, FLOP counts), the arms' math
and `reproduce --dry_run`; no timing is asserted."""

import gc
import os
import subprocess
import sys

import numpy as np
import pytest

from tfgan_replica.benchmarks import paired

ENV = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")


def _windows(steps_per_second):
    return [paired.Window(steps=rate, seconds=1.0) for rate in steps_per_second]


def test_ratios_are_taken_per_pair_and_summarized_by_median_and_range():
    windows = {"fit": _windows([10, 12, 9, 30]), "plain": _windows([10, 10, 10, 20])}
    ratio = paired.Ratio("fit", "plain", "fit / plain", target=0.95)
    assert ratio.per_pair(windows) == pytest.approx([1.0, 1.2, 0.9, 1.5])
    spread = paired.Spread.of(ratio.per_pair(windows))
    assert (spread.median, spread.low, spread.high) == pytest.approx((1.1, 0.9, 1.5))


@pytest.mark.parametrize("median, low, high, passed, straddles", [
    (1.00, 0.97, 1.02, True, False),
    (0.96, 0.90, 1.01, True, True),   # passes on the median, some pairs below
    (0.94, 0.93, 0.96, False, True),  # fails on the median, some pairs above
    (0.80, 0.70, 0.90, False, False),
    (0.95, 0.95, 0.99, True, False),  # the target itself passes
])
def test_verdict_is_decided_on_the_median_and_says_when_the_range_straddles(
        median, low, high, passed, straddles):
    verdict = paired.Verdict(paired.Spread(median, low, high), target=0.95)
    assert verdict.passed is passed and verdict.straddles is straddles
    assert ("pass" if passed else "FAIL") in verdict.format()
    assert ("straddles" in verdict.format()) is straddles


class _FakeArm:
    def __init__(self, name, steps_per_second, log):
        self.name, self.items_per_step, self.dtype = name, 4, "float32"
        self.rate, self.log = steps_per_second, log

    def window(self, seconds, min_steps=1):
        self.log.append(self.name)
        return max(min_steps, 1), max(min_steps, 1) / self.rate


def test_arms_alternate_which_runs_first_and_the_summary_holds_every_arm_and_ratio():
    log, lines = [], []
    arms = [_FakeArm("a", 2.0, log), _FakeArm("b", 4.0, log)]
    ratio = paired.Ratio("a", "b", "a / b", target=0.95)
    result = paired.run_workload("fake", arms, [ratio], pairs=3, window_seconds=0.0,
                                 warmup_steps=1, flops_per_step=1e9, print_fn=lines.append)
    assert log == ["a", "b"] + ["a", "b", "b", "a", "a", "b"]  # warm-up, then the pairs
    assert result.items_per_second["a"].median == pytest.approx(8.0)
    assert result.gflops["b"].median == pytest.approx(4.0)
    assert result.ratios["a / b"].median == pytest.approx(0.5)
    assert not result.verdicts["a / b"].passed
    assert any("target >= 0.95: FAIL" in line for line in lines)


def test_garbage_of_earlier_windows_is_freed_before_a_window_starts():
    log = []

    class Leftover:  # in a reference cycle: only the cycle collector frees it
        def __init__(self):
            self.itself = self

        def __del__(self):
            log.append("freed")

    gc.disable()
    try:
        Leftover()
        paired.measure(_FakeArm("a", 1.0, log), seconds=0.0)
    finally:
        gc.enable()
    assert log == ["freed", "a"]


def test_a_loop_arm_runs_whole_steps_until_the_window_and_the_minimum_steps_are_reached():
    calls = []
    arm = paired.LoopArm("loop", lambda: lambda: calls.append(1) or np.zeros(1), 1)
    steps, seconds = arm.window(0.0, min_steps=3)
    assert steps == len(calls) == 3
    steps, seconds = arm.window(0.05)
    assert steps >= 1 and seconds >= 0.05


def test_io_stall_is_read_from_the_some_line_of_the_pressure_file(tmp_path):
    pressure = tmp_path / "io"
    pressure.write_text("some avg10=0.00 avg60=0.12 avg300=0.40 total=54866979\n"
                        "full avg10=0.00 avg60=0.00 avg300=0.00 total=34174188\n")
    assert paired.io_stall_seconds(pressure) == pytest.approx(54.866979)
    assert np.isnan(paired.io_stall_seconds(tmp_path / "missing"))


def test_a_pair_line_names_an_io_stall_only_when_there_was_one():
    stalled = paired.Window(steps=2, seconds=4.0, cpu_seconds=0.4, io_stall_seconds=3.0)
    assert paired._window_note(stalled, 4) == "2.0/s (0.10 cores, 3.0 s I/O stall)"
    assert paired._window_note(paired.Window(2, 4.0, 0.4, io_stall_seconds=0.0), 4) == (
        "2.0/s (0.10 cores)")


def test_flops_of_dense_layers_are_two_per_multiply_add():
    import keras
    import tensorflow as tf

    from tfgan_replica.benchmarks import peak

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(5, use_bias=False),
                              keras.layers.Dense(2, use_bias=False)])
    batch = 7
    flops = peak.call_flops(lambda x: model(x), tf.TensorSpec((batch, 3), tf.float32))
    assert flops == 2 * batch * 3 * 5 + 2 * batch * 5 * 2


def test_the_matmuls_of_a_training_step_are_its_forward_and_gradient_products():
    """A Dense layer x @ w (batch 7, 3 -> 5) trained one step: the forward product, and in
    the gradient dL/dw = x^T @ dL/dy; no dL/dx, since x is not trained. The arm runs those
    products on constant inputs and reads one scalar back."""
    import keras
    import tensorflow as tf

    from tfgan_replica.benchmarks import peak

    layer = keras.layers.Dense(5, use_bias=False)
    layer.build((None, 3))

    def step(x):
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(layer(x) ** 2)
        return tape.gradient(loss, layer.kernel)

    traced = tf.function(step, autograph=False).get_concrete_function(
        tf.TensorSpec((7, 3), tf.float32))
    shapes = peak.matmul_shapes(traced)
    assert sorted(shapes) == sorted([((7, 3), (3, 5), False, False),
                                     ((7, 3), (7, 5), True, False)])
    arm = peak.step_matmuls_arm("matmuls_alone", shapes, items_per_step=7)
    steps, seconds = arm.window(0.0, min_steps=3)
    assert steps == 3 and seconds > 0 and arm.items_per_step == 7


def assert_same_training(ours, reference, start, steps, learning_rate, message=""):
    """Two trainings of the same function from `start` agree to float32 rounding, as far
    as Adam lets them. Where a gradient is itself at rounding level (a bias before batch
    norm has a gradient of exactly 0 in exact arithmetic; other sums cancel), Adam's
    normalized update turns the rounding into a step of up to ~learning_rate, so single
    weights may differ by up to steps * learning_rate; over a network the difference
    stays a thousandth of how far training moved the weights (measured: 1e-5 to 3e-4
    after 3 steps). A changed function differs by a sizeable fraction of it."""
    moved = np.linalg.norm(reference - start)
    assert moved > 0, message
    assert np.linalg.norm(ours - reference) <= 1e-3 * moved, message
    assert np.max(np.abs(ours - reference)) <= steps * learning_rate, message


@pytest.mark.parametrize("name", ["mlp_hinge_sn", "dcgan_improved"])
def test_the_plain_loop_computes_what_fit_computes(name, tmp_path):
    """From the same start on the same data, the arms end with the same weights (the
    networks' dropout, spectral-norm vectors and batch-norm statistics included): the
    plain loop computes the step as it was before it was made faster (Keras' Adam, the
    spectral norm applied to the kernel), `fit` computes it with `FusedAdam` and the norm
    applied to the outputs."""
    from tfgan_replica import callbacks, checkpoints, presets, trainer
    from tfgan_replica.benchmarks import training

    preset = presets.get_preset(name).replace(batch_size=8)
    fit = training.FitArm("fit", preset, tmp_path)
    bare = training.FitArm("bare_fit", preset, tmp_path / "bare", run_callbacks=False)
    plain = training.PlainArm("plain", preset)
    def flat(arm, network):
        weights = getattr(arm.model, network).weights
        return np.concatenate([w.numpy().ravel() for w in weights])

    networks = ("generator", "discriminator")
    start = {network: flat(plain, network) for network in networks}
    for arm in (fit, bare, plain):
        assert arm.window(0.0, min_steps=3)[0] == 3
    for network in networks:
        for other in (fit, bare):
            assert_same_training(flat(other, network), flat(plain, network), start[network],
                                 3, preset.d_optimizer.learning_rate, f"{other.name}: {network}")
    # the bare arm runs no callback of the run, on a step traced as the run traces it
    assert bare.callbacks == [] and not (tmp_path / "bare").exists()
    assert bare.model.grad_norm_every == fit.model.grad_norm_every == trainer.LOG_EVERY_N_STEPS
    # the fit arm ran with the trainer's callbacks: their step counter, their sample grid
    kinds = {type(c) for c in fit.callbacks}
    assert {checkpoints.CheckpointCallback, callbacks.NanGuard, callbacks.MetricsLogger} <= kinds
    assert int(fit.callbacks[0].checkpointer.step) == 3
    assert (tmp_path / "samples" / "epoch_0001.png").is_file()
    assert 0.0 <= fit.callback_share < 1.0


def test_every_workload_compares_its_own_arms_against_the_plain_loop():
    from tfgan_replica.benchmarks import training

    for title, _, _, arm_names, ratios in training.WORKLOADS:
        assert set(arm_names) <= {*training.FIT_ARMS, "plain", "matmuls_alone"}, title
        assert all({r.top, r.bottom} <= set(arm_names) for r in ratios), title
        assert ("fit", "plain") in {(r.top, r.bottom) for r in ratios}, title


def test_projection_is_steps_times_the_timed_step_plus_feature_extraction(tmp_path, monkeypatch):
    from tfgan_replica import projection, reproduction

    monkeypatch.setattr(projection, "CALIBRATION_SECONDS", 0.2)
    lines = []
    [quickstart, mlp_bce] = projection.project(["quickstart", "mlp_bce"], "smoke",
                                               results_dir=tmp_path / "results",
                                               print_fn=lines.append)
    per_mode = reproduction.SMOKE_SAMPLES / projection.DEFAULT_FEATURE_RATE / 60
    assert quickstart.steps == mlp_bce.steps == reproduction.SMOKE_STEPS
    assert quickstart.train_minutes == pytest.approx(3 * quickstart.seconds_per_step / 60)
    assert quickstart.eval_minutes == pytest.approx(per_mode)
    assert mlp_bce.eval_minutes == pytest.approx(2 * per_mode)  # also scored by report B's evaluator
    assert any("not measured here" in line for line in lines)
    assert not list(tmp_path.iterdir())


def test_metrics_bench_sets_each_protocols_preprocessing_beside_the_network(
        inception_weights_path, cache_root):
    from tfgan_replica.benchmarks import metrics

    lines = []
    result = metrics.preprocessing(inception_weights_path, window_seconds=0.0, pairs=1,
                                   print_fn=lines.append)
    assert set(result.items_per_second) == {"plain", "pytorch_fid", "tf1", "clean"}
    names = ("pytorch_fid", "tf1", "clean")
    assert set(result.ratios) == {f"{name} / plain call" for name in names}
    assert lines[-1].startswith("  ms per image: network ")
    assert all(f"{name} " in lines[-1] for name in names)


def _reproduce(*flags, cwd):
    return subprocess.run([sys.executable, "-m", "tfgan_replica.cli.reproduce", *flags],
                          capture_output=True, text=True, env=ENV, cwd=cwd, timeout=300)


def test_reproduce_dry_run_prints_the_projection_and_writes_nothing(tmp_path):
    completed = _reproduce("--presets=quickstart", "--budget=cpu", "--dry_run",
                           f"--results_dir={tmp_path / 'results'}",
                           f"--runs_dir={tmp_path / 'runs'}", cwd=tmp_path)
    assert completed.returncode == 0, completed.stderr
    row = next(line for line in completed.stdout.splitlines() if line.startswith("quickstart"))
    assert row.split()[1] == "9,370"  # 10 epochs of 937 batches of 64
    assert "total" in completed.stdout
    assert not list(tmp_path.iterdir())


def test_reproduce_dry_run_refuses_ablations_in_one_line(tmp_path):
    completed = _reproduce("--dry_run", "--ablations=sn_mlp", cwd=tmp_path)
    assert completed.returncode == 1
    assert completed.stderr.strip().splitlines()[-1] == (
        "reproduce: --dry_run projects presets, not ablation studies; leave out --ablations")
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("scope, op_type, kind", [
    ("mlp_discriminator_1/spectral_norm_1/sigma/MatMul_1", "_MklMatMul",
     "spectral norm: power iteration, sigma"),
    ("gradient_tape/mlp_discriminator/spectral_norm/sigma/MatMul_1/MatMul", "_MklMatMul",
     "spectral norm: power iteration, sigma"),
    ("gradient_tape/mlp_discriminator/spectral_norm/MatMul/MatMul", "_MklMatMul",
     "matmuls, convolutions"),
    ("fused_adam_1/ResourceApplyAdam", "ResourceApplyAdam", "optimizer updates"),
    ("adam/Sub", "Sub", "optimizer updates"),
    ("mlp_discriminator/always_on_dropout/stateless_dropout/GreaterEqual", "GreaterEqual",
     "dropout masks"),
    ("stateless_random_normal/StatelessRandomNormalV2", "StatelessRandomNormalV2",
     "random numbers: noise, augmentation"),
    ("mlp_generator/leaky_re_lu/LeakyRelu", "LeakyRelu", "other elementwise ops"),
])
def test_each_kernel_of_a_step_is_put_in_its_kind(scope, op_type, kind):
    from tfgan_replica.benchmarks import profile

    assert profile.kind_of(scope, op_type) == kind


def test_the_profile_of_a_step_shares_its_kernel_time_among_the_kinds():
    import keras
    import tensorflow as tf

    from tfgan_replica import networks, optimizers
    from tfgan_replica.benchmarks import profile

    model = keras.Sequential([keras.Input((32,)), networks.SpectralNorm(keras.layers.Dense(64)),
                              keras.layers.LeakyReLU(0.2), keras.layers.Dense(1)])
    optimizer = optimizers.FusedAdam(1e-3)
    inputs = tf.random.normal((16, 32), seed=0)

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(model(inputs, training=True)))
        optimizer.apply_gradients(zip(tape.gradient(loss, model.trainable_variables),
                                      model.trainable_variables))
        return loss

    shares = profile.breakdown(step, steps=3, warmup=1)
    assert sum(shares.values()) == pytest.approx(1.0)
    assert {"optimizer updates", "spectral norm: power iteration, sigma",
            "matmuls, convolutions"} <= set(shares)
    assert list(shares) == [kind for kind, _ in profile.KINDS if kind in shares]
