"""The reports' claims as statements checked against our results.

Report B's are rules on one metric of its rows (`Claim`), also checked against its own
published numbers; report A published none, so its claims are read from the FID curves
of its rows (`CurveClaim`).
"""

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
            evidence, verdict = "", _not_yet_measured(missing)
        else:
            evidence = ", ".join(_evidence(name, values, claim.metric)
                                 for name, values in scores.items())
            means = {name: float(np.mean(values)) for name, values in scores.items()}
            verdict = _verdict(claim.holds(means))
        if all(claim.metric in published.get(name, {}) for name in claim.rows):
            theirs = _verdict(claim.holds({n: published[n][claim.metric] for n in claim.rows}))
        else:
            theirs = f"no published {'FID' if claim.metric == 'fid' else claim.metric}"
        lines.append(f"| {claim.text} | {evidence} | {verdict} | {theirs} |")
    return lines


def _verdict(holds):
    return "holds" if holds else "does not hold"


def _not_yet_measured(rows):
    return f"not yet measured ({', '.join(rows)})"


def _evidence(name, values, metric="fid"):
    digits = 1 if metric == "fid" else 2
    label = name if metric == "fid" else f"{name} {metric}"
    if len(values) == 1:
        return f"{label} {values[0]:.{digits}f}"
    return (f"{label} {np.mean(values):.{digits}f} ± {np.std(values, ddof=1):.{digits}f} "
            f"({len(values)} seeds)")


# Report A published no numbers: its claims are about quality over training, checked on the
# FID curves of its MNIST rows (`reproduction.fid_curve_epochs`) and their final scores.
TUTORIAL, IMPROVED, WGAN = "dcgan_tutorial", "dcgan_improved", "wgan_clip_mnist"
REALISTIC_EPOCH = 10  # where report A calls the improved DCGAN's digits realistic
COMPARED_EPOCHS = (5, 10, 20)  # where the two DCGANs' curves are compared
EARLY_EPOCHS = 5  # the WGAN's "first epochs"
ABOUT_50_EPOCHS = 40  # reaching realistic digits from here on is needing "about 50" epochs
SIMILAR = 1.5  # the factor within which two FIDs count as similar quality
NOTE_A = ("FID over training from 2,048 samples against the test set (higher than the "
          "10,000-sample protocol's): the WGAN's every epoch, the DCGANs' at epochs 1, 2, 5 "
          "and every fifth after in a 50-epoch run (rows of 20 epochs recorded before "
          "have every epoch); final scores from the protocol. 'Realistic' is the FID the "
          f"improved DCGAN reaches at epoch {REALISTIC_EPOCH}, where report A calls its digits "
          "realistic.")


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


@dataclasses.dataclass(frozen=True)
class CurveClaim:
    """A claim of report A, read from its rows' FID curves and final scores.

    `check` gets the current run of each row by name and the WGAN row's Earth-Mover curve
    (or None), and returns (our evidence, verdict); it runs once every row has a FID curve.
    """

    text: str
    rows: tuple[str, ...]
    check: Callable[[dict, list | None], tuple[str, str]]


def _tutorial_epochs(runs, em_curve):
    tutorial, realistic = runs[TUTORIAL], fid_at(runs[IMPROVED], REALISTIC_EPOCH)
    if realistic is None:
        return (f"no FID of the improved DCGAN at epoch {REALISTIC_EPOCH}",
                "not yet measured")
    reached = next((epoch for epoch, fid in epoch_fids(tutorial) if fid <= realistic), None)
    evidence = (f"tutorial FID at epochs {'/'.join(map(str, COMPARED_EPOCHS))}: "
                f"{_fids(tutorial, COMPARED_EPOCHS)}; "
                f"realistic (improved at {REALISTIC_EPOCH}): {realistic:.1f}")
    if reached is None:
        # A run shorter than 50 epochs can contradict the claim, not confirm it.
        return (evidence + f"; not reached in {tutorial['epochs']}",
                f"consistent (not reached within {tutorial['epochs']} epochs)")
    # a curve with a point every few epochs bounds the epoch from above
    evidence += f"; reached by epoch {reached} (the curve's first point at or below)"
    if reached >= ABOUT_50_EPOCHS:
        return evidence, "holds"
    return evidence, f"does not hold: {reached} epochs or fewer"


def _improved_faster(runs, em_curve):
    tutorial, improved = runs[TUTORIAL], runs[IMPROVED]
    pairs = [(fid_at(improved, e), fid_at(tutorial, e)) for e in COMPARED_EPOCHS]
    evidence = (f"improved {_fids(improved, COMPARED_EPOCHS)} "
                f"vs tutorial {_fids(tutorial, COMPARED_EPOCHS)}")
    holds = all(a is not None and b is not None and a < b for a, b in pairs)
    return evidence, _verdict(holds)


