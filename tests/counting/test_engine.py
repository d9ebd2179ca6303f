"""The DuckDB engine gives exactly what the pandas engine gives: the same problems (messages, rows,
examples, order), the same row accounting, the same clean tables, stage counts, population and
measures (a golden comparison on the sample state and on every validation rule's bad input)."""
import os
import pickle
import shutil
from pathlib import Path

import hypothesis.strategies as st
import pandas as pd
import pytest
from hypothesis import HealthCheck, example, given, settings

import equity_helpers as eh
from equity_helpers.counting import engine
from equity_helpers.counting import stages
from equity_helpers.errors import DataValidationError, ParameterError
from equity_helpers.schema import SCHEMES
from equity_helpers.counting.load import load, validate
from tests.conftest import tiny_raw

SAMPLE = "data/sample"


def _outcome(fn):
    """(problems, accounting or None, data or None) of a validation, raised or not."""
    try:
        data = fn()
    except DataValidationError as exc:
        return exc.problems, None, None
    return data.problems, data.accounting, data


def _same_tables(a, b) -> None:
    for name in ("children", "reports", "episodes", "population", "counts"):
        x, y = getattr(a, name), getattr(b, name)
        assert (x is None) == (y is None), name
        if x is None:
            continue
        x, y = x.copy(), y.copy()
        x["_row"] = x["_row"].astype("int64")
        y["_row"] = y["_row"].astype("int64")
        pd.testing.assert_frame_equal(x, y, obj=name)
    assert (a.first_year, a.last_year, a.data_end, a.calendar) == (b.first_year, b.last_year, b.data_end, b.calendar)
    assert a.jurisdictions == b.jurisdictions


def _same(raw, **kw):
    p1, acc1, d1 = _outcome(lambda: validate({k: v.copy() for k, v in raw.items()}, **kw))
    p2, acc2, d2 = _outcome(lambda: validate({k: v.copy() for k, v in raw.items()}, engine="duckdb", **kw))
    assert p1 == p2
    if acc1 is not None:
        pd.testing.assert_frame_equal(acc1, acc2)
        _same_tables(d1, d2)
    return d1, d2


@pytest.fixture(scope="module")
def sample_pair():
    return load(SAMPLE, engine="pandas"), load(SAMPLE, engine="duckdb")


# --------------------------------------------------------------------------- golden: the sample state
def test_sample_validation_is_identical(sample_pair):
    a, b = sample_pair
    assert isinstance(b, engine.Extract) and not isinstance(a, engine.Extract)
    assert a.problems == b.problems
    pd.testing.assert_frame_equal(a.accounting, b.accounting)
    _same_tables(a, b)


@pytest.mark.parametrize("scheme", list(SCHEMES))
@pytest.mark.parametrize("by", [(), ("age_group",), ("sex",), ("age_group", "sex")])
def test_sample_stage_counts_are_identical(sample_pair, scheme, by):
    a, b = sample_pair
    x = stages.stage_counts(a, scheme=scheme, by=by)
    y = stages.stage_counts(b, scheme=scheme, by=by)
    pd.testing.assert_frame_equal(x, y)
    assert x.attrs == y.attrs
    assert x["count"].sum() > 0


def test_sample_state_only_and_counties_only(sample_pair):
    a, b = sample_pair
    for kw in (dict(include_state=False), dict(include_counties=False)):
        pd.testing.assert_frame_equal(stages.stage_counts(a, **kw), stages.stage_counts(b, **kw))


def test_sample_population_and_measures_are_identical(sample_pair):
    a, b = sample_pair
    pa, pb = stages.population_table(a), stages.population_table(b)
    pd.testing.assert_frame_equal(pa, pb)
    ma = eh.measures(stages.stage_counts(a), pa)
    mb = eh.measures(stages.stage_counts(b), pb)
    pd.testing.assert_frame_equal(ma, mb)
    assert len(ma) > 1000 and ma["suppressed"].any()


