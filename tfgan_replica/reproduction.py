"""Re-run the reports' experiments: train each preset, evaluate it, record and report.

    reproduction.reproduce(["mlp_bce", "mlp_hinge_sn"], budget="cpu")

Each finished preset is written to `results/results.json` at once (with its
scores, their provenance, seed, epochs, wall time and machine), together with
its scalar curves and a few sample grids, and the report is rebuilt. A rerun
skips what is finished and resumes a preset whose training was interrupted, so
the reproduction can continue across machines from the committed results.
"""

from __future__ import annotations

import json
import shutil
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from tfgan_replica import (callbacks, claims, data, images, machine, metrics, presets, report,
                           run_clock, run_records, trainer)
from tfgan_replica.choices import BUDGETS, DATASET_SHAPES, DEFAULT_FID_PROTOCOL
from tfgan_replica.errors import InputError
from tfgan_replica.metrics import protocols, weights

SMOKE_STEPS = 3
SMOKE_SAMPLES = 50  # one batch of the feature extractor: the smoke budget checks plumbing, not FID
FULL_SAMPLES = 10_000
FID_CURVE_SAMPLES = 2048
SAMPLE_EPOCHS = (1, 5, 10, 50, 200)


class DatasetUnavailable(RuntimeError):
    """A preset's dataset cannot be loaded here (for example SVHN offline)."""


def default_presets(data_sources=None):
    """Every preset that belongs to a report row or to our own best, on MNIST and on each
    dataset of `data_sources` (SVHN is not bundled: its rows run where a source is given)."""
    datasets = {"mnist", *(data_sources or {})}
    return [name for name, preset in sorted(presets.PRESETS.items())
            if preset.dataset in datasets and preset.report]


def check_data_sources(data_sources):
    """Reads each given source's splits once, so that a wrong path or layout fails in one
    line before any training (a source named by the user is never skipped)."""
    for dataset, source in (data_sources or {}).items():
        if dataset not in DATASET_SHAPES:
            raise InputError(f"unknown dataset {dataset!r} in the data sources; choose among "
                             f"{sorted(DATASET_SHAPES)}")
        for split in ("train", "test"):
            data.load_arrays(dataset, split, source)


def check_budget(budget):
    if budget not in BUDGETS:
        raise InputError(f"unknown budget {budget!r}; choose one of {list(BUDGETS)}")


def sample_mode(preset):
    """Report B's rows (and ours on its generator) are also scored by report B's own
    evaluator, beside the standard protocol."""
    course = preset.report == "B" or (preset.report == "ours" and preset.generator == "mlp")
    return "course" if course else "standard"


def floor_sample_mode(dataset):
    """MNIST's floor is also scored by report B's evaluator, the column its rows have."""
    return "course" if dataset == "mnist" else "standard"


def plan(preset, budget):
    """(epochs, steps_per_epoch or None) of `preset` under `budget`."""
    if budget == "smoke":
        return 1, SMOKE_STEPS
    return (preset.cpu_epochs or preset.epochs) if budget == "cpu" else preset.epochs, None


def evaluation_sizes(budget):
    """(generated, reference) image counts: the protocol's 10,000 against the whole test
    split, or a few on the smoke budget."""
    return (SMOKE_SAMPLES, SMOKE_SAMPLES) if budget == "smoke" else (FULL_SAMPLES, None)


