"""Wrong input never becomes wrong numbers (issue 30).

Broken variants of a small generated state, the kinds of exports agencies really send. Each is either refused
with a short plain message (exit code 2, no traceback) or gives exactly the clean state's counts. Most runs call
the command line's ``main`` in this process (fast); two run the installed command in a subprocess to prove that no
traceback reaches the user.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
import warnings
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

import equity_helpers as eh
from equity_helpers.data import sample
from equity_helpers.run.cli import main

TABLES = ("children", "reports", "episodes", "population")
KEYS = ["jurisdiction", "period", "race_ethnicity", "stage", "basis"]


@pytest.fixture(scope="module")
def clean(tmp_path_factory) -> Path:
    """A small state (2 counties, about 1,000 children): only the tables the measures read."""
    out = tmp_path_factory.mktemp("clean")
    counties = sample.counties_for(2)
    full = tmp_path_factory.mktemp("generated")
    sample.write_sample(full, scale=sample.scale_for_children(1000, counties), counties=2)
    for name in TABLES:
        shutil.copy(full / f"{name}.csv", out / f"{name}.csv")
    return out


def _read(folder: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(folder / f"{name}.csv", dtype=str, keep_default_na=False)


def _write(folder: Path, name: str, df: pd.DataFrame, **kw) -> None:
    df.to_csv(folder / f"{name}.csv", index=False, **kw)


def _measures(folder: Path, capsys) -> tuple[int, str, pd.DataFrame | None]:
    out = folder / "out" / "measures.csv"
    code = main(["measures", "--data", str(folder), "--out", str(out), "--quiet", "--no-suppression"])
    err = capsys.readouterr().err
    table = pd.read_csv(out).sort_values(KEYS).reset_index(drop=True) if code == 0 else None
    return code, err, table


@pytest.fixture(scope="module")
def clean_counts(clean, tmp_path_factory) -> pd.DataFrame:
    folder = tmp_path_factory.mktemp("clean-run")
    for name in TABLES:
        shutil.copy(clean / f"{name}.csv", folder)
    out = folder / "measures.csv"
    assert main(["measures", "--data", str(folder), "--out", str(out), "--quiet", "--no-suppression"]) == 0
    return pd.read_csv(out).sort_values(KEYS).reset_index(drop=True)


# --------------------------------------------------------------------------- variants
def _dates(table: str, col: str, fmt: Callable[[pd.Series], pd.Series]):
    def change(d: Path) -> None:
        df = _read(d, table)
        has = df[col] != ""
        df.loc[has, col] = fmt(pd.to_datetime(df.loc[has, col]))
        _write(d, table, df)
    return change


def _serial(s: pd.Series) -> pd.Series:
    return ((s - pd.Timestamp("1899-12-30")).dt.days).astype(str)


def _open_as(text: str):
    def change(d: Path) -> None:
        df = _read(d, "episodes")
        df.loc[df["exit_date"] == "", "exit_date"] = text
        _write(d, "episodes", df)
    return change


def _places(table: str, fn: Callable[[str], str]):
    def change(d: Path) -> None:
        df = _read(d, table)
        df["jurisdiction"] = df["jurisdiction"].map(fn)
        _write(d, table, df)
    return change


def _stray_episode(d: Path) -> None:
    df = _read(d, "episodes")
    last = pd.to_datetime(_read(d, "reports")["report_date"]).max()
    row = df.iloc[[0]].copy()
    row["episode_id"] = "STRAY1"
    row["entry_date"] = (last + pd.Timedelta(days=20)).strftime("%Y-%m-%d")
    row["exit_date"] = row["exit_reason"] = ""
    _write(d, "episodes", pd.concat([df, row]))


def _cp1252(d: Path) -> None:
    df = _read(d, "children")
    df["caseworker_office"] = "Doña Ana"
    _write(d, "children", df, encoding="cp1252")


def _folder_mapping(d: Path) -> None:
    df = _read(d, "reports").rename(columns={"report_date": "INTAKE_DT", "child_id": "CHILD_NO"})
    _write(d, "reports", df)
    (d / "mapping.yml").write_text("tables:\n  children: {path: children.csv}\n  reports:\n    path: reports.csv\n"
                                   "    columns: {report_date: INTAKE_DT, child_id: CHILD_NO}\n"
                                   "  episodes: {path: episodes.csv}\n  population: {path: population.csv}\n")


def _semicolons(d: Path) -> None:
    _write(d, "episodes", _read(d, "episodes"), sep=";")


def _bom_crlf(d: Path) -> None:
    _write(d, "children", _read(d, "children"), encoding="utf-8-sig", lineterminator="\r\n")


def _code_case(d: Path) -> None:
    kids = _read(d, "children")
    kids["sex"] = kids["sex"].str.upper()
    _write(d, "children", kids)
    reports = _read(d, "reports")
    reports["disposition"] = reports["disposition"].str.title() + " "
    _write(d, "reports", reports)


SAME = {
    "codes in other case with spaces": _code_case,
    "report dates mm/dd/yyyy": _dates("reports", "report_date", lambda s: s.dt.strftime("%m/%d/%Y")),
    "birth dates dd/mm/yyyy": _dates("children", "birth_date", lambda s: s.dt.strftime("%d/%m/%Y")),
    "report dates as Excel serial numbers": _dates("reports", "report_date", _serial),
    "entry dates as timestamps": _dates("episodes", "entry_date", lambda s: s.dt.strftime("%Y-%m-%dT00:00:00")),
    "exit dates dd.mm.yyyy": _dates("episodes", "exit_date", lambda s: s.dt.strftime("%d.%m.%Y")),
    "open episodes written NULL": _open_as("NULL"),
    "open episodes written N/A": _open_as("N/A"),
    "open episodes written 9999-12-31": _open_as("9999-12-31"),
    "place names upper case and padded in reports": _places("reports", lambda v: f" {v.upper()}  "),
    "place names lower case in episodes": _places("episodes", str.lower),
    "a stray episode after the last report": _stray_episode,
    "a Windows-1252 file": _cp1252,
    "mapping.yml in the data folder": _folder_mapping,
    "episodes separated by semicolons": _semicolons,
    "children with a byte-order mark and CRLF": _bom_crlf,
}


def _mixed_orders(d: Path) -> None:
    df = _read(d, "reports")
    s = pd.to_datetime(df["report_date"])
    half = df.index % 2 == 0
    df["report_date"] = s.dt.strftime("%m/%d/%Y").where(half, s.dt.strftime("%d/%m/%Y"))
    _write(d, "reports", df)


def _undecided_order(d: Path) -> None:
    df = _read(d, "children")
    s = pd.to_datetime(df["birth_date"])
    df["birth_date"] = s.dt.strftime("%d/%m/%Y").where(s.dt.day > 12, s.dt.strftime("%d/%m/%Y"))
    df = df[s.dt.day <= 12]
    _write(d, "children", df)


def _garbled_dates(d: Path) -> None:
    df = _read(d, "reports")
    df["report_date"] = "see notes"
    _write(d, "reports", df)


def _near_miss(d: Path) -> None:
    df = _read(d, "reports")
    first = df["jurisdiction"].iloc[0]
    df.loc[df["jurisdiction"] == first, "jurisdiction"] = f"{first} County"
    _write(d, "reports", df)


def _leading_zeros(d: Path) -> None:
    kids = _read(d, "children")
    kids["child_id"] = kids["child_id"].str.lstrip("C")
    _write(d, "children", kids)
    for name in ("reports", "episodes"):
        df = _read(d, name)
        df["child_id"] = df["child_id"].str.lstrip("C").str.lstrip("0")
        _write(d, name, df)


def _mapping_typo(d: Path) -> None:
    (d / "mapping.yml").write_text("extract_dat: 2025-09-30\ntables:\n  children: {path: children.csv}\n"
                                   "  reports: {path: reports.csv}\n  episodes: {path: episodes.csv}\n"
                                   "  population: {path: population.csv}\n")


def _mapped_column_typo(d: Path) -> None:
    _write(d, "reports", _read(d, "reports").rename(columns={"report_date": "INTAKE_DT"}))
    (d / "mapping.yml").write_text("tables:\n  children: {path: children.csv}\n  reports:\n    path: reports.csv\n"
                                   "    columns: {report_date: INTAKE_DATE}\n  episodes: {path: episodes.csv}\n"
                                   "  population: {path: population.csv}\n")


def _undecodable(d: Path) -> None:
    raw = (d / "episodes.csv").read_bytes()
    (d / "episodes.csv").write_bytes(raw[:200] + b"\x81\x8d\x8f\x90\x9d\xff\xfe\x00\x00\x81" + raw[200:])


def _two_files(d: Path) -> None:
    _read(d, "children").head(10).to_excel(d / "children.xlsx", index=False)


def _header_only(d: Path) -> None:
    _write(d, "episodes", _read(d, "episodes").head(0))


def _future(d: Path) -> None:
    _dates("reports", "report_date", lambda s: (s + pd.DateOffset(years=30)).dt.strftime("%Y-%m-%d"))(d)


def _population_text(d: Path) -> None:
    df = _read(d, "population")
    df.loc[3, "population"] = "1,234"
    _write(d, "population", df)


REFUSED = {
    "report dates mixing day-first and month-first": (_mixed_orders, "day-first and month-first"),
    "birth dates day-first with no day above 12": (_undecided_order, "will not guess"),
    "report dates that are not dates": (_garbled_dates, "not dates the workbook can read"),
    "a place spelled 'X County' in the reports": (_near_miss, "the population table does not have"),
    "ids with and without leading zeros": (_leading_zeros, "leading zeros"),
    "a typo in a mapping setting": (_mapping_typo, "Did you mean 'extract_date'?"),
    "a mapped column the file does not have": (_mapped_column_typo, "it has 'INTAKE_DT'"),
    "bytes that are no encoding": (_undecodable, "encoding"),
    "children.csv and children.xlsx": (_two_files, "will not pick one"),
    "episodes with only a header": (_header_only, "no rows"),
    "every report dated after today": (_future, "nothing is left to count"),
    "a population with a thousands separator": (_population_text, "not whole numbers"),
}


def _variant(clean: Path, tmp_path: Path, change) -> Path:
    d = tmp_path / "data"
    shutil.copytree(clean, d)
    change(d)
    return d


def _plain(code: int, err: str) -> None:
    assert code == 2, err
    assert "Traceback" not in err
    assert 0 < len(err.strip().splitlines()) <= 8, err


def _stage_counts(folder: Path) -> pd.DataFrame:
    counts = eh.stage_counts(eh.load(folder))
    return counts.sort_values(list(counts.columns.drop("count"))).reset_index(drop=True)


@pytest.fixture(scope="module")
def clean_stage_counts(clean) -> pd.DataFrame:
    return _stage_counts(clean)


@pytest.mark.parametrize("name", list(SAME))
def test_variant_gives_the_clean_counts(name, clean, clean_stage_counts, tmp_path):
    # the children counted at every decision point, place, year and group (what every number rests on)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        counts = _stage_counts(_variant(clean, tmp_path, SAME[name]))
    pd.testing.assert_frame_equal(counts, clean_stage_counts)


@pytest.mark.parametrize("name", ["place names upper case and padded in reports", "report dates mm/dd/yyyy"])
def test_variant_gives_the_clean_measures(name, clean, clean_counts, tmp_path, capsys):
    # end to end through the command: counts, populations and rates
    code, err, table = _measures(_variant(clean, tmp_path, SAME[name]), capsys)
    assert code == 0, err
    pd.testing.assert_frame_equal(table[KEYS + ["count", "base_count", "rate"]],
                                  clean_counts[KEYS + ["count", "base_count", "rate"]])


@pytest.mark.parametrize("name", list(REFUSED))
def test_variant_is_refused_in_plain_words(name, clean, tmp_path, capsys):
    change, words = REFUSED[name]
    d = _variant(clean, tmp_path, change)
    code, err, _ = _measures(d, capsys)
    _plain(code, err)
    assert words in err


def test_a_population_gap_blanks_the_totals_above_it(clean, clean_counts, tmp_path, capsys):
    d = tmp_path / "data"
    shutil.copytree(clean, d)
    pop = _read(d, "population")
    place, year = pop["jurisdiction"].iloc[0], pop["year"].max()
    _write(d, "population", pop[~((pop["jurisdiction"] == place) & (pop["year"] == year))])
    code, err, table = _measures(d, capsys)
    assert code == 0, err
    pd.testing.assert_series_equal(table["count"], clean_counts["count"])  # every child still counted
    per_pop = (table["basis"] == "population") & (table["period"] == int(year))
    gap = per_pop & table["jurisdiction"].isin([place, "Statewide"])
    assert table.loc[gap, "rate"].isna().all()
    others = per_pop & ~table["jurisdiction"].isin([place, "Statewide"])
    assert table.loc[others, "rate"].notna().any()
    pd.testing.assert_series_equal(table.loc[~gap, "rate"], clean_counts.loc[~gap, "rate"])


def _counts(tmp_path: Path, rows, pop) -> tuple[Path, Path]:
    c = pd.DataFrame(rows, columns=["jurisdiction", "period", "race_ethnicity", "stage", "count"])
    p = pd.DataFrame(pop, columns=["jurisdiction", "period", "race_ethnicity", "population"])
    c.to_csv(tmp_path / "counts.csv", index=False)
    p.to_csv(tmp_path / "pop.csv", index=False)
    return tmp_path / "counts.csv", tmp_path / "pop.csv"


POP = [("State", 2020, "white", 100000), ("State", 2020, "black", 22)]


@pytest.mark.parametrize("rows, words", [
    ([("State", 2020, "white", "reported", 500), ("State", 2020, "black", "reported", 999999)],
     "larger than the child"),
    ([("State", 2020, "white", "reported", 500), ("State", 2020, "white", "reported", 500)], "repeat the same cell"),
    ([("State", 2020, "white", "reported", 500), ("State", 2020, "Black", "reported", 5),
      ("State", 2020, "black", "reported", 7)], "differ only in upper/lower case"),
])
def test_counts_that_cannot_be_right_are_refused(rows, words, tmp_path, capsys):
    counts, pop = _counts(tmp_path, rows, POP)
    code = main(["measures", "--counts", str(counts), "--population", str(pop), "--out", str(tmp_path / "o.csv")])
    err = capsys.readouterr().err
    _plain(code, err)
    assert words in err


@pytest.mark.parametrize("name", ["ids with and without leading zeros", "bytes that are no encoding"])
def test_the_installed_command_shows_no_traceback(name, clean, tmp_path):
    d = _variant(clean, tmp_path, REFUSED[name][0])
    exe = Path(sys.executable).with_name("equity-workbook")
    done = subprocess.run([str(exe), "measures", "--data", str(d), "--out", str(tmp_path / "o.csv"), "--quiet"],
                          capture_output=True, text=True, timeout=120, check=False)
    _plain(done.returncode, done.stderr)


def test_an_unexpected_error_is_a_plain_message(monkeypatch, clean, tmp_path, capsys):
    from equity_helpers.run import cli

    def broken(*a, **k):
        raise KeyError("count")

    monkeypatch.setattr(cli, "load", broken)
    assert main(["validate", "--data", str(clean)]) == 2
    err = capsys.readouterr().err
    _plain(2, err)
    assert "EQUITY_WORKBOOK_DEBUG" in err
