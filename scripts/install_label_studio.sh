#!/usr/bin/env bash
# Install the Label Studio server into its own virtual environment (.venv-ls).
#
# Why a separate venv: Label Studio pins Django and many web packages; the ML
# side (torch, transformers) must not be constrained by them. The backend talks
# to Label Studio over HTTP only, so the two never share an interpreter.
#
# Idempotent: exits at once when .venv-ls/bin/label-studio already works.
# Env: LABEL_STUDIO_VERSION (default 1.23.2), PYTHON (default python3),
#      LS_VENV (default <repo>/.venv-ls).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${LS_VENV:-$ROOT/.venv-ls}"
VERSION="${LABEL_STUDIO_VERSION:-1.23.2}"
PY="${PYTHON:-python3}"

if [ -x "$VENV/bin/label-studio" ] && "$VENV/bin/python" -c "import label_studio" 2>/dev/null; then
  echo "label-studio already installed in $VENV"
  exit 0
fi

echo "installing label-studio==$VERSION into $VENV (about 75 s, about 1 GB)"
"$PY" -m venv "$VENV"
# The venv ignores itself, so it never shows up in `git status`.
echo '*' > "$VENV/.gitignore"
"$VENV/bin/python" -m pip install --quiet --upgrade pip
"$VENV/bin/python" -m pip install --quiet "label-studio==$VERSION"
"$VENV/bin/python" -c "import label_studio; print('label-studio', label_studio.__version__)"
