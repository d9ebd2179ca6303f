"""Charts checked as Vega-Lite specs: encodings, the parity line, suppression marked with text."""
import json

import pytest

from equity_helpers.pages import charts
from equity_helpers.pages.views import Filters, decision_point_view, time_in_care_view

from ..conftest import SAMPLE


@pytest.fixture(scope="module")
def wb(sample_workbook):
    return sample_workbook


def _layers(spec):
    spec = spec.get("spec", spec)
    return spec.get("layer", [spec])


def test_rri_chart_has_intervals_parity_line_and_text_for_suppression(wb):
    v = decision_point_view(wb, stages=["entered_care"], filters=Filters(jurisdiction="Bluff", first_year=2023,
                                                                         last_year=2025))
    spec = charts.rri_chart(v.current, title="t", reference_label="White").to_dict()
    layers = _layers(spec)
    marks = [l["mark"]["type"] if isinstance(l["mark"], dict) else l["mark"] for l in layers]
    assert marks == ["rule", "rule", "point", "text"]
    assert layers[1]["encoding"]["x"]["field"] == "rri_low" and layers[1]["encoding"]["x2"]["field"] == "rri_high"
    assert layers[1]["encoding"]["x"]["scale"]["type"] == "log"
    assert layers[3]["encoding"]["text"]["field"] == "note"
    assert layers[2]["encoding"]["shape"]["field"] == "status"  # not colour alone
    data = json.dumps(spec["datasets"])
    assert '"note": "suppressed"' in data
    tips = {t["field"] for t in layers[2]["encoding"]["tooltip"]}
    assert {"count", "base_count", "rri_low", "rri_high"} <= tips
    assert "White" in spec["layer"][1]["encoding"]["x"]["title"]


def test_colour_blind_safe_palette_and_titles(wb):
    v = decision_point_view(wb, stages=["entered_care"], filters=Filters(first_year=2020, last_year=2025))
    for ch in v.charts():
        spec = ch.to_dict()
        assert spec.get("title"), "every chart says what it shows"
        text = json.dumps(spec)
        assert "#0072B2" in text or "#E69F00" in text


def test_trend_and_county_charts(wb):
    v = decision_point_view(wb, stages=["entered_care"], filters=Filters(first_year=2020, last_year=2025))
    assert v.focus_group in {"black", "aian"}
    kinds = [json.dumps(c.to_dict()) for c in v.charts()]
    assert any('"fiscal years"' in k for k in kinds)
    assert any('"jurisdiction"' in k for k in kinds)


def test_time_in_care_charts_carry_curve_points_and_exits_only(wb):
    v = time_in_care_view(wb, filters=Filters(jurisdiction="Statewide", first_year=2020, last_year=2025))
    assert set(v.curves.columns) == {"race_ethnicity", "months", "in_care", "in_care_low", "in_care_high"}
    specs = [json.dumps(c.to_dict()) for c in v.charts()]
    assert any("share still in care" in s for s in specs) and any("how children left care" in s for s in specs)


DRAWN = set(charts.CHART_FIELDS) | {"filled", "note", "one", "year"}


@pytest.mark.parametrize("place,first,last", [("Bluff", 2023, 2023), ("Statewide", 2020, 2025),
                                              ("Granite", 2020, 2022)])
def test_chart_data_carry_only_what_is_drawn_or_shown_on_hover(wb, place, first, last):
    """No method names, flags or counts of hidden cells in the data a chart embeds (issue 9)."""
    v = decision_point_view(wb, stages=["entered_care", "first_placement_kin"],
                            filters=Filters(jurisdiction=place, first_year=first, last_year=last, basis="decision"))
    for ch in v.charts():
        for rows in ch.to_dict()["datasets"].values():
            for row in rows:
                assert set(row) <= DRAWN, set(row) - DRAWN
                if row.get("status") == "suppressed" and row.get("count") is None:
                    assert row.get("rate") is None and row.get("rri") is None and row.get("rri_low") is None


def test_every_chart_a_page_draws_passes_the_vega_lite_schema(wb):
    """Batch runs skip Altair's schema check (equity_helpers.pages.workbook._unchecked_charts): this test is it,
    for every chart builder the pages use."""
    import jsonschema

    from equity_helpers.survey import page as survey_view

    from equity_helpers.pages import views

    specs = []
    overview = views.stage_overview(wb.release(), jurisdiction="Granite", first_year=2020, last_year=2025)
    specs.append(charts.stage_counts_chart(overview, title="t"))
    for place in ("Statewide", "Granite"):
        f = Filters(jurisdiction=place, first_year=2020, last_year=2025)
        specs += decision_point_view(wb, stages=["reported", "entered_care"], filters=f).charts()
        specs += decision_point_view(wb, stages=views.DECISION_CHAIN, filters=f).charts()
        specs += time_in_care_view(wb, filters=f).charts()
    rel = survey_view.open_survey(SAMPLE)
    specs += survey_view.survey_view(rel).charts()
    specs += survey_view.survey_view(rel, group="Tribal nations and programs", domain="data", wave="2025").charts()
    names = {type(c).__name__ if not isinstance(c, charts.Spec) else f"Spec:{c.kind}" for c in specs}
    assert len(specs) >= 15 and {"LayerChart", "FacetChart", "Spec:layer", "Spec:facet"} <= names
    for ch in specs:
        try:
            ch.to_dict(validate=True)
        except jsonschema.ValidationError as exc:  # pragma: no cover - the failure message
            pytest.fail(f"{ch.to_dict(validate=False).get('title')}: {exc.message}")


def test_chart_html_is_one_embed_call_with_the_spec_and_no_network():
    import re

    from equity_helpers.pages.charts import chart_html, offline_loader_html

    spec = {"title": "a title with </script> in it", "mark": "point", "data": {"values": [{"a": 1}]},
            "encoding": {"x": {"field": "a", "type": "quantitative"}}}
    page = chart_html(spec, {"renderer": "svg", "actions": False})
    assert "http" not in page and page.count("<script") == 1 and page.count("</script>") == 1
    m = re.search(r'vegaEmbed\(el,(.*),(\{"mode".*?\})\)\.catch', page)
    assert json.loads(m.group(1).replace("<\\/", "</")) == spec
    assert json.loads(m.group(2)) == {"mode": "vega-lite", "renderer": "svg", "actions": False}
    ids = re.findall(r'id="(eh-chart-[0-9a-f]+)"', page)
    assert len(ids) == 1 and f'getElementById("{ids[0]}")' in page and ids[0] not in chart_html(spec)
    # the style Altair repeated per chart is on the page once, with the runtime
    assert ".vega-embed{width:100%;display:flex}" in offline_loader_html(src="../assets/vega.js")


def test_a_group_has_one_colour_in_every_chart(wb):
    """The rates chart also shows all children; its colours must not shift against the ratio chart's."""
    v = decision_point_view(wb, stages=["entered_care"], filters=Filters(first_year=2020, last_year=2025))
    colours = []
    for ch in v.charts()[:2]:
        spec = ch.to_dict()
        scale = next(lay["encoding"]["color"]["scale"] for lay in _layers(spec)
                     if "scale" in lay.get("encoding", {}).get("color", {}))
        colours.append(dict(zip(scale["domain"], scale["range"])))
    rates, ratios = colours
    assert "all children" in rates and "all children" not in ratios
    assert all(rates[g] == ratios[g] for g in ratios) and len(set(rates.values())) == len(rates)
