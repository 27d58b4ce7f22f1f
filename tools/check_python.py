"""Refuse an interpreter other than the Ray images' Python before a virtualenv is built with it.

    python tools/check_python.py        (the Makefile runs it with $(PYTHON))

Plain old syntax and the standard library only, so any python3 can run it and say what is wrong.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import versions


def wanted(tag=versions.RAY_PYTHON_TAG):
    """ "py311" -> "3.11"."""
    return f"{tag[2]}.{tag[3:]}"


def problem(version_info, executable, tag=versions.RAY_PYTHON_TAG):
    """Why this interpreter will not do, or None."""
    have = f"{version_info[0]}.{version_info[1]}"
    if have == wanted(tag):
        return None
    return (
        f"{executable} is Python {have}; this project needs Python {wanted(tag)}, the Ray images' Python ({versions.RAY_IMAGE}). Install it, then run "
        f"make PYTHON=/path/to/python{wanted(tag)} ..."
    )


if __name__ == "__main__":
    message = problem(sys.version_info, sys.executable)
    if message:
        sys.exit(message)
