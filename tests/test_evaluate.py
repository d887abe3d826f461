"""End to end: evaluate() and the CLI on real MNIST, the reference cache, the FID callback."""

import json
import re
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from tfgan_replica import data, export, run_records
from tfgan_replica.errors import InputError
from tfgan_replica.images import to_uint8
from tfgan_replica.callbacks import FIDCallback
from tfgan_replica.metrics import evaluate, protocols, reference

N = 48  # small samples: FID values are biased, but real vs noise is unmistakable


@pytest.fixture(scope="module")
def mnist_test():
    return data.load_arrays("mnist", "test")[0]


@pytest.fixture(scope="module")
def real_png_folder(tmp_path_factory, mnist_test):
    """Real test digits not in the reference subset (which is the first N), saved as PNGs."""
    folder = tmp_path_factory.mktemp("real_pngs")
    for index, image in enumerate(mnist_test[5000:5000 + N]):
        Image.fromarray(image[..., 0]).save(folder / f"{index:03d}.png")
    return folder


@pytest.fixture(scope="module")
def noise_generator(tmp_path_factory):
    """An exported untrained generator: tanh of a random projection, i.e. structured noise."""
    generator = keras.Sequential([
        keras.Input((8,)),
        keras.layers.Dense(28 * 28, activation="tanh", kernel_initializer=keras.initializers.RandomNormal(0, 1)),
        keras.layers.Reshape((28, 28, 1)),
    ])
    return export.export_generator(generator, tmp_path_factory.mktemp("export") / "generator", latent_dim=8)


def _evaluate(source, weights, **kwargs):
    return evaluate(source, num_samples=N, num_reference=N, inception_weights=weights,
                    batch_size=16, progress=False, **kwargs)


def test_real_images_score_far_better_than_noise(cache_root, inception_weights_path, real_png_folder,
                                                 noise_generator):
    real = _evaluate(str(real_png_folder), inception_weights_path)
    noise = _evaluate(noise_generator, inception_weights_path)
    assert 0 < real["fid"] * 5 < noise["fid"]
    assert real["precision"] > 0.5 and noise["precision"] < 0.1
    assert real["recall"] > 0.5 and noise["recall"] < 0.1
    assert real["kid_mean"] < noise["kid_mean"] / 5
    assert any("feature dimension" in note for note in real["warnings"])
    provenance = real["provenance"]
    assert provenance["num_generated"] == N and provenance["num_reference"] == N
    assert provenance["source_kind"] == "png_folder" and noise["provenance"]["source_kind"] == "generator"
    assert provenance["weights_sha1"] == "a16e4d89c0ecbc17a915dd76ea9e41211aa82562"
    # The reference features were computed once and then served from the cache.
    assert len(list((cache_root / "reference").glob("*.npz"))) == 1


def _save_image_folder(tensors, folder):
    """What report B's template did: torchvision's save_image of each [-1, 1] tensor, written
    here with PIL from the formula in torchvision's source."""
    folder.mkdir()
    for index, x in enumerate(tensors):
        pixels = np.clip(x[..., 0] * np.float32(255) + np.float32(0.5), 0, 255).astype(np.uint8)
        Image.fromarray(pixels).save(folder / f"{index:05d}.png")
    return folder


def _pytorch_fid_style(extractor, folder_a, folder_b):
    """pytorch_fid's calculate_fid_given_paths on our network: PIL .convert('RGB'), float64
    statistics, scipy.linalg.sqrtm of the covariance product."""
    from scipy import linalg

    def statistics(folder):
        rgb = np.stack([np.asarray(Image.open(f).convert("RGB")) for f in sorted(folder.glob("*.png"))])
        features = extractor(rgb, progress=False).astype(np.float64)
        return features.mean(axis=0), np.cov(features, rowvar=False)

    (mu1, sigma1), (mu2, sigma2) = statistics(folder_a), statistics(folder_b)
    covmean = linalg.sqrtm(sigma1 @ sigma2)
    return float(np.sum((mu1 - mu2) ** 2) + np.trace(sigma1) + np.trace(sigma2)
                 - 2 * np.trace(covmean.real))


