"""The Python pins of pyproject.toml's dependency groups, and the files generated from them.

    python -m tools.pins image-requirements [--check]

`image-requirements` writes images/requirements.txt, what the cluster's images install over the Ray base
image (images/Dockerfile): the `job` group, one `name==version` a line, no comments (images/pins.py reads it
with the standard library only). `--check` fails when the file is not what
pyproject.toml says (`make lock` rewrites it).
"""

from __future__ import annotations

import argparse
import sys
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

PROJECT_DIR = Path(__file__).resolve().parent.parent
PYPROJECT = PROJECT_DIR / "pyproject.toml"
IMAGE_REQUIREMENTS = PROJECT_DIR / "images" / "requirements.txt"


def pyproject() -> dict:
    return tomllib.loads(PYPROJECT.read_text())


def group(name: str, groups: dict | None = None) -> list[Requirement]:
    """The requirements of one dependency group, included groups expanded (PEP 735)."""
    groups = groups if groups is not None else pyproject()["dependency-groups"]
    found: list[Requirement] = []
    for entry in groups[name]:
        if isinstance(entry, dict):
            found += group(entry["include-group"], groups)
        else:
            found.append(Requirement(entry))
    return found


def pins(name: str, groups: dict | None = None) -> dict[str, str]:
    """{canonical package name: exact version} of a group; every requirement must be one `==` pin."""
    result: dict[str, str] = {}
    for requirement in group(name, groups):
        specifiers = list(requirement.specifier)
        if len(specifiers) != 1 or specifiers[0].operator != "==":
            raise ValueError(f"pyproject.toml: {requirement} is not pinned exactly (name==version)")
        result[canonicalize_name(requirement.name)] = specifiers[0].version
    return result


def image_requirements() -> str:
    return "".join(f"{requirement}\n" for requirement in group("job"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.pins", description=__doc__.split("\n\n")[0])
    parser.add_argument("file", choices=["image-requirements"], help="the generated file to write or check")
    parser.add_argument("--check", action="store_true", help="only check that the file is current")
    args = parser.parse_args(argv)
    wanted = image_requirements()
    if args.check:
        if not IMAGE_REQUIREMENTS.is_file() or IMAGE_REQUIREMENTS.read_text() != wanted:
            print(f"{IMAGE_REQUIREMENTS.relative_to(PROJECT_DIR)} is stale: run `make lock`", file=sys.stderr)
            return 1
        return 0
    IMAGE_REQUIREMENTS.write_text(wanted)
    return 0


if __name__ == "__main__":
    sys.exit(main())
