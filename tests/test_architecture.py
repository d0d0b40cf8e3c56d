"""The package reads as the pipeline: each stage imports only from earlier stages, and
docs/architecture.md names every package there is."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "charter"

# The stages in order; a package may import from its own stage and earlier ones. The
# applications at the end sit on the public API (`charter/__init__.py`).
STAGES = [
    {"source"},
    {"traces", "syntax", "text", "detectors"},
    {"check", "facts", "bindings"},
    {"compile", "cache"},
    {"evaluate"},
    {"reports", "escalations"},
    {"corpus"},
    {"review"},
    {"analysis", "solver"},
    {"decisions", "api"},
    {"", "cli", "server", "lsp", "integrations", "stdlib", "review_app"},
]
RANK = {name: rank for rank, names in enumerate(STAGES) for name in names}


def _package(module: str) -> str:
    """`charter.evaluate.session` -> `evaluate`; the facade and `cli` are their own."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _module(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> list[tuple[str, int, list[str]]]:
    """(imported module, line, names) for every import in the file, relative ones resolved."""
    module = _module(path)
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.append((target, node.lineno, [a.name for a in node.names]))
        elif isinstance(node, ast.Import):
            found += [(a.name, node.lineno, []) for a in node.names]
    return [(t, line, names) for t, line, names in found if t == "charter" or t.startswith("charter.")]


def _packages() -> set[str]:
    return {p.name for p in PACKAGE.iterdir() if p.is_dir() and any(p.glob("*.py"))}


def test_every_package_has_a_stage():
    packages = _packages()
    modules = {p.stem for p in PACKAGE.glob("*.py") if p.stem != "__init__"}
    assert packages | modules <= set(RANK), sorted((packages | modules) - set(RANK))


def test_imports_flow_one_way():
    wrong = []
    for path in sorted(PACKAGE.rglob("*.py")):
        here = _package(_module(path))
        for target, line, names in _imports(path):
            there = _package(target)
            # The version constant lives in the facade, for pyproject.toml to read.
            if there == "" and names == ["__version__"]:
                continue
            if RANK[there] > RANK[here]:
                wrong.append(f"{path.relative_to(ROOT)}:{line} imports {target} ({there or 'the facade'})")
    assert wrong == []


def test_the_architecture_page_names_every_package_at_its_stage():
    page = (ROOT / "docs" / "architecture.md").read_text()
    rows = dict((name, int(stage)) for stage, name in re.findall(r"^\| (\d+) \| `charter/(\w+)/`", page, re.M))
    assert set(rows) == _packages()
    assert rows == {name: RANK[name] for name in rows}  # the table's stage is the test's
