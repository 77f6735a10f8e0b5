"""Linear and Embedding, as in PyTorch (same parameter names, shapes and default init)."""

from __future__ import annotations

import math

import numpy as np

from .. import functional as F
from .. import init
from ..autograd import ShapeError
from ..tensor import Tensor
from .module import Module, Parameter


class Linear(Module):
    """y = x W^T + b over the last axis. Shapes: (..., in_features) -> (..., out_features)."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True):
        super().__init__()
        _check_sizes("Linear", in_features=in_features, out_features=out_features)
        self.in_features, self.out_features = in_features, out_features
        bound = 1 / math.sqrt(in_features)
        self.weight = Parameter(init.uniform((out_features, in_features), bound))
        self.bias = Parameter(init.uniform((out_features,), bound)) if bias else None

    def forward(self, x: Tensor) -> Tensor:
        if x.shape[-1:] != (self.in_features,):
            raise ShapeError(f"Linear(in_features={self.in_features}) got x with shape {x.shape}; "
                             f"expected (..., {self.in_features})")
        return F.linear(x, self.weight, self.bias)  # one node: x @ W^T + b

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, " \
               f"bias={self.bias is not None}"


class Embedding(Module):
    """A lookup table: integer indices (...) -> vectors (..., embedding_dim); weight ~ N(0, 1)."""

    def __init__(self, num_embeddings: int, embedding_dim: int):
        super().__init__()
        _check_sizes("Embedding", num_embeddings=num_embeddings, embedding_dim=embedding_dim)
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.weight = Parameter(init.normal((num_embeddings, embedding_dim)))

    def forward(self, indices) -> Tensor:
        index = np.asarray(indices.data if isinstance(indices, Tensor) else indices)
        if index.dtype.kind not in "iu":
            raise TypeError(f"Embedding: indices must be integers, got dtype {index.dtype}")
        if index.size and (index.min() < 0 or index.max() >= self.num_embeddings):
            bad = index[(index < 0) | (index >= self.num_embeddings)].flat[0]
            raise IndexError(f"Embedding(num_embeddings={self.num_embeddings}): index {bad} is "
                             f"out of range")
        return self.weight[index]

    def extra_repr(self) -> str:
        return f"{self.num_embeddings}, {self.embedding_dim}"


def _check_sizes(layer: str, **sizes) -> None:
    for name, value in sizes.items():
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value <= 0:
            raise ValueError(f"{layer}: {name} must be a positive int, got {value!r}")
