"""tinygrad_rnn: a small, exact tensor autograd engine on numpy for the recurrent nets of the
"Deep Learning" book's chapter 10, with a graph explorer (the `viz` package) beside it."""

import os as _os

# Recurrent nets multiply small matrices one step at a time; there BLAS threads cost more than
# they give (measured: a T=50 LSTM step 8x slower with 2 OpenBLAS threads on a busy 2-core
# machine). Only takes effect if numpy is not imported yet; set the variables to override.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    _os.environ.setdefault(_var, "1")

from . import functional, nn, optim  # noqa: E402
from .autograd import (  # noqa: E402
    ShapeError, detect_anomaly, enable_grad, is_grad_enabled, no_grad, scope,
)
from .checkpoint import CheckpointError, load, save  # noqa: E402
from .gradcheck import GradcheckError, gradcheck  # noqa: E402
from .init import manual_seed  # noqa: E402
from .optim import clip_grad_norm_, clip_grad_value_  # noqa: E402
from .tensor import Tensor, cat, maximum, stack, where  # noqa: E402
from .tensor import arange, bmm, einsum, ones, randn, zeros  # noqa: E402

__version__ = "0.1.0"

__all__ = [
    "Tensor", "cat", "stack", "where", "maximum", "no_grad", "enable_grad", "is_grad_enabled",
    "scope", "detect_anomaly", "manual_seed", "gradcheck", "GradcheckError", "ShapeError",
    "clip_grad_norm_", "clip_grad_value_", "functional", "nn", "optim", "save", "load",
    "CheckpointError",
    "einsum", "bmm", "zeros", "ones", "randn", "arange",
]
