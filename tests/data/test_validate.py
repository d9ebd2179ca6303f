"""Every validation rule with bad input; all problems at once; nothing dropped silently."""
import pandas as pd
import pytest

import equity_helpers as eh
from equity_helpers.data.checks import MESSAGES


def _errors(raw):
    with pytest.raises(eh.DataValidationError) as exc:
        eh.validate(raw)
    return {p.check: p for p in exc.value.problems if p.severity == "error"}, exc.value


def _warnings(data):
    return {p.check: p for p in data.problems if p.severity == "warning"}


def test_clean_fixture_has_no_problems_and_accounts_for_every_row(tiny):
    data = eh.validate(tiny, extract_date="2024-02-01")
    assert data.problems == []
    s = data.accounting_summary().set_index("table")
    assert (s["read"] == s["used"] + s["excluded"]).all()
    assert s.loc["reports", "read"] == 8


@pytest.mark.parametrize("engine", ["pandas", "duckdb"])
def test_a_stray_episode_after_the_last_report_does_not_move_the_data_end(tiny, engine):
    # e5 enters on 2023-12-15, after the last report (2023-12-01): without an extract date it is left out
    data = eh.validate(tiny, engine=engine)
    assert data.data_end == pd.Timestamp("2023-12-01")
    w = _warnings(data)["after_data_end"]
    assert w.rows == 1 and w.examples == "5"
    assert w.message == MESSAGES["after_data_end"].format(n=1, column="entry_date", end="2023-12-01")
    acc = data.accounting
    assert int(acc[(acc.table == "episodes") & (acc.reason == "after_data_end")]["rows"].sum()) == 1


def test_missing_column_is_named(tiny):
    tiny["episodes"] = tiny["episodes"].drop(columns=["exit_reason"])
    errors, exc = _errors(tiny)
    assert errors["missing_column"].message == MESSAGES["missing_column"].format(table="episodes",
                                                                                  column="exit_reason")


def test_all_errors_reported_at_once(tiny):
    tiny["children"].loc[1, "child_id"] = "A"            # duplicate id
    tiny["children"].loc[2, "sex"] = "X"                 # unknown code
    tiny["reports"].loc[0, "screened_in"] = "maybe"      # unknown flag
    tiny["population"].loc[0, "population"] = "-5"       # negative population
    errors, exc = _errors(tiny)
    assert {"duplicate_id", "unknown_code", "negative_population"} <= set(errors)
    assert errors["duplicate_id"].rows == 2
    assert errors["duplicate_id"].examples == "1, 2"
    assert "'X'" in errors["unknown_code"].message or any("'X'" in p.message for p in exc.problems)
    text = str(exc)
    assert text.startswith("The data could not be used:") and "Traceback" not in text
    assert "<table>" in exc._repr_html_()


def test_exit_before_entry_is_excluded_with_reason(tiny):
    tiny["episodes"].loc[0, "exit_date"] = "2022-01-01"
    data = eh.validate(tiny, extract_date="2024-02-01")
    w = _warnings(data)["exit_before_entry"]
    assert w.rows == 1 and w.examples == "1"
    assert w.message == MESSAGES["exit_before_entry"].format(n=1)
    assert len(data.episodes) == 4
    acc = data.accounting
    assert int(acc[(acc.table == "episodes") & (acc.reason == "exit_before_entry")]["rows"].sum()) == 1


def test_reports_outside_period_excluded(tiny):
    raw = tiny
    data = eh.validate(raw, first_year=2023, last_year=2023)
    w = _warnings(data)["outside_period"]
    assert w.rows == 1 and "FY2023-FY2023" in w.message
    assert len(data.reports) == 7


def test_records_for_unknown_children_excluded(tiny):
    tiny["reports"].loc[2, "child_id"] = "ZZZ"
    tiny["episodes"].loc[1, "child_id"] = "ZZZ"
    data = eh.validate(tiny)
    probs = [p for p in data.problems if p.check == "unknown_child"]
    assert sorted(p.table for p in probs) == ["episodes", "reports"]


def test_unreadable_and_future_dates(tiny):
    tiny["reports"].loc[3, "report_date"] = "not a date"
    tiny["episodes"].loc[4, "exit_date"] = "2030-01-01"
    data = eh.validate(tiny, extract_date="2024-12-31")
    w = _warnings(data)
    assert w["unreadable_date"].rows == 1
    assert w["future_date"].table == "episodes"


def test_report_before_birth_and_finding_without_screen_in(tiny):
    tiny["reports"].loc[0, "report_date"] = "2014-01-01"
    tiny["reports"].loc[3, "disposition"] = "substantiated"  # r4 was screened out
    data = eh.validate(tiny, first_year=2014, last_year=2024)
    w = _warnings(data)
    assert w["before_birth"].rows == 1
    assert w["finding_without_screen_in"].rows == 1


def test_missing_population_cells_warn(tiny):
    pop = tiny["population"]
    tiny["population"] = pop[~((pop.jurisdiction == "South") & (pop.race_ethnicity == "nhpi"))]
    data = eh.validate(tiny)
    w = _warnings(data)["missing_population_cells"]
    assert w.rows == 16  # 2 years x 4 age groups x 2 sexes


def test_jurisdiction_without_population_warns(tiny):
    tiny["population"] = tiny["population"][tiny["population"].jurisdiction == "North"]
    data = eh.validate(tiny)
    assert any("jurisdiction 'South'" in p.message for p in data.problems)


def test_counts_larger_than_base_is_an_error():
    counts = pd.DataFrame({"jurisdiction": ["X", "X"], "period": ["2023", "2023"],
                           "race_ethnicity": ["black", "black"], "stage": ["arrest", "referral"],
                           "count": ["50", "60"], "base": ["population", "arrest"]})
    errors, _ = _errors({"counts": counts})
    assert "referral 60 > arrest 50" in errors["count_above_base"].message


def test_negative_count_and_non_numbers():
    counts = pd.DataFrame({"jurisdiction": ["X", "X"], "period": ["2023", "2023"],
                           "race_ethnicity": ["black", "white"], "stage": ["s", "s"], "count": ["-1", "ten"]})
    errors, _ = _errors({"counts": counts})
    assert {"negative_count", "bad_number"} <= set(errors)


def test_cli_bad_data_prints_problems_not_traceback(tmp_path, tiny, capsys):
    from equity_helpers.run.cli import main

    tiny["children"].loc[1, "child_id"] = "A"
    for name, df in tiny.items():
        df.to_csv(tmp_path / f"{name}.csv", index=False)
    assert main(["validate", "--data", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "could not be used" in err and "child_id" in err and "Traceback" not in err
