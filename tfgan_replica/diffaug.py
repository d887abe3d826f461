"""Differentiable augmentation (DiffAugment, Zhao et al. 2020) for NHWC images in [-1, 1].

The discriminator sees augmented real *and* fake batches, so every op must let the
gradient reach the generator: shifts, blurs and cutouts are written as multiplications
by one-hot / banded matrices or masks, never as integer indexing tricks.

All random parameters are drawn per sample and anew on every call, then cast to the
input dtype, so float16 / bfloat16 (mixed precision) inputs keep their dtype. They come
from ``rng``, a ``tf.random.Generator``, when one is given: a training run passes the one
its checkpoints hold, so a resumed run draws the same augmentations as an uninterrupted
one. Without it they come from TensorFlow's global random ops.
Ops work eagerly, in ``tf.function`` (also with an unknown batch dimension) and under
``jit_compile=True``. Height, width and channels must be static.

Policies are comma-separated op names, e.g. ``"color,translation,cutout"``; the named
policy ``"safe"`` expands to ``"blur,noise,gridcutout"`` (for MLP discriminators, which
have no translation invariance). ``""`` or ``None`` is the identity.
"""

from __future__ import annotations

import tensorflow as tf

from tfgan_replica.errors import InputError

# Translation / cutout sizes as fractions of the image side (official values).
TRANSLATION_RATIO = 0.125
CUTOUT_RATIO = 0.5
# "safe" ops: blur sigma ~ U[0, BLUR_MAX_SIGMA), noise sigma ~ U[0, NOISE_MAX_SIGMA),
# grid cutout over a GRID_CELLS x GRID_CELLS grid (7x7 cells on 28x28, 8x8 on 32x32).
BLUR_MAX_SIGMA = 1.0
NOISE_MAX_SIGMA = 0.1
GRID_CELLS = 4


def _random(rng):
    """Where draws come from: the generator `rng`, or TF's global random ops."""
    return tf.random if rng is None else rng


def _uniform(x, low, high, rng, rank=4):
    """Per-sample U[low, high) of shape [N, 1, ...], in the dtype of ``x``."""
    shape = tf.concat([tf.shape(x)[:1], tf.ones([rank - 1], tf.int32)], 0)
    return tf.cast(_random(rng).uniform(shape, low, high), x.dtype)


def _randint(x, low, high, rng):
    """Per-sample integers in [low, high), shape [N]."""
    return _random(rng).uniform(tf.shape(x)[:1], low, high, dtype=tf.int32)


def _apply_rows_cols(x, rows, cols):
    """out[n] = rows[n] @ x[n] @ cols[n]^T per channel: a per-sample linear map on H and W."""
    x = tf.einsum("nij,njwc->niwc", rows, x)
    return tf.einsum("nkw,nhwc->nhkc", cols, x)


def brightness(x, rng=None):
    """Add one offset U[-0.5, 0.5) per sample."""
    return x + _uniform(x, -0.5, 0.5, rng)


def saturation(x, rng=None):
    """Scale the deviation from the channel mean by U[0, 2).

    On one-channel images the deviation is zero, so the op is skipped explicitly
    (returns ``x``) rather than drawing a factor that cannot do anything.
    """
    if x.shape[-1] == 1:
        return x
    mean = tf.reduce_mean(x, axis=3, keepdims=True)
    return (x - mean) * _uniform(x, 0.0, 2.0, rng) + mean


def contrast(x, rng=None):
    """Scale the deviation from the per-image mean by U[0.5, 1.5)."""
    mean = tf.reduce_mean(x, axis=[1, 2, 3], keepdims=True)
    return (x - mean) * _uniform(x, 0.5, 1.5, rng) + mean


def color(x, rng=None):
    """Brightness, then saturation, then contrast (the official ``color`` op)."""
    return contrast(saturation(brightness(x, rng), rng), rng)


def _shift_matrix(size, shift, dtype):
    """One-hot [N, size, size], m[n, i, j] = 1 iff j == i - shift[n]: rows that would read
    outside the image are all zero, which is the zero fill."""
    i = tf.range(size)[None, :, None]
    j = tf.range(size)[None, None, :]
    return tf.cast(tf.equal(j, i - shift[:, None, None]), dtype)


def translation(x, rng=None, ratio=TRANSLATION_RATIO):
    """Shift each image by whole pixels in [-s, s] per axis, s = int(side * ratio + 0.5), zero fill.

    Zero is mid-gray for data in [-1, 1]. Written as one-hot matrix products so the
    gradient flows back to the moved pixels.
    """
    h, w = x.shape[1], x.shape[2]
    sh, sw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    dy = _randint(x, -sh, sh + 1, rng)
    dx = _randint(x, -sw, sw + 1, rng)
    return _apply_rows_cols(x, _shift_matrix(h, dy, x.dtype), _shift_matrix(w, dx, x.dtype))


def _band(size, start, length):
    """[N, size] boolean mask of positions in [start[n], start[n] + length)."""
    i = tf.range(size)[None, :]
    return tf.logical_and(i >= start[:, None], i < start[:, None] + length)


