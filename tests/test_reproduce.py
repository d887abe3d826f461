"""The reproduction on the smoke budget: train, evaluate, record, skip, report, notebook."""

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest

from conftest import REPO
from tfgan_replica import (checkpoints, claims, data, presets, report, reproduction,
                           run_records, trainer)
from tfgan_replica.errors import InputError


@pytest.fixture(scope="module")
def smoke(tmp_path_factory, inception_weights_path):
    """One report B row and report A's MNIST DCGAN and two SVHN rows, a few steps each; SVHN
    from a local .npz given as its source, so nothing reaches tfds."""
    folder = tmp_path_factory.mktemp("reproduce")
    source = str(_fabricated_svhn(folder / "svhn.npz"))
    printed = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(data, "_load_tfds", lambda *a: pytest.fail("tfds was reached"))
        reproduction.reproduce(["mlp_bce", "dcgan_svhn", "wgan_clip_svhn", "dcgan_tutorial"],
                               "smoke", folder / "results", folder / "runs",
                               inception_weights=str(inception_weights_path),
                               print_fn=printed.append, data_sources={"svhn": source})
    return folder, source


def _fabricated_svhn(path, rng=np.random.default_rng(0)):
    """A keras-layout .npz shaped like SVHN: 32x32 RGB digits' stand-ins (bright squares on
    noise), 300 for training (one batch of 256) and 130 for the test split."""
    def split(count):
        images = rng.integers(0, 60, (count, 32, 32, 3)).astype(np.uint8)
        for image in images:
            top, left = rng.integers(4, 16, 2)
            image[top:top + 12, left:left + 8] = rng.integers(150, 256, 3)
        return images, rng.integers(0, 10, count).astype(np.uint8)

    (x_train, y_train), (x_test, y_test) = split(300), split(130)
    np.savez(path, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    return path


def test_smoke_run_records_scores_with_provenance(smoke):
    folder, _ = smoke
    results = json.loads((folder / "results" / "results.json").read_text())
    assert sorted(results["runs"]) == ["dcgan_svhn", "dcgan_tutorial", "mlp_bce", "wgan_clip_svhn"]
    run = results["runs"]["mlp_bce"]
    assert run["budget"] == "smoke" and run["steps"] == reproduction.SMOKE_STEPS
    scores = run["evaluation"]
    assert scores["fid"] > 0 and 0 <= scores["precision"] <= 1
    assert scores["provenance"]["num_generated"] == reproduction.SMOKE_SAMPLES
    assert "fid" in scores["course"]  # report B's pixel mapping, beside the standard score
    assert "course" not in results["runs"]["dcgan_svhn"]["evaluation"]
    assert results["runs"]["dcgan_svhn"]["evaluation"]["provenance"]["dataset"] == "svhn"


def test_report_a_mnist_rows_record_fid_every_epoch(smoke):
    folder, _ = smoke
    runs = json.loads((folder / "results" / "results.json").read_text())["runs"]
    (epoch, step, fid), = runs["dcgan_tutorial"]["fid_curve"]
    assert (epoch, step) == (1.0, reproduction.SMOKE_STEPS) and fid > 0
    assert runs["dcgan_tutorial"]["fid_curve_samples"] == reproduction.SMOKE_SAMPLES
    # the training time of that point: the clock at the epoch's end, before its FID
    (minutes,) = runs["dcgan_tutorial"]["fid_curve_minutes"]
    assert 0 < minutes <= runs["dcgan_tutorial"]["train_seconds"] / 60 + 1e-3  # both rounded
    assert runs["dcgan_tutorial"]["machine"]["cpu"]
    assert "fid_curve" not in runs["mlp_bce"] and "fid_curve" not in runs["dcgan_svhn"]
    assert (folder / "results" / "figures" / "fid_per_epoch.png").is_file()
    assert (folder / "results" / "figures" / "fid_against_minutes.png").is_file()
    readme = (folder / "results" / "README.md").read_text()
    assert "## Report A's claims, measured" in readme


def test_fid_curves_where_the_claims_read_them():
    def epochs(name, length):
        return reproduction.fid_curve_epochs(presets.get_preset(name).replace(epochs=length))

    assert epochs("wgan_clip_mnist", 20) == list(range(1, 21))  # the EM claim: every epoch
    assert epochs("dcgan_tutorial", 50) == [1, 2, 5, 10, 15, 20, 25, 30, 35, 40, 45, 50]
    assert epochs("dcgan_improved", 200) == [1, 2, 5, 10, *range(20, 201, 20)]
    assert epochs("dcgan_improved", 7) == [1, 2, 5, 7]
    assert epochs("best_dcgan", 100) == [1, 2, 5, *range(10, 101, 10)]
    assert epochs("dcgan_tutorial", 20) == [1, 2, 5, 10, 15, 20]
    assert epochs("dcgan_tutorial", 1) == [1]
    # every epoch the claims compare is on the DCGAN rows' curves, at any length
    for length in (20, 50, 100, 200, 1000):
        assert {claims.REALISTIC_EPOCH, *claims.COMPARED_EPOCHS} <= set(epochs("dcgan_tutorial",
                                                                              length))
    for name in ("best_mlp", "mlp_bce", "dcgan_svhn"):
        assert epochs(name, 100) == []


def test_the_real_floor_is_a_seeded_draw_of_distinct_training_images():
    train, _ = data.load_arrays("mnist", "train")
    images = reproduction.real_floor_images("mnist", 100, seed=0)
    assert images.shape == (100, 28, 28, 1) and images.dtype == np.uint8
    flat = train.reshape(len(train), -1)
    rows = [int(np.flatnonzero((flat == image.ravel()).all(axis=1))[0]) for image in images]
    assert rows == sorted(set(rows))  # distinct, in the split's order
    np.testing.assert_array_equal(reproduction.real_floor_images("mnist", 100, seed=0), images)
    assert not np.array_equal(reproduction.real_floor_images("mnist", 100, seed=1), images)


def test_smoke_run_scores_real_training_images_as_each_datasets_floor(smoke):
    folder, _ = smoke
    results = json.loads((folder / "results" / "results.json").read_text())
    assert sorted(results["floors"]) == ["mnist", "svhn"]
    floor = results["floors"]["mnist"]["evaluation"]
    assert floor["provenance"]["num_generated"] == reproduction.SMOKE_SAMPLES
    assert floor["provenance"]["split"] == "test"
    # Real digits against real digits, beside a generator trained for 3 steps.
    assert floor["fid"] < 0.5 * results["runs"]["mlp_bce"]["evaluation"]["fid"]
    assert floor["precision"] > results["runs"]["mlp_bce"]["evaluation"]["precision"]
    assert floor["course"]["fid"] < results["runs"]["mlp_bce"]["evaluation"]["course"]["fid"]
    assert "course" not in results["floors"]["svhn"]["evaluation"]
    readme = (folder / "results" / "README.md").read_text()
    assert "| real mnist training images (the floor) |" in readme
    assert "./run.sh reproduce --budget=smoke\n" in readme  # the command that scored it


def test_smoke_run_keeps_curves_grids_and_writes_the_report(smoke):
    folder, _ = smoke
    results = folder / "results"
    curves = json.loads((results / "curves" / "mlp_bce.json").read_text())
    assert {"train/d_loss", "train/g_loss", "train/em_estimate"} <= set(curves)
    assert [p.name for p in (results / "samples" / "mlp_bce").iterdir()] == ["epoch_0001.png"]
    assert (results / "samples" / "real_mnist.png").is_file()
    readme = (results / "README.md").read_text()
    assert "| mlp_bce |" in readme and "66.74 / 0.21 / 0.18" in readme
    assert "./run.sh reproduce --budget=smoke --presets=mlp_bce" in readme
    figures = {p.name for p in (results / "figures").iterdir()}
    assert {"losses.png", "samples.png"} <= figures
    # Report A's rows, the MNIST and the SVHN one, get their own figure; report B's do not.
    assert {"report_a_dcgan_tutorial.png", "report_a_dcgan_svhn.png"} <= figures
    assert "report_a_mlp_bce.png" not in figures
    assert "## Report A's figures" in readme
    assert "![report_a_dcgan_svhn](figures/report_a_dcgan_svhn.png)" in readme


def test_finished_presets_are_skipped_and_force_is_needed_to_retrain(smoke):
    folder, _ = smoke
    before = (folder / "results" / "results.json").read_text()
    printed = []
    reproduction.reproduce(["mlp_bce"], "smoke", folder / "results", folder / "runs", print_fn=printed.append)
    assert any("finished under budget 'smoke', skipped" in line for line in printed)
    assert (folder / "results" / "results.json").read_text() == before


def test_other_seeds_are_recorded_apart_and_reported_as_a_spread(smoke, tmp_path,
                                                                 inception_weights_path):
    folder, _ = smoke
    shutil.copytree(folder / "results", tmp_path / "results")
    printed = []
    runs = reproduction.reproduce(["mlp_bce"], "smoke", tmp_path / "results", tmp_path / "runs",
                                  inception_weights=str(inception_weights_path),
                                  print_fn=printed.append, seeds=[0, 1])["runs"]
    assert any(line.startswith("mlp_bce: finished under budget") for line in printed)
    seed_1 = runs["mlp_bce@seed1"]
    assert seed_1["seed"] == seed_1["preset"]["seed"] == 1 and runs["mlp_bce"]["seed"] == 0
    assert seed_1["command"].endswith("--presets=mlp_bce --seeds=1")
    assert seed_1["evaluation"]["fid"] != runs["mlp_bce"]["evaluation"]["fid"]
    assert (tmp_path / "runs" / "smoke" / "mlp_bce@seed1" / "checkpoints").is_dir()
    readme = (tmp_path / "results" / "README.md").read_text()
    fids = [runs[name]["evaluation"]["fid"] for name in ("mlp_bce", "mlp_bce@seed1")]
    assert f"| mlp_bce | 0, 1 | {fids[0]:.2f}, {fids[1]:.2f}; {sum(fids) / 2:.2f} ± " in readme
    assert "| mlp_bce@seed1" not in readme  # in the seeds table only


def test_a_result_of_an_earlier_preset_definition_is_retrained(smoke, tmp_path, monkeypatch):
    folder, _ = smoke
    shutil.copytree(folder / "results", tmp_path / "results")
    results = tmp_path / "results" / "results.json"
    recorded = json.loads(results.read_text())
    recorded["runs"]["mlp_bce"]["preset"]["ema_decay"] = 0.5  # as if the preset had changed
    results.write_text(json.dumps(recorded))
    retrained = []

    def run_preset(name, preset, budget, run_dir, results_dir, force, *rest):
        retrained.append(name)  # its run folder decides whether to start over (below)
        return recorded["runs"]["mlp_bce"]

    monkeypatch.setattr(reproduction, "_run_preset", run_preset)
    printed = []
    reproduction.reproduce(["mlp_bce"], "smoke", tmp_path / "results", tmp_path / "runs",
                           print_fn=printed.append)
    assert retrained == ["mlp_bce"]
    assert any("ema_decay changed since its recorded result" in line for line in printed)


def test_a_run_folder_continues_only_into_a_longer_run_of_the_same_settings(tmp_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    preset = presets.get_preset("mlp_bce").replace(epochs=5)
    (run_dir / "config.json").write_text(json.dumps({"preset": preset.to_dict()}))
    assert not reproduction._holds_other_run(run_dir, preset.replace(epochs=9, cpu_epochs=9))
    assert reproduction._holds_other_run(run_dir, preset.replace(epochs=4))  # trained past it
    assert reproduction._holds_other_run(run_dir, preset.replace(epochs=9, ema_decay=0.5))


def _set_train_seconds(run_dir, seconds):
    """Rewrites the training time held by the newest checkpoint of `run_dir`."""
    preset = presets.from_dict(json.loads((run_dir / "config.json").read_text())["preset"])
    checkpointer = checkpoints.Checkpointer(trainer.build_model(preset), run_dir / "checkpoints")
    checkpointer.restore_latest()
    checkpointer.train_seconds.assign(seconds)
    checkpointer.save()


def test_a_longer_budget_continues_the_recorded_run(smoke, tmp_path, monkeypatch):
    """Only the run length changed: training resumes at the recorded step, nothing is redone."""
    folder, _ = smoke
    shutil.copytree(folder / "runs", tmp_path / "runs")
    shutil.copytree(folder / "results", tmp_path / "results")
    results = tmp_path / "results" / "results.json"
    recorded = json.loads(results.read_text())
    recorded["runs"]["mlp_bce"]["preset"]["cpu_epochs"] = 1  # as if the preset had grown
    results.write_text(json.dumps(recorded))
    _set_train_seconds(tmp_path / "runs" / "smoke" / "mlp_bce", 1e6)  # far more than 3 steps take
    monkeypatch.setattr(reproduction, "plan", lambda preset, budget: (2, reproduction.SMOKE_STEPS))
    printed = []
    run = reproduction.reproduce(["mlp_bce"], "smoke", tmp_path / "results", tmp_path / "runs",
                                 print_fn=printed.append)["runs"]["mlp_bce"]
    assert any(line.startswith("resuming") and "step 3" in line for line in printed)
    assert not any("starting over" in line for line in printed)
    assert (run["resumed_at_step"], run["steps"]) == (3, 6)
    assert run["train_seconds"] > 1e6  # both parts of the training, from the checkpoint


def test_the_table_marks_a_result_of_an_earlier_preset_definition(smoke):
    folder, _ = smoke
    runs = json.loads((folder / "results" / "results.json").read_text())["runs"]
    assert any(row.startswith("| mlp_bce |") for row in report.table_rows(runs))
    runs["mlp_bce"]["preset"]["ema_decay"] = 0.5
    runs["gone"] = runs["dcgan_svhn"]
    rows = report.table_rows(runs)
    assert any(row.startswith("| mlp_bce (earlier definition: ema_decay changed since) |")
               for row in rows)
    assert any(row.startswith("| gone (preset no longer defined) |") for row in rows)


def test_a_run_folder_of_an_earlier_preset_definition_starts_over(smoke, tmp_path):
    """An interrupted run of other settings cannot be resumed; reproduce starts it again."""
    folder, _ = smoke
    shutil.copytree(folder / "runs", tmp_path / "runs")
    config_path = tmp_path / "runs" / "smoke" / "mlp_bce" / "config.json"
    config = json.loads(config_path.read_text())
    config["preset"]["ema_decay"] = 0.5
    config_path.write_text(json.dumps(config))
    printed = []
    results = reproduction.reproduce(["mlp_bce"], "smoke", tmp_path / "results", tmp_path / "runs",
                                     print_fn=printed.append)
    assert any("holds a run of an earlier definition or a longer run; starting over" in line
               for line in printed)
    assert results["runs"]["mlp_bce"]["steps"] == reproduction.SMOKE_STEPS
    assert json.loads(config_path.read_text())["preset"]["ema_decay"] is None


def test_svhn_offline_is_skipped_with_a_reason(tmp_path, monkeypatch):
    monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path / "tfds"))
    monkeypatch.setattr(data, "network_available", lambda: False)
    printed = []
    results = reproduction.reproduce(["dcgan_svhn"], "smoke", tmp_path / "results", tmp_path / "runs",
                                     print_fn=printed.append)
    assert results["runs"] == {}
    assert any(line.startswith("dcgan_svhn: skipped:") and "not downloaded" in line for line in printed)