def reproduce(preset_names=None, budget="cpu", results_dir="results", runs_dir="runs/reproduce",
              force=False, inception_weights=None, print_fn=print, seeds=None,
              data_sources=None):
    """Trains and evaluates each preset not yet finished under `budget`; returns results.json.

    `seeds` repeats each preset with those seeds (default: its own); a run with another
    seed than its preset's is recorded as `NAME@seedN` (see `run_records.seeded_name`).
    `data_sources` ({dataset: source}, see `data.load_arrays`) says where a dataset's
    images are read, for training, the reference statistics and the real floor alike:
    `{"svhn": "svhn.npz"}` runs report A's SVHN rows from a keras-layout .npz.
    """
    data_sources = dict(data_sources or {})
    names = list(preset_names or default_presets(data_sources))
    chosen = [presets.get_preset(name) for name in names]  # unknown names fail before any work
    check_budget(budget)
    check_data_sources(data_sources)
    runs = run_records.seeded_runs(chosen, seeds)
    results_dir = Path(results_dir)
    results = run_records.load_results(results_dir)
    datasets = sorted({preset.dataset for preset in chosen})
    if any(run_records.pending(results["runs"].get(n), p, budget, force) for n, p in runs) or any(
            _floor_pending(results, d, budget, force) for d in datasets):
        inception_weights = str(weights.resolve_weights(inception_weights))  # before any training
    for name, preset in runs:
        finished = results["runs"].get(name)
        if not run_records.pending(finished, preset, budget, force):
            print_fn(f"{name}: finished under budget {budget!r}, skipped (--force retrains)")
            continue
        changed = presets.changed_fields(finished["preset"], preset) if finished else []
        if changed:
            print_fn(f"{name}: {', '.join(changed)} changed since its recorded result; "
                     "training it again")
        try:
            record = _run_preset(name, preset, budget, Path(runs_dir, budget, name), results_dir,
                                 force, inception_weights, print_fn,
                                 data_sources.get(preset.dataset))
        except DatasetUnavailable as error:
            print_fn(f"{name}: skipped: {error}")
            continue
        run_records.record_run(results_dir, name, record)
        print_fn(f"{name}: FID {record['evaluation']['fid']:.2f}, report: "
                 f"{report.write_report(results_dir)}")
    _score_floors(datasets, budget, results_dir, force, inception_weights, print_fn,
                  data_sources)
    return run_records.load_results(results_dir)


def score_protocol(protocol, preset_names=None, results_dir="results", force=False,
                   inception_weights=None, print_fn=print, seeds=None):
    """Scores finished runs under another FID protocol, from the generator each run
    exported, without training; returns results.json.

    The scores go to the run's `evaluation_protocols[protocol]`, beside its primary
    (pytorch_fid) `evaluation`, with the same samples (the run's seed), sizes and
    reference split, so the protocols compare at equal N. A run scored under `protocol`
    already is skipped unless `force`. Every run is checked before any is scored: it must
    be recorded, of its preset's current definition, with its generator on this machine.
    """
    protocols.get_protocol(protocol)
    if protocol == DEFAULT_FID_PROTOCOL:
        raise InputError(f"{DEFAULT_FID_PROTOCOL} is every run's primary evaluation; name "
                         "another protocol to score finished runs under")
    chosen = [presets.get_preset(name) for name in preset_names or default_presets()]
    runs = run_records.seeded_runs(chosen, seeds)
    results_dir = Path(results_dir)
    recorded = run_records.load_results(results_dir)["runs"]
    problems = []
    for name, preset in runs:
        record = recorded.get(name)
        if record is None:
            problems.append(f"{name} has no finished run in {results_dir / 'results.json'}")
        elif presets.changed_fields(record["preset"], preset):
            problems.append(f"{name} changed since its recorded run")
        elif not (_generator(record) / "saved_model.pb").is_file():
            problems.append(f"{name}'s generator {_generator(record)} is not on this machine")
    if problems:
        raise InputError("; ".join(problems) + "; train them first with ./run.sh reproduce "
                         "--presets=...")
    inception_weights = str(weights.resolve_weights(inception_weights))
    for name, preset in runs:
        record = run_records.load_results(results_dir)["runs"][name]
        if protocol in record.get("evaluation_protocols", {}) and not force:
            print_fn(f"{name}: scored under {protocol} already, skipped (--force scores again)")
            continue
        num_samples, num_reference = evaluation_sizes(record["budget"])
        scores = metrics.evaluate(str(_generator(record)), dataset=preset.dataset, split="test",
                                  num_samples=num_samples, num_reference=num_reference,
                                  inception_weights=inception_weights, seed=record["seed"],
                                  protocol=protocol)
        if not run_records.record_protocol_scores(results_dir, name, record["finished"], protocol,
                                                  scores):
            print_fn(f"{name}: trained again while being scored; its {protocol} score is dropped")
            continue
        print_fn(f"{name}: FID {scores['fid']:.2f} under {protocol} "
                 f"({record['evaluation']['fid']:.2f} under {DEFAULT_FID_PROTOCOL})")
    _score_floors_under(protocol, sorted({preset.dataset for _, preset in runs}), results_dir,
                        force, inception_weights, print_fn)
    print_fn(f"report: {report.write_report(results_dir)}")
    return run_records.load_results(results_dir)