def cutout(x, rng=None, ratio=CUTOUT_RATIO):
    """Zero a square of side int(side * ratio + 0.5) at a uniform centre, clipped at the edges.

    As in the official code the centre is drawn in [0, side + (1 - cut % 2)), so the
    square may hang over any edge by up to half its side.
    """
    h, w = x.shape[1], x.shape[2]
    ch, cw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    y0 = _randint(x, 0, h + (1 - ch % 2), rng) - ch // 2
    x0 = _randint(x, 0, w + (1 - cw % 2), rng) - cw // 2
    hole = tf.logical_and(_band(h, y0, ch)[:, :, None], _band(w, x0, cw)[:, None, :])
    return x * tf.cast(tf.logical_not(hole), x.dtype)[..., None]


def grid_cutout(x, rng=None, cells=GRID_CELLS):
    """Zero one whole cell of a fixed ``cells`` x ``cells`` grid per sample.

    Cutout without positional jitter: the holes always line up with the same pixel
    blocks, which suits an MLP discriminator (no translation invariance to rely on).
    Pixel i belongs to cell i * cells // side, so sides need not divide evenly.
    """
    h, w = x.shape[1], x.shape[2]
    cell_row = tf.range(h) * cells // h
    cell_col = tf.range(w) * cells // w
    cy = _randint(x, 0, cells, rng)
    cx = _randint(x, 0, cells, rng)
    in_row = tf.equal(cell_row[None, :], cy[:, None])
    in_col = tf.equal(cell_col[None, :], cx[:, None])
    hole = tf.logical_and(in_row[:, :, None], in_col[:, None, :])
    return x * tf.cast(tf.logical_not(hole), x.dtype)[..., None]


def _gaussian_matrix(size, sigma):
    """[N, size, size] Gaussian smoothing matrices, rows normalised to sum to 1.

    Row normalisation renormalises the kernel where it meets the border, so a
    constant image stays constant; sigma 0 gives the identity.
    """
    d = tf.cast(tf.range(size), tf.float32)
    d2 = tf.square(d[:, None] - d[None, :])[None]
    sigma = tf.maximum(sigma, 1e-3)[:, None, None]
    k = tf.exp(-d2 / (2.0 * tf.square(sigma)))
    return k / tf.reduce_sum(k, axis=2, keepdims=True)


def blur(x, rng=None, max_sigma=BLUR_MAX_SIGMA):
    """Separable Gaussian blur with sigma ~ U[0, max_sigma) per sample.

    Kernels are built in float32 (exp of large negatives underflows cleanly there)
    and cast to the input dtype.
    """
    h, w = x.shape[1], x.shape[2]
    sigma = _random(rng).uniform(tf.shape(x)[:1], 0.0, max_sigma)
    rows = tf.cast(_gaussian_matrix(h, sigma), x.dtype)
    cols = tf.cast(_gaussian_matrix(w, sigma), x.dtype)
    return _apply_rows_cols(x, rows, cols)


def noise(x, rng=None, max_sigma=NOISE_MAX_SIGMA):
    """Add i.i.d. Gaussian noise whose sigma ~ U[0, max_sigma) is drawn per sample."""
    eps = tf.cast(_random(rng).normal(tf.shape(x)), x.dtype)
    return x + eps * _uniform(x, 0.0, max_sigma, rng)


OPS = {
    "color": color,
    "translation": translation,
    "cutout": cutout,
    "blur": blur,
    "noise": noise,
    "gridcutout": grid_cutout,
}
NAMED_POLICIES = {"safe": ("blur", "noise", "gridcutout")}


def parse_policy(policy) -> tuple[str, ...]:
    """Validate a policy and return its op names in order of application.

    ``policy`` is ``None``, a comma-separated string or a sequence of names; named
    policies (``safe``) are expanded, and a blank policy is the identity. Raises
    ``ValueError`` on an unknown or empty name (``color,,translation``), so a trainer can
    fail before building anything.
    """
    if policy is None or (isinstance(policy, str) and not policy.strip()):
        return ()
    names = policy.split(",") if isinstance(policy, str) else list(policy)
    ops = []
    for name in (n.strip().lower() for n in names):
        if not name:
            raise InputError(f"empty op name in DiffAugment policy {policy!r}; separate op "
                             f"names by single commas, e.g. 'color,translation'")
        if name in NAMED_POLICIES:
            ops.extend(NAMED_POLICIES[name])
        elif name in OPS:
            ops.append(name)
        else:
            valid = ", ".join(sorted(OPS) + sorted(NAMED_POLICIES))
            raise InputError(f"unknown DiffAugment op {name!r}; valid names: {valid}")
    return tuple(ops)


def augment(images, policy, rng=None):
    """Apply the ops of ``policy`` in order to a float NHWC batch; identity if empty.

    ``rng``: the ``tf.random.Generator`` to draw from (default: the global random ops).
    """
    ops = parse_policy(policy)
    if not ops:
        return images
    x = tf.convert_to_tensor(images)
    if x.shape.rank != 4 or None in x.shape[1:]:
        raise InputError(f"expected NHWC images with static H, W, C; got shape {x.shape}")
    for name in ops:
        x = OPS[name](x, rng)
    return x