def test_release_cells_are_identical(sample_pair):
    from equity_helpers.release.table import release_cells, windows_for

    a, b = sample_pair
    wins = windows_for(a.first_year, a.last_year)
    pd.testing.assert_frame_equal(release_cells(a, windows=wins), release_cells(b, windows=wins))


def test_records_reach_pandas_only_when_asked(sample_pair):
    _, b = sample_pair
    fresh = load(SAMPLE)
    assert isinstance(fresh, engine.Extract)  # the default engine
    stages.stage_counts(fresh)
    stages.population_table(fresh)
    assert fresh._frames == {}  # counted without reading a record into pandas
    assert fresh.child_level and fresh.has_table("episodes")
    assert len(fresh.reports) == int(fresh.accounting.query("table == 'reports' and outcome == 'used'")["rows"].sum())


def test_extract_pickles_as_plain_validated_data(sample_pair):
    _, b = sample_pair
    back = pickle.loads(pickle.dumps(b))
    assert type(back) is eh.ValidatedData
    _same_tables(back, b)


def test_content_hash_follows_the_data(sample_pair, tmp_path):
    _, b = sample_pair
    assert b.content_hash() == load(SAMPLE).content_hash()
    for f in ("children.csv", "reports.csv", "episodes.csv", "population.csv"):
        shutil.copy(f"{SAMPLE}/{f}", tmp_path / f)
    rep = pd.read_csv(tmp_path / "reports.csv", dtype=str)
    rep.loc[0, "screened_in"] = "1" if rep.loc[0, "screened_in"] == "0" else "0"
    rep.loc[0, "disposition"] = "none"
    rep.to_csv(tmp_path / "reports.csv", index=False)
    assert load(tmp_path).content_hash() != b.content_hash()


# --------------------------------------------------------------------------- every rule, both engines
def _dup(t):
    t["children"].loc[1, "child_id"] = "A"
    t["children"].loc[2, "sex"] = "X"
    t["reports"].loc[0, "screened_in"] = "maybe"
    t["population"].loc[0, "population"] = "-5"


def _dates(t):
    t["reports"].loc[3, "report_date"] = "not a date"
    t["reports"].loc[4, "report_date"] = "05/01/2023"           # read by pandas' format guessing
    t["episodes"].loc[4, "exit_date"] = "2030-01-01"
    t["children"].loc[5, "birth_date"] = "2010-10-10T00:00:00"


def _rules(t):
    t["reports"].loc[0, "report_date"] = "2014-01-01"
    t["reports"].loc[3, "disposition"] = "substantiated"
    t["reports"].loc[2, "child_id"] = "ZZZ"
    t["episodes"].loc[1, "child_id"] = "ZZZ"
    t["episodes"].loc[0, "exit_date"] = "2022-01-01"
    t["episodes"].loc[2, "exit_reason"] = ""
    t["episodes"].loc[3, "exit_reason"] = "adoption"
    t["episodes"].loc[4, "placement_count"] = "0"


def _child_excluded(t):
    t["children"].loc[0, "birth_date"] = "someday"
    t["episodes"]["prior_episodes"] = ["1", "x", "", "2", "0"]


def _codes(t):
    t["children"]["race_white"] = ["0", "1", "Y", "0", "True", "maybe"]
    t["episodes"].loc[:, "first_placement"] = ["kin", "bed", "bed", "tent", "kin"]
    t["reports"].loc[:, "disposition"] = ["substantiated", "??", "??", "", "x", "x", "substantiated", "none"]


def _missing(t):
    t["episodes"] = t["episodes"].drop(columns=["exit_reason"])
    t["reports"] = t["reports"].iloc[0:0]


def _blank_ids(t):
    t["children"].loc[3, "child_id"] = ""
    t["reports"].loc[1, "report_id"] = " "
    t["population"] = t["population"][t["population"].jurisdiction == "North"]


@pytest.mark.parametrize("change", [None, _dup, _dates, _rules, _child_excluded, _codes, _missing, _blank_ids],
                         ids=lambda f: "clean" if f is None else f.__name__.strip("_"))
