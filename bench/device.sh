#!/bin/sh
# bench/scaling.mjs on a machine that has no Node (issue 14's many-core machine): pack Node
# and the built library here, unpack and run there.
#
#   sh bench/device.sh pack                 # here: npm run build, Node compressed into .device/
#   sh bench/device.sh run [scaling flags]  # there: Node unpacked to /tmp, bench/scaling.mjs run
#
# The device tool copies the working tree; .device/ and dist/ are git-ignored, so name them
# in its `carry` (together ≈ 30 MB). There, PyTorch is whatever `python3` imports (or --python).
set -eu
cd "$(dirname "$0")/.."
case "${1:-}" in
  pack)
    npm run build >/dev/null
    mkdir -p .device
    xz -T0 -c "$(readlink -f "$(command -v node)")" > .device/node.xz
    ls -l .device/node.xz dist/index.js
    ;;
  run)
    shift
    [ -x /tmp/node ] || { xz -dc .device/node.xz > /tmp/node && chmod +x /tmp/node; }
    echo "$(nproc) cores: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
    /tmp/node bench/scaling.mjs "$@"
    ;;
  *)
    echo "usage: sh bench/device.sh pack | run [bench/scaling.mjs flags]" >&2
    exit 2
    ;;
esac
