"""The release table: every publishable cell, protected on every margin together (issue 9)."""
import pandas as pd
import pytest

import equity_helpers as eh
from equity_helpers.privacy import disclosure
from equity_helpers.release import table as R
from equity_helpers.release.survival import MONTHS
from equity_helpers.release.workbook import Workbook
from equity_helpers.pages.views import Filters, decision_point_view, time_in_care_view



def test_windows_are_single_years_three_year_blocks_and_the_whole_range():
    labels = [w.label for w in R.windows_for(2020, 2025)]
    assert labels[:6] == [f"FY{y}" for y in range(2020, 2026)]
    assert {"FY2020-FY2022", "FY2023-FY2025", "FY2020-FY2025"} <= set(labels)
    assert len(labels) == 9, "blocks do not overlap (rolling windows differ by single years)"
    assert {w.label for w in R.windows_for(2019, 2025)} >= {"FY2020-FY2022", "FY2023-FY2025", "FY2019-FY2025"}
    assert "FY2021-FY2024" in [w.label for w in R.windows_for(2020, 2025, extra=[(2021, 2024)])]
    with pytest.raises(eh.ParameterError):
        R.windows_for(2020, 2025, extra=[(2019, 2021)])


@pytest.fixture(scope="module")
def true_cells(sample_data):
    """The unprotected cells of the sample (only tests see them; a Release never holds them)."""
    return R.release_cells(sample_data, windows=R.windows_for(2020, 2025))


def test_pooled_windows_are_child_years_the_sum_of_their_years(true_cells):
    c = true_cells[(true_cells["jurisdiction"] == "Statewide") & (true_cells["stage"] == "entered_care")
                   & (true_cells["subgroup"] == "all")].set_index(["race_ethnicity", "period"])["value"]
    for g in ("black", "white", "all"):
        assert c[(g, "FY2020-FY2025")] == sum(c[(g, f"FY{y}")] for y in range(2020, 2026))
        assert c[(g, "FY2023-FY2025")] == sum(c[(g, f"FY{y}")] for y in range(2023, 2026))
    k = true_cells[(true_cells["jurisdiction"] == "Granite") & (true_cells["stage"] == "entered_care")
                   & (true_cells["subgroup"] == "all")].set_index(["race_ethnicity", "period"])["value"]
    assert k[("all", "FY2020-FY2025")] == k[("all", "FY2020-FY2022")] + k[("all", "FY2023-FY2025")]


def test_single_years_are_published_for_the_state_only(true_cells):
    singles = true_cells[(true_cells["family"] == "stages") & (true_cells["first_year"] == true_cells["last_year"])]
    assert set(singles["jurisdiction"]) == {"Statewide"}
    assert {"FY2020-FY2022", "FY2023-FY2025", "FY2020-FY2025"} <= set(
        true_cells.loc[true_cells["jurisdiction"] == "Bluff", "period"])


def test_every_relation_holds_on_the_data_and_none_is_lost(true_cells):
    rel = R.relations(true_cells)
    v = true_cells.set_index("cell")["value"]
    lhs = (rel.terms["cell"].map(v) * rel.terms["coef"]).groupby(rel.terms["relation"]).sum()
    kind = rel.kind.reindex(lhs.index)
    assert ((kind == "eq") & (lhs != 0)).sum() == 0 and ((kind == "le") & (lhs > 0)).sum() == 0
    # the group and window relations are exact equalities: at least one per whole-range cell
    whole = true_cells[true_cells["period"] == "FY2020-FY2025"]
    assert (kind == "eq").sum() >= len(whole)
    # every stage cell is in at least one relation with its group total
    assert set(true_cells["cell"]) <= set(rel.terms["cell"])


def test_a_release_holds_no_hidden_value(sample_release):
    c = sample_release.cells
    assert list(c.columns) == R.RELEASE_COLUMNS
    assert c.loc[c["suppressed"], "count"].isna().all()
    assert c.loc[~c["suppressed"], "count"].notna().all()
    shown = c.loc[~c["suppressed"], "count"].astype(int)
    p = sample_release.protection
    assert not shown.between(p.min_count, p.max_count).any(), "no published count is 1-10"
    assert set(sample_release.audit.columns) == {*R.CELL_KEYS, "low", "high"}


def test_the_audit_passes_on_the_release_and_every_hidden_cell_keeps_its_protection(sample_release):
    a = sample_release.audit
    assert len(a) == int(sample_release.cells["suppressed"].sum())
    assert ((a["high"] - a["low"]) >= 1 - 1e-9).all(), "no hidden cell is pinned"


def test_the_old_rule_leaks_and_the_audit_says_so(true_cells):
    """Complementary suppression margin by margin (no margin with exactly one hidden cell) still lets
    a reader pin hidden counts by combining years with pooled windows (issue 9's first finding)."""
    sub = true_cells[(true_cells["subgroup"] == "all") & (true_cells["family"] == "stages")
                     & (true_cells["stage"] == "entered_care")].reset_index(drop=True)
    old = eh.suppress_counts(sub.rename(columns={"value": "count"}), keys=["jurisdiction", "period", "race_ethnicity",
                                                                           "stage"],
                             margins=["race_ethnicity", "jurisdiction"])
    rel = R.relations(sub)
    audit = disclosure.audit(sub, rel, hidden=old["suppressed"])
    assert (~audit["ok"]).sum() > 0
    protected, _ = disclosure.protect(sub, rel)
    assert disclosure.audit(sub, rel, hidden=protected["hidden"])["ok"].all()


