# Shared settings for hack/cluster-*.sh. Source it; do not execute it.
# shellcheck disable=SC2034 # variables are used by the scripts that source this
# shellcheck shell=bash

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LOCAL="$ROOT/.local"
LOCAL_BIN="$LOCAL/bin"
CACHE="${AGENT_OPERATOR_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/agent-operator}"
CLUSTER_KUBECONFIG="$LOCAL/kubeconfig"

# kwokctl keeps every cluster under $KWOK_WORKDIR/clusters/<name>. It lives in the
# per-user cache, not in the clone, so a clone deleted while its cluster runs
# leaves something cluster-up can find and reap.
export KWOK_WORKDIR="$CACHE/kwok"

# One cluster per clone: the name derives from the clone's absolute path, and
# kwokctl picks free loopback ports, so two clones (a developer checkout and a CI
# clone) never collide.
if [[ -z "${AGENT_OPERATOR_CLUSTER:-}" ]]; then
  AGENT_OPERATOR_CLUSTER="ao-$(printf '%s' "$ROOT" | sha256sum | cut -c1-10)"
fi
CLUSTER_NAME="$AGENT_OPERATOR_CLUSTER"
CLUSTER_DIR="$KWOK_WORKDIR/clusters/$CLUSTER_NAME"
# How many KWOK nodes: KWOK_NODES (`KWOK_NODES=12 make cluster-up`), or its older name
# AGENT_OPERATOR_NODES. Unset, a running cluster keeps the count it was last given (so the test
# fixture's own cluster-up does not shrink a cluster a benchmark grew) and a new one gets 3.
# resolve_node_count sets CLUSTER_NODES.
CLUSTER_NODES_REQUESTED="${KWOK_NODES:-${AGENT_OPERATOR_NODES:-}}"
DEFAULT_NODES=3
MAX_NODES=250
COMPONENTS=(etcd kube-apiserver kube-controller-manager kube-scheduler kwok-controller)

# resolve_node_count: set CLUSTER_NODES from the request, the running cluster's record, or 3.
resolve_node_count() {
  local requested="$CLUSTER_NODES_REQUESTED"
  if [[ -z "$requested" ]]; then
    requested="$(cat "$CLUSTER_DIR/agent-operator.nodes" 2>/dev/null || echo "$DEFAULT_NODES")"
  fi
  if ! [[ "$requested" =~ ^[0-9]+$ ]] || ((requested < 1 || requested > MAX_NODES)); then
    log "KWOK_NODES=$requested: expected a whole number of nodes from 1 to $MAX_NODES (each holds 110 pods)"
    exit 2
  fi
  CLUSTER_NODES="$requested"
}

log() { printf '[%s] %s\n' "${LOG_PREFIX:-cluster}" "$*" >&2; }

is_true() { [[ "${1:-}" =~ ^(1|true|yes|on)$ ]]; }

kwokctl() { "$LOCAL_BIN/kwokctl" "$@"; }
kc() { "$LOCAL_BIN/kubectl" --kubeconfig "$CLUSTER_KUBECONFIG" "$@"; }

# component_alive <cluster dir> <component>: its pid file names a live process
# that belongs to this cluster (guards against pid reuse after a reboot).
component_alive() {
  local dir="$1" comp="$2" pid
  [[ -f "$dir/pids/$comp.pid" ]] || return 1
  pid="$(<"$dir/pids/$comp.pid")"
  [[ -n "$pid" && -r "/proc/$pid/cmdline" ]] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF "$dir"
}

# delete_cluster <name>: stop its processes and remove its directory.
delete_cluster() {
  local name="$1" dir="$KWOK_WORKDIR/clusters/$1"
  [[ -d "$dir" ]] || return 0
  if [[ -x "$LOCAL_BIN/kwokctl" ]]; then
    kwokctl delete cluster --name "$name" --kubeconfig "$dir/kubeconfig.yaml" >/dev/null 2>&1 || true
  fi
  # kwokctl only kills what its pid files name; make sure nothing is left.
  local comp pid
  for comp in "${COMPONENTS[@]}"; do
    if component_alive "$dir" "$comp"; then
      pid="$(<"$dir/pids/$comp.pid")"
      kill "$pid" 2>/dev/null || true
    fi
  done
  rm -rf "$dir"
}
