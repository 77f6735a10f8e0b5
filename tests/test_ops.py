"""Every op in OPS: gradcheck and the full Jacobian in float64, and PyTorch's values and grads.

The rows live in tests/op_cases.py. Failures name the row, the input, the element, the expected
and the received value.
"""

from __future__ import annotations

import pathlib
import re

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays, mutually_broadcastable_shapes

from gradtools import check_jacobian
from op_cases import CASES, OpCase
from tinygrad_rnn import GradcheckError, Tensor, gradcheck
from tinygrad_rnn.ops import OPS

README = pathlib.Path(__file__).resolve().parents[1] / "README.md"
RTOL, ATOL = 1e-9, 1e-10
IDS = [case.label for case in CASES]
DIFFERENTIABLE = [case for case in CASES if case.differentiable]


def assert_close(received, expected, what: str) -> None:
    """Element-wise rtol/atol comparison whose message names the first differing element."""
    received, expected = np.asarray(received), np.asarray(expected)
    if received.shape != expected.shape:
        raise AssertionError(f"{what}: expected shape {expected.shape}, received {received.shape}")
    if expected.dtype == bool or received.dtype == bool:
        bad = received != expected
    else:
        bad = ~np.isclose(received, expected, rtol=RTOL, atol=ATOL, equal_nan=True)
    if bad.any():
        index = tuple(int(i) for i in np.argwhere(bad)[0]) if bad.ndim else ()
        raise AssertionError(f"{what}, element {index}: expected {expected[index]!r} (PyTorch), "
                             f"received {received[index]!r}; {int(bad.sum())} of {bad.size} "
                             f"elements differ")


def test_every_op_has_a_case():
    missing = sorted(set(OPS) - {case.op for case in CASES})
    assert not missing, f"ops without a row in tests/op_cases.py: {missing}"
    unknown = sorted({case.op for case in CASES} - set(OPS))
    assert not unknown, f"rows in tests/op_cases.py for ops not in OPS: {unknown}"
    assert len(set(IDS)) == len(IDS), "row labels in tests/op_cases.py must be unique"


def test_every_op_is_in_the_readme_table():
    text = README.read_text(encoding="utf-8")
    match = re.search(r"<!-- ops:start -->(.*?)<!-- ops:end -->", text, re.S)
    assert match, "README.md has no <!-- ops:start --> ... <!-- ops:end --> block"
    rows = [line for line in match.group(1).splitlines() if line.startswith("|")]
    names = {re.sub(r"[`\s]", "", row.split("|")[1]) for row in rows[2:]}
    missing = sorted(set(OPS) - names)
    assert not missing, f"ops missing from the README op table: {missing}"


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_case_builds_its_op(case: OpCase):
    rng = np.random.default_rng(0)
    for shapes in case.shapes:
        inputs = [Tensor(a, requires_grad=case.differentiable) for a in case.sample(rng, shapes)]
        out = case.fn(*inputs)
        assert out.op == case.op, f"{case.label} {shapes}: builds {out.op!r}, not {case.op!r}"
        if case.differentiable:
            assert out.requires_grad and out.dtype == np.float64, f"{case.label} {shapes}"
        else:
            assert not out.requires_grad and out.dtype == bool, f"{case.label} {shapes}"


@pytest.mark.parametrize("case", DIFFERENTIABLE, ids=[case.label for case in DIFFERENTIABLE])
def test_gradients_match_central_differences(case: OpCase):
    rng = np.random.default_rng(0)
    for shapes in case.shapes:
        arrays_ = case.sample(rng, shapes)
        inputs = [Tensor(a, requires_grad=True) for a in arrays_]
        try:
            gradcheck(case.fn, *inputs)
        except GradcheckError as error:
            raise AssertionError(f"{case.label}, input shapes {shapes}: {error}") from None
        check_jacobian(case.fn, *arrays_, label=f"{case.label}, input shapes {shapes}")


def _draw_shapes(data, case: OpCase) -> tuple:
    if case.broadcast:
        drawn = data.draw(mutually_broadcastable_shapes(num_shapes=case.arity, min_dims=0,
                                                        max_dims=case.max_dims, max_side=3),
                          label="shapes")
        return drawn.input_shapes
    return data.draw(st.sampled_from(case.shapes), label="shapes")


def _draw_values(data, case: OpCase, shapes: tuple) -> list:
    values = []
    for i, shape in enumerate(shapes):
        domain = case.domain(i)
        elements = st.floats(domain.low, domain.high, allow_nan=False, allow_infinity=False)
        drawn = data.draw(arrays(np.float64, shape, elements=elements), label=f"input {i}")
        values.append(domain.fix(drawn))
    return values


def compare_with_pytorch(case: OpCase, values: list, torch, seed: int = 0) -> None:
    """Run the row here and in PyTorch on the same float64 values; compare outputs and grads."""
    shapes = tuple(v.shape for v in values)
    where = f"{case.label}, input shapes {shapes}"
    ours = [Tensor(v.copy(), requires_grad=case.differentiable) for v in values]
    theirs = [torch.tensor(v, requires_grad=case.differentiable) for v in values]
    out = case.fn(*ours)
    ref = case.torch_fn(torch, *theirs)
    assert_close(out.data, ref.detach().numpy(), f"{where}: output")
    if not case.differentiable:
        return
    assert out.dtype == np.float64, f"{where}: output dtype {out.dtype}, expected float64"
    upstream = np.random.default_rng(seed).standard_normal(out.shape)
    out.backward(upstream)
    ref.backward(torch.from_numpy(upstream))
    for i, (x, t) in enumerate(zip(ours, theirs)):
        expected = np.zeros(x.shape) if t.grad is None else t.grad.numpy()
        received = np.zeros(x.shape) if x.grad is None else x.grad
        assert x.grad is None or x.grad.dtype == np.float64, f"{where}: grad dtype {x.grad.dtype}"
        assert_close(received, expected, f"{where}: gradient of input {i}")


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_matches_pytorch(case: OpCase, torch):
    @settings(max_examples=15, deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.too_slow])
    @given(data=st.data())
    def run(data):
        shapes = _draw_shapes(data, case)
        values = _draw_values(data, case, shapes)
        compare_with_pytorch(case, values, torch, seed=data.draw(st.integers(0, 2**16)))

    run()


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_matches_pytorch_on_listed_shapes(case: OpCase, torch):
    rng = np.random.default_rng(1)
    for shapes in case.shapes:
        compare_with_pytorch(case, case.sample(rng, shapes), torch)
