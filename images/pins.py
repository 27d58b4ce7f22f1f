"""The workload's pins, read from the project's pin file, for the image build; and the check that an image
installed exactly those (run at the end of images/Dockerfile).

    python pins.py requirements.txt                 # prints the workload's pin lines
    python pins.py --check requirements.txt INDEX   # fails unless the installed versions are the pins
                                                    # and torch is the build INDEX serves (cpu, cuXYZ)

Stdlib only: it runs in the base image before anything is installed.
"""

from __future__ import annotations

import re
import sys
from importlib import metadata
from pathlib import Path
from typing import Callable, Mapping

# What the workload imports besides Ray (which the base image brings, at the version rayVersion names).
WORKLOAD_PACKAGES = ("torch", "optuna", "mlxtend", "matplotlib", "numpy")
_PIN = re.compile(r"([A-Za-z0-9_.-]+)(\[[A-Za-z0-9_,-]+\])?==([^\s#;]+)")


def read_pins(text: str) -> dict[str, str]:
    """name (lowercase) → exact version, for every `name==version` line of a requirements file."""
    pins = {}
    for line in text.splitlines():
        match = _PIN.fullmatch(line.split("#")[0].strip())
        if match:
            pins[match[1].lower()] = match[3]
    return pins


def workload_pins(text: str) -> list[str]:
    """The pin lines the image installs, in WORKLOAD_PACKAGES order; every one must be pinned."""
    pins = read_pins(text)
    missing = [name for name in WORKLOAD_PACKAGES if name not in pins]
    if missing:
        raise SystemExit(f"the pin file pins none of {missing}: pin them exactly (name==version)")
    return [f"{name}=={pins[name]}" for name in WORKLOAD_PACKAGES]


def torch_variant(index_url: str) -> str:
    """`cpu` or `cuXYZ`: the build a PyTorch wheel index serves (its last path part)."""
    variant = index_url.rstrip("/").rsplit("/", 1)[-1]
    if not re.fullmatch(r"cpu|cu\d{3,}", variant):
        raise SystemExit(f"{index_url!r} is not a PyTorch wheel index (…/whl/cpu or …/whl/cuXYZ)")
    return variant


def problems(text: str, index_url: str, installed: Callable[[str], str], cuda: str | None) -> list[str]:
    """What disagrees between the pins and an environment (`installed(name)` → version, `cuda`: torch's
    CUDA version or None)."""
    found = []
    for line in workload_pins(text):
        name, version = line.split("==")
        have = installed(name)
        if have.split("+")[0] != version:
            found.append(f"{name} {have} installed, {version} pinned")
    variant = torch_variant(index_url)
    want_cuda = None if variant == "cpu" else f"{variant[2:-1]}.{variant[-1]}"
    if cuda != want_cuda:
        found.append(f"torch is built for CUDA {cuda}, the index serves {variant}")
    return found


def main(argv: list[str]) -> int:
    if argv[:1] == ["--check"]:
        import torch

        text = Path(argv[1]).read_text()
        found = problems(text, argv[2], metadata.version, torch.version.cuda)
        for problem in found:
            print(f"error: {problem}", file=sys.stderr)
        return 1 if found else 0
    print("\n".join(workload_pins(Path(argv[0]).read_text())))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
