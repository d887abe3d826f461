"""Run records: names, when a record still counts, and files written so others' records stay."""

import dataclasses

import numpy as np
import pytest
from conftest import REPO

from tfgan_replica import presets, run_records


def _record(preset, budget="cpu", **fields):
    return {"budget": budget, "preset": preset.to_dict(), **fields}


def test_a_run_with_another_seed_is_named_apart_and_maps_back_to_its_preset():
    preset = presets.get_preset("mlp_bce")
    assert run_records.seeded_name(preset) == "mlp_bce"
    assert run_records.seeded_name(preset.replace(seed=2)) == "mlp_bce@seed2"
    assert run_records.preset_of_run("mlp_bce@seed2") == preset.replace(seed=2)
    assert run_records.preset_of_run("mlp_bce") is preset
    assert run_records.preset_of_run("gone@seed1") is None
    assert run_records.seeded_runs([preset], seeds=[0, 2]) == [
        ("mlp_bce", preset), ("mlp_bce@seed2", preset.replace(seed=2))]


def test_current_runs_group_the_seeds_of_todays_definitions():
    preset = presets.get_preset("mlp_bce")
    stale = _record(preset.replace(seed=2, dropout=0.0))
    runs = {"mlp_bce": _record(preset), "mlp_bce@seed1": _record(preset.replace(seed=1)),
            "mlp_bce@seed2": stale, "gone": _record(preset.replace(name="gone"))}
    assert run_records.current_runs(runs) == {"mlp_bce": [runs["mlp_bce"], runs["mlp_bce@seed1"]]}
    assert list(run_records.primary_runs(runs)) == ["mlp_bce", "gone"]


def test_a_record_is_pending_when_missing_of_another_budget_or_definition_or_forced():
    preset = presets.get_preset("mlp_bce")
    record = _record(preset)
    assert not run_records.pending(record, preset, "cpu", force=False)
    assert run_records.pending(record, preset, "cpu", force=True)
    assert run_records.pending(None, preset, "cpu", force=False)
    assert run_records.pending(record, preset, "full", force=False)
    assert run_records.pending(record, preset.replace(dropout=0.0), "cpu", force=False)
    floor = {"budget": "cpu", "evaluation": {"provenance": {"sample_mode": "standard"}}}
    assert not run_records.floor_pending(floor, "standard", "cpu", force=False)
    assert run_records.floor_pending(floor, "course", "cpu", force=False)  # lacks a column


def test_records_are_added_to_what_is_on_disk(tmp_path):
    run_records.record_run(tmp_path, "mlp_bce", {"finished": "t0", "fid": np.float32(2.5)})
    run_records.record_floor(tmp_path, "mnist", {"fid": 1.0})
    run_records.record_run(tmp_path, "mlp_bce_sn", {"finished": "t1"})
    results = run_records.load_results(tmp_path)
    assert results == {"runs": {"mlp_bce": {"finished": "t0", "fid": 2.5},
                                "mlp_bce_sn": {"finished": "t1"}},
                       "floors": {"mnist": {"fid": 1.0}}}
    assert run_records.record_protocol_scores(tmp_path, "mlp_bce", "t0", "tf1", {"fid": 3.0})
    assert not run_records.record_protocol_scores(tmp_path, "mlp_bce_sn", "t0", "tf1", {})
    runs = run_records.load_results(tmp_path)["runs"]
    assert runs["mlp_bce"]["evaluation_protocols"] == {"tf1": {"fid": 3.0}}
    assert "evaluation_protocols" not in runs["mlp_bce_sn"]  # trained again since: dropped
    assert not list(tmp_path.glob("*.tmp"))


def test_a_study_variant_is_recorded_under_its_study(tmp_path):
    study = dataclasses.make_dataclass("Study", ["base", "question", "epochs"])("mlp_bce", "Why?", 2)
    assert run_records.variant_record(tmp_path, "tiny", "as_preset") is None
    run_records.record_variant(tmp_path, "tiny", study, "as_preset", {"steps": 3})
    assert run_records.load_ablations(tmp_path) == {"studies": {"tiny": {
        "base": "mlp_bce", "question": "Why?", "epochs": 2, "variants": {"as_preset": {"steps": 3}}}}}
    assert run_records.variant_record(tmp_path, "tiny", "as_preset") == {"steps": 3}


@pytest.mark.parametrize("name", ["results.json", "ablations.json", "curves/mlp_bce.json"])
def test_the_committed_records_are_written_back_unchanged(name, tmp_path):
    committed = REPO / "results" / name
    run_records.write_json(tmp_path / name, run_records.load_json(committed, None))
    assert (tmp_path / name).read_text() == committed.read_text()


def test_training_minutes_leave_out_the_curves_own_evaluations():
    # the clock at three epoch ends; FID took 30 s after epochs 1 and 2 (and after 3,
    # which is after every step asked)
    scalars = {"train_seconds": [[10, 120.0], [20, 270.0], [30, 420.0]],
               "fid_seconds": [[10, 30.0], [20, 30.0], [30, 30.0]]}
    assert run_records.training_minutes(scalars, [10, 20, 30]) == [2.0, 4.0, 6.0]
    assert run_records.training_minutes(scalars, [20]) == [4.0]
    assert run_records.training_minutes({"train_seconds": scalars["train_seconds"]},
                                        [20]) == [4.5]  # no evaluations logged: the clock
    assert run_records.training_minutes(scalars, [10, 25]) is None  # no clock at step 25
    assert run_records.training_minutes({}, [10]) is None  # a run from before the clock
    # an epoch scored twice (resumed from an older checkpoint) is one evaluation
    twice = {**scalars, "fid_seconds": [[10, 30.0], [10, 30.0], [20, 30.0]]}
    assert run_records.training_minutes(twice, [10, 20, 30]) == [2.0, 4.0, 6.0]
