"""Reading agency files through mapping.yml: CSV, Excel, Parquet and SQL."""
import sqlite3

import pandas as pd
import pytest
import yaml

import equity_helpers as eh


def _agency_children(tiny):
    c = tiny["children"].rename(columns={"child_id": "CHILD_ID", "birth_date": "DOB", "sex": "GENDER"})
    c["GENDER"] = c["GENDER"].map({"female": "F", "male": "M"})
    c["hispanic"] = c["hispanic"].map({"yes": "Y", "no": "N"})
    return c


MAPPING = {
    "extract_date": "2024-12-31",
    "tables": {
        "children": {"path": "kids.xlsx", "sheet": "Kids",
                     "columns": {"child_id": "CHILD_ID", "birth_date": "DOB", "sex": "GENDER"},
                     "codes": {"sex": {"F": "female", "M": "male"}, "hispanic": {"Y": "yes", "N": "no"}}},
        "reports": {"path": "intake.csv"},
        "episodes": {"path": "removals.parquet"},
        "population": {"path": "pop.csv"},
    },
}


def test_mapping_reads_excel_csv_parquet_with_renames_and_codes(tmp_path, tiny):
    _agency_children(tiny).to_excel(tmp_path / "kids.xlsx", sheet_name="Kids", index=False)
    tiny["reports"].to_csv(tmp_path / "intake.csv", index=False)
    tiny["episodes"].to_parquet(tmp_path / "removals.parquet", index=False)
    tiny["population"].to_csv(tmp_path / "pop.csv", index=False)
    (tmp_path / "mapping.yml").write_text(yaml.safe_dump(MAPPING))
    data = eh.load(mapping=tmp_path / "mapping.yml")
    assert data.data_end == pd.Timestamp("2024-12-31")
    assert set(data.children["sex"]) == {"female", "male"}
    assert data.problems == []
    ref = eh.stage_counts(eh.validate(tiny, extract_date="2024-12-31"))
    got = eh.stage_counts(data)
    pd.testing.assert_frame_equal(ref, got)


def test_mapping_reads_sql_through_sqlalchemy(tmp_path, tiny):
    db = tmp_path / "cw.db"
    with sqlite3.connect(db) as con:
        for name, df in tiny.items():
            df.to_sql(name, con, index=False)
    spec = {"database": f"sqlite:///{db}", "extract_date": "2024-02-01",
            "tables": {n: {"query": f"SELECT * FROM {n}"} for n in tiny}}
    (tmp_path / "mapping.yml").write_text(yaml.safe_dump(spec))
    data = eh.load(mapping=tmp_path / "mapping.yml")
    assert len(data.reports) == 8 and data.problems == []


def test_unmapped_code_is_reported_with_hint(tmp_path, tiny):
    kids = _agency_children(tiny)
    kids.loc[0, "GENDER"] = "U"
    kids.to_excel(tmp_path / "kids.xlsx", sheet_name="Kids", index=False)
    tiny["reports"].to_csv(tmp_path / "intake.csv", index=False)
    tiny["episodes"].to_parquet(tmp_path / "removals.parquet", index=False)
    tiny["population"].to_csv(tmp_path / "pop.csv", index=False)
    (tmp_path / "mapping.yml").write_text(yaml.safe_dump(MAPPING))
    with pytest.raises(eh.DataValidationError, match="codes section of mapping.yml"):
        eh.load(mapping=tmp_path / "mapping.yml")


def test_empty_folder_and_unknown_table_are_plain_errors(tmp_path):
    with pytest.raises(eh.DataValidationError, match="No data tables were found"):
        eh.load(tmp_path)
    (tmp_path / "m.yml").write_text("tables:\n  kids: {path: x.csv}\n")
    with pytest.raises(eh.DataValidationError, match="does not know"):
        eh.load(mapping=tmp_path / "m.yml")


def test_missing_file_is_reported(tmp_path):
    (tmp_path / "m.yml").write_text("tables:\n  children: {path: nothere.csv}\n")
    with pytest.raises(eh.DataValidationError, match="could not be read"):
        eh.load(mapping=tmp_path / "m.yml")


def _folder(tmp_path, tiny, **replace):
    for name, df in tiny.items():
        df.to_csv(tmp_path / f"{name}.csv", index=False)
    for name, text in replace.items():
        (tmp_path / f"{name}.csv").write_bytes(text)
    return tmp_path


def test_a_semicolon_file_with_a_byte_order_mark_is_read_and_the_reader_is_told(tmp_path, tiny):
    """Issue 16: it used to be reported as ten missing columns with no hint about the separator."""
    text = "\ufeff" + tiny["reports"].to_csv(index=False, sep=";")
    data = eh.load(_folder(tmp_path, tiny, reports=text.encode("utf-8")))
    assert len(data.reports) == len(tiny["reports"])
    notes = data.quality
    row = notes[notes["check"] == "read_as"]
    assert len(row) == 1 and "separated by semicolons" in row["message"].iloc[0]


def test_a_header_only_table_is_a_named_problem(tmp_path, tiny):
    header = (",".join(tiny["reports"].columns) + "\n").encode()
    with pytest.raises(eh.DataValidationError) as exc:
        eh.load(_folder(tmp_path, tiny, reports=header))
    assert "The reports table has no rows (only its header line was found)" in str(exc.value)


def test_events_after_the_extract_date_or_today_are_counted_and_left_out(tmp_path, tiny):
    future = tiny["reports"].copy()
    future.loc[len(future)] = ["r9", "B", "North", "2031-03-01", "1", "substantiated"]
    data = eh.load(_folder(tmp_path, tiny, reports=future.to_csv(index=False).encode()))
    q = data.quality
    msg = q.loc[q["check"] == "after_today", "message"]
    assert len(msg) == 1 and msg.iloc[0].startswith("1 rows have a report_date after today")
    assert "r9" not in set(data.reports["report_id"]) and data.data_end < pd.Timestamp("2026-01-01")
    acc = data.accounting
    assert acc[(acc["table"] == "reports") & (acc["outcome"] == "excluded")]["rows"].sum() >= 1
    data = eh.load(_folder(tmp_path, tiny, reports=future.to_csv(index=False).encode()), extract_date="2024-06-30")
    assert (data.quality["check"] == "future_date").any() and data.data_end == pd.Timestamp("2024-06-30")
