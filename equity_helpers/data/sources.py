"""Read an agency's files (CSV, Excel, Parquet) or database (SQLAlchemy) into canonical tables.

An agency describes its data once in a ``mapping.yml`` (see ``docs/mapping.md`` and
``data/sample/mapping.example.yml``)::

    extract_date: 2025-09-30          # optional: the day the data were pulled (censor date)
    database: sqlite:///cw.db         # optional: SQLAlchemy URL for tables given as `query`
    tables:
      children:
        path: CHILD_FILE.xlsx         # relative to the mapping file; .csv, .csv.gz, .xlsx, .parquet, or a
                                      # folder of .parquet part files (read in name order)
        sheet: Children               # Excel only
        columns:                      # canonical name: the agency's column name
          child_id: CHILD_ID
          birth_date: DOB
        codes:                        # canonical column: {agency code: canonical code}
          sex: {M: male, F: female, U: unknown}
          hispanic: {Y: "yes", N: "no", D: unknown}
      reports:
        query: SELECT * FROM intake   # read through `database`
      episodes:
        path: afcars_episodes.csv
      population:
        path: census_children.csv
    survey:                           # optional: the collaboration survey (equity_helpers.survey)
      responses: survey_responses.csv # tidy answers: wave, respondent_id, organisation, sector, role, item, response
      instrument: survey_instrument.yml

Without a mapping, :func:`read_sources` looks in the folder for ``children``, ``reports``,
``episodes``, ``population`` and ``counts`` files already in canonical form.

Every value is read as text, so codes such as ``"01"`` keep their leading zeros; types are
checked and converted by :mod:`equity_helpers.data.validate`. Each table gets a ``_row`` column holding
the 1-based record number in the source, so problems can be reported by row.
"""
from __future__ import annotations

import gzip
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from equity_helpers.errors import DataValidationError, Problem

__all__ = ["Mapping", "load_mapping", "resolve_mapping", "read_file", "read_table", "read_sources", "SUFFIXES",
           "TABLE_NAMES", "parquet_parts", "sniff_separator", "SEPARATORS"]

TABLE_NAMES = ("children", "reports", "episodes", "population", "counts", "dv_services", "meetings")
"""Tables a folder or mapping can hold (``dv_services``: a domestic violence partner's services,
:mod:`equity_helpers.data.linkage`; ``meetings``: family team meetings, :mod:`equity_helpers.data.engagement`)."""
SUFFIXES = (".csv", ".csv.gz", ".parquet", ".xlsx", ".xls")


@dataclass
class Mapping:
    """A parsed ``mapping.yml``: where each table is and how to rename its columns and codes."""

    base_dir: Path
    tables: dict[str, dict[str, Any]] = field(default_factory=dict)
    database: str | None = None
    extract_date: str | None = None
    survey: dict[str, Any] = field(default_factory=dict)
    """The collaboration survey's files (``responses``, ``instrument``), relative to the mapping."""

    @classmethod
    def default(cls, data_dir: str | Path) -> "Mapping":
        """Canonical files in ``data_dir`` (the first of ``SUFFIXES`` found for each table)."""
        d = Path(data_dir)
        tables: dict[str, dict[str, Any]] = {}
        for name in TABLE_NAMES:
            for suf in SUFFIXES:
                if (d / f"{name}{suf}").exists():
                    tables[name] = {"path": f"{name}{suf}"}
                    break
            else:
                if parquet_parts(d / name):  # a folder of Parquet part files (a partitioned export)
                    tables[name] = {"path": name}
        return cls(base_dir=d, tables=tables)


