"""Federal files into DuckDB: CSV read by DuckDB itself, SAS, SPSS and Stata files in chunks (pyreadstat), every
field as text under its canonical name, with the file's number and each record's number (``_file``, ``_row``).

A file of the other kind (an AFCARS file given as NCANDS), a file without the fields the import needs and a
file that cannot be read at all are errors, collected with every other file's before anything is refused.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from equity_helpers.data.federal.accounting import MESSAGES
from equity_helpers.data.federal.codes import AFCARS_FIELDS, AFCARS_REQUIRED, NCANDS_FIELDS, NCANDS_REQUIRED
from equity_helpers.data.sources import nearest
from equity_helpers.errors import Problem

__all__ = ["FORMATS", "FileSet", "account_records", "case_sql", "install_macros", "read_files", "spelling"]

FORMATS = {".csv": "CSV", ".txt": "CSV", ".csv.gz": "CSV", ".sas7bdat": "SAS", ".xpt": "SAS transport",
           ".sav": "SPSS", ".zsav": "SPSS", ".por": "SPSS portable", ".dta": "Stata"}
"""File name endings the import reads, and what they are."""
CHUNK = 200_000
"""Records read at a time from a SAS, SPSS or Stata file."""

_KINDS = {"ncands": (NCANDS_FIELDS, NCANDS_REQUIRED, "an NCANDS Child File"),
          "afcars": (AFCARS_FIELDS, AFCARS_REQUIRED, "an AFCARS Foster Care File")}
_MARKS = {"ncands": ("CHID", "RPTID"), "afcars": ("RECNUMBR", "LATREMDT")}


@dataclass
class FileSet:
    """Files of one kind read into one DuckDB table.

    Attributes
    ----------
    table : the DuckDB view of every file's records (canonical upper-case fields, ``_file``, ``_row``).
    files : the files, in ``_file`` order.
    spellings : each file's layout (``"state submission"`` or ``"NDACAN"``; AFCARS: ``"AFCARS"``).
    rows : records read from each file.
    fields : the canonical fields at least one file has.
    """

    table: str
    files: list[Path] = field(default_factory=list)
    spellings: list[str] = field(default_factory=list)
    rows: list[int] = field(default_factory=list)
    fields: set[str] = field(default_factory=set)


def _suffix(path: Path) -> str:
    name = path.name.lower()
    return ".csv.gz" if name.endswith(".csv.gz") else path.suffix.lower()


def _text(frame: pd.DataFrame) -> pd.DataFrame:
    """A chunk of a SAS, SPSS or Stata file as text: whole numbers without ``.0``, dates as ``YYYY-MM-DD``,
    missing values as None."""
    out = {}
    for c in frame.columns:
        s = frame[c]
        if pd.api.types.is_datetime64_any_dtype(s):
            t = s.dt.strftime("%Y-%m-%d")
        elif pd.api.types.is_numeric_dtype(s):
            v = s.to_numpy(dtype=float, na_value=np.nan)
            whole = np.isfinite(v) & (np.floor(v) == v)
            t = pd.Series(np.where(whole, np.char.mod("%d", np.where(whole, v, 0).astype(np.int64)),
                                   v.astype(str)), index=s.index)
            t = t.where(np.isfinite(v), None)
        else:
            t = s.map(lambda x: x.decode("latin-1") if isinstance(x, bytes) else
                      (x.strftime("%Y-%m-%d") if hasattr(x, "strftime") else x))
            t = t.where(t.notna(), None).map(lambda x: None if x is None or str(x).strip() == "" else str(x).strip())
        out[str(c)] = t.astype(object)
    return pd.DataFrame(out)


def _chunks(path: Path):
    """A SAS, SPSS or Stata file's records, in chunks of :data:`CHUNK` (as text). pyreadstat reads them all and
    applies their date formats (SAS dates are days since 1960, stored as plain numbers)."""
    import pyreadstat  # statistical packages' files: only an import of such files needs it

    read = {".sas7bdat": pyreadstat.read_sas7bdat, ".xpt": pyreadstat.read_xport, ".dta": pyreadstat.read_dta,
            ".sav": pyreadstat.read_sav, ".zsav": pyreadstat.read_sav, ".por": pyreadstat.read_por}[_suffix(path)]
    for chunk, _ in pyreadstat.read_file_in_chunks(read, str(path), chunksize=CHUNK, dates_as_pandas_datetime=True):
        yield _text(chunk)


def spelling(columns) -> str:
    """The NCANDS layout a file's columns are written in: NDACAN's (``RptFIPS``, 5-digit counties, mixed
    case) or the state submission's (``RPTCNTY``, 3-digit counties)."""
    up = {str(c).strip().upper() for c in columns}
    return "NDACAN" if "RPTFIPS" in up else "state submission"


