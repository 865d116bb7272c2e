#!/usr/bin/env bash
# The whole test suite, from a fresh Debian machine with Rust: installs what the suite needs
# beyond cargo, then runs every test (unit + the integration binary against the embedded
# testbed). Point CRYPTOMERIA_KUBECONFIG at a real cluster to run in real-cluster mode (kind/).
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v kubectl >/dev/null || { echo "kubectl is required (the suite judges the testbed with the real kubectl)" >&2; exit 1; }
command -v jq >/dev/null || need_apt+=(jq)
command -v shellcheck >/dev/null || need_apt+=(shellcheck)
command -v npm >/dev/null || need_apt+=(nodejs npm)
python3 -m pip --version >/dev/null 2>&1 || need_apt+=(python3-pip)
# The dashboard is tested in Debian's Chromium (tests/it/ui.rs).
[ -x /usr/lib/chromium/chromium ] || command -v chromium >/dev/null || need_apt+=(chromium)
if [ ${#need_apt[@]} -gt 0 ]; then
  # Only what is missing, as root or through sudo; otherwise say what to install.
  if [ "$(id -u)" = 0 ]; then
    as_root=()
  elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    as_root=(sudo -n)
  else
    echo "missing Debian packages: ${need_apt[*]}" >&2
    echo "install them as root (apt-get install ${need_apt[*]}) and run this again" >&2
    exit 1
  fi
  echo "installing (apt-get): ${need_apt[*]}"
  "${as_root[@]}" apt-get update -qq && "${as_root[@]}" apt-get install -y -qq "${need_apt[@]}"
fi

# The OpenAPI document is checked by an independent validator (PyPI).
if ! python3 -c "import openapi_spec_validator" 2>/dev/null; then
  echo "installing: openapi-spec-validator (pip)"
  python3 -m pip install -q openapi-spec-validator 2>/dev/null \
    || python3 -m pip install -q --user --break-system-packages openapi-spec-validator
fi

# /metrics is judged by the Prometheus project's own Python parsers (PyPI).
if ! python3 -c "import prometheus_client" 2>/dev/null; then
  echo "installing: prometheus-client (pip)"
  python3 -m pip install -q prometheus-client 2>/dev/null \
    || python3 -m pip install -q --user --break-system-packages prometheus-client
fi

# The testbed is listed and watched by the official Kubernetes Python client (PyPI).
if ! python3 -c "import kubernetes" 2>/dev/null; then
  echo "installing: kubernetes (pip)"
  python3 -m pip install -q kubernetes 2>/dev/null \
    || python3 -m pip install -q --user --break-system-packages kubernetes
fi

# deploy/*.yaml is validated against the Kubernetes JSON schemas by kubernetes-validate (PyPI,
# schemas bundled per Kubernetes version).
if ! python3 -c "import kubernetes_validate" 2>/dev/null; then
  echo "installing: kubernetes-validate (pip)"
  python3 -m pip install -q 'kubernetes-validate>=1.32,<2' 2>/dev/null \
    || python3 -m pip install -q --user --break-system-packages 'kubernetes-validate>=1.32,<2'
fi

# The API is fuzzed from its OpenAPI document by schemathesis (PyPI), pinned to the 4.x line.
if ! python3 -c "import schemathesis" 2>/dev/null; then
  echo "installing: schemathesis (pip)"
  python3 -m pip install -q 'schemathesis>=4.3,<5' 2>/dev/null \
    || python3 -m pip install -q --user --break-system-packages 'schemathesis>=4.3,<5'
fi

# The chains are judged by an independent Cosmos client, CosmJS (npm, lock file committed).
if [ ! -d tests/cosmjs/node_modules ]; then
  echo "installing: CosmJS (npm ci --prefix tests/cosmjs)"
  npm ci --prefix tests/cosmjs --no-audit --no-fund
fi

# The dashboard's browser test drives Chromium with playwright-core (npm, lock file committed).
if [ ! -d tests/ui/node_modules ]; then
  echo "installing: playwright-core (npm ci --prefix tests/ui)"
  npm ci --prefix tests/ui --no-audit --no-fund
fi

cargo test --locked --workspace "$@"
