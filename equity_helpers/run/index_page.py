"""The batch's index page: every report by jurisdiction, a table and a grid comparing the jurisdictions, and
a county map, read from the same protected release as the reports (:func:`write_index`).

No script, no network: the grid and the map are static SVG, so the page opens from disk anywhere. The map
of the package is ``docs/architecture.md``.
"""
from __future__ import annotations

import html
from pathlib import Path

from equity_helpers.data.boundaries import check_boundaries, find_boundaries, load_boundaries
from equity_helpers.pages.maps import county_map_svg
from equity_helpers.pages.views import focus_group, window_phrase
from equity_helpers.privacy.suppression import SuppressionPolicy
from equity_helpers.safety import atomic_write_text
from equity_helpers.schema import STAGES, STATE, group_children, group_label, sentence_start

__all__ = ["write_index"]


_CSS = """
body{font-family:Helvetica,Arial,sans-serif;margin:2rem;max-width:1200px;color:#222}
table{border-collapse:collapse;margin:1rem 0;font-size:.9rem}th,td{border:1px solid #ccc;padding:.3rem .5rem}
th{background:#f3f3f3;text-align:left}td.num{text-align:right}.failed{color:#a00;font-weight:bold}
.s{color:#666;font-style:italic}footer{margin-top:2rem;font-size:.85rem;color:#444}
"""


def write_index(out: Path, *, manifest: dict, wb, years: tuple[int, int], data_dir=None, mapping=None,
                map_group: str | None = None, map_stage: str = "entered_care") -> Path:
    """``index.html``: links to every report with its status, and a comparison of jurisdictions.

    The comparison shows the population-based relative rate index of every group at every
    decision point over the batch's years (pooled), from the release table ("S" where suppressed,
    "-" where too few children, "*" where the 95% interval excludes 1), as a table and as a
    grid chart (inline SVG, no script).
    """
    release = wb.release()
    runs = manifest["runs"]
    places = list(dict.fromkeys(r["jurisdiction"] for r in runs))
    links = _reports_table(runs, places, release, years)
    period = release.window(*years)
    year = window_phrase(*years)
    m = wb.measures_for()
    m = m[(m["period"] == period) & (m["basis"] == "population") & m["jurisdiction"].isin(places)
          & ~m["race_ethnicity"].isin(["all", "unknown", "white"])]
    stages = [s for s in STAGES if s in set(m["stage"])]
    blocks = _comparison_tables(m, places, stages)
    focus = focus_group(m[m["jurisdiction"] == STATE])  # the group with the most children behind a gap
    grid = _grid_svg(m, places, stages, year, focus)
    county_map = _county_map(wb, data_dir=data_dir, mapping=mapping, period=period, year=year,
                             group=map_group or focus, stage=map_stage)
    failed = manifest["failed"]
    status = (f"<p class='failed'>{failed} run(s) failed; see the table below.</p>" if failed
              else "<p>All runs succeeded.</p>")
    footer = _footer(manifest, list(dict.fromkeys(m["race_ethnicity"])))
    page = f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Racial equity workbook: reports</title>
<style>{_CSS}</style></head><body>
<h1>Child Welfare Racial Equity Workbook: reports by jurisdiction</h1>
{status}
<h2>Reports</h2>{links}
<h2>Comparing jurisdictions, {html.escape(year)}</h2>
<p>Relative rate index against the child population: each group's rate divided by the rate for White
children (1 = the same rate). <em>*</em> the 95% interval excludes 1; <em>S</em> suppressed to protect
privacy (not zero); <em>-</em> too few children for a ratio.</p>
{grid}
{county_map}
{''.join(blocks)}
{footer}
</body></html>"""
    return atomic_write_text(out / "index.html", page)


def _reports_table(runs: list[dict], places: list[str], release, years: tuple[int, int]) -> str:
    """The table of reports: a row per jurisdiction, a link (or the error) per notebook, and the share of
    non-zero counts hidden over the whole period."""
    nbs = list(dict.fromkeys(r["notebook"] for r in runs))
    by = {(r["jurisdiction"], r["notebook"]): r for r in runs}
    head = "".join(f"<th>{html.escape(Path(n).stem.replace('_', ' '))}</th>" for n in nbs)
    rows = []
    for j in places:
        cells = []
        for n in nbs:
            r = by.get((j, n))
            if r is None:
                cells.append("<td></td>")
            elif r["status"] == "ok":
                rel = r["html"]  # relative to the reports folder
                cells.append(f"<td><a href='{html.escape(rel)}'>report</a></td>")
            else:
                cells.append(f"<td class='failed' title='{html.escape(r['error'])}'>failed: "
                             f"{html.escape(r['error'][:120])}</td>")
        hidden = release.hidden_share(jurisdiction=j, periods=[release.window(*years)])
        cells.append(f"<td class='num'>{hidden:.0%}</td>")
        rows.append(f"<tr><th>{html.escape(j)}</th>{''.join(cells)}</tr>")
    head += "<th>non-zero counts hidden (whole period)</th>"
    return f"<table><thead><tr><th>jurisdiction</th>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _comparison_tables(m, places: list[str], stages: list[str]) -> list[str]:
    """A table per group comparing the jurisdictions: the relative rate index at every decision point ("S"
    suppressed, "-" too few children, "*" the 95% interval excludes 1)."""
    blocks = []
    for g in dict.fromkeys(m["race_ethnicity"]):
        sub = m[m["race_ethnicity"] == g]
        head = "".join(f"<th>{html.escape(STAGES[s].label)}</th>" for s in stages)
        body = []
        for j in places:
            cells = []
            for s in stages:
                r = sub[(sub["jurisdiction"] == j) & (sub["stage"] == s)]
                if r.empty:
                    cells.append("<td></td>")
                    continue
                r = r.iloc[0]
                if r["suppressed"]:
                    cells.append("<td class='s'>S</td>")
                elif r["rri"] != r["rri"]:
                    cells.append("<td class='s'>-</td>")
                else:
                    star = "*" if (r["rri_low"] > 1 or r["rri_high"] < 1) else ""
                    cells.append(f"<td class='num'>{r['rri']:.2f}{star}</td>")
            body.append(f"<tr><th>{html.escape(j)}</th>{''.join(cells)}</tr>")
        blocks.append(f"<h3>{html.escape(sentence_start(group_children(g)))} compared with White children</h3>"
                      f"<table><thead><tr><th>jurisdiction</th>{head}</tr></thead><tbody>{''.join(body)}</tbody>"
                      "</table>")
    return blocks


def _footer(manifest: dict, groups: list[str]) -> str:
    """The page's footer: the data hash, package version, years, creation time, small-number rule and
    disclosure control of the batch, and the groups compared."""
    policy = SuppressionPolicy(**manifest["suppression"]).describe()
    return f"""<footer><h2>About these reports</h2><dl>
