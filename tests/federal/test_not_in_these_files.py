"""What the federal files cannot carry is said, never shown as zero: validate's notes, no stage counts for those
decision points, and pages that say "not in these files"."""
from types import SimpleNamespace

import pandas as pd

from tests.federal.conftest import afcars, ncands

from equity_helpers.counting.load import load
from equity_helpers.counting.stages import stage_counts
from equity_helpers.data.federal import NOT_IN_FILES, not_in_files
from equity_helpers.pages.views import Filters, decision_point_view, stage_overview_table

MISSING = {"reported", "first_placement_kin", "first_placement_congregate"}


def test_an_imported_folder_counts_no_decision_point_its_files_cannot_carry(run, tmp_path):
    run([ncands({}, {"RPTID": "R2", "CHID": "C2", "AFCARSID": "A1"})], [afcars({})])
    out = tmp_path / "out"
    assert set(not_in_files(out)) == MISSING
    for engine in ("pandas", "duckdb"):
        data = load(out, engine=engine)
        assert set(data.not_in_files) == MISSING
        notes = [p.message for p in data.problems if p.check == "not_in_files"]
        assert len(notes) == len(NOT_IN_FILES) and all(n.startswith("Not in these files: ") for n in notes)
        counts = stage_counts(data)
        assert not set(counts["stage"]) & MISSING
        assert {"screened_in", "substantiated", "entered_care"} <= set(counts["stage"])
        assert set(data.summary().not_in_files) == MISSING


def test_a_folder_of_the_workbooks_own_files_misses_nothing(tmp_path):
    assert not_in_files(tmp_path) == {}


def test_a_page_of_a_decision_point_not_in_the_files_says_so():
    wb = SimpleNamespace(data=SimpleNamespace(not_in_files={"reported": "NCANDS holds screened-in reports only."}))
    view = decision_point_view(wb, stages=["reported"], filters=Filters(first_year=2024, last_year=2024))
    assert view.current.empty
    assert view.sentences == ["Not in these files: NCANDS holds screened-in reports only."]


def test_the_start_pages_overview_says_not_in_these_files_instead_of_zero():
    view = pd.DataFrame({"race_ethnicity": ["white", "black"], "stage": ["screened_in", "screened_in"],
                         "count": [12, 20], "suppressed": [False, False], "shown": ["12", "20"]})
    t = stage_overview_table(view, not_in_files={"reported": "why", "first_placement_kin": "why"})
    assert list(t.index) == ["children reported to the hotline", "children in a screened-in report",
                             "entrants first placed with kin"]
    assert set(t.loc["children reported to the hotline"]) == {"not in these files"}
    assert t.loc["children in a screened-in report", "White"] == "12"