def _score_floors_under(protocol, datasets, results_dir, force, inception_weights, print_fn):
    """Scores each recorded real floor of `datasets` under `protocol` too, with the images,
    sizes and reference of its primary score, so every row of the protocols table has its
    floor beside it. A floor read from a source given at the time is left to a rerun of
    `reproduce --data_sources=...`: its path is not recorded."""
    for dataset, floor in sorted(run_records.load_results(results_dir).get("floors", {}).items()):
        if dataset not in datasets or (protocol in floor.get("evaluation_protocols", {})
                                       and not force):
            continue
        if floor["source"] != f"{dataset} train split":
            print_fn(f"real {dataset} floor: read from {floor['source']}; not scored under "
                     f"{protocol}")
            continue
        scored = score_real_floor(dataset, floor["budget"], inception_weights, floor["seed"],
                                  protocol=protocol)
        run_records.record_floor_protocol_scores(results_dir, dataset, protocol,
                                                 scored["evaluation"])
        print_fn(f"real {dataset} training images: FID {scored['evaluation']['fid']:.2f} under "
                 f"{protocol} ({floor['evaluation']['fid']:.2f} under {DEFAULT_FID_PROTOCOL})")


def _generator(record):
    """The generator a finished run exported (see `trainer.train`)."""
    return Path(record["run_dir"]) / "generator"


def _floor_pending(results, dataset, budget, force):
    return run_records.floor_pending(results.get("floors", {}).get(dataset),
                                     floor_sample_mode(dataset), budget, force)


def _score_floors(datasets, budget, results_dir, force, inception_weights, print_fn,
                  data_sources):
    """Scores each dataset's real floor once per budget (see `score_real_floor`)."""
    for dataset in datasets:
        if not _floor_pending(run_records.load_results(results_dir), dataset, budget, force):
            continue
        try:
            floor = score_real_floor(dataset, budget, inception_weights,
                                     source=data_sources.get(dataset))
        except DatasetUnavailable as error:
            print_fn(f"real {dataset} floor: skipped: {error}")
            continue
        run_records.record_floor(results_dir, dataset, floor)
        print_fn(f"real {dataset} training images: FID {floor['evaluation']['fid']:.2f}, report: "
                 f"{report.write_report(results_dir)}")


def score_real_floor(dataset, budget, inception_weights=None, seed=0, source=None,
                     protocol=DEFAULT_FID_PROTOCOL):
    """Real training images scored as if generated: what a perfect generator would score.

    As many images as a preset generates, drawn without replacement from the
    training split, against the same reference (the test split), both read from
    `source` (the dataset's default when None), under FID `protocol` (report B's
    evaluator beside it under the primary protocol only).
    """
    num_samples, num_reference = evaluation_sizes(budget)
    try:
        floor_images = real_floor_images(dataset, num_samples, seed, source)
    except data.DatasetError as error:
        raise DatasetUnavailable(str(error)) from error
    started = run_clock.now()
    scores = metrics.evaluate(floor_images, dataset=dataset, split="test",
                              num_samples=num_samples, num_reference=num_reference,
                              inception_weights=inception_weights, seed=seed, progress=False,
                              sample_mode=(floor_sample_mode(dataset)
                                           if protocol == DEFAULT_FID_PROTOCOL else "standard"),
                              reference_source=source, protocol=protocol)
    read_from = "" if source is None else f" of {source}"
    return {"budget": budget, "seed": seed, "source": f"{dataset} train split{read_from}",
            "eval_seconds": round(run_clock.now() - started, 1), "evaluation": scores,
            "command": f"./run.sh reproduce --budget={budget}"}


