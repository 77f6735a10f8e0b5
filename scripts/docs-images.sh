#!/usr/bin/env bash
# Re-render the pictures the README shows (docs/*.svg) with the CLI, from a fresh seed-0 run.
set -euo pipefail
cd "$(dirname "$0")/.."
run=${TINYGRAD_RNN:-.venv/bin/tinygrad-rnn}
$run render rnn --steps 4 -o docs/rnn-unrolled.svg
$run render rnn --steps 4 --view folded -o docs/rnn-folded.svg
$run render lstm --steps 4 --view folded --grads -o docs/lstm-folded-grads.svg
$run render rnn --steps 30 --grads -o docs/rnn-elided-grads.svg
$run render skip-rnn --steps 6 --view folded -o docs/skip-rnn-folded.svg
$run render birnn --steps 4 --view folded -o docs/birnn-folded.svg
$run render seq2seq-attention --steps 4 --view folded -o docs/seq2seq-attention-folded.svg
$run render esn --steps 5 --view folded -o docs/esn-folded.svg
$run render tree-rnn --steps 5 -o docs/tree-unrolled.svg
$run render tree-rnn --steps 8 --view folded --grads -o docs/tree-folded.svg
$run --no-color attention seq2seq-attention --steps 8 --iters 400 \
    -o docs/seq2seq-attention-heatmap.svg > /dev/null
