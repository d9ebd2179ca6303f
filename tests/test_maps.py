"""County maps: boundary files (GeoJSON, TopoJSON), winding, name checks, the SVG choropleth."""
import json

import pandas as pd
import pytest

from equity_helpers import maps
from equity_helpers.errors import ParameterError
from equity_helpers.sample import COUNTIES

from .conftest import SAMPLE


def test_sample_ships_the_generator_shapes():
    committed = json.loads((SAMPLE / "counties.geojson").read_text())
    assert committed == maps.synthetic_counties([c.name for c in COUNTIES], columns=4)
    assert maps.find_boundaries(SAMPLE) == (SAMPLE / "counties.geojson", "name")


def test_topojson_is_decoded_to_the_same_polygons(tmp_path):
    # two unit squares sharing an edge, quantized with a transform (arc 0 shared, reversed as ~0)
    topo = {"type": "Topology", "transform": {"scale": [1, 1], "translate": [-100, 40]},
            "objects": {"c": {"type": "GeometryCollection", "geometries": [
                {"type": "Polygon", "arcs": [[0, 1]], "properties": {"NAME": "West"}},
                {"type": "Polygon", "arcs": [[~0, 2]], "properties": {"NAME": "East"}}]}},
            "arcs": [[[1, 0], [0, 1]], [[1, 1], [-1, 0], [0, -1], [1, 0]], [[1, 0], [1, 0], [0, 1], [-1, 0]]]}
    p = tmp_path / "c.topojson"
    p.write_text(json.dumps(topo))
    geo = maps.load_boundaries(p, name_field="NAME")
    west = geo["features"][0]
    assert west["properties"] == {"name": "West"}
    assert west["geometry"]["coordinates"][0] == [[-99, 40], [-99, 41], [-100, 41], [-100, 40], [-99, 40]]
    assert maps._centroid(west["geometry"]) == pytest.approx((-99.5, 40.5))


def test_bad_boundary_files_say_what_is_wrong(tmp_path):
    p = tmp_path / "x.geojson"
    p.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"county": "A"},
         "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]}}]}))
    with pytest.raises(ParameterError, match="1 of 1 features in x.geojson have no 'name' property"):
        maps.load_boundaries(p)
    assert maps.load_boundaries(p, name_field="county")["features"][0]["properties"]["name"] == "A"
    notes = maps.check_boundaries(maps.load_boundaries(p, name_field="county"), ["A", "B"])
    assert notes == ["No boundary for B: not on the map."]


def test_outer_rings_are_wound_for_d3():
    ccw = {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]]}  # RFC 7946 order
    assert maps._signed_area(maps._rewind(ccw)["coordinates"][0]) < 0
    cw = maps._rewind(ccw)
    assert maps._rewind(cw) == cw


def test_map_marks_hidden_counties_in_words_not_colour_alone():
    shapes = maps.synthetic_counties(["A", "B", "C"])
    rows = pd.DataFrame({"jurisdiction": ["A", "B", "C"], "rri": [2.5, None, None], "rri_low": [1.5, None, None],
                         "rri_high": [4.0, None, None], "suppressed": [False, True, False]})
    svg = maps.county_map_svg(rows, shapes, title="Black children compared with White children")
    assert svg.startswith("<svg") and "<script" not in svg
    for text in ("2.5*", ">S<", ">-<", "Black children compared with White children"):
        assert text in svg
