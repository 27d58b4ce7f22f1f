"""What a folder's code imports and what the repository holds: for tests of what must travel with it."""

from __future__ import annotations

import ast
from pathlib import Path


def top_level_imports(folder: Path) -> set[str]:
    """The top-level modules the .py files of `folder` import (absolute imports only)."""
    imported: set[str] = set()
    for source in folder.glob("*.py"):
        for node in ast.walk(ast.parse(source.read_text())):
            if isinstance(node, ast.Import):
                imported |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                imported.add(node.module.split(".")[0])
    return imported


def project_modules(root: Path) -> set[str]:
    """The repository's own top-level modules and packages (folders of .py files, __init__.py or not)."""
    return {p.stem for p in root.glob("*.py")} | {p.name for p in root.iterdir() if p.is_dir() and any(p.glob("*.py"))}