def real_floor_images(dataset, num_samples, seed=0, source=None):
    """The training images a real floor scores: `num_samples` drawn without replacement
    with `seed`, in the split's order (save them to score the floor elsewhere)."""
    train_images, _ = data.load_arrays(dataset, "train", source)
    chosen = np.random.default_rng(seed).choice(len(train_images), num_samples, replace=False)
    return train_images[np.sort(chosen)]


def _run_preset(name, preset, budget, run_dir, results_dir, force, inception_weights, print_fn,
                data_source=None):
    epochs, steps_per_epoch = plan(preset, budget)
    record, trained = train_and_evaluate(preset.replace(epochs=epochs), run_dir, budget, force,
                                         steps_per_epoch, inception_weights, print_fn,
                                         data_source=data_source)
    run_records.keep_curves(run_dir, results_dir, name)
    _keep_sample_grids(run_dir, results_dir, name)
    _keep_real_grid(results_dir, preset.dataset, data_source)
    extra_flags = "" if name == preset.name else f" --seeds={preset.seed}"
    if data_source is not None:
        extra_flags += f" --data_sources={preset.dataset}={data_source}"
    return {
        **record,
        "preset": preset.to_dict(),
        "run_dir": str(run_dir),
        "command": f"./run.sh reproduce --budget={budget} --presets={preset.name}{extra_flags}",
        "final_metrics": trained.metrics,
        "machine": machine.description(),
        "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def train_and_evaluate(preset, run_dir, budget, force=False, steps_per_epoch=None,
                       inception_weights=None, print_fn=print, num_samples=None,
                       data_source=None, train_split="train", score_split="test"):
    """Trains `preset` (as given: its `epochs` is the length) in `run_dir` and scores it.

    Continues a shorter run of the same settings in `run_dir` and starts over on any
    other. Returns (record, `trainer.TrainResult`); the record holds the scores (the
    course column too where `sample_mode` asks for it), the steps and the times.
    `data_source` is where the dataset is read (see `data.load_arrays`): the run trains
    on its `train_split` and is scored, per epoch too, against its `score_split` (the
    evaluation's provenance names it).
    """
    default_samples, num_reference = evaluation_sizes(budget)
    try:
        data.load_arrays(preset.dataset, score_split, data_source)
    except data.DatasetError as error:
        raise DatasetUnavailable(str(error)) from error
    if run_dir.exists() and not force and _holds_other_run(run_dir, preset, train_split):
        print_fn(f"{preset.name}: {run_dir} holds a run of an earlier definition or a longer "
                 "run; starting over")
        force = True
    if force and run_dir.exists():
        shutil.rmtree(run_dir)
    resume = (run_dir / "checkpoints").is_dir()
    trained = trainer.train(preset, logdir=run_dir, resume=resume, data_source=data_source,
                            train_split=train_split,
                            steps_per_epoch=steps_per_epoch, print_fn=print_fn,
                            log_every_n_steps=(1 if budget == "smoke"
                                               else trainer.LOG_EVERY_N_STEPS),
                            extra_callbacks=_fid_curve_callbacks(preset, budget, run_dir,
                                                                 inception_weights, data_source,
                                                                 score_split))
    if trained.interrupted:
        raise KeyboardInterrupt(f"{preset.name} interrupted; rerun to resume it")
    started = run_clock.now()
    scores = metrics.evaluate(trained.export_path, dataset=preset.dataset, split=score_split,
                              num_samples=num_samples or default_samples,
                              num_reference=num_reference,
                              inception_weights=inception_weights, reference_source=data_source,
                              sample_mode=sample_mode(preset), seed=preset.seed)
    record = {
        "budget": budget,
        "epochs": preset.epochs,
        "steps": trained.step,
        "resumed_at_step": trained.start_step,
        "seed": preset.seed,
        "train_seconds": round(trained.train_seconds, 1),
        "eval_seconds": round(run_clock.now() - started, 1),
        "evaluation": scores,
    }
    if fid_curve_epochs(preset):
        steps_per_epoch = trained.step / preset.epochs
        scalars = run_records.read_scalars(run_dir / "tensorboard")
        curve = scalars.get("fid", [])
        record["fid_curve"] = [[round(step / steps_per_epoch, 3), step, fid]
                               for step, fid in curve]
        record["fid_curve_samples"] = fid_curve_samples(budget)
        minutes = run_records.training_minutes(scalars, [step for step, _ in curve])
        if minutes is not None:
            record["fid_curve_minutes"] = minutes
    return record, trained


