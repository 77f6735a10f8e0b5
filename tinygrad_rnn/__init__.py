"""tinygrad_rnn: a small, exact tensor autograd engine on numpy for the recurrent nets of the
"Deep Learning" book's chapter 10, with a graph explorer (the `viz` package) beside it."""

from . import functional, nn, optim
from .autograd import ShapeError, detect_anomaly, enable_grad, is_grad_enabled, no_grad, scope
from .gradcheck import GradcheckError, gradcheck
from .init import manual_seed
from .optim import clip_grad_norm_, clip_grad_value_
from .tensor import Tensor, cat, maximum, stack, where

__version__ = "0.1.0"

__all__ = [
    "Tensor", "cat", "stack", "where", "maximum", "no_grad", "enable_grad", "is_grad_enabled",
    "scope", "detect_anomaly", "manual_seed", "gradcheck", "GradcheckError", "ShapeError",
    "clip_grad_norm_", "clip_grad_value_", "functional", "nn", "optim",
]
