"""The record of finished runs: the JSON files under `results/` and the names in them.

    results = run_records.load_results("results")
    by_preset = run_records.current_runs(results["runs"])

`results.json` holds each preset run (keyed by `seeded_name`) and each dataset's real
floor, `ablations.json` each study's variant runs, and `curves/NAME.json` the scalar
curves of a run. Everything that reads or writes them goes through this module, so
their format, and when a record still counts, is decided in one place.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import tensorflow as tf

from tfgan_replica import presets

SEED_MARK = "@seed"


def seeded_name(preset):
    """The name a run of `preset` is recorded under: the registered preset's name for its
    own seed, `NAME@seedN` for another seed (a repeat that measures the spread)."""
    registered = presets.PRESETS.get(preset.name)
    if registered is not None and preset.seed == registered.seed:
        return preset.name
    return f"{preset.name}{SEED_MARK}{preset.seed}"


def seeded_runs(chosen, seeds=None):
    """(recorded name, preset) of each preset in `chosen` with each of `seeds` (default: the
    preset's own seed), preset by preset."""
    return [(seeded_name(run), run) for preset in chosen
            for run in ([preset] if seeds is None else
                        [preset.replace(seed=seed) for seed in seeds])]


def preset_of_run(run_name):
    """The current definition behind a recorded run name (see `seeded_name`), or None when
    its preset is no longer registered."""
    name, _, seed = run_name.partition(SEED_MARK)
    preset = presets.PRESETS.get(name)
    return preset.replace(seed=int(seed)) if preset is not None and seed else preset


def current_runs(runs):
    """{preset name: its recorded runs of today's definition, one per seed} of `runs`
    (results.json's "runs"): what the results still say."""
    grouped = {}
    for run_name, run in sorted(runs.items()):
        preset = preset_of_run(run_name)
        if preset is not None and not presets.changed_fields(run["preset"], preset):
            grouped.setdefault(run_name.partition(SEED_MARK)[0], []).append(run)
    return grouped


def primary_runs(runs):
    """The runs of each preset with its own seed: the main table, the claims and the
    figures show these; repeats with other seeds appear in the seeds table only."""
    return {name: run for name, run in runs.items() if SEED_MARK not in name}


def pending(record, preset, budget, force):
    """Whether `preset` must be (re)trained: no record of it under `budget`, another
    definition recorded, or `force`."""
    return (_missing(record, budget, force)
            or bool(presets.changed_fields(record["preset"], preset)))


def floor_pending(floor, sample_mode, budget, force):
    """Whether a dataset's real floor must be scored (again): none under `budget`, one
    scored without `sample_mode`'s columns, or `force`."""
    return (_missing(floor, budget, force)
            or floor["evaluation"]["provenance"]["sample_mode"] != sample_mode)


def _missing(record, budget, force):
    return force or record is None or record["budget"] != budget


def load_json(path, default):
    """The JSON value at `path`, or `default` where there is no file yet."""
    path = Path(path)
    return json.loads(path.read_text()) if path.is_file() else default


def write_json(path, value):
    """Writes atomically: a crash mid-write leaves the previous file intact."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(value, indent=1, sort_keys=True, default=_plain) + "\n")
    os.replace(temporary, path)


def _plain(value):
    return value.item() if isinstance(value, np.generic) else str(value)


def load_results(results_dir):
    """results.json: {"runs": {name: record}, "floors": {dataset: record}}."""
    return load_json(Path(results_dir, "results.json"), {"runs": {}})


def record_run(results_dir, name, record):
    """Stores a finished preset run under `name` (see `seeded_name`) in results.json."""
    results = load_results(results_dir)  # as on disk now: keeps what others wrote meanwhile
    results["runs"][name] = record
    _write_results(results_dir, results)


def record_floor(results_dir, dataset, floor):
    """Stores `dataset`'s real floor (its training images scored as if generated)."""
    results = load_results(results_dir)
    results.setdefault("floors", {})[dataset] = floor
    _write_results(results_dir, results)


def record_protocol_scores(results_dir, name, finished, protocol, scores):
    """Adds `scores` under another FID `protocol` to run `name`, if it is still the run that
    finished at `finished` (one trained again meanwhile keeps none); returns whether it is."""
    results = load_results(results_dir)
    run = results["runs"].get(name, {})
    if run.get("finished") != finished:
        return False
    run.setdefault("evaluation_protocols", {})[protocol] = scores
    _write_results(results_dir, results)
    return True


def record_floor_protocol_scores(results_dir, dataset, protocol, scores):
    """Adds `scores` under another FID `protocol` to `dataset`'s recorded real floor."""
    results = load_results(results_dir)
    results["floors"][dataset].setdefault("evaluation_protocols", {})[protocol] = scores
    _write_results(results_dir, results)


def _write_results(results_dir, results):
    write_json(Path(results_dir, "results.json"), results)


def load_ablations(results_dir):
    """ablations.json: {"studies": {name: {"base", "question", "epochs", "variants"}}}."""
    return load_json(Path(results_dir, "ablations.json"), {"studies": {}})


def variant_record(results_dir, name, variant):
    """The recorded run of `variant` in study `name`, or None."""
    return load_ablations(results_dir)["studies"].get(name, {}).get("variants", {}).get(variant)


def record_variant(results_dir, name, study, variant, record):
    """Stores a finished run of `variant` in study `name`; the entry is headed by `study`'s
    `base`, `question` and `epochs`."""
    ablations = load_ablations(results_dir)
    entry = ablations["studies"].setdefault(name, {"variants": {}})
    entry.update(base=study.base, question=study.question, epochs=study.epochs)
    entry["variants"][variant] = record
    write_json(Path(results_dir, "ablations.json"), ablations)


def load_curves(results_dir, name):
    """The scalar curves kept of run `name` (see `keep_curves`): {tag: [[step, value], ...]}."""
    return load_json(Path(results_dir, "curves", f"{name}.json"), {})


def read_scalars(tensorboard_dir):
    """{tag: [[step, value], ...]} of every scalar written under `tensorboard_dir`."""
    curves = {}
    for path in sorted(Path(tensorboard_dir).glob("events.out.tfevents.*")):
        for event in tf.compat.v1.train.summary_iterator(str(path)):
            for value in event.summary.value:
                if value.metadata.plugin_data.plugin_name == "scalars":
                    number = float(tf.make_ndarray(value.tensor))
                    curves.setdefault(value.tag, []).append([int(event.step), number])
    return {tag: sorted(points) for tag, points in curves.items()}


def training_minutes(scalars, steps):
    """Minutes of training each of `steps` (epoch ends) took from a run's start, from its
    logged `read_scalars`: the clock the checkpoints kept (`train_seconds`), less the
    FID curve's evaluations before that step (`fid_seconds`, one a step), the time the
    curve's own measurement cost. None when the run logged no clock at one of them.

    The checkpoint is saved again after each epoch's evaluation
    (`checkpoints.SaveAfterEvaluations`), so a resumed run's clock counts it. Runs trained
    before that second save lost from their clock the FID evaluated after the checkpoint they
    resumed from (a kill, or a row continued past its last epoch), which the log keeps: each
    such restart makes the later points up to one evaluation short (~2 min on 2 cores).
    """
    clock = {step: seconds for step, seconds in scalars.get("train_seconds", [])}
    evaluations = {step: seconds for step, seconds in scalars.get("fid_seconds", [])}
    if any(step not in clock for step in steps):
        return None
    return [round((clock[step] - sum(s for at, s in evaluations.items() if at < step)) / 60, 3)
            for step in steps]


def keep_curves(run_dir, results_dir, name, max_points=400):
    """Stores the run's per-step scalar curves (not the derivable epoch means), thinned to at
    most `max_points` per tag: the run folder stays on the machine that trained it."""
    curves = {tag: points for tag, points in read_scalars(Path(run_dir, "tensorboard")).items()
              if not tag.startswith("train_mean/")}
    thinned = {tag: points[:: max(1, len(points) // max_points)] for tag, points in curves.items()}
    write_json(Path(results_dir, "curves", f"{name}.json"), thinned)
