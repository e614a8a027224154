"""The shape of the code: imports flow one way (no import circle, counting the imports
inside functions too), tasks import neither each other nor the tools, and modules stay short.

Imports under ``if TYPE_CHECKING:`` are left out: they never run.
"""

from __future__ import annotations

import ast
from pathlib import Path

from .conftest import PROJECT_ROOT

SOURCE = PROJECT_ROOT / "src"
PACKAGE = next(p.name for p in sorted(SOURCE.iterdir()) if (p / "__init__.py").is_file())
MAX_LINES = 400
# The entry points and the tools: they may import everything, and nothing of the task
# packages or the shared library may import them.
ENTRY_POINTS = {
    "analyze",
    "benchmark",
    "callbacks",
    "cli",
    "compare",
    "demo",
    "export",
    "profiling",
    "report",
    "score",
}


def module_files() -> dict[str, Path]:
    """Dotted module name -> file, for every module of the package."""
    files = {}
    for path in sorted((SOURCE / PACKAGE).rglob("*.py")):
        parts = list(path.relative_to(SOURCE).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        files[".".join(parts)] = path
    return files


def type_checking_nodes(tree: ast.AST) -> set[int]:
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for statement in node.body:
                skipped.update(id(child) for child in ast.walk(statement))
    return skipped


def imported_modules(name: str, path: Path, files: dict[str, Path]) -> set[str]:
    """The package's modules that ``name`` imports, anywhere in its file.

    Importing ``a.b.c`` runs ``a/b/__init__.py`` first: from outside ``a.b``, that is an
    import of ``a.b`` too.
    """
    tree = ast.parse(path.read_text())
    skipped = type_checking_nodes(tree)
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    targets: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            for alias in node.names:
                submodule = f"{module}.{alias.name}"
                targets.add(submodule if submodule in files else module)
    found = set()
    for target in targets:
        parts = target.split(".")
        for end in range(2, len(parts) + 1):
            parent = ".".join(parts[:end])
            inside = name == parent or name.startswith(parent + ".")
            if parent in files and (end == len(parts) or not inside):
                found.add(parent)
    found.discard(name)
    return found


def import_graph() -> dict[str, set[str]]:
    files = module_files()
    return {name: imported_modules(name, path, files) for name, path in files.items()}


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan's algorithm), each
    printed with the imports that close it."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in sorted(graph[node]):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_circle() -> None:
    graph = import_graph()
    described = [
        "\n".join(f"  {m} imports {sorted(graph[m] & set(group))}" for m in group)
        for group in circles(graph)
    ]
    assert not described, "import circles:\n" + "\n\n".join(described)


def test_tasks_import_neither_other_tasks_nor_the_tools() -> None:
    tasks = f"{PACKAGE}.tasks."
    tools = {f"{PACKAGE}.{name}" for name in ENTRY_POINTS}
    wrong = []
    for name, imported in import_graph().items():
        if not name.startswith(tasks):
            continue
        own = name[: len(tasks)] + name[len(tasks) :].split(".")[0]
        for other in sorted(imported):
            other_task = other.startswith(tasks) and not (other == own or other.startswith(own))
            if other_task or any(other == t or other.startswith(t + ".") for t in tools):
                wrong.append(f"{name} imports {other}")
    assert not wrong, "\n".join(wrong)


def test_modules_are_short() -> None:
    lengths = {
        path.relative_to(SOURCE / PACKAGE).as_posix(): len(path.read_text().splitlines())
        for path in (SOURCE / PACKAGE).rglob("*.py")
    }
    long = sorted(f"{path} ({n} lines)" for path, n in lengths.items() if n > MAX_LINES)
    assert not long, f"over {MAX_LINES} lines: split them: {long}"
