"""Report B's claims are checked only on current results, by the rule each states."""

import numpy as np

from tfgan_replica import claims, presets, report


def _run(name, fid, course=None):
    scores = {"fid": fid, **({"course": {"fid": course}} if course is not None else {})}
    return {"preset": presets.get_preset(name).to_dict(), "evaluation": scores}


def _verdicts(runs):
    rows = claims.claim_rows(runs, report.PUBLISHED)[2:]
    return {claim.text: row.split(" | ")[2] for claim, row in zip(claims.CLAIMS, rows)}


def test_claims_use_report_bs_evaluator_and_each_rule():
    runs = {"mlp_bce": _run("mlp_bce", 90.0, course=60.0),
            "mlp_bce_sn": _run("mlp_bce_sn", 80.0, course=70.0),  # better by ours, worse by theirs
            "mlp_hinge_sn": _run("mlp_hinge_sn", 50.0, course=40.0),
            "mlp_conv_hinge_sn": _run("mlp_conv_hinge_sn", 50.0, course=37.0),  # 7.5% better
            "mlp_wgan_gp": _run("mlp_wgan_gp", 80.0, course=61.0),  # > 1.5 x 40
            "mlp_diffaug_ct": _run("mlp_diffaug_ct", 150.0)}  # no course column: standard FID
    verdicts = _verdicts(runs)
    texts = [claim.text for claim in claims.CLAIMS]
    assert verdicts[texts[0]] == "does not hold"
    assert verdicts[texts[1]] == "holds"
    assert verdicts[texts[2]] == "holds"
    assert verdicts[texts[3]] == "does not hold"
    assert verdicts[texts[4]] == "holds"
    assert verdicts[texts[5]] == "not yet measured (mlp_diffaug_safe)"
    row = claims.claim_rows(runs, report.PUBLISHED)[2]
    assert "mlp_bce 60.0, mlp_bce_sn 70.0" in row and row.endswith("| holds |")  # 39.27 < 66.74


def test_the_cnn_claim_compares_recall_under_report_bs_evaluator():
    def cnn_run(name, recall, course_recall):
        run = _run(name, 30.0, course=20.0)
        run["evaluation"]["recall"] = recall
        run["evaluation"]["course"]["recall"] = course_recall
        return run

    claim = claims.CLAIMS[-1]
    assert claim.metric == "recall"
    runs = {"cnn_hinge_sn": cnn_run("cnn_hinge_sn", 0.9, 0.70),
            "cnn_hinge_sn_diffaug": cnn_run("cnn_hinge_sn_diffaug", 0.5, 0.75)}
    row = claims.claim_rows(runs, report.PUBLISHED)[-1]
    assert "cnn_hinge_sn recall 0.70, cnn_hinge_sn_diffaug recall 0.75" in row
    assert row.endswith("| holds | holds |")  # 0.75 > 0.70 in ours, 0.82 > 0.80 in theirs
    runs["cnn_hinge_sn_diffaug"]["evaluation"]["course"]["recall"] = 0.60
    assert _verdicts(runs)[claim.text] == "does not hold"


def test_a_result_of_an_earlier_definition_is_not_evidence():
    stale = _run("mlp_bce", 90.0, course=60.0)
    stale["preset"]["dropout"] = 0.0
    runs = {"mlp_bce": stale, "mlp_bce_sn": _run("mlp_bce_sn", 80.0, course=50.0)}
    assert _verdicts(runs)[claims.CLAIMS[0].text] == "not yet measured (mlp_bce)"


def test_a_row_with_several_seeds_enters_with_their_mean():
    repeat = _run("mlp_bce", 95.0, course=40.0)
    repeat["preset"]["seed"] = 1
    stale = _run("mlp_bce", 95.0, course=10.0)
    stale["preset"].update(seed=2, dropout=0.0)
    runs = {"mlp_bce": _run("mlp_bce", 90.0, course=60.0), "mlp_bce@seed1": repeat,
            "mlp_bce@seed2": stale, "mlp_bce_sn": _run("mlp_bce_sn", 80.0, course=55.0)}
    row = claims.claim_rows(runs, report.PUBLISHED)[2]
    assert "mlp_bce 50.0 ± 14.1 (2 seeds), mlp_bce_sn 55.0" in row  # the stale seed 2 is left out
    assert _verdicts(runs)[claims.CLAIMS[0].text] == "does not hold"  # 55 > 50, though < 60
    del runs["mlp_bce@seed1"]
    assert _verdicts(runs)[claims.CLAIMS[0].text] == "holds"


def _curve_run(name, fids, recall=0.5, coverage=0.5, steps_per_epoch=10):
    run = _run(name, fids[-1])
    run["evaluation"].update(recall=recall, coverage=coverage)
    run.update(epochs=len(fids), steps=steps_per_epoch * len(fids),
               fid_curve=[[e + 1.0, (e + 1) * steps_per_epoch, f] for e, f in enumerate(fids)])
    return run


def test_em_per_epoch_averages_the_steps_of_each_epoch():
    curve = [[1, 2.0], [5, 4.0], [10, 6.0], [11, 1.0], [20, 3.0], [25, 9.0]]
    np.testing.assert_allclose(claims.em_per_epoch(curve, 10, 3), [4.0, 2.0, 9.0])


