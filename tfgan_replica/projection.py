"""How long `reproduce` will take on this machine, known before it starts.

    projection.project(["mlp_bce", "dcgan_improved"], budget="cpu")
    # ./run.sh reproduce --presets=mlp_bce,dcgan_improved --budget=cpu --dry_run

Each preset's train step is timed here and now: a few seconds of `fit` with the
trainer's callbacks (`benchmarks.training.FitArm`) on a throwaway copy of its networks,
after warm-up steps that trace it. Steps and seconds a step give the training time;
rows with a FID curve add its points. The evaluation is FID feature extraction of
the generated samples, once per sample mode the preset is scored in; with the
Inception weights given its rate is timed too, otherwise `DEFAULT_FEATURE_RATE` is used
and the output says so. The rates are those of the machine as loaded at the time of
the projection. Nothing is written under the results or runs folders.
"""

from __future__ import annotations

import dataclasses
import tempfile
from pathlib import Path

from tfgan_replica import data, presets, reproduction, run_records
from tfgan_replica.benchmarks import training

CALIBRATION_SECONDS = 3.0
WARMUP_STEPS = 2
# FID Inception features a second at 299x299 on two CPU cores (the metrics benchmark has
# measured 13-19 there), for projections made without the weights to time them.
DEFAULT_FEATURE_RATE = 15.0


@dataclasses.dataclass(frozen=True)
class Projection:
    """The projected minutes of one preset under a budget."""

    preset: str
    steps: int
    seconds_per_step: float
    train_minutes: float
    eval_minutes: float
    fid_curve: bool  # whether `train_minutes` includes a FID curve (`fid_curve_epochs`)

    @property
    def total_minutes(self):
        return self.train_minutes + self.eval_minutes


def project(preset_names=None, budget="cpu", results_dir="results", force=False,
            inception_weights=None, print_fn=print, seeds=None):
    """Prints and returns the `Projection` of every run `reproduce` would train now
    (those finished under `budget` in `results_dir` are skipped, as `reproduce` skips
    them unless `force`; `seeds` as in `reproduce`)."""
    chosen = [presets.get_preset(name) for name in preset_names or reproduction.default_presets()]
    reproduction.check_budget(budget)
    finished = run_records.load_results(results_dir)["runs"]
    feature_rate, rate_source = _feature_rate(inception_weights)
    print_fn(f"Projected wall time of `reproduce --budget={budget}` on this machine as loaded "
             f"now: each train step timed for {CALIBRATION_SECONDS:g} s of fit with the "
             f"trainer's callbacks; FID features at {feature_rate:.1f} images/s ({rate_source}).")
    projections = []
    with tempfile.TemporaryDirectory(prefix="tfgan_replica-projection-") as work_dir:
        for name, preset in run_records.seeded_runs(chosen, seeds):
            if not run_records.pending(finished.get(name), preset, budget, force):
                print_fn(f"{name}: finished under budget {budget!r}, skipped (--force retrains)")
                continue
            try:
                projections.append(
                    _project(name, preset, budget, feature_rate, Path(work_dir, name)))
            except data.DatasetError as error:
                print_fn(f"{name}: skipped: {error}")
    _print_table(projections, print_fn)
    return projections


def _feature_rate(inception_weights):
    """(images/s, where the number comes from)."""
    if inception_weights is None:
        return DEFAULT_FEATURE_RATE, ("a default for two CPU cores, not measured here; pass "
                                      "--inception_weights=PATH to time it")
    from tfgan_replica.benchmarks import metrics

    arm = metrics.extractor_arm(*metrics.feature_batch(inception_weights))
    arm.window(0.0, 1)  # traces the network
    steps, seconds = arm.window(CALIBRATION_SECONDS)
    return steps * arm.items_per_step / seconds, f"timed for {seconds:.1f} s"


def _project(name, preset, budget, feature_rate, work_dir):
    epochs, steps_per_epoch = reproduction.plan(preset, budget)
    if steps_per_epoch is None:
        steps_per_epoch = len(data.load_arrays(preset.dataset, "train")[0]) // preset.batch_size
    arm = training.FitArm("fit", preset, work_dir)
    arm.window(0.0, WARMUP_STEPS)
    timed_steps, seconds = arm.window(CALIBRATION_SECONDS)
    seconds_per_step = seconds / timed_steps
    steps = epochs * steps_per_epoch
    train_seconds = steps * seconds_per_step
    curve = reproduction.fid_curve_epochs(preset.replace(epochs=epochs))
    train_seconds += len(curve) * reproduction.fid_curve_samples(budget) / feature_rate
    modes = 2 if reproduction.sample_mode(preset) == "course" else 1
    eval_seconds = modes * reproduction.evaluation_sizes(budget)[0] / feature_rate
    return Projection(name, steps, seconds_per_step, train_seconds / 60,
                      eval_seconds / 60, bool(curve))


def _print_table(projections, print_fn):
    print_fn(f"{'preset':20s} {'steps':>9s} {'ms/step':>8s} {'train min':>10s} "
             f"{'eval min':>9s} {'total min':>10s}")
    for p in projections:
        mark = "*" if p.fid_curve else " "
        print_fn(f"{p.preset:20s} {p.steps:9,d} {p.seconds_per_step * 1e3:8.1f} "
                 f"{p.train_minutes:9.1f}{mark} {p.eval_minutes:9.1f} {p.total_minutes:10.1f}")
    total = sum(p.total_minutes for p in projections)
    print_fn(f"{'total':20s} {'':9s} {'':8s} {'':10s} {'':9s} {total:10.1f}  ({total / 60:.1f} h)")
    print_fn("* with the run's FID curve (`reproduction.fid_curve_epochs`). Not counted: the test split's features the "
             "first time (10,000 images a sample mode, cached afterwards), the scores computed "
             "from the features, and the steps a partly trained run has already done.")
