#!/usr/bin/env bash
# Start (or reuse) the local Kubernetes control plane for this clone.
#
#   etcd + kube-apiserver + kube-controller-manager + kube-scheduler, started by
#   kwokctl (--runtime binary) from the binaries hack/build-tools.sh built, plus
#   the KWOK controller with hack/kwok/stages.yaml and $KWOK_NODES fake nodes
#   (110 pods each; default 3, or the count the running cluster was last given).
#
# Idempotent: a healthy cluster built from the same binaries and stages is reused;
# a dead, half-dead or outdated one is deleted and recreated. The kubeconfig is
# written to .local/kubeconfig.
#
# USE_EXISTING_CLUSTER=true skips all of this and only checks $KUBECONFIG.
set -euo pipefail
LOG_PREFIX=cluster-up
# shellcheck source=hack/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

start=$SECONDS

if is_true "${USE_EXISTING_CLUSTER:-}"; then
  log "USE_EXISTING_CLUSTER=true: not starting a local cluster"
  log "using KUBECONFIG=${KUBECONFIG:-~/.kube/config}"
  if [[ -x "$LOCAL_BIN/kubectl" ]] && ! "$LOCAL_BIN/kubectl" get --raw /readyz >/dev/null 2>&1; then
    log "WARNING: the existing cluster does not answer /readyz"
  fi
  exit 0
fi

resolve_node_count
"$ROOT/hack/build-tools.sh"
mkdir -p "$LOCAL" "$KWOK_WORKDIR/clusters"

# Serialise cluster-up/down for this cluster (e.g. two `make test` in one clone).
exec {lock}>"$KWOK_WORKDIR/$CLUSTER_NAME.lock"
flock -w 300 "$lock" || { log "timed out waiting for $KWOK_WORKDIR/$CLUSTER_NAME.lock"; exit 1; }

# Reap clusters whose clone no longer exists (e.g. finished CI clones).
for dir in "$KWOK_WORKDIR"/clusters/ao-*; do
  [[ -d "$dir" && "$dir" != "$CLUSTER_DIR" ]] || continue
  owner="$(cat "$dir/agent-operator-repo" 2>/dev/null || true)"
  if [[ -n "$owner" && ! -d "$owner" ]]; then
    log "reaping cluster $(basename "$dir"): its clone $owner is gone"
    delete_cluster "$(basename "$dir")"
  fi
done

# The stamp identifies what a cluster was built from; any change recreates it. The node count is
# not part of it: nodes are added or removed below without a new control plane.
resolve() { readlink -f "$LOCAL_BIN/$1"; }
declare -A BIN=(
  [etcd]="$(resolve etcd)"
  [kube-apiserver]="$(resolve kube-apiserver)"
  [kube-controller-manager]="$(resolve kube-controller-manager)"
  [kube-scheduler]="$(resolve kube-scheduler)"
  [kwok]="$(resolve kwok)"
)
stamp="$(
  {
    printf '%s\n' "${BIN[@]}"
    cat "$ROOT/hack/kwok/kwokctl.yaml" "$ROOT/hack/kwok/stages.yaml" "$ROOT/hack/kwok/nodes.yaml"
  } | sha256sum | cut -c1-16
)"

healthy() {
  local comp
  for comp in "${COMPONENTS[@]}"; do
    component_alive "$CLUSTER_DIR" "$comp" || { log "component $comp is not running"; return 1; }
  done
  kc get --raw /readyz >/dev/null 2>&1 || { log "kube-apiserver /readyz does not answer"; return 1; }
}

reuse=false
if [[ -d "$CLUSTER_DIR" ]]; then
  if [[ "$(cat "$CLUSTER_DIR/agent-operator.stamp" 2>/dev/null)" != "$stamp" ]]; then
    log "cluster $CLUSTER_NAME was built from other binaries/stages: recreating it"
  elif [[ ! -f "$CLUSTER_KUBECONFIG" ]] && ! cp "$CLUSTER_DIR/kubeconfig.yaml" "$CLUSTER_KUBECONFIG"; then
    log "cluster $CLUSTER_NAME has no kubeconfig: recreating it"
  elif healthy; then
    reuse=true
  else
    log "cluster $CLUSTER_NAME is dead or half-dead: recreating it"
  fi
  $reuse || delete_cluster "$CLUSTER_NAME"
fi

if $reuse; then
  log "reusing running cluster $CLUSTER_NAME ($CLUSTER_DIR)"
