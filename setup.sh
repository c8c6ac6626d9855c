#!/usr/bin/env bash
# Sets up .venv for the Avatar Forcing runtime.
#   ./setup.sh          runtime only (what `af demo` needs)
#   ./setup.sh --dev    runtime + test tools + the system packages the tests use (apt-get, when root/sudo)
# PyTorch: the CPU build is installed unless an NVIDIA GPU is present (nvidia-smi) or AF_TORCH=cuda;
# AF_TORCH=cpu forces the CPU build. An already-installed torch is kept.
set -euo pipefail
cd "$(dirname "$0")"
DEV=0
[ "${1:-}" = "--dev" ] && DEV=1
PY="${PYTHON:-python3}"
PIP_QUIET=(-q --disable-pip-version-check)

if [ "$DEV" = 1 ]; then
  scripts/system-packages.sh
fi
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
if ! .venv/bin/python -c "import torch" 2>/dev/null; then
  want="${AF_TORCH:-auto}"
  if [ "$want" = auto ]; then
    if command -v nvidia-smi >/dev/null 2>&1; then want=cuda; else want=cpu; fi
  fi
  if [ "$want" = cuda ]; then
    echo "setup: installing torch with CUDA (PyPI's default Linux build)"
    .venv/bin/pip install "${PIP_QUIET[@]}" torch==2.13.0
  else
    echo "setup: installing the CPU build of torch"
    .venv/bin/pip install "${PIP_QUIET[@]}" --retries 1 --timeout 20 torch==2.13.0 \
      --index-url https://download.pytorch.org/whl/cpu --extra-index-url https://pypi.org/simple
  fi
fi
if [ "$DEV" = 1 ]; then
  .venv/bin/pip install "${PIP_QUIET[@]}" -e ".[test]"
else
  .venv/bin/pip install "${PIP_QUIET[@]}" -e .
fi
echo "setup: done — the runtime is .venv/bin/af"
