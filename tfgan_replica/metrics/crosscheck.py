"""Our FID protocols' preprocessing against each project's own code, through one network.

`protocols.PROTOCOLS` re-implements three projects' preprocessing in TensorFlow. Here the
projects' own code turns the same uint8 images into 299x299 network inputs, and `crosscheck`
reports how far those inputs are from ours and, through the same Inception network
(`FeatureExtractor.network_features`), the FID of samples against the reference computed
both ways. The projects' code runs on PyTorch; none of it is a dependency of the package:
`./run.sh crosscheck` installs the pinned versions of `PACKAGES`, and every import is made
when a comparison runs, an `InputError` naming that fix when one is missing.

The code of each project that is run (gray images are repeated to RGB first, as PIL's
`convert("RGB")` does when the projects read a gray PNG):

- pytorch_fid: pytorch-fid's src/pytorch_fid/inception.py, `InceptionV3.forward` (bilinear
  `F.interpolate`, then 2x - 1), on pixels / 255 as torchvision's `ToTensor` gives them
  (fid_score.py's `ImagePathDataset`). The module imports torchvision, so the method is
  compiled from the installed file's text and run with its blocks replaced by one identity
  block, which makes it return its preprocessed input.
- tf1: torch-fidelity's torch_fidelity/interpolate_compat_tensorflow.py,
  `interpolate_bilinear_2d_like_tensorflow1x`, loaded from its file (the package's
  `__init__` imports torchvision), called and followed by (x - 128) / 128 as
  `FeatureExtractorInceptionV3.forward` in feature_extractor_inceptionv3.py does. Inputs
  only, also TensorFlow's `tf.compat.v1.image.resize_bilinear` with its defaults, the op
  that TTUR's fid.py graph ran.
- clean: clean-fid's cleanfid/resize.py, `make_resizer("PIL", False, "bicubic", (299, 299))`
  (what `build_resizer("clean")` returns), then (x - 128) / 128 as `InceptionV3W.forward`
  in cleanfid/inception_torchscript.py.
"""

import ast
import dataclasses
import functools
import importlib.metadata
import importlib.util
import platform
import types
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import keras
import numpy as np
import PIL
import tensorflow as tf

import tfgan_replica
from tfgan_replica import data, machine, run_clock
from tfgan_replica.choices import FID_PROTOCOLS
from tfgan_replica.errors import InputError
from tfgan_replica.metrics import protocols, reference, sources
from tfgan_replica.metrics.features import FeatureExtractor, quantize
from tfgan_replica.metrics.fid import FeatureStatistics, frechet_distance

# The versions the cross-check was run with; `./run.sh crosscheck` installs these.
PACKAGES = {"torch": "2.13.0", "pytorch-fid": "0.3.0", "clean-fid": "0.1.35",
            "torch-fidelity": "0.4.0"}
INSTALL_HINT = ("./run.sh crosscheck installs them (pip install torch==2.13.0; pip install "
                "--no-deps pytorch-fid==0.3.0 clean-fid==0.1.35 torch-fidelity==0.4.0)")
FID_TOLERANCE = 0.01  # the relative FID difference an independent implementation may show


def _missing(what, error=None):
    cause = f" ({error})" if error else ""
    return InputError(f"the cross-check needs {what}{cause}; {INSTALL_HINT}")


def _torch():
    try:
        import torch
    except ImportError as error:
        raise _missing("torch", error) from None
    return torch


def _package_file(package, filename):
    """A file of an installed package, found without running the package's `__init__`."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise _missing(f"the package {package}")
    path = Path(next(iter(spec.submodule_search_locations))) / filename
    if not path.is_file():
        raise _missing(f"{package}'s {filename}, which this version of {package} lacks")
    return path


@functools.lru_cache(maxsize=None)
def _torch_fidelity_resize():
    """torch-fidelity's TF1 resize, its module loaded from its file: importing it by name
    runs torch_fidelity/__init__.py, which imports torchvision."""
    _torch()
    path = _package_file("torch_fidelity", "interpolate_compat_tensorflow.py")
    spec = importlib.util.spec_from_file_location("_crosscheck_torch_fidelity_interpolate", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.interpolate_bilinear_2d_like_tensorflow1x


@functools.lru_cache(maxsize=None)
def _pytorch_fid_forward():
    """`InceptionV3.forward` of pytorch-fid's inception.py, compiled from the installed file:
    the module defines classes on torchvision's Inception blocks when imported."""
    torch = _torch()
    path = _package_file("pytorch_fid", "inception.py")
    tree = ast.parse(path.read_text(), str(path))
    methods = [node for cls in tree.body if isinstance(cls, ast.ClassDef) and cls.name == "InceptionV3"
               for node in cls.body if isinstance(node, ast.FunctionDef) and node.name == "forward"]
    if len(methods) != 1:
        raise _missing("pytorch-fid's InceptionV3.forward, which this version's inception.py lacks")
    namespace = {"torch": torch, "F": torch.nn.functional}  # the names inception.py imports
    exec(compile(ast.Module(methods, type_ignores=[]), str(path), "exec"), namespace)
    return namespace["forward"]


