"""The house keeps its rooms: subpackages import only the layers before them, no import cycle between modules
(imports inside functions included), no private name across a subpackage, no crowded folder
(docs/architecture.md)."""
import ast
from pathlib import Path

import equity_helpers

PACKAGE = Path(equity_helpers.__file__).parent
ORDER = ["privacy", "data", "counting", "metrics", "release", "pages", "survey", "run"]
"""The layers after the root modules, in the order they may import each other."""


def _modules() -> dict[str, Path]:
    out = {}
    for f in PACKAGE.rglob("*.py"):
        parts = list(f.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = f
    return out


MODULES = _modules()


def _imports(name: str) -> list[tuple[str, str]]:
    """``(module imported, name imported)`` for every import of the package in a module, functions included."""
    path = MODULES[name]
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("equity_helpers"):
            for a in node.names:
                target = f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in MODULES else node.module
                out.append((target, a.name))
        elif isinstance(node, ast.ImportFrom) and node.level:
            out.append(("<relative>", ""))
        elif isinstance(node, ast.Import):
            out += [(a.name, "") for a in node.names if a.name.startswith("equity_helpers")]
    return out


def _layer(module: str) -> int:
    parts = module.split(".")
    return ORDER.index(parts[1]) + 1 if len(parts) > 1 and parts[1] in ORDER else 0


def test_the_package_is_in_subpackages():
    assert {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()} == set(ORDER)


def test_every_import_goes_to_a_layer_before_or_its_own():
    late = [f"{m} imports {t}" for m in MODULES if m not in ("equity_helpers", "equity_helpers.__main__")
            for t, _ in _imports(m) if t == "<relative>" or _layer(t) > _layer(m)]
    assert not late, "\n".join(late)


def test_no_private_name_crosses_a_subpackage():
    def home(m: str) -> str:
        return m if MODULES[m].name == "__init__.py" else m.rsplit(".", 1)[0]

    crossing = [f"{m} imports {n} from {t}" for m in MODULES for t, n in _imports(m)
                if t in MODULES and n.startswith("_") and not n.startswith("__") and home(t) != home(m)]
    assert not crossing, "\n".join(crossing)


def test_no_import_cycle_between_modules():
    graph = {m: {t for t, _ in _imports(m) if t in MODULES and t != m} for m in MODULES}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles = []

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for v in graph:
        if v not in index:
            visit(v)
    assert not cycles


def test_no_folder_holds_more_than_twelve_modules():
    for folder in {p.parent for p in MODULES.values()}:
        assert len([p for p in folder.glob("*.py") if p.name != "__init__.py"]) <= 12, folder


def test_notebook_short_names_reach_their_modules():
    import equity_helpers as eh

    for short, where in eh.MODULES.items():
        assert getattr(eh, short).__name__ == f"equity_helpers.{where}"
    assert eh.views.Filters and eh.breakdowns.show_breakdown and eh.charts.stage_counts_chart
    assert eh.present.show_summary
