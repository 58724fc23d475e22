"""The layers import one way: the engine knows neither the backend nor the trainer,
the backend never touches tensors, and no two modules import each other."""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("illume", "ml_backend", "training")


def module_files() -> dict[str, Path]:
    out = {}
    for package in PACKAGES:
        for path in (REPO / package).rglob("*.py"):
            parts = path.relative_to(REPO).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            out[name] = path
    return out


def imported_names(path: Path, name: str) -> set[str]:
    """Every module name an `import` or `from ... import` in the file can refer to."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parent + ([node.module] if node.module else []))
            names |= {base} | {f"{base}.{alias.name}" for alias in node.names}
    return names


def test_the_engine_imports_neither_the_backend_nor_the_trainer():
    for name, path in module_files().items():
        if name.startswith("illume"):
            bad = {m for m in imported_names(path, name) if m.split(".")[0] in PACKAGES[1:]}
            assert not bad, f"{name} imports {sorted(bad)}"


def test_the_backend_never_touches_tensors():
    for name, path in module_files().items():
        if name.startswith("ml_backend"):
            bad = {m for m in imported_names(path, name) if m.split(".")[0] in ("torch", "numpy")}
            assert not bad, f"{name} imports {sorted(bad)}"


def test_no_two_modules_import_each_other():
    files = module_files()
    graph = {n: imported_names(p, n) & files.keys() - {n} for n, p in files.items()}
    pairs = sorted({tuple(sorted((a, b))) for a in graph for b in graph[a] if a in graph[b]})
    assert pairs == []