@functools.lru_cache(maxsize=None)
def _clean_fid_resize():
    try:
        import cleanfid.resize
    except ImportError as error:
        raise _missing("clean-fid", error) from None
    return cleanfid.resize.make_resizer("PIL", False, "bicubic", protocols.SIZE)


def _rgb(images_uint8):
    images = np.asarray(images_uint8, np.uint8)
    return np.repeat(images, 3, axis=-1) if images.shape[-1] == 1 else images


def _nchw(images_uint8):
    return _torch().from_numpy(_rgb(images_uint8)).permute(0, 3, 1, 2)


def _nhwc_numpy(tensor):
    return tensor.permute(0, 2, 3, 1).contiguous().numpy()


# pytorch-fid's network for `InceptionV3.forward`, reduced to one identity block: forward
# then returns [its input after the resize and the scaling] (InceptionV3's defaults
# resize_input=True and normalize_input=True, which fid_score.py keeps).
_INPUT_ONLY_NETWORK = types.SimpleNamespace(resize_input=True, normalize_input=True,
                                            blocks=[lambda x: x], output_blocks=[0],
                                            last_needed_block=0)


def pytorch_fid_input(images_uint8):
    """pytorch-fid's network input: uint8 (N, H, W, 1|3) -> float32 (N, 299, 299, 3)."""
    torch = _torch()
    forward = _pytorch_fid_forward()
    # torchvision's ToTensor on a uint8 image: float32, divided by 255.
    pixels = _nchw(images_uint8).to(torch.float32).div(255)
    with torch.no_grad():
        (net_input,) = forward(_INPUT_ONLY_NETWORK, pixels)
    return _nhwc_numpy(net_input)


def torch_fidelity_input(images_uint8):
    """torch-fidelity's network input (its InceptionV3's float32 default)."""
    torch = _torch()
    resize = _torch_fidelity_resize()
    with torch.no_grad():
        resized = resize(_nchw(images_uint8).to(torch.float32), size=protocols.SIZE,
                         align_corners=False)
        return _nhwc_numpy((resized - 128) / 128)


def tensorflow_v1_input(images_uint8):
    """TensorFlow 1's resize API with its defaults (align_corners=False, no half-pixel
    centres), then (x - 128) / 128, as the graph of TTUR's fid.py."""
    logger = tf.get_logger()
    level = logger.level
    logger.setLevel("ERROR")  # the v1 API's deprecation notice
    try:
        resized = tf.compat.v1.image.resize_bilinear(tf.constant(_rgb(images_uint8), tf.float32),
                                                     protocols.SIZE)
    finally:
        logger.setLevel(level)
    return ((resized - 128.0) / 128.0).numpy()


def clean_fid_input(images_uint8):
    """clean-fid's network input: its resizer on each RGB image, then its scaling."""
    torch = _torch()
    resize = _clean_fid_resize()
    resized = torch.from_numpy(np.stack([resize(image) for image in _rgb(images_uint8)]))
    return ((resized - 128) / 128).numpy()


@dataclasses.dataclass(frozen=True)
class Implementation:
    """One project's own preprocessing of a protocol."""

    name: str
    code: str  # the file and function of the project that is run
    to_network_input: Callable  # uint8 (N, H, W, 1|3) -> float32 numpy (N, 299, 299, 3)
    package: str  # whose version goes into the provenance