def _wgan_early(runs, em_curve):
    wgan = runs[WGAN]
    first, early, last = (fid_at(wgan, e) for e in (1, EARLY_EPOCHS, wgan["epochs"]))
    evidence = (f"FID at epochs 1/{EARLY_EPOCHS}/{wgan['epochs']}: "
                f"{first:.1f} / {early:.1f} / {last:.1f}")
    return evidence, _verdict(first - early > early - last)


def _wgan_like_dcgan(runs, em_curve):
    """At the WGAN's last epoch on both curves (same epoch, same sample count); the final
    scores only when the improved DCGAN's curve has no point there."""
    wgan, improved = runs[WGAN], runs[IMPROVED]
    epoch = wgan["epochs"]
    ours, theirs = fid_at(wgan, epoch), fid_at(improved, epoch)
    if ours is not None and theirs is not None:
        evidence = f"FID at epoch {epoch} (both curves): {ours:.1f} vs {theirs:.1f}"
    else:
        ours, theirs = wgan["evaluation"]["fid"], improved["evaluation"]["fid"]
        evidence = (f"final FID {ours:.1f} vs {theirs:.1f} after {epoch} and "
                    f"{improved['epochs']} epochs")
    return evidence, _verdict(ours <= SIMILAR * theirs)


def _em_tracks_quality(runs, em_curve):
    if em_curve is None:
        return "no Earth-Mover curve", "not yet measured"
    wgan = runs[WGAN]
    epochs = wgan["epochs"]
    em = em_per_epoch(em_curve, wgan["steps"] / epochs, epochs)
    fid = np.array([fid_at(wgan, e + 1) for e in range(epochs)], dtype=float)
    evidence = (f"Spearman rho(EM estimate, FID) over {epochs} epochs = {_rho(em, fid):.2f}; "
                f"EM estimate epoch 1 {em[0]:.3g}, last {em[-1]:.3g}")
    if _tracks(em, fid):
        return evidence, "holds"
    # The estimate is a distance only once the critic is near its optimum: while the
    # critic still learns, it rises. From its peak on (5 epochs or more), it can track
    # quality again.
    peak = int(np.nanargmax(em))
    if epochs - peak >= 5 and _tracks(em[peak:], fid[peak:]):
        return (evidence + f"; from its peak at epoch {peak + 1} on: rho = "
                f"{_rho(em[peak:], fid[peak:]):.2f}",
                f"holds from epoch {peak + 1} (the estimate's peak) on, not before")
    return evidence, "does not hold"


def _wgan_diverse(runs, em_curve):
    ours, theirs = runs[WGAN]["evaluation"], runs[IMPROVED]["evaluation"]
    evidence = (f"recall {ours['recall']:.3f} vs {theirs['recall']:.3f}, coverage "
                f"{ours['coverage']:.3f} vs {theirs['coverage']:.3f} (WGAN vs improved DCGAN, "
                f"final scores after {runs[WGAN]['epochs']} and {runs[IMPROVED]['epochs']} "
                "epochs)")
    return evidence, _verdict(ours["recall"] > theirs["recall"]
                              and ours["coverage"] > theirs["coverage"])


CLAIMS_A = (
    CurveClaim("The tutorial DCGAN needs about 50 epochs for realistic digits",
               (TUTORIAL, IMPROVED), _tutorial_epochs),
    CurveClaim("The improved DCGAN converges faster: better FID than the tutorial at epochs "
               + ", ".join(map(str, COMPARED_EPOCHS)), (TUTORIAL, IMPROVED), _improved_faster),
    CurveClaim("WGAN with clipping improves most in its first epochs, slowly afterwards",
               (WGAN,), _wgan_early),
    CurveClaim(f"WGAN with clipping reaches quality similar to the improved DCGAN's at equal "
               f"epochs (FID within {SIMILAR}x)", (WGAN, IMPROVED), _wgan_like_dcgan),
    CurveClaim("The Earth-Mover estimate decreases over training and tracks sample quality",
               (WGAN,), _em_tracks_quality),
    CurveClaim("WGAN mitigates mode collapse: higher recall and coverage than the improved "
               "DCGAN", (WGAN, IMPROVED), _wgan_diverse),
)


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
    current = {name: seeds[0] for name, seeds in run_records.current_runs(runs).items()}
    lines = ["| claim | our evidence | holds in our runs |", "|---|---|---|"]
    for claim in CLAIMS_A:
        missing = [name for name in claim.rows if not current.get(name, {}).get("fid_curve")]
        if missing:
            evidence, verdict = "", _not_yet_measured(missing)
        else:
            evidence, verdict = claim.check(current, em_curve)
        lines.append(f"| {claim.text} | {evidence} | {verdict} |")
    return lines
