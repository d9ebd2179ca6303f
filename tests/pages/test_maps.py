"""County maps: TopoJSON decoded to the polygons drawn, winding for d3, the SVG choropleth."""
import json

import pandas as pd
import pytest

from equity_helpers.data import boundaries
from equity_helpers.pages import maps


def test_topojson_is_decoded_to_the_same_polygons(tmp_path):
    # two unit squares sharing an edge, quantized with a transform (arc 0 shared, reversed as ~0)
    topo = {"type": "Topology", "transform": {"scale": [1, 1], "translate": [-100, 40]},
            "objects": {"c": {"type": "GeometryCollection", "geometries": [
                {"type": "Polygon", "arcs": [[0, 1]], "properties": {"NAME": "West"}},
                {"type": "Polygon", "arcs": [[~0, 2]], "properties": {"NAME": "East"}}]}},
            "arcs": [[[1, 0], [0, 1]], [[1, 1], [-1, 0], [0, -1], [1, 0]], [[1, 0], [1, 0], [0, 1], [-1, 0]]]}
    p = tmp_path / "c.topojson"
    p.write_text(json.dumps(topo))
    geo = boundaries.load_boundaries(p, name_field="NAME")
    west = geo["features"][0]
    assert west["properties"] == {"name": "West"}
    assert west["geometry"]["coordinates"][0] == [[-99, 40], [-99, 41], [-100, 41], [-100, 40], [-99, 40]]
    assert maps.centroid(west["geometry"]) == pytest.approx((-99.5, 40.5))


def test_outer_rings_are_wound_for_d3():
    ccw = {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]]}  # RFC 7946 order
    assert maps.signed_area(maps.rewind(ccw)["coordinates"][0]) < 0
    cw = maps.rewind(ccw)
    assert maps.rewind(cw) == cw


def test_map_marks_hidden_counties_in_words_not_colour_alone():
    shapes = boundaries.synthetic_counties(["A", "B", "C"])
    rows = pd.DataFrame({"jurisdiction": ["A", "B", "C"], "rri": [2.5, None, None], "rri_low": [1.5, None, None],
                         "rri_high": [4.0, None, None], "suppressed": [False, True, False]})
    svg = maps.county_map_svg(rows, shapes, title="Black children compared with White children")
    assert svg.startswith("<svg") and "<script" not in svg
    for text in ("2.5*", ">S<", ">-<", "Black children compared with White children"):
        assert text in svg