@pytest.mark.parametrize("kw", [{}, {"extract_date": "2024-12-31"}, {"first_year": 2023, "last_year": 2023},
                                {"calendar": True}], ids=["default", "extract", "years", "calendar"])
def test_every_rule_gives_the_same_problems_and_accounting(change, kw):
    raw = tiny_raw()
    if change is not None:
        change(raw)
    d1, d2 = _same(raw, **kw)
    if d1 is not None:
        for scheme in SCHEMES:
            pd.testing.assert_frame_equal(stages.stage_counts(d1, scheme=scheme), stages.stage_counts(d2, scheme=scheme))


def test_counts_only_data_validate_alike():
    counts = pd.DataFrame({"jurisdiction": ["X", "X"], "period": ["2023", "2023"],
                           "race_ethnicity": ["black", "white"], "stage": ["s", "s"], "count": ["-1", "ten"]})
    _same({"counts": counts})


# DAMAGE_EXAMPLES=600 searches harder (3 min; run before changing either engine's validation).
@settings(max_examples=int(os.environ.get("DAMAGE_EXAMPLES", "25")), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from(["children", "reports", "episodes"]), st.integers(0, 7),
                          st.integers(0, 9), st.sampled_from(["", "2023-13-01", "A", "1", "0", "kin", "F", "x",
                                                               "2023-06-30", "2031-01-01", "substantiated"])),
                min_size=1, max_size=6))
@example(edits=[("children", 0, 0, ""), ("reports", 0, 1, "")])  # a missing id names no child in either table
def test_random_damage_gives_the_same_problems(edits):
    raw = tiny_raw()
    for table, row, col, value in edits:
        df = raw[table]
        df.iloc[row % len(df), col % df.shape[1]] = value
    _same(raw)


@settings(max_examples=int(os.environ.get("DAMAGE_EXAMPLES", "25")), deadline=None)
@given(st.lists(st.tuples(st.sampled_from("ABCDEF"), st.sampled_from(["North", "South", "West"]),
                          st.sampled_from(["2022-10-01", "2023-01-15", "2023-01-16", "2023-09-30", "2023-10-01",
                                           "2024-03-01"]),
                          st.sampled_from([("0", ""), ("1", "unsubstantiated"), ("1", "substantiated"),
                                           ("1", "indicated"), ("1", "")])),
                min_size=1, max_size=14))
def test_children_reported_in_several_places_are_counted_alike(reports):
    """Random reports of six children across three counties and two years: a child reported in one place
    that year and one reported in several are counted alike by both engines (each county once, the
    state once)."""
    raw = tiny_raw()
    raw["reports"] = pd.DataFrame([{"report_id": f"r{i}", "child_id": c, "jurisdiction": j, "report_date": d,
                                    "screened_in": si, "disposition": disp}
                                   for i, (c, j, d, (si, disp)) in enumerate(reports)])
    d1, d2 = _same(raw, extract_date="2024-12-31")
    if d1 is not None:
        for by in ((), ("age_group",)):
            pd.testing.assert_frame_equal(stages.stage_counts(d1, by=by), stages.stage_counts(d2, by=by))


# --------------------------------------------------------------------------- files
def test_files_read_alike_csv_semicolons_parquet_and_mapping(tmp_path):
    raw = tiny_raw()
    raw["children"].to_csv(tmp_path / "children.csv", sep=";", index=False)
    raw["reports"].to_parquet(tmp_path / "reports.parquet", index=False)
    ep = raw["episodes"].rename(columns={"entry_date": "START", "first_placement": "PLACE"})
    ep["PLACE"] = ep["PLACE"].map({"kin": "K", "congregate": "G", "nonkin_foster": "F"})
    ep.to_csv(tmp_path / "eps.csv.gz", index=False)
    raw["population"].to_csv(tmp_path / "population.csv", index=False)
    (tmp_path / "mapping.yml").write_text(
        "tables:\n  children: {path: children.csv}\n  reports: {path: reports.parquet}\n"
        "  population: {path: population.csv}\n"
        "  episodes:\n    path: eps.csv.gz\n    columns: {entry_date: START, first_placement: PLACE}\n"
        "    codes:\n      first_placement: {K: kin, G: congregate, F: nonkin_foster}\n")
    a = load(mapping=tmp_path / "mapping.yml", engine="pandas")
    b = load(mapping=tmp_path / "mapping.yml", engine="duckdb")
    assert a.problems == b.problems and any(p.check == "read_as" for p in b.problems)
    pd.testing.assert_frame_equal(a.accounting, b.accounting)
    _same_tables(a, b)
    pd.testing.assert_frame_equal(stages.stage_counts(a), stages.stage_counts(b))


