"""Module, Parameter and Buffer: registration, dotted names, state dicts, a scope per sub-module."""

from __future__ import annotations

from typing import Iterator, NamedTuple

import numpy as np

from ..autograd import STATE, ShapeError
from ..tensor import Tensor


class Parameter(Tensor):
    """A Tensor that a Module registers and optimizers update (requires_grad=True)."""

    __slots__ = ()

    def __init__(self, data, dtype=None, name: str | None = None):
        super().__init__(data, requires_grad=True, dtype=dtype, name=name)

    def __repr__(self) -> str:
        return "Parameter" + super().__repr__()[len("Tensor"):]


class Buffer(Tensor):
    """A non-trained Tensor a Module keeps (an echo state network's reservoir): requires_grad
    is False, it is in `state_dict()` and moved by `to()`, never in `parameters()`."""

    __slots__ = ()

    def __init__(self, data, dtype=None, name: str | None = None):
        super().__init__(data, requires_grad=False, dtype=dtype, name=name)

    def __repr__(self) -> str:
        return "Buffer" + super().__repr__()[len("Tensor"):]


class LoadResult(NamedTuple):
    """What `load_state_dict(strict=False)` skipped."""

    missing_keys: list
    unexpected_keys: list


class Module:
    """Base class: assign Parameters and Modules as attributes and they are registered in order.

    A sub-module called as an attribute of another opens a scope with that attribute's name,
    so every tensor it makes carries e.g. ("encoder", "cell") in `.scope`.
    """

    _scope_name: str | None = None

    def __init__(self):
        object.__setattr__(self, "_parameters", {})
        object.__setattr__(self, "_modules", {})
        object.__setattr__(self, "_buffers", {})

    def __setattr__(self, name: str, value) -> None:
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"{type(self).__name__}.__init__ must call super().__init__() "
                                 f"before assigning {name!r}")
        self._parameters.pop(name, None)
        self._modules.pop(name, None)
        self._buffers.pop(name, None)
        if isinstance(value, Buffer):
            value.name = name
            self._buffers[name] = value
        elif isinstance(value, Parameter):
            value.name = name
            self._parameters[name] = value
        elif isinstance(value, Module):
            value._scope_name = name
            if isinstance(value, ModuleList):
                for i, module in enumerate(value):
                    module._scope_name = f"{name}.{i}"
            self._modules[name] = value
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        self._parameters.pop(name, None)
        self._modules.pop(name, None)
        self._buffers.pop(name, None)
        object.__delattr__(self, name)

    def __call__(self, *args, **kwargs):
        name = self._scope_name
        if name is None:
            return self.forward(*args, **kwargs)
        previous = STATE.scope
        STATE.scope = previous + (name,)
        STATE.sync()
        try:
            return self.forward(*args, **kwargs)
        finally:
            STATE.scope = previous
            STATE.sync()

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    # ------------------------------------------------------------------------------ parameters

    def named_modules(self, prefix: str = "") -> Iterator[tuple]:
        """(dotted name, module) for this module and every sub-module, registration order."""
        yield prefix, self
        for name, module in self._modules.items():
            yield from module.named_modules(f"{prefix}.{name}" if prefix else name)

    def named_parameters(self) -> Iterator[tuple]:
        """(dotted name, Parameter) in registration order; a shared Parameter appears once."""
        seen = {}
        for prefix, module in self.named_modules():
            for name, param in module._parameters.items():
                if param.id not in seen:
                    seen[param.id] = True
                    yield (f"{prefix}.{name}" if prefix else name), param

    def parameters(self) -> list:
        return [param for _, param in self.named_parameters()]

    def register_buffer(self, name: str, array) -> Buffer:
        """Keep `array` as the non-trained tensor self.<name> (a reservoir, a running statistic).

        It is in state_dict(), moved by to(), never in parameters(); the viz draws it as a
        constant. Returns the Buffer.
        """
        if not isinstance(name, str) or not name.isidentifier():
            raise ValueError(f"register_buffer: name must be an identifier, got {name!r}")
        if name in self._parameters or name in self._modules:
            raise KeyError(f"register_buffer: {type(self).__name__} already has a parameter or "
                           f"module called {name!r}")
        buffer = self._as_buffer(name, array)
        setattr(self, name, buffer)
        return buffer

    @staticmethod
    def _as_buffer(name: str, array) -> Buffer:
        data = array.data if isinstance(array, Tensor) else np.asarray(array)
        if data.dtype.kind not in "biuf":
            raise TypeError(f"register_buffer: {name!r} must be numeric, got dtype {data.dtype}")
        return Buffer(np.array(data, copy=True), name=name)

    def named_buffers(self) -> Iterator[tuple]:
        """(dotted name, Buffer) in registration order."""
        for prefix, module in self.named_modules():
            for name, buffer in module._buffers.items():
                yield (f"{prefix}.{name}" if prefix else name), buffer

    def buffers(self) -> list:
        return [buffer for _, buffer in self.named_buffers()]

    def zero_grad(self) -> None:
        for param in self.parameters():
            param.grad = None

    def to(self, dtype) -> Module:
        """Cast every parameter (and its gradient) and every floating buffer to dtype, in place;
        returns self."""
        for param in self.parameters():
            param.data = param.data.astype(dtype)
            param._version += 1
            if param.grad is not None:
                param.grad = param.grad.astype(dtype)
        for buffer in self.buffers():
            if buffer.data.dtype.kind == "f":  # an integer buffer (a count) stays integer
                buffer.data = buffer.data.astype(dtype)
        return self

    # ------------------------------------------------------------------------------ state dict

    def state_dict(self) -> dict:
        """Dotted name -> a copy of the array of each parameter, then of each buffer."""
        state = {name: param.data.copy() for name, param in self.named_parameters()}
        state.update((name, buffer.data.copy()) for name, buffer in self.named_buffers())
        return state

    def load_state_dict(self, state: dict, strict: bool = True) -> LoadResult:
        """Replace each parameter's and buffer's data in place with a copy of state[name] (dtype
        included)."""
        if not hasattr(state, "keys") or not hasattr(state, "__getitem__"):
            raise TypeError(f"load_state_dict into {type(self).__name__}: expected a dict of "
                            f"name -> array, got {type(state).__name__}")
        params = dict(self.named_parameters())
        params.update(self.named_buffers())
        missing = [name for name in params if name not in state]
        unexpected = [name for name in state if name not in params]
        if strict and (missing or unexpected):
            parts = []
            if missing:
                parts.append(f"missing keys {missing}")
            if unexpected:
                parts.append(f"unexpected keys {unexpected}")
            raise KeyError(f"load_state_dict into {type(self).__name__}: {'; '.join(parts)} "
                           f"(expected keys: {list(params)})")
        arrays = {}
        for name, param in params.items():
            if name not in state:
                continue
            value = state[name]
            if isinstance(value, Tensor):  # the engine's own (a Parameter of another model)
                value = value.data
            elif hasattr(value, "detach") and hasattr(value, "cpu"):  # a torch tensor
                value = value.detach().cpu().numpy()
            try:
                array = np.array(value, copy=True)
            except (TypeError, ValueError) as error:
                raise TypeError(f"load_state_dict into {type(self).__name__}: key {name!r} is "
                                f"not an array ({type(value).__name__}: {error})") from None
            if array.shape != param.data.shape:
                raise ShapeError(f"load_state_dict into {type(self).__name__}: key {name!r} has "
                                 f"shape {array.shape} in the state dict but {param.data.shape} "
                                 f"in the model")
            if array.dtype.kind != "f" and not isinstance(param, Buffer):
                raise TypeError(f"load_state_dict: key {name!r} has dtype {array.dtype}; "
                                f"parameters must be floating point")
            arrays[name] = array
        for name, array in arrays.items():  # all checked first: no half-loaded model
            params[name].data = array
            params[name]._version += 1
        return LoadResult(missing, unexpected)

    # ---------------------------------------------------------------------------------- display

    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__}({self.extra_repr()}"]
        for name, module in self._modules.items():
            child = repr(module).replace("\n", "\n  ")
            lines.append(f"  ({name}): {child}")
        if len(lines) == 1:
            return lines[0] + ")"
        return "\n".join(lines) + "\n)"


class ModuleList(Module):
    """Sub-modules held by index; each is registered as "0", "1", ... (scope "layers.0", ...)."""

    def __init__(self, modules=()):
        super().__init__()
        for module in modules:
            self.append(module)

    def append(self, module: Module) -> ModuleList:
        if not isinstance(module, Module):
            raise TypeError(f"ModuleList holds Modules, got {type(module).__name__}")
        index = str(len(self._modules))
        self._modules[index] = module
        prefix = self._scope_name
        module._scope_name = f"{prefix}.{index}" if prefix else index
        return self

    def __getitem__(self, index: int) -> Module:
        return list(self._modules.values())[index]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self):
        return iter(list(self._modules.values()))

    def forward(self, *args, **kwargs):
        raise TypeError("a ModuleList is a container: call its modules, not the list")