def test_views_read_the_release_and_a_published_release_gives_the_same_numbers(sample_workbook, tmp_path):
    """Widgets, notebooks and batch kernels that open the published files show the same numbers."""
    sample_workbook.release().write(tmp_path)
    published = Workbook.from_release(tmp_path)
    assert published.data is None
    for place, first, last, basis in [("Statewide", 2020, 2025, "population"), ("Bluff", 2023, 2025, "decision"),
                                      ("Granite", 2022, 2022, "population")]:
        f = Filters(jurisdiction=place, first_year=first, last_year=last, basis=basis)
        a = decision_point_view(sample_workbook, stages=["entered_care", "reported"], filters=f)
        b = decision_point_view(published, stages=["entered_care", "reported"], filters=f)
        pd.testing.assert_frame_equal(a.table(), b.table())
        assert a.sentences == b.sentences
    f = Filters(jurisdiction="Granite", first_year=2020, last_year=2025)
    ta, tb = time_in_care_view(sample_workbook, filters=f), time_in_care_view(published, filters=f)
    pd.testing.assert_frame_equal(ta.curves, tb.curves, check_dtype=False)
    assert ta.sentences == tb.sentences


def test_small_places_say_something_over_the_pooled_window(sample_release):
    """A county's page is its pooled years; the state's pooled years hide less than its single years
    (issue 9, item 5)."""
    assert not sample_release.has("Bluff", 2025, 2025) and sample_release.has("Bluff", 2020, 2025)
    single = sample_release.hidden_share(jurisdiction="Statewide", periods=["FY2025"])
    pooled = sample_release.hidden_share(jurisdiction="Statewide", periods=["FY2020-FY2025"])
    assert pooled < single
    assert sample_release.hidden_share(jurisdiction="Bluff", periods=["FY2020-FY2025"]) < 1


def _hidden_names(sentence: str, verb: str) -> set[str]:
    """The groups a "too small to report" sentence names for one decision ("The number(s) of A and B who
    ...", or, for many groups, "... who ... is too small to report. The groups are A, B and C.")."""
    if "too small to report" not in sentence or f" who {verb} " not in sentence:
        return set()
    if "The groups are " in sentence:
        names = sentence.split("The groups are ", 1)[1].split(". ")[0]
    else:
        names = sentence.split(" of ", 1)[1].split(f" who {verb} ")[0]
    return {n.strip() for n in names.replace(" and ", ", ").split(", ")}


def test_sentences_never_call_a_shown_count_too_small(sample_workbook):
    from equity_helpers.pages.narrative import stage_verbs
    from equity_helpers.schema import group_children

    checked = 0
    for place in ["Statewide", "Bluff", "Granite", "Lakeshore"]:
        for first, last in [(2020, 2025), (2025, 2025), (2023, 2025)]:
            for basis in ("population", "decision"):
                v = decision_point_view(sample_workbook, stages=["entered_care", "first_placement_kin"],
                                        filters=Filters(jurisdiction=place, first_year=first, last_year=last,
                                                        basis=basis))
                for stage in v.current["stage"].unique():
                    rows = v.current[v.current["stage"] == stage]
                    named = set().union(*(_hidden_names(s, stage_verbs(stage)[0]) for s in v.sentences))
                    hidden = {group_children(g) for g in rows.loc[rows["count"].isna(), "race_ethnicity"]}
                    shown = {group_children(g) for g in rows.loc[rows["count"].notna(), "race_ethnicity"]}
                    assert not (named & shown), (place, first, last, basis, stage, named & shown)
                    assert named <= hidden
                    checked += len(named)
    assert checked > 0, "some hidden counts were described"


def test_time_in_care_points_are_published_only_with_their_counts(sample_release):
    cells = sample_release.cells
    shown = set(map(tuple, cells.loc[~cells["suppressed"], ["jurisdiction", "period", "race_ethnicity",
                                                            "stage"]].to_numpy()))
    pts = sample_release.stats[sample_release.stats["stat"] == "in_care"]
    assert len(pts) > 0
    for _, r in pts.iterrows():
        m = int(r["month"])
        for stage in ("cohort", f"left_by_{m:02d}m"):
            assert (r["jurisdiction"], r["period"], r["race_ethnicity"], stage) in shown
    med = sample_release.stats[sample_release.stats["stat"] == "median_days"]
    coh = cells[cells["stage"] == "cohort"].set_index(["jurisdiction", "period", "race_ethnicity"])["count"]
    assert (med.set_index(["jurisdiction", "period", "race_ethnicity"]).index.map(coh) >= 22).all()
    assert set(MONTHS) >= set(pts["month"].astype(int))


def test_a_first_build_says_what_it_is_doing_and_a_cached_one_says_nothing(tiny, tmp_path, monkeypatch, capsys):
    """The first open of a notebook waits for the release to be protected (issue 28): a bar names each step
    while it works; the same release read from the cache shows nothing, and a batch workbook never does."""
    monkeypatch.setenv("EQUITY_WORKBOOK_CACHE", str(tmp_path / "cache"))
    data = eh.validate(tiny, extract_date="2024-12-31")
    steps = []
    R.build_release(data, progress=lambda i, name: steps.append((i, name)))
    assert steps == list(enumerate(R.BUILD_STEPS))
    again = []
    R.build_release(data, progress=lambda i, name: again.append(name))
    assert again == [], "read from the cache: nothing to wait for"

    monkeypatch.setenv("EQUITY_WORKBOOK_CACHE", str(tmp_path / "fresh"))
    capsys.readouterr()
    Workbook(data, progress=True).release()
    err = capsys.readouterr().err
    assert "Protecting the numbers before they are shown" in err and R.BUILD_STEPS[3] in err
    Workbook(data).release()  # built before: read from the cache
    monkeypatch.setenv("EQUITY_WORKBOOK_CACHE", str(tmp_path / "batch"))
    Workbook(data).release()  # a batch workbook (no bar asked for)
    assert capsys.readouterr().err == ""
