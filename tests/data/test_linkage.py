"""Linkage with a DV partner: the keyed family hash, the partner's table, service timing, the synthetic partner."""
from __future__ import annotations

import hashlib
import hmac
import re
from datetime import date

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from equity_helpers.errors import DataValidationError, ParameterError
from equity_helpers.data.linkage import (
    MESSAGES,
    PARTNER_PLANTED,
    SAMPLE_KEY,
    SERVICE_TYPES,
    TIMING,
    family_hash,
    hash_families,
    normalise_name,
    partner_sample,
    partner_truth,
    service_timing,
    validate_dv_services,
)

HEX64 = re.compile(r"^[0-9a-f]{64}$")
PROPS = settings(database=None, deadline=None, max_examples=60)  # no example database in the repository
Z99 = 2.5758293035489004  # two-sided 99% normal quantile


# --------------------------------------------------------------------------- names and hash
@pytest.mark.parametrize("raw, expected", [
    ("María-José O'Neil", "MARIAJOSEONEIL"),
    ("maría josé", "MARIAJOSE"),
    ("  de la Cruz ", "DELACRUZ"),
    ("Nguyễn", "NGUYEN"),
    ("Núñez", "NUNEZ"),
    ("D'Angelo-Smith Jr. 3rd", "DANGELOSMITHJRRD"),
    ("Straße", "STRASSE"),
    ("Ølsen", "LSEN"),
    ("ﬁnn", "FINN"),
    ("", ""),
    ("--' ", ""),
])
def test_normalise_name_examples(raw, expected):
    assert normalise_name(raw) == expected


def test_normalise_name_refuses_non_text():
    with pytest.raises(ParameterError):
        normalise_name(None)  # type: ignore[arg-type]


def test_same_person_written_differently_gets_the_same_hash():
    key = "shared-secret"
    agency = family_hash("O'Neil", "María-José", "1985-03-07", key=key)
    assert agency == family_hash("ONEIL", "maria jose", date(1985, 3, 7), key=key)
    assert agency == family_hash(" o neil ", "MARÍA JOSÉ", pd.Timestamp("1985-03-07 14:30"), key=key)
    assert agency == family_hash("O’Neil", "Maria-Jose", "03/07/1985", key=key.encode())  # month before day
    assert agency == family_hash("O'Neil", "María-José", np.datetime64("1985-03-07"), key=key)


def test_different_key_or_person_gives_a_different_hash():
    h = family_hash("Begay", "Dakota", "1990-01-02", key="key-one")
    assert h != family_hash("Begay", "Dakota", "1990-01-02", key="key-two")
    assert h != family_hash("Dakota", "Begay", "1990-01-02", key="key-one")  # field order matters
    assert h != family_hash("Begay", "Dakota", "1990-02-01", key="key-one")


def test_hash_is_the_documented_recipe():
    """HMAC-SHA256 with the key over LAST|FIRST|YYYY-MM-DD (normalised), as lowercase hex."""
    expected = hmac.new(b"test-key", b"ONEIL|MARIAJOSE|1985-03-07", hashlib.sha256).hexdigest()
    assert family_hash("O'Neil", "María-José", "1985-03-07", key="test-key") == expected
    assert family_hash("O'Neil", "María-José", "1985-03-07", key=b"test-key") == expected


@pytest.mark.parametrize("args, key", [
    (("Smith", "Ana", "1990-01-01"), ""),
    (("Smith", "Ana", "1990-01-01"), b""),
    ((None, "Ana", "1990-01-01"), "k"),
    (("Smith", "", "1990-01-01"), "k"),
    (("Smith", float("nan"), "1990-01-01"), "k"),
    (("--", "Ana", "1990-01-01"), "k"),
    (("Smith", "Ana", None), "k"),
    (("Smith", "Ana", ""), "k"),
    (("Smith", "Ana", "not a date"), "k"),
    (("Smith", "Ana", pd.NaT), "k"),
    (("Smith", "Ana", 19900101), "k"),
])
def test_family_hash_refuses_missing_parts(args, key):
    with pytest.raises(ParameterError):
        family_hash(*args, key=key)


names = st.text(st.characters(categories=("Lu", "Ll", "Lt", "Lo", "Mn", "Zs", "Pd", "Po", "Nd")), min_size=1,
                max_size=20)


@PROPS
@given(last=names, first=names, born=st.dates(date(1900, 1, 1), date(2100, 12, 31)),
       key=st.one_of(st.text(min_size=1, max_size=30), st.binary(min_size=1, max_size=30)))
