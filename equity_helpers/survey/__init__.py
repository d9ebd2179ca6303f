"""Collaboration survey: instrument, validated responses, scores, change between waves, a protected release.

Agencies and their domestic violence, community and tribal partners evaluate their collaboration over
time with a survey. This subpackage owns all of it, from the instrument file to the *Collaboration over
time* page: :mod:`~equity_helpers.survey.instrument` (the instrument), :mod:`~equity_helpers.survey.responses`
(the answers, checked like every other table), :mod:`~equity_helpers.survey.scores` (domain scores,
agreement, Cronbach's alpha, change between waves), :mod:`~equity_helpers.survey.release` (every
publishable number, disclosure-protected) and :mod:`~equity_helpers.survey.page` (its sentences, charts,
table and filter panel). The methods are in ``docs/survey.md``; the map of the package is in
``docs/architecture.md``.

Pipeline::

    inst = load_instrument("survey_instrument.yml")
    data = load_responses("survey_responses.csv", inst)     # SurveyData: clean answers + accounting
    rel = build_survey_release(data)                         # every publishable number, protected
    rel.domains, rel.items, rel.alpha, rel.changes           # tidy tables (hidden cells are NaN)
"""
from equity_helpers.survey.instrument import (
    INSTRUMENT_MESSAGES,
    MIN_ANSWERED_SHARE,
    Domain,
    Instrument,
    Item,
    load_instrument,
)
from equity_helpers.survey.page import (
    ALPHA_CUT,
    HIDDEN_NOTE,
    SURVEY_TEMPLATES,
    SurveyPanel,
    SurveyView,
    describe_survey,
    open_survey,
    show_survey,
    start_survey,
    survey_sentences,
    survey_table,
    survey_view,
)
from equity_helpers.survey.release import (
    MIN_RESPONDENTS,
    SURVEY_PROTECTION,
    SurveyRelease,
    build_survey_release,
    describe_survey_protection,
    survey_relations,
)
from equity_helpers.survey.responses import (
    ALL_PARTNERS,
    MESSAGES,
    RESPONSE_COLUMNS,
    SurveyData,
    answers_read,
    find_survey,
    load_responses,
    validate_responses,
)
from equity_helpers.survey.scores import (
    MIN_ALPHA_RESPONDENTS,
    cronbach_alpha,
    domain_scores,
    group_domain_scores,
    item_agreement,
    wave_changes,
)

_instrument = ["Instrument", "Domain", "Item", "load_instrument", "MIN_ANSWERED_SHARE", "INSTRUMENT_MESSAGES"]
_responses = ["SurveyData", "load_responses", "validate_responses", "find_survey", "answers_read", "ALL_PARTNERS",
              "RESPONSE_COLUMNS", "MESSAGES"]
_scores = ["domain_scores", "group_domain_scores", "item_agreement", "cronbach_alpha", "wave_changes",
           "MIN_ALPHA_RESPONDENTS"]
_release = ["SurveyRelease", "build_survey_release", "describe_survey_protection", "survey_relations",
            "MIN_RESPONDENTS", "SURVEY_PROTECTION"]
_page = ["open_survey", "start_survey", "describe_survey", "show_survey", "survey_view", "SurveyView", "survey_table",
         "survey_sentences", "SurveyPanel", "HIDDEN_NOTE", "SURVEY_TEMPLATES", "ALPHA_CUT"]
__all__ = _instrument + _responses + _scores + _release + _page
