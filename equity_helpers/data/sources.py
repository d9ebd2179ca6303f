"""Read an agency's files (CSV, Excel, Parquet) or database (SQLAlchemy) into canonical tables.

An agency describes its data once in a ``mapping.yml`` (see ``docs/input.md`` and
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

Without a mapping, :func:`read_sources` reads the folder's own ``mapping.yml`` when it has one (and says so),
else looks in the folder for ``children``, ``reports``, ``episodes``, ``population`` and ``counts`` files
already in canonical form (two files for one table are refused). Text files are read as UTF-8, else in the
declared or a detected encoding (:mod:`equity_helpers.data.encoding`); ``docs/input.md`` has every rule.

Every value is read as text, so codes such as ``"01"`` keep their leading zeros; types are
checked and converted by :mod:`equity_helpers.data.validate`. Each table gets a ``_row`` column holding
the 1-based record number in the source, so problems can be reported by row.
"""
from __future__ import annotations

import difflib
import gzip
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from equity_helpers.data.encoding import text_encoding
from equity_helpers.errors import DataValidationError, Problem

__all__ = ["Mapping", "load_mapping", "resolve_mapping", "read_file", "read_table", "read_sources", "SUFFIXES",
           "TABLE_NAMES", "parquet_parts", "sniff_separator", "SEPARATORS", "MAPPING_KEYS", "TABLE_KEYS", "MAPPING_FILES",
           "nearest", "mapping_key_problems", "mapped_columns_missing", "folder_mapping"]

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
    note: str | None = None
    """How the mapping was found, when the run should say so (a data folder's own ``mapping.yml``)."""

    @classmethod
    def default(cls, data_dir: str | Path) -> "Mapping":
        """Canonical files in ``data_dir`` (the first of ``SUFFIXES`` found for each table)."""
        d = Path(data_dir)
        tables: dict[str, dict[str, Any]] = {}
        for name in TABLE_NAMES:
            found = [f"{name}{suf}" for suf in SUFFIXES if (d / f"{name}{suf}").exists()]
            if len(found) > 1:
                raise DataValidationError([Problem(
                    "error", name, "two_files", 0, "",
                    f"{d} holds {len(found)} files for the {name} table ({', '.join(found)}); the workbook will "
                    f"not pick one. Move the others away, or name the one to read in mapping.yml.")])
            if found:
                tables[name] = {"path": found[0]}
            elif parquet_parts(d / name):  # a folder of Parquet part files (a partitioned export)
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
    if not isinstance(spec, dict):
        raise DataValidationError([Problem("error", "mapping", "unreadable_mapping", 0, "",
                                           f"The mapping file {p} does not hold settings (key: value lines).")])
    unknown = set(spec.get("tables", {})) - set(TABLE_NAMES)
    if unknown:
        raise DataValidationError([Problem(
            "error", "mapping", "unknown_table", 0, "",
            f"The mapping file names table(s) {sorted(unknown)} that the workbook does not know"
            f"{_nearest_of(sorted(unknown), TABLE_NAMES)}; known tables are {', '.join(TABLE_NAMES)}.")])
    problems = mapping_key_problems(spec)
    if problems:
        raise DataValidationError(problems)
    return Mapping(base_dir=p.parent, tables=spec.get("tables", {}), database=spec.get("database"),
                   extract_date=str(spec["extract_date"]) if spec.get("extract_date") else None,
                   survey=spec.get("survey") or {})


MAPPING_KEYS = ("extract_date", "database", "tables", "survey", "boundaries")
"""The settings a ``mapping.yml`` may hold at its top level."""
TABLE_KEYS = ("path", "query", "sheet", "columns", "codes", "encoding", "sep")
"""The settings each table of a ``mapping.yml`` may hold."""
MAPPING_FILES = ("mapping.yml", "mapping.yaml")
"""A data folder's own mapping, read with ``--data`` (:func:`resolve_mapping`)."""


def nearest(word: str, options) -> str | None:
    """The option closest to ``word`` (a typo's likely meaning: case-insensitive, difflib), or None."""
    opts = {str(o).casefold(): str(o) for o in options}
    hit = difflib.get_close_matches(str(word).casefold(), list(opts), n=1, cutoff=0.6)
    return opts[hit[0]] if hit else None


def _nearest_of(words, options) -> str:
    found = [f"{w!r} (did you mean {nearest(w, options)!r}?)" for w in words if nearest(w, options)]
    return f": {', '.join(found)}" if found else ""


