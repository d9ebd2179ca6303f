"""Issue 27's test of done: the sample written as NCANDS and AFCARS files by an independent converter
(tests/federal/converter.py; state spelling with ISO dates, NDACAN spelling with mm/dd/yyyy dates) and imported
back validates, and counts the same children screened in, substantiated and entering care, per place, year (and
the whole range of years) and race group, cell by cell."""
from pathlib import Path

import pandas as pd
import pytest

from tests.federal.converter import convert

from equity_helpers.counting.load import load
from equity_helpers.counting.stages import stage_counts
from equity_helpers.data.federal import import_federal
from equity_helpers.schema import STATE, assign_groups

SAMPLE = Path(__file__).parents[2] / "data" / "sample"
STAGES = ["screened_in", "substantiated", "entered_care"]
KEYS = ["jurisdiction", "period", "race_ethnicity", "stage"]


def _pooled(data) -> pd.Series:
    """Unique children per place (and the state), group and stage over the whole range of years."""
    r = data.reports
    events = pd.concat([
        r.loc[r["screened_in"] == 1, ["child_id", "jurisdiction"]].assign(stage="screened_in"),
        r.loc[r["disposition"].isin(["substantiated", "indicated"]), ["child_id", "jurisdiction"]]
        .assign(stage="substantiated"),
        data.episodes[["child_id", "jurisdiction"]].assign(stage="entered_care")])
    events = pd.concat([events, events.assign(jurisdiction=STATE)])
    groups = assign_groups(data.children)
    events = events.merge(groups, on="child_id").drop_duplicates()
    return events.groupby(["jurisdiction", "race_ethnicity", "stage"]).size()


def _counts(data) -> pd.Series:
    c = stage_counts(data)
    return c[c["stage"].isin(STAGES)].set_index(KEYS)["count"]


@pytest.fixture(scope="module")
def original():
    data = load(SAMPLE, engine="pandas")
    return data, _counts(data), _pooled(data)


@pytest.mark.parametrize("spelling,dates", [("state", "iso"), ("ndacan", "mdy")])
def test_the_sample_through_federal_files_counts_the_same_children(tmp_path, original, spelling, dates):
    files = convert(SAMPLE, tmp_path / "federal", spelling=spelling, dates=dates)
    result = import_federal(ncands=files["ncands"], afcars=files["afcars"], counties=tmp_path / "federal" / "counties.csv",
                            population=SAMPLE / "population.csv", out=tmp_path / "data")
    assert result.summary.set_index("table")["excluded"].sum() == 0
    data = load(tmp_path / "data", engine="pandas")
    assert not [p for p in data.problems if p.severity == "error"]
    assert (data.first_year, data.last_year) == (original[0].first_year, original[0].last_year)
    want, got = original[1], _counts(data)
    both = pd.concat([want.rename("sample"), got.rename("imported")], axis=1).fillna(0)
    assert len(both) > 2000
    differ = both[both["sample"] != both["imported"]]
    assert differ.empty, differ.head(20)
    pooled = pd.concat([original[2].rename("sample"), _pooled(data).rename("imported")], axis=1).fillna(0)
    assert (pooled["sample"] == pooled["imported"]).all()
