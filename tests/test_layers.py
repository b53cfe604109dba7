"""The floor plan (docs/architecture.md): import arrows point down only, and no import cycle.

Every import statement of every module counts, lazy imports inside functions included: an
upward arrow that runs only inside a handler is still an arrow.
"""

from __future__ import annotations

import ast
from pathlib import Path

import tomllib

REPO = Path(__file__).resolve().parents[1]

# floor of each package; a module may import procmem packages of lower floors only
FLOORS = {
    "procmem.core": 0,
    "procmem.shaders": 1,
    "procmem.generators": 2,
    "procmem.encoder": 3,
    "procmem.pretrain": 4,
    "procmem.memory": 4,
    "procmem.eval": 5,
    "procmem.pipeline": 6,
    "procmem.cli": 7,
}
STAGE_NAMES = ("shaders", "generators", "pretrain", "memory", "eval")


def package_dirs() -> dict[str, Path]:
    """Package name -> folder, as pyproject.toml installs them."""
    cfg = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    mapping = cfg.get("package-dir", {})
    out = {}
    for pkg in cfg["packages"]:
        top = pkg.split(".")
        for i in range(len(top), 0, -1):
            base = ".".join(top[:i])
            if base in mapping:
                out[pkg] = REPO / mapping[base] / Path(*top[i:])
                break
    return out


def modules() -> dict[str, Path]:
    """Every installed module name -> file."""
    out = {}
    for pkg, folder in package_dirs().items():
        for f in folder.glob("*.py"):
            out[pkg if f.stem == "__init__" else f"{pkg}.{f.stem}"] = f
    return out


def imports_of(path: Path, module: str) -> set[str]:
    """procmem modules (or packages) imported anywhere in the file."""
    tree = ast.parse(path.read_text(), str(path))
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the module's package
                base = module.split(".")[:-node.level]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ""
            out.add(name)
            out |= {f"{name}.{a.name}" for a in node.names}
    return {n for n in out if n == "procmem" or n.startswith("procmem.")}


def floor_of(name: str) -> int | None:
    best = None
    for pkg, floor in FLOORS.items():
        if name == pkg or name.startswith(pkg + "."):
            best = floor
    return best


def package_of(name: str) -> str | None:
    return next((p for p in FLOORS if name == p or name.startswith(p + ".")), None)


def upward_imports(mods: dict[str, Path]) -> list[str]:
    """'a imports b' for every import from a floor to the same or a higher other package."""
    bad = []
    for mod, path in sorted(mods.items()):
        here, pkg = floor_of(mod), package_of(mod)
        if here is None:
            continue
        for target in sorted(imports_of(path, mod)):
            there, tpkg = floor_of(target), package_of(target)
            if there is None or tpkg == pkg:
                continue
            if there >= here:
                bad.append(f"{mod} (floor {here}) imports {target} (floor {there})")
    return bad


def import_cycles(mods: dict[str, Path]) -> list[list[str]]:
    """Strongly connected components of more than one module in the import graph."""
    graph = {m: {t for t in imports_of(p, m) if t in mods and t != m} for m, p in mods.items()}
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_every_installed_package_is_under_procmem_and_has_a_floor():
    pkgs = package_dirs()
    assert all(p == "procmem" or p.startswith("procmem.") for p in pkgs)
    assert set(FLOORS) <= set(pkgs)
    for pkg in pkgs:
        assert pkg == "procmem" or floor_of(pkg) is not None, f"{pkg} has no floor in FLOORS"


def test_import_arrows_point_down_only():
    assert upward_imports(modules()) == []


def test_no_import_cycle():
    assert import_cycles(modules()) == []


def test_the_root_package_imports_nothing():
    assert imports_of(REPO / "procmem" / "__init__.py", "procmem") == set()


def test_nothing_imports_a_stage_folder_by_its_bare_name():
    """Code, tests, benchmarks and scripts import only procmem.* (no `import memory`)."""
    bad = []
    for f in sorted(REPO.rglob("*.py")):
        if any(part.startswith(".") for part in f.relative_to(REPO).parts):
            continue
        tree = ast.parse(f.read_text(), str(f))
        for node in ast.walk(tree):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                     [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level
                     else [])
            bad += [f"{f.relative_to(REPO)}: {n}" for n in names if n.split(".")[0] in STAGE_NAMES]
    assert bad == []


def test_the_checks_catch_an_upward_import_and_a_cycle(tmp_path):
    """The two checks above fail when an arrow points up or modules import each other."""
    low = tmp_path / "low.py"
    low.write_text("def f():\n    from procmem.eval import report\n")
    a, b = tmp_path / "a.py", tmp_path / "b.py"
    a.write_text("import procmem.memory.b\n")
    b.write_text("from procmem.memory import a\n")
    mods = {"procmem.shaders.low": low, "procmem.memory.a": a, "procmem.memory.b": b}
    assert upward_imports(mods) == [
        "procmem.shaders.low (floor 1) imports procmem.eval (floor 5)",
        "procmem.shaders.low (floor 1) imports procmem.eval.report (floor 5)"]
    assert import_cycles(mods) == [["procmem.memory.a", "procmem.memory.b"]]
    sibling = tmp_path / "sib.py"
    sibling.write_text("from procmem.memory.store import VisualMemory\n")
    assert upward_imports({"procmem.pretrain.sib": sibling}) != []


def test_no_module_over_400_lines():
    long = {str(p.relative_to(REPO)): n for p in modules().values()
            if (n := len(p.read_text().splitlines())) > 400}
    assert long == {}
