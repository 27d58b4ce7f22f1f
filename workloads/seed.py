"""The seed step of the seed Job (manifests/seed_job.py): pack the full MNIST onto the datasets volume, once.

    python -m workloads.seed --data-dir D [--from DIR]   # verify DIR's source files, pack them into D/mnist

The source files and their checksums are workloads/mnist_source.py's (baked into the image at build time).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from workloads import data, mnist_source


def seed(
    data_dir: Path,
    source_dir: Path,
    files: Sequence[mnist_source.SourceFile] = mnist_source.FILES,
    sizes: dict[str, int] = mnist_source.SPLIT_SIZES,
) -> list[Path]:
    """Fill `<data_dir>/mnist` with the full MNIST from verified source files, once.

    Returns the packs written: none when valid packs of the full dataset are already there, so running it
    again (a second `pulumi up`, a replaced Job) changes nothing.
    """
    if _full_packs(data_dir, sizes):
        return []
    mnist_source.verify(source_dir, files)
    written = data.prepare(data_dir, source_dir, force=True)
    if not _full_packs(data_dir, sizes):
        raise mnist_source.SourceError(f"{data_dir / 'mnist'}: the packs written do not hold {sizes} digits")
    return written


def _full_packs(data_dir: Path, sizes: dict[str, int]) -> bool:
    try:
        for split, size in sizes.items():
            path = data.pack_path(data_dir, split)
            if len(data.decode_pack(path.read_bytes(), str(path))) != size:
                return False
    except (OSError, data.DataError):
        return False
    return True


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m workloads.seed", description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--from", dest="source_dir", type=Path, default=Path(mnist_source.IMAGE_DIR))
    args = parser.parse_args(argv)
    try:
        written = seed(args.data_dir, args.source_dir)
    except mnist_source.SourceError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    if not written:
        print(f"{args.data_dir / 'mnist'} already holds the full MNIST ({mnist_source.SPLIT_SIZES}); nothing to do")
    for path in written:
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
