#!/usr/bin/env bash
# The loop benchmarks (docs/results/goals.md): shapes-x with the annotator critic,
# sft and sft+dpo side by side, and easy-vqa-x with the facts critic. At most two
# loops run at once; the sft+dpo run starts from the sft run's round 0 (zero-shot
# sampling and its verdicts do not depend on the objective) and borrows its full-gt row.
#
#   bash bench/loop_benchmarks.sh [RUNS_DIR]      # ILLUME=... to use another entry point
#
# Needs data/shapes-x and data/easy-vqa-x (`illume data shapes-x|easy-vqa-x --out ...`).
# Sized for a 2-core CPU shared with other jobs; re-running resumes every loop.
set -euo pipefail
RUNS=${1:-runs/bench}
ILLUME=${ILLUME:-illume}
mkdir -p "$RUNS"
COMMON=(--rounds 3 --saturation 0 --patience 3 --dev-limit 8 --val-limit 16 --test-limit 24
  --epochs 2 --sample-n-per-temperature 2 --sample-top-up-rounds 0
  --sample-explanation-prompts "which is evident because")

$ILLUME loop --items data/shapes-x/items.jsonl --out "$RUNS/shapes-x-sft" "${COMMON[@]}" \
  --train-limit 40 --critic annotator --baselines full-gt >"$RUNS/shapes-x-sft.log" 2>&1 &
sft=$!
$ILLUME loop --items data/easy-vqa-x/items.jsonl --out "$RUNS/easy-vqa-x-facts" "${COMMON[@]}" \
  --train-limit 32 --critic facts --baselines full-gt >"$RUNS/easy-vqa-x-facts.log" 2>&1 &
evqa=$!

wait -n "$sft" "$evqa" || true # a slot is free: start sft+dpo from the sft run's round 0
until [ -f "$RUNS/shapes-x-sft/rounds/r00/round.json" ]; do sleep 20; done
dpo="$RUNS/shapes-x-sftdpo"
mkdir -p "$dpo/rounds"
cp "$RUNS/shapes-x-sft/items.jsonl" "$dpo/"
cp -r "$RUNS/shapes-x-sft/rounds/r00" "$dpo/rounds/"
$ILLUME loop --items data/shapes-x/items.jsonl --out "$dpo" "${COMMON[@]}" \
  --train-limit 40 --critic annotator --objective sft+dpo >"$RUNS/shapes-x-sftdpo.log" 2>&1
wait
