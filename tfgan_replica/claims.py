"""Report B's conclusions as statements checked against our results."""

from __future__ import annotations

import dataclasses
from typing import Callable

from tfgan_replica import presets


NOTE = ("Each claim compares the FID of report B's rows under report B's own evaluator (the "
        "`course` column; the standard FID where a row has none), and is checked only when "
        "all its rows have a result of their presets' current definition. One seed per row: "
        "a gap of a few percent is within what another seed could change.")


@dataclasses.dataclass(frozen=True)
class Claim:
    text: str
    rows: tuple[str, ...]
    holds: Callable[[dict], bool]  # FID by row -> does the claim hold?


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
)


def course_fid(run):
    """The FID under report B's evaluator, or the standard one where a run has no course column."""
    scores = run["evaluation"]
    return scores.get("course", scores)["fid"]


def _current(runs, name):
    run = runs.get(name)
    if run is None or name not in presets.PRESETS:
        return None
    return None if presets.changed_fields(run["preset"], presets.PRESETS[name]) else run


def claim_rows(runs, published):
    """Markdown lines: claim, our evidence, verdict, and what report B's own numbers say."""
    lines = ["| claim | our FID (report B's evaluator) | holds in our runs | in report B's numbers |",
             "|---|---|---|---|"]
    for claim in CLAIMS:
        current = {name: _current(runs, name) for name in claim.rows}
        missing = [name for name, run in current.items() if run is None]
        if missing:
            evidence, verdict = "", f"not yet measured ({', '.join(missing)})"
        else:
            fid = {name: course_fid(run) for name, run in current.items()}
            evidence = ", ".join(f"{name} {value:.1f}" for name, value in fid.items())
            verdict = "holds" if claim.holds(fid) else "does not hold"
        if all(name in published for name in claim.rows):
            theirs = "holds" if claim.holds({n: published[n]["fid"] for n in claim.rows}) else "does not hold"
        else:
            theirs = "no published FID"
        lines.append(f"| {claim.text} | {evidence} | {verdict} | {theirs} |")
    return lines
