"""Rules for the agent's source: standard library only, no shell, Python 3.9 syntax."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

AGENT = Path(__file__).resolve().parents[2] / "agent"
MODULES = sorted(AGENT.rglob("*.py"))


def parse(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(AGENT)))
def test_imports_only_the_standard_library_and_itself(path):
    for node in ast.walk(parse(path)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names = [node.module or ""]
        else:
            continue
        for name in names:
            top = name.split(".")[0]
            assert top in sys.stdlib_module_names or top == "__future__", f"{path}: imports {name}"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(AGENT)))
def test_never_runs_a_shell(path):
    for node in ast.walk(parse(path)):
        if isinstance(node, ast.Call):
            for keyword in node.keywords:
                assert keyword.arg != "shell", f"{path}:{node.lineno} passes shell="
            function = ast.unparse(node.func)
            assert function not in ("os.system", "os.popen"), f"{path}:{node.lineno} calls {function}"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(AGENT)))
def test_python_3_9_syntax(path):
    tree = ast.parse(path.read_text(encoding="utf-8"), feature_version=(3, 9))
    assert not any(isinstance(node, ast.Match) for node in ast.walk(tree))
    has_annotations = any(
        isinstance(node, (ast.AnnAssign, ast.arg)) and node.annotation is not None for node in ast.walk(tree)
    ) or any(isinstance(node, ast.FunctionDef) and node.returns is not None for node in ast.walk(tree))
    if has_annotations:
        # PEP 604/585 annotations are only safe on 3.9 when they are never evaluated.
        assert "from __future__ import annotations" in path.read_text(encoding="utf-8"), path