def test_family_hash_is_64_lowercase_hex_and_deterministic(last, first, born, key):
    assume(normalise_name(last) and normalise_name(first))
    h = family_hash(last, first, born, key=key)
    assert HEX64.match(h)
    assert h == family_hash(last, first, born.isoformat(), key=key)
    assert h == family_hash(normalise_name(last), normalise_name(first), pd.Timestamp(born), key=key)


@PROPS
@given(st.text(max_size=40))
def test_normalise_name_is_idempotent_and_letters_only(s):
    once = normalise_name(s)
    assert normalise_name(once) == once
    assert re.fullmatch(r"[A-Z]*", once)


def test_hash_families_matches_family_hash_and_counts_missing_rows():
    df = pd.DataFrame({
        "caregiver_last_name": ["García", None, "Kim", "Lee", "Yazzie"],
        "caregiver_first_name": ["Ana", "Mei", "Ji-woo", "Sam", "  "],
        "caregiver_birth_date": ["1980-05-01", "1981-01-01", "soon", pd.Timestamp("1979-12-31"), "1990-01-01"],
    }, index=[10, 11, 12, 13, 14])
    h = hash_families(df, key="k")
    assert list(h.index) == [10, 11, 12, 13, 14] and h.name == "family_hash"
    assert h.isna().tolist() == [False, True, True, False, True]
    assert h.attrs["unhashed"] == 3
    assert h[10] == family_hash("García", "Ana", "1980-05-01", key="k")
    assert h[13] == family_hash("Lee", "Sam", "1979-12-31", key="k")
    with pytest.raises(ParameterError):
        hash_families(df, key="")
    with pytest.raises(ParameterError, match="caregiver_dob"):
        hash_families(df, birth="caregiver_dob", key="k")


# --------------------------------------------------------------------------- the partner's table
def _h(i: int) -> str:
    return hashlib.sha256(str(i).encode()).hexdigest()


def test_validate_reports_every_problem_at_once():
    rows = [  # record: what is wrong
        (_h(1), "2024-01-05", "2024-02-01", "shelter", "A"),            # 1 fine
        ("abc123", "2024-01-05", "", "advocacy", "A"),                  # 2 hash too short
        (None, "2024-01-05", "", "advocacy", "A"),                      # 3 no hash
        (_h(4).upper(), "2024-03-01", "", " Legal advocacy ", "B"),     # 4 fine (upper-case hex, spelling)
        (_h(5), "", "", "counseling", "B"),                             # 5 no start
        (_h(6), "soon", "", "counseling", "B"),                         # 6 start not a date
        (_h(7), "2024-05-01", "2024-04-01", "shelter", "A"),            # 7 end before start
        (_h(8), "2025-12-01", "", "hotline", "C"),                      # 8 start after the extract date
        (_h(9), "2024-06-01", "2024-06-01", "Support group", "C"),      # 9 unknown type -> other, kept
        (_h(1), "2024-01-05", "2024-02-01", "shelter", "A"),            # 10 copy of record 1
        (_h(11), "2024-07-01", "tbd", "advocacy", "A"),                 # 11 end not a date
        (_h(12), "2024-08-01", None, " ", None),                        # 12 empty type -> other, kept
        (_h(13), "2025-01-01", "2026-01-01", "advocacy", "A"),          # 13 end after the extract date
        (_h(8), "2025-12-01", "", "hotline", "C"),                      # 14 copy of excluded 8: stays future_date
    ]
    raw = pd.DataFrame(rows, columns=["family_hash", "service_start", "service_end", "service_type", "program"])
    out = validate_dv_services(raw, extract_date="2025-09-30")
    found = {(p.check, p.message): (p.rows, p.examples, p.severity) for p in out.problems}
    assert found == {
        ("bad_hash", MESSAGES["bad_hash"].format(n=2)): (2, "2, 3", "warning"),
        ("missing_value", MESSAGES["missing_value"].format(n=1, column="service_start")): (1, "5", "warning"),
        ("unreadable_date", MESSAGES["unreadable_date"].format(n=1, column="service_start")): (1, "6", "warning"),
        ("unreadable_date", MESSAGES["unreadable_date"].format(n=1, column="service_end")): (1, "11", "warning"),
        ("end_before_start", MESSAGES["end_before_start"].format(n=1)): (1, "7", "warning"),
        ("future_date", MESSAGES["future_date"].format(n=2, column="service_start", end=date(2025, 9, 30))):
            (2, "8, 14", "warning"),
        ("future_date", MESSAGES["future_date"].format(n=1, column="service_end", end=date(2025, 9, 30))):
            (1, "13", "warning"),
        ("duplicate_row", MESSAGES["duplicate_row"].format(n=1)): (1, "10", "warning"),
        ("unknown_service_type", MESSAGES["unknown_service_type"].format(
            n=2, codes="'Support group', (empty)", allowed=", ".join(SERVICE_TYPES))): (2, "9, 12", "warning"),
    }
    assert "family_hash is not a 64-character hash" in MESSAGES["bad_hash"]
    acc = out.accounting
    assert set(acc["table"]) == {"dv_services"}
    read = int(acc.loc[acc["outcome"] == "read", "rows"].sum())
    used = int(acc.loc[acc["outcome"] == "used", "rows"].sum())
    excluded = acc[acc["outcome"] == "excluded"].set_index("reason")["rows"].to_dict()
    assert (read, used) == (14, 4)
    assert excluded == {"bad_hash": 2, "missing_value": 1, "unreadable_date": 2, "end_before_start": 1,
                        "future_date": 3, "duplicate_row": 1}
    assert read == used + sum(excluded.values())
    assert out.accounting_summary()[["read", "used", "excluded"]].iloc[0].tolist() == [14, 4, 10]
    s = out.services
    assert list(s.columns) == ["family_hash", "service_start", "service_end", "service_type", "program"]
    assert s["family_hash"].tolist() == [_h(1), _h(4), _h(9), _h(12)]
    assert s["service_type"].tolist() == ["shelter", "legal_advocacy", "other", "other"]
    assert all(pd.api.types.is_datetime64_any_dtype(s[c]) for c in ("service_start", "service_end"))
    assert s["service_end"].isna().tolist() == [False, True, False, True]
    assert s["program"].isna().tolist() == [False, False, False, True]
    assert len(out.quality) == len(out.problems)


