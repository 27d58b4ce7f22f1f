"""workloads.data: IDX parsing, packed splits, caches and `prepare`, on generated files."""

from __future__ import annotations

import gzip
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from workloads import data

REPO = Path(__file__).resolve().parents[2]

idx_arrays = st.sampled_from(["u1", "i1", ">i2", ">i4", ">f4", ">f8"]).flatmap(
    lambda dtype: hnp.arrays(
        dtype,
        hnp.array_shapes(min_dims=1, max_dims=4, min_side=0, max_side=5),
        elements={"allow_nan": False} if "f" in dtype else None,
    )
)


def digits(n: int, seed: int = 0, size: int = 28) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, size, size), dtype=np.uint8), rng.integers(0, 10, n, dtype=np.uint8)


def write_mnist_idx(directory: Path, gz: bool = False, sep: str = "-") -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Standard-named IDX files for a small train and t10k set."""
    directory.mkdir(parents=True, exist_ok=True)
    sets = {"train": digits(30, 1), "t10k": digits(12, 2)}
    for prefix, (images, labels) in sets.items():
        for kind, rank, array in (("images", 3, images), ("labels", 1, labels)):
            raw = data.encode_idx(array)
            name = f"{prefix}-{kind}{sep}idx{rank}-ubyte"
            if gz:
                (directory / f"{name}.gz").write_bytes(gzip.compress(raw))
            else:
                (directory / name).write_bytes(raw)
    return sets


# --- IDX ---------------------------------------------------------------------------------------------


@given(idx_arrays)
def test_idx_bytes_round_trip_any_supported_array(array):
    parsed = data.parse_idx(data.encode_idx(array), "x.idx")
    assert parsed.shape == array.shape
    assert parsed.dtype.kind == array.dtype.kind and parsed.dtype.itemsize == array.dtype.itemsize
    np.testing.assert_array_equal(parsed, array)


def test_idx_header_is_mnist_standard_big_endian():
    raw = data.encode_idx(np.zeros((2, 28, 28), np.uint8))
    assert raw[:4] == b"\x00\x00\x08\x03"
    assert raw[4:16] == (2).to_bytes(4, "big") + (28).to_bytes(4, "big") + (28).to_bytes(4, "big")


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda raw: raw[:-1], "truncated"),
        (lambda raw: raw + b"\x00", "trailing bytes"),
        (lambda raw: raw[:6], "truncated IDX header"),
        (lambda raw: b"\x01" + raw[1:], "not an IDX file"),
        (lambda raw: raw[:2] + b"\x42" + raw[3:], "unknown IDX type code"),
    ],
)
def test_a_damaged_idx_file_is_rejected_naming_the_file(mutate, message):
    raw = data.encode_idx(np.arange(12, dtype=np.uint8).reshape(3, 4))
    with pytest.raises(data.DataError, match=message) as err:
        data.parse_idx(mutate(raw), "/data/train-images-idx3-ubyte")
    assert "/data/train-images-idx3-ubyte" in str(err.value)


def test_a_truncated_gzipped_idx_file_is_rejected_naming_the_file(tmp_path):
    path = tmp_path / "train-labels-idx1-ubyte.gz"
    path.write_bytes(gzip.compress(data.encode_idx(np.arange(100, dtype=np.uint8)))[:-10])
    with pytest.raises(data.DataError, match=str(path)):
        data.read_idx(path)


@pytest.mark.parametrize("gz, sep", [(False, "-"), (True, "-"), (True, ".")])
def test_standard_mnist_idx_files_become_train_and_validation_splits(tmp_path, gz, sep):
    sets = write_mnist_idx(tmp_path / "idx", gz=gz, sep=sep)
    written = data.prepare(tmp_path / "datasets", tmp_path / "idx")
    assert written == [data.pack_path(tmp_path / "datasets", "train"), data.pack_path(tmp_path / "datasets", "val")]
    for split, prefix in (("train", "train"), ("val", "t10k")):
        loaded = data.load_split(tmp_path / "datasets", split, cache=tmp_path / "cache")
        np.testing.assert_array_equal(loaded.images, sets[prefix][0])
        np.testing.assert_array_equal(loaded.labels, sets[prefix][1])


def test_a_directory_without_mnist_files_is_reported_with_the_names_looked_for(tmp_path):
    with pytest.raises(data.DataError, match="train-images-idx3-ubyte"):
        data.prepare(tmp_path / "datasets", tmp_path)


def test_download_fails_clearly_when_no_mirror_is_reachable(tmp_path):
    # Port 9 on loopback (discard) refuses connections: the same failure as being offline.
    with pytest.raises(data.DataError, match=r"offline.*--from DIR.*--offline"):
        data.download_idx(tmp_path, mirrors=("http://127.0.0.1:9/",), timeout=2)


# --- Packed splits -----------------------------------------------------------------------------------


@settings(max_examples=30)
@given(n=st.integers(0, 20), size=st.integers(1, 30), seed=st.integers(0, 2**16))
def test_packed_splits_round_trip(n, size, seed):
    images, labels = digits(n, seed, size)
    split = data.decode_pack(data.encode_pack(images, labels, "test"), "x.pack")
    np.testing.assert_array_equal(split.images, images)
    np.testing.assert_array_equal(split.labels, labels)
    assert split.source == "test" and len(split) == n


def test_the_header_carries_shape_dtype_and_sha256_of_the_payload(tmp_path):
    images, labels = digits(5)
    path = tmp_path / "train.pack"
    path.write_bytes(data.encode_pack(images, labels, "test"))
    header = data.read_header(path)
    assert header["arrays"][0] == {"name": "images", "dtype": "|u1", "shape": [5, 28, 28]}
    assert header["arrays"][1] == {"name": "labels", "dtype": "|u1", "shape": [5]}
    import hashlib

    assert header["sha256"] == hashlib.sha256(images.tobytes() + labels.tobytes()).hexdigest()


@pytest.fixture
def packed(tmp_path) -> Path:
    images, labels = digits(40)
    root = tmp_path / "datasets"
    (root / "mnist").mkdir(parents=True)
    for split in data.SPLITS:
        data.pack_path(root, split).write_bytes(data.encode_pack(images, labels, "test"))
    return root


def damage(path: Path, how: str) -> None:
    raw = bytearray(path.read_bytes())
    if how == "flipped payload byte":
        raw[-7] ^= 0xFF
    elif how == "truncated":
        raw = raw[: len(raw) // 2]
    elif how == "truncated header":
        raw = raw[:20]
    elif how == "bad magic":
        raw[:4] = b"JUNK"
    elif how == "garbage header":
        start = len(data.MAGIC) + 4
        raw[start : start + 8] = b"\xff" * 8
    path.write_bytes(bytes(raw))


@pytest.mark.parametrize(
    "how, message",
    [
        ("flipped payload byte", "checksum mismatch"),
        ("truncated", "truncated"),
        ("truncated header", "truncated header"),
        ("bad magic", "not a packed split"),
        ("garbage header", "corrupt header"),
    ],
)
def test_a_corrupt_or_truncated_packed_file_is_rejected_naming_the_file(packed, tmp_path, how, message):
    path = data.pack_path(packed, "train")
    damage(path, how)
    with pytest.raises(data.DataError, match=message) as err:
        data.load_split(packed, "train", cache=tmp_path / "cache")
    assert str(path) in str(err.value)


def test_a_missing_split_points_at_the_prepare_command(tmp_path):
    with pytest.raises(data.DataError, match=r"workloads\.data prepare"):
        data.load_split(tmp_path, "val")


# --- Caches ------------------------------------------------------------------------------------------


def test_loading_leaves_a_node_local_copy_keyed_by_checksum(packed, tmp_path):
    cache = tmp_path / "cache"
    split = data.load_split(packed, "train", cache=cache)
    assert (cache / f"mnist-train-{split.sha256}.pack").read_bytes() == data.pack_path(packed, "train").read_bytes()


def test_a_damaged_node_local_copy_is_replaced_from_the_data_dir(packed, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    split = data.load_split(packed, "train", cache=cache)
    local = cache / f"mnist-train-{split.sha256}.pack"
    damage(local, "flipped payload byte")
    monkeypatch.setattr(data, "_MEMORY", {})
    again = data.load_split(packed, "train", cache=cache)
    np.testing.assert_array_equal(again.images, split.images)
    data.decode_pack(local.read_bytes(), str(local))  # whole again


def test_a_second_load_in_the_same_process_reads_nothing(packed, tmp_path, monkeypatch):
    first = data.load_split(packed, "train", cache=tmp_path / "cache")
    monkeypatch.setattr(Path, "read_bytes", lambda self: pytest.fail(f"read {self}"))
    assert data.load_split(packed, "train", cache=tmp_path / "cache") is first


def test_a_republished_split_is_loaded_afresh(packed, tmp_path):
    first = data.load_split(packed, "train", cache=tmp_path / "cache")
    images, labels = digits(7, seed=9)
    data.publish(data.pack_path(packed, "train"), data.encode_pack(images, labels, "new"))
    second = data.load_split(packed, "train", cache=tmp_path / "cache")
    assert second.sha256 != first.sha256 and len(second) == 7


def test_the_cache_dir_follows_ray_aks_cache(monkeypatch, tmp_path):
    monkeypatch.setenv(data.CACHE_ENV, str(tmp_path / "c"))
    assert data.cache_dir() == tmp_path / "c"


# --- prepare -----------------------------------------------------------------------------------------


def test_offline_digits_split_4000_1000_stratified_and_disjoint():
    splits = data.offline_splits()
    train_images, train_labels, _ = splits["train"]
    val_images, val_labels, _ = splits["val"]
    assert train_images.shape == (4000, 28, 28) and val_images.shape == (1000, 28, 28)
    assert np.bincount(val_labels).tolist() == [100] * 10
    assert np.bincount(train_labels).tolist() == [400] * 10
    train_rows = {row.tobytes() for row in train_images}
    assert not any(row.tobytes() in train_rows for row in val_images)


def test_the_offline_split_is_the_same_every_time():
    a, b = data.offline_splits(), data.offline_splits()
    np.testing.assert_array_equal(a["val"][0], b["val"][0])


def test_prepare_leaves_valid_files_alone_unless_forced(packed):
    before = data.pack_path(packed, "train").stat().st_mtime_ns
    assert data.prepare(packed, "offline") == []
    assert data.pack_path(packed, "train").stat().st_mtime_ns == before
    assert len(data.prepare(packed, "offline", force=True)) == 2


def test_prepare_replaces_a_corrupt_file(packed):
    damage(data.pack_path(packed, "val"), "truncated")
    assert len(data.prepare(packed, "offline")) == 2
    data.load_split(packed, "val")


def test_two_concurrent_prepares_into_one_directory_leave_valid_files(tmp_path):
    command = [sys.executable, "-m", "workloads.data", "prepare", "--data-dir", str(tmp_path), "--offline", "--force"]
    runs = [
        subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for _ in range(2)
    ]
    for run in runs:
        output, _ = run.communicate(timeout=120)
        assert run.returncode == 0, output
    for split in data.SPLITS:
        path = data.pack_path(tmp_path, split)
        data.decode_pack(path.read_bytes(), str(path))
    assert sorted(p.name for p in (tmp_path / "mnist").iterdir()) == ["train.pack", "val.pack"]  # no temp files


def test_the_prepare_command_reports_what_it_wrote(tmp_path, capsys):
    write_mnist_idx(tmp_path / "idx")
    assert data.main(["prepare", "--data-dir", str(tmp_path / "d"), "--from", str(tmp_path / "idx")]) == 0
    out = capsys.readouterr().out
    assert "train.pack" in out and "val.pack" in out and "idx:train-images-idx3-ubyte" in out


def test_the_prepare_command_rejects_a_missing_idx_dir(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        data.main(["prepare", "--data-dir", str(tmp_path), "--from", str(tmp_path / "nope")])
    assert exit_.value.code == 2
    assert "--from" in capsys.readouterr().err


def test_the_prepare_command_takes_one_source_only(tmp_path):
    with pytest.raises(SystemExit):
        data.main(["prepare", "--data-dir", str(tmp_path), "--offline", "--download"])


# --- Module boundaries and the one atomic write ----------------------------------------------------------


def test_every_writer_of_a_results_or_data_file_publishes_it_whole_and_flushed(tmp_path, monkeypatch):
    # One helper for packed splits and summary.json: a unique temporary name, fsync, then rename.
    from workloads import files, report

    synced = []
    real_fsync = files.os.fsync
    monkeypatch.setattr(files.os, "fsync", lambda fd: synced.append(fd) or real_fsync(fd))
    report.write_json(tmp_path / "summary.json", {"a": 1})
    data.publish(tmp_path / "x.pack", b"x")
    assert len(synced) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["summary.json", "x.pack"]


def test_the_data_package_splits_format_codec_source_and_cache_without_cycles():
    # pack_format and idx need nothing of the cache or the CLI; the CLI module re-exports what others use.
    import ast

    folder = Path(data.__file__).parent
    imports = {
        name: {
            node.module
            for node in ast.walk(ast.parse((folder / f"{name}.py").read_text()))
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("workloads")
        }
        for name in ("files", "pack_format", "idx", "sources")
    }
    assert imports["files"] == imports["pack_format"] == set()
    assert imports["idx"] == {"workloads.pack_format"}
    assert "workloads.data" not in set().union(*imports.values())
    assert all(hasattr(data, name) for name in data.__all__)