def mapping_key_problems(spec: dict[str, Any]) -> list[Problem]:
    """Settings of a parsed ``mapping.yml`` the workbook does not know, each named with its nearest known
    setting (a typo would otherwise be ignored without a word); canonical column names too."""
    from equity_helpers.schema import TABLES  # the canonical tables' columns

    problems: list[Problem] = []

    def unknown(what: str, words, options) -> None:
        for w in words:
            near = nearest(w, options)
            hint = f" Did you mean {near!r}?" if near else f" Known: {', '.join(options)}."
            problems.append(Problem("error", "mapping", "unknown_setting", 0, "",
                                    f"mapping.yml has {what} {w!r}, which the workbook does not know.{hint}"))

    unknown("the setting", [k for k in spec if k not in MAPPING_KEYS], MAPPING_KEYS)
    for name, t in (spec.get("tables") or {}).items():
        if not isinstance(t, dict):
            problems.append(Problem("error", "mapping", "unknown_setting", 0, "",
                                    f"mapping.yml's table {name!r} needs settings such as path: or query:."))
            continue
        unknown(f"under {name} the setting", [k for k in t if k not in TABLE_KEYS], TABLE_KEYS)
        if name in TABLES:
            cols = (*TABLES[name].required, *TABLES[name].optional)
            unknown(f"under {name}: columns: the canonical column", [c for c in (t.get("columns") or {})
                                                                     if c not in cols], cols)
            unknown(f"under {name}: codes: the column", [c for c in (t.get("codes") or {}) if c not in cols], cols)
    return problems


def mapped_columns_missing(name: str, spec: dict[str, Any], columns) -> str | None:
    """The plain message when ``spec``'s ``columns:`` name source columns the file does not have (with the
    nearest column it has), else None."""
    have = [str(c).lstrip("\ufeff").strip() for c in columns]
    lines = []
    for canon, src in (spec.get("columns") or {}).items():
        if str(src) not in have:
            near = nearest(str(src), have)
            lines.append(f"{canon}: {src!r} is not a column of the file" + (f" (it has {near!r})" if near else ""))
    if not lines:
        return None
    return f"mapping.yml maps columns the {name} file does not have: " + "; ".join(lines) + "."


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
        # utf-8-sig reads plain UTF-8 and drops a byte-order mark (Excel writes one); else declared or detected
        encoding, enc_note = text_encoding(path, spec.get("encoding"))
        sep = spec.get("sep") or sniff_separator(path, encoding)
        df = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""], sep=sep, encoding=encoding)
        df.columns = [str(c).lstrip("\ufeff").strip() for c in df.columns]
        notes = [enc_note] if enc_note else []
        if "sep" not in spec and sep != ",":
            notes.append(f"{path.name} is separated by {SEPARATORS[sep]}, not commas; it was read "
                         f"that way (set sep in mapping.yml to say so explicitly).")
        if notes:
            df.attrs["read_note"] = " ".join(notes)
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
    missing = mapped_columns_missing(name, spec, df.columns)
    if missing:
        raise ValueError(missing)
    rename = {str(src): canon for canon, src in (spec.get("columns") or {}).items()}
    df = df.rename(columns=rename)
    for col, codes in (spec.get("codes") or {}).items():
        if col in df.columns:
            str_codes = {str(k): str(v) for k, v in codes.items()}
            df[col] = df[col].map(lambda v, c=str_codes: c.get(str(v), v) if v is not None and v == v else v)
    df.insert(0, "_row", range(1, len(df) + 1))
    return df


def folder_mapping(data_dir) -> Path | None:
    """The data folder's own ``mapping.yml`` (:data:`MAPPING_FILES`), if it has one."""
    for n in MAPPING_FILES:
        if (Path(data_dir) / n).is_file():
            return Path(data_dir) / n
    return None


def resolve_mapping(data_dir=None, mapping: str | Path | Mapping | None = None) -> Mapping:
    """The mapping to read: the one given (a file or a :class:`Mapping`), else the data folder's own
    ``mapping.yml`` (its ``note`` says so), else the canonical files of ``data_dir``. Raises a :class:`DataValidationError` when it names no table."""
    if isinstance(mapping, Mapping):
        m = mapping
    elif mapping is not None:
        m = load_mapping(mapping)
    elif data_dir is not None and folder_mapping(data_dir) is not None:
        m = load_mapping(folder_mapping(data_dir))
        m.note = (f"Read {folder_mapping(data_dir).name} from the data folder {data_dir} (give --mapping to "
                  "use another).")
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
