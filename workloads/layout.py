"""Where the packed MNIST splits live under a data dir: `<data dir>/mnist/{train,val}.pack`.

Standard library only: the command line (workloads/cli.py) checks for the files before anything heavier loads.
"""

from __future__ import annotations

from pathlib import Path

SPLITS = ("train", "val")


def pack_path(data_dir: Path | str, split: str) -> Path:
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    return Path(data_dir) / "mnist" / f"{split}.pack"


def missing_packs(data_dir: Path | str) -> list[Path]:
    """The packed files `data_dir` lacks (existence only; loading verifies them)."""
    return [p for p in (pack_path(data_dir, s) for s in SPLITS) if not p.is_file()]
