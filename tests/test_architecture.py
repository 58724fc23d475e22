"""The layers import one way, and the engine has one door.

- the runtime engine (`illume`) knows neither the benchmark kit (`illume_bench`), nor the
  backend, nor the trainer; the kit knows neither the backend nor the trainer;
- the backend's runtime (all of `ml_backend` but its demo and its testing module) imports
  nothing from the kit, and never touches tensors;
- only `illume.api` builds a `Sampler` or starts the tuning job (`run_job`);
- no import cycle, of any length; nothing outside `tests/` imports `tests`.
"""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("illume", "illume_bench", "ml_backend", "training")
SCRIPTS = ("bench", "scripts")
BACKEND_OUTSIDE_RUNTIME = ("ml_backend.demo", "ml_backend.testing")


def module_files(packages=PACKAGES) -> dict[str, Path]:
    out = {}
    for package in packages:
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


def top(module: str) -> str:
    return module.split(".")[0]


def offenders(prefix: str, forbidden: set[str], skip: tuple[str, ...] = ()) -> dict[str, list]:
    out = {}
    for name, path in module_files().items():
        if top(name) != prefix or name.startswith(skip):
            continue
        bad = sorted(m for m in imported_names(path, name) if top(m) in forbidden)
        if bad:
            out[name] = bad
    return out


def test_the_engine_imports_nothing_above_it():
    assert offenders("illume", {"illume_bench", "ml_backend", "training"}) == {}


def test_the_benchmark_kit_imports_neither_the_backend_nor_the_trainer():
    assert offenders("illume_bench", {"ml_backend", "training"}) == {}


def test_the_backend_runtime_imports_nothing_from_the_kit():
    assert offenders("ml_backend", {"illume_bench"}, skip=BACKEND_OUTSIDE_RUNTIME) == {}


def test_the_trainer_imports_nothing_from_the_kit():
    assert offenders("training", {"illume_bench", "ml_backend"}) == {}


def test_the_backend_never_touches_tensors():
    assert offenders("ml_backend", {"torch", "numpy"}) == {}


def calls_of(function: str) -> set[str]:
    """Files outside tests (repo-relative) that call `function(...)` by that bare or dotted
    name (the tests of the sampler and the job build them on purpose)."""
    files = {**module_files(), **module_files(SCRIPTS)}
    out = set()
    for path in files.values():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call):
                f = node.func
                called = f.id if isinstance(f, ast.Name) else getattr(f, "attr", None)
                if called == function:
                    out.add(str(path.relative_to(REPO)))
    return out


def test_only_the_api_builds_a_sampler_or_starts_the_tuning_job():
    assert calls_of("Sampler") <= {"illume/api.py"}
    assert calls_of("run_job") <= {"illume/api.py"}


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return cycles


def test_no_import_cycle_of_any_length():
    files = module_files()
    graph = {n: imported_names(p, n) & files.keys() - {n} for n, p in files.items()}
    assert import_cycles(graph) == []


def test_the_cycle_finder_finds_a_long_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert import_cycles(graph) == [["a", "b", "c"]]


def test_nothing_but_tests_imports_tests():
    files = {**module_files(), **module_files(SCRIPTS)}
    bad = {
        n: top_imports
        for n, p in files.items()
        if (top_imports := {m for m in imported_names(p, n) if top(m) == "tests"})
    }
    assert bad == {}
