"""Report B's conclusions as statements checked against our results."""

from __future__ import annotations

import dataclasses
from typing import Callable

import numpy as np
import scipy.stats

from tfgan_replica import run_records


NOTE = ("Each claim compares the FID of report B's rows under report B's own evaluator (the "
        "`course` column; the standard FID where a row has none), and is checked only when "
        "all its rows have a result of their presets' current definition. A row trained with "
        "several seeds enters with their mean (± their sample standard deviation); a row with "
        "one seed can move by a few percent with another.")


@dataclasses.dataclass(frozen=True)
class Claim:
    text: str
    rows: tuple[str, ...]
    holds: Callable[[dict], bool]  # the metric by row -> does the claim hold?
    metric: str = "fid"  # or "recall", where that is all report B published


CLAIMS = (
    Claim("Spectral norm improves on the vanilla GAN", ("mlp_bce", "mlp_bce_sn"),
          lambda fid: fid["mlp_bce_sn"] < fid["mlp_bce"]),
    Claim("With spectral norm, hinge loss beats BCE", ("mlp_bce_sn", "mlp_hinge_sn"),
          lambda fid: fid["mlp_hinge_sn"] < fid["mlp_bce_sn"]),
    Claim("A convolutional D adds little over the MLP D (hinge + SN): not 10% better",
          ("mlp_hinge_sn", "mlp_conv_hinge_sn"),
          lambda fid: fid["mlp_conv_hinge_sn"] > 0.9 * fid["mlp_hinge_sn"]),
    Claim("WGAN-GP is competitive: within 1.5x of the best spectral-norm row",
          ("mlp_wgan_gp", "mlp_bce_sn", "mlp_hinge_sn"),
          lambda fid: fid["mlp_wgan_gp"] <= 1.5 * min(fid["mlp_bce_sn"], fid["mlp_hinge_sn"])),
    Claim("DiffAugment color + translation breaks an MLP D down (FID > 100)",
          ("mlp_diffaug_ct",), lambda fid: fid["mlp_diffaug_ct"] > 100),
    Claim("The safe DiffAugment policy improves on the row it augments (hinge + SN)",
          ("mlp_hinge_sn", "mlp_diffaug_safe"),
          lambda fid: fid["mlp_diffaug_safe"] < fid["mlp_hinge_sn"]),
    Claim("Minibatch standard deviation improves on the row it extends (hinge + SN)",
          ("mlp_hinge_sn", "mlp_mbstd"), lambda fid: fid["mlp_mbstd"] < fid["mlp_hinge_sn"]),
    Claim("DiffAugment improves recall with a CNN D (0.82 vs 0.80)",
          ("cnn_hinge_sn", "cnn_hinge_sn_diffaug"),
          lambda recall: recall["cnn_hinge_sn_diffaug"] > recall["cnn_hinge_sn"], "recall"),
)


def course_score(run, metric="fid"):
    """`metric` under report B's evaluator, or the standard one where a run has no course
    column."""
    scores = run["evaluation"]
    return scores.get("course", scores)[metric]


def claim_rows(all_runs, published):
    """Markdown lines: claim, our evidence, verdict, and what report B's own numbers say.

    `all_runs` is results.json's "runs", repeats with other seeds included.
    """
    by_preset = run_records.current_runs(all_runs)
    lines = ["| claim | ours (report B's evaluator) | holds in our runs | in report B's numbers |",
             "|---|---|---|---|"]
    for claim in CLAIMS:
        scores = {name: [course_score(run, claim.metric) for run in by_preset.get(name, [])]
                  for name in claim.rows}
        missing = [name for name, values in scores.items() if not values]
        if missing:
            evidence, verdict = "", f"not yet measured ({', '.join(missing)})"
        else:
            evidence = ", ".join(_evidence(name, values, claim.metric)
                                 for name, values in scores.items())
            means = {name: float(np.mean(values)) for name, values in scores.items()}
            verdict = "holds" if claim.holds(means) else "does not hold"
        if all(claim.metric in published.get(name, {}) for name in claim.rows):
            theirs = ("holds" if claim.holds({n: published[n][claim.metric] for n in claim.rows})
                      else "does not hold")
        else:
            theirs = f"no published {'FID' if claim.metric == 'fid' else claim.metric}"
        lines.append(f"| {claim.text} | {evidence} | {verdict} | {theirs} |")
    return lines