def test_course_mode_equals_the_template_evaluator_beside_standard(
        cache_root, inception_weights_path, tmp_path, mnist_test):
    floats = mnist_test[6000:6000 + N].astype(np.float32) / 127.5 - 1.0
    floats += np.random.default_rng(0).normal(0, 0.2, floats.shape).astype(np.float32)
    floats = np.clip(floats, -1, 1)
    np.savez(tmp_path / "samples.npz", images=floats)
    scores = _evaluate(str(tmp_path / "samples.npz"), inception_weights_path, sample_mode="course")
    assert set(scores["course"]) >= {"fid", "precision", "recall", "density", "coverage"}
    assert scores["course"]["fid"] < scores["fid"]  # black backgrounds hide the speckle
    course = scores["provenance"]["course"]
    assert "save_image" in course["quantization"] and "max(0, 2u - 255)" in course["reference_quantization"]
    assert "(x + 1) * 127.5" in scores["provenance"]["quantization"]

    # The template, step by step: the test images normalized to [-1, 1] and both sides saved.
    normalized_test = (mnist_test[:N].astype(np.float32) / np.float32(255) - np.float32(0.5)) / np.float32(0.5)
    real_folder = _save_image_folder(normalized_test, tmp_path / "test_pngs")
    fake_folder = _save_image_folder(floats, tmp_path / "sample_pngs")
    from tfgan_replica.metrics import FeatureExtractor

    extractor = FeatureExtractor.shared(inception_weights_path, 16)
    expected = _pytorch_fid_style(extractor, fake_folder, real_folder)
    assert scores["course"]["fid"] == pytest.approx(expected, rel=1e-3)


# FID of 16 noisy test digits against the first 16 test digits under each protocol (this
# machine, TensorFlow 2.21, Pillow 13.0); float32 features on another CPU may move them
# in the fifth digit.
PROTOCOL_FIDS = {"pytorch_fid": 218.8609, "tf1": 220.4399, "clean": 305.4108}


def test_each_protocol_scores_two_fixed_sets_stably_and_differently(
        cache_root, inception_weights_path, mnist_test):
    floats = mnist_test[6000:6016].astype(np.float32) / 127.5 - 1.0
    floats += np.random.default_rng(0).normal(0, 0.2, floats.shape).astype(np.float32)
    floats = np.clip(floats, -1, 1)
    fids = {}
    for protocol in protocols.PROTOCOLS:
        scores = evaluate(floats, num_samples=16, num_reference=16, batch_size=16,
                          inception_weights=inception_weights_path, progress=False,
                          protocol=protocol)
        assert scores["provenance"]["protocol"] == protocol
        assert scores["provenance"]["resize"] == protocols.PROTOCOLS[protocol].resize
        assert scores["provenance"]["protocol_used_by"] == protocols.PROTOCOLS[protocol].used_by
        fids[protocol] = scores["fid"]
    assert fids == pytest.approx(PROTOCOL_FIDS, rel=1e-4)
    values = sorted(fids.values())
    assert all(high > low * 1.005 for low, high in zip(values, values[1:]))  # all three differ
    assert len(list((cache_root / "reference").glob("mnist-test-16-*.npz"))) == 3  # one each


def test_course_mode_is_refused_under_another_protocol_before_any_work(tmp_path):
    for protocol in ("tf1", "clean"):
        with pytest.raises(InputError, match="sample_mode='course' is report B's evaluator"):
            evaluate(str(tmp_path / "missing.npz"), sample_mode="course", protocol=protocol)
    with pytest.raises(InputError, match="protocol must be one of"):
        evaluate(str(tmp_path / "missing.npz"), protocol="legacy")
    with pytest.raises(InputError, match="protocol must be one of"):
        FIDCallback(protocol="legacy")
    result = subprocess.run([sys.executable, "-m", "tfgan_replica.cli.evaluate", "--samples=a.npz",
                             "--sample_mode=course", "--protocol=tf1"],
                            capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1].startswith(
        "evaluate: sample_mode='course' is report B's evaluator")


