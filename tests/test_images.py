"""Reading image files: .npz and PNG (gray, RGB, palette), with one clear error per bad file."""

import numpy as np
import pytest
from PIL import Image

from tfgan_replica import images


def test_image_grid_enlarges_each_image_and_sets_cells_apart():
    digits = np.arange(5 * 2 * 3, dtype=np.uint8).reshape(5, 2, 3, 1)
    grid = images.image_grid(digits, rows=2, scale=2, gap=1)
    assert grid.shape == (2 * 4 + 1, 3 * 6 + 2, 1)
    for index, digit in enumerate(digits):
        top, left = 5 * (index // 3), 7 * (index % 3)
        cell = grid[top:top + 4, left:left + 6]
        np.testing.assert_array_equal(cell, digit.repeat(2, axis=0).repeat(2, axis=1))
    assert (grid[4] == images.GRID_GAP_VALUE).all() and (grid[:, 6] == images.GRID_GAP_VALUE).all()
    assert (grid[5:, 14:] == images.GRID_GAP_VALUE).all()  # the sixth place is empty
    plain = images.image_grid(digits[:4], rows=2, scale=1, gap=0)
    np.testing.assert_array_equal(plain, np.concatenate(
        [np.concatenate(list(digits[:2]), axis=1), np.concatenate(list(digits[2:4]), axis=1)]))


def test_palette_pngs_are_read_as_pixels_not_palette_indices(tmp_path):
    gray = np.arange(64, dtype=np.uint8).reshape(8, 8) * 4
    palette_gray = Image.fromarray(gray).convert("P", palette=Image.Palette.ADAPTIVE, colors=256)
    # An adaptive palette stores the gray levels in another order: indices are not pixels.
    assert not np.array_equal(np.asarray(palette_gray), gray)
    palette_gray.save(tmp_path / "a.png")
    color = np.zeros((8, 8, 3), np.uint8)
    color[..., 0] = 200
    Image.fromarray(color).convert("P", palette=Image.Palette.ADAPTIVE).save(tmp_path / "b.png")
    read = images.read_png_folder(tmp_path)
    assert read.shape == (2, 8, 8, 3)  # one colour image: the batch is RGB
    np.testing.assert_array_equal(read[0], np.repeat(gray[..., None], 3, axis=-1))
    np.testing.assert_array_equal(read[1], color)
    folder = tmp_path / "gray"
    folder.mkdir()
    palette_gray.save(folder / "a.png")
    Image.fromarray(gray).save(folder / "b.png")
    read = images.read_png_folder(folder)
    assert read.shape == (2, 8, 8)
    np.testing.assert_array_equal(read[0], gray)
    np.testing.assert_array_equal(read[1], gray)


def test_rgb_and_rgba_pngs_keep_three_channels(tmp_path):
    rgba = np.random.default_rng(0).integers(0, 256, (4, 4, 4), dtype=np.uint8)
    Image.fromarray(rgba, "RGBA").save(tmp_path / "a.png")
    np.testing.assert_array_equal(images.read_png_folder(tmp_path)[0], rgba[..., :3])


def test_npz_errors_name_the_file_and_the_fix(tmp_path):
    np.savez(tmp_path / "good.npz", images=np.zeros((2, 4, 4), np.uint8))
    (array,) = images.read_npz(tmp_path / "good.npz", ["images"], "save with images=")
    assert array.shape == (2, 4, 4)
    with pytest.raises(images.ImageFileError, match=r"missing arrays \['x'\].*save with x="):
        images.read_npz(tmp_path / "good.npz", ["x"], "save with x=")
    data = (tmp_path / "good.npz").read_bytes()
    (tmp_path / "cut.npz").write_bytes(data[: len(data) // 2])
    with pytest.raises(images.ImageFileError, match="cut.npz: truncated or corrupt .npz"):
        images.read_npz(tmp_path / "cut.npz", ["images"], "")
    np.savez(tmp_path / "objects.npz", images=np.array([{"a": 1}], dtype=object))
    with pytest.raises(images.ImageFileError, match="objects.npz"):  # no pickles are loaded
        images.read_npz(tmp_path / "objects.npz", ["images"], "")
