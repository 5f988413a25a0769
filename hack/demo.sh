#!/usr/bin/env bash
# `make demo`: from a fresh clone to a running local control plane, narrated.
# No prompts: it also runs in CI. The operator part is appended by the operator work.
set -euo pipefail
LOG_PREFIX=demo
# shellcheck source=hack/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

DEMO_NS="${DEMO_NAMESPACE:-agent-demo}"
step=0
if [[ -t 1 ]]; then bold=$'\033[1m' plain=$'\033[0m'; else bold='' plain=''; fi
say() { printf '\n%s==> %s%s\n' "$bold" "$*" "$plain"; }
narrate() { printf '    %s\n' "$*"; }
next() { step=$((step + 1)); say "Step $step: $*"; }
run() { printf '    $ %s\n' "$*"; "$@" 2>&1 | sed 's/^/      /'; }

demo_start=$SECONDS

next "Build or reuse the pinned Kubernetes tools"
narrate "kube-apiserver, kube-controller-manager, kube-scheduler and kubectl (Kubernetes"
narrate "from the Go module proxy), etcd, KWOK and helm are built once into"
narrate "${CACHE/#$HOME/\~}/bin and linked into .local/bin. Later runs reuse them."
"$ROOT/hack/build-tools.sh" 2>&1 | grep -E 'building|built|cached|ready in' | sed 's/^/      /'

next "Start (or reuse) the local control plane"
narrate "A real etcd + kube-apiserver + controller-manager + scheduler; KWOK plays the"
narrate "kubelets, so pods become Running and Ready without containers."
t=$SECONDS
"$ROOT/hack/cluster-up.sh" 2>&1 | grep -v '^\[build-tools\]' | sed 's/^/      /'
narrate "(cluster step took $((SECONDS - t))s)"
export KUBECONFIG="$CLUSTER_KUBECONFIG"
PATH="$LOCAL_BIN:$PATH"
run kubectl version
run kubectl get nodes -L topology.kubernetes.io/zone

next "Install the CRDs"
shopt -s nullglob
crds=(crds/*.yaml crds/*.yml)
if ((${#crds[@]} == 0)); then
  narrate "crds/ is empty: nothing to install yet."
else
  for f in "${crds[@]}"; do
    run kubectl apply --server-side --field-manager=agent-operator-demo -f "$f"
  done
  run kubectl wait --for=condition=Established --timeout=60s "${crds[@]/#/-f}"
fi

next "Show that the cluster is real"
narrate "Namespace $DEMO_NS enforces the 'restricted' Pod Security Standard."
kubectl create namespace "$DEMO_NS" --dry-run=client -o yaml | kubectl apply -f - >/dev/null
run kubectl label --overwrite namespace "$DEMO_NS" pod-security.kubernetes.io/enforce=restricted
narrate "A pod that wants to run as root is rejected by the real admission chain:"
if kubectl -n "$DEMO_NS" run root-pod --image=registry.example/app:1 \
  --overrides='{"spec":{"containers":[{"name":"root-pod","image":"registry.example/app:1","securityContext":{"runAsUser":0}}]}}' \
  >/tmp/demo-root-pod.$$ 2>&1; then
  narrate "UNEXPECTED: the root pod was admitted"
  kubectl -n "$DEMO_NS" delete pod root-pod --wait=false >/dev/null
else
  sed 's/^/      /' /tmp/demo-root-pod.$$
fi
rm -f /tmp/demo-root-pod.$$
narrate "A hardened Deployment is scheduled onto KWOK nodes and becomes Ready:"
kubectl -n "$DEMO_NS" apply -f - >/dev/null <<'EOF'
apiVersion: apps/v1
kind: Deployment
metadata:
  name: hello
spec:
  replicas: 3
  selector:
    matchLabels: {app: hello}
  template:
    metadata:
      labels: {app: hello}
    spec:
      securityContext:
        runAsNonRoot: true
        runAsUser: 65532
        seccompProfile: {type: RuntimeDefault}
      containers:
      - name: hello
        image: registry.example/hello:1
        securityContext:
          allowPrivilegeEscalation: false
          capabilities: {drop: [ALL]}
EOF
run kubectl -n "$DEMO_NS" rollout status deployment/hello --timeout=90s
run kubectl -n "$DEMO_NS" get pods -o wide

narrate "The operator is not wired into the demo yet: it will reconcile AgentDeployments"
narrate "(examples/) on this same cluster."

say "Done in $((SECONDS - demo_start))s. Use the cluster with:"
narrate "export KUBECONFIG=$CLUSTER_KUBECONFIG"
narrate "export PATH=$LOCAL_BIN:\$PATH   # kubectl $(kubectl version --client 2>/dev/null | head -1 | awk '{print $3}')"
narrate "make cluster-down   # when finished"
