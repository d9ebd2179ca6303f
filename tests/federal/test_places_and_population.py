"""Counties named through --counties (3-digit NCANDS codes through the state), or by their code; the population
as the workbook's population.csv or SEER's single-year-of-age county file."""
import pandas as pd
import pytest

from tests.federal.conftest import afcars, ncands, write

from equity_helpers.data.federal import import_federal, read_seer
from equity_helpers.errors import DataValidationError


def test_without_a_counties_file_places_are_named_by_code(run):
    _, t = run([ncands({}, {"RPTID": "R2", "RPTCNTY": "5"})], [afcars({})], with_counties=False)
    assert sorted(t["reports"]["jurisdiction"]) == ["46003", "46005"]
    assert t["episodes"]["jurisdiction"].tolist() == ["46003"]


def test_a_code_the_counties_file_lacks_is_named_by_code_and_counted(run):
    result, t = run([ncands({}, {"RPTID": "R2", "RPTCNTY": "007"})], [afcars({})])
    assert sorted(t["reports"]["jurisdiction"]) == ["46007", "Aurora"]
    assert result.accounting.set_index("reason").loc["unnamed_county", "rows"] == 1


@pytest.mark.parametrize("text,problem", [("fips,name\n46003,A\n", "needs the columns fips and jurisdiction"),
                                          ("fips,jurisdiction\n4600X,A\n", "not 5-digit"),
                                          ("fips,jurisdiction\n46003,A\n46003,B\n", "a fips code another row has")])
def test_a_bad_counties_file_is_refused(tmp_path, text, problem):
    c = tmp_path / "c.csv"
    c.write_text(text)
    with pytest.raises(DataValidationError, match=problem):
        import_federal(ncands=[write(ncands({}), tmp_path / "n.csv")], afcars=[write(afcars({}), tmp_path / "a.csv")],
                       counties=c, out=tmp_path / "out")


def test_the_workbooks_population_file_is_written_beside_the_data(run, tmp_path):
    pop = pd.DataFrame({"jurisdiction": ["Aurora"], "year": ["2024"], "race_ethnicity": ["black"],
                        "age_group": ["5-9"], "sex": ["male"], "population": ["100"]})
    result, _ = run([ncands({})], [afcars({})], population=write(pop, tmp_path / "pop.csv"))
    assert pd.read_csv(tmp_path / "out" / "population.csv", dtype=str).equals(pop)
    assert "population" in (tmp_path / "out" / "mapping.yml").read_text()
    assert result.summary.set_index("table").loc["population", "used"] == 1


def _seer(rows) -> str:
    """SEER records (26 bytes): year, state, state and county FIPS, registry, race, origin, sex, age, population."""
    return "".join(f"{y}{st}{sf}{co}99{race}{origin}{sex}{age:02d}{pop:08d}\n"
                   for y, st, sf, co, race, origin, sex, age, pop in rows)


def test_seer_single_ages_become_the_workbooks_groups(run, tmp_path):
    rows = [(2024, "SD", "46", "003", 2, 0, 1, 5, 10), (2024, "SD", "46", "003", 2, 0, 1, 9, 5),
            (2024, "SD", "46", "003", 1, 1, 2, 17, 7), (2024, "SD", "46", "003", 2, 1, 2, 15, 3),
            (2024, "SD", "46", "003", 1, 0, 2, 18, 99), (2024, "ND", "38", "001", 1, 0, 2, 3, 99),
            (2024, "SD", "46", "005", 4, 0, 1, 0, 4), (2024, "SD", "46", "005", 3, 0, 2, 85, 1)]
    path = tmp_path / "us.singleages.txt"
    path.write_text(_seer(rows))
    assert read_seer(path)["population"].sum() == sum(r[-1] for r in rows)
    result, _ = run([ncands({})], [afcars({})], population=path)
    pop = pd.read_csv(tmp_path / "out" / "population.csv")
    got = {tuple(r[:5]): r[5] for r in pop.itertuples(index=False)}
    assert got == {("Aurora", 2024, "black", "5-9", "male"): 15, ("Aurora", 2024, "hispanic", "15-17", "female"): 10,
                   ("Beadle", 2024, "asian_pacific", "0-4", "male"): 4}
    s = result.summary.set_index("table").loc["population"]
    assert (s["read"], s["used"], s["excluded"]) == (8, 5, 3)


def test_a_seer_file_of_age_groups_is_refused(run, tmp_path):
    path = tmp_path / "us.19ages.txt"
    path.write_text(_seer([(2024, "SD", "46", "003", 1, 0, 1, a, 10) for a in range(19)]))
    with pytest.raises(DataValidationError, match="need the file by single year of age"):
        run([ncands({})], [afcars({})], population=path)


def test_masked_ncands_county_codes_listed_in_the_code_maps_are_the_masked_place(run, monkeypatch):
    import copy

    from equity_helpers.data.federal import codes as code_maps
    from equity_helpers.data.federal import ncands as ncands_module
    from equity_helpers.data.federal.codes import masked_place

    maps = copy.deepcopy(code_maps())
    maps["ncands"]["masked_county"] = [999, 99999]
    monkeypatch.setattr(ncands_module, "codes", lambda: maps)
    _, t = run([ncands({}, {"RPTID": "R2", "RPTCNTY": "999"})], [afcars({})])
    assert sorted(t["reports"]["jurisdiction"]) == ["Aurora", masked_place()]
