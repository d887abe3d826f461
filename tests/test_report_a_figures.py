"""Report A's figures: real test digits, then a row's grids at report A's epochs, pixel for pixel."""

import numpy as np
import pytest
from PIL import Image

from tfgan_replica import callbacks, images, report_a_figures

RNG = np.random.default_rng(0)


def _grid(side=callbacks.GRID_SIZE, digit=28, **layout):
    """A grid of random digits in the layout of today's runs, or another one via `layout`."""
    digits = RNG.integers(0, 256, (side * side, digit, digit, 1), dtype=np.uint8)
    return images.image_grid(digits, rows=side, **layout)[..., 0]


def _save(grid, path):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(grid).save(path)
    return grid


def _record(report, dataset="mnist"):
    return {"preset": {"report": report, "dataset": dataset}}


@pytest.fixture
def drawn(tmp_path):
    """Fabricated results/samples: one report A row at epochs 1, 5, 10 and 20, one whose epoch 1
    is an older 4x4 grid, one with no grids, one with a grid at epoch 20 only, and a report B
    row; returns the drawn figures and the grids written."""
    samples = tmp_path / "results" / "samples"
    grids = {"real": _save(_grid(), samples / "real_mnist.png")}
    for epoch in (1, 5, 10, 20):
        grids[epoch] = _save(_grid(), samples / "dcgan_tutorial" / f"epoch_{epoch:04d}.png")
    # The layout before grids were enlarged: 4x4 digits at their own size, no gap (112 px).
    _save(_grid(side=4, scale=1, gap=0), samples / "dcgan_improved" / "epoch_0001.png")
    _save(_grid(), samples / "dcgan_improved" / "epoch_0005.png")
    _save(_grid(), samples / "wgan_clip_mnist" / "epoch_0020.png")
    _save(_grid(), samples / "mlp_bce" / "epoch_0001.png")
    runs = {"dcgan_tutorial": _record("A"), "dcgan_improved": _record("A"),
            "wgan_clip_mnist": _record("A"), "dcgan_svhn": _record("A", "svhn"),
            "mlp_bce": _record("B")}
    figures = tmp_path / "results" / "figures"
    figures.mkdir()
    return report_a_figures.write_report_a_figures(tmp_path / "results", runs, figures), grids


def _position(figure, grid):
    """(top, left) where `figure` holds every pixel of `grid` unchanged, or None."""
    height, width = grid.shape
    starts = np.lib.stride_tricks.sliding_window_view(figure, 8, axis=1)  # 8 pixels from each
    for top, left in zip(*np.nonzero((starts == grid[0, :8]).all(axis=-1))):
        if np.array_equal(figure[top:top + height, left:left + width], grid):
            return top, left
    return None


def test_each_report_a_row_with_grids_gets_the_real_grid_then_report_a_epochs(drawn):
    figures, _ = drawn
    by_name = {path.name: labels for path, labels in figures.items()}
    # wgan_clip_mnist kept only epoch 20, dcgan_svhn nothing, mlp_bce is report B: no figure.
    assert sorted(by_name) == ["report_a_dcgan_improved.png", "report_a_dcgan_tutorial.png"]
    assert all(path.is_file() for path in figures)
    assert sorted(p.name for p in next(iter(figures)).parent.iterdir()) == sorted(by_name)
    assert by_name["report_a_dcgan_tutorial.png"] == ["real (test set)", "epoch 1", "epoch 5",
                                                      "epoch 10"]


def test_a_grid_older_than_the_8x8_layout_is_labelled_so(drawn):
    figures, _ = drawn
    by_name = {path.name: labels for path, labels in figures.items()}
    assert by_name["report_a_dcgan_improved.png"] == ["real (test set)",
                                                      "epoch 1 (4x4, older run)", "epoch 5"]


def test_grids_are_drawn_pixel_for_pixel_left_to_right_without_other_epochs(drawn):
    figures, grids = drawn
    path = next(path for path in figures if path.name == "report_a_dcgan_tutorial.png")
    rgb = np.asarray(Image.open(path))[..., :3]
    assert (rgb == rgb[..., :1]).all()  # gray grids stay gray
    figure = rgb[..., 0]
    places = [_position(figure, grids[key]) for key in ("real", 1, 5, 10)]
    assert None not in places
    assert len({top for top, _ in places}) == 1  # one row, the real digits first
    lefts = [left for _, left in places]
    assert lefts == sorted(lefts) and len(set(lefts)) == 4
    assert _position(figure, grids[20]) is None  # epoch 20 is not one of report A's


def test_layout_note_reads_the_layout_from_the_size():
    side = callbacks.GRID_SIZE
    assert report_a_figures.layout_note(_grid().shape[1], 28) == ""
    assert report_a_figures.layout_note(_grid(digit=32).shape[1], 32) == ""  # SVHN
    assert report_a_figures.layout_note(_grid(side=4).shape[1], 28) == " (4x4)"
    assert report_a_figures.layout_note(_grid(side=4, scale=1, gap=0).shape[1], 28) == \
        " (4x4, older run)"
    assert report_a_figures.layout_note(_grid(side=side, scale=1, gap=0).shape[1], 28) == \
        f" ({side}x{side}, older run)"
    assert "not a grid" in report_a_figures.layout_note(100, 28)

