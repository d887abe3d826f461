"""The names a flag, a preset or a library call may choose from, the defaults they share
and the datasets' fixed sizes, each in one place.

Kept free of TensorFlow imports, so the commands can check their flags at once.
"""

OPTIMIZERS = ("adam", "rmsprop")
PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16")
STRATEGIES = ("default", "mirrored", "multi_worker")
BUDGETS = ("smoke", "cpu", "full")
# How images reach the FID network's 299x299 input (see `metrics.protocols`); the first,
# pytorch-fid's, is every result's primary column.
FID_PROTOCOLS = ("pytorch_fid", "tf1", "clean")
DEFAULT_FID_PROTOCOL = FID_PROTOCOLS[0]
# The label of real images in the cross-entropy loss: 1.0 is the plain loss, 0.9
# one-sided label smoothing (a preset's choice, never a silent default).
REAL_TARGET = 1.0
# The (height, width, channels) of each dataset's images.
DATASET_SHAPES = {"mnist": (28, 28, 1), "svhn": (32, 32, 3)}
# Images in each dataset's training split: an epoch is this many // batch_size batches.
TRAIN_IMAGES = {"mnist": 60_000, "svhn": 73_257}
# Training images held out of each dataset's training split for choosing among runs (the
# `holdout` split of `data.load_arrays`); the others form its `train_fit` split.
HOLDOUT_IMAGES = 10_000
# The splits a run may train on: all of the training split, or all but its held-out images.
TRAIN_SPLITS = ("train", "train_fit")
