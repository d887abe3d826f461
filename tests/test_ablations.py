"""Ablation studies: variants change one setting or combine named ones; smoke runs record each once."""

import json
import subprocess
import sys

import pytest

from tfgan_replica import ablations, data, presets, reproduction, run_records, studies


@pytest.mark.parametrize("name", sorted(studies.STUDIES))
def test_every_variant_changes_one_setting_or_combines_named_variants(name):
    study = studies.STUDIES[name]
    base = studies.study_base(study)
    assert study.variants[next(iter(study.variants))][1] == {}  # the base comes first

    def changed(variant):
        preset = studies.variant_preset(study, variant)
        assert preset.epochs == study.epochs and preset.name == f"{study.base}@{variant}"
        return set(presets.changed_settings(base.to_dict(), preset)) - {"name"}

    for variant in study.variants:
        if variant.startswith("loss_of_"):  # another row's loss, with all it is trained with
            row = presets.get_preset(variant.removeprefix("loss_of_"))
            preset = studies.variant_preset(study, variant)
            assert changed(variant) and changed(variant) <= set(studies.LOSS_SETTINGS)
            assert all(getattr(preset, name) == getattr(row, name)
                       for name in studies.LOSS_SETTINGS), variant
        elif "+" in variant:  # a combination: exactly the settings its parts change
            parts = variant.split("+")
            assert set(parts) <= set(study.variants), variant
            assert changed(variant) == set().union(*map(changed, parts)), variant
        else:
            settings = changed(variant)
            # one setting, or one that is two fields: both optimizers, both networks, or
            # the loss with BCE's own label target
            assert (settings <= {"d_optimizer", "g_optimizer"} or len(settings) == 1
                    or settings in ({"generator", "discriminator"}, {"family", "real_target"})
                    ), variant
            assert bool(settings) == (variant != "as_preset")


def test_a_decaying_rate_reaches_zero_at_the_end_of_the_studys_last_epoch():
    study = studies.STUDIES["best_mlp"]
    preset = studies.variant_preset(study, "linear_lr_decay")
    batches = len(data.load_arrays(preset.dataset, "train")[0]) // preset.batch_size
    assert preset.d_optimizer.decay_steps == study.epochs * batches
    assert preset.g_optimizer.decay_steps == study.epochs * batches // preset.n_critic


@pytest.fixture
def tiny_study(monkeypatch):
    study = studies.Study(base="mlp_bce", epochs=1, question="Does beta_1 matter?", variants={
        "as_preset": ("the preset", {}),
        "beta1_0.5": ("Adam beta_1 0.5", dict(d_optimizer=presets.torch_adam(2e-4, 0.5))),
    })
    monkeypatch.setitem(studies.STUDIES, "tiny", study)
    return study


def test_a_smoke_study_records_each_variant_once_with_both_columns(
        tiny_study, tmp_path, cache_root, inception_weights_path):
    printed = []
    run = lambda: ablations.run_study("tiny", "smoke", tmp_path / "results", tmp_path / "runs",
                                      inception_weights=str(inception_weights_path),
                                      print_fn=printed.append)
    entry = run()
    assert list(entry["variants"]) == ["as_preset", "beta1_0.5"]
    for variant, record in entry["variants"].items():
        assert record["steps"] == 3 and record["budget"] == "smoke"
        assert record["evaluation"]["course"]["fid"] > 0  # report B's evaluator beside ours
        assert record["preset"]["name"] == f"mlp_bce@{variant}"
        assert record["evaluation"]["provenance"]["split"] == "test"  # a study selects on test
        assert _trained_on(tmp_path / "runs" / "smoke" / "tiny" / variant) == "train"
    assert entry["variants"]["beta1_0.5"]["preset"]["d_optimizer"]["beta_1"] == 0.5
    table = (tmp_path / "results" / "ablations.md").read_text()
    assert table.index("| as_preset | the preset |") < table.index("| beta1_0.5 | Adam beta_1 0.5 |")
    assert "**Selected on the test-set FID it reports.** Does beta_1 matter?" in table

    printed.clear()
    run()
    assert printed == ["tiny/as_preset: finished, skipped", "tiny/beta1_0.5: finished, skipped"]
    stored = json.loads((tmp_path / "results" / "ablations.json").read_text())
    assert list(stored["studies"]) == ["tiny"]


def _trained_on(run_dir):
    return json.loads((run_dir / "config.json").read_text())["train_split"]