def _select(columns, fields: dict[str, tuple[str, ...]]) -> tuple[list[str], set[str]]:
    """``SELECT`` items naming each canonical field (NULL when the file lacks it) and the fields found."""
    by_upper = {str(c).strip().lstrip("\ufeff").upper(): str(c) for c in columns}
    items, found = [], set()
    for canon, names in fields.items():
        src = next((by_upper[n] for n in names if n in by_upper), None)
        if src is None:
            items.append(f"CAST(NULL AS VARCHAR) AS {canon}")
        else:
            found.add(canon)
            quoted = src.replace('"', '""')
            items.append(f"NULLIF(TRIM(CAST(\"{quoted}\" AS VARCHAR)), '') AS {canon}")
    return items, found


def _header_problems(kind: str, path: Path, columns, found: set[str], problems: list[Problem]) -> bool:
    """Errors when a file is of the other kind or lacks fields the import needs; returns whether it is usable."""
    _, required, what = _KINDS[kind]
    other = "afcars" if kind == "ncands" else "ncands"
    up = {str(c).strip().upper() for c in columns}
    if not any(m in up for m in _MARKS[kind]) and all(m in up for m in _MARKS[other]):
        problems.append(Problem("error", kind, "wrong_kind", 0, "", MESSAGES["wrong_kind"].format(
            file=path.name, what=what, other=_KINDS[other][2], option=f"--{other}")))
        return False
    missing = [f for f in required if f not in found]
    if kind == "ncands" and not ({"RPTCNTY", "RPTFIPS"} & found):
        missing.append("RPTCNTY (or RptFIPS)")
    if missing:
        hints = []
        for f in missing:
            near = nearest(f.split(" ")[0], sorted(up))
            hints.append(f"{f} (the file has {near!r}?)" if near else f)
        problems.append(Problem("error", kind, "missing_field", 0, "", MESSAGES["missing_field"].format(
            file=path.name, what=what, fields=", ".join(hints))))
        return False
    return True


def read_files(con, kind: str, paths, problems: list[Problem]) -> FileSet:
    """Read ``paths`` (NCANDS or AFCARS, ``kind``) into DuckDB, one table per file, and name them together as
    the view ``<kind>_raw``: every canonical field as text (``NULL`` when blank or missing from the file),
    ``_file`` (0-based) and ``_row`` (1-based record number in its file). Unreadable files, files of the other
    kind and missing fields are added to ``problems`` (errors). The view costs nothing until it is read once,
    by :func:`~equity_helpers.data.federal.ncands.prepare_ncands` or
    :func:`~equity_helpers.data.federal.afcars.prepare_afcars`."""
    fields = _KINDS[kind][0]
    out = FileSet(table=f"{kind}_raw")
    parts = []
    for i, path in enumerate(Path(p) for p in paths):
        out.files.append(path)
        out.spellings.append("")
        out.rows.append(0)
        suf = _suffix(path)
        if not path.exists():
            problems.append(Problem("error", kind, "no_file", 0, "", MESSAGES["no_file"].format(file=path)))
            continue
        if suf not in FORMATS:
            problems.append(Problem("error", kind, "unknown_format", 0, "", MESSAGES["unknown_format"].format(
                file=path.name, formats=", ".join(FORMATS))))
            continue
        table = f"_{kind}_file{i}"
        try:
            if FORMATS[suf] == "CSV":
                lit = str(path).replace("'", "''")
                con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT * FROM read_csv('{lit}', "
                            "all_varchar = true, header = true)")
                columns = [r[0] for r in con.execute(f"DESCRIBE {table}").fetchall()]
                row = "rowid + 1"
            else:
                start = 1
                columns = None
                for chunk in _chunks(path):
                    chunk.insert(0, "_row__", np.arange(start, start + len(chunk), dtype=np.int64))
                    start += len(chunk)
                    con.register("_chunk", chunk)
                    text = ", ".join('CAST("{0}" AS VARCHAR) AS "{0}"'.format(str(c).replace('"', '""'))
                                     for c in chunk.columns[1:])
                    if columns is None:
                        columns = list(chunk.columns[1:])
                        con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT _row__, {text} FROM _chunk")
                    else:
                        con.execute(f"INSERT INTO {table} SELECT _row__, {text} FROM _chunk")
                    con.unregister("_chunk")
                columns = columns or []
                row = "_row__"
        except Exception as exc:  # every unreadable file is reported with the others
            problems.append(Problem("error", kind, "unreadable_file", 0, "", MESSAGES["unreadable_file"].format(
                file=path.name, what=_KINDS[kind][2], error=" ".join(str(exc).split())[:200])))
            continue
        items, found = _select(columns, fields)
        if not _header_problems(kind, path, columns, found, problems):
            continue
        parts.append(f"SELECT {i} AS _file, {row} AS _row, {', '.join(items)} FROM {table}")
        out.fields |= found
        out.spellings[-1] = spelling(columns) if kind == "ncands" else "AFCARS"
        out.rows[-1] = con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    if not parts:
        cols = ", ".join(f"CAST(NULL AS VARCHAR) AS {f}" for f in fields)
        parts.append(f"SELECT CAST(NULL AS INTEGER) AS _file, CAST(NULL AS BIGINT) AS _row, {cols} LIMIT 0")
    con.execute(f"CREATE OR REPLACE TEMP VIEW {out.table} AS " + " UNION ALL ".join(parts))
    return out


