"""The whole-chain matrix is shown whole (issue 28): every decision point and every group, never cut."""
import re

from equity_helpers.pages.views import Filters, matrix_html, rri_matrix_view


def test_the_whole_chain_matrix_shows_every_stage_and_every_group(sample_workbook):
    f = Filters(first_year=2020, last_year=2025)
    m = rri_matrix_view(sample_workbook, filters=f)
    assert m.shape[1] > 20, "wider than pandas shows by default: the case that was cut to '...'"
    page = matrix_html(m, caption="Statewide, FY2020-FY2025")
    assert "…" not in page and "..." not in page
    body_cells = re.findall(r"<td [^>]*>", page)
    assert len(body_cells) == m.size, "every cell of the matrix is in the table"
    for stage in m.index:
        assert stage in page
    for group, measure in m.columns:
        assert group in page and measure in page
    assert "suppressed to protect privacy" in page and "Statewide, FY2020-FY2025" in page
