"""Measured searches for what a report ran differently, one setting of a preset at a time.

    ablations.run_study("sn_mlp")   # or ./run.sh reproduce --ablations=sn_mlp

A study (`studies.STUDIES`) trains its base preset as defined and once per variant (each
changing one setting, or combining changes that helped) for the same shortened length,
scores each with the protocol (and report B's own evaluator where the preset has that
column), and writes `results/ablations.json` and `results/ablations.md`. Finished
variants are skipped on a rerun and interrupted ones resume, as in `reproduction`.

A study selects on the test split it reports (`select_on="test"`, the first studies'
way), or on held-out training images (`select_on="holdout"`): its variants then train on
the `train_fit` split and are scored against the `holdout` split, so that the winner can
be reported on the test set, which chose nothing. A variant scored against another
split than its study's is trained again.
"""

from __future__ import annotations

from pathlib import Path

from tfgan_replica import claims, report, reproduction, run_records, studies
from tfgan_replica.choices import HOLDOUT_IMAGES
from tfgan_replica.errors import InputError
from tfgan_replica.metrics import weights


def run_study(name, budget="cpu", results_dir="results", runs_dir="runs/ablations", force=False,
              inception_weights=None, print_fn=print):
    """Trains and scores every variant of study `name` not yet finished; returns its records."""
    if name not in studies.STUDIES:
        raise InputError(f"unknown ablation study {name!r}; choose one of "
                         f"{sorted(studies.STUDIES)}")
    reproduction.check_budget(budget)
    study = studies.STUDIES[name]
    chosen = {variant: studies.variant_preset(study, variant) for variant in study.variants}
    smoke = budget == "smoke"

    def pending(variant):
        record = run_records.variant_record(results_dir, name, variant)
        return (run_records.pending(record, chosen[variant], budget, force)
                or scored_split(record) != study.score_split)

    if any(map(pending, chosen)):
        inception_weights = str(weights.resolve_weights(inception_weights))  # before any training
    for variant, preset in chosen.items():
        if not pending(variant):
            print_fn(f"{name}/{variant}: finished, skipped")
            continue
        record, _ = reproduction.train_and_evaluate(
            preset.replace(epochs=1) if smoke else preset, Path(runs_dir, budget, name, variant),
            budget, force, reproduction.SMOKE_STEPS if smoke else None, inception_weights,
            print_fn, num_samples=None if smoke else study.num_samples,
            train_split=study.train_split, score_split=study.score_split)
        record["preset"] = preset.to_dict()
        record["command"] = f"./run.sh reproduce --budget={budget} --ablations={name}"
        run_records.record_variant(results_dir, name, study, variant, record)
        write_ablations_report(results_dir)
        course = record["evaluation"].get("course", record["evaluation"])
        print_fn(f"{name}/{variant}: FID {record['evaluation']['fid']:.2f}, "
                 f"course FID {course['fid']:.2f}")
    return run_records.load_ablations(results_dir)["studies"][name]


def scored_split(record):
    """The split a recorded variant was scored against (None when not recorded; "test" for
    a record from before the provenance named its split, when every study scored on it)."""
    return record and record["evaluation"]["provenance"].get("split", "test")


def selection_line(records):
    """What the study's variants were selected on, from the split each was scored on."""
    splits = sorted({scored_split(record) for record in records.values()})
    if splits == ["test"]:
        return "Selected on the test-set FID it reports."
    if splits == ["holdout"]:
        return (f"Selected on FID against {HOLDOUT_IMAGES:,} held-out training images; the "
                "winner is reported on the test set in results/README.md.")
    return (f"Scored on different splits ({', '.join(map(str, splits))}): compare only the "
            "variants scored on the same one.")


def write_ablations_report(results_dir):
    """results/ablations.md: one table per study, variants in their defined order, then
    the study's findings where its entry in ablations.json states them (`findings`, what
    the numbers support and where they are thin, written when a preset is chosen)."""
    lines = ["# Ablations", "",
             "Shortened runs that change one setting of a preset at a time, then combine "
             "changes that helped. FID from fewer samples than the protocol's 10,000 is "
             "biased upward: compare within a table, not with the published numbers.", ""]
    for name, entry in sorted(run_records.load_ablations(results_dir)["studies"].items()):
        study = studies.STUDIES.get(name)
        curves = any("fid_curve" in record for record in entry["variants"].values())
        lines += [f"## {name}: {entry['base']}, {entry['epochs']} epochs", "",
                  f"**{selection_line(entry['variants'])}** {entry['question']}", "",
                  "| variant | change | course FID / P / R | FID / P / R "
                  + ("| FID by epoch " if curves else "") + "| samples | steps "
                  "| train min | eval min |",
                  "|---|---|---|---|---|---|---|---|" + ("---|" if curves else "")]
        order = list(study.variants) if study else sorted(entry["variants"])
        for variant in [v for v in order if v in entry["variants"]]:
            record = entry["variants"][variant]
            scores = record["evaluation"]
            change = study.variants[variant][0] if study else ""
            by_epoch = (f"| {' → '.join(f'{fid:.0f}' for _, fid in claims.epoch_fids(record))} "
                        if curves else "")
            lines.append(
                f"| {variant} | {change} | {report.fid_p_r(scores.get('course'))} "
                f"| {report.fid_p_r(scores)} {by_epoch}| {scores['provenance']['num_generated']} "
                f"| {record['steps']} | {record['train_seconds'] / 60:.1f} "
                f"| {record['eval_seconds'] / 60:.1f} |")
        lines.append("")
        if entry.get("findings"):
            lines += [f"**Findings.** {entry['findings']}", ""]
    path = Path(results_dir, "ablations.md")
    path.write_text("\n".join(lines))
    return path
