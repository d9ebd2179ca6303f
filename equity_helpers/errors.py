"""The package's exception and warning vocabulary.

* :class:`DataValidationError` - the input data cannot be used; carries every problem found,
  renders as a plain-language list (and as an HTML table in notebooks), never as a bare traceback.
* :class:`ParameterError` - a notebook or command-line parameter is not valid (unknown county,
  years outside the data, unknown group); the message says what is valid.
* :class:`DataQualityWarning` - something was excluded or looks wrong but the run can go on.
"""
from __future__ import annotations

import html
from dataclasses import asdict, dataclass

import pandas as pd

__all__ = ["Problem", "DataValidationError", "ParameterError", "DataQualityWarning", "problems_frame"]


@dataclass(frozen=True)
class Problem:
    """One data-quality finding.

    Attributes
    ----------
    severity : "error" (the run cannot continue) or "warning" (rows excluded or a caveat).
    table : which table ("children", "reports", ...).
    check : machine-readable reason, e.g. ``"exit_before_entry"``.
    rows : how many rows are affected.
    examples : example row numbers (1-based records in the source), comma separated.
    message : the plain-language sentence shown to an analyst.
    """

    severity: str
    table: str
    check: str
    rows: int
    examples: str
    message: str


def problems_frame(problems: list[Problem]) -> pd.DataFrame:
    """Problems as a tidy DataFrame (columns as in :class:`Problem`)."""
    cols = ["severity", "table", "check", "rows", "examples", "message"]
    return pd.DataFrame([asdict(p) for p in problems], columns=cols)


class DataValidationError(ValueError):
    """The data cannot be used. ``problems`` lists every problem found, not just the first."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        errors = [p for p in self.problems if p.severity == "error"]
        lines = [f"The data could not be used: {len(errors)} problem(s) must be fixed first."]
        for i, p in enumerate(errors, 1):
            where = f" Example rows: {p.examples}." if p.examples else ""
            lines.append(f"  {i}. [{p.table}] {p.message}{where}")
        super().__init__("\n".join(lines))

    @property
    def table(self) -> pd.DataFrame:
        """Every problem (errors and warnings) as a DataFrame."""
        return problems_frame(self.problems)

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td>{html.escape(p.severity)}</td><td>{html.escape(p.table)}</td><td>{p.rows:,}</td>"
            f"<td>{html.escape(p.message)}</td><td>{html.escape(p.examples)}</td></tr>"
            for p in self.problems
        )
        return ("<div class='eh-error'><p><strong>The data could not be used.</strong> "
                "Fix the problems below and run again.</p><table><thead><tr><th>severity</th>"
                "<th>table</th><th>rows</th><th>problem</th><th>example rows</th></tr></thead>"
                f"<tbody>{rows}</tbody></table></div>")


class ParameterError(ValueError):
    """A parameter value is not valid; the message names the valid values."""


class DataQualityWarning(UserWarning):
    """Rows were excluded or a result rests on shaky data; the run goes on."""
