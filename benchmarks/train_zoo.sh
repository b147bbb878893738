#!/usr/bin/env bash
# Train the shipped sandwich models: jpeg420, jpeg444 and their same-size post-only baselines.
# Usage: DATA=../shared/data/train OUT=runs/zoo DEVICE=cuda STEPS=12000 MINUTES=8 bash benchmarks/train_zoo.sh
# The four runs go in parallel (one GPU is plenty for these ~0.5M-parameter networks).
set -euo pipefail
DATA=${DATA:-../shared/data/train}
OUT=${OUT:-runs/zoo}
DEVICE=${DEVICE:-cpu}
STEPS=${STEPS:-12000}
MINUTES=${MINUTES:-8}
BATCH=${BATCH:-32}
LR=${LR:-5e-4}
GRADCLIP=${GRADCLIP:-1.0}
ONLY=${ONLY:-jpeg420 jpeg420-postonly jpeg444 jpeg444-postonly}   # which of the four to train
SANDWICH=${SANDWICH:-sandwich}
# four processes share the machine: without this each starts one OpenMP thread per core and they thrash
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-3}
PRE=slim                        # 57K parameters (the paper's slim U-Net + sine MLP)
POST=16,32,64/128,64,32,16      # 488K parameters
POSTONLY=16,32,72/136,64,32,16  # 543K parameters = the sandwich's pre + post, for a same-size baseline
mkdir -p "$OUT"
run() {
  local name=$1; shift
  [[ " $ONLY " == *" $name "* ]] || return 0
  $SANDWICH train --lr "$LR" --grad-clip "$GRADCLIP" --data "$DATA" --device "$DEVICE" --steps "$STEPS" --max-minutes "$MINUTES" \
    --batch-size "$BATCH" --crop 128 --out "$OUT/$name" --export "$OUT/$name.safetensors" --name "$name" \
    "$@" >"$OUT/$name.log" 2>&1 &
}
run jpeg420 --subsampling 420 --pre "$PRE" --post "$POST"
run jpeg420-postonly --subsampling 420 --pre none --post "$POSTONLY"
run jpeg444 --subsampling 444 --pre "$PRE" --post "$POST"
run jpeg444-postonly --subsampling 444 --pre none --post "$POSTONLY"
wait
tail -n 2 "$OUT"/*.log
