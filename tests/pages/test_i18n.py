"""The message catalogue: every English message has a Spanish one with the same placeholders, and numbers,
ratios, rates and years are written the way each catalogue says."""
import pytest

from equity_helpers.errors import ParameterError
from equity_helpers.pages.i18n import LANGUAGES, Catalogue, read_catalogue, placeholders


def _flatten(d, prefix=""):
    """(key path, message) for every message, lists included (prompts)."""
    for k, v in d.items():
        path = f"{prefix}{k}"
        if isinstance(v, dict):
            yield from _flatten(v, path + ".")
        elif isinstance(v, list):
            for i, item in enumerate(v):
                yield f"{path}[{i}]", item
        else:
            yield path, v


@pytest.mark.parametrize("language", [lang for lang in LANGUAGES if lang != "en"])
def test_every_english_message_has_a_translation_with_the_same_placeholders(language):
    en, other = dict(_flatten(read_catalogue("en"))), dict(_flatten(read_catalogue(language)))
    assert set(en) - set(other) == set(), "messages missing in the translation"
    assert set(other) - set(en) == set(), "messages only in the translation"
    for key, text in en.items():
        assert isinstance(other[key], type(text)), key
        if isinstance(text, str):
            assert placeholders(text) == placeholders(other[key]), key
            assert other[key].strip(), key
            if key not in ("number.decimal", "number.thousands"):
                # a translation is not the English text left in place (names such as the years' labels aside)
                assert other[key] != text or len(text) < 12, key


def test_the_spanish_catalogue_is_spanish():
    es = Catalogue("es")
    assert es.t("filter_place") == "Lugar"
    assert es.group("black") == "los niños afroamericanos"
    assert es.stage("entered_care") == "ingreso a cuidado de crianza"
    assert es.years(2020, 2025) == "AF2020-AF2025" and es.years(2025, 2025) == "AF2025"
    assert len(es.prompts("general")) == len(Catalogue("en").prompts("general")) == 3


def test_numbers_follow_the_catalogue():
    en = Catalogue("en")
    assert en.number(1234.5, 1) == "1,234.5"
    assert en.ratio(3.24) == "3.2" and en.ratio(0.186) == "0.19" and en.ratio(12.4) == "12"
    assert en.rate(4.21) == "4.2" and en.rate(0.243) == "0.24"
    comma = Catalogue("es")
    comma.messages = {**comma.messages, "number": {"decimal": ",", "thousands": "."}}
    assert comma.number(1234.5, 1) == "1.234,5"
    assert comma.ratio(3.24) == "3,2"


def test_unknown_language_and_message_are_named():
    with pytest.raises(ParameterError, match="Unknown language 'fr'"):
        Catalogue("fr")
    with pytest.raises(KeyError, match="no_such_message"):
        Catalogue("en").t("no_such_message")
