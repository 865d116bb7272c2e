#!/usr/bin/env bash
# End-to-end run against the real Cryptomeria chart on kind, on a machine with Docker:
#   1. create the kind cluster of kind/cluster.yaml (NodePorts mapped to 127.0.0.1),
#   2. clone Cryptomeria-core, build its chain binaries and images the way its justfiles do,
#      and load the images into kind,
#   3. install its Helm chart (release and namespace `cryptomeria`) and wait for the pods,
#   4. start `cryptomeria-bff serve` against the kind kubeconfig and wait for /readyz,
#   5. run the operator story (kind/story.sh: start, an upload session closes, heal a deleted
#      relayer pod, stop, resume, another session closes),
#   6. run the test suite in real-cluster mode (tests that need the embedded testbed skip,
#      saying why).
# Needs: docker, kind, kubectl, helm, git, curl, cargo, jq, zip, sha256sum, base64 (the story),
# and for the chain builds just, go and ignite (Cryptomeria-core's devcontainer has them).
# See kind/README.md.
# Settings (environment): CORE_REPO, CORE_REF, FDSC (data chains, default 2), WORK_DIR,
# KIND_CLUSTER (default cryptomeria), BFF_LISTEN (default 127.0.0.1:18080), SKIP_BUILD=1
# (images already loaded), KEEP_CLUSTER=1 (leave the cluster up afterwards).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cluster=${KIND_CLUSTER:-cryptomeria}
core_repo=${CORE_REPO:-https://github.com/ProjectCryptomeria/Cryptomeria-core.git}
core_ref=${CORE_REF:-main}
fdsc=${FDSC:-2}
work=${WORK_DIR:-$root/target/kind-e2e}
listen=${BFF_LISTEN:-127.0.0.1:18080}
namespace=cryptomeria
release=cryptomeria
images=(gwc mdsc fdsc relayer genesis faucet)

log() { printf '==> %s\n' "$*" >&2; }
need() {
  local missing=()
  for tool in "$@"; do command -v "$tool" >/dev/null || missing+=("$tool"); done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "missing tools: ${missing[*]} (see kind/README.md)" >&2
    exit 1
  fi
}

bff_pid=
stop_bff() { if [ -n "$bff_pid" ]; then kill "$bff_pid" 2>/dev/null || true; fi; }
cleanup_cluster() {
  if [ "${KEEP_CLUSTER:-0}" != 1 ] && kind get clusters 2>/dev/null | grep -qx "$cluster"; then
    log "deleting kind cluster $cluster (KEEP_CLUSTER=1 keeps it)"
    kind delete cluster --name "$cluster" || true
  fi
}
# Set before anything is created, so an interrupted build or install still cleans up.
trap 'stop_bff; cleanup_cluster' EXIT

need docker kind kubectl helm git curl cargo jq zip sha256sum base64
[ "${SKIP_BUILD:-0}" = 1 ] || need just go ignite
mkdir -p "$work"
kubeconfig=$work/kubeconfig
export KUBECONFIG=$kubeconfig

# 1. The cluster (kept if it already exists).
if kind get clusters | grep -qx "$cluster"; then
  log "kind cluster $cluster exists"
  kind export kubeconfig --name "$cluster" --kubeconfig "$kubeconfig"
else
  log "creating kind cluster $cluster"
  kind create cluster --name "$cluster" --config "$root/kind/cluster.yaml" --kubeconfig "$kubeconfig"
fi

# 2. Cryptomeria-core: sources, binaries, images, loaded into the kind node.
core=$work/Cryptomeria-core
if [ -d "$core/.git" ]; then
  git -C "$core" fetch --depth 1 origin "$core_ref"
  git -C "$core" checkout -q FETCH_HEAD
else
  git clone --depth 1 --branch "$core_ref" "$core_repo" "$core"
fi
if [ "${SKIP_BUILD:-0}" != 1 ]; then
  log "building chain binaries and images (just dev::build-all)"
  (cd "$core" && just dev::build-all)
fi
for image in "${images[@]}"; do
  log "loading cryptomeria/$image:latest into kind"
  kind load docker-image "cryptomeria/$image:latest" --name "$cluster"
done

# 3. The chart, as its `just deploy` installs it.
chart=$core/ops/infra/k8s/helm/cryptomeria
helm dependency update "$chart" >/dev/null
log "installing the chart (release $release, namespace $namespace, $fdsc data chains)"
helm upgrade --install "$release" "$chart" --namespace "$namespace" --create-namespace \
  --set "fdsc.replicas=$fdsc" --wait --timeout 15m
# Finished Job pods (the chart's mnemonic generator) never turn Ready: leave them out.
kubectl -n "$namespace" wait --for=condition=ready pod --all --field-selector=status.phase!=Succeeded \
  --timeout=600s

# 4. The BFF against the kind kubeconfig.
log "building and starting cryptomeria-bff serve on $listen"
(cd "$root" && cargo build --locked --bin cryptomeria-bff)
bff=$root/target/debug/cryptomeria-bff
# kind/cluster.yaml maps every chart NodePort onto 127.0.0.1 of this machine; the node's
# InternalIP (what the BFF would detect) is on Docker's bridge, unreachable where Docker runs
# in a VM (Docker Desktop). So NodePorts are reached on 127.0.0.1.
NODE_HOST=127.0.0.1 "$bff" serve --kubeconfig "$kubeconfig" --listen "$listen" --namespace "$namespace" \
  --release "$release" >"$work/bff.log" 2>&1 &
bff_pid=$!
for _ in $(seq 1 120); do
  if curl -fsS "http://$listen/readyz" >/dev/null 2>&1; then break; fi
  if ! kill -0 "$bff_pid" 2>/dev/null; then
    echo "cryptomeria-bff exited; its log:" >&2
    cat "$work/bff.log" >&2
    exit 1
  fi
  sleep 1
done
curl -fsS "http://$listen/readyz" >/dev/null || { echo "BFF never became ready" >&2; exit 1; }
"$bff" ctl --api "http://$listen" jobs --scope system

# 5. The operator story on the real chart: start, upload, heal, stop, resume, upload (kind/story.sh).
log "running the operator story"
BFF_API="http://$listen" BFF_BIN=$bff NAMESPACE=$namespace bash "$root/kind/story.sh"

# 6. The suite in real-cluster mode.
log "running the test suite against the cluster"
cd "$root"
CRYPTOMERIA_KUBECONFIG=$kubeconfig CRYPTOMERIA_NAMESPACE=$namespace \
  CRYPTOMERIA_BFF_URL="http://$listen" bash tests/run.sh -- --nocapture 2>&1 | tee "$work/suite.log"
log "skipped in real-cluster mode: $(grep -c 'skipped in real-cluster mode' "$work/suite.log" || true) tests"
