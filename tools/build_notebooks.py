"""Write the workbook's notebooks (committed without outputs). Run: python tools/build_notebooks.py"""
from pathlib import Path

import nbformat as nbf

NB = Path(__file__).resolve().parent.parent / "notebooks"


def notebook(cells, scope=None):
    """``scope`` "collaboration": a page about the whole collaboration, run once per batch (not per place)."""
    nb = nbf.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    if scope:
        nb.metadata["equity_workbook"] = {"scope": scope}
    out = []
    numbered = 0
    for kind, src, *tags in cells:
        c = nbf.v4.new_markdown_cell(src) if kind == "md" else nbf.v4.new_code_cell(src)
        ids = [t[3:] for t in tags if t.startswith("id:")]  # a named cell keeps its id when cells move
        tags = [t for t in tags if not t.startswith("id:")]
        if tags:
            c.metadata["tags"] = list(tags)
        if ids:
            c.id = ids[0]
        else:
            c.id = f"cell-{numbered:02d}"  # stable ids: rebuilding changes nothing unless the content does
            numbered += 1
        out.append(c)
    nb.cells = out
    return nb




HOW_TO_READ = (
    "### How to read this page\n\n"
    "- **Rate**: how many children reached this decision for every 1,000 children in the community "
    "(population base), or for every 100 children at the previous decision (decision base).\n"
    "- **Relative rate index (RRI)**: a group's rate divided by the comparison group's rate. 1 means the "
    "same rate; 2 means twice as often; 0.5 means half as often. The line at 1 on the charts marks "
    "\"the same rate\".\n"
    "- **Population base or decision base**: the population base adds up everything that happened before "
    "this decision; the decision base shows only what is added at this decision.\n"
    "- **95% confidence interval (CI)**: the range the rate or ratio could reasonably be in, given chance. "
    "When it includes 1, the difference could be due to chance.\n"
    "- **Disproportionality index**: a group's share of the children at this decision divided by its share "
    "of the community's children.\n"
    "- **Excess children**: how many more (or fewer) children of a group reached this decision than would "
    "have at the comparison group's rate.\n"
    "- **Suppressed** numbers are hidden to protect privacy; they are never zero. **Unstable** numbers rest "
    "on 20 or fewer children and can swing from year to year.\n\n"
    "Ratios describe differences; they do not explain why a difference exists. Children's and families' "
    "experiences, and the community's knowledge, are needed for that."
)

PARAMS = ("# Parameters: literals only. Papermill replaces this cell in batch runs.\n"
          "data_dir = \"../data/sample\"\n"
          "mapping = None\n"
          "jurisdiction = \"Statewide\"\n"
          "first_year = 2020\n"
          "last_year = 2025\n"
          "reference = \"white\"\n"
          "race_scheme = \"hispanic_first\"\n"
          "suppression_threshold = 10\n"
          "mode = \"interactive\"\n"
          "cache = None  # set by batch runs: the workbook validated once for every run")

START = ("import equity_helpers as eh\n"
         "from IPython.display import Markdown, display\n\n"
         "wb, params, filters = eh.start(data_dir=data_dir, mapping=mapping, jurisdiction=jurisdiction,\n"
         "                               first_year=first_year, last_year=last_year, reference=reference,\n"
         "                               race_scheme=race_scheme, suppression_threshold=suppression_threshold,\n"
         "                               mode=mode, basis={basis!r}, cache=cache)\n"
         "display(Markdown(eh.describe_parameters(params)))")


