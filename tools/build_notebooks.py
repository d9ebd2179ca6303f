"""Write the workbook's notebooks (committed without outputs). Run: python tools/build_notebooks.py"""
from pathlib import Path

import nbformat as nbf

NB = Path(__file__).resolve().parent.parent / "notebooks"


def notebook(cells):
    nb = nbf.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    out = []
    for kind, src, *tags in cells:
        c = nbf.v4.new_markdown_cell(src) if kind == "md" else nbf.v4.new_code_cell(src)
        if tags:
            c.metadata["tags"] = list(tags)
        out.append(c)
    nb.cells = out
    return nb


START_HERE = [
    ("md", "# Start here: who is in the data\n\n"
           "This workbook follows children and families through each decision point of the child welfare "
           "system, from a call to the hotline to leaving foster care, and asks at each one whether children "
           "of some groups are more likely than others to reach it.\n\n"
           "This first page checks the data, says how many records were read, used and left out (and why), "
           "and shows how many children reached each decision point, by race and ethnicity. Small numbers are "
           "hidden to protect children's privacy."),
    ("code", "# Parameters: literals only. Papermill replaces this cell in batch runs.\n"
             "data_dir = \"../data/sample\"\n"
             "mapping = None\n"
             "jurisdiction = \"Statewide\"\n"
             "first_year = 2020\n"
             "last_year = 2025\n"
             "reference = \"white\"\n"
             "race_scheme = \"hispanic_first\"\n"
             "suppression_threshold = 10\n"
             "mode = \"interactive\"", "parameters"),
    ("code", "import equity_helpers as eh\n"
             "from IPython.display import Markdown, display\n\n"
             "eh.setup_notebook(mode)\n"
             "data = eh.load(data_dir, mapping=mapping)\n"
             "params = eh.check_parameters(data, jurisdiction=jurisdiction, first_year=first_year, "
             "last_year=last_year,\n"
             "                             reference=reference, race_scheme=race_scheme,\n"
             "                             suppression_threshold=suppression_threshold, mode=mode)\n"
             "policy = eh.SuppressionPolicy(max_count=params.suppression_threshold)\n"
             "display(Markdown(eh.describe_parameters(params)))"),
    ("md", "## Data quality\n\nEvery record read is either used or left out for a stated reason."),
    ("code", "display(data.accounting_summary())\n"
             "quality = data.quality\n"
             "display(Markdown(\"No data-quality problems were found.\") if quality.empty else "
             "quality[[\"severity\", \"table\", \"rows\", \"message\"]])"),
    ("md", "## Children at each decision point\n\nUnique children in the chosen years, by race and ethnicity. "
           "\"suppressed\" marks a count from 1 to the suppression threshold, or a count hidden so that a small "
           "one cannot be worked out from the totals. A suppressed count is not zero."),
    ("code", "counts = eh.stage_counts(data, scheme=params.race_scheme)\n"
             "view = eh.views.stage_overview(counts, jurisdiction=params.jurisdiction, first_year=params.first_year,\n"
             "                               last_year=params.last_year, policy=policy)\n"
             "eh.charts.stage_counts_chart(view, title=f\"Children at each decision point, {params.jurisdiction}, \"\n"
             "                             f\"FY{params.first_year}-FY{params.last_year}\")"),
    ("code", "display(eh.views.stage_overview_table(view))\n"
             "display(Markdown(policy.describe()))"),
]


def main() -> None:
    NB.mkdir(exist_ok=True)
    nbf.write(notebook(START_HERE), NB / "00_start_here.ipynb")


if __name__ == "__main__":
    main()
