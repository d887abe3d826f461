"""The package layout in docs/design.md holds: every module imports only what its layer may."""

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "tfgan_replica"
DESIGN = ROOT / "docs" / "design.md"


def _module_names():
    """{dotted name: path} of every module of the package (a package by its __init__)."""
    names = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(ROOT).with_suffix("").parts
        names[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return names


def _table(heading):
    """The rows (lists of cells) of the first markdown table after `heading` in design.md."""
    text = DESIGN.read_text().split(heading, 1)[1]
    rows = []
    for line in text.splitlines():
        if line.startswith("|"):
            rows.append([cell.strip() for cell in line.strip("|").split("|")])
        elif rows:
            break
    return rows[2:]  # past the header and the |---| line


def _named(cell):
    """The dotted names of the modules a cell names in backticks: `a/b` is a.b, `a/` is
    package a and every module in it, `__init__` the package itself."""
    names = []
    for token in re.findall(r"`([^`]+)`", cell):
        token = "" if token == "__init__" else token.rstrip("/").replace("/", ".")
        names.append("tfgan_replica" + (f".{token}" if token else ""))
    return names


def _layers():
    """{module: index of its layer}, 0 the lowest, from the layout table."""
    modules = _module_names()
    layer_of = {}
    for index, (_, cell, _) in enumerate(reversed(_table("## Package layout"))):
        for name in _named(cell):
            members = [m for m in modules if m == name or (name != "tfgan_replica"
                                                          and m.startswith(name + "."))]
            assert members, f"docs/design.md names {name}, which is no module"
            layer_of.update(dict.fromkeys(members, index))
    return layer_of


def _imports(name, path, modules):
    """The package's modules that module `name` imports, anywhere in its file."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = name if path.name == "__init__.py" else name.rpartition(".")[0]
                package = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{package}.{base}" if base else package
            for alias in node.names:  # `from a import b` names module a.b, or b in a
                found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base)
    return {imported for imported in found if imported in modules and imported != name}


def test_every_module_imports_only_its_layer_and_below_and_the_listed_exceptions():
    modules = _module_names()
    layer_of = _layers()
    assert set(modules) - set(layer_of) == set(), "modules without a layer in docs/design.md"
    allowed_up = {(importer, imported) for cell, imports, _ in _table("reach a higher layer")
                  for importer in _named(cell) for imported in _named(imports)}
    upward = {(name, imported) for name, path in modules.items()
              for imported in _imports(name, path, modules)
              if layer_of[imported] > layer_of[name]}
    assert upward - allowed_up == set(), "upward imports that docs/design.md does not list"
    assert allowed_up - upward == set(), "listed in docs/design.md, but no module imports them"


def test_within_the_reproduction_layer_modules_import_only_those_named_after_them():
    modules = _module_names()
    row = next(cell for layer, cell, _ in _table("## Package layout") if layer == "reproduction")
    order = _named(row)
    for position, name in enumerate(order):
        inside = _imports(name, modules[name], modules) & set(order)
        assert inside <= set(order[position + 1:]), name
