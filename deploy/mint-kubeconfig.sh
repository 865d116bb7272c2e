#!/usr/bin/env bash
# Writes a kubeconfig that authenticates as the cryptomeria-bff-reconciler ServiceAccount (deploy/rbac.yaml),
# so `cryptomeria-bff serve --kubeconfig FILE` runs with exactly those rights.
#   usage: deploy/mint-kubeconfig.sh [OUT=cryptomeria-bff.kubeconfig] [DURATION=24h]
# Needs kubectl >= 1.24 (`kubectl create token`) with rights to create tokens for the
# ServiceAccount; the cluster's server and CA come from the current context.
set -euo pipefail

out=${1:-cryptomeria-bff.kubeconfig}
duration=${2:-24h}
namespace=${K8S_NAMESPACE:-cryptomeria}
account=cryptomeria-bff-reconciler

here=$(cd "$(dirname "$0")" && pwd)
kubectl apply -f "$here/rbac.yaml" >/dev/null

cluster=$(kubectl config view --minify -o jsonpath='{.clusters[0].name}')
server=$(kubectl config view --minify -o jsonpath='{.clusters[0].cluster.server}')
ca=$(kubectl config view --minify --raw -o jsonpath='{.clusters[0].cluster.certificate-authority-data}')
token=$(kubectl create token "$account" -n "$namespace" --duration "$duration")

umask 077
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
KUBECONFIG=$tmp kubectl config set-cluster "$cluster" --server "$server" >/dev/null
if [ -n "$ca" ]; then
  KUBECONFIG=$tmp kubectl config set "clusters.$cluster.certificate-authority-data" "$ca" >/dev/null
fi
KUBECONFIG=$tmp kubectl config set-credentials "$account" --token "$token" >/dev/null
KUBECONFIG=$tmp kubectl config set-context "$account" --cluster "$cluster" --user "$account" \
  --namespace "$namespace" >/dev/null
KUBECONFIG=$tmp kubectl config use-context "$account" >/dev/null
mv "$tmp" "$out"
trap - EXIT
echo "wrote $out (ServiceAccount $namespace/$account, token valid for $duration)"
