"""The workbook: validated data and the protected release tables every page reads.

:class:`Workbook` is the one door between the data and what people see: notebooks, widget panels, the
dashboard, the slides and the batch's index read every number through it, from the release table of
the chosen race scheme (built once per scheme, protected and audited on the whole table before any page
selects from it). A workbook opened from a published release folder holds no child-level rows at all.
The map of the package is ``docs/architecture.md``.
"""
from __future__ import annotations

import threading
from contextlib import contextmanager
from dataclasses import dataclass, field, replace

import pandas as pd

from equity_helpers.counting.load import load
from equity_helpers.data.validate import ValidatedData
from equity_helpers.errors import ParameterError
from equity_helpers.privacy.disclosure import Protection
from equity_helpers.privacy.suppression import DEFAULT_POLICY, SuppressionPolicy
from equity_helpers.release.table import BUILD_STEPS, Release, build_release, subgroup_label
from equity_helpers.schema import SCHEMES, STATE

__all__ = ["Workbook", "ALL_LEVELS", "subgroup_of"]


# --------------------------------------------------------------------------- decision-point views
ALL_LEVELS = "all"


@contextmanager
def _bar(show: bool):
    """A progress bar over :data:`~equity_helpers.release.table.BUILD_STEPS` (tqdm: a widget in a notebook, a
    line on standard error in a terminal), made only when a build starts (a release read from the cache
    shows nothing) and gone when it ends. Yields the ``progress`` callback of :func:`build_release`."""
    bar = None

    def step(i: int, name: str) -> None:
        nonlocal bar
        if not show:
            return
        if bar is None:
            from tqdm.auto import tqdm  # tqdm.auto reaches for ipywidgets: loaded only when a bar is shown

            bar = tqdm(total=len(BUILD_STEPS), unit="step", leave=False,
                       bar_format="Protecting the numbers before they are shown (first open only): {desc} {bar} "
                                  "{elapsed}")
            # the longest step (the protection) takes seconds: a clock that keeps running says it is working
            threading.Thread(target=_tick, args=(bar, done), daemon=True).start()
        bar.set_description_str(name)
        bar.n = i
        bar.refresh()

    done = threading.Event()
    try:
        yield step
    finally:
        done.set()
        if bar is not None:
            bar.close()


def _tick(bar, done: threading.Event) -> None:
    while not done.wait(1.0):
        bar.refresh()


@dataclass
class Workbook:
    """Validated data and its release tables, so every view and widget redraw reuses them.

    Every number a view shows is read from the release table of the chosen race scheme
    (:func:`equity_helpers.release.table.build_release`), built once per scheme: disclosure is decided
    on the whole table (every place, window, subgroup, group and stage) before a view selects from
    it. A workbook opened from a batch's published release (:meth:`from_release`) holds no
    child-level data at all.
    """

    data: ValidatedData | None
    policy: SuppressionPolicy | None = DEFAULT_POLICY
    first_year: int | None = None
    last_year: int | None = None
    extra_windows: tuple = ()
    progress: bool = False
    """Show a progress bar while a release is built (a notebook's first open; never in a batch run)."""
    _releases: dict = field(default_factory=dict, repr=False)

    @classmethod
    def load(cls, data_dir=None, *, mapping=None, suppression_threshold: int = 10) -> "Workbook":
        return cls(load(data_dir, mapping=mapping), policy=SuppressionPolicy(max_count=suppression_threshold))

    @classmethod
    def from_release(cls, folder, *, suppression_threshold: int = 10) -> "Workbook":
        """A workbook over a published release folder (``release.csv`` ...): aggregates only."""
        rel = Release.read(folder)
        wb = cls(None, policy=SuppressionPolicy(max_count=suppression_threshold), first_year=rel.first_year,
                 last_year=rel.last_year)
        wb._releases[rel.scheme] = rel
        return wb

    @property
    def jurisdictions(self) -> list[str]:
        """Counties (without the state), in the data's order."""
        if self.data is not None:
            return list(self.data.jurisdictions)
        rel = next(iter(self._releases.values()))
        return [j for j in dict.fromkeys(rel.cells["jurisdiction"]) if j != STATE]

    @property
    def years(self) -> tuple[int, int]:
        if self.data is not None:
            return (self.first_year or self.data.first_year, self.last_year or self.data.last_year)
        return (self.first_year, self.last_year)

    @property
    def has_records(self) -> bool:
        """Whether the workbook holds validated records (and can build a release for any scheme)."""
        return isinstance(self.data, ValidatedData)

    @property
    def schemes(self) -> list[str]:
        """Race schemes this workbook can show (a published release holds one)."""
        return list(SCHEMES) if self.has_records else list(self._releases)

    def for_runs(self) -> "Workbook":
        """This workbook with its built releases but no child-level rows: what a batch hands each notebook
        run (the data become a :class:`~equity_helpers.data.validate.DataSummary`)."""
        summary = self.data.summary() if self.has_records else self.data
        return replace(self, data=summary, _releases=dict(self._releases))

    def release(self, scheme: str = "hispanic_first"):
        """The protected release table for a scheme (built once, then cached)."""
        if scheme not in self._releases:
            if not self.has_records:
                raise ParameterError(f"This workbook holds the published release for "
                                     f"{', '.join(self._releases)} only; race scheme {scheme!r} is not in it.")
            pol = self.policy or SuppressionPolicy(max_count=0, complementary=False)
            prot = Protection(min_count=pol.min_count, max_count=pol.max_count, suppress_zero=pol.suppress_zero)
            fy, ly = self.years
            with _bar(self.progress) as step:
                self._releases[scheme] = build_release(self.data, scheme=scheme, first_year=fy, last_year=ly,
                                                       extra_windows=self.extra_windows, protection=prot,
                                                       progress=step)
        return self._releases[scheme]

    def measures_for(self, *, scheme: str = "hispanic_first", reference: str = "white", age_group: str = ALL_LEVELS,
                     sex: str = ALL_LEVELS, unknown: str = "exclude", adjust: str = "holm") -> pd.DataFrame:
        """Every measure of the release for these filters (cached): all places and published windows."""
        return self.release(scheme).measures(reference=reference, subgroup=subgroup_of(age_group, sex),
                                             policy=self.policy, unknown=unknown, adjust=adjust)


def subgroup_of(age_group: str, sex: str) -> str:
    if age_group != ALL_LEVELS and sex != ALL_LEVELS:
        raise ParameterError("Choose an age group or a sex, not both: the release table publishes one "
                             "breakdown at a time, so that no hidden count can be worked out by subtraction.")
    return subgroup_label("age_group", age_group) if age_group != ALL_LEVELS else subgroup_label("sex", sex)
