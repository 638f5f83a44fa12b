#!/bin/sh
# Issue 14's measurements on a machine that has no Node (the many-core device): pack Node, the
# built library and the TypeScript benchmarks (bundled) here; unpack and run there.
#
#   sh bench/device.sh pack                 # here: npm run build; Node and the bundles into .device/
#   sh bench/device.sh run [scaling flags]  # there: bench/scaling.mjs (training tokens/s by thread
#                                           #   count, next to nn.LSTM and the seed's loop)
#   sh bench/device.sh profile              # there: one core's f32x4 peak (bench/peak.ts), the
#                                           #   step's products in GFLOP/s (bench/kernels.ts
#                                           #   --step-only), the units split's blocks
#                                           #   (bench/units.ts), the critical path for 2–16
#                                           #   threads (bench/critical-path.ts)
#
# The device tool copies the working tree; .device/ and dist/ are git-ignored, so name them
# in its `carry` (together ≈ 30 MB). There, PyTorch is whatever `python3` imports (or --python).
set -eu
cd "$(dirname "$0")/.."
node_there() {
  [ -x /tmp/node ] || { xz -dc .device/node.xz > /tmp/node && chmod +x /tmp/node; }
  echo "$(nproc) cores: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
}
case "${1:-}" in
  pack)
    npm run build >/dev/null
    mkdir -p .device
    xz -T0 -c "$(readlink -f "$(command -v node)")" > .device/node.xz
    # The TypeScript benchmarks as single ES modules (they import src/ directly).
    for b in peak kernels units critical-path; do
      npx esbuild "bench/$b.ts" --bundle --platform=node --format=esm --log-level=warning \
        --banner:js="import { createRequire } from 'module'; const require = createRequire(import.meta.url);" \
        --outfile=".device/$b.mjs"
    done
    ls -l .device dist/index.js
    ;;
  run)
    shift
    node_there
    /tmp/node bench/scaling.mjs "$@"
    ;;
  profile)
    node_there
    /tmp/node .device/peak.mjs
    /tmp/node .device/kernels.mjs --step-only
    /tmp/node .device/units.mjs
    /tmp/node .device/critical-path.mjs
    ;;
  *)
    echo "usage: sh bench/device.sh pack | run [bench/scaling.mjs flags] | profile" >&2
    exit 2
    ;;
esac
