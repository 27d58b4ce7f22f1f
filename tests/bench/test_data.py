"""bench/data.py: the GPU mode's grown train split."""

import numpy as np

from bench import data


def test_synthesize_keeps_every_original_then_adds_shifted_copies_with_their_labels():
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, size=(20, 28, 28), dtype=np.uint8)
    labels = np.arange(20, dtype=np.uint8) % 10
    grown, grown_labels = data.synthesize(images, labels, 75, seed=0)
    assert grown.shape == (75, 28, 28) and grown.dtype == np.uint8 and grown_labels.shape == (75,)
    assert np.array_equal(grown[:20], images) and np.array_equal(grown_labels[:20], labels)
    # A copy's pixels are its source's, moved by at most 2 px: the same ink, less what fell off the edge.
    for copy, label in zip(grown[20:], grown_labels[20:]):
        sources = np.flatnonzero(labels == label)
        assert any(copy.sum() <= images[s].sum() for s in sources)