def _evidence(name, values, metric="fid"):
    digits = 1 if metric == "fid" else 2
    label = name if metric == "fid" else f"{name} {metric}"
    if len(values) == 1:
        return f"{label} {values[0]:.{digits}f}"
    return (f"{label} {np.mean(values):.{digits}f} ± {np.std(values, ddof=1):.{digits}f} "
            f"({len(values)} seeds)")


# Report A published no numbers: its claims are about quality over training, checked on the
# per-epoch FID curves of its MNIST rows (`reproduction.tracks_fid`) and their final scores.
NOTE_A = ("FID per epoch from 2,048 samples against the test set (higher than the 10,000-sample "
          "protocol's), final scores from the protocol. 'Realistic' is the FID the improved DCGAN "
          "reaches at epoch 10, where report A calls its digits realistic.")
TUTORIAL, IMPROVED, WGAN = "dcgan_tutorial", "dcgan_improved", "wgan_clip_mnist"
SIMILAR = 1.5  # the factor within which two final FIDs count as similar quality


def epoch_fids(run):
    """(epoch, FID) at each epoch end of `run`'s curve; a point between epochs, measured
    where a run was interrupted, counts for none of them."""
    return [(int(at), fid) for at, _, fid in run.get("fid_curve", []) if at == int(at)]


def fid_at(run, epoch):
    """The FID of `run` at the end of `epoch`, or None."""
    return dict(epoch_fids(run)).get(epoch)


