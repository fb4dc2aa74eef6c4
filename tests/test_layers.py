"""Who may import whom: journey imports nothing of ours; tracker imports journey; neither imports
audit (audit listens to their signals). Read from the source with `ast`, so an import inside a
function counts too."""

import ast
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

FORBIDDEN = {
    "journey": {
        "audit",
        "tracker",
        "conversations",
        "reports",
        "interfaces",
        "notifications",
        "devdata",
        "bench",
        "tests",
    },
    "tracker": {
        "audit",
        "conversations",
        "reports",
        "interfaces",
        "notifications",
        "devdata",
        "bench",
        "tests",
    },
    # Families' reports sit above journey and tracker; notifications listens to their signals.
    "reports": {"audit", "interfaces", "notifications", "devdata", "bench", "tests"},
    # Results from lab systems sit above tracker and call its services; nothing imports them.
    "interfaces": {"audit", "reports", "notifications", "devdata", "bench", "tests"},
}


def imported_packages(source):
    """The top-level package of every absolute import in `source`."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            yield from (alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module.split(".")[0]


def offending_imports(app):
    found = []
    for path in sorted((ROOT / app).rglob("*.py")):
        names = set(imported_packages(path.read_text(encoding="utf-8")))
        found += [f"{path.relative_to(ROOT)} imports {n}" for n in sorted(names & FORBIDDEN[app])]
    return found


@pytest.mark.parametrize("app", sorted(FORBIDDEN))
def test_app_imports_only_what_is_below_it(app):
    assert offending_imports(app) == []


def test_the_walk_sees_imports_inside_functions():
    source = "def f():\n    from audit import events\n    import notifications.sweep\n"
    assert set(imported_packages(source)) == {"audit", "notifications"}


def test_nothing_imports_interfaces():
    """interfaces sits on top (beside notifications): no other app imports it."""
    found = []
    for app in ("journey", "tracker", "notifications", "audit"):
        for path in sorted((ROOT / app).rglob("*.py")):
            if "interfaces" in set(imported_packages(path.read_text(encoding="utf-8"))):
                found.append(str(path.relative_to(ROOT)))
    assert found == []


MAX_LINES = 500


SKIPPED_DIRS = {"node_modules", "staticfiles", "var", "migrations", "__pycache__"}


def project_modules():
    """Every .py file of the project: hidden folders (.venv), generated migrations aside."""
    for folder, dirs, files in os.walk(ROOT):
        dirs[:] = [d for d in dirs if not d.startswith(".") and d not in SKIPPED_DIRS]
        yield from (Path(folder) / name for name in files if name.endswith(".py"))


def test_no_module_over_500_lines():
    """A module that grows past the limit becomes a package (or two modules)."""
    long = []
    for path in sorted(project_modules()):
        name = path.relative_to(ROOT).as_posix()
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if lines > MAX_LINES:
            long.append(f"{name}: {lines} lines")
    assert long == []