def test_cli_names_its_phases_prints_one_line_and_writes_json_with_provenance(
        inception_weights_path, real_png_folder, tmp_path, monkeypatch, capsys):
    from absl import flags

    from tfgan_replica.cli import evaluate as cli

    monkeypatch.setenv("TFGAN_REPLICA_CACHE", str(tmp_path / "cache"))  # the reference computed
    output = tmp_path / "scores.json"
    flags.FLAGS([
        "evaluate", f"--samples={real_png_folder}", "--num_samples=16", f"--num_reference={N}",
        f"--inception_weights={inception_weights_path}", "--feature_batch_size=16", f"--output={output}",
    ])
    try:
        cli.main(["evaluate"])
    finally:
        flags.FLAGS.unparse_flags()
    bar = re.compile(r"[\b\r]|━")  # progress bars redraw their line
    lines = [line for line in capsys.readouterr().out.splitlines() if line and not bar.search(line)]
    assert lines[:2] == ["reference features (mnist test)", "sample features (16 images)"]
    assert re.fullmatch(rf"FID \d+\.\d\d, precision [01]\.\d{{3}}, recall [01]\.\d{{3}}; N=16 "
                        rf"against {N} mnist test images, protocol pytorch_fid; all scores: "
                        + re.escape(str(output)), lines[2]) and len(lines) == 3
    scores = json.loads(output.read_text())
    assert "; course FID 1.50;" in cli.summary({**scores, "course": {"fid": 1.5}}, output)
    for key in ("fid", "precision", "recall", "density", "coverage", "kid_mean", "kid_std"):
        assert np.isfinite(scores[key])
    for key in ("weights_sha1", "resize", "quantization", "num_generated", "num_reference", "dataset",
                "split", "k_precision_recall", "k_density_coverage", "dtypes", "versions", "time"):
        assert key in scores["provenance"], key
    assert scores["provenance"]["versions"]["tensorflow"] == tf.__version__


@pytest.mark.parametrize("flags_given", [["--samples=a.npz", "--generator=g"], []])
def test_cli_refuses_bad_source_flags_before_any_work(flags_given, tmp_path):
    result = subprocess.run([sys.executable, "-m", "tfgan_replica.cli.evaluate", *flags_given],
                            capture_output=True, text=True, cwd=tmp_path, timeout=60)
    assert result.returncode != 0
    assert "exactly one of --generator" in result.stderr


def test_bad_inputs_fail_with_a_clear_message(tmp_path, mnist_test, real_png_folder):
    np.savez(tmp_path / "few.npz", images=mnist_test[:5])
    with pytest.raises(ValueError, match="fewer than num_samples"):
        evaluate(str(tmp_path / "few.npz"), num_samples=10)
    with pytest.raises(ValueError, match="missing.npz does not exist; check the path"):
        evaluate(str(tmp_path / "missing.npz"))
    with pytest.raises(ValueError, match="svhn images"):
        evaluate(str(tmp_path / "few.npz"), dataset="svhn", num_samples=5)
    np.savez(tmp_path / "range.npz", images=np.full((4, 28, 28, 1), 3.0, np.float32))
    with pytest.raises(ValueError, match=r"\[-1, 1\]"):
        evaluate(str(tmp_path / "range.npz"), num_samples=4)


# ----------------------------------------------------------------- reference cache


class _CountingExtractor:
    """Cheap stand-in features (pixel statistics), counting how often it is asked."""

    def __init__(self, **settings):
        self.settings = {"weights_sha1": "abc", "resize": "bilinear", **settings}
        self.calls = 0

    def __call__(self, images, sample_mode="standard", progress=True):
        self.calls += 1
        flat = to_uint8(images, sample_mode).reshape(len(images), -1).astype(np.float32)
        return np.stack([flat.mean(1), flat.std(1), (flat > 0).mean(1)], axis=1)


def test_reference_cache_hits_only_with_identical_settings(tmp_path, monkeypatch):
    monkeypatch.setenv("TFGAN_REPLICA_CACHE", str(tmp_path))
    extractor = _CountingExtractor()
    first = reference.reference_features(extractor, "mnist", "test", 30, progress=False)
    again = reference.reference_features(extractor, "mnist", "test", 30, progress=False)
    assert extractor.calls == 1
    np.testing.assert_array_equal(first.features, again.features)
    np.testing.assert_array_equal(first.statistics.sigma, again.statistics.sigma)

    changed = [
        (extractor, dict(split="train")),
        (extractor, dict(num_reference=31)),
        (extractor, dict(source=str(data.BUNDLED_MNIST))),
        (_CountingExtractor(weights_sha1="def"), {}),
        (_CountingExtractor(resize="nearest"), {}),
    ]
    for other, change in changed:
        before = other.calls
        arguments = {"dataset": "mnist", "split": "test", "num_reference": 30, **change}
        reference.reference_features(other, progress=False, **arguments)
        assert other.calls == before + 1, change or other.settings
    before = extractor.calls
    reference.reference_features(extractor, "mnist", "test", 30, progress=False, sample_mode="course")
    assert extractor.calls == before + 1
    assert len(list((tmp_path / "reference").glob("*.npz"))) == 2 + len(changed)
    assert not list((tmp_path / "reference").glob(".*"))  # no temporary files left


# ----------------------------------------------------------------- training callback


