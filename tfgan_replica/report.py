"""The reproduction report: a results table beside the published numbers, and figures.

Everything is drawn from the small files under `results/` (results.json, the
scalar curves and the selected sample grids), never from the run folders, so
the report can be rebuilt on any machine from what is committed.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure  # no pyplot: no global backend or figure state
from PIL import Image

from tfgan_replica import claims, presets, report_a_figures, run_records
from tfgan_replica.choices import DEFAULT_FID_PROTOCOL, FID_PROTOCOLS

# Published FID / precision / recall of report B, scored by its own evaluator (our
# `course` column repeats it). Report A published figures only.
PUBLISHED = {
    "mlp_bce": {"fid": 66.74, "precision": 0.21, "recall": 0.18},
    "mlp_bce_sn": {"fid": 39.27, "precision": 0.23, "recall": 0.19},
    "mlp_hinge_sn": {"fid": 30.38, "precision": 0.27, "recall": 0.20},
    "mlp_conv_hinge_sn": {"fid": 60.53, "precision": 0.22, "recall": 0.17},
    "mlp_wgan_gp": {"fid": 41.43, "precision": 0.50, "recall": 0.24},
    "cnn_hinge_sn": {"recall": 0.80},
    "cnn_hinge_sn_diffaug": {"recall": 0.82},
}
PROTOCOL_NOTE = (
    "Our protocol: FID Inception (inception-2015-12-05, pool_3), generated images "
    "quantized to uint8 as saved, bilinear resize to 299x299, 10,000 generated against "
    "the 10,000 MNIST test images; precision/recall k=3 and density/coverage k=5 on the "
    "same Inception features. The `course` column is report B's own evaluator, the one "
    "behind its published numbers: pytorch-fid on PNG folders of the test images and the "
    "samples, both written by torchvision's save_image from [-1, 1] tensors, so every "
    "negative pixel became black on both sides. A row marked `earlier definition` ran "
    "before the named settings of its preset changed; `reproduce` retrains it (a longer "
    "run of unchanged settings continues from the recorded one). Published FIDs compare "
    "only under the same protocol: report B used pytorch-fid (our `pytorch_fid` protocol, "
    "the resize of the FID column here); report A published no FID; Lucic et al. 2018, "
    "whose MNIST numbers the docs cite, used TF-GAN's TensorFlow 1 resize (`tf1`); "
    "clean-fid's users report `clean`. `./run.sh reproduce --protocol=tf1|clean` rescores "
    "finished runs under the others."
)


def write_report(results_dir):
    """Writes results/README.md and results/figures/*.png; returns the README path."""
    results_dir = Path(results_dir)
    results = run_records.load_results(results_dir)
    runs = run_records.primary_runs(results["runs"])
    figures = results_dir / "figures"
    figures.mkdir(parents=True, exist_ok=True)
    drawn = [
        _plot_losses(results_dir, runs, figures / "losses.png"),
        _plot_scalar(results_dir, runs, "train/em_estimate", _is_critic,
                     "Earth-Mover estimate E[D(x)] - E[D(G(z))]", figures / "em_estimate.png"),
        _plot_scalar(results_dir, runs, "train/d_grad_norm", _is_wasserstein,
                     "critic gradient norm: clipping vs gradient penalty", figures / "critic_grad_norms.png"),
        _plot_samples(results_dir, runs, figures / "samples.png"),
        _plot_fid_curves(runs, figures / "fid_per_epoch.png"),
        _plot_fid_against_minutes(runs, figures / "fid_against_minutes.png"),
        _plot_em_and_fid(results_dir, runs.get(claims.WGAN), figures / "em_estimate_and_fid.png"),
    ]
    report_a = report_a_figures.write_report_a_figures(results_dir, runs, figures)
    floors = results.get("floors", {})
    commands = sorted({entry["command"]
                       for entry in [*results["runs"].values(), *floors.values()]})
    lines = ["# Reproduction results", "", PROTOCOL_NOTE, "", *table_rows(runs, floors), ""]
    spread = seed_rows(results["runs"])
    if spread:
        lines += ["## Across seeds", "", SEEDS_NOTE, "", *spread, ""]
    by_protocol = protocol_rows(runs, floors)
    if by_protocol:
        lines += ["## FID under each protocol", "", PROTOCOLS_NOTE, "", *by_protocol, ""]
    lines += ["## Report B's conclusions, checked", "", claims.NOTE,
              "", *claims.claim_rows(results["runs"], PUBLISHED), "",
              "## Report A's claims, measured", "", claims.NOTE_A, "",
              *claims.claim_rows_a(runs, _em_curve(results_dir)), ""]
    lines += [f"![{path.stem}](figures/{path.name})" for path in drawn if path is not None]
    if report_a:
        lines += ["", "## Report A's figures", "", report_a_figures.NOTE, "",
                  *(f"![{path.stem}](figures/{path.name})" for path in report_a)]
    if (results_dir / "projections.md").is_file():
        lines += ["", "Projected wall time of the reproductions on the machine they ran on: "
                  "[projections.md](projections.md)."]
    lines += ["", "Produced by:", "", "```", *commands, "```", ""]
    readme = results_dir / "README.md"
    readme.write_text("\n".join(lines))
    return readme


def _em_curve(results_dir):
    """The WGAN row's logged [[step, Earth-Mover estimate], ...], or None."""
    return run_records.load_curves(results_dir, claims.WGAN).get("train/em_estimate")


def table_rows(runs, floors=None):
    """The results table as markdown lines: one row per preset, then each dataset's real floor."""
    header = ("| preset | epochs | steps | FID | precision | recall | density | coverage | KID x1e3 "
              "| course FID / P / R | published FID / P / R | train min | eval min |")
    rows = [header, "|" + "---|" * (header.count("|") - 1)]
    for name, run in sorted(runs.items()):
        rows.append(
            f"| {name}{_definition_note(name, run)} | {run['epochs']} | {run['steps']} "
            f"| {_scores(run['evaluation'])} | {_course(run['evaluation'])} "
            f"| {fid_p_r(PUBLISHED.get(name))} | {run['train_seconds'] / 60:.1f} "
            f"| {run['eval_seconds'] / 60:.1f} |"
        )
    for dataset, floor in sorted((floors or {}).items()):
        rows.append(f"| real {dataset} training images (the floor) | — | — "
                    f"| {_scores(floor['evaluation'])} | {_course(floor['evaluation'])} "
                    f"| — | — | {floor['eval_seconds'] / 60:.1f} |")
    return rows


def _definition_note(name, run):
    """Marks a result whose preset changed since it ran: today's command would retrain it."""
    preset = run_records.preset_of_run(name)
    if preset is None:
        return " (preset no longer defined)"
    changed = presets.changed_fields(run["preset"], preset)
    return f" (earlier definition: {', '.join(changed)} changed since)" if changed else ""


SEEDS_NOTE = ("Presets trained with several seeds (`reproduce --seeds=0,1,2`): the FID of each "
              "seed whose result is of the preset's current definition, their mean and sample "
              "standard deviation.")


def seed_rows(all_runs):
    """The seeds table as markdown lines (none when no preset has two current seeds)."""
    seeds = run_records.current_runs(all_runs)
    rows = [f"| {name} | {', '.join(str(run['seed']) for run in runs)} "
            f"| {_spread([run['evaluation'] for run in runs])} "
            f"| {_spread([run['evaluation'].get('course') for run in runs])} "
            f"| {fid_p_r(PUBLISHED.get(name))} |"
            for name, runs in seeds.items() if len(runs) > 1]
    if not rows:
        return []
    return ["| preset | seeds | FID by seed; mean ± sd | course FID by seed; mean ± sd "
            "| published FID / P / R |", "|---|---|---|---|---|", *rows]


PROTOCOLS_NOTE = (
    "The same samples of each run (its seed; 10,000 against the 10,000 MNIST test images) "
    "and the same real floor, scored under each FID protocol: only the resize to 299x299 "
    "and the pixel scaling differ, before the same Inception network (`pytorch_fid`: "
    "bilinear with half-pixel centres, our primary column; `tf1`: TensorFlow 1's bilinear "
    "without them, as TTUR's fid.py and TF-GAN until 2019; `clean`: PIL bicubic on float "
    "pixels, clean-fid's default). The ratios convert a number of ours to another "
    "protocol's scale for runs of similar quality; results/protocol_crosscheck.md checks "
    "each protocol against its own project's code. `./run.sh reproduce --protocol=tf1|clean "
    "--presets=...` adds a row from a finished run's generator.")


def protocol_rows(runs, floors=None):
    """The protocols table as markdown lines: each run and real floor scored under another
    protocol too (none when nothing is)."""
    others = FID_PROTOCOLS[1:]
    scored = [(f"{name}{_definition_note(name, run)}", run) for name, run in sorted(runs.items())]
    scored += [(f"real {dataset} training images (the floor)", floor)
               for dataset, floor in sorted((floors or {}).items())]
    rows = []
    for label, record in scored:
        by_protocol = record.get("evaluation_protocols", {})
        if not by_protocol:
            continue
        primary = record["evaluation"]["fid"]
        fids = [by_protocol[p]["fid"] if p in by_protocol else None for p in others]
        rows.append(f"| {label} | {primary:.2f} | "
                    + " | ".join("—" if fid is None else f"{fid:.2f}" for fid in fids) + " | "
                    + " | ".join("—" if fid is None else f"{fid / primary:.3f}" for fid in fids)
                    + " |")
    if not rows:
        return []
    header = (f"| run | {DEFAULT_FID_PROTOCOL} | " + " | ".join(others) + " | "
              + " | ".join(f"{p} / {DEFAULT_FID_PROTOCOL}" for p in others) + " |")
    return [header, "|" + "---|" * (header.count("|") - 1), *rows]


def _spread(scores):
    if any(score is None for score in scores):
        return "—"
    fids = np.array([score["fid"] for score in scores])
    return f"{', '.join(f'{fid:.2f}' for fid in fids)}; {fids.mean():.2f} ± {fids.std(ddof=1):.2f}"


def _scores(scores):
    return (f"{scores['fid']:.2f} | {scores['precision']:.3f} | {scores['recall']:.3f} "
            f"| {scores['density']:.3f} | {scores['coverage']:.3f} | {1e3 * scores['kid_mean']:.2f}")


def _course(scores):
    """The course column; scores from before it mapped the test images too are marked."""
    text = fid_p_r(scores.get("course"))
    if "course" in scores and "course" not in scores["provenance"]:
        text += " (samples mapped, test images not)"
    return text


def fid_p_r(numbers):
    """"FID / P / R", a dash for a number that is not there (report B's CNN rows publish
    recall only)."""
    if numbers is None:
        return "—"
    return " / ".join("—" if numbers.get(key) is None else f"{numbers[key]:.2f}"
                      for key in ("fid", "precision", "recall"))


def _is_critic(run):
    return run["preset"]["family"] in ("wgan_clip", "wgan_gp", "hinge")


def _is_wasserstein(run):
    return run["preset"]["family"] in ("wgan_clip", "wgan_gp")


def _grid_of_axes(count, size=3.0):
    cols = min(count, 4)
    rows = math.ceil(count / cols)
    figure = Figure(figsize=(size * cols, size * rows))
    axes = figure.subplots(rows, cols, squeeze=False)
    for axis in axes.flat[count:]:
        axis.axis("off")
    return figure, axes.flat


def _plot_losses(results_dir, runs, path):
    named = [(name, run_records.load_curves(results_dir, name)) for name in sorted(runs)]
    named = [(name, curves) for name, curves in named if "train/d_loss" in curves]
    if not named:
        return None
    figure, axes = _grid_of_axes(len(named))
    for axis, (name, curves) in zip(axes, named):
        for tag in ("train/d_loss", "train/g_loss"):
            steps, values = np.asarray(curves[tag]).T
            axis.plot(steps, values, label=tag.split("/")[1], linewidth=0.8)
        axis.set_title(name, fontsize=9)
        axis.set_xlabel("step")
        axis.legend(fontsize=7)
    return _save(figure, path)


def _plot_scalar(results_dir, runs, tag, wanted, title, path):
    series = [(name, run_records.load_curves(results_dir, name).get(tag))
              for name, run in sorted(runs.items()) if wanted(run)]
    series = [(name, values) for name, values in series if values]
    if not series:
        return None
    figure = Figure(figsize=(6, 4))
    axis = figure.subplots()
    for name, values in series:
        steps, numbers = np.asarray(values).T
        axis.plot(steps, numbers, label=name, linewidth=0.8)
    axis.set_title(title, fontsize=10)
    axis.set_xlabel("step")
    axis.legend(fontsize=7)
    return _save(figure, path)


def _plot_samples(results_dir, runs, path):
    """Each preset's sample grids at the saved epochs, with real test digits first."""
    rows = [(f"real {real.stem.split('_', 1)[1]}", [("test set", real)])
            for real in sorted(Path(results_dir, "samples").glob("real_*.png"))]
    for name in sorted(runs):
        grids = sorted(Path(results_dir, "samples", name).glob("epoch_*.png"))
        if grids:
            rows.append((name, [(f"epoch {int(g.stem.split('_')[1])}", g) for g in grids]))
    if not rows:
        return None
    cols = max(len(grids) for _, grids in rows)
    figure = Figure(figsize=(1.8 * cols, 1.9 * len(rows)))
    axes = figure.subplots(len(rows), cols, squeeze=False)
    for (name, grids), axis_row in zip(rows, axes):
        for axis in axis_row:
            axis.axis("off")
        for axis, (label, grid) in zip(axis_row, grids):
            axis.imshow(np.asarray(Image.open(grid)).squeeze(), cmap="gray", vmin=0, vmax=255)
            axis.set_title(label, fontsize=7)
        axis_row[0].text(-0.1, 0.5, name, transform=axis_row[0].transAxes, ha="right",
                         va="center", fontsize=7)
    return _save(figure, path)


def _plot_fid_curves(runs, path):
    """The FID curve of every run that logged one, against epochs, on one axis."""
    series = [(name, run["fid_curve"]) for name, run in sorted(runs.items()) if run.get("fid_curve")]
    if not series:
        return None
    figure = Figure(figsize=(6, 4))
    axis = figure.subplots()
    for name, curve in series:
        epochs, _, fids = np.asarray(curve, dtype=float).T
        axis.plot(epochs, fids, marker=".", label=name)
    axis.set_yscale("log")
    axis.set_xlabel("epoch")
    axis.set_ylabel(f"FID ({runs[series[0][0]]['fid_curve_samples']} samples)")
    axis.set_title("FID over training", fontsize=10)
    axis.legend(fontsize=7)
    return _save(figure, path)


def _plot_fid_against_minutes(runs, path):
    """The FID curves against the training minutes each point took (the curve's own
    evaluations left out, `run_records.training_minutes`): what a minute of training buys."""
    series = [(name, run) for name, run in sorted(runs.items()) if run.get("fid_curve_minutes")]
    if not series:
        return None
    figure = Figure(figsize=(6, 4))
    axis = figure.subplots()
    for name, run in series:
        fids = [fid for _, _, fid in run["fid_curve"]]
        axis.plot(run["fid_curve_minutes"], fids, marker=".", label=name)
    axis.set_yscale("log")
    cpus = sorted({run.get("machine", {}).get("cpu", "CPU not recorded") for _, run in series})
    axis.set_xlabel(f"training minutes on {', '.join(cpus)}", fontsize=8)
    axis.set_ylabel(f"FID ({series[0][1]['fid_curve_samples']} samples)")
    axis.set_title("FID against training time", fontsize=10)
    axis.legend(fontsize=7)
    return _save(figure, path)


def _plot_em_and_fid(results_dir, run, path):
    """The WGAN row's Earth-Mover estimate per epoch and its FID on twin axes."""
    em_curve = _em_curve(results_dir)
    if run is None or not run.get("fid_curve") or not em_curve:
        return None
    epochs = run["epochs"]
    em = claims.em_per_epoch(em_curve, run["steps"] / epochs, epochs)
    at, _, fids = np.asarray(run["fid_curve"], dtype=float).T
    figure = Figure(figsize=(6, 4))
    left = figure.subplots()
    left.plot(np.arange(1, epochs + 1), em, color="tab:blue", marker=".")
    left.set_xlabel("epoch")
    left.set_ylabel("Earth-Mover estimate (epoch mean)", color="tab:blue")
    right = left.twinx()
    right.plot(at, fids, color="tab:red", marker=".")
    right.set_ylabel("FID", color="tab:red")
    left.set_title(f"{claims.WGAN}: the Earth-Mover estimate against FID", fontsize=10)
    return _save(figure, path)


def _save(figure, path):
    figure.tight_layout()
    figure.savefig(path, dpi=80)
    return path
