"""County boundaries: from a file the agency supplies, or synthetic shapes for the sample state.

* :func:`find_boundaries` - the boundary file of a data folder: named in ``mapping.yml``
  (``boundaries: {path: ..., name_field: ...}``) or a ``counties.geojson`` / ``counties.topojson``
  beside the tables.
* :func:`load_boundaries` - GeoJSON or TopoJSON (polygons, WGS84 longitude/latitude) as a GeoJSON
  feature collection whose ``properties.name`` is the jurisdiction name.
* :func:`check_boundaries` - every jurisdiction of the data has a shape.
* :func:`synthetic_counties` - rectangular shapes for the sample state's counties (no real place).

The map drawn from them is :func:`equity_helpers.pages.maps.county_map_svg`. The map of the package is
``docs/architecture.md``.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from equity_helpers.errors import ParameterError

__all__ = ["BOUNDARY_FILES", "find_boundaries", "load_boundaries", "check_boundaries", "synthetic_counties"]


BOUNDARY_FILES = ("counties.geojson", "counties.topojson")
"""Boundary files found by name in a data folder when ``mapping.yml`` names none."""


def find_boundaries(data_dir: str | Path | None, mapping: str | Path | None = None) -> tuple[Path, str] | None:
    """The boundary file and its name field, or None when the data have none."""
    if mapping:
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
