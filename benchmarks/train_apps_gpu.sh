#!/usr/bin/env bash
# Train the larger 2x-resolution and HDR application sandwiches (issue 5, items 3 and 4), four runs sharing
# one GPU (these 0.5-2.4M-parameter networks leave a GPU mostly idle, so four processes fill it better).
#
# Usage: DATA=../shared/data/train OUT=runs/apps_gpu DEVICE=cuda BUDGET_S=400 bash benchmarks/train_apps_gpu.sh
#   ONLY="lowres-2x-L hdr-init"  runs a subset; STEPS_2X_L / STEPS_2X_M / STEPS_HDR set each run's schedule length (the cosine
#   decay is laid out over STEPS; BUDGET_S stops a run early with a checkpoint).
#
# Runs (each exports OUT/NAME.safetensors + .json, the file `sandwich eval --model` takes):
#   lowres-2x-L   pre 16,32,64/128,64,32,16 + post 32,64,128/256,128,64,32 (half resolution), q 5-100
#   lowres-2x-M   the app's slim pre + post 16,32,64/128,64,32,16, q 5-100
#   hdr-init      hdr app, warm start from the shipped jpeg420 (slim pre + post 16,32,64/128,64,32,16)
#   hdr-scratch   the same architecture from random weights
set -euo pipefail
DATA=${DATA:-../shared/data/train}
OUT=${OUT:-runs/apps_gpu}
DEVICE=${DEVICE:-cpu}
SECONDS_BUDGET=${BUDGET_S:-400}
STEPS_2X_L=${STEPS_2X_L:-4500}
STEPS_2X_M=${STEPS_2X_M:-6000}
STEPS_HDR=${STEPS_HDR:-6000}
BATCH=${BATCH:-32}
CROP=${CROP:-128}
WORKERS=${WORKERS:-3}
ONLY=${ONLY:-lowres-2x-L lowres-2x-M hdr-init hdr-scratch}
SANDWICH=${SANDWICH:-sandwich}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-3}
MID=16,32,64/128,64,32,16
mkdir -p "$OUT"
run() {
  local name=$1; shift
  [[ " $ONLY " == *" $name "* ]] || return 0
  $SANDWICH train --data "$DATA" --device "$DEVICE" --max-seconds "$SECONDS_BUDGET" --batch-size "$BATCH" \
    --crop "$CROP" --workers "$WORKERS" --grad-clip 1 --ckpt-every 500 --refit-every 200 \
    --out "$OUT/$name" --export "$OUT/$name.safetensors" --name "$name" "$@" >"$OUT/$name.log" 2>&1 &
}
run lowres-2x-L --app lowres-2x --pre "$MID" --post 32,64,128/256,128,64,32 --qmax 100 --lr 5e-4 --steps "$STEPS_2X_L"
run lowres-2x-M --app lowres-2x --post "$MID" --qmax 100 --lr 5e-4 --steps "$STEPS_2X_M"
run hdr-init --app hdr --init jpeg420 --lr 2e-4 --steps "$STEPS_HDR"
run hdr-scratch --app hdr --pre slim --post "$MID" --lr 5e-4 --steps "$STEPS_HDR"
status=0
for job in $(jobs -p); do wait "$job" || status=1; done
for f in "$OUT"/*.log; do echo "== $f"; tail -c 600 "$f" | tr '\r' '\n' | tail -n 3; done
exit $status
