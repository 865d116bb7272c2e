#!/usr/bin/env bash
# The whole operator story against a running BFF and its cluster, checked at every turn:
#   start → an upload session closes → every pair relaying → the relayer pod deleted → start
#   heals it with no new channel → stop (every workload at 0) → resume → relaying again on the
#   same channels → another upload session closes.
# An upload runs gwc's real client flow (Cryptomeria-core's lib/upload.ts) as an operator
# would: `gwcd` in the gwc pod for the transactions, curl to gwc's REST NodePort (from the
# BFF's /system/ports) for the TUS upload. Needs jq, zip, sha256sum and base64 besides
# kubectl and curl.
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

gwc_home=/home/gwc/.gwc
tx_flags=(--chain-id gwc --keyring-backend test --home "$gwc_home" --node tcp://localhost:26657
  --gas auto --gas-adjustment 1.5 --gas-prices 0.1uatom -y -o json)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# `gwcd ARGS` in gwc's pod (found by its instance label: its name follows the release).
gwcd() {
  local pod
  pod=$(kubectl get pods -n "$ns" -l app.kubernetes.io/instance=gwc -o jsonpath='{.items[0].metadata.name}')
  kubectl exec -n "$ns" "$pod" -- gwcd "$@"
}

sha() { sha256sum | cut -d' ' -f1; }
# Fails with $2 unless $1 is a value (jq prints `null` for a missing one).
present() { if [ -z "$1" ] || [ "$1" = null ]; then fail "$2"; fi; }
b64() { printf '%s' "$1" | base64 | tr -d '\n'; }

# `gwcd tx ARGS` with the flags above; prints the tx as committed (`q tx`), or fails.
gwc_tx() {
  local out hash tx deadline=$((SECONDS + timeout))
  out=$(gwcd tx "$@" "${tx_flags[@]}" 2>/dev/null) || fail "gwcd tx $1 $2 did not run"
  [ "$(jq -r .code <<<"$out")" = 0 ] || fail "gwcd tx $1 $2: $(jq -r .raw_log <<<"$out")"
  hash=$(jq -r .txhash <<<"$out")
  until tx=$(gwcd q tx "$hash" --node tcp://localhost:26657 -o json 2>/dev/null); do
    [ $SECONDS -lt $deadline ] || fail "tx $hash ($1 $2) not committed after ${timeout}s"
    sleep 1
  done
  [ "$(jq -r .code <<<"$tx")" = 0 ] || fail "tx $hash ($1 $2) failed: $(jq -r .raw_log <<<"$tx")"
  printf '%s' "$tx"
}

# The value of attribute $3 of the first event $2 of tx JSON $1.
attr() {
  jq -r --arg t "$2" --arg k "$3" \
    '[.events[] | select(.type == $t) | .attributes[] | select(.key == $k) | .value][0] | ltrimstr("\"") | rtrimstr("\"")' <<<"$1"
}

# One site of one fragment through the gateway: alice (funded by local-admin) opens the
# session, grants the executor its fee allowance and the three messages it sends, commits
# the Merkle root; the TUS upload then lets gwc's executor distribute and finalize. Waits for
# SESSION_STATE_CLOSED_SUCCESS.
upload_closes() {
  local project=$1 alice init sid owner executor expiry root data_sha frag_leaf size gwc_api loc token state
  local deadline=$((SECONDS + timeout)) fdsc
  alice=$(gwcd keys show alice -a --keyring-backend test --home "$gwc_home" 2>/dev/null) ||
    alice=$(gwcd keys add alice --keyring-backend test --home "$gwc_home" --output json 2>/dev/null | jq -r .address)
  present "$alice" "no key alice in the gwc pod"
  gwc_tx bank send local-admin "$alice" 10000000uatom --from local-admin >/dev/null
  fdsc=$(kubectl get pods -n "$ns" -l app.kubernetes.io/component=fdsc -o name | wc -l)
  init=$(gwc_tx gateway init-session 1024 0 "$fdsc" --from alice)
  sid=$(attr "$init" csu_init_session session_id)
  owner=$(attr "$init" csu_init_session owner)
  executor=$(attr "$init" csu_init_session executor)
  present "$sid" "init-session gave no session id"
  expiry=$(($(date +%s) + 3600))
  gwc_tx feegrant grant "$owner" "$executor" --expiration "$(date -u -d "@$expiry" +%Y-%m-%dT%H:%M:%SZ)" \
    --from alice >/dev/null
  for msg in MsgDistributeBatch MsgFinalizeAndCloseSession MsgAbortAndCloseSession; do
    gwc_tx authz grant "$executor" generic --msg-type "/gwc.gateway.v1.$msg" --expiration "$expiry" \
      --from alice >/dev/null
  done
  # lib/merkle.ts for one file of one fragment: the fragment leaf is the file's only leaf.
  printf '<h1>%s</h1>\n' "$project" >"$work/index.html"
  size=$(wc -c <"$work/index.html" | tr -d ' ')
  data_sha=$(sha <"$work/index.html")
  frag_leaf=$(printf 'FRAG:index.html:0:%s' "$data_sha" | sha)
  root=$(printf 'FILE:index.html:%s:%s' "$size" "$frag_leaf" | sha)
  gwc_tx gateway commit-root-proof "$sid" "$root" --from alice >/dev/null
  (cd "$work" && rm -f site.zip && zip -q site.zip index.html)
  gwc_api=$(curl -fsS "$api/api/v1/system/ports" | jq -r '.data.chains[] | select(.chainId == "gwc") | .external.api')
  present "$gwc_api" "/system/ports gives no external REST URL for gwc"
  token=$(printf 'upload_token:%s' "$sid" | sha)
  loc=$(curl -fsS -o /dev/null -D - -X POST "$gwc_api/upload/tus-stream" -H 'Tus-Resumable: 1.0.0' \
    -H "Upload-Length: $(wc -c <"$work/site.zip" | tr -d ' ')" -H "Authorization: Bearer $token" \
    -H "Upload-Metadata: session_id $(b64 "$sid"),project_name $(b64 "$project"),version $(b64 v1)" |
    tr -d '\r' | awk 'tolower($1) == "location:" { print $2 }')
  [ -n "$loc" ] || fail "the TUS creation gave no Location"
  case $loc in http*) ;; *) loc=$gwc_api$loc ;; esac
  curl -fsS -o /dev/null -X PATCH "$loc" -H 'Tus-Resumable: 1.0.0' -H 'Upload-Offset: 0' \
    -H 'Content-Type: application/offset+octet-stream' --data-binary "@$work/site.zip" ||
    fail "the TUS upload of session $sid failed"
  while :; do
    state=$(gwcd q gateway session "$sid" --node tcp://localhost:26657 -o json 2>/dev/null | jq -r '.session.state')
    [ "$state" = SESSION_STATE_CLOSED_SUCCESS ] && break
    [ $SECONDS -lt $deadline ] || fail "session $sid is still '$state' after ${timeout}s"
    sleep 1
  done
  say "upload session $sid ($project) closed"
}

say "1/5 start"
job start
upload_closes story-start
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

say "5/5 the same channels after resume, and an upload closes"
[ "$(channels)" = "$before" ] || fail "channels changed after resume: $(channels | tr '\n' ' ')"
upload_closes story-resume
say "passed"
