"""A small CNN for 28x28 digits whose width, depth and dropout are hyperparameters."""

from __future__ import annotations

import torch
from torch import nn

MAX_DEPTH = 4
# Two 2x pools take 28x28 to 7x7; pooling further would leave too little to classify.
POOLED_BLOCKS = 2
# The head sees a fixed 3x3 grid whatever the depth, so its size depends on width only.
HEAD_GRID = 3


class ConvNet(nn.Module):
    """`depth` conv-BN-ReLU blocks, channels `width * 2**i`, then dropout and a linear classifier."""

    def __init__(self, width: int = 16, depth: int = 3, dropout: float = 0.1, num_classes: int = 10):
        super().__init__()
        if width < 1:
            raise ValueError(f"width must be >= 1, got {width!r} (e.g. 16)")
        if not 1 <= depth <= MAX_DEPTH:
            raise ValueError(f"depth must be in 1..{MAX_DEPTH}, got {depth!r} (e.g. 3)")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout!r} (e.g. 0.1)")
        blocks: list[nn.Module] = []
        channels = 1
        for i in range(depth):
            out = width * 2**i
            # No conv bias: BatchNorm's shift replaces it.
            blocks += [nn.Conv2d(channels, out, 3, padding=1, bias=False), nn.BatchNorm2d(out), nn.ReLU(inplace=True)]
            if i < POOLED_BLOCKS:
                blocks.append(nn.MaxPool2d(2))
            channels = out
        self.features = nn.Sequential(*blocks)
        self.pool = nn.AdaptiveAvgPool2d(HEAD_GRID)
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(channels * HEAD_GRID * HEAD_GRID, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(self.features(x)).flatten(1)
        return self.classifier(self.dropout(x))
