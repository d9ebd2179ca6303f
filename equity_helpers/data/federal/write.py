"""Federal files in, a workbook data folder out: :func:`import_federal`.

The folder holds the canonical tables as Parquet (``children``, ``reports``, ``episodes``; every column as text,
read as any agency's files are), the population (``population.csv``, given or built from SEER), a
``mapping.yml`` naming them with the data's end (``extract_date``: the last day of the last year the files
cover), the code maps used (``federal_codes.yml``) and the accounting (``federal_accounting.csv``,
:mod:`~equity_helpers.data.federal.accounting`). ``equity-workbook validate``, ``measures``, ``batch`` and the
notebooks read it unchanged.
"""
from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import yaml

from equity_helpers import settings
from equity_helpers.data.federal.accounting import ACCOUNTING_FILE, MESSAGES, NOT_IN_FILES, Accounting
from equity_helpers.data.federal.afcars import prepare_afcars, rebuild_episodes
from equity_helpers.data.federal.codes import CODES_FILE
from equity_helpers.data.federal.files import account_records, install_macros, read_files
from equity_helpers.data.federal.linking import link_children
from equity_helpers.data.federal.ncands import prepare_ncands
from equity_helpers.data.federal.places import name_places, read_counties
from equity_helpers.data.federal.seer import is_seer, seer_population
from equity_helpers.errors import DataValidationError, Problem
from equity_helpers.safety import atomic_write_text, private_cache

__all__ = ["ImportResult", "import_federal", "OUTPUTS"]

OUTPUTS = ("children.parquet", "reports.parquet", "episodes.parquet", "population.csv", "mapping.yml",
           "federal_codes.yml", ACCOUNTING_FILE)
"""The files an import writes (an earlier import's are replaced; any other file of the folder is left alone)."""


@dataclass
class ImportResult:
    """What :func:`import_federal` wrote and found.

    Attributes
    ----------
    out : the data folder.
    accounting : every finding (columns of :data:`~equity_helpers.data.federal.accounting.COLUMNS`).
    summary : records read, used and left out per file kind.
    problems : the warnings (records left out, with example rows).
    spellings : each NCANDS file's layout (``"state submission"`` or ``"NDACAN"``).
    years : the fiscal years the files cover (first, last).
    seconds : how long the import took.
    """

    out: Path
    accounting: pd.DataFrame
    summary: pd.DataFrame
    problems: list[Problem] = field(default_factory=list)
    spellings: dict[str, str] = field(default_factory=dict)
    years: tuple[int | None, int | None] = (None, None)
    seconds: float = 0.0


def _connect(spill: Path):
    import duckdb  # the embedded engine the import streams through

    con = duckdb.connect(":memory:")
    if settings.MEMORY.get():
        con.execute(f"SET memory_limit = '{settings.MEMORY.get()}'")
    con.execute(f"SET temp_directory = '{str(settings.TEMP.get() or spill)}'")
    if settings.THREADS.get():
        con.execute(f"SET threads = {int(settings.THREADS.get())}")
    con.execute("SET preserve_insertion_order = true")
    return con


def _refuse_other_tables(out: Path) -> None:
    """An import writes Parquet tables; a folder already holding the same tables in another form is refused
    (two files for one table would be refused by every later run)."""
    clash = [p.name for p in out.glob("*") if p.name not in OUTPUTS
             and p.name.split(".")[0] in ("children", "reports", "episodes", "population")]
    if clash:
        raise DataValidationError([Problem("error", "import", "folder_not_empty", 0, "",
                                           f"The output folder {out} already holds {', '.join(sorted(clash))}; "
                                           "write the import to a new folder.")])


def _copy_population(path: Path, out: Path, places: pd.DataFrame, states: list[str], acc: Accounting,
                     problems: list[Problem]) -> None:
    if is_seer(path):
        pop, used, outside = seer_population(path, places=places, states=states, problems=problems)
        if pop is None:
            return
        acc.add("read", "population", "", used + outside)
        acc.note("excluded", "population", "population_outside", outside)
        acc.add("used", "population", "", used)
        pop.to_csv(out / "population.csv", index=False)
        return
    try:
        pop = pd.read_csv(path, dtype=str, keep_default_na=False)
    except Exception as exc:  # reported with the other problems
        problems.append(Problem("error", "population", "population_file", 0, "", MESSAGES["population_file"].format(
            file=path.name, problem=f"could not be read ({' '.join(str(exc).split())[:150]})")))
        return
    acc.add("read", "population", "", len(pop))
    acc.add("used", "population", "", len(pop))
    shutil.copyfile(path, out / "population.csv")


