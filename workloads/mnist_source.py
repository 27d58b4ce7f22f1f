"""Where the full MNIST comes from, and the seed step that fills the datasets volume with it once.

The four gzipped IDX files of standard MNIST (60,000 training and 10,000 test digits), with their sizes and
SHA-256 sums. yann.lecun.com itself now refuses downloads; the mirrors are those torchvision and TensorFlow
use, and every byte fetched from them is checked against these sums.

    python -m workloads.mnist_source fetch [DIR]                 # download and verify (the image build)
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from workloads.files import publish

MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)


@dataclass(frozen=True)
class SourceFile:
    name: str
    size: int
    sha256: str
    md5: str


# Sizes and SHA-256 as TensorFlow Datasets' and torchvision's checksums list them; MD5 as torchvision does.
FILES = (
    SourceFile(
        "train-images-idx3-ubyte.gz",
        9_912_422,
        "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
        "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    ),
    SourceFile(
        "train-labels-idx1-ubyte.gz",
        28_881,
        "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
        "d53e105ee54ea40749a09fcbcd1e9432",
    ),
    SourceFile(
        "t10k-images-idx3-ubyte.gz",
        1_648_877,
        "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
        "9fb629c4189551a2d022fa330f9573f3",
    ),
    SourceFile(
        "t10k-labels-idx1-ubyte.gz",
        4_542,
        "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
        "ec29112dd5afa0611ce80d1b7f02629c",
    ),
)
# What the packs of the full dataset hold: the seed refuses to call anything else done.
SPLIT_SIZES = {"train": 60_000, "val": 10_000}
# Where the CPU image keeps the verified files (images/Dockerfile fetches them at build time).
IMAGE_DIR = "/opt/ray-aks/mnist"


class SourceError(Exception):
    """A source file is missing or is not the published one; the message names it."""


def check(path: Path, expected: SourceFile) -> None:
    """Raise SourceError unless `path` has the published size and SHA-256."""
    try:
        body = path.read_bytes()
    except OSError as err:
        raise SourceError(f"{path}: cannot read: {err}") from err
    digest = hashlib.sha256(body).hexdigest()
    if len(body) != expected.size or digest != expected.sha256:
        raise SourceError(
            f"{path}: {len(body)} bytes, sha256 {digest}; the published {expected.name} is "
            f"{expected.size} bytes, sha256 {expected.sha256}"
        )


def verify(directory: Path, files: Sequence[SourceFile] = FILES) -> None:
    """Every source file is in `directory` and is the published one."""
    for expected in files:
        check(directory / expected.name, expected)


def fetch(directory: Path, mirrors: Sequence[str] = MIRRORS, timeout: float = 60.0) -> Path:
    """Download the source files into `directory`, keeping only bytes whose SHA-256 matches."""
    directory.mkdir(parents=True, exist_ok=True)
    for expected in FILES:
        target = directory / expected.name
        try:
            check(target, expected)
            continue
        except SourceError:
            pass
        failures = []
        for mirror in mirrors:
            url = mirror + expected.name
            try:
                with urllib.request.urlopen(url, timeout=timeout) as response:
                    body = response.read()
            except (urllib.error.URLError, OSError) as err:
                failures.append(f"{url}: {err}")
                continue
            digest = hashlib.sha256(body).hexdigest()
            if digest != expected.sha256:
                failures.append(f"{url}: sha256 {digest}, expected {expected.sha256}")
                continue
            publish(target, body)  # whole or not at all: a half-written file never passes for the source
            break
        else:
            raise SourceError(f"cannot fetch {expected.name}: {'; '.join(failures)}")
    return directory


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m workloads.mnist_source", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    fetch_cmd = commands.add_parser("fetch", help="download the source files and verify their SHA-256")
    fetch_cmd.add_argument("directory", type=Path, nargs="?", default=Path(IMAGE_DIR))
    args = parser.parse_args(argv)
    try:
        fetch(args.directory)
    except SourceError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(f"{args.directory}: {len(FILES)} MNIST files, sha256 verified")
    return 0


if __name__ == "__main__":
    sys.exit(main())
