#!/usr/bin/env bash
# Enforces ARCHITECTURE.md's dependency direction: core crates (L0/L1) are synchronous and
# deterministic, so they must not depend (even transitively, outside dev-dependencies) on a
# Kubernetes client, an async runtime or an HTTP stack. Only tiphys-kube may use kube-client.
set -euo pipefail
cd "$(dirname "$0")/.."
core_prefixes="tiphys-model tiphys-resource tiphys-patch tiphys-diff tiphys-health tiphys-sync tiphys-render tiphys-gotemplate tiphys-helm tiphys-policy tiphys-settings tiphys-webhook"
banned='^(kube|kube-client|kube-runtime|tokio|hyper|axum|reqwest) '
status=0
members=$(cargo metadata --no-deps --format-version 1 | python3 -c 'import json,sys; print("\n".join(p["name"] for p in json.load(sys.stdin)["packages"]))')
for crate in $members; do
  tree=$(cargo tree -p "$crate" -e normal --prefix none --no-dedupe 2>/dev/null | sort -u)
  if [[ " $core_prefixes " == *" $crate "* ]]; then
    if bad=$(grep -E "$banned" <<<"$tree"); then
      echo "layering: core crate $crate depends on: $(tr '\n' ' ' <<<"$bad")(see ARCHITECTURE.md)"; status=1
    fi
  fi
  # Direct dependencies only: crates above tiphys-kube reach kube-client through it, as intended.
  direct=$(cargo tree -p "$crate" -e normal --prefix none --depth 1 2>/dev/null | tail -n +2 | sort -u)
  if [ "$crate" != tiphys-kube ] && [ "$crate" != tiphys ] && grep -qE '^kube(-client|-runtime)? ' <<<"$direct"; then
    echo "layering: $crate depends on kube directly; only tiphys-kube may (tests may use it as a dev-dependency)"; status=1
  fi
done
[ $status -eq 0 ] && echo "layering: ok ($(wc -w <<<"$members") crates)"
exit $status
