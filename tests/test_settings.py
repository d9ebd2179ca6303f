"""Settings in one place: every EQUITY_WORKBOOK_* variable is declared in equity_helpers.settings and read
there; code fingerprints follow the modules wherever they live."""
import ast
import re
from pathlib import Path

import pytest

from equity_helpers import settings
from equity_helpers.release.table import RELEASE_CODE

PACKAGE = Path(settings.__file__).parent


def _code_strings(path: Path) -> set[str]:
    """String constants of a module's code (docstrings left out)."""
    tree = ast.parse(path.read_text())
    docs = {id(n.body[0].value) for n in ast.walk(tree)
            if isinstance(n, (ast.Module, ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef)) and n.body
            and isinstance(n.body[0], ast.Expr) and isinstance(n.body[0].value, ast.Constant)}
    return {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)
            and id(n) not in docs}


def test_every_variable_is_declared_and_read_only_in_settings():
    declared = {s.name for s in settings.SETTINGS}
    assert len(declared) == 11
    for path in PACKAGE.rglob("*.py"):
        named = {m for s in _code_strings(path) for m in re.findall(r"EQUITY_WORKBOOK_[A-Z_]+", s)}
        if path.name == "settings.py":
            assert named == declared
        else:
            assert not named, f"{path.relative_to(PACKAGE)} names {named}: read it through equity_helpers.settings"


def test_a_blank_variable_counts_as_unset(monkeypatch):
    monkeypatch.setenv("EQUITY_WORKBOOK_MEMORY", "  4GB ")
    assert settings.MEMORY.get() == "4GB"
    monkeypatch.setenv("EQUITY_WORKBOOK_MEMORY", "   ")
    assert settings.MEMORY.get() is None
    monkeypatch.delenv("EQUITY_WORKBOOK_MEMORY")
    assert settings.MEMORY.get() is None


def test_a_fingerprint_changes_with_the_code_and_refuses_a_missing_module(tmp_path, monkeypatch):
    (tmp_path / "fp_pkg").mkdir()
    (tmp_path / "fp_pkg" / "__init__.py").write_text("")
    mod = tmp_path / "fp_pkg" / "mod.py"
    mod.write_text("X = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    before = settings.code_fingerprint("fp_pkg.mod")
    assert settings.code_fingerprint("fp_pkg.mod") == before
    mod.write_text("X = 2\n")
    assert settings.code_fingerprint("fp_pkg.mod") != before
    with pytest.raises(ModuleNotFoundError, match="fp_pkg.gone"):
        settings.code_fingerprint("fp_pkg.gone")


def test_the_release_cache_key_hashes_modules_that_exist():
    # a key built on a file that is no longer there would keep a stale release: every module must be found
    assert all(name.startswith("equity_helpers.") for name in RELEASE_CODE)
    assert len(settings.code_fingerprint(*RELEASE_CODE)) == 64


@pytest.mark.parametrize("value", [None, "", "  "])
def test_every_setting_has_its_default_when_unset(monkeypatch, value):
    """A newcomer sets nothing: every reader of a setting takes its default (the release cache under the
    home folder), and none fails on the unset value (issue 25's move to ``settings`` broke this once)."""
    from pathlib import Path

    from equity_helpers.counting.engine import connect
    from equity_helpers.counting.extracts import extracts_dir
    from equity_helpers.release.table import release_cache_dir

    for s in settings.SETTINGS:
        monkeypatch.delenv(s.name, raising=False)
        if value is not None:
            monkeypatch.setenv(s.name, value)
    assert release_cache_dir() == Path.home() / ".cache" / "equity-workbook" / "releases"
    assert extracts_dir() is None
    connect().close()
    monkeypatch.setenv(settings.CACHE.name, "off")
    assert release_cache_dir() is None