def test_missing_columns_are_all_named_at_once():
    raw = pd.DataFrame({"service_start": ["2024-01-01"], "program": ["A"]})
    with pytest.raises(DataValidationError) as err:
        validate_dv_services(raw)
    missing = {p.message for p in err.value.problems if p.check == "missing_column"}
    assert missing == {MESSAGES["missing_column"].format(table="dv_services", column=c)
                       for c in ("family_hash", "service_type")}
    assert "'family_hash'" in str(err.value) and "'service_type'" in str(err.value)


def test_empty_table_and_no_usable_row_are_errors():
    cols = ["family_hash", "service_start", "service_type"]
    with pytest.raises(DataValidationError) as err:
        validate_dv_services(pd.DataFrame(columns=cols))
    assert [p.check for p in err.value.problems] == ["empty_table"]
    with pytest.raises(DataValidationError) as err:
        validate_dv_services(pd.DataFrame([["x", "2024-01-01", "shelter"], [_h(2), "", "shelter"]], columns=cols))
    assert [(p.check, p.severity) for p in err.value.problems] == [
        ("bad_hash", "warning"), ("missing_value", "warning"), ("no_rows_left", "error")]


def test_without_extract_date_dates_after_today_are_left_out():
    far = (pd.Timestamp.today() + pd.Timedelta(days=400)).strftime("%Y-%m-%d")
    raw = pd.DataFrame({"family_hash": [_h(1), _h(2)], "service_start": ["2024-01-01", far],
                        "service_type": ["shelter", "hotline"]})
    out = validate_dv_services(raw)
    assert [(p.check, p.rows, p.examples) for p in out.problems] == [("after_today", 1, "2")]
    assert "service_end" in out.services and out.services["service_end"].isna().all()


# --------------------------------------------------------------------------- timing
REPORT = pd.Timestamp("2024-06-30")


def _services(*rows) -> pd.DataFrame:
    return pd.DataFrame([(h, pd.Timestamp(s), pd.Timestamp(e) if e else pd.NaT) for h, s, e in rows],
                        columns=["family_hash", "service_start", "service_end"])


