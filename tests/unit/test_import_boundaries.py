"""The engine builds SQL expressions but never opens a database: checked on its source.

import-linter (run by `make test`) forbids the store, drivers and Flask; it cannot forbid
subpackages of an external package, so this test guards `sqlalchemy.orm` and `sqlalchemy.engine`.
"""
import ast
from pathlib import Path

import loyalty.engine

ENGINE_DIR = Path(loyalty.engine.__file__).parent
FORBIDDEN = ("sqlalchemy.orm", "sqlalchemy.engine", "sqlalchemy.pool")


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_no_engine_module_imports_sessions_or_connections():
    offenders = {
        f"{path.name}: {name}"
        for path in ENGINE_DIR.rglob("*.py")
        for name in _imported_modules(path)
        if name.startswith(FORBIDDEN) or name in ("sqlalchemy.Engine", "sqlalchemy.create_engine")
    }
    assert not offenders, f"engine modules open databases: {sorted(offenders)}"


def test_the_engine_does_build_sql_expressions():
    """Guards the guard: the SQL compiler is in the engine and imports SQLAlchemy Core."""
    assert any(name.startswith("sqlalchemy") for name in _imported_modules(ENGINE_DIR / "sql.py"))