# Per protocol, the project's own code; the first one's inputs are also scored by FID.
IMPLEMENTATIONS = {
    "pytorch_fid": (
        Implementation("pytorch-fid", "src/pytorch_fid/inception.py InceptionV3.forward "
                       "(F.interpolate bilinear, align_corners=False; 2x - 1) on ToTensor's "
                       "x / 255", pytorch_fid_input, "pytorch-fid"),
    ),
    "tf1": (
        Implementation("torch-fidelity", "torch_fidelity/interpolate_compat_tensorflow.py "
                       "interpolate_bilinear_2d_like_tensorflow1x (align_corners=False); "
                       "(x - 128) / 128 of feature_extractor_inceptionv3.py "
                       "FeatureExtractorInceptionV3.forward", torch_fidelity_input,
                       "torch-fidelity"),
        Implementation("tensorflow-v1", "tf.compat.v1.image.resize_bilinear (defaults); "
                       "(x - 128) / 128 (TTUR fid.py's graph)", tensorflow_v1_input,
                       "tensorflow"),
    ),
    "clean": (
        Implementation("clean-fid", "cleanfid/resize.py make_resizer('PIL', False, 'bicubic', "
                       "(299, 299)); (x - 128) / 128 of cleanfid/inception_torchscript.py "
                       "InceptionV3W.forward", clean_fid_input, "clean-fid"),
    ),
}


@dataclasses.dataclass
class InputDifference:
    """Running absolute difference between two implementations' network inputs."""

    images: int = 0
    values: int = 0
    differing: int = 0
    max_abs: float = 0.0
    sum_abs: float = 0.0

    def add(self, ours, theirs):
        """Adds one batch of both implementations' inputs, same shape."""
        ours, theirs = np.asarray(ours), np.asarray(theirs)
        if ours.shape != theirs.shape:
            raise ValueError(f"network inputs differ in shape: ours {ours.shape}, theirs "
                             f"{theirs.shape}")
        difference = np.abs(ours.astype(np.float64) - theirs.astype(np.float64))
        self.images += len(ours)
        self.values += difference.size
        self.differing += int(np.count_nonzero(difference))
        if difference.size:
            self.max_abs = max(self.max_abs, float(difference.max()))
        self.sum_abs += float(difference.sum())
        return self

    def merged(self, other):
        return InputDifference(self.images + other.images, self.values + other.values,
                               self.differing + other.differing,
                               max(self.max_abs, other.max_abs), self.sum_abs + other.sum_abs)

    def summary(self):
        return {"images": self.images, "max_abs": self.max_abs,
                "mean_abs": self.sum_abs / self.values if self.values else 0.0,
                "fraction_differing": self.differing / self.values if self.values else 0.0}


def relative_difference(ours, theirs):
    """|ours - theirs| / |theirs|: 0 when both are 0, infinite when only theirs is."""
    if ours == theirs:
        return 0.0
    return abs(ours - theirs) / abs(theirs) if theirs else float("inf")


def fid_comparison(fid_ours, fid_theirs, tolerance=FID_TOLERANCE):
    """The FID both ways, their relative difference and whether it is within `tolerance`."""
    relative = relative_difference(fid_ours, fid_theirs)
    return {"fid_ours": fid_ours, "fid_theirs": fid_theirs, "relative_difference": relative,
            "within_tolerance": relative <= tolerance, "tolerance": tolerance}


def compare_inputs(images_uint8, protocol, implementations, extractor=None, batch_size=50,
                   progress=False):
    """Runs our protocol and each implementation on the same uint8 images, one batch at a
    time. Returns ({implementation name: InputDifference}, the first implementation's
    features through `extractor`'s network, or None without an extractor)."""
    to_network_input = protocols.get_protocol(protocol).to_network_input
    differences = {implementation.name: InputDifference() for implementation in implementations}
    features = [] if extractor is not None else None
    bar = keras.utils.Progbar(len(images_uint8), unit_name="image") if progress else None
    for start in range(0, len(images_uint8), batch_size):
        batch = images_uint8[start:start + batch_size]
        ours = to_network_input(tf.constant(batch)).numpy()
        for index, implementation in enumerate(implementations):
            theirs = implementation.to_network_input(batch)
            differences[implementation.name].add(ours, theirs)
            if index == 0 and extractor is not None:
                features.append(extractor.network_features(theirs))
        if bar is not None:
            bar.add(len(batch))
    if features is not None:
        features = np.concatenate(features) if features else np.empty((0, 2048), np.float32)
    return differences, features


def check_available(protocol_names):
    """Raises the `InputError` naming the fix unless every implementation can run; before
    any work, with one tiny image."""
    for name in protocol_names:
        protocols.get_protocol(name)
        for implementation in IMPLEMENTATIONS[name]:
            implementation.to_network_input(np.zeros((1, 2, 2, 1), np.uint8))


