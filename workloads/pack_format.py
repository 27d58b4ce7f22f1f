"""The packed-split format: one file per split, read in one sequential read and verified.

A packed file is ``MAGIC``, a 4-byte little-endian header length, a JSON header (arrays with dtype and shape,
payload size, sha256 of the payload, where the data came from) and the payload: the arrays' bytes back to
back. One sequential read is what BlobFuse serves fastest; the checksum matters because blob renames are
not atomic, so a reader can meet a half-published file.
"""

from __future__ import annotations

import hashlib
import json
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MAGIC = b"RAYAKS-PACK\n"
FORMAT_VERSION = 1
# A header is a few hundred bytes; anything larger means the length field is garbage.
MAX_HEADER_BYTES = 1 << 16


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


def check_arrays(images: np.ndarray, labels: np.ndarray, name: str) -> None:
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
    check_arrays(images, labels, source)
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


def decode_header(buf: bytes, name: str) -> tuple[dict, int]:
    """The header and the payload's offset; raises DataError naming `name` on anything odd."""
    fixed = len(MAGIC) + 4
    if len(buf) < fixed or not buf.startswith(MAGIC):
        raise DataError(f"{name}: not a packed split (bad magic); run `python -m workloads.data prepare`")
    (length,) = struct.unpack("<I", buf[len(MAGIC) : fixed])
    if length > MAX_HEADER_BYTES:
        raise DataError(f"{name}: corrupt header length {length}")
    if len(buf) < fixed + length:
        raise DataError(f"{name}: truncated header ({len(buf)} bytes, need {fixed + length})")
    try:
        header = json.loads(buf[fixed : fixed + length])
        if header["format"] != FORMAT_VERSION:
            raise DataError(f"{name}: format {header['format']}, this code reads {FORMAT_VERSION}")
        sizes = [int(np.prod(a["shape"])) * np.dtype(a["dtype"]).itemsize for a in header["arrays"]]
        if sum(sizes) != header["payload_bytes"] or not isinstance(header["sha256"], str):
            raise DataError(
                f"{name}: corrupt header: arrays need {sum(sizes)} bytes, header says {header['payload_bytes']}"
            )
    except (ValueError, KeyError, TypeError) as err:
        raise DataError(f"{name}: corrupt header: {err!r}") from err
    return header, fixed + length


def decode_pack(buf: bytes, name: str) -> Split:
    """The split held by packed-file bytes, checksum verified; errors name `name`."""
    header, start = decode_header(buf, name)
    payload = memoryview(buf)[start:]
    if len(payload) != header["payload_bytes"]:
        kind = "truncated" if len(payload) < header["payload_bytes"] else "has trailing bytes"
        raise DataError(f"{name}: {kind}: payload is {len(payload)} bytes, header says {header['payload_bytes']}")
    digest = hashlib.sha256(payload).hexdigest()
    if digest != header["sha256"]:
        raise DataError(
            f"{name}: checksum mismatch (sha256 {digest}, header says {header['sha256']}); "
            "the file is corrupt or was being replaced; prepare it again"
        )
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
    check_arrays(split.images, split.labels, name)
    return split


def read_header(path: Path) -> dict:
    """The header of a packed file, read without its payload."""
    try:
        with open(path, "rb") as f:
            head = f.read(len(MAGIC) + 4)
            length = struct.unpack("<I", head[len(MAGIC) :])[0] if len(head) == len(MAGIC) + 4 else 0
            head += f.read(min(length, MAX_HEADER_BYTES + 1))
    except OSError as err:
        raise DataError(f"{path}: cannot read: {err}") from err
    return decode_header(head, str(path))[0]
