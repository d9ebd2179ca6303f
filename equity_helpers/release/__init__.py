"""The release: every number that can be published, protected and audited on the whole table at once.

:mod:`~equity_helpers.release.table` builds the release table (every place, window, subgroup, group and
decision point, with the relations a reader knows between them) and protects it with
:mod:`equity_helpers.privacy.disclosure`; :mod:`~equity_helpers.release.survival` adds the time-in-care
curves and federal-style measures as cells of the same table; :mod:`~equity_helpers.release.workbook` is
the door every page reads through. Nothing is published except through this table. The map of the package
is ``docs/architecture.md``.
"""
from equity_helpers.release.table import Release, build_release, level_label, release_cache_dir
from equity_helpers.release.workbook import Workbook

__all__ = ["Release", "build_release", "level_label", "release_cache_dir", "Workbook"]