START_HERE = [
    ("md", "# Start here: who is in the data\n\n"
           "This workbook follows children and families through each decision point of the child welfare "
           "system, from a call to the hotline to leaving foster care, and asks at each one whether children "
           "of some groups are more likely than others to reach it.\n\n"
           "This first page checks the data, says how many records were read, used and left out (and why), "
           "and shows how many children reached each decision point, by race and ethnicity. Small numbers are "
           "hidden to protect children's privacy."),
    ("code", PARAMS, "parameters"),
    ("code", START.format(basis="population") + "\n"
             "data = wb.data\n"
             "policy = wb.policy or eh.SuppressionPolicy(max_count=0, complementary=False)"),
    ("md", "## Data quality\n\nEvery record read is either used or left out for a stated reason."),
    ("code", "display(data.accounting_summary())\n"
             "quality = data.quality\n"
             "display(Markdown(\"No data-quality problems were found.\") if quality.empty else "
             "quality[[\"severity\", \"table\", \"rows\", \"message\"]])"),
    ("md", "## Children at each decision point\n\nChildren in the chosen years, by race and ethnicity: each child is "
           "counted once in each year they reached a decision point (child-years). "
           "\"suppressed\" marks a count from 1 to the suppression threshold, or a count hidden so that a small "
           "one cannot be worked out from the totals. A suppressed count is not zero."),
    ("code", "view = eh.views.stage_overview(wb.release(params.race_scheme), jurisdiction=params.jurisdiction,\n"
             "                               first_year=params.first_year, last_year=params.last_year)\n"
             "eh.charts.stage_counts_chart(view, title=f\"Children at each decision point, {params.jurisdiction}, \"\n"
             "                             f\"{eh.views.window_phrase(params.first_year, params.last_year)}\")"),
    ("code", "display(eh.views.stage_overview_table(view))\n"
             "display(Markdown(policy.describe()))"),
]


def opening(intro_md, basis):
    """Every decision-point notebook opens the same way: introduction, how to read, parameters, start."""
    return [("md", intro_md), ("md", HOW_TO_READ), ("code", PARAMS, "parameters"), ("code", START.format(basis=basis))]


def decision_point(title, intro, stages, prompts, basis="population", extra=()):
    return [
        *opening(f"# {title}\n\n{intro}", basis),
        ("md", "## What the numbers show"),
        ("code", f"view = eh.show_view(wb, filters=filters, mode=mode, stages={stages!r})"),
        *extra,
        ("md", "## Questions for discussion\n\n" + "\n".join(f"{i}. {q}" for i, q in enumerate(prompts, 1))),
    ]


ENTRY_STAGES = ["entered_care", "entered_after_substantiation"]
DECISION_BASE = [
    ("md", "## Per 100 substantiated: the same year, and the children followed from their finding\n\n"
           "The first rate divides the year's entries by the same year's substantiated children; the second follows "
           "the substantiated children and counts those who entered care within 90 days.", "id:decision-base-heading"),
    ("code", "decision = eh.views.Filters(**{**filters.__dict__, \"basis\": \"decision\"})\n"
             f"eh.views.decision_point_view(wb, stages={ENTRY_STAGES!r}, filters=decision).show()",
     "id:decision-base-view"),
]


NOTEBOOKS = {
    "01_reports.ipynb": decision_point(
        "Reports to the hotline",
        "Anyone can call the child abuse and neglect hotline: teachers, doctors, police, neighbours, relatives. "
        "This page compares how often children of each group were the subject of a report, for every 1,000 "
        "children of that group living in the community.",
        ["reported"],
        ["Who makes most of the reports in our community, and does that differ by neighbourhood or group?",
         "What supports could families receive without a report to the hotline?",
         "Which groups' rates have changed over the years, and what else changed at the same time?"]),
    "02_screening.ipynb": decision_point(
        "Screening in",
        "After a call, hotline staff decide whether the report is screened in for an investigation or "
        "assessment. The decision base compares children screened in with all children reported.",
        ["screened_in"],
        ["What information do screeners have when they decide, and what is missing?",
         "If some groups are screened in more often for the same kinds of reports, what could explain it?",
         "How could families and community partners help check screening decisions?"], basis="decision"),
    "03_substantiation.ipynb": decision_point(
        "Substantiation",
        "An investigation ends with a finding. \"Substantiated\" or \"indicated\" means the agency found that "
        "maltreatment happened or was likely. The decision base compares children with such a finding with "
        "the children screened in.",
        ["substantiated"],
        ["How often is neglect tied to poverty (housing, food, child care) rather than to harm?",
         "Which services would reduce the need for a finding?",
         "What do families say about how investigations were done?"], basis="decision"),
    "04_entry_to_care.ipynb": decision_point(
        "Entry to foster care",
        "Some investigations lead to a child being removed from home and placed in foster care. This is one "
        "of the most consequential decisions the system makes.",
        ENTRY_STAGES,
        ["Where do the gaps grow the most along the chain: at the report, the finding, or the removal?",
         "Which alternatives to removal (safety plans, kin, in-home services) were available to each family?",
         "What would it take to close the gap for the group with the most children behind it?"],
        extra=DECISION_BASE),
    "05_placement.ipynb": decision_point(
        "First placement: kin and congregate care",
        "When children enter care, living with relatives or close family friends (kin) keeps family ties; "
        "group homes and institutions (congregate care) are the most restrictive setting. Here a higher "
        "rate of kin placement is better, and a higher rate of congregate care is worse.",
        ["first_placement_kin", "first_placement_congregate"],
        ["How are relatives found and supported as caregivers, and are licensing rules a barrier for some families?",
         "For tribal children, how is the Indian Child Welfare Act's placement preference being met?",
         "Why are some children placed in group care first, and could they have gone to a family?"],
        basis="decision"),
}

