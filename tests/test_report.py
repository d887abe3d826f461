"""The results README that `report.write_report` writes."""

from tfgan_replica import report


def test_the_results_readme_links_the_projections_where_they_are_written(tmp_path):
    readme = report.write_report(tmp_path).read_text()
    assert "projections.md" not in readme
    (tmp_path / "projections.md").write_text("# Projected wall time\n")
    assert "[projections.md](projections.md)" in report.write_report(tmp_path).read_text()
