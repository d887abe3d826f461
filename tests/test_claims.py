"""Report B's claims are checked only on current results, by the rule each states."""

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


def test_a_result_of_an_earlier_definition_is_not_evidence():
    stale = _run("mlp_bce", 90.0, course=60.0)
    stale["preset"]["dropout"] = 0.0
    runs = {"mlp_bce": stale, "mlp_bce_sn": _run("mlp_bce_sn", 80.0, course=50.0)}
    assert _verdicts(runs)[claims.CLAIMS[0].text] == "not yet measured (mlp_bce)"