def fid_curve_epochs(preset):
    """The epochs (1-based) at whose end a preset's run logs a cheap FID (FID_CURVE_SAMPLES
    samples against the cached test reference); none for most presets. `preset.epochs`
    is the run's length (`plan`).

    Report A's MNIST rows, as its claims are about how quality develops over training:
    the WGAN every epoch (its Earth-Mover claim compares the two epoch by epoch), the
    DCGANs at epochs 1 and 2, at every epoch a claim compares, then every
    max(5, epochs // 10) and at the last; here a point costs about as much as a DCGAN
    epoch of training. Our rows on the DCGAN generator (and the studies' variants of
    them) at the same points, for FID against training minutes.
    """
    curve = preset.report == "A" or (preset.report == "ours" and preset.generator != "mlp")
    if preset.dataset != "mnist" or not curve:
        return []
    last = preset.epochs
    if preset.family == "wgan_clip":
        return list(range(1, last + 1))
    every = max(5, last // 10)
    compared = {1, 2, claims.REALISTIC_EPOCH, *claims.COMPARED_EPOCHS}
    return sorted({e for e in compared if e <= last} | set(range(every, last + 1, every))
                  | {last})


def fid_curve_samples(budget):
    """How many samples each point of a FID curve (`fid_curve_epochs`) scores under `budget`."""
    return SMOKE_SAMPLES if budget == "smoke" else FID_CURVE_SAMPLES


def _fid_curve_callbacks(preset, budget, run_dir, inception_weights, data_source=None,
                         split="test"):
    if not fid_curve_epochs(preset):
        return []
    return [callbacks.FIDCallback(at_epochs=fid_curve_epochs(preset),
                                num_samples=fid_curve_samples(budget),
                                dataset=preset.dataset, split=split,
                                num_reference=evaluation_sizes(budget)[1],
                                inception_weights=inception_weights, seed=preset.seed,
                                logdir=run_dir / "tensorboard", reference_source=data_source)]


def _holds_other_run(run_dir, preset, train_split="train"):
    """True if `run_dir` cannot be continued into `preset`'s run on `train_split`: other
    settings, another split, or longer.

    A shorter run of the same settings is continued: resuming is exact.
    """
    config = run_dir / "config.json"
    if not config.is_file():
        return False
    saved = json.loads(config.read_text())
    recorded = saved["preset"]
    return (bool(presets.changed_settings(recorded, preset))
            or saved.get("train_split", "train") != train_split
            or presets.from_dict(recorded).epochs > preset.epochs)


def _keep_sample_grids(run_dir, results_dir, name):
    """Copies the grids of the report's epochs (1, 5, 10, 50, 200) and of the last epoch."""
    grids = sorted((run_dir / "samples").glob("epoch_*.png"))
    keep = [g for g in grids if int(g.stem.split("_")[1]) in SAMPLE_EPOCHS] + grids[-1:]
    target = results_dir / "samples" / name
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    for grid in keep:
        shutil.copy(grid, target / grid.name)


def _keep_real_grid(results_dir, dataset, source=None):
    path = results_dir / "samples" / f"real_{dataset}.png"
    if not path.exists():
        real, _ = data.load_arrays(dataset, "test", source)
        side = callbacks.GRID_SIZE
        images.save_png(images.image_grid(real[:side * side], rows=side), path)
