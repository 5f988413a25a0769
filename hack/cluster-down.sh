#!/usr/bin/env bash
# Stop and remove this clone's local cluster (processes, etcd data, kubeconfig).
# Does nothing to an existing cluster used with USE_EXISTING_CLUSTER=true.
set -euo pipefail
LOG_PREFIX=cluster-down
# shellcheck source=hack/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

if is_true "${USE_EXISTING_CLUSTER:-}"; then
  log "USE_EXISTING_CLUSTER=true: leaving the existing cluster alone"
  exit 0
fi

mkdir -p "$KWOK_WORKDIR"
exec {lock}>"$KWOK_WORKDIR/$CLUSTER_NAME.lock"
flock -w 300 "$lock" || { log "timed out waiting for $KWOK_WORKDIR/$CLUSTER_NAME.lock"; exit 1; }

if [[ -d "$CLUSTER_DIR" ]]; then
  log "deleting cluster $CLUSTER_NAME ($CLUSTER_DIR)"
  delete_cluster "$CLUSTER_NAME"
else
  log "no cluster $CLUSTER_NAME to delete"
fi
rm -f "$CLUSTER_KUBECONFIG" "$LOCAL/cluster-logs"
