"""Layers and cells with PyTorch's parameter names, shapes, formulas and initialisation."""

from .cells import GRUCell, LSTMCell, RNNCell
from .layers import Embedding, Linear
from .module import Buffer, Module, ModuleList, Parameter

__all__ = ["Module", "ModuleList", "Parameter", "Buffer", "Linear", "Embedding", "RNNCell",
           "LSTMCell", "GRUCell"]