def install_macros(con) -> None:
    """The SQL the federal readers share: ``fed_date(v)`` (ISO, mm/dd/yyyy or mmddyyyy text as a DATE; NULL
    when blank or unreadable), ``fed_blank(v)`` (blank, or a date of zeros or nines: no date), ``fed_code(v)``
    (a code as a whole number without leading zeros, ``''`` when blank, else the text upper-cased) and
    ``fed_fy(d)`` (the federal fiscal year of a date)."""
    con.execute(r"""CREATE OR REPLACE MACRO fed_blank(v) AS
        v IS NULL OR regexp_full_match(v, '[0/\-]+|99/?99/?9999|9999-?99-?99')""")
    con.execute(r"""CREATE OR REPLACE MACRO fed_date(v) AS CASE
        WHEN v IS NULL THEN NULL
        WHEN substr(v, 5, 1) = '-' THEN TRY_CAST(CASE WHEN length(v) <= 10 THEN v
                                                      ELSE split_part(split_part(v, ' ', 1), 'T', 1) END AS DATE)
        WHEN contains(v, '/') THEN CAST(try_strptime(split_part(v, ' ', 1), '%m/%d/%Y') AS DATE)
        WHEN regexp_full_match(v, '[0-9]{8}') THEN CAST(try_strptime(v, '%m%d%Y') AS DATE)
        END""")
    con.execute(r"""CREATE OR REPLACE MACRO fed_code(v) AS CASE
        WHEN v IS NULL THEN ''
        WHEN regexp_full_match(v, '[0-9]+') THEN coalesce(CAST(TRY_CAST(v AS HUGEINT) AS VARCHAR), v)
        WHEN regexp_full_match(v, '[0-9]+\.0*') THEN coalesce(CAST(TRY_CAST(split_part(v, '.', 1) AS HUGEINT) AS VARCHAR), v)
        ELSE upper(v) END""")
    con.execute("CREATE OR REPLACE MACRO fed_q(v) AS '''' || v || ''''")
    con.execute("CREATE OR REPLACE MACRO fed_fy(d) AS year(d) + CASE WHEN month(d) >= 10 THEN 1 ELSE 0 END")


def case_sql(expr: str, mapping: dict, *, quote: bool = True) -> str:
    """A SQL ``CASE`` reading ``expr`` (a :func:`fed_code` text) through ``mapping``; NULL for a code it lacks."""
    def lit(v):
        return "'" + str(v).replace("'", "''") + "'" if quote else str(v)

    whens = " ".join(f"WHEN '{k}' THEN {lit(v)}" for k, v in mapping.items())
    return f"(CASE {expr} {whens} END)"


def account_records(con, table: str, name: str, what: str, files: list[Path], acc, problems: list[Problem],
                    fields: dict[str, str] | None = None) -> None:
    """Records of ``table`` read, used and left out by reason (its ``_why`` column, detail in ``_what``), into
    the accounting ``acc`` and as warnings with example records in ``problems``."""
    total = con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    acc.add("read", name, "", total)
    rows = con.execute(f"""SELECT _why, _what, count(*) AS n, list(_file ORDER BY _file, _row)[1:5],
                           list(_row ORDER BY _file, _row)[1:5] FROM {table} WHERE _why IS NOT NULL
                           GROUP BY _why, _what ORDER BY _why, n DESC""").fetchall()
    by_reason: dict[str, list] = {}
    for why, detail, n, fs, rs in rows:
        by_reason.setdefault(why, []).append((detail, n, fs, rs))
    used = total
    for why, items in by_reason.items():
        n = sum(i[1] for i in items)
        used -= n
        detail = ", ".join(f"{d} ({c:,})" for d, c, _, _ in items[:8] if d) + (" ..." if len(items) > 8 else "")
        kw = {"what": what, "codes": detail, "fields": detail}
        if fields:
            kw.update(fields)
        message = MESSAGES[why].format(n=n, **kw)
        first = sorted((f, r) for _, _, fs, rs in items for f, r in zip(fs, rs))[:5]
        examples = ", ".join(f"{files[f].name} row {r}" for f, r in first)
        acc.add("excluded", name, why, n, message)
        problems.append(Problem("warning", name, why, n, examples, message))
    acc.add("used", name, "", used)