else
  log "creating cluster $CLUSTER_NAME in $CLUSTER_DIR"
  create_log="$LOCAL/kwokctl-create.log"
  if ! kwokctl \
    --config "$ROOT/hack/kwok/kwokctl.yaml" \
    --config "$ROOT/hack/kwok/stages.yaml" \
    create cluster \
    --name "$CLUSTER_NAME" \
    --runtime binary \
    --kubeconfig "" \
    --etcd-binary "${BIN[etcd]}" \
    --kube-apiserver-binary "${BIN[kube-apiserver]}" \
    --kube-controller-manager-binary "${BIN[kube-controller-manager]}" \
    --kube-scheduler-binary "${BIN[kube-scheduler]}" \
    --kwok-controller-binary "${BIN[kwok]}" \
    --wait 120s >"$create_log" 2>&1 {lock}>&-; then
    # ({lock}>&-: the daemons kwokctl starts must not inherit the lock.)
    log "kwokctl create cluster failed; its output ($create_log):"
    tail -n 30 "$create_log" >&2
    for comp in "${COMPONENTS[@]}"; do
      if [[ -f "$CLUSTER_DIR/logs/$comp.log" ]]; then
        log "--- last lines of $CLUSTER_DIR/logs/$comp.log"
        tail -n 15 "$CLUSTER_DIR/logs/$comp.log" >&2
      fi
    done
    exit 1
  fi
  printf '%s\n' "$ROOT" >"$CLUSTER_DIR/agent-operator-repo"
  printf '%s\n' "$stamp" >"$CLUSTER_DIR/agent-operator.stamp"
  cp "$CLUSTER_DIR/kubeconfig.yaml" "$CLUSTER_KUBECONFIG"
fi
ln -sfn "$CLUSTER_DIR/logs" "$LOCAL/cluster-logs"

# Wait for the API, then make sure the fake nodes exist and are Ready.
deadline=$((SECONDS + 120))
until kc get --raw /readyz >/dev/null 2>&1; do
  if ((SECONDS > deadline)); then
    log "kube-apiserver not ready after 120s; see $CLUSTER_DIR/logs/kube-apiserver.log"
    exit 1
  fi
  sleep 0.5
done

zones=(a b c)
nodes=()
for ((i = 0; i < CLUSTER_NODES; i++)); do nodes+=("node/kwok-node-$i"); done
# Each node gets a /24 of its own (10.244.<i>.0/24) for KWOK to hand pod IPs from: 254 addresses
# for its 110 pods. Without one, KWOK numbers every pod from a single /24 past its end.
for ((i = 0; i < CLUSTER_NODES; i++)); do
  name="kwok-node-$i"
  sed -e "s/NODE_NAME/$name/g" -e "s/ZONE/zone-${zones[i % 3]}/" -e "s|POD_CIDR|10.244.$i.0/24|" \
    "$ROOT/hack/kwok/nodes.yaml"
  echo "---"
done | kc apply --server-side --field-manager=agent-operator-cluster-up -f - >/dev/null
# Fewer nodes than last time: remove the surplus (their pods are garbage-collected).
surplus=()
while read -r node; do
  if [[ "$node" =~ ^node/kwok-node-([0-9]+)$ ]] && ((BASH_REMATCH[1] >= CLUSTER_NODES)); then
    surplus+=("$node")
  fi
done < <(kc get nodes -l type=kwok -o name)
if ((${#surplus[@]})); then
  log "removing ${#surplus[@]} surplus node(s): ${surplus[*]}"
  kc delete --wait=false "${surplus[@]}" >/dev/null
fi
printf '%s\n' "$CLUSTER_NODES" >"$CLUSTER_DIR/agent-operator.nodes"

if ! kc wait --for=condition=Ready --timeout=90s "${nodes[@]}" >/dev/null; then
  log "nodes not Ready after 90s; see $CLUSTER_DIR/logs/kwok-controller.log"
  kc get nodes -o wide >&2 || true
  exit 1
fi
# Pods need the namespace's default ServiceAccount; wait until the
# controller-manager has created it so the first test does not race it.
until kc -n default get serviceaccount default >/dev/null 2>&1; do
  if ((SECONDS > deadline)); then
    log "ServiceAccount default/default missing; see $CLUSTER_DIR/logs/kube-controller-manager.log"
    exit 1
  fi
  sleep 0.5
done

server="$(kc config view --minify -o jsonpath='{.clusters[0].cluster.server}')"
log "cluster $CLUSTER_NAME ready in $((SECONDS - start))s: $server, $CLUSTER_NODES Ready nodes ($((CLUSTER_NODES * 110)) pods)"
log "  logs: .local/cluster-logs/ -> $CLUSTER_DIR/logs"
log "  kubectl: .local/bin/kubectl ($("$LOCAL_BIN/kubectl" version --client 2>/dev/null | head -1))"
echo "export KUBECONFIG=$CLUSTER_KUBECONFIG"
