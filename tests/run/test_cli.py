"""The equity-workbook command line."""
import pandas as pd
import pytest

from equity_helpers.run.cli import main


@pytest.fixture
def ojjdp_like(tmp_path):
    # a juvenile-justice style chain with its own bases: population -> arrest -> referral -> detention
    rows = []
    for g, arr, ref, det, pop in (("white", 2000, 1500, 300, 100000), ("black", 1800, 1500, 450, 30000),
                                  ("hispanic", 900, 700, 150, 40000), ("asian", 40, 30, 6, 8000)):
        rows += [("State", 2020, g, "arrest", arr, "population"), ("State", 2020, g, "referral", ref, "arrest"),
                 ("State", 2020, g, "detention", det, "referral")]
        (tmp_path / "x").write_text("")
    counts = pd.DataFrame(rows, columns=["jurisdiction", "period", "race_ethnicity", "stage", "count", "base"])
    pop = pd.DataFrame({"jurisdiction": "State", "period": 2020, "race_ethnicity": ["white", "black", "hispanic",
                                                                                     "asian"],
                        "population": [100000, 30000, 40000, 8000]})
    counts.to_csv(tmp_path / "counts.csv", index=False)
    pop.to_csv(tmp_path / "pop.csv", index=False)
    return tmp_path


def test_measures_command_writes_every_row(ojjdp_like, capsys):
    out = ojjdp_like / "out.csv"
    code = main(["measures", "--counts", str(ojjdp_like / "counts.csv"), "--population", str(ojjdp_like / "pop.csv"),
                 "--out", str(out)])
    assert code == 0
    m = pd.read_csv(out)
    for col in ("count", "base_count", "rate", "rate_low", "rate_high", "di", "rri", "rri_low", "rri_high", "p_value",
                "excess", "suppressed", "unstable", "insufficient", "zero_cell"):
        assert col in m.columns
    det = m[(m.stage == "detention") & (m.basis == "decision") & (m.race_ethnicity == "black")].iloc[0]
    assert det.rri == pytest.approx((450 / 1500) / (300 / 1500))
    assert det.base == "referral"
    arr = m[(m.stage == "arrest") & (m.basis == "population") & (m.race_ethnicity == "black")].iloc[0]
    assert arr.rate == pytest.approx(60.0)  # per 1,000
    asian = m[(m.stage == "detention") & (m.race_ethnicity == "asian") & (m.basis == "decision")].iloc[0]
    assert asian.suppressed and pd.isna(asian["count"])
    assert "rows suppressed" in capsys.readouterr().out


def test_no_suppression_flag_shows_small_cells(ojjdp_like):
    out = ojjdp_like / "out.csv"
    assert main(["measures", "--counts", str(ojjdp_like / "counts.csv"), "--population",
                 str(ojjdp_like / "pop.csv"), "--out", str(out), "--no-suppression"]) == 0
    m = pd.read_csv(out)
    assert (m[(m.stage == "detention") & (m.race_ethnicity == "asian")]["count"] == 6).all()


def test_unknown_reference_is_a_plain_error(ojjdp_like, capsys):
    code = main(["measures", "--counts", str(ojjdp_like / "counts.csv"), "--reference", "martian",
                 "--out", str(ojjdp_like / "o.csv")])
    assert code == 2
    assert "Reference group 'martian' is not in the data" in capsys.readouterr().err


def test_sample_command_scales(tmp_path):
    assert main(["sample", "--children", "3000", "--out", str(tmp_path / "s"), "--format", "parquet"]) == 0
    kids = pd.read_parquet(tmp_path / "s" / "children.parquet")
    assert 2500 < len(kids) < 3500
    assert (tmp_path / "s" / "truth_table.csv").exists()


def test_every_option_explains_itself_with_its_default():
    """Issue 28: ``--help`` reads as plain words (no reStructuredText), every option of every command has a
    help text, and options with a default say it; the top help ends with examples."""
    import argparse

    from equity_helpers.run.cli import build_parser

    parser = build_parser()
    top = parser.format_help()
    assert "``" not in top and "examples:" in top and "equity-workbook batch --data" in top
    subs = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    missing = []
    for name, sp in subs.choices.items():
        text = " ".join(sp.format_help().split())
        for action in sp._actions:
            if not action.option_strings or action.dest == "help":
                continue
            if not action.help:
                missing.append(f"{name} {action.option_strings[0]}")
            elif action.default not in (None, False) and not action.required:
                assert f"default: {action.default}" in text or "default" in action.help, (name, action.dest)
    assert not missing, f"options without help: {missing}"