def em_per_epoch(curve, steps_per_epoch, epochs):
    """Mean of the logged Earth-Mover estimates within each epoch."""
    points = np.asarray(curve, dtype=float)
    index = np.minimum((points[:, 0] - 1) // steps_per_epoch, epochs - 1).astype(int)
    return np.array([points[index == e, 1].mean() if np.any(index == e) else np.nan
                     for e in range(epochs)])


def _claims_a(runs, em_curve):
    tutorial, improved, wgan = (runs.get(name) for name in (TUTORIAL, IMPROVED, WGAN))
    rows = []

    def row(text, names, check):
        missing = [name for name in names if not (runs.get(name) or {}).get("fid_curve")]
        if missing:
            rows.append((text, "", f"not yet measured ({', '.join(missing)})"))
        else:
            rows.append((text, *check()))

    def tutorial_epochs():
        realistic = fid_at(improved, 10)
        reached = next((epoch for epoch, fid in epoch_fids(tutorial) if fid <= realistic), None)
        evidence = (f"tutorial FID at epochs 5/10/20: {_fids(tutorial, (5, 10, 20))}; "
                    f"realistic (improved at 10): {realistic:.1f}")
        if reached is None:
            # A run shorter than 50 epochs can contradict the claim, not confirm it.
            return (evidence + f"; not reached in {tutorial['epochs']}",
                    f"consistent (not reached within {tutorial['epochs']} epochs)")
        return evidence + f"; reached at epoch {reached}", f"does not hold: {reached} epochs"

    def improved_faster():
        pairs = [(fid_at(improved, e), fid_at(tutorial, e)) for e in (5, 10, 20)]
        evidence = f"improved {_fids(improved, (5, 10, 20))} vs tutorial {_fids(tutorial, (5, 10, 20))}"
        holds = all(a is not None and b is not None and a < b for a, b in pairs)
        return evidence, "holds" if holds else "does not hold"

    def wgan_early():
        first, fifth, last = (fid_at(wgan, e) for e in (1, 5, wgan["epochs"]))
        evidence = f"FID at epochs 1/5/{wgan['epochs']}: {first:.1f} / {fifth:.1f} / {last:.1f}"
        return evidence, "holds" if first - fifth > fifth - last else "does not hold"

    def wgan_like_dcgan():
        ours, theirs = wgan["evaluation"]["fid"], improved["evaluation"]["fid"]
        evidence = f"FID {ours:.1f} vs {theirs:.1f} after {wgan['epochs']} and {improved['epochs']} epochs"
        return evidence, "holds" if ours <= SIMILAR * theirs else "does not hold"

    def em_tracks_quality():
        if em_curve is None:
            return "no Earth-Mover curve", "not yet measured"
        epochs = wgan["epochs"]
        em = em_per_epoch(em_curve, wgan["steps"] / epochs, epochs)
        fid = np.array([fid_at(wgan, e + 1) for e in range(epochs)], dtype=float)
        evidence = (f"Spearman rho(EM estimate, FID) over {epochs} epochs = {_rho(em, fid):.2f}; "
                    f"EM estimate epoch 1 {em[0]:.3g}, last {em[-1]:.3g}")
        if _tracks(em, fid):
            return evidence, "holds"
        # The estimate is a distance only once the critic is near its optimum: while the
        # critic still learns, it rises. From its peak on, it can track quality again.
        peak = int(np.nanargmax(em))
        if epochs - peak >= 5 and _tracks(em[peak:], fid[peak:]):
            return (evidence + f"; from its peak at epoch {peak + 1} on: rho = "
                    f"{_rho(em[peak:], fid[peak:]):.2f}",
                    f"holds from epoch {peak + 1} (the estimate's peak) on, not before")
        return evidence, "does not hold"

    def wgan_diverse():
        ours, theirs = wgan["evaluation"], improved["evaluation"]
        evidence = (f"recall {ours['recall']:.3f} vs {theirs['recall']:.3f}, coverage "
                    f"{ours['coverage']:.3f} vs {theirs['coverage']:.3f} (WGAN vs improved DCGAN)")
        holds = ours["recall"] > theirs["recall"] and ours["coverage"] > theirs["coverage"]
        return evidence, "holds" if holds else "does not hold"

    row("The tutorial DCGAN needs about 50 epochs for realistic digits", (TUTORIAL, IMPROVED),
        tutorial_epochs)
    row("The improved DCGAN converges faster: better FID than the tutorial at epochs 5, 10, 20",
        (TUTORIAL, IMPROVED), improved_faster)
    row("WGAN with clipping improves most in its first epochs, slowly afterwards", (WGAN,),
        wgan_early)
    row(f"WGAN with clipping reaches quality similar to the improved DCGAN's (FID within "
        f"{SIMILAR}x)", (WGAN, IMPROVED), wgan_like_dcgan)
    row("The Earth-Mover estimate decreases over training and tracks sample quality", (WGAN,),
        em_tracks_quality)
    row("WGAN mitigates mode collapse: higher recall and coverage than the improved DCGAN",
        (WGAN, IMPROVED), wgan_diverse)
    return rows


def _rho(em, fid):
    return scipy.stats.spearmanr(em, fid, nan_policy="omit").statistic


def _tracks(em, fid):
    """The estimate falls over the span and ranks the epochs as FID does."""
    return _rho(em, fid) > 0.5 and em[-1] < em[0]


def _fids(run, epochs):
    values = [fid_at(run, e) for e in epochs]
    return " / ".join("—" if v is None else f"{v:.1f}" for v in values)


def claim_rows_a(runs, em_curve):
    """Markdown lines for report A's claims; `em_curve` is the WGAN row's logged
    [[step, Earth-Mover estimate], ...] (or None)."""
    by_preset = run_records.current_runs(runs)
    current = {name: by_preset[name][0] for name in (TUTORIAL, IMPROVED, WGAN) if name in by_preset}
    lines = ["| claim | our evidence | holds in our runs |", "|---|---|---|"]
    lines += [f"| {text} | {evidence} | {verdict} |"
              for text, evidence, verdict in _claims_a(current, em_curve)]
    return lines
