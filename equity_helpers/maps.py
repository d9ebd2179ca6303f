"""County maps: boundaries from a file the agency supplies, and a choropleth of the relative rate.

* :func:`find_boundaries` - the boundary file of a data folder: named in ``mapping.yml``
  (``boundaries: {path: ..., name_field: ...}``) or a ``counties.geojson`` / ``counties.topojson``
  beside the tables.
* :func:`load_boundaries` - GeoJSON or TopoJSON (polygons, WGS84 longitude/latitude) as a GeoJSON
  feature collection whose ``properties.name`` is the jurisdiction name.
* :func:`synthetic_counties` - rectangular shapes for the sample state's counties (no real place).
* :func:`county_map_svg` - the choropleth drawn with Altair and rendered to a static SVG by
  vl-convert: no script, no tiles, no network, so it works in an offline report opened from disk.
  Suppressed and too-small counties are grey *and* labelled ("S", "-"), never told by colour alone.

Only published measures are drawn: the map is one more view of the release table.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .errors import ParameterError

__all__ = ["BOUNDARY_FILES", "find_boundaries", "load_boundaries", "synthetic_counties", "county_map_svg",
           "check_boundaries"]

BOUNDARY_FILES = ("counties.geojson", "counties.topojson")
"""Boundary files found by name in a data folder when ``mapping.yml`` names none."""


def find_boundaries(data_dir: str | Path | None, mapping: str | Path | None = None) -> tuple[Path, str] | None:
    """The boundary file and its name field, or None when the data have none."""
    if mapping:
        import yaml

        spec = yaml.safe_load(Path(mapping).read_text()) or {}
        b = spec.get("boundaries")
        if b:
            b = {"path": b} if isinstance(b, str) else b
            return Path(mapping).parent / b["path"], str(b.get("name_field", "name"))
    if data_dir:
        for name in BOUNDARY_FILES:
            if (Path(data_dir) / name).exists():
                return Path(data_dir) / name, "name"
    return None


def _topo_to_geo(topo: dict) -> dict:
    """Decode a TopoJSON topology (quantized or not) into one GeoJSON feature collection."""
    tf = topo.get("transform")
    arcs = []
    for arc in topo["arcs"]:
        pts = np.asarray(arc, dtype=float)
        if tf:
            pts = np.cumsum(pts, axis=0) * np.asarray(tf["scale"]) + np.asarray(tf["translate"])
        arcs.append(pts.tolist())

    def ring(ids: list[int]) -> list:
        out: list = []
        for i in ids:
            pts = arcs[i] if i >= 0 else arcs[~i][::-1]
            out.extend(pts if not out else pts[1:])
        return out

    feats = []
    for obj in topo["objects"].values():
        for g in obj.get("geometries", [obj]):
            if g["type"] == "Polygon":
                geom = {"type": "Polygon", "coordinates": [ring(r) for r in g["arcs"]]}
            elif g["type"] == "MultiPolygon":
                geom = {"type": "MultiPolygon", "coordinates": [[ring(r) for r in p] for p in g["arcs"]]}
            else:
                continue
            feats.append({"type": "Feature", "properties": dict(g.get("properties", {})), "geometry": geom})
    return {"type": "FeatureCollection", "features": feats}


def load_boundaries(path: str | Path, *, name_field: str = "name") -> dict[str, Any]:
    """Read a GeoJSON or TopoJSON boundary file; each feature's ``properties.name`` is its jurisdiction.

    Raises
    ------
    ParameterError
        If the file cannot be read, holds no polygons, or a feature lacks ``name_field``.
    """
    p = Path(path)
    try:
        doc = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ParameterError(f"The boundary file {p.name} could not be read: {exc}") from None
    geo = _topo_to_geo(doc) if doc.get("type") == "Topology" else doc
    feats = [f for f in geo.get("features", []) if f.get("geometry", {}).get("type") in ("Polygon", "MultiPolygon")]
    if not feats:
        raise ParameterError(f"The boundary file {p.name} holds no polygon features.")
    unnamed = sum(1 for f in feats if name_field not in (f.get("properties") or {}))
    if unnamed:
        raise ParameterError(f"{unnamed} of {len(feats)} features in {p.name} have no {name_field!r} property; "
                             "name the field that holds the county name (boundaries: name_field in mapping.yml).")
    return {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": f["geometry"], "properties": {"name": str(f["properties"][name_field])}}
        for f in feats]}


def check_boundaries(boundaries: dict, jurisdictions: list[str]) -> list[str]:
    """Plain-language notes on counties with no shape and shapes with no county (nothing is dropped:
    a county without a shape is simply not on the map, and the note says so)."""
    names = {f["properties"]["name"] for f in boundaries["features"]}
    notes = []
    missing = [j for j in jurisdictions if j not in names]
    extra = sorted(names - set(jurisdictions))
    if missing:
        notes.append(f"No boundary for {', '.join(missing)}: not on the map.")
    if extra:
        notes.append(f"Boundaries with no jurisdiction in the data (drawn empty): {', '.join(extra)}.")
    return notes


def synthetic_counties(names: list[str], *, columns: int | None = None, origin: tuple[float, float] = (-101.0, 45.0),
                       size: tuple[float, float] = (0.8, 0.55)) -> dict[str, Any]:
    """Rectangular county shapes on a grid (longitude/latitude), for a synthetic state: no real place."""
    cols = columns or int(np.ceil(np.sqrt(len(names) * 1.5)))
    feats = []
    for i, name in enumerate(names):
        r, c = divmod(i, cols)
        x0, y1 = origin[0] + c * size[0], origin[1] - r * size[1]
        x1, y0 = x0 + size[0], y1 - size[1]
        ring = [[round(x0, 4), round(y0, 4)], [round(x1, 4), round(y0, 4)], [round(x1, 4), round(y1, 4)],
                [round(x0, 4), round(y1, 4)], [round(x0, 4), round(y0, 4)]]
        feats.append({"type": "Feature", "properties": {"name": name},
                      "geometry": {"type": "Polygon", "coordinates": [ring]}})
    return {"type": "FeatureCollection", "features": feats}


def _signed_area(ring: list) -> float:
    pts = np.asarray(ring, dtype=float)
    return float((pts[:-1, 0] * pts[1:, 1] - pts[1:, 0] * pts[:-1, 1]).sum() / 2)


def _rewind(geom: dict) -> dict:
    """Outer rings clockwise and holes anticlockwise, as d3-geo (Vega) expects: it reads an anticlockwise
    outer ring (the RFC 7946 order many files use) as the whole globe except the county."""
    def fix(poly: list) -> list:
        out = []
        for i, ring in enumerate(poly):
            a = _signed_area(ring)
            out.append(ring[::-1] if (a > 0 if i == 0 else a < 0) else ring)
        return out

    if geom["type"] == "Polygon":
        return {"type": "Polygon", "coordinates": fix(geom["coordinates"])}
    return {"type": "MultiPolygon", "coordinates": [fix(p) for p in geom["coordinates"]]}


def _centroid(geom: dict) -> tuple[float, float]:
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
    import altair as alt
    import vl_convert as vlc

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
        feats.append({"type": "Feature", "geometry": _rewind(f["geometry"]),
                      "properties": {"name": name, "rri": rri, "label": label}})
        lon, lat = _centroid(f["geometry"])
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
