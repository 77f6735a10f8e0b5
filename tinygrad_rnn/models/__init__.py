"""The architecture catalog: every net of chapter 10 by name, and a small graph of each to explore.

    from tinygrad_rnn.models import ARCHS, get_arch, build_graph
    sample = build_graph("lstm", steps=5)     # forward recorded, backward not run
    sample.loss.backward()

One file per family (recurrent, gated, ...) holds the models; `catalog` holds the registry.
"""

from .base import Run, SequenceModel, detach_state, unroll
from .catalog import (ARCHS, Arch, GraphSample, IncompatibleError, UnknownArchError, build_graph,
                      get_arch, model_inputs, register, run_on)
from .esn import EchoStateNetwork
from .gated import GRU, LSTM
from .memory import NTM, MemoryNetwork
from .recurrent import (BiRNN, BookRNN, ContextRNN, DeepRNN, LeakyRNN, MultiscaleRNN,
                        OutputFeedbackRNN, Seq2OneRNN, SkipRNN)
from .seq2seq import AttentionSeq2Seq, Seq2Seq
from .tree import TreeRNN

_CATALOG = [
    ("rnn", "tanh RNN with an output at every step: a=b+Wh+Ux, h=tanh(a), o=c+Vh", "recurrent",
     "parity", BookRNN, "DL book 10.2, eq. 10.8-10.11"),
    ("rnn-output-feedback", "recurrence only from the previous output y(t-1) to h(t); teacher "
     "forcing vs free running", "recurrent", "parity", OutputFeedbackRNN,
     "DL book 10.2.1, fig. 10.4 and 10.6"),
    ("rnn-seq2one", "tanh RNN that reads the whole sequence, one output at the end", "recurrent",
     "adding", Seq2OneRNN, "DL book 10.2, fig. 10.5"),
    ("context-rnn", "a sequence generated from a fixed vector x: extra input, h(0), or both",
     "recurrent", "sine", ContextRNN, "DL book 10.2.4, fig. 10.9"),
    ("deep-rnn", "stacked recurrent layers, optional MLP input/transition/output", "deep",
     "parity", DeepRNN, "DL book 10.5, fig. 10.13"),
    ("skip-rnn", "skip connections through time: h(t) also reads h(t-d)", "multiscale", "copy",
     SkipRNN, "DL book 10.9.1"),
    ("leaky-rnn", "leaky units: h(t) = alpha h(t-1) + (1-alpha) v(t), a spread of time scales",
     "multiscale", "copy", LeakyRNN, "DL book 10.9.2"),
    ("multiscale-rnn", "groups of units updated every 1, 2, 4, ... steps (length-one links "
     "removed)", "multiscale", "copy", MultiscaleRNN, "DL book 10.9.3"),
    ("lstm", "long short-term memory: a gated self-loop on a cell state", "gated", "adding",
     LSTM, "Hochreiter & Schmidhuber 1997; DL book 10.10.1"),
    ("gru", "gated recurrent unit: update and reset gates", "gated", "adding", GRU,
     "Cho et al. 2014; DL book 10.10.2"),
    ("birnn", "bidirectional RNN: one pass forward, one backward, states joined per step",
     "bidirectional", "tagging", BiRNN, "DL book 10.3, fig. 10.11"),
    ("seq2seq", "encoder-decoder: the source read into a fixed context C, the target written "
     "from C", "encoder-decoder", "reverse", Seq2Seq,
     "Cho et al. 2014; Sutskever et al. 2014; DL book 10.4, fig. 10.12"),
    ("seq2seq-attention", "encoder-decoder with additive attention: every target step reads a "
     "softmax-weighted sum of all encoder states", "encoder-decoder", "reverse",
     AttentionSeq2Seq, "Bahdanau, Cho & Bengio 2015; DL book 10.4, 12.4.5.1"),
    ("esn", "echo state network: a fixed random reservoir, only the linear readout is trained "
     "(ridge regression)", "reservoir", "mackey-glass", EchoStateNetwork,
     "Jaeger 2001; Lukosevicius 2012; DL book 10.8"),
    ("tree-rnn", "recursive net: one composition h = tanh(W_l h_l + W_r h_r + b) at every node "
     "of a tree (balanced over a sequence, or given); -O cell=lstm: binary Tree-LSTM",
     "recursive", "first-last", TreeRNN,
     "Pollack 1990; Socher et al. 2011; Tai, Socher & Manning 2015; DL book 10.6, fig. 10.14"),
    ("memory-network", "end-to-end memory network: K hops of soft attention over a story's "
     "sentences answer a question", "explicit memory", "babi-like", MemoryNetwork,
     "Sukhbaatar et al. 2015; DL book 10.12"),
    ("ntm", "neural Turing machine: an LSTM controller reads and writes an N x M memory by "
     "content and location addressing", "explicit memory", "copy-bits", NTM,
     "Graves, Wayne & Danihelka 2014; DL book 10.12"),
]
for _entry in _CATALOG:
    register(Arch(*_entry))

__all__ = ["ARCHS", "Arch", "GraphSample", "UnknownArchError", "IncompatibleError", "get_arch",
           "build_graph", "register", "model_inputs", "run_on", "Run", "SequenceModel",
           "detach_state", "unroll", "Seq2Seq", "AttentionSeq2Seq", "TreeRNN", "MemoryNetwork",
           "NTM"]
