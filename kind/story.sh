#!/usr/bin/env bash
# The whole operator story against a running BFF and its cluster, checked at every turn:
#   start → every pair relaying → the relayer pod deleted → start heals it with no new
#   channel → stop (every workload at 0) → resume → relaying again on the same channels.
# kind/e2e.sh runs it against the real chart; tests/it/kind_story.rs runs it against the
# embedded testbed, so the script itself is exercised on every CI run.
# Environment: BFF_API (the BFF's base URL), BFF_BIN (this repository's cryptomeria-bff,
# whose `ctl` follows jobs), KUBECONFIG, NAMESPACE (default cryptomeria), STORY_TIMEOUT
# (seconds any one wait may take, default 600).
set -euo pipefail

api=${BFF_API:?BFF_API: the BFF base URL}
bin=${BFF_BIN:?BFF_BIN: the cryptomeria-bff binary}
ns=${NAMESPACE:-cryptomeria}
timeout=${STORY_TIMEOUT:-600}
relayer_selector=app.kubernetes.io/component=relayer

say() { printf 'story: %s\n' "$*" >&2; }
fail() {
  say "FAILED: $*"
  exit 1
}

# POSTs a system job and follows it to its end (ctl exits non-zero unless it succeeded).
job() {
  local route=$1 body=${2:-'{}'} answer id
  answer=$(curl -fsS -X POST "$api/api/v1/system/$route" -H 'content-type: application/json' -d "$body")
  id=$(jq -r '.data.jobId // .jobId' <<<"$answer")
  if [ -z "$id" ] || [ "$id" = null ]; then fail "POST $route answered no job: $answer"; fi
  say "$route: job $id"
  "$bin" ctl --api "$api" job "$id" --scope system --follow >&2 || fail "$route: job $id did not succeed"
}

# The gateway channel of each pair on gwc, as `chainId=channelId` lines, sorted.
channels() {
  curl -fsS "$api/api/v1/system/ibc" | jq -r '.data.pairs[] | "\(.chainId)=\(.gwc.channelId // "none")"' | sort
}

# Waits until /system/ibc's verdict is `relaying` (a fresh observation every 2 s).
wait_relaying() {
  local deadline=$((SECONDS + timeout)) verdict
  while :; do
    verdict=$(curl -fsS "$api/api/v1/system/ibc" | jq -r '.data.verdict')
    [ "$verdict" = relaying ] && return 0
    [ $SECONDS -lt $deadline ] || fail "/system/ibc is still '$verdict' after ${timeout}s"
    sleep 2
  done
}

say "1/5 start"
job start
wait_relaying
before=$(channels)
[ -n "$before" ] || fail "no pair after start"
say "relaying on: $(tr '\n' ' ' <<<"$before")"

say "2/5 delete the relayer pod; start heals it"
old=$(kubectl get pods -n "$ns" -l "$relayer_selector" -o jsonpath='{.items[0].metadata.name}')
kubectl delete pod -n "$ns" "$old" --wait=true --timeout="${timeout}s" >&2
deadline=$((SECONDS + timeout))
until new=$(kubectl get pods -n "$ns" -l "$relayer_selector" -o jsonpath='{.items[*].metadata.name}') &&
  [ -n "$new" ] && [ "$new" != "$old" ]; do
  [ $SECONDS -lt $deadline ] || fail "no new relayer pod after ${timeout}s"
  sleep 1
done
kubectl wait -n "$ns" --for=condition=ready "pod/$new" --timeout="${timeout}s" >&2
job start
wait_relaying
[ "$(channels)" = "$before" ] || fail "channels changed after healing: $(channels | tr '\n' ' ')"

say "3/5 stop"
job stop
replicas=$(kubectl get statefulsets,deployments -n "$ns" -l 'app.kubernetes.io/name!=cryptomeria-bff' \
  -o jsonpath='{range .items[*]}{.spec.replicas}{"\n"}{end}' | sort -u)
[ "$replicas" = 0 ] || fail "workloads not all at 0 replicas after stop: $(tr '\n' ' ' <<<"$replicas")"

say "4/5 resume"
job resume
wait_relaying

say "5/5 the same channels after resume"
[ "$(channels)" = "$before" ] || fail "channels changed after resume: $(channels | tr '\n' ' ')"
say "passed"
