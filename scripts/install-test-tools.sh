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

echo "test tools in $tools"
