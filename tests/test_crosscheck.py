"""The cross-check of our FID protocols against each project's own preprocessing: its
arithmetic and errors always; the projects' code itself where PyTorch is installed."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from tfgan_replica import choices, data
from tfgan_replica.errors import InputError
from tfgan_replica.metrics import crosscheck, protocols

ENV = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")


def _run(*flags):
    return subprocess.run([sys.executable, "-m", "tfgan_replica.cli.crosscheck", *flags],
                          capture_output=True, text=True, env=ENV, timeout=300)


def test_input_difference_gives_max_mean_and_share_differing_over_all_batches():
    ours = np.zeros((2, 3, 1, 1), np.float32)
    difference = crosscheck.InputDifference()
    difference.add(ours, ours + np.float32(0.5) * (np.arange(6) == 0).reshape(2, 3, 1, 1))
    difference.add(ours[:1], ours[:1] - np.float32(2.0) * (np.arange(3) == 1).reshape(1, 3, 1, 1))
    assert difference.summary() == {"images": 3, "max_abs": 2.0, "mean_abs": 2.5 / 9,
                                    "fraction_differing": 2 / 9}
    same = crosscheck.InputDifference().add(ours, ours).summary()
    assert same == {"images": 2, "max_abs": 0.0, "mean_abs": 0.0, "fraction_differing": 0.0}
    merged = difference.merged(crosscheck.InputDifference().add(ours, ours + 3))
    assert merged.summary() == {"images": 5, "max_abs": 3.0, "mean_abs": (2.5 + 18) / 15,
                                "fraction_differing": 8 / 15}
    with pytest.raises(ValueError, match="differ in shape"):
        difference.add(ours, ours[..., :0])


def test_fid_comparison_is_relative_to_theirs_and_checks_the_1_percent():
    close = crosscheck.fid_comparison(10.05, 10.0)
    assert close["relative_difference"] == pytest.approx(0.005)
    assert close["within_tolerance"] and close["tolerance"] == 0.01
    far = crosscheck.fid_comparison(9.8, 10.0)
    assert far["relative_difference"] == pytest.approx(0.02) and not far["within_tolerance"]
    assert crosscheck.fid_comparison(10.1, 10.0)["within_tolerance"]  # 1% exactly
    assert crosscheck.relative_difference(0.0, 0.0) == 0.0
    assert crosscheck.relative_difference(1.0, 0.0) == float("inf")


def test_every_protocol_has_its_projects_code():
    assert tuple(crosscheck.IMPLEMENTATIONS) == choices.FID_PROTOCOLS
    assert [i.name for i in crosscheck.IMPLEMENTATIONS["tf1"]] == ["torch-fidelity",
                                                                   "tensorflow-v1"]


@pytest.mark.parametrize("missing", ["torch", "cleanfid"])
def test_missing_pytorch_code_is_named_with_the_command_that_installs_it(monkeypatch, missing):
    monkeypatch.setitem(sys.modules, missing, None)  # `import` of it now fails
    crosscheck._clean_fid_resize.cache_clear()
    with pytest.raises(InputError, match=r"needs (torch|clean-fid).*\./run\.sh crosscheck "
                                         r"installs them \(pip install torch==2\.13\.0"):
        crosscheck.check_available(["clean"])
    crosscheck._clean_fid_resize.cache_clear()


def test_a_missing_project_is_named(monkeypatch):
    pytest.importorskip("torch")  # checked before the project
    monkeypatch.setitem(sys.modules, "torch_fidelity", None)  # find_spec finds nothing
    crosscheck._torch_fidelity_resize.cache_clear()
    with pytest.raises(InputError, match="needs the package torch_fidelity; ./run.sh crosscheck"):
        crosscheck.torch_fidelity_input(np.zeros((1, 2, 2, 1), np.uint8))
    crosscheck._torch_fidelity_resize.cache_clear()


@pytest.mark.parametrize("arguments, problem", [
    ({}, "the FID comparison needs samples"),
    ({"inputs_only": True, "max_images": 1}, "max_images must be at least 2"),
    ({"inputs_only": True, "protocol_names": ["tf2"]}, "protocol must be one of"),
    ({"inputs_only": True, "protocol_names": []}, "choose at least one protocol"),
    ({"samples": "no/such.npz"}, "no/such.npz does not exist"),
])
def test_bad_arguments_are_refused_before_any_work(arguments, problem):
    with pytest.raises(InputError, match=problem):
        crosscheck.crosscheck(progress=False, **arguments)


def test_command_without_samples_asks_for_them_or_inputs_only():
    completed = _run("--max_images=4")
    assert completed.returncode == 1
    assert "give --samples=NPZ_OR_DIR, or --inputs_only" in completed.stderr


# From here on the projects' own code runs: PyTorch and the three projects installed.

@pytest.fixture(scope="module")
def projects_code():
    pytest.importorskip("torch")
    try:
        crosscheck.check_available(choices.FID_PROTOCOLS)
    except InputError as missing:
        pytest.skip(str(missing))


@pytest.fixture(scope="module")
def sixteen_images():
    """12 MNIST digits (gray, repeated to RGB by both sides) and 4 random RGB images of
    another size, whose pixels jump by up to 255 between neighbours."""
    digits = data.load_arrays("mnist", "test")[0][:12]
    color = np.random.default_rng(0).integers(0, 256, (4, 13, 17, 3), dtype=np.uint8)
    return digits, color


# Largest |ours - theirs| allowed in the network input (values in [-1, 1]).
TOLERANCE = {
    # Bilinear with half-pixel centres in both, but torch and TensorFlow each round the
    # source coordinate (d + 0.5) * in / out - 0.5 to float32 in their own order: for
    # sources of at most 32 pixels its ulp is 1.9e-6 pixel, and two roundings apart, times
    # a neighbour step of up to 255 and our scale 1 / 127.5, give at most ~8e-6. pytorch-fid's
    # x / 255 then 2x - 1 instead of our x / 127.5 - 1 adds ~2e-7.
    "pytorch-fid": 1e-5,
    # torch-fidelity computes TF1's kernel's float32 operations in its order (and says it is
    # bit-exact on CPU), then the same (x - 128) / 128; 1e-6 leaves one float32 rounding of
    # a resized 0-255 value (255 * 6e-8 / 128 = 1.2e-7) to a compiler's fused multiply-add.
    "torch-fidelity": 1e-6,
    # The same TensorFlow op and the same PIL filter on the same float32 values as ours, and
    # the same float32 scaling: identical.
    "tensorflow-v1": 0.0,
    "clean-fid": 0.0,
}


@pytest.mark.parametrize("protocol, implementation", [
    (protocol, implementation) for protocol, implementations in crosscheck.IMPLEMENTATIONS.items()
    for implementation in implementations])
def test_each_projects_own_preprocessing_equals_ours(projects_code, sixteen_images, protocol,
                                                     implementation):
    import tensorflow as tf

    for images in sixteen_images:
        ours = protocols.get_protocol(protocol).to_network_input(tf.constant(images)).numpy()
        theirs = implementation.to_network_input(images)
        assert theirs.shape == ours.shape == (len(images), 299, 299, 3)
        assert theirs.dtype == np.float32
        np.testing.assert_allclose(theirs, ours, rtol=0, atol=TOLERANCE[implementation.name])
    # Not vacuous: the inputs span the scaled range, and the protocols differ from each other.
    assert theirs.min() < -0.9 and theirs.max() > 0.9
    other = "tf1" if protocol != "tf1" else "pytorch_fid"
    elsewhere = protocols.get_protocol(other).to_network_input(tf.constant(images)).numpy()
    assert np.abs(theirs - elsewhere).max() > 0.05


def test_fid_both_ways_through_the_same_network(projects_code, cache_root,
                                                inception_weights_path):
    # 4 samples (MNIST digits, not the reference's) against 4 reference digits: 16 images
    # through Inception. tf1's inputs are identical both ways, so only the two graphs
    # (preprocessing traced with the network, or the network alone) can differ.
    samples = data.load_arrays("mnist", "test")[0][100:104]
    result = crosscheck.crosscheck(samples, ["tf1"], max_images=4,
                                   inception_weights=str(inception_weights_path),
                                   batch_size=4, progress=False)
    checked = result["protocols"]["tf1"]
    assert checked["inputs"]["torch-fidelity"]["all"]["images"] == 8
    fid = checked["fid"]
    assert fid["implementation"] == "torch-fidelity" and fid["fid_ours"] > 1.0
    assert fid["relative_difference"] < 1e-4 and fid["within_tolerance"]
    assert checked["fid"]["features_max_abs_difference"] < 1e-3
    given = result["provenance"]
    assert (given["num_samples"], given["num_reference"], given["samples"]) == (4, 4, "array")
    assert given["weights_sha1"] == "a16e4d89c0ecbc17a915dd76ea9e41211aa82562"
    assert given["versions"]["torch-fidelity"] and given["cpu"]


def test_command_compares_inputs_only_and_writes_the_numbers(projects_code, tmp_path):
    output = tmp_path / "crosscheck.json"
    completed = _run("--inputs_only", "--max_images=3", "--protocol=clean", f"--output={output}")
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.splitlines()[-2:] == [
        "clean vs clean-fid: inputs max |diff| 0, mean 0 over 3 images",
        f"N=0 samples, 3 mnist test images; all numbers: {output}"]
    written = json.loads(output.read_text())
    assert list(written["protocols"]) == ["clean"] and "fid" not in written["protocols"]["clean"]
    assert written["provenance"]["versions"]["clean-fid"] == "0.1.35"