def test_unreadable_files_are_reported_together(tmp_path):
    (tmp_path / "children.parquet").write_text("not parquet")
    (tmp_path / "reports.csv").write_bytes(b"")
    found = []
    for e in engine.ENGINES:
        with pytest.raises(DataValidationError) as exc:
            load(tmp_path, engine=e)
        found.append([(p.table, p.check) for p in exc.value.problems])
    assert found[0] == found[1] == [("children", "unreadable_source"), ("reports", "unreadable_source")]


def test_memory_limit_and_spill_folder_are_set(tmp_path, monkeypatch):
    monkeypatch.setenv("EQUITY_WORKBOOK_MEMORY", "512MB")
    monkeypatch.setenv("EQUITY_WORKBOOK_TEMP", str(tmp_path / "spill"))
    monkeypatch.setenv("EQUITY_WORKBOOK_THREADS", "1")
    con = engine.connect()
    assert con.execute("SELECT current_setting('memory_limit')").fetchone()[0].startswith("488")
    assert con.execute("SELECT current_setting('temp_directory')").fetchone()[0] == str(tmp_path / "spill")
    assert con.execute("SELECT current_setting('threads')").fetchone()[0] == 1


def test_spills_go_to_a_private_folder_by_default(monkeypatch):
    monkeypatch.delenv("EQUITY_WORKBOOK_TEMP", raising=False)
    folder = engine.connect().execute("SELECT current_setting('temp_directory')").fetchone()[0]
    assert folder != ".tmp" and "equity-workbook-spill" in folder
    import os
    assert oct(os.stat(folder).st_mode)[-3:] == "700"


def test_unknown_engine_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("EQUITY_WORKBOOK_ENGINE", "spark")
    with pytest.raises(eh.ParameterError, match="duckdb, pandas"):
        load(SAMPLE)


def test_text_keys_give_the_same_counts(sample_pair):
    a, _ = sample_pair
    b = load(SAMPLE)
    assert b._key == "hash(child_id)"  # every child's hash distinct on the sample
    b._key = "child_id"  # what a hash collision falls back to
    pd.testing.assert_frame_equal(stages.stage_counts(a), stages.stage_counts(b))


# --------------------------------------------------------------------------- stored extracts
def test_stored_extract_is_reopened_identical(sample_pair, tmp_path):
    from equity_helpers.counting.extracts import load_cached

    a, _ = sample_pair
    first = load_cached(SAMPLE, cache_dir=tmp_path / "x")
    files = list((tmp_path / "x").glob("extract-*.duckdb"))
    assert len(files) == 1 and oct(files[0].parent.stat().st_mode)[-3:] == "700"
    again = load_cached(SAMPLE, cache_dir=tmp_path / "x")
    assert again.con.execute("SELECT count(*) FROM duckdb_databases() WHERE database_name = 'stored'"
                             ).fetchone()[0] == 1  # opened from the file, not validated again
    for ex in (first, again):
        assert ex.problems == a.problems
        pd.testing.assert_frame_equal(ex.accounting, a.accounting)
        _same_tables(a, ex)
        pd.testing.assert_frame_equal(stages.stage_counts(ex, by=("sex",)), stages.stage_counts(a, by=("sex",)))
        pd.testing.assert_frame_equal(stages.population_table(ex), stages.population_table(a))
    # the side tables: stored, and read from the file only when first asked for
    assert "meetings" in again._side_stored and again._side["meetings"] is None
    for name in ("dv_services", "meetings"):
        pd.testing.assert_frame_equal(getattr(again, name), getattr(a, name))
        pd.testing.assert_frame_equal(getattr(first, name), getattr(a, name))
    assert again.content_hash() == first.content_hash()