def import_federal(*, ncands, afcars, out, counties=None, population=None) -> ImportResult:
    """Import NCANDS Child Files and AFCARS Foster Care Files (CSV, SAS, SPSS or Stata; either spelling) into a
    workbook data folder.

    Parameters
    ----------
    ncands : NCANDS Child File paths (one per submission year, or several years in one).
    afcars : AFCARS Foster Care File paths (one per report period or year).
    out : the data folder to write.
    counties : a CSV ``fips,jurisdiction`` naming the 5-digit county codes (default: places named by code).
    population : the workbook's ``population.csv``, or a SEER county population file by single year of age
        (fixed width; :mod:`~equity_helpers.data.federal.seer`). Default: none (decision-based rates only).

    Returns
    -------
    ImportResult

    Raises
    ------
    DataValidationError
        With every problem of every file (files that cannot be read, of the wrong kind, lacking fields; a bad
        counties or population file; no usable record).
    """
    t0 = time.perf_counter()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    _refuse_other_tables(out)
    problems: list[Problem] = []
    acc = Accounting()
    with private_cache() as spill:
        con = _connect(spill)
        install_macros(con)
        nc = read_files(con, "ncands", list(ncands), problems)
        af = read_files(con, "afcars", list(afcars), problems)
        county_names = read_counties(counties, problems)
        if [p for p in problems if p.severity == "error"]:
            raise DataValidationError(problems)
        first_year = prepare_ncands(con)
        states = [r[0] for r in con.execute("SELECT DISTINCT st FROM ncands_rec WHERE _why IS NULL ORDER BY 1"
                                            ).fetchall()]
        prepare_afcars(con, default_state=states[0] if len(states) == 1 else None)
        rec = con.execute("SELECT * FROM afcars_rec WHERE _why IS NULL").df()
        link_children(con, rec, acc)
        account_records(con, "ncands_rec", "ncands", "NCANDS", nc.files, acc, problems,
                        fields={"year": first_year})
        account_records(con, "afcars_rec", "afcars", "AFCARS", af.files, acc, problems)
        used = acc.summary().set_index("table")["used"]
        for kind, what in (("ncands", "NCANDS Child File"), ("afcars", "AFCARS Foster Care File")):
            if not used.get(kind, 0):
                problems.append(Problem("error", kind, "no_records", 0, "", MESSAGES["no_records"].format(what=what)))
        if [p for p in problems if p.severity == "error"]:
            raise DataValidationError(problems)

        coverage = pd.Timestamp(int(rec["fy"].min()) - 1, 10, 1) if len(rec) else None
        episodes, counts = rebuild_episodes(rec, coverage_start=coverage)
        for reason in ("episodes", "recovered", "closed_by_later", "exit_bounded", "not_recovered", "reopened"):
            acc.note("episodes", "episodes", reason, counts[reason])
        con.register("episodes_frame", episodes)
        codes_used = [r[0] for r in con.execute(
            "SELECT DISTINCT county FROM ncands_rec WHERE _why IS NULL UNION SELECT DISTINCT county FROM episodes_frame"
        ).fetchall()]
        places, unnamed = name_places(con, county_names, codes_used)
        if unnamed:
            acc.add("linking", "places", "unnamed_county", unnamed,
                    f"{unnamed:,} county codes of the files are not in the counties file; they are named by code.")

        # years the files cover, and the data's end
        ends = con.execute("""SELECT max(coalesce(subyr, fed_fy(disdt), fed_fy(rptdt))) FROM ncands_rec
                              WHERE _why IS NULL""").fetchone()[0]
        last_af = rec["period_end"].max() if len(rec) else None
        last_fy = max(int(ends), int(rec["fy"].max())) if len(rec) else int(ends)
        extract = max(pd.Timestamp(int(ends), 9, 30), pd.Timestamp(last_af) if last_af is not None else pd.Timestamp.min)
        if first_year is None:
            first_year = con.execute("SELECT min(fed_fy(rptdt)) FROM ncands_rec WHERE _why IS NULL").fetchone()[0]

        tmp = out / ".import-tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        try:
            _write_tables(con, tmp, dv="FCVIOL" in nc.fields)
            con.unregister("episodes_frame")
            if population is not None:
                named = pd.concat([county_names, places]).drop_duplicates("code")
                _copy_population(Path(population), tmp, named, states, acc, problems)
                if [p for p in problems if p.severity == "error"]:
                    raise DataValidationError(problems)
            recovered_exits = counts["recovered"] + counts["closed_by_later"] + counts["exit_bounded"]
            for key, (stages, text) in NOT_IN_FILES.items():
                n = recovered_exits if key == "hidden_exits" else 0
                acc.add("not_in_files", "federal files", key, n, text.format(n=n), stages)
            tables = {"children": {"path": "children.parquet"}, "reports": {"path": "reports.parquet"},
                      "episodes": {"path": "episodes.parquet"}}
            if (tmp / "population.csv").exists():
                tables["population"] = {"path": "population.csv"}
            atomic_write_text(tmp / "mapping.yml", "# Written by equity-workbook import from NCANDS and AFCARS files.\n"
                              + yaml.safe_dump({"extract_date": str(extract.date()), "tables": tables}, sort_keys=False))
            atomic_write_text(tmp / "federal_codes.yml", "# The code maps this import used (equity_helpers/data/"
                              "federal/codes.yml).\n" + CODES_FILE.read_text())
            frame = acc.frame()
            frame.to_csv(tmp / ACCOUNTING_FILE, index=False)
            for name in OUTPUTS:
                (out / name).unlink(missing_ok=True)
            for p in tmp.iterdir():
                os.replace(p, out / p.name)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        con.close()
    spellings = {str(f): s for f, s in zip(nc.files, nc.spellings)}
    return ImportResult(out=out, accounting=frame, summary=acc.summary(), problems=problems, spellings=spellings,
                        years=(first_year, last_fy), seconds=time.perf_counter() - t0)


