"""Checkpoints: `save(obj, path)` / `load(path)` to a numpy `.npz`, without pickle.

The file holds one entry per array ("a0", "a1", ...) and "__tinygrad_rnn__": the nesting of
dicts, lists, numbers, strings and None as JSON, with the format name and version. Loading uses
`np.load(allow_pickle=False)` and builds nothing but those plain values, so a crafted file can
hold data but never run code.
"""

from __future__ import annotations

import io
import json
import os
import zipfile

import numpy as np

FORMAT = "tinygrad_rnn checkpoint"
VERSION = 1
_META = "__tinygrad_rnn__"


class CheckpointError(ValueError):
    """A file that is not a readable checkpoint of this format (the message says why)."""


def _encode(obj, arrays: list, where: str):
    from .tensor import Tensor

    if isinstance(obj, Tensor):
        obj = obj.data
    if isinstance(obj, np.ndarray):
        if obj.dtype.kind not in "biuf":
            raise TypeError(f"save: {where} is an array of dtype {obj.dtype}; only numeric "
                            f"arrays are saved")
        arrays.append(np.ascontiguousarray(obj))
        return {"$array": len(arrays) - 1}
    if isinstance(obj, dict):
        out = {}
        for key, value in obj.items():
            if not isinstance(key, str):
                raise TypeError(f"save: {where} has a key {key!r} that is not a str")
            out[key] = _encode(value, arrays, f"{where}[{key!r}]")
        return {"$dict": out}
    if isinstance(obj, (list, tuple)):
        items = [_encode(v, arrays, f"{where}[{k}]") for k, v in enumerate(obj)]
        return {"$tuple" if isinstance(obj, tuple) else "$list": items}
    if isinstance(obj, np.generic):
        obj = obj.item()
    if obj is None or isinstance(obj, (bool, int, str)):
        return obj
    if isinstance(obj, float):
        return {"$float": repr(obj)}  # nan and inf survive, JSON has neither
    raise TypeError(f"save: {where} is a {type(obj).__name__}; a checkpoint holds dicts with "
                    f"str keys, lists, tuples, arrays/Tensors, numbers, strings and None")


def _decode(obj, arrays, path: str):
    if not isinstance(obj, dict):
        if obj is None or isinstance(obj, (bool, int, str)):
            return obj
        raise CheckpointError(f"load: {path}: unexpected value {obj!r:.40} in the structure")
    if len(obj) != 1:
        raise CheckpointError(f"load: {path}: malformed structure entry {obj!r:.60}")
    (kind, value), = obj.items()
    if kind == "$array":
        if not isinstance(value, int) or f"a{value}" not in arrays:
            raise CheckpointError(f"load: {path}: the structure names array {value!r}, which "
                                  f"the file does not hold (truncated or edited?)")
        return arrays[f"a{value}"]
    if kind == "$dict" and isinstance(value, dict):
        return {k: _decode(v, arrays, path) for k, v in value.items()}
    if kind in ("$list", "$tuple") and isinstance(value, list):
        items = [_decode(v, arrays, path) for v in value]
        return tuple(items) if kind == "$tuple" else items
    if kind == "$float" and isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            pass
    raise CheckpointError(f"load: {path}: malformed structure entry {obj!r:.60}")


def save(obj, path) -> None:
    """Write obj (dicts, lists, arrays/Tensors, numbers, strings, None) to `path` (.npz).

    A model: `save({"model": model.state_dict(), "optimizer": opt.state_dict()}, "ck.npz")`.
    Tensors are saved as their arrays and come back as arrays. The file is written next to its
    final name and renamed, so an interrupted save never leaves a half-written checkpoint.
    """
    path = os.fspath(path)
    if not path:
        raise ValueError("save: the path is empty")
    arrays: list = []
    structure = _encode(obj, arrays, "obj")
    meta = json.dumps({"format": FORMAT, "version": VERSION, "structure": structure})
    entries = {f"a{k}": array for k, array in enumerate(arrays)}
    entries[_META] = np.frombuffer(meta.encode("utf-8"), dtype=np.uint8)
    temporary = f"{path}.tmp-{os.getpid()}"
    try:
        with open(temporary, "wb") as handle:
            np.savez(handle, **entries)
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)


def load(path):
    """Read what `save` wrote; arrays come back as numpy arrays. A file of another kind,
    truncated or of a newer version raises CheckpointError (a ValueError) saying so."""
    path = os.fspath(path)
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
    except IsADirectoryError:
        raise CheckpointError(f"load: {path} is a directory, not a checkpoint") from None
    try:
        with np.load(io.BytesIO(raw), allow_pickle=False) as archive:
            if _META not in archive.files:
                raise CheckpointError(f"load: {path} is an .npz but not a tinygrad_rnn "
                                      f"checkpoint (no {_META} entry)")
            arrays = {name: archive[name] for name in archive.files}
    except CheckpointError:
        raise
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, KeyError) as error:
        raise CheckpointError(f"load: {path} is not a readable checkpoint (not an .npz, "
                              f"truncated or corrupt: {error})") from None
    try:
        meta = json.loads(arrays.pop(_META).tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise CheckpointError(f"load: {path}: unreadable header ({error})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise CheckpointError(f"load: {path} is not a tinygrad_rnn checkpoint")
    version = meta.get("version")
    if not isinstance(version, int) or not 1 <= version <= VERSION:
        raise CheckpointError(f"load: {path} has format version {version!r}; this tinygrad_rnn "
                              f"reads version {VERSION} (upgrade tinygrad_rnn)")
    return _decode(meta.get("structure"), arrays, path)
