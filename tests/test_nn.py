"""nn: parameter names and shapes, state dicts, scopes, and the cells against PyTorch."""

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import Tensor, nn
from tinygrad_rnn import functional as F

CELLS = [("RNNCell", 1), ("LSTMCell", 4), ("GRUCell", 3)]


@pytest.mark.parametrize("name,gates", CELLS)
def test_cell_parameters_follow_pytorch(name, gates):
    cell = getattr(nn, name)(5, 7)
    shapes = {k: p.shape for k, p in cell.named_parameters()}
    assert shapes == {"weight_ih": (gates * 7, 5), "weight_hh": (gates * 7, 7),
                      "bias_ih": (gates * 7,), "bias_hh": (gates * 7,)}
    bound = 1 / np.sqrt(7)
    for p in cell.parameters():
        assert p.dtype == np.float32 and np.abs(p.data).max() <= bound
        assert p.name in shapes


def _unroll(cell, xs, state):
    """Sum of a 7-step unroll's outputs through a fixed readout, as a scalar loss."""
    outs = []
    for t in range(xs.shape[0]):
        state = cell(xs[t], state)
        outs.append(state[0] if isinstance(state, tuple) else state)
    return outs


@pytest.mark.parametrize("name,gates", CELLS)
def test_cell_unroll_matches_pytorch(torch, name, gates):
    rng = np.random.default_rng(1)
    T, B, D, H = 7, 3, 4, 5
    ref = getattr(torch.nn, name)(D, H).double()
    ours = getattr(nn, name)(D, H)
    ours.load_state_dict({k: v.detach().numpy() for k, v in ref.state_dict().items()})
    assert all(p.dtype == np.float64 for p in ours.parameters())
    xs = rng.normal(size=(T, B, D))
    readout = rng.normal(size=(H,))

    x_ref = torch.tensor(xs, requires_grad=True)
    state = None
    loss_ref = 0
    for t in range(T):
        state = ref(x_ref[t], state)
        h = state[0] if isinstance(state, tuple) else state
        loss_ref = loss_ref + (torch.tanh(h) @ torch.tensor(readout)).sum()
    loss_ref.backward()

    x = Tensor(xs, requires_grad=True)
    loss = 0
    for h in _unroll(ours, x, None):
        loss = loss + (h.tanh() @ readout).sum()
    loss.backward()

    np.testing.assert_allclose(loss.item(), loss_ref.item(), rtol=1e-12)
    np.testing.assert_allclose(x.grad, x_ref.grad.numpy(), rtol=1e-9, atol=1e-12)
    for key, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad, getattr(ref, key).grad.numpy(), rtol=1e-9,
                                   atol=1e-12, err_msg=key)