def test_svhn_rows_run_from_a_local_npz_end_to_end(smoke):
    """Report A's SVHN rows are trained on, scored against and floored by the .npz given as
    svhn's source, and land in the table (the fixture fails if tfds is reached)."""
    folder, source = smoke
    names = reproduction.default_presets({"svhn": source})
    assert {"dcgan_svhn", "wgan_clip_svhn"} <= set(names) and "mlp_bce" in names
    results = json.loads((folder / "results" / "results.json").read_text())
    table = (folder / "results" / "README.md").read_text()
    for name in ("dcgan_svhn", "wgan_clip_svhn"):
        run = results["runs"][name]
        provenance = run["evaluation"]["provenance"]
        assert run["evaluation"]["fid"] > 0 and provenance["dataset"] == "svhn"
        assert provenance["reference_source"] == source
        assert run["command"].endswith(f"--data_sources=svhn={source}")
        assert (folder / "runs" / "smoke" / name / "generator").is_dir()
        assert f"| {name} |" in table
    floor = results["floors"]["svhn"]
    assert floor["source"] == f"svhn train split of {source}" and floor["evaluation"]["fid"] >= 0
    assert (folder / "results" / "samples" / "real_svhn.png").is_file()


def test_a_wrong_data_source_fails_before_any_work(tmp_path):
    with pytest.raises(InputError, match="missing.npz: no such file"):
        reproduction.reproduce(["dcgan_svhn"], "smoke", tmp_path / "results",
                               data_sources={"svhn": str(tmp_path / "missing.npz")})
    with pytest.raises(InputError, match="unknown dataset 'cifar'"):
        reproduction.reproduce(["dcgan_svhn"], "smoke", tmp_path / "results",
                               data_sources={"cifar": str(tmp_path)})
    assert not (tmp_path / "results").exists()
    completed = subprocess.run(
        [sys.executable, "-m", "tfgan_replica.cli.reproduce", "--data_sources=svhn"],
        capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert completed.returncode == 1
    assert completed.stderr.strip().splitlines()[-1] == (
        "reproduce: --data_sources takes DATASET=SOURCE pairs, e.g. "
        "--data_sources=svhn=svhn.npz; got 'svhn'")


def test_unknown_preset_or_budget_fails_before_any_work(tmp_path):
    with pytest.raises(ValueError, match="unknown preset 'nope'"):
        reproduction.reproduce(["nope"], "smoke", tmp_path / "results")
    with pytest.raises(ValueError, match="unknown budget 'huge'"):
        reproduction.reproduce(["mlp_bce"], "huge", tmp_path / "results")
    assert not (tmp_path / "results").exists()


def _finished_run(results_dir, runs_dir, name="mlp_bce"):
    """results.json with one finished smoke run of `name` whose run folder holds an
    exported generator (a stand-in file: the scoring is stubbed)."""
    generator = runs_dir / name / "generator"
    generator.mkdir(parents=True)
    (generator / "saved_model.pb").write_bytes(b"")
    record = {"budget": "smoke", "seed": 7, "run_dir": str(runs_dir / name), "finished": "t0",
              "preset": presets.get_preset(name).to_dict(), "evaluation": {"fid": 50.0}}
    run_records.write_json(results_dir / "results.json", {"runs": {name: record}})


def test_finished_runs_are_scored_under_another_protocol_without_training(
        tmp_path, monkeypatch, inception_weights_path):
    results_dir, runs_dir = tmp_path / "results", tmp_path / "runs"
    _finished_run(results_dir, runs_dir)
    calls = []

    def fake_evaluate(source, **kwargs):
        calls.append((source, kwargs))
        return {"fid": 60.0 + len(calls), "provenance": {"protocol": kwargs["protocol"]}}

    monkeypatch.setattr(reproduction.metrics, "evaluate", fake_evaluate)
    monkeypatch.setattr(reproduction.trainer, "train", lambda *a, **k: pytest.fail("trained"))
    monkeypatch.setattr(reproduction.report, "write_report", lambda folder: folder / "README.md")
    printed = []
    score = dict(results_dir=results_dir, inception_weights=str(inception_weights_path),
                 print_fn=printed.append)
    results = reproduction.score_protocol("tf1", ["mlp_bce"], **score)
    [(source, kwargs)] = calls
    assert source == str(runs_dir / "mlp_bce" / "generator")
    assert kwargs["protocol"] == "tf1" and kwargs["seed"] == 7 and kwargs["dataset"] == "mnist"
    assert kwargs["num_samples"] == reproduction.SMOKE_SAMPLES
    assert kwargs["num_reference"] == reproduction.SMOKE_SAMPLES
    assert kwargs.get("sample_mode", "standard") == "standard"
    run = results["runs"]["mlp_bce"]
    assert run["evaluation"] == {"fid": 50.0}  # the primary column is left as it is
    assert run["evaluation_protocols"] == {"tf1": {"fid": 61.0, "provenance": {"protocol": "tf1"}}}
    assert printed == ["mlp_bce: FID 61.00 under tf1 (50.00 under pytorch_fid)",
                       f"report: {results_dir / 'README.md'}"]  # rebuilt with its table

    reproduction.score_protocol("tf1", ["mlp_bce"], **score)  # scored already: skipped
    assert len(calls) == 1 and "skipped" in printed[-2]
    reproduction.score_protocol("tf1", ["mlp_bce"], force=True, **score)
    reproduction.score_protocol("clean", ["mlp_bce"], **score)
    stored = run_records.load_results(results_dir)["runs"]["mlp_bce"]["evaluation_protocols"]
    assert (stored["tf1"]["fid"], stored["clean"]["fid"]) == (62.0, 63.0)


def test_the_real_floor_is_scored_under_another_protocol_beside_the_runs(
        tmp_path, monkeypatch, inception_weights_path):
    results_dir, runs_dir = tmp_path / "results", tmp_path / "runs"
    _finished_run(results_dir, runs_dir)
    floor = {"budget": "smoke", "seed": 3, "source": "mnist train split",
             "evaluation": {"fid": 2.0}}
    run_records.record_floor(results_dir, "mnist", floor)
    calls = []

    def fake_evaluate(source, **kwargs):
        calls.append((source, kwargs))
        return {"fid": 10.0 * len(calls), "provenance": {"protocol": kwargs["protocol"]}}

    monkeypatch.setattr(reproduction.metrics, "evaluate", fake_evaluate)
    monkeypatch.setattr(reproduction.data, "load_arrays",
                        lambda *a: (np.zeros((200, 28, 28, 1), np.uint8), None))
    monkeypatch.setattr(reproduction.report, "write_report", lambda folder: folder / "README.md")
    printed = []
    results = reproduction.score_protocol("clean", ["mlp_bce"], results_dir,
                                          inception_weights=str(inception_weights_path),
                                          print_fn=printed.append)
    (_, run_call), (images, floor_call) = calls
    assert images.shape == (reproduction.SMOKE_SAMPLES, 28, 28, 1)  # the floor's own size
    assert floor_call["protocol"] == "clean" and floor_call["seed"] == 3
    assert floor_call["sample_mode"] == "standard"  # report B's evaluator is pytorch_fid's
    stored = results["floors"]["mnist"]
    assert stored["evaluation"] == {"fid": 2.0}  # the primary floor is left as it is
    assert stored["evaluation_protocols"]["clean"]["fid"] == 20.0
    assert printed[-2] == "real mnist training images: FID 20.00 under clean (2.00 under pytorch_fid)"

    reproduction.score_protocol("clean", ["mlp_bce"], results_dir,  # both scored: nothing to do
                                inception_weights=str(inception_weights_path), print_fn=print)
    assert len(calls) == 2
    rows = report.protocol_rows(results["runs"], results["floors"])
    assert rows[0] == "| run | pytorch_fid | tf1 | clean | tf1 / pytorch_fid | clean / pytorch_fid |"
    assert rows[2] == "| mlp_bce | 50.00 | — | 10.00 | — | 0.200 |"
    assert rows[3] == "| real mnist training images (the floor) | 2.00 | — | 20.00 | — | 10.000 |"
    assert report.protocol_rows(results["runs"])[2:] == rows[2:3]
    del results["runs"]["mlp_bce"]["evaluation_protocols"]
    assert report.protocol_rows(results["runs"]) == []  # no table when nothing is rescored


def test_scoring_under_another_protocol_refuses_what_it_cannot_score_before_any_work(
        tmp_path, monkeypatch):
    results_dir, runs_dir = tmp_path / "results", tmp_path / "runs"
    _finished_run(results_dir, runs_dir)
    monkeypatch.setattr(reproduction.metrics, "evaluate", lambda *a, **k: pytest.fail("scored"))
    with pytest.raises(InputError, match="mlp_hinge_sn has no finished run"):
        reproduction.score_protocol("tf1", ["mlp_bce", "mlp_hinge_sn"], results_dir)
    shutil.rmtree(runs_dir)
    with pytest.raises(InputError, match="mlp_bce's generator .* is not on this machine"):
        reproduction.score_protocol("clean", ["mlp_bce"], results_dir)
    results = run_records.load_results(results_dir)
    results["runs"]["mlp_bce"]["preset"]["latent_dim"] += 1
    run_records.write_json(results_dir / "results.json", results)
    with pytest.raises(InputError, match="mlp_bce changed since its recorded run"):
        reproduction.score_protocol("tf1", ["mlp_bce"], results_dir)
    with pytest.raises(InputError, match="pytorch_fid is every run's primary evaluation"):
        reproduction.score_protocol("pytorch_fid", ["mlp_bce"], results_dir)
    with pytest.raises(InputError, match="protocol must be one of"):
        reproduction.score_protocol("legacy", ["mlp_bce"], results_dir)
    completed = subprocess.run(
        [sys.executable, "-m", "tfgan_replica.cli.reproduce", "--protocol=tf1", "--dry_run"],
        capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert completed.returncode == 1
    assert completed.stderr.strip().splitlines()[-1] == (
        "reproduce: --protocol=tf1 scores finished preset runs again; leave out --dry_run and "
        "--ablations")


def test_default_presets_cover_every_mnist_row_of_both_reports():
    names = reproduction.default_presets()
    for row in ("mlp_bce", "mlp_bce_sn", "mlp_hinge_sn", "mlp_conv_hinge_sn", "mlp_wgan_clip",
                "mlp_wgan_gp", "mlp_diffaug_ct", "mlp_diffaug_safe", "mlp_mbstd", "dcgan_tutorial",
                "dcgan_improved", "wgan_clip_mnist", "best_mlp", "best_dcgan"):
        assert row in names
    assert "dcgan_svhn" not in names and "quickstart" not in names


def test_notebook_runs_on_the_smoke_results(smoke, monkeypatch):
    import nbclient
    import nbformat

    folder, _ = smoke
    notebook = nbformat.read(REPO / "notebooks" / "reproduce.ipynb", as_version=4)
    monkeypatch.setenv("TFGAN_RESULTS_DIR", str(folder / "results"))
    nbclient.NotebookClient(notebook, timeout=300, resources={"metadata": {"path": str(REPO / "notebooks")}}).execute()
    outputs = [output for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    text = json.dumps([o.get("data", {}).get("text/markdown", "") for o in outputs])
    assert "mlp_bce" in text and "dcgan_svhn" in text
    assert "report_a_dcgan_tutorial" in text and "report_a_dcgan_svhn" in text  # report A's own
    assert sum("image/png" in o.get("data", {}) for o in outputs) >= 5  # 3 curves, 2 figures
