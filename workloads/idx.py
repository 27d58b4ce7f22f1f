"""MNIST's IDX files: the codec, and finding the standard files in a folder."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np

from workloads.pack_format import DataError, check_arrays

# Standard MNIST: train-* become train.pack, the t10k-* test set becomes val.pack.
IDX_PREFIXES = {"train": "train", "val": "t10k"}

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
        check_arrays(images, labels, f"{images_path} + {labels_path}")
        splits[split] = (images, labels, f"idx:{images_path.name}+{labels_path.name}")
    return splits
