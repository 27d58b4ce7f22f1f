"""The data every sweep of a benchmark run trains on: the offline digits packed by workloads.data, and in
GPU mode their train split grown to full-size epochs."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from bench.plan import Plan
from workloads import data as workload_data


def prepare_data(work: Path, plan: Plan) -> Path:
    """The offline digits packed by workloads.data; in GPU mode, the train split grown to `train_size`."""
    data_dir = work / "data"
    workload_data.prepare(data_dir, "offline")
    if plan.train_size is None:
        return data_dir
    grown = work / f"data-{plan.train_size}"
    train = workload_data.load_split(data_dir, "train")
    images, labels = synthesize(train.images, train.labels, plan.train_size, seed=0)
    (grown / "mnist").mkdir(parents=True, exist_ok=True)
    source = f"{train.source}; tiled to {plan.train_size} with random shifts of up to 2 px (bench.sweep)"
    workload_data.publish(workload_data.pack_path(grown, "train"), workload_data.encode_pack(images, labels, source))
    shutil.copyfile(workload_data.pack_path(data_dir, "val"), workload_data.pack_path(grown, "val"))
    return grown


def synthesize(images: np.ndarray, labels: np.ndarray, size: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """`size` images: the originals once, then copies shifted by up to 2 px (background-filled)."""
    rng = np.random.default_rng(seed)
    picks = np.concatenate([np.arange(len(labels)), rng.integers(0, len(labels), max(0, size - len(labels)))])[:size]
    out = images[picks].copy()
    shifts = rng.integers(-2, 3, size=(size, 2))
    shifts[: len(labels)] = 0
    padded = np.pad(images, ((0, 0), (2, 2), (2, 2)))
    h, w = images.shape[1:]
    for dy, dx in {tuple(s) for s in shifts.tolist()} - {(0, 0)}:
        rows = np.flatnonzero((shifts[:, 0] == dy) & (shifts[:, 1] == dx))
        out[rows] = padded[picks[rows], 2 - dy : 2 - dy + h, 2 - dx : 2 - dx + w]
    return out, labels[picks].copy()
