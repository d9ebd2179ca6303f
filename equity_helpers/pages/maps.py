"""County maps: a choropleth of the relative rate over the counties' boundaries
(:mod:`equity_helpers.data.boundaries`).

* :func:`county_map_svg` - the choropleth drawn with Altair and rendered to a static SVG by
  vl-convert: no script, no tiles, no network, so it works in an offline report opened from disk.
  Suppressed and too-small counties are grey *and* labelled ("S", "-"), never told by colour alone.

Only published measures are drawn: the map is one more view of the release table.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["county_map_svg", "centroid", "signed_area", "rewind"]


def signed_area(ring: list) -> float:
    pts = np.asarray(ring, dtype=float)
    return float((pts[:-1, 0] * pts[1:, 1] - pts[1:, 0] * pts[:-1, 1]).sum() / 2)


def rewind(geom: dict) -> dict:
    """Outer rings clockwise and holes anticlockwise, as d3-geo (Vega) expects: it reads an anticlockwise
    outer ring (the RFC 7946 order many files use) as the whole globe except the county."""
    def fix(poly: list) -> list:
        out = []
        for i, ring in enumerate(poly):
            a = signed_area(ring)
            out.append(ring[::-1] if (a > 0 if i == 0 else a < 0) else ring)
        return out

    if geom["type"] == "Polygon":
        return {"type": "Polygon", "coordinates": fix(geom["coordinates"])}
    return {"type": "MultiPolygon", "coordinates": [fix(p) for p in geom["coordinates"]]}


def centroid(geom: dict) -> tuple[float, float]:
    """Area-weighted centroid of the largest outer ring (shoelace formula)."""
    polys = [geom["coordinates"]] if geom["type"] == "Polygon" else geom["coordinates"]
    best, best_area = None, -1.0
    for poly in polys:
        pts = np.asarray(poly[0], dtype=float)
        x, y = pts[:, 0], pts[:, 1]
        cross = x[:-1] * y[1:] - x[1:] * y[:-1]
        area = cross.sum() / 2
        if abs(area) > best_area:
            best_area = abs(area)
            if area == 0:
                best = (float(x.mean()), float(y.mean()))
            else:
                best = (float(((x[:-1] + x[1:]) * cross).sum() / (6 * area)),
                        float(((y[:-1] + y[1:]) * cross).sum() / (6 * area)))
    return best if best is not None else (0.0, 0.0)


def county_map_svg(rows: pd.DataFrame, boundaries: dict, *, title: str, width: int = 560) -> str:
    """A choropleth of the relative rate index per county, as a static SVG.

    Parameters
    ----------
    rows : published measures of one group, decision point, window and basis: ``jurisdiction``,
        ``rri``, ``rri_low``, ``rri_high``, ``suppressed``.
    boundaries : :func:`load_boundaries` output.
    title : what the map shows (group, reference, decision point, years).

    Counties are coloured by the ratio on a log scale centred on 1 (blue below, orange above) and
    labelled with it ("*" where the 95% interval excludes 1); "S" marks a suppressed county, "-" one
    with too few children for a ratio; both are grey.
    """
    import altair as alt  # Altair: about a second to import, paid only when drawing
    import vl_convert as vlc  # vl-convert: imported only when a chart is rendered

    by = rows.set_index("jurisdiction")
    feats, labels = [], []
    for f in boundaries["features"]:
        name = f["properties"]["name"]
        r = by.loc[name] if name in by.index else None
        if r is None:
            label, rri = "", None
        elif bool(r["suppressed"]):
            label, rri = "S", None
        elif pd.isna(r["rri"]):
            label, rri = "-", None
        else:
            star = "*" if (r["rri_low"] > 1 or r["rri_high"] < 1) else ""
            label, rri = f"{r['rri']:.1f}{star}", float(np.clip(r["rri"], 0.1, 10))
        feats.append({"type": "Feature", "geometry": rewind(f["geometry"]),
                      "properties": {"name": name, "rri": rri, "label": label}})
        lon, lat = centroid(f["geometry"])
        labels.append({"name": name, "label": label, "lon": lon, "lat": lat})
    shown = [f["properties"]["rri"] for f in feats if f["properties"]["rri"] is not None]
    hi = max([2.0] + [max(v, 1 / v) for v in shown])  # a domain symmetric around 1 on the log scale
    coloured = [f for f in feats if f["properties"]["rri"] is not None]
    grey = [f for f in feats if f["properties"]["rri"] is None]
    layers = []
    if grey:  # hidden or too small: grey, and labelled below (never told by colour alone)
        layers.append(alt.Chart(alt.Data(values=grey)).mark_geoshape(stroke="white", strokeWidth=1.5,
                                                                     fill="#d9d9d9"))
    if coloured:
        layers.append(alt.Chart(alt.Data(values=coloured)).mark_geoshape(stroke="white", strokeWidth=1.5).encode(
            color=alt.Color("properties.rri:Q", title="relative rate",
                            scale=alt.Scale(type="log", scheme="blueorange", domain=[1 / hi, hi]))))
    names = alt.Chart(alt.Data(values=labels)).mark_text(dy=-7, fontSize=10).encode(
        longitude="lon:Q", latitude="lat:Q", text="name:N")
    values = alt.Chart(alt.Data(values=labels)).mark_text(dy=7, fontSize=12, fontWeight="bold").encode(
        longitude="lon:Q", latitude="lat:Q", text="label:N")
    chart = alt.layer(*layers, names, values).project(type="mercator").properties(width=width, height=int(width * 0.62),
                                                                          title=title)
    return vlc.vegalite_to_svg(chart.to_dict())