def test_a_changed_file_or_setting_is_validated_again(tmp_path):
    from equity_helpers.counting.extracts import extract_key, load_cached

    raw = tiny_raw()
    for name, df in raw.items():
        df.to_csv(tmp_path / f"{name}.csv", index=False)
    k1 = extract_key(tmp_path)
    assert extract_key(tmp_path, calendar=True) != k1
    load_cached(tmp_path, cache_dir=tmp_path / "x")
    raw["reports"].loc[0, "screened_in"] = "0"
    raw["reports"].loc[0, "disposition"] = "none"
    raw["reports"].to_csv(tmp_path / "reports.csv", index=False)
    assert extract_key(tmp_path) != k1
    ex = load_cached(tmp_path, cache_dir=tmp_path / "x")
    assert len(list((tmp_path / "x").glob("extract-*.duckdb"))) == 2
    assert int(ex.reports["screened_in"].iloc[0]) == 0


def test_data_with_errors_are_never_stored(tmp_path):
    from equity_helpers.counting.extracts import load_cached

    raw = tiny_raw()
    raw["children"].loc[1, "child_id"] = "A"
    for name, df in raw.items():
        df.to_csv(tmp_path / f"{name}.csv", index=False)
    with pytest.raises(DataValidationError):
        load_cached(tmp_path, cache_dir=tmp_path / "x")
    assert not list((tmp_path / "x").glob("extract-*")) if (tmp_path / "x").exists() else True


def test_load_stores_only_when_a_folder_is_named(tmp_path, monkeypatch):
    monkeypatch.delenv("EQUITY_WORKBOOK_EXTRACTS", raising=False)
    ex = load(SAMPLE)
    assert ex.con.execute("SELECT count(*) FROM duckdb_databases() WHERE database_name = 'stored'").fetchone()[0] == 0
    monkeypatch.setenv("EQUITY_WORKBOOK_EXTRACTS", str(tmp_path / "named"))
    load(SAMPLE)
    assert len(list((tmp_path / "named").glob("extract-*.duckdb"))) == 1


# --------------------------------------------------------------------------- the command
def test_measures_command_from_records_equals_the_pandas_pipeline(sample_pair, tmp_path, capsys):
    from equity_helpers.run.cli import main

    a, _ = sample_pair
    out = tmp_path / "m.csv"
    assert main(["measures", "--data", SAMPLE, "--out", str(out), "--quiet"]) == 0
    text = capsys.readouterr().out
    with open(Path(SAMPLE) / "reports.csv") as fh:
        n_reports = sum(1 for _ in fh) - 1
    assert f"reports: {n_reports:,} rows read" in text and "rows suppressed" in text and "release table" in text
    # the optional tables measures by race do not use are not read, and the output says so
    assert "Not read: dv_services, meetings" in text and "dv_services:" not in text and "meetings:" not in text
    expected = eh.measures(stages.stage_counts(a), stages.population_table(a))
    expected.to_csv(tmp_path / "expected.csv", index=False)
    assert out.read_text() == (tmp_path / "expected.csv").read_text()
    got = pd.read_csv(out)
    assert set(got["jurisdiction"]) == {"Statewide", *a.jurisdictions}
    assert set(got["basis"]) == {"population", "decision"}
    assert not got["count"].between(1, 10).any()  # the policy's primary range is never shown