def test_service_timing_boundaries():
    d = pd.Timedelta
    cases = {  # family: (services as (start offset, end offset or None), expected with default windows)
        "exactly_365_before": ([(-365, -300)], "before"),
        "366_before_ended": ([(-366, -10)], "none"),
        "long_ago_ongoing": ([(-900, None)], "before"),
        "long_ago_ends_on_report_day": ([(-900, 0)], "before"),
        "long_ago_ended_day_before": ([(-900, -1)], "none"),
        "same_day": ([(0, 0)], "before"),
        "exactly_180_after": ([(180, 200)], "after_only"),
        "181_after": ([(181, None)], "none"),
        "before_and_after": ([(-30, -20), (10, None)], "before"),
        "not_served": ([], "none"),
    }
    svc_rows, reports = [], []
    for i, (fam, (spells, expected)) in enumerate(cases.items()):
        for s, e in spells:
            svc_rows.append((_h(i), REPORT + d(days=s), None if e is None else REPORT + d(days=e)))
        reports.append((fam, REPORT, _h(i).upper() if fam == "same_day" else _h(i), expected))
    reports += [("no_hash", REPORT, None, "unlinked"), ("blank_hash", REPORT, " ", "unlinked")]
    rep = pd.DataFrame(reports, columns=["report_id", "report_date", "family_hash", "expected"],
                       index=range(100, 100 + len(reports)))
    svc = pd.DataFrame(svc_rows, columns=["family_hash", "service_start", "service_end"])
    out = service_timing(rep, svc)
    assert list(out.index) == list(rep.index) and list(out.columns) == ["report_id", "dv_services"]
    assert list(out["dv_services"].cat.categories) == list(TIMING)
    assert dict(zip(out["report_id"], out["dv_services"].astype(str))) == dict(zip(rep["report_id"], rep["expected"]))
    narrow = service_timing(rep, svc, before_days=0, after_days=179).set_index("report_id")["dv_services"]
    assert narrow["exactly_365_before"] == "none" and narrow["same_day"] == "before"
    assert narrow["exactly_180_after"] == "none" and narrow["long_ago_ongoing"] == "before"


def test_service_timing_without_hash_column_or_services():
    rep = pd.DataFrame({"report_id": ["a", "b"], "report_date": ["2024-01-01", "2024-02-01"]})
    assert service_timing(rep, _services()).dv_services.astype(str).tolist() == ["unlinked", "unlinked"]
    rep["family_hash"] = [_h(1), None]
    no_end = _services((_h(1), "2023-12-01", None)).drop(columns="service_end")
    assert service_timing(rep, no_end).dv_services.astype(str).tolist() == ["before", "unlinked"]
    assert service_timing(rep, _services()).dv_services.astype(str).tolist() == ["none", "unlinked"]
    for bad in ({"before_days": -1}, {"after_days": 1.5}, {"before_days": True}):
        with pytest.raises(ParameterError):
            service_timing(rep, _services(), **bad)


# --------------------------------------------------------------------------- the synthetic partner
DATA_END = pd.Timestamp("2025-09-30")
GROUPS = list(PARTNER_PLANTED["before"])


