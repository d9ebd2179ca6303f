"""Race/ethnicity schemes and the decision-point registry."""
import pandas as pd
import pytest

import equity_helpers as eh
from equity_helpers.schema import RACE_FLAGS, age_group_of, fiscal_year


def _kids(rows):
    cols = ["child_id", *RACE_FLAGS, "hispanic"]
    return pd.DataFrame(rows, columns=cols)


KIDS = _kids([
    ("hisp_white", 0, 0, 0, 0, 1, 0, "yes"),
    ("black", 0, 0, 1, 0, 0, 0, "no"),
    ("black_white", 0, 0, 1, 0, 1, 0, "no"),
    ("aian_white_hisp", 1, 0, 0, 0, 1, 0, "yes"),
    ("unknown", 0, 0, 0, 0, 0, 1, "unknown"),
    ("white_hisp_unknown", 0, 0, 0, 0, 1, 0, "unknown"),
])


def test_hispanic_first_hierarchy():
    g = eh.assign_groups(KIDS, scheme="hispanic_first").set_index("child_id")["race_ethnicity"]
    assert g.to_dict() == {"hisp_white": "hispanic", "black": "black", "black_white": "multiracial",
                           "aian_white_hisp": "hispanic", "unknown": "unknown", "white_hisp_unknown": "white"}


def test_conservative_scheme_puts_unknown_hispanic_origin_in_unknown():
    g = eh.assign_groups(KIDS, scheme="hispanic_first_conservative").set_index("child_id")["race_ethnicity"]
    assert g["white_hisp_unknown"] == "unknown" and g["black"] == "black"


def test_alone_or_in_combination_overlaps():
    g = eh.assign_groups(KIDS, scheme="alone_or_in_combination")
    by = g.groupby("race_ethnicity")["child_id"].apply(set).to_dict()
    assert by["black_aic"] == {"black", "black_white"}
    assert by["aian_aic"] == {"aian_white_hisp"}
    assert by.get("white", set()) == set()  # white_hisp_unknown is not known non-Hispanic
    assert by["unknown"] == {"unknown"}


def test_unknown_scheme_message():
    with pytest.raises(KeyError, match="Known schemes"):
        eh.get_scheme("nope")


def test_registry_matches_design():
    s = eh.STAGES
    assert s["screened_in"].decision_base == "reported"
    assert s["entered_care"].decision_base == "substantiated"
    assert s["first_placement_kin"].higher_is == "favourable"
    assert s["reentry_12m"].decision_base == "exited_to_family"
    assert s["aged_out"].decision_base == "exited"
    assert "exited" not in eh.DECISION_POINTS


def test_fiscal_year_and_age_groups():
    fy = fiscal_year(pd.Series(pd.to_datetime(["2022-09-30", "2022-10-01"])))
    assert fy.tolist() == [2022, 2023]
    assert list(age_group_of([0, 4.9, 5, 14, 17, 18])) == ["0-4", "0-4", "5-9", "10-14", "15-17", "18+"]