def test_measures_by_a_linked_breakdown_read_only_the_side_table_it_uses():
    from equity_helpers.run.pipeline import measures_from_records

    table, data = measures_from_records(SAMPLE, progress=False, by="meeting_at_removal")
    assert data.meetings is not None and data.dv_services is None and "family_hash" not in data.columns_of("reports")
    assert table.attrs["not_read"].startswith("Not read: dv_services")
    assert set(data.accounting["table"]) >= {"meetings"} and "dv_services" not in set(data.accounting["table"])
    _, data = measures_from_records(SAMPLE, progress=False, by="dv_services")
    assert data.dv_services is not None and data.meetings is None and "family_hash" in data.columns_of("reports")
    # optional columns: only the breakdown's own is read
    table, data = measures_from_records(SAMPLE, progress=False)
    assert data.unread_columns == {"children": ["disability", "lgbtq", "immigrant_family", "tribal_affiliation"],
                                   "reports": ["dv_involved", "family_hash"]}
    assert "children.lgbtq" in table.attrs["not_read"] and "lgbtq" not in data.columns_of("children")
    _, data = measures_from_records(SAMPLE, progress=False, by="disability")
    assert "disability" in data.columns_of("children") and "lgbtq" not in data.columns_of("children")
    with pytest.raises(ParameterError, match="optional"):
        engine.load_extract(SAMPLE, unused_columns={"children": ["sex"]})


def test_measures_command_needs_records_or_counts(capsys):
    from equity_helpers.run.cli import main

    assert main(["measures", "--out", "x.csv"]) == 2
    assert main(["measures", "--data", SAMPLE, "--counts", "c.csv", "--out", "x.csv"]) == 2
    assert "either --data" in capsys.readouterr().err


def test_time_in_care_is_identical_and_reads_only_children_in_care(sample_pair):
    from equity_helpers.metrics import survival

    a, _ = sample_pair
    b = load(SAMPLE)
    for place in ("Statewide", a.jurisdictions[0]):
        pd.testing.assert_frame_equal(survival.entry_cohort(a, jurisdiction=place),
                                      survival.entry_cohort(b, jurisdiction=place))
        pd.testing.assert_frame_equal(survival.cfsr_frame(a, jurisdiction=place), survival.cfsr_frame(b, jurisdiction=place))
    pd.testing.assert_frame_equal(survival.federal_measures(a, period=a.last_year - 2),
                                  survival.federal_measures(b, period=a.last_year - 2))
    assert "children" not in b._frames  # only the children with an episode were read
    assert len(b._frames["children@episodes"]) < len(a.children) / 5


def test_a_folder_of_parquet_parts_is_one_table_numbered_on(tmp_path):
    from equity_helpers.counting.extracts import extract_key

    raw = tiny_raw()
    raw["reports"].loc[5, "report_date"] = "not a date"  # the sixth report: row 6 in the second part
    (tmp_path / "reports").mkdir()
    for i, (lo, hi) in enumerate(((0, 3), (3, 7), (7, 8))):
        raw["reports"].iloc[lo:hi].to_parquet(tmp_path / "reports" / f"part-{i:04d}.parquet", index=False)
    for name in ("children", "episodes", "population"):
        raw[name].to_csv(tmp_path / f"{name}.csv", index=False)
    a, b = load(tmp_path, engine="pandas"), load(tmp_path, engine="duckdb")
    assert a.problems == b.problems
    assert [(p.check, p.examples) for p in b.problems if p.table == "reports"] == [("unreadable_date", "6")]
    pd.testing.assert_frame_equal(a.accounting, b.accounting)
    _same_tables(a, b)
    pd.testing.assert_frame_equal(stages.stage_counts(a), stages.stage_counts(b))
    key = extract_key(tmp_path)
    raw["reports"].iloc[7:8].assign(screened_in="0", disposition="none").to_parquet(
        tmp_path / "reports" / "part-0002.parquet", index=False)
    assert extract_key(tmp_path) != key  # a changed part is a changed extract


def test_a_stop_signal_during_a_query_stops_the_run():
    import os
    import signal
    import threading

    from equity_helpers.safety import BatchInterrupted, stop_on_signals

    con = engine.connect()
    with pytest.raises(BatchInterrupted) as exc:
        with stop_on_signals():
            threading.Timer(0.3, lambda: os.kill(os.getpid(), signal.SIGTERM)).start()
            con.execute("SELECT count(*) FROM range(50000000000) t(x) WHERE x % 7 = 3").fetchall()
    assert exc.value.exit_code == 143