def test_report_a_claims_on_fid_curves():
    tutorial = [300.0 - 10 * e for e in range(20)]  # 300 .. 110: never reaches 40
    improved = [100.0 / (e + 1) + 5 for e in range(20)]  # epoch 10: 15
    wgan = [200.0, 120, 80, 60, 50] + [50.0 - e for e in range(15)]  # most of the gain early
    runs = {"dcgan_tutorial": _curve_run("dcgan_tutorial", tutorial, 0.1, 0.1),
            "dcgan_improved": _curve_run("dcgan_improved", improved, 0.6, 0.6),
            "wgan_clip_mnist": _curve_run("wgan_clip_mnist", wgan, 0.7, 0.4)}
    em = [[step, 10.0 - 0.4 * (step // 10)] for step in range(1, 201)]  # falls with the FID
    rows = claims.claim_rows_a(runs, em)[2:]
    verdicts = [row.rsplit(" | ", 1)[1].rstrip(" |") for row in rows]
    assert verdicts == ["consistent (not reached within 20 epochs)", "holds", "holds", "does not hold", "holds",
                        "does not hold"]  # WGAN's 36 is not within 1.5x of the improved's 10
    assert "realistic (improved at 10): 15.0" in rows[0]

    interrupted = [0.9, 9, 1.0]  # a point between epochs counts for none of them
    runs["dcgan_tutorial"]["fid_curve"].insert(0, interrupted)
    assert claims.fid_at(runs["dcgan_tutorial"], 1) == tutorial[0]
    assert claims.claim_rows_a(runs, em)[2].endswith("| consistent (not reached within 20 epochs) |")
    runs["dcgan_tutorial"]["fid_curve"].remove(interrupted)
    runs["dcgan_tutorial"]["fid_curve"][11][2] = 14.0  # reaches the improved's epoch-10 FID at 12
    assert claims.claim_rows_a(runs, em)[2].endswith("| does not hold: 12 epochs or fewer |")
    sparse = [[at, step, 14.0 if at == 15 else fid]  # under the realistic 15.0 at epoch 15
              for at, step, fid in runs["dcgan_tutorial"]["fid_curve"] if at in (5, 10, 15, 20)]
    sparse_runs = {**runs, "dcgan_tutorial": {**runs["dcgan_tutorial"], "fid_curve": sparse}}
    # a curve every five epochs: the first point at or below is the bound it gives
    assert "reached by epoch 15" in claims.claim_rows_a(sparse_runs, em)[2]
    late = [[at, step, 20.0] for at, step, _ in sparse] + [[45.0, 450, 14.0]]
    late_runs = {**runs, "dcgan_tutorial": {**runs["dcgan_tutorial"], "fid_curve": late}}
    assert claims.claim_rows_a(late_runs, em)[2].endswith("reached by epoch 45 (the curve's "
                                                          "first point at or below) | holds |")
    no_epoch_10 = [point for point in runs["dcgan_improved"]["fid_curve"] if point[0] != 10]
    gap_runs = {**runs, "dcgan_improved": {**runs["dcgan_improved"], "fid_curve": no_epoch_10}}
    assert claims.claim_rows_a(gap_runs, em)[2].endswith("| not yet measured |")
    runs["wgan_clip_mnist"]["fid_curve"][-1][2] = 15.0  # within 1.5x of the improved's 10
    assert claims.claim_rows_a(runs, em)[5].endswith(
        "| FID at epoch 20 (both curves): 15.0 vs 10.0 | holds |")
    longer = _curve_run("dcgan_improved", improved + [3.0] * 30)  # its final FID is 3.0
    longer_runs = {**runs, "dcgan_improved": longer}
    assert claims.claim_rows_a(longer_runs, em)[5].endswith("15.0 vs 10.0 | holds |")
    every_tenth = [point for point in longer["fid_curve"] if point[0] % 10 == 0 and point[0] != 20]
    no_epoch_20 = {**runs, "dcgan_improved": {**longer, "fid_curve": every_tenth}}
    assert claims.claim_rows_a(no_epoch_20, em)[5].endswith(
        "| final FID 36.0 vs 3.0 after 20 and 50 epochs | does not hold |")
    assert ("recall 0.700 vs 0.500, coverage 0.400 vs 0.500 (WGAN vs improved DCGAN, final "
            "scores after 20 and 50 epochs) | does not hold |") in claims.claim_rows_a(longer_runs, em)[7]
    rises_then_falls = [[step, min(step, 60) / 10 - max(step - 60, 0) / 50] for step in range(1, 201)]
    assert claims.claim_rows_a(runs, rises_then_falls)[6].endswith(
        "| holds from epoch 7 (the estimate's peak) on, not before |")  # epoch means peak at 7
    keeps_rising = [[step, step / 10] for step in range(1, 201)]
    assert claims.claim_rows_a(runs, keeps_rising)[6].endswith("| does not hold |")
    del runs["wgan_clip_mnist"]
    assert "not yet measured (wgan_clip_mnist)" in claims.claim_rows_a(runs, em)[4]
