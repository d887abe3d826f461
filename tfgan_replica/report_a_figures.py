"""Report A's figures: real test digits beside a row's sample grids at report A's epochs.

One PNG per report A row, `figures/report_a_ROW.png`, drawn from the grids `reproduce`
keeps in `results/samples/` and shown at their own pixel size: each grid is placed in
the figure pixel for pixel, never resampled, so the digits stay as sharp as in the run.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure  # no pyplot: no global backend or figure state
from PIL import Image

from tfgan_replica import callbacks, data, images

# The epochs of report A's grids (5, 10, 50 and 200, the lengths of its tutorial and its
# improved models) and the first; a row shows those of them it ran.
REPORT_A_EPOCHS = (1, 5, 10, 50, 200)
REAL_LABEL = "real (test set)"
NOTE = ("Each report A row's sample grids at report A's epochs "
        f"({', '.join(map(str, REPORT_A_EPOCHS))}, those the row ran) beside real test digits, "
        "every grid at its own pixel size. A label says when a grid is not the "
        f"{callbacks.GRID_SIZE}x{callbacks.GRID_SIZE} layout of today's runs, such as a 4x4 grid "
        "of an older run.")

# The figure's layout in pixels. A power-of-two dpi makes every size in inches exact, so the
# saved PNG has exactly the pixels laid out here.
_DPI = 128
_PAD, _TITLE, _LABEL, _MIN_COLUMN = 16, 36, 44, 176


def write_report_a_figures(results_dir, runs, figures_dir):
    """Writes `figures_dir/report_a_ROW.png` for each report A row of `runs` (results.json's
    records by name) with grids of report A's epochs kept; returns {path: panel labels}."""
    drawn = {}
    for name, run in sorted(runs.items()):
        if run["preset"].get("report") != "A":
            continue
        dataset = run["preset"].get("dataset", "mnist")
        panels = row_panels(Path(results_dir, "samples"), name, dataset)
        if panels:
            path = Path(figures_dir, f"report_a_{name}.png")
            _draw(f"{name}: real test digits beside samples at report A's epochs", panels, path)
            drawn[path] = [f"{label}{note}" for label, note, _ in panels]
    return drawn


def row_panels(samples_dir, name, dataset):
    """[(label, layout note, RGB pixels)]: the real test grid of `dataset`, then the row's
    grids at REPORT_A_EPOCHS; none when the row kept no grid of those epochs."""
    grids = {int(path.stem.split("_")[1]): path
             for path in sorted(Path(samples_dir, name).glob("epoch_*.png"))}
    chosen = [(f"epoch {epoch}", grids[epoch]) for epoch in REPORT_A_EPOCHS if epoch in grids]
    if not chosen:
        return []
    real = Path(samples_dir, f"real_{dataset}.png")
    digit_width = data.image_shape(dataset)[1]
    panels = []
    for label, path in ([(REAL_LABEL, real)] if real.is_file() else []) + chosen:
        with Image.open(path) as image:
            pixels = np.asarray(image.convert("RGB"))  # a gray grid stays gray
        panels.append((label, layout_note(pixels.shape[1], digit_width), pixels))
    return panels


def layout_note(grid_width, digit_width):
    """What a label says of a grid `grid_width` pixels wide that is not the layout of today's
    runs (`callbacks.GRID_SIZE` digits a side at `images.image_grid`'s scale and gap):
    how many digits a side, and whether it is the older layout (digits at their own size,
    no gap)."""
    cell = digit_width * images.GRID_SCALE + images.GRID_GAP
    if (grid_width + images.GRID_GAP) % cell == 0:
        side = (grid_width + images.GRID_GAP) // cell
        return "" if side == callbacks.GRID_SIZE else f" ({side}x{side})"
    if grid_width % digit_width == 0:
        side = grid_width // digit_width
        return f" ({side}x{side}, older run)"
    return f" ({grid_width} px wide, not a grid of {digit_width}-pixel digits)"


def _draw(title, panels, path):
    """The panels left to right under their labels, each grid at its own pixel size."""
    columns = [max(pixels.shape[1], _MIN_COLUMN) for *_, pixels in panels]
    width = _PAD + sum(column + _PAD for column in columns)
    top = _TITLE + _LABEL  # from the figure's top edge to the grids' top edges
    height = top + max(pixels.shape[0] for *_, pixels in panels) + _PAD
    figure = Figure(figsize=(width / _DPI, height / _DPI), dpi=_DPI, facecolor="white")
    figure.text(_PAD / width, 1 - _PAD / 2 / height, title, fontsize=11, va="top")
    left = _PAD
    for (label, note, pixels), column in zip(panels, columns):
        # figimage places the array unscaled at a pixel offset from the bottom-left corner; as
        # uint8 RGB it is not colour-mapped either, so the figure holds the grid's own pixels.
        figure.figimage(pixels, xo=left, yo=height - top - pixels.shape[0], origin="upper",
                        interpolation="nearest")
        figure.text(left / width, 1 - (top - 6) / height, f"{label}\n{note.strip()}",
                    fontsize=9, va="bottom", linespacing=1.2)
        left += column + _PAD
    figure.savefig(path, dpi=_DPI)
    return path