def test_a_holdout_study_trains_on_train_fit_and_scores_against_the_holdout_images(
        monkeypatch, tmp_path, cache_root, inception_weights_path):
    monkeypatch.setitem(studies.STUDIES, "tiny_holdout", studies.Study(
        base="mlp_bce", epochs=1, question="Which wins?", select_on="holdout",
        variants={"as_preset": ("the preset", {})}))
    entry = ablations.run_study("tiny_holdout", "smoke", tmp_path / "results", tmp_path / "runs",
                                inception_weights=str(inception_weights_path),
                                print_fn=lambda *_: None)
    record = entry["variants"]["as_preset"]
    assert record["evaluation"]["provenance"]["split"] == "holdout"
    assert record["evaluation"]["course"]["fid"] > 0
    assert _trained_on(tmp_path / "runs" / "smoke" / "tiny_holdout" / "as_preset") == "train_fit"
    table = (tmp_path / "results" / "ablations.md").read_text()
    assert ("**Selected on FID against 10,000 held-out training images; the winner is reported "
            "on the test set in results/README.md.** Which wins?") in table


def test_a_variant_scored_on_another_split_than_its_studys_is_trained_again(
        monkeypatch, tmp_path, inception_weights_path):
    study = studies.Study(base="mlp_bce", epochs=1, question="Which wins?", select_on="holdout",
                          variants={"as_preset": ("the preset", {}), "seed_1": ("seed 1",
                                                                               dict(seed=1))})
    monkeypatch.setitem(studies.STUDIES, "tiny_holdout", study)

    def recorded(split):
        return {"budget": "smoke", "steps": 3, "train_seconds": 1.0, "eval_seconds": 1.0,
                "evaluation": {"fid": 1.0, "precision": 0.5, "recall": 0.5,
                               "provenance": {"split": split, "num_generated": 128}}}

    for variant, split in (("as_preset", "test"), ("seed_1", "holdout")):
        record = dict(recorded(split), preset=studies.variant_preset(study, variant).to_dict())
        run_records.record_variant(tmp_path, "tiny_holdout", study, variant, record)
    calls = []

    def train_and_evaluate(preset, run_dir, *args, train_split, score_split, **options):
        calls.append((run_dir.name, train_split, score_split))
        return recorded(score_split), None

    monkeypatch.setattr(reproduction, "train_and_evaluate", train_and_evaluate)
    ablations.run_study("tiny_holdout", "smoke", tmp_path, tmp_path / "runs",
                        inception_weights=str(inception_weights_path), print_fn=lambda *_: None)
    assert calls == [("as_preset", "train_fit", "holdout")]
    with pytest.raises(ValueError, match="a study selects on one of \\['test', 'holdout'\\]"):
        studies.Study(base="mlp_bce", epochs=1, question="?", variants={}, select_on="train")


def test_a_run_folder_trained_on_another_split_starts_over(tmp_path):
    preset = studies.variant_preset(studies.STUDIES["sn_mlp"], "as_preset")
    (tmp_path / "config.json").write_text(json.dumps({"preset": preset.to_dict()}))  # on train
    assert not reproduction._holds_other_run(tmp_path, preset)
    assert reproduction._holds_other_run(tmp_path, preset, "train_fit")


def test_unknown_study_fails_before_any_work(tmp_path):
    with pytest.raises(ValueError, match="unknown ablation study 'nope'"):
        ablations.run_study("nope", results_dir=tmp_path)
    result = subprocess.run([sys.executable, "-m", "tfgan_replica.cli.reproduce", "--ablations=nope"],
                            capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert result.returncode == 1
    assert f"--ablations takes names of {sorted(studies.STUDIES)}" in result.stderr
    assert "Traceback" not in result.stderr and not list(tmp_path.iterdir())


def test_a_study_with_fid_curves_shows_the_fid_of_each_epoch(tmp_path):
    evaluation = {"fid": 250.0, "precision": 0.1, "recall": 0.0,
                  "provenance": {"num_generated": 2048}}
    record = {"evaluation": evaluation, "steps": 702, "train_seconds": 600.0,
              "eval_seconds": 60.0, "fid_curve": [[1.0, 234, 390.4], [1.5, 351, 350.0],
                                                  [2.0, 468, 301.2], [3.0, 702, 250.6]]}
    (tmp_path / "ablations.json").write_text(json.dumps({"studies": {"wgan_clip": {
        "base": "wgan_clip_mnist", "question": "Which reading learns?", "epochs": 3,
        "variants": {"as_preset": record}}}}))
    table = ablations.write_ablations_report(tmp_path).read_text()
    assert "| FID by epoch |" in table and "Findings" not in table
    entry = json.loads((tmp_path / "ablations.json").read_text())
    entry["studies"]["wgan_clip"]["findings"] = "The critic loop matters."
    (tmp_path / "ablations.json").write_text(json.dumps(entry))
    table = ablations.write_ablations_report(tmp_path).read_text()
    assert table.index("| as_preset |") < table.index("**Findings.** The critic loop matters.")
    assert "| 250.00 / 0.10 / 0.00 | 390 → 301 → 251 | 2048 | 702 |" in table  # epoch ends only
