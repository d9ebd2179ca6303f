"""County boundaries: the sample's shapes, boundary files that cannot be used, names without a shape."""
import json

import pytest

from equity_helpers.data import boundaries
from equity_helpers.data.sample import COUNTIES
from equity_helpers.errors import ParameterError

from ..conftest import SAMPLE


def test_sample_ships_the_generator_shapes():
    committed = json.loads((SAMPLE / "counties.geojson").read_text())
    assert committed == boundaries.synthetic_counties([c.name for c in COUNTIES], columns=4)
    assert boundaries.find_boundaries(SAMPLE) == (SAMPLE / "counties.geojson", "name")


def test_bad_boundary_files_say_what_is_wrong(tmp_path):
    p = tmp_path / "x.geojson"
    p.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"county": "A"},
         "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]}}]}))
    with pytest.raises(ParameterError, match="1 of 1 features in x.geojson have no 'name' property"):
        boundaries.load_boundaries(p)
    assert boundaries.load_boundaries(p, name_field="county")["features"][0]["properties"]["name"] == "A"
    notes = boundaries.check_boundaries(boundaries.load_boundaries(p, name_field="county"), ["A", "B"])
    assert notes == ["No boundary for B: not on the map."]
