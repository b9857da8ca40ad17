"""Import boundaries of the data flow, checked on the source (AST), imports followed transitively.

- ``controller/decide/`` is pure: neither it nor any project module it imports (directly or
  through others) imports ``asyncio``, ``sqlite3``, ``socket``, ``kazoo`` or ``serial``.
- ``modem/`` and ``health/`` import nothing from ``controller/``.

A checked module's own imports all count: module level, inside functions and under
``if TYPE_CHECKING:``. The project modules it reaches count with what importing them runs: their
module-level imports (class bodies and ``if``/``try`` blocks included), not those inside their
functions or under ``if TYPE_CHECKING:`` (``controller.notifier`` imports its service lazily so that
the config may import its settings). Importing ``a.b.c`` also runs ``a/__init__.py`` and
``a/b/__init__.py``, so those count too. Third-party modules are matched by name, not followed.
"""

from __future__ import annotations

import ast
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROJECT = ("controller", "health", "modem")
IMPURE = ("asyncio", "sqlite3", "socket", "kazoo", "serial")


@dataclass(frozen=True)
class Violation:
    chain: tuple[str, ...]
    """The import path: the starting module first, the forbidden module last."""

    def __str__(self) -> str:
        return " -> ".join(self.chain)


class ImportGraph:
    """The imports of the project's modules under ``root`` (packages named in ``packages``)."""

    def __init__(self, root: Path, packages: Iterable[str] = PROJECT) -> None:
        self.root = root
        self.packages = tuple(packages)
        self._cache: dict[tuple[str, bool], tuple[str, ...]] = {}

    def is_project(self, module: str) -> bool:
        return module.split(".")[0] in self.packages

    def path_of(self, module: str) -> Path | None:
        base = self.root.joinpath(*module.split("."))
        for candidate in (base.with_suffix(".py"), base / "__init__.py"):
            if candidate.is_file():
                return candidate
        return None

    def modules_under(self, folder: str) -> list[str]:
        """Every module in the package ``folder`` (a path relative to the root), sorted."""
        found = []
        for path in sorted((self.root / folder).rglob("*.py")):
            parts = path.relative_to(self.root).with_suffix("").parts
            found.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
        return found

    def imports(self, module: str, *, every: bool = False) -> tuple[str, ...]:
        """The modules importing ``module`` runs (its parent packages first), in source order;
        with ``every``, also those its functions and ``if TYPE_CHECKING:`` blocks import."""
        key = (module, every)
        if key not in self._cache:
            self._cache[key] = tuple(dict.fromkeys(self._parse(module, every)))
        return self._cache[key]

    def _parse(self, module: str, every: bool) -> list[str]:
        parts = module.split(".")
        found = [".".join(parts[:i]) for i in range(1, len(parts))]  # parents' __init__ run first
        path = self.path_of(module)
        if path is None:
            return found
        package = parts if path.name == "__init__.py" else parts[:-1]
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node in ast.walk(tree) if every else _import_time(tree.body):
            if isinstance(node, ast.Import):
                found.extend(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                anchor = package[: len(package) - node.level + 1] if node.level else []
                base = ".".join([*anchor, *(node.module.split(".") if node.module else [])])
                found.append(base)
                for alias in node.names:
                    sub = f"{base}.{alias.name}"
                    if self.is_project(sub) and self.path_of(sub) is not None:
                        found.append(sub)  # `from pkg import module` imports the module
        return found

    def violations(self, start: str, forbidden: Iterable[str]) -> list[Violation]:
        """Every forbidden module reachable from ``start``, with the shortest chain to it."""
        banned = tuple(forbidden)
        seen = {start: (start,)}
        queue = deque([start])
        found: list[Violation] = []
        while queue:
            current = queue.popleft()
            for imported in self.imports(current, every=current == start):
                chain = (*seen[current], imported)
                if any(imported == b or imported.startswith(b + ".") for b in banned):
                    found.append(Violation(chain))
                elif self.is_project(imported) and imported not in seen:
                    seen[imported] = chain
                    queue.append(imported)
        return found


def _import_time(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """The statements importing a module runs: not function bodies, not ``if TYPE_CHECKING:``."""
    for node in body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            yield from _import_time(node.orelse)
            continue
        yield node
        for field in ("body", "orelse", "finalbody", "handlers"):
            inner = getattr(node, field, None)
            if isinstance(inner, list):
                yield from _import_time([n for n in inner if isinstance(n, ast.stmt)])
        for handler in getattr(node, "handlers", []) or []:
            yield from _import_time(handler.body)


def _report(graph: ImportGraph, folder: str, forbidden: Iterable[str]) -> list[str]:
    banned = tuple(forbidden)
    return sorted(
        {str(v) for module in graph.modules_under(folder) for v in graph.violations(module, banned)}
    )


# ---- the project's boundaries ------------------------------------------------------------------


def test_decide_is_pure() -> None:
    graph = ImportGraph(ROOT)
    assert graph.modules_under("controller/decide"), "no modules found: wrong root?"
    assert _report(graph, "controller/decide", IMPURE) == []


def test_modem_and_health_do_not_import_the_controller() -> None:
    graph = ImportGraph(ROOT)
    for folder in ("modem", "health"):
        assert graph.modules_under(folder), f"no modules under {folder}/"
        assert _report(graph, folder, ["controller"]) == [], folder


# ---- the checker itself finds what it must -----------------------------------------------------


def _tree(root: Path, files: dict[str, str]) -> ImportGraph:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return ImportGraph(root)


def test_checker_finds_a_direct_impure_import(tmp_path: Path) -> None:
    graph = _tree(
        tmp_path,
        {
            "controller/__init__.py": "",
            "controller/decide/__init__.py": "",
            "controller/decide/rule.py": "import asyncio.tasks\n",
        },
    )
    assert _report(graph, "controller/decide", IMPURE) == [
        "controller.decide.rule -> asyncio.tasks"
    ]


def test_checker_follows_project_imports_transitively(tmp_path: Path) -> None:
    graph = _tree(
        tmp_path,
        {
            "controller/__init__.py": "",
            "controller/decide/__init__.py": "",
            "controller/decide/rule.py": "from ..config import model\n",
            "controller/config/__init__.py": "",
            "controller/config/model.py": "from controller.store import db\n",
            "controller/store.py": "try:\n    import sqlite3\nexcept ImportError:\n    pass\n",
        },
    )
    assert _report(graph, "controller/decide", IMPURE) == [
        "controller.decide.rule -> controller.config.model -> controller.store -> sqlite3"
    ]


def test_checker_counts_a_checked_modules_lazy_imports_not_those_it_reaches(tmp_path: Path) -> None:
    graph = _tree(
        tmp_path,
        {
            "controller/__init__.py": "",
            "controller/decide/__init__.py": "",
            "controller/decide/rule.py": (
                "from controller import notifier\ndef run():\n    from controller.loop import db\n"
            ),
            "controller/notifier.py": (
                "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import asyncio\n"
                "def build():\n    import socket\n"
            ),
            "controller/loop/__init__.py": "",
            "controller/loop/db.py": "class Store:\n    import sqlite3\n",
        },
    )
    assert _report(graph, "controller/decide", IMPURE) == [
        "controller.decide.rule -> controller.loop.db -> sqlite3"
    ]


def test_checker_counts_parent_packages_and_type_checking_imports(tmp_path: Path) -> None:
    graph = _tree(
        tmp_path,
        {
            "controller/__init__.py": "import socket\n",
            "controller/decide/__init__.py": "",
            "controller/decide/rule.py": (
                "from typing import TYPE_CHECKING\n"
                "if TYPE_CHECKING:\n    from kazoo import client\n"
            ),
        },
    )
    found = _report(graph, "controller/decide", IMPURE)
    assert "controller.decide -> controller -> socket" in found
    assert "controller.decide.rule -> kazoo" in found


def test_checker_finds_health_importing_the_controller(tmp_path: Path) -> None:
    graph = _tree(
        tmp_path,
        {
            "health/__init__.py": "",
            "health/monitor.py": "from health import helper\n",
            "health/helper.py": "from controller.config import X\n",
            "health/lazy.py": "def f():\n    import controller\n",
            "modem/__init__.py": "",
            "modem/driver.py": "import controller\n",
            "controller/__init__.py": "",
            "controller/config.py": "",
        },
    )
    assert _report(graph, "health", ["controller"]) == [
        "health.helper -> controller.config",
        "health.lazy -> controller",
        "health.monitor -> health.helper -> controller.config",
    ]
    assert _report(graph, "modem", ["controller"]) == ["modem.driver -> controller"]


def test_checker_passes_a_clean_tree(tmp_path: Path) -> None:
    graph = _tree(
        tmp_path,
        {
            "controller/__init__.py": "",
            "controller/decide/__init__.py": "",
            "controller/decide/rule.py": "import datetime\nfrom health.model import S\n",
            "health/__init__.py": "",
            "health/model.py": "import dataclasses\n",
        },
    )
    assert _report(graph, "controller/decide", IMPURE) == []
    assert _report(graph, "health", ["controller"]) == []