class _TinyGAN(keras.Model):
    """Holds generators the way the package's GAN models do; trains nothing."""

    def __init__(self, ema=True):
        super().__init__()
        self.latent_dim = 4
        self.generator = "not callable: the EMA generator must be preferred" if ema else self._net()
        self.ema_generator = self._net() if ema else None
        self.critic_updates = tf.Variable(0, dtype=tf.int64)

    @staticmethod
    def _net():
        return keras.Sequential([keras.Input((4,)), keras.layers.Dense(28 * 28, activation="tanh"),
                                 keras.layers.Reshape((28, 28, 1))])

    def train_step(self, batch):
        self.critic_updates.assign_add(1)
        return {"loss": 0.0}


def test_fid_callback_logs_to_history_and_tensorboard(cache_root, inception_weights_path, tmp_path):
    logdir = tmp_path / "logs"
    callback = FIDCallback(every_epochs=2, num_samples=12, num_reference=12, logdir=logdir,
                           inception_weights=inception_weights_path, batch_size=16)
    model = _TinyGAN()
    model.compile()
    history = model.fit(np.zeros((4, 1), np.float32), epochs=2, batch_size=4, verbose=0,
                        callbacks=[callback])
    assert len(history.history["fid"]) == 1  # only epoch 2 is evaluated, epoch 1 is skipped
    fid = history.history["fid"][0]
    assert np.isfinite(fid) and fid > 0
    events = [event for path in logdir.glob("events.*")
              for event in tf.compat.v1.train.summary_iterator(str(path))]
    logged = [(e.step, tf.make_ndarray(v.tensor)) for e in events for v in e.summary.value if v.tag == "fid"]
    assert len(logged) == 1 and logged[0][0] == 2  # the global step after two one-step epochs
    assert float(logged[0][1]) == pytest.approx(fid, rel=1e-6)


def test_fid_callback_at_chosen_epochs_logs_what_each_evaluation_took(
        cache_root, inception_weights_path, tmp_path):
    logdir = tmp_path / "logs"
    callback = FIDCallback(at_epochs=[1, 3], num_samples=12, num_reference=12, logdir=logdir,
                           inception_weights=inception_weights_path, batch_size=16)
    model = _TinyGAN()
    model.compile()
    history = model.fit(np.zeros((4, 1), np.float32), epochs=3, batch_size=4, verbose=0,
                        callbacks=[callback])
    assert len(history.history["fid"]) == 2  # epochs 1 and 3
    scalars = run_records.read_scalars(logdir)
    assert [step for step, _ in scalars["fid"]] == [1, 3]
    assert [step for step, _ in scalars["fid_seconds"]] == [1, 3]
    assert all(seconds > 0 for _, seconds in scalars["fid_seconds"])


def test_fid_callback_skips_an_epoch_cut_short(cache_root, inception_weights_path):
    class StopInSecondEpoch(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            self.model.stop_training = self.model.critic_updates.numpy() == 3  # step 1 of 2

    callback = FIDCallback(every_epochs=1, num_samples=12, num_reference=12,
                           inception_weights=inception_weights_path, batch_size=16)
    model = _TinyGAN()
    model.compile()
    history = model.fit(np.zeros((8, 1), np.float32), epochs=3, batch_size=4, verbose=0,
                        callbacks=[StopInSecondEpoch(), callback])
    assert int(model.critic_updates.numpy()) == 3
    assert len(history.history["fid"]) == 1  # epoch 1 only: the second did not end


def test_fid_callback_uses_the_generator_without_ema(cache_root, inception_weights_path):
    callback = FIDCallback(every_epochs=1, num_samples=12, num_reference=12,
                           inception_weights=inception_weights_path, batch_size=16)
    callback.set_model(_TinyGAN(ema=False))
    logs = {}
    callback.on_epoch_end(0, logs)
    assert np.isfinite(logs["fid"]) and logs["fid"] > 0


def test_a_training_run_is_scored_through_its_newest_checkpoint(tmp_path):
    from tfgan_replica import trainer
    from tfgan_replica.metrics import sources

    run = trainer.train("quickstart", logdir=tmp_path / "run", epochs=1, steps_per_epoch=2,
                        verbose=0, print_fn=lambda *_: None)
    assert sources.describe_source(run.run_dir) == "run"
    from_run = sources.load_samples(run.run_dir, 8, seed=3)
    from_export = sources.load_samples(run.export_path, 8, seed=3)
    np.testing.assert_array_equal(from_run, from_export)
    assert sorted(p.name for p in run.run_dir.iterdir()) == sorted(
        ["config.json", "tensorboard", "samples", "checkpoints", "generator"])  # nothing added