def test_linear_and_embedding_match_pytorch(torch):
    rng = np.random.default_rng(2)
    ref_lin, ref_emb = torch.nn.Linear(4, 3).double(), torch.nn.Embedding(6, 4).double()
    lin, emb = nn.Linear(4, 3), nn.Embedding(6, 4)
    lin.load_state_dict({k: v.detach().numpy() for k, v in ref_lin.state_dict().items()})
    emb.load_state_dict({k: v.detach().numpy() for k, v in ref_emb.state_dict().items()})
    idx = np.array([[0, 5, 5], [2, 1, 0]])
    target = rng.integers(0, 3, size=(2, 3))
    logits_ref = ref_lin(ref_emb(torch.tensor(idx))).permute(0, 2, 1)  # torch: class axis 1
    out_ref = torch.nn.functional.cross_entropy(logits_ref, torch.tensor(target))
    out_ref.backward()
    out = F.cross_entropy(lin(emb(idx)), target)
    out.backward()
    np.testing.assert_allclose(out.item(), out_ref.item(), rtol=1e-12)
    np.testing.assert_allclose(emb.weight.grad, ref_emb.weight.grad.numpy(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(lin.weight.grad, ref_lin.weight.grad.numpy(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(lin.bias.grad, ref_lin.bias.grad.numpy(), rtol=1e-9, atol=1e-12)


def test_gradcheck_cells_float64():
    tg.manual_seed(3)
    for name, _ in CELLS:
        cell = getattr(nn, name)(3, 2).to(np.float64)
        x = Tensor(np.random.default_rng(0).normal(size=(2, 3)), requires_grad=True)

        def f(x, *params):
            out = cell(x, None)
            out = cell(x, out)
            return out[0] if isinstance(out, tuple) else out

        assert tg.gradcheck(f, x, *cell.parameters())


class _Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = nn.RNNCell(3, 4)
        self.layers = nn.ModuleList([nn.Linear(4, 4), nn.Linear(4, 2)])
        self.scale = nn.Parameter(np.ones(2, dtype=np.float32))

    def forward(self, x):
        h = self.encoder(x)
        for layer in self.layers:
            h = layer(h)
        return h * self.scale


def test_named_parameters_state_dict_and_scopes():
    net = _Net()
    names = [name for name, _ in net.named_parameters()]
    assert names == ["scale", "encoder.weight_ih", "encoder.weight_hh", "encoder.bias_ih",
                     "encoder.bias_hh", "layers.0.weight", "layers.0.bias", "layers.1.weight",
                     "layers.1.bias"]
    assert net.encoder.weight_ih.name == "weight_ih"
    out = net(Tensor(np.ones((1, 3), dtype=np.float32)))
    seen = set()
    stack = [out]
    while stack:
        node = stack.pop()
        seen.add(node.scope)
        stack.extend(node.parents)
    assert ("encoder",) in seen and ("layers.0",) in seen and ("layers.1",) in seen
    state = net.state_dict()
    state["scale"][:] = 5  # a copy: the model is untouched
    assert np.all(net.scale.data == 1)


def test_load_state_dict_in_place_and_errors():
    net = nn.Linear(3, 2)
    weight = net.weight
    opt = tg.optim.SGD(net.parameters(), lr=0.1)
    state = {"weight": np.zeros((2, 3)), "bias": np.ones(2)}
    net.load_state_dict(state)
    assert net.weight is weight and weight.dtype == np.float64 and np.all(weight.data == 0)
    state["bias"][:] = 7
    assert np.all(net.bias.data == 1)  # copied, not aliased
    assert opt.params[0] is weight
    with pytest.raises(KeyError, match="missing keys \\['bias'\\]"):
        net.load_state_dict({"weight": np.zeros((2, 3))})
    with pytest.raises(KeyError, match="unexpected keys \\['extra'\\]"):
        net.load_state_dict({"weight": np.zeros((2, 3)), "bias": np.ones(2), "extra": 1})
    with pytest.raises(tg.ShapeError, match=r"'weight'.*\(3, 2\).*\(2, 3\)"):
        net.load_state_dict({"weight": np.zeros((3, 2)), "bias": np.ones(2)})
    result = net.load_state_dict({"weight": np.ones((2, 3))}, strict=False)
    assert result.missing_keys == ["bias"]


def test_layers_say_what_they_expected():
    with pytest.raises(tg.ShapeError, match=r"LSTMCell\(input_size=8\).*\(2, 5\).*\(B, 8\)"):
        nn.LSTMCell(8, 4)(Tensor(np.zeros((2, 5))))
    with pytest.raises(tg.ShapeError, match=r"Linear\(in_features=3\)"):
        nn.Linear(3, 2)(Tensor(np.zeros((2, 4))))
    with pytest.raises(tg.ShapeError, match="expected \\(2, 4\\)"):
        nn.GRUCell(3, 4)(Tensor(np.zeros((2, 3))), Tensor(np.zeros((2, 5))))
    with pytest.raises(ValueError, match="hidden_size must be a positive int"):
        nn.RNNCell(3, 0)
    with pytest.raises(IndexError, match="index 9 is out of range"):
        nn.Embedding(4, 2)(np.array([1, 9]))


def test_to_casts_parameters():
    net = nn.Linear(2, 2).to(np.float64)
    assert all(p.dtype == np.float64 for p in net.parameters())