def _version(distribution):
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def crosscheck(samples=None, protocol_names=FID_PROTOCOLS, max_images=10_000,
               inception_weights=None, batch_size=50, dataset="mnist", split="test",
               inputs_only=False, seed=0, progress=True):
    """Compares each protocol's preprocessing with its projects' own; returns a dict.

    The reference is the first `max_images` images of the split (all of it when it holds
    no more, the reference `evaluate` scores against by default, whose cached features are
    reused), the samples the first `max_images` of `samples` (what `evaluate` takes; needed
    unless `inputs_only`). Both sides get the same uint8 pixels. Per protocol and
    implementation: the max and mean absolute difference of the 299x299 inputs over all
    images. Unless `inputs_only`, also the FID of the samples against the reference with
    our features (as `evaluate` computes them) and with the first implementation's inputs
    through the same network, and their relative difference.
    """
    started = run_clock.now()
    protocol_names = list(dict.fromkeys(protocol_names))
    if not protocol_names:
        raise InputError(f"choose at least one protocol of {list(FID_PROTOCOLS)}")
    if max_images < 2:
        raise InputError(f"max_images must be at least 2, got {max_images}")
    if samples is None and not inputs_only:
        raise InputError("the FID comparison needs samples; give them, or compare the inputs "
                         "only (inputs_only=True, --inputs_only)")
    kind = sources.describe_source(samples) if samples is not None else None
    check_available(protocol_names)

    real_all = reference.load_reference_images(dataset, split)
    num_reference = None if max_images >= len(real_all) else max_images
    real = real_all if num_reference is None else real_all[:num_reference]
    fake = None
    if samples is not None:
        fake = quantize(sources.load_samples(samples, max_images, seed))
        if fake.shape[1:] != data.image_shape(dataset):
            raise InputError(f"samples have shape {fake.shape[1:]} but {dataset} images are "
                             f"{data.image_shape(dataset)}")
    sets = {"reference": real, **({"samples": fake} if fake is not None else {})}

    results, weights_sha1 = {}, None
    for name in protocol_names:
        implementations = IMPLEMENTATIONS[name]
        extractor = None if inputs_only else FeatureExtractor.shared(inception_weights,
                                                                     batch_size, name)
        by_set, their_features = {}, {}
        for set_name, images in sets.items():
            if progress:
                print(f"{name}: our and each project's inputs, {set_name} ({len(images)} "
                      f"images)" + ("" if inputs_only else ", their features"))
            by_set[set_name], their_features[set_name] = compare_inputs(
                images, name, implementations, extractor, batch_size, progress)
        result = {"inputs": {}}
        for implementation in implementations:
            differences = {set_name: by_set[set_name][implementation.name] for set_name in sets}
            total = functools.reduce(InputDifference.merged, differences.values())
            result["inputs"][implementation.name] = {
                "code": implementation.code, "all": total.summary(),
                **{set_name: difference.summary() for set_name, difference in differences.items()}}
        if not inputs_only:
            weights_sha1 = extractor.weights_sha1
            # As `evaluate` computes them (its cached reference features when there are).
            ours_real = reference.reference_features(
                extractor, dataset, split, num_reference, None,
                progress and f"{name}: our reference features ({dataset} {split})")
            ours_fake = extractor(fake, progress=progress and
                                  f"{name}: our sample features ({len(fake)} images)")
            theirs_fake = FeatureStatistics.from_features(their_features["samples"])
            theirs_real = FeatureStatistics.from_features(their_features["reference"])
            result["fid"] = {
                "implementation": implementations[0].name,
                **fid_comparison(
                    frechet_distance(FeatureStatistics.from_features(ours_fake),
                                     ours_real.statistics),
                    frechet_distance(theirs_fake, theirs_real)),
                "features_max_abs_difference": float(max(
                    np.abs(ours_fake - their_features["samples"]).max(),
                    np.abs(ours_real.features - their_features["reference"]).max())),
            }
        results[name] = result

    return {
        "protocols": results,
        "provenance": {
            "num_samples": None if fake is None else len(fake),
            "num_reference": len(real),
            "max_images": max_images,
            "dataset": dataset,
            "split": split,
            "samples": None if samples is None else ("array" if kind == "array" else str(samples)),
            "inputs_only": inputs_only,
            "protocols": protocol_names,
            "weights_sha1": weights_sha1,
            "batch_size": batch_size,
            "cpu": machine.cpu_model(),
            "versions": {
                "tfgan_replica": tfgan_replica.__version__, "tensorflow": tf.__version__,
                "numpy": np.__version__, "pillow": PIL.__version__,
                "python": platform.python_version(),
                **{package: _version(package) for package in PACKAGES},
            },
            "time": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "seconds": round(run_clock.now() - started, 1),
        },
    }