def _write_tables(con, out: Path, *, dv: bool) -> None:
    """``children``, ``reports`` and ``episodes`` as Parquet, every column as text."""
    def copy(sql: str, name: str) -> None:
        path = str(out / f"{name}.parquet").replace("'", "''")
        con.execute(f"COPY ({sql}) TO '{path}' (FORMAT parquet, COMPRESSION zstd)")

    copy("""SELECT child_id, strftime(birth_date, '%Y-%m-%d') AS birth_date, sex,
                   CAST(race_aian AS VARCHAR) AS race_aian, CAST(race_asian AS VARCHAR) AS race_asian,
                   CAST(race_black AS VARCHAR) AS race_black, CAST(race_nhpi AS VARCHAR) AS race_nhpi,
                   CAST(race_white AS VARCHAR) AS race_white, CAST(race_unknown AS VARCHAR) AS race_unknown, hispanic
            FROM children ORDER BY child_id""", "children")
    dv_col = ", r.dv_involved" if dv else ""
    copy(f"""SELECT r.st || '-' || r.rptid || '-' || r.chid AS report_id, m.child_id, p.jurisdiction,
                    strftime(r.rptdt, '%Y-%m-%d') AS report_date, '1' AS screened_in, r.disposition{dv_col}
             FROM ncands_rec r JOIN child_map m ON r.st = m.st AND r.chid = m.chid
             JOIN places p ON p.code = r.county
             WHERE r._why IS NULL ORDER BY r.rptdt, report_id""", "reports")
    copy("""SELECT e.st || '-A-' || e.recnumbr_code || '-' || strftime(e.entry_date, '%Y%m%d') AS episode_id,
                   e.st || '-A-' || e.recnumbr_code AS child_id, p.jurisdiction,
                   strftime(e.entry_date, '%Y-%m-%d') AS entry_date, strftime(e.exit_date, '%Y-%m-%d') AS exit_date,
                   e.exit_reason, CAST(NULL AS VARCHAR) AS first_placement,
                   CAST(e.placement_count AS VARCHAR) AS placement_count,
                   CAST(e.prior_episodes AS VARCHAR) AS prior_episodes
            FROM episodes_frame e JOIN places p ON p.code = e.county ORDER BY e.entry_date, episode_id""", "episodes")