@pytest.fixture(scope="module")
def synthetic():
    """8,000 children (1,000 per group), 1-3 reports each in FY2020-FY2025, ~60% of children DV-involved."""
    rng = np.random.default_rng(7)
    n = 8000
    child = np.array([f"C{i:05d}" for i in range(n)])
    race = pd.Series(np.repeat(GROUPS, n // len(GROUPS)), index=child)
    dv = np.where(rng.random(n) < 0.6, "yes", np.where(rng.random(n) < 0.3, "unknown", "no"))
    k = 1 + rng.poisson(0.6, n).clip(0, 2)
    rc = np.repeat(np.arange(n), k)
    dates = pd.Timestamp("2019-10-01") + pd.to_timedelta(rng.integers(0, 2191, len(rc)), unit="D")
    reports = pd.DataFrame({"report_id": [f"R{i:06d}" for i in range(len(rc))], "child_id": child[rc],
                            "report_date": dates.strftime("%Y-%m-%d"), "dv_involved": dv[rc]})
    hashes, services = partner_sample(reports, race=race, rng=np.random.default_rng(2027), key=SAMPLE_KEY,
                                      data_end=DATA_END)
    return reports, race, hashes, services


def test_partner_sample_is_a_clean_partner_table(synthetic):
    reports, _, hashes, services = synthetic
    assert list(services.columns) == ["family_hash", "service_start", "service_end", "service_type", "program"]
    out = validate_dv_services(services, extract_date=DATA_END)
    assert out.problems == []
    acc = out.accounting_summary().iloc[0]
    assert acc["read"] == acc["used"] == len(services) and acc["excluded"] == 0
    s = out.services
    assert s["service_start"].max() <= DATA_END and (s["service_end"].dropna() <= DATA_END).all()
    assert (s["service_end"].dropna() >= s["service_start"][s["service_end"].notna()]).all()
    assert set(s["service_type"]) == set(SERVICE_TYPES)
    assert s["service_end"].isna().any()  # some services still going on at the extract
    assert hashes.index.equals(reports.index)
    assert hashes.dropna().map(lambda h: bool(HEX64.match(h))).all()
    assert hashes.isna().mean() == pytest.approx(PARTNER_PLANTED["no_identifiers"], abs=0.01)
    pairs = pd.DataFrame({"c": reports["child_id"], "h": hashes}).dropna().drop_duplicates()
    assert pairs["c"].is_unique and pairs["h"].is_unique  # one caregiver per child, the same hash on every report


def test_partner_sample_links_and_includes_families_the_agency_never_saw(synthetic):
    reports, _, hashes, services = synthetic
    agency = set(hashes.dropna())
    linked = services["family_hash"].isin(agency)
    assert linked.sum() > 1000
    share_unseen = 1 - linked.mean()
    assert 0.4 < share_unseen < 0.6  # about 1 unseen row per planted row
    dv_linked = hashes[reports["dv_involved"].eq("yes").to_numpy()].dropna()
    assert dv_linked.isin(set(services["family_hash"])).mean() > 0.4
    no_dv = hashes[~reports["child_id"].isin(reports.loc[reports["dv_involved"] == "yes", "child_id"])].dropna()
    assert not no_dv.isin(set(services["family_hash"])).any()  # services are planted for DV families only


def _first_dv_timing(synthetic) -> pd.DataFrame:
    reports, race, hashes, services = synthetic
    out = validate_dv_services(services, extract_date=DATA_END)
    rep = reports.assign(family_hash=hashes, report_date=pd.to_datetime(reports["report_date"]))
    first = (rep[rep["dv_involved"] == "yes"].sort_values(["report_date", "report_id"])
             .drop_duplicates("child_id"))
    timing = service_timing(first, out.services)
    return first.assign(timing=timing["dv_services"].astype(str), race=first["child_id"].map(race))


def test_partner_sample_recovers_the_planted_before_shares(synthetic):
    d = _first_dv_timing(synthetic)
    d = d[d["timing"] != "unlinked"]
    assert len(d) > 3000
    truth = partner_truth().set_index("race")
    for g, grp in d.groupby("race"):
        n, p = len(grp), truth.loc[g, "before"]
        assert p == PARTNER_PLANTED["before"][g]
        got = (grp["timing"] == "before").mean()
        assert abs(got - p) <= Z99 * np.sqrt(p * (1 - p) / n), (g, got, p, n)
    full = d[d["report_date"] <= DATA_END - pd.Timedelta(days=PARTNER_PLANTED["after_days"])]
    for g, grp in full.groupby("race"):
        n, p = len(grp), truth.loc[g, "after_only"]
        got = (grp["timing"] == "after_only").mean()
        assert abs(got - p) <= Z99 * np.sqrt(p * (1 - p) / n), (g, got, p, n)


def test_partner_sample_is_reproducible_and_checks_its_input(synthetic):
    reports, race, hashes, services = synthetic
    again = partner_sample(reports, race=race, rng=np.random.default_rng(2027), key=SAMPLE_KEY, data_end=DATA_END)
    assert again[0].equals(hashes) and again[1].equals(services)
    other_key = partner_sample(reports.head(50), race=race, rng=np.random.default_rng(1), key="other",
                               data_end=DATA_END)[0]
    assert not other_key.dropna().isin(set(hashes)).any()
    with pytest.raises(ParameterError, match="martian"):
        partner_sample(reports.head(5), race=race.replace("white", "martian"), rng=np.random.default_rng(1),
                       key=SAMPLE_KEY, data_end=DATA_END)
    with pytest.raises(ParameterError, match="dv_involved"):
        partner_sample(reports.drop(columns="dv_involved"), race=race, rng=np.random.default_rng(1),
                       key=SAMPLE_KEY, data_end=DATA_END)


def test_partner_truth():
    t = partner_truth()
    assert list(t["race"]) == GROUPS
    assert np.allclose(t["before"] + t["after_only"] + t["none"], 1)
    for _, r in t.iterrows():
        assert r["after_only"] == pytest.approx((1 - r["before"]) * PARTNER_PLANTED["after"][r["race"]])