<dt>data hash</dt><dd>{manifest['data_hash']}</dd><dt>package version</dt><dd>{manifest['package_version']}</dd>
<dt>years</dt><dd>FY{manifest['years'][0]}-FY{manifest['years'][1]}</dd><dt>created</dt><dd>{manifest['created']}</dd>
<dt>small numbers</dt><dd>{html.escape(policy)}</dd>
<dt>disclosure control</dt><dd>{html.escape(manifest['release']['protection'])} Every number in these
reports is read from one release table (<a href="release.csv">release.csv</a>, aggregate counts only),
protected on all its margins at once and audited by linear programming.</dd>
<dt>hidden numbers</dt><dd>{html.escape(manifest['release'].get('price', ''))}</dd></dl>
<p>Groups: {html.escape(', '.join(group_label(g) for g in groups))}.</p></footer>"""


def _county_map(wb, *, data_dir, mapping, period: str, year: str, group: str | None, stage: str) -> str:
    """The index page's county map (a static SVG) with its heading and notes; "" without boundaries."""
    found = find_boundaries(data_dir, mapping)
    if found is None:
        return ""
    boundaries = load_boundaries(found[0], name_field=found[1])
    m = wb.measures_for()
    m = m[(m["period"] == period) & (m["basis"] == "population") & (m["jurisdiction"] != STATE)]
    if group is None:
        return ""
    rows = m[(m["race_ethnicity"] == group) & (m["stage"] == stage)]
    if rows.empty:
        return ""
    label = STAGES[stage].label if stage in STAGES else stage
    title = f"{sentence_start(group_children(group))} compared with White children: {label}, {year}"
    notes = check_boundaries(boundaries, sorted(set(m["jurisdiction"])))
    svg = county_map_svg(rows, boundaries, title=title)
    alt_text = (f"Map of the counties. Each county shows the rate of {group_children(group)} ({label}) as a "
                "multiple of the rate of White children there (1 = the same rate); S marks a county whose numbers "
                "are suppressed to protect privacy, - one with too few children for a ratio.")
    return (f"<h2>County map</h2><figure role='img' aria-label='{html.escape(alt_text)}'>{svg}"
            f"<figcaption>{html.escape(alt_text)} Orange: higher than White children; blue: lower; * the 95% "
            "interval excludes 1.</figcaption></figure>"
            + "".join(f"<p class='s'>{html.escape(n)}</p>" for n in notes))


def _grid_svg(m, places: list[str], stages: list[str], year: str, focus: str | None) -> str:
    """A jurisdictions x decision points grid of the relative rate index for the focus group, as SVG."""
    import altair as alt  # here for cost: Altair and vl-convert load only to draw the grid
    import vl_convert as vlc

    if focus is None:
        return ""
    d = m[m["race_ethnicity"] == focus].copy()
    d["decision point"] = d["stage"].map(lambda s: STAGES[s].label)
    d["label"] = [("S" if s else "-" if v != v else f"{v:.1f}") for s, v in zip(d["suppressed"], d["rri"])]
    d["rri_capped"] = d["rri"].clip(upper=10)
    d = d[["jurisdiction", "decision point", "label", "rri_capped"]]
    base = alt.Chart(d).encode(x=alt.X("decision point:N", sort=[STAGES[s].label for s in stages], title=None,
                                       axis=alt.Axis(labelAngle=-30, labelLimit=220)),
                               y=alt.Y("jurisdiction:N", sort=places, title=None))
    rect = base.mark_rect(stroke="white").encode(
        color=alt.Color("rri_capped:Q", scale=alt.Scale(scheme="blueorange", domainMid=1, type="log"),
                        title="relative rate"))
    text = base.mark_text(fontSize=11).encode(text="label:N")
    chart = (rect + text).properties(width=80 * len(stages), height=alt.Step(22), title=(
        f"{sentence_start(group_children(focus))} compared with White children, {year} (S suppressed, - too few)"))
    return f"<figure>{vlc.vegalite_to_svg(chart.to_dict())}</figure>"