WHOLE_CHAIN = [
    *opening("# The whole chain: from the hotline to foster care\n\n"
           "This page puts every decision point side by side: the relative rate index against the population "
           "(everything that happened so far) and against the previous decision (what this decision adds), "
           "with the disproportionality index. It shows where along the way differences start and where they grow.", 'population'),
    ("md", "## The relative rate matrix\n\n`*` marks a ratio whose 95% interval excludes 1; `S` a suppressed value; "
           "`-` a ratio not computed (too few children)."),
    ("code", "eh.views.rri_matrix_view(wb, filters=filters)"),
    ("md", "## Against the population and against the previous decision"),
    ("code", "chain = eh.views.DECISION_CHAIN\n"
             "for basis in (\"population\", \"decision\"):\n"
             "    f = eh.views.Filters(**{**filters.__dict__, \"basis\": basis})\n"
             "    eh.views.decision_point_view(wb, stages=chain, filters=f).show()"),
    ("md", "## Questions for discussion\n\n"
           "1. At which decision does each group's ratio against the previous decision rise the most?\n"
           "2. Which gaps have the most children behind them, and which are the most certain?\n"
           "3. Where could the agency and community act first, and how will we know if it worked?"),
]

TIME_IN_CARE = [
    *opening("# Time in care and leaving care\n\n"
           "Children who enter foster care are followed from the day they enter (an entry cohort), so children "
           "still in care are counted honestly rather than left out. The curves show the share still in care "
           "month by month; the coloured areas show how children left: back home (reunification), to relatives "
           "or a guardian, through adoption, by aging out, or otherwise. Federal-style measures follow: "
           "permanency within 12 months, permanency for children already in care 12-23 and 24+ months, "
           "re-entry within 12 months of going home, and placement moves per 1,000 days in care.\n\n"
           "Here a higher rate of permanency is better and a higher rate of re-entry or of moves is worse. "
           "Curves stop where 10 or fewer children remain, to protect privacy.", 'decision'),
    ("md", "## What the numbers show"),
    ("code", "view = eh.show_view(wb, filters=filters, mode=mode, kind=\"time_in_care\")"),
    ("md", "## Questions for discussion\n\n"
           "1. Which groups stay longest, and at which point do their curves separate from the others?\n"
           "2. Are fewer reunifications made up by more adoptions or guardianships, or by longer stays?\n"
           "3. What helps families reunify sooner and stay together afterwards?"),
]

SUMMARY = [
    *opening("# Summary for a learning exchange\n\n"
           "A short tour of every decision point for one place and the chosen years, for conversations with youth, parents, "
           "tribes and community partners. Every number comes with its uncertainty; small numbers are hidden "
           "to protect children's privacy.", 'population'),
    ("md", "## Along the whole chain, compared with the community's children"),
    ("code", "chain = eh.views.decision_point_view(wb, stages=eh.views.DECISION_CHAIN, filters=filters)\n"
             "display(Markdown(\"\\n\".join(f\"- {s}\" for s in chain.sentences)))\n"
             "chain.charts()[1]"),
    ("md", "## Questions for discussion\n\n"
           "1. What in these numbers matches your experience, and what does not?\n"
           "2. Which decision point should we look at together first?\n"
           "3. What other information (from families, workers, partners) do we need to understand these gaps?"),
]