def load_mapping(path: str | Path) -> Mapping:
    """Parse a ``mapping.yml``; paths inside it are relative to the file's folder."""
    p = Path(path)
    try:
        spec = yaml.safe_load(p.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise DataValidationError([Problem("error", "mapping", "unreadable_mapping", 0, "",
                                           f"The mapping file {p} could not be read: {exc}")]) from None
    unknown = set(spec.get("tables", {})) - set(TABLE_NAMES)
    if unknown:
        raise DataValidationError([Problem(
            "error", "mapping", "unknown_table", 0, "",
            f"The mapping file names table(s) {sorted(unknown)} that the workbook does not know; "
            f"known tables are {', '.join(TABLE_NAMES)}.")])
    return Mapping(base_dir=p.parent, tables=spec.get("tables", {}), database=spec.get("database"),
                   extract_date=str(spec["extract_date"]) if spec.get("extract_date") else None,
                   survey=spec.get("survey") or {})


SEPARATORS = {",": "commas", ";": "semicolons", "\t": "tabs", "|": "vertical bars"}


def sniff_separator(path: Path, encoding: str) -> str:
    """The separator a delimited file's header line uses most (commas when it has none)."""

    opener = gzip.open if path.name.lower().endswith(".gz") else open
    with opener(path, "rt", encoding=encoding, errors="replace") as fh:
        head = fh.readline()
    counts = {c: head.count(c) for c in SEPARATORS}
    best = max(counts, key=counts.get)
    return best if counts[best] > 0 else ","


def parquet_parts(path: Path) -> list[Path]:
    """The Parquet part files of a partitioned table: ``path`` a folder of ``*.parquet`` files (read in
    name order, so ``part-0001`` before ``part-0002``), else none."""
    return sorted(path.glob("*.parquet")) if path.is_dir() else []


def read_file(path: Path, spec: dict[str, Any]) -> pd.DataFrame:
    """One file (CSV with any common separator, Parquet or Excel) as text columns, as read for every table;
    a folder of Parquet part files is read as one table, the parts in name order."""
    parts = parquet_parts(path)
    if parts:
        return pd.concat([pd.read_parquet(p) for p in parts], ignore_index=True).astype("string").astype(object)
    name = path.name.lower()
    if name.endswith((".csv", ".csv.gz", ".txt")):
        # utf-8-sig reads plain UTF-8 and drops a byte-order mark (Excel writes one)
        encoding = spec.get("encoding", "utf-8-sig")
        sep = spec.get("sep") or sniff_separator(path, encoding)
        df = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""], sep=sep, encoding=encoding)
        df.columns = [str(c).lstrip("\ufeff").strip() for c in df.columns]
        if "sep" not in spec and sep != ",":
            df.attrs["read_note"] = (f"{path.name} is separated by {SEPARATORS[sep]}, not commas; it was read "
                                     f"that way (set sep in mapping.yml to say so explicitly).")
        return df
    if name.endswith(".parquet"):
        return pd.read_parquet(path).astype("string").astype(object)
    if name.endswith((".xlsx", ".xls")):
        return pd.read_excel(path, sheet_name=spec.get("sheet", 0), dtype=str)
    raise ValueError(f"unsupported file type {path.suffix!r} (use .csv, .csv.gz, .parquet or .xlsx)")


def read_table(name: str, mapping: Mapping) -> pd.DataFrame:
    """Read one table as described by ``mapping`` and return it with canonical column names.

    Columns the mapping does not mention keep their names; mapped codes are replaced, other
    codes are left as they are (validation reports them). A ``_row`` column holds the record number.
    """
    spec = mapping.tables[name]
    if "query" in spec:
        if not mapping.database:
            raise ValueError("a table is given as a SQL query but the mapping has no `database` URL")
        import sqlalchemy  # SQLAlchemy: only a mapping that names a database pays for it

        engine = sqlalchemy.create_engine(mapping.database)
        with engine.connect() as conn:
            df = pd.read_sql_query(sqlalchemy.text(spec["query"]), conn)
        df = df.astype(object).where(df.notna(), None)
        df = df.map(lambda v: None if v is None else str(v))
    else:
        path = mapping.base_dir / spec["path"]
        df = read_file(path, spec)
    rename = {src: canon for canon, src in (spec.get("columns") or {}).items()}
    df = df.rename(columns=rename)
    for col, codes in (spec.get("codes") or {}).items():
        if col in df.columns:
            str_codes = {str(k): str(v) for k, v in codes.items()}
            df[col] = df[col].map(lambda v, c=str_codes: c.get(str(v), v) if v is not None and v == v else v)
    df.insert(0, "_row", range(1, len(df) + 1))
    return df


def resolve_mapping(data_dir=None, mapping: str | Path | Mapping | None = None) -> Mapping:
    """The mapping to read: the one given (a file or a :class:`Mapping`), else the canonical files of
    ``data_dir``. Raises a :class:`DataValidationError` when it names no table."""
    if isinstance(mapping, Mapping):
        m = mapping
    elif mapping is not None:
        m = load_mapping(mapping)
    elif data_dir is not None:
        m = Mapping.default(data_dir)
    else:
        raise ValueError("give a data folder or a mapping file")
    if not m.tables:
        where = data_dir if data_dir is not None else mapping
        raise DataValidationError([Problem(
            "error", "sources", "no_tables", 0, "",
            f"No data tables were found in {where}. Expected files named "
            f"{', '.join(TABLE_NAMES)} ({', '.join(SUFFIXES)}) or a mapping.yml.")])
    return m


def read_sources(data_dir: str | Path | None = None, *, mapping: str | Path | Mapping | None = None
                 ) -> tuple[dict[str, pd.DataFrame], Mapping]:
    """Read every table the folder or mapping provides.

    Returns the raw canonical-named tables and the mapping used. A file that cannot be read is
    reported with every other unreadable file in one :class:`DataValidationError`.
    """
    m = resolve_mapping(data_dir, mapping)
    raw: dict[str, pd.DataFrame] = {}
    problems: list[Problem] = []
    for name in m.tables:
        try:
            raw[name] = read_table(name, m)
        except Exception as exc:  # every unreadable source is reported together
            problems.append(Problem("error", name, "unreadable_source", 0, "",
                                    f"The {name} table could not be read: {exc}"))
    if problems:
        raise DataValidationError(problems)
    return raw, m
