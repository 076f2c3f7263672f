"""Package layout: runtime modules under advisor/ never import training or evaluation code."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ADVISOR = Path(__file__).resolve().parents[1] / "advisor"
FORBIDDEN = ("advisor.training", "advisor.learning_eval", "evals")
OFFLINE = ("training", "learning_eval")  # training and offline evaluation packages


def _imported(node: ast.Import | ast.ImportFrom) -> list[str]:
    """The dotted names an import statement binds (`from a import b` binds a.b)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    return [f"{node.module or ''}.{alias.name}" for alias in node.names]


def _forbidden(name: str) -> bool:
    return any(name == root or name.startswith(f"{root}.") for root in FORBIDDEN)


def _imports(tree: ast.AST, lazy_allowed: bool) -> list[str]:
    """Imports of training/evaluation code; inside functions too unless lazy ones are allowed."""
    found: list[str] = []
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and lazy_allowed:
            continue
        if isinstance(node, ast.Import | ast.ImportFrom):
            found += [name for name in _imported(node) if _forbidden(name)]
        found += _imports(node, lazy_allowed)
    return found


def violations(source: str, path: Path) -> list[str]:
    """What a module imports that runtime code must not (cli*.py may import lazily)."""
    return _imports(ast.parse(source), lazy_allowed=path.name.startswith("cli"))


RUNTIME = sorted(
    p for p in ADVISOR.rglob("*.py") if not set(OFFLINE) & set(p.relative_to(ADVISOR).parts)
)


@pytest.mark.parametrize("path", RUNTIME, ids=lambda p: str(p.relative_to(ADVISOR)))
def test_runtime_module_never_imports_training_or_evals(path: Path) -> None:
    assert violations(path.read_text(encoding="utf-8"), path) == []


@pytest.mark.parametrize(
    ("source", "name", "expected"),
    [
        ("import advisor.training.router_train", "x.py", ["advisor.training.router_train"]),
        ("from advisor.training import data", "x.py", ["advisor.training.data"]),
        ("from advisor import training", "x.py", ["advisor.training"]),
        ("from evals.injection_eval import evaluate", "x.py", ["evals.injection_eval.evaluate"]),
        ("import evals", "x.py", ["evals"]),
        ("if True:\n    import evals.runner", "x.py", ["evals.runner"]),
        ("def f():\n    from advisor.training import x", "x.py", ["advisor.training.x"]),
        ("class C:\n    def f(self):\n        import evals", "x.py", ["evals"]),
        ("def f():\n    from advisor.training import x", "cli_train.py", []),
        ("from advisor.training import x", "cli.py", ["advisor.training.x"]),
        ("import evalsx\nfrom advisor.trainingx import y", "x.py", []),
        ("from advisor.rails.pii.redactor import PiiRedactor", "x.py", []),
    ],
)
def test_the_check_finds_training_and_evals_imports(
    source: str, name: str, expected: list[str]
) -> None:
    assert violations(source, Path(name)) == expected


def test_the_runtime_packages_are_walked() -> None:
    names = {str(p.relative_to(ADVISOR)) for p in RUNTIME}
    moved = {"rails/pii/redactor.py", "rails/injection/detector.py", "rails/output/guard.py"}
    assert moved <= names
    assert not any(n.startswith("training/") for n in names)