SURVEY_PARAMS = (PARAMS + "\n"
                 "# The collaboration survey (files in data_dir, or named in mapping.yml under survey:)\n"
                 "survey_responses = None\n"
                 "survey_instrument = None\n"
                 "wave = None  # None: the latest wave\n"
                 "baseline_wave = None  # None: the first wave\n"
                 "group = None  # None: all partners; or a sector or organisation\n"
                 "domain = None  # None: every domain")

SURVEY = [
    ("md", "# Collaboration over time\n\n"
           "The agency and its domestic violence, community and tribal partners answer a survey about their "
           "collaboration once a wave. This page shows how each part of the collaboration is experienced, how that "
           "differs between sectors, and whether it is changing, so that partners can make meaning of it together.\n\n"
           "It is the other half of what partners review at a learning exchange: the children's outcomes on the other "
           "pages, and the collaboration itself here."),
    ("md", "### How to read this page\n\n"
           "- **Domain score**: each respondent's average answer to the statements of a domain (statements worded "
           "the other way round are turned around first), averaged over the people who answered. Higher means the "
           "collaboration is experienced as doing better on it.\n"
           "- **95% confidence interval (CI)**: the range the average could reasonably be in, given who happened to "
           "answer. A change whose interval includes 0 could be due to chance.\n"
           "- **Agreement**: the share of those who answered a statement who agreed or strongly agreed with it as "
           "worded.\n"
           "- **Cronbach's alpha**: whether a domain's statements hold together (answered alike). Below 0.70, the "
           "statements may be measuring different things; read that domain's score with care.\n"
           "- **Hidden** groups: no group of fewer than five respondents is shown, and other groups are hidden where "
           "needed so that a small one cannot be worked out from the totals.\n\n"
           "Scores describe how partners experience the collaboration; they do not say why. The people in the room "
           "are needed for that."),
    ("code", SURVEY_PARAMS, "parameters"),
    ("code", "import equity_helpers as eh\n"
             "from IPython.display import Markdown, display\n\n"
             "survey = eh.start_survey(data_dir=data_dir, mapping=mapping, responses=survey_responses,\n"
             "                         instrument=survey_instrument, mode=mode)\n"
             "display(Markdown(eh.describe_survey(survey)))"),
    ("md", "## The answers read\n\nEvery answer read is used or left out for a stated reason."),
    ("code", "display(Markdown(survey.describe_answers()))"),
    ("md", "## What the survey shows"),
    ("code", "view = eh.show_survey(survey, mode=mode, wave=wave, group=group, domain=domain, baseline=baseline_wave)"),
    ("md", "## Questions for discussion\n\n" + "\n".join(f"{i}. {q}" for i, q in enumerate([
        "Which of these results match how the collaboration has felt to you, and which surprise you?",
        "Where do sectors see the collaboration differently, and what might each sector know that the others "
        "do not?",
        "What changed in the collaboration between the waves that could explain the changes we see?",
        "Who is not in these results (partners, families, survivors, youth), and how could we hear from them?",
        "What data do we share with each other, who makes meaning of it, and how do families and survivors take "
        "part?",
        "What is one thing we will do together before the next wave?"], 1))),
]


def main() -> None:
    NB.mkdir(exist_ok=True)
    nbf.write(notebook(START_HERE), NB / "00_start_here.ipynb")
    for name, cells in NOTEBOOKS.items():
        nbf.write(notebook(cells), NB / name)
    nbf.write(notebook(WHOLE_CHAIN), NB / "06_whole_chain.ipynb")
    nbf.write(notebook(TIME_IN_CARE), NB / "07_time_in_care_and_exits.ipynb")
    nbf.write(notebook(SUMMARY), NB / "08_summary.ipynb")
    nbf.write(notebook(SURVEY, scope="collaboration"), NB / "09_collaboration_over_time.ipynb")


if __name__ == "__main__":
    main()
