#!/usr/bin/env bash
# `make demo`: from a fresh clone to an agent in production on a local control plane, narrated.
# No prompts and no TTY needed (CI=true works). Idempotent: the `agents` namespace is recreated.
#
# The tour: tools and cluster, CRDs, Pod Security, the operator, examples/production.yaml becoming
# Ready, a canary advancing through its steps (evaluation gate, approval), a failing canary rolled
# back automatically, a manual rollback two revisions back, the kill switch, and canaries judged
# on live metrics (a real Prometheus): one promoted, one rolled back.
set -euo pipefail
LOG_PREFIX=demo
# shellcheck source=hack/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

NS=agents
AGENT=support-bot
EXAMPLE=examples/production.yaml
OPERATOR_LOG="$LOCAL/demo-operator.log"
VENV_BIN="$ROOT/.venv/bin"
# Timeouts (seconds) for every wait; generous for a loaded 2-core machine.
WAIT_SHORT="${DEMO_WAIT_SHORT:-60}"
WAIT_LONG="${DEMO_WAIT_LONG:-180}"

step=0
if [[ -t 1 ]]; then bold=$'\033[1m' plain=$'\033[0m'; else bold='' plain=''; fi
say() { printf '\n%s==> %s%s\n' "$bold" "$*" "$plain"; }
narrate() { printf '    %s\n' "$*"; }
next() { step=$((step + 1)); say "Step $step: $*"; }
indent() { sed 's/^/      /'; }

# The commands are echoed under the names a reader types; these are the exact binaries.
kubectl() { "$LOCAL_BIN/kubectl" --kubeconfig "$CLUSTER_KUBECONFIG" "$@"; }
agentctl() { "$VENV_BIN/agentctl" "$@"; }
run() { printf '    $ %s\n' "$*"; "$@" 2>&1 | indent; }

agd_field() { kubectl -n "$NS" get agd "$AGENT" -o jsonpath="$1" 2>/dev/null || true; }

operator_pid=''
stop_operator() {
  [[ -n "$operator_pid" ]] || return 0
  if kill -0 "$operator_pid" 2>/dev/null; then
    kill -TERM "$operator_pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$operator_pid" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$operator_pid" 2>/dev/null || true
  fi
  wait "$operator_pid" 2>/dev/null || true
  operator_pid=''
}
metrics_pid=''
# stop_metrics: the demo's Prometheus and exporter (hack/demo_metrics.py), started in the metrics step.
stop_metrics() {
  [[ -n "$metrics_pid" ]] || return 0
  kill -TERM "$metrics_pid" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$metrics_pid" 2>/dev/null || break; sleep 0.2; done
  kill -KILL "$metrics_pid" 2>/dev/null || true
  wait "$metrics_pid" 2>/dev/null || true
  metrics_pid=''
}
on_exit() {
  local rc=$?
  stop_metrics
  if [[ -n "$operator_pid" ]]; then
    printf '\n    (stopping the demo operator, pid %s; its log stays in %s)\n' "$operator_pid" "${OPERATOR_LOG#"$ROOT"/}"
    stop_operator
  fi
  exit "$rc"
}
trap on_exit EXIT
trap 'printf "\n    (interrupted)\n"; exit 130' INT
trap 'exit 143' TERM

# fail MESSAGE: stop the demo with the last status and the operator's last words.
fail() {
  printf '\n%sDEMO FAILED: %s%s\n' "$bold" "$*" "$plain" >&2
  if [[ -x "$VENV_BIN/agentctl" && -f "$CLUSTER_KUBECONFIG" ]]; then
    printf '\nLast status:\n' >&2
    agentctl status "$AGENT" -n "$NS" --kubeconfig "$CLUSTER_KUBECONFIG" 2>&1 | indent >&2 || true
  fi
  if [[ -f "$OPERATOR_LOG" ]]; then
    printf '\nTail of %s:\n' "${OPERATOR_LOG#"$ROOT"/}" >&2
    tail -n 25 "$OPERATOR_LOG" | indent >&2
  fi
  exit 1
}

# wait_until TIMEOUT WHAT COMMAND...: poll COMMAND every second until it succeeds.
wait_until() {
  local timeout="$1" what="$2" deadline
  shift 2
  deadline=$((SECONDS + timeout))
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || fail "timed out after ${timeout}s waiting for: $what"
    [[ -z "$operator_pid" ]] || kill -0 "$operator_pid" 2>/dev/null || fail "the operator exited while waiting for: $what"
    sleep 1
  done
}

free_port() {
  "$VENV_BIN/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# image TAG: a digest-pinned image (the production policy requires digests) named after TAG.
image() { printf 'registry.example.com/support-bot@sha256:%s' "$(printf 'demo %s' "$1" | sha256sum | cut -c1-64)"; }

demo_start=$SECONDS

# ---------------------------------------------------------------------------------------------
next "Tools, cluster and CRDs"
narrate "Pinned Kubernetes binaries are built once into ${CACHE/#$HOME/\~}/bin (first time: minutes)"
narrate "and reused; the control plane is a real etcd + kube-apiserver + controller-manager +"
narrate "scheduler, with KWOK playing the kubelets (pods become Ready without containers)."
"$ROOT/hack/build-tools.sh" 2>&1 | grep -E 'built|cached|ready in' | indent || true
t=$SECONDS
"$ROOT/hack/cluster-up.sh" 2>&1 | grep -v '^\[build-tools\]' | grep -v '^export ' | indent
[[ -f "$CLUSTER_KUBECONFIG" ]] || fail "hack/cluster-up.sh wrote no $CLUSTER_KUBECONFIG"
narrate "(cluster ready in $((SECONDS - t))s)"
export KUBECONFIG="$CLUSTER_KUBECONFIG"  # agentctl reads it too
narrate "Below, kubectl is .local/bin/kubectl --kubeconfig .local/kubeconfig and agentctl is"
narrate ".venv/bin/agentctl with KUBECONFIG=.local/kubeconfig."
run kubectl get nodes -L topology.kubernetes.io/zone
run kubectl apply --server-side --force-conflicts --field-manager=agent-operator-demo -f crds/
run kubectl wait --for=condition=Established --timeout=60s crd/agentdeployments.agentoperator.dev crd/readinesspolicies.agentoperator.dev

# ---------------------------------------------------------------------------------------------
next "Start the operator"
# other_operators: operators on this machine that may watch this cluster (those whose --kubeconfig
# names another apiserver are left out).
other_operators() {
  local pid server kubeconfig args i
  server="$(kubectl config view --minify -o jsonpath='{.clusters[0].cluster.server}')"
  for pid in $(pgrep -f 'agent_operator|agentctl run' || true); do
    mapfile -d '' -t args <"/proc/$pid/cmdline" 2>/dev/null || continue
    [[ "${args[*]}" == *' run'* || "${args[*]}" == *'-m agent_operator'* ]] || continue
    kubeconfig=''
    for ((i = 0; i < ${#args[@]} - 1; i++)); do
      [[ "${args[i]}" == --kubeconfig ]] && kubeconfig="${args[i + 1]}"
    done
    [[ -n "$kubeconfig" && "$kubeconfig" != /* ]] && kubeconfig="$(readlink -f "/proc/$pid/cwd")/$kubeconfig"
    if [[ -n "$kubeconfig" && -r "$kubeconfig" ]] && ! grep -qF "server: $server" "$kubeconfig"; then continue; fi
    printf '%s %s\n' "$pid" "${args[*]}" | cut -c1-150
  done
}
others="$(other_operators)"
if [[ -n "$others" ]]; then
  narrate "WARNING: another operator seems to watch this cluster. It reconciles the demo's agent"
  narrate "too, so the output may differ. Continuing anyway:"
  printf '%s\n' "$others" | indent
fi
metrics_port="$(free_port)"
health_port="$(free_port)"
while [[ "$health_port" == "$metrics_port" ]]; do health_port="$(free_port)"; done
narrate "In the background, JSON logs to ${OPERATOR_LOG#"$ROOT"/}; stopped when the demo exits:"
cmd=(agentctl run --kubeconfig .local/kubeconfig --metrics-port "$metrics_port" --health-port "$health_port" --log-format json)
printf '    $ %s > %s 2>&1 &\n' "${cmd[*]}" "${OPERATOR_LOG#"$ROOT"/}"
mkdir -p "$LOCAL"
# Its own session, so a Ctrl-C reaches only the demo, whose exit trap then stops it cleanly.
setsid "$VENV_BIN/${cmd[0]}" "${cmd[@]:1}" >"$OPERATOR_LOG" 2>&1 &
operator_pid=$!
wait_until "$WAIT_SHORT" "the operator's liveness endpoint" curl -fsS "http://127.0.0.1:$health_port/healthz"
run curl -sS "http://127.0.0.1:$health_port/healthz"
echo
narrate "Operator pid $operator_pid is live; metrics on http://127.0.0.1:$metrics_port/metrics."

# ---------------------------------------------------------------------------------------------
next "Deploy examples/production.yaml"
narrate "Offline first: the same policy engine the operator runs, no cluster needed."
printf '    $ agentctl validate %s\n' "$EXAMPLE"
agentctl validate "$EXAMPLE" 2>&1 | head -n 1 | indent
narrate "(exit 0: every required check passes; the full list is printed without | head)"
if kubectl get namespace "$NS" >/dev/null 2>&1; then
  narrate "Namespace $NS exists from an earlier run: deleting it first, so the demo starts clean."
  run kubectl delete namespace "$NS" --wait=true --timeout="${WAIT_LONG}s"
fi
narrate "A namespace that enforces the 'restricted' Pod Security Standard:"
run kubectl create namespace "$NS"
run kubectl label namespace "$NS" pod-security.kubernetes.io/enforce=restricted
narrate "The admission chain is real: a pod that wants root is refused there."
printf '    $ kubectl -n %s run root-pod --image=registry.example/app:1 --overrides=<runAsUser: 0>\n' "$NS"
if kubectl -n "$NS" run root-pod --image=registry.example/app:1 \
  --overrides='{"spec":{"containers":[{"name":"root-pod","image":"registry.example/app:1","securityContext":{"runAsUser":0}}]}}' \
  >"$LOCAL/demo-root-pod.out" 2>&1; then
  kubectl -n "$NS" delete pod root-pod --wait=false >/dev/null 2>&1 || true
  fail "a pod running as root was admitted in a restricted namespace"
fi
cut -c1-150 "$LOCAL/demo-root-pod.out" | indent
rm -f "$LOCAL/demo-root-pod.out"
narrate "The Secret the agent mounts (a dummy value, generated and never printed):"
printf '    $ kubectl -n %s create secret generic openai-api-key --from-literal=token=<random>\n' "$NS"
kubectl -n "$NS" create secret generic openai-api-key \
  --from-literal=token="$(head -c 24 /dev/urandom | base64 | tr -d '/+=')" 2>&1 | indent
run kubectl apply -f "$EXAMPLE"
run kubectl -n "$NS" wait --for=condition=Ready "agd/$AGENT" --timeout="${WAIT_LONG}s" ||
  fail "$AGENT did not become Ready"
run kubectl -n "$NS" get agd
run kubectl -n "$NS" get pods -o wide
narrate "Those pods passed 'restricted' admission: the operator renders hardened pods."
run agentctl status "$AGENT" -n "$NS"
narrate "The live score is 95, not 100: the operator also judges the cluster, which has no Cilium to"
narrate "enforce egress domains and no PrometheusRule CRD for alerts (warnings, not blockers)."
run kubectl -n "$NS" get events --field-selector "involvedObject.name=$AGENT" --sort-by=.lastTimestamp

# ---------------------------------------------------------------------------------------------
next "A canary advancing through its steps"
narrate "production.yaml's canary: setWeight 10, pause 300s, evaluate, setWeight 50, pause (approval)."
narrate "Five minutes of soak time would make this demo slow, so the demo shortens the timed pause"
narrate "to 5s. The rollout section is not part of the revision, so this starts no rollout."
narrate "It also gives the evaluation Job the annotation agentoperator.dev/termination-message: that"
narrate "is a KWOK test hook (KWOK copies it into the finished pod's termination message), standing"
narrate "in for the score a real evaluation image would write."
demo_patch='{"spec":{"rollout":{"canary":{"steps":[{"setWeight":10},{"pause":{"durationSeconds":5}},{"evaluate":{}},{"setWeight":50},{"pause":{}}]}},"evaluation":{"annotations":{"agentoperator.dev/termination-message":"{\"score\": 0.97}"}}}}'
run kubectl -n "$NS" patch agd "$AGENT" --type merge -p "$demo_patch"
rev1="$(agd_field '{.status.stableRevision}')"
narrate "Now the release itself, a new image:"
image_v2="$(image v2)"
run kubectl -n "$NS" patch agd "$AGENT" --type merge -p "{\"spec\":{\"container\":{\"image\":\"$image_v2\"}}}"

# follow_rollout TIMEOUT WHAT DONE_COMMAND...: print a status snapshot whenever the step (or
# phase) changes, approve an indefinite pause when the rollout reaches one, until DONE_COMMAND.
follow_rollout() {
  local timeout="$1" what="$2" deadline last='' key idx kind
  shift 2
  deadline=$((SECONDS + timeout))
  while ! "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || fail "timed out after ${timeout}s waiting for: $what"
    kill -0 "$operator_pid" 2>/dev/null || fail "the operator exited while waiting for: $what"
    key="$(agd_field '{.status.phase}/{.status.canaryRevision}/{.status.rollout.stepIndex}/{.status.rollout.evaluation.result}')"
    if [[ "$key" != "$last" ]]; then
      last="$key"
      idx="$(agd_field '{.status.rollout.stepIndex}')"
      printf '\n    [+%ss] phase %s, step index %s\n' "$((SECONDS - release_start))" "$(agd_field '{.status.phase}')" "${idx:-none}"
      run agentctl status "$AGENT" -n "$NS"
      kind="$(agd_field "{.spec.rollout.canary.steps[${idx:-0}]}")"
      if [[ -n "$(agd_field '{.status.canaryRevision}')" && "$kind" == *pause* && "$kind" != *durationSeconds* &&
        -z "$(agd_field '{.status.rollout.approval.by}')" ]]; then
        narrate "The rollout waits here for a human. Approving (the approver is recorded):"
        run agentctl approve "$AGENT" -n "$NS" || fail "agentctl approve failed"
      fi
    fi
    sleep 1
  done
}

canary_promoted() {
  [[ "$(agd_field '{.status.stableRevision}')" == "$1" &&
    "$(agd_field '{.status.phase}')" == Available &&
    -z "$(agd_field '{.status.canaryRevision}')" ]]
}
release_start=$SECONDS
rev2=''
for _ in $(seq 1 "$WAIT_SHORT"); do
  rev2="$(agd_field '{.status.currentRevision}')"
  [[ -n "$rev2" && "$rev2" != "$rev1" ]] && break
  sleep 1
done
[[ -n "$rev2" && "$rev2" != "$rev1" ]] || fail "the operator did not pick up the new image"
follow_rollout "$WAIT_LONG" "revision $rev2 promoted" canary_promoted "$rev2"
printf '\n    [+%ss] promoted\n' "$((SECONDS - release_start))"
run kubectl -n "$NS" wait --for=condition=Ready "agd/$AGENT" --timeout="${WAIT_SHORT}s" ||
  fail "$AGENT is not Ready after the promotion"
narrate "Every step, the evaluation score and the approver, as Events:"
run kubectl -n "$NS" get events --field-selector "involvedObject.kind=AgentDeployment,involvedObject.name=$AGENT" \
  --sort-by=.lastTimestamp

# ---------------------------------------------------------------------------------------------
next "A failing canary, rolled back automatically"
narrate "The next release carries the pod label agentoperator.dev/test-fault: never-ready. That is"
narrate "a KWOK test hook: KWOK keeps such pods Running but never Ready, like a failing readiness"
narrate "probe. progressDeadlineSeconds goes down from 600 to 20 so the demo does not wait ten minutes."
generation_before="$(agd_field '{.metadata.generation}')"
image_v3="$(image v3)"
run kubectl -n "$NS" patch agd "$AGENT" --type merge -p "{\"spec\":{\"container\":{\"image\":\"$image_v3\"},\"podTemplate\":{\"labels\":{\"agentoperator.dev/test-fault\":\"never-ready\"}},\"rollout\":{\"progressDeadlineSeconds\":20}}}"
generation_bad="$(agd_field '{.metadata.generation}')"
rolled_back() {
  [[ "$(agd_field '{.status.phase}')" == Degraded && -n "$(agd_field '{.status.rollout.failedRevision}')" &&
    -z "$(agd_field '{.status.canaryRevision}')" ]]
}
release_start=$SECONDS
follow_rollout "$WAIT_LONG" "the never-ready canary to be rolled back" rolled_back
rev3="$(agd_field '{.status.currentRevision}')"
printf '\n    [+%ss] rolled back\n' "$((SECONDS - release_start))"
stable_full() {
  [[ "$(agd_field '{.status.readyReplicas}')" == 4 &&
    "$(kubectl -n "$NS" get deploy -l "agentoperator.dev/agent=$AGENT" -o name | wc -l)" == 1 ]]
}
wait_until "$WAIT_SHORT" "stable back at 4 ready pods and the canary Deployment gone" stable_full
run agentctl status "$AGENT" -n "$NS"
run kubectl -n "$NS" get events --field-selector "involvedObject.name=$AGENT,reason=RolledBack"
narrate "Stable is at full size and the canary's Deployment is gone:"
run kubectl -n "$NS" get deploy -l "agentoperator.dev/agent=$AGENT"
narrate "The spec was not touched (GitOps stays in sync): same generation, still the bad image."
narrate "Revision $rev3 is not retried until the spec changes or 'agentctl retry' runs."
run kubectl -n "$NS" get agd "$AGENT" -o jsonpath='{.metadata.generation}{"  "}{.spec.container.image}{"\n"}'
[[ "$(agd_field '{.metadata.generation}')" == "$generation_bad" && "$(agd_field '{.spec.container.image}')" == "$image_v3" ]] ||
  fail "the operator changed the spec during the rollback (generation $generation_before -> $(agd_field '{.metadata.generation}'))"

# ---------------------------------------------------------------------------------------------
next "Manual rollback, two revisions back"
run agentctl history "$AGENT" -n "$NS"
rev1_number="$(kubectl -n "$NS" get controllerrevision "$AGENT-$rev1" -o jsonpath='{.revision}')"
rev2_number="$(kubectl -n "$NS" get controllerrevision "$AGENT-$rev2" -o jsonpath='{.revision}')"
rev3_number="$(kubectl -n "$NS" get controllerrevision "$AGENT-$rev3" -o jsonpath='{.revision}')"
[[ -n "$rev1_number" && -n "$rev2_number" && -n "$rev3_number" ]] || fail "history lacks a revision of this demo"
narrate "Roll back first, debug after. What did the failed revision change?"
run agentctl diff "$AGENT" "$rev2_number" "$rev3_number" -n "$NS"
narrate "Say the original release $rev1_number ($rev1) is the one to trust. Rollback is the emergency"
narrate "path: no steps, no evaluation, image and runtime ConfigMap together, in one reconcile."
rollback_start=$SECONDS
run agentctl rollback "$AGENT" -n "$NS" --to-revision "$rev1_number" || fail "agentctl rollback failed"
serving_rev1() {
  [[ "$(agd_field '{.status.stableRevision}')" == "$rev1" && "$(agd_field '{.status.readyReplicas}')" == 4 &&
    "$(kubectl -n "$NS" get deploy -l "agentoperator.dev/agent=$AGENT" -o name)" == "deployment.apps/$AGENT-$rev1" ]]
}
wait_until "$WAIT_SHORT" "revision $rev1 serving 4 ready pods alone" serving_rev1
narrate "Revision $rev1 serves all 4 pods $((SECONDS - rollback_start))s after the command, with no canary steps:"
run kubectl -n "$NS" get deploy -l "agentoperator.dev/agent=$AGENT" \
  -o custom-columns='NAME:.metadata.name,READY:.status.readyReplicas,IMAGE:.spec.template.spec.containers[0].image'
run agentctl status "$AGENT" -n "$NS"
narrate "The spec still names the bad image; the override holds until Git is reverted or fixed."

# ---------------------------------------------------------------------------------------------
next "The kill switch"
run agentctl suspend "$AGENT" -n "$NS" || fail "agentctl suspend failed"
agent_pods() {
  kubectl -n "$NS" get pods -l "agentoperator.dev/agent=$AGENT" --field-selector=status.phase!=Succeeded -o name
}
no_pods() { [[ -z "$(agent_pods)" ]]; }
wait_until "$WAIT_SHORT" "every pod of $AGENT to be gone" no_pods
narrate "Zero pods; the Deployments, Services, config and history are kept:"
run kubectl -n "$NS" get agd,deploy
run agentctl unsuspend "$AGENT" -n "$NS" || fail "agentctl unsuspend failed"
four_ready() { [[ "$(agd_field '{.status.readyReplicas}')" == 4 ]]; }
wait_until "$WAIT_SHORT" "4 ready pods after unsuspend" four_ready
run kubectl -n "$NS" get agd,deploy

# ---------------------------------------------------------------------------------------------
next "Canaries judged on live metrics"
narrate "A real Prometheus (built by make tools) scrapes a loopback exporter every second. KWOK pods"
narrate "run no containers, so hack/demo_metrics.py plays their OpenTelemetry GenAI metrics, labelled"
narrate "with the namespace, agent and revision that the rendered ServiceMonitor relabels onto every"
narrate "series (docs/metrics.md). Both stop when the demo exits."
metrics_control="$LOCAL/demo-metrics.control"
metrics_address="$LOCAL/demo-metrics.address"
rm -f "$metrics_address"
: >"$metrics_control"
printf '    $ python hack/demo_metrics.py --namespace %s --agent %s ... > %s 2>&1 &\n' "$NS" "$AGENT" ".local/demo-metrics.log"
setsid "$VENV_BIN/python" hack/demo_metrics.py --namespace "$NS" --agent "$AGENT" \
  --control "$metrics_control" --address-file "$metrics_address" >"$LOCAL/demo-metrics.log" 2>&1 &
metrics_pid=$!
prometheus_up() { [[ -s "$metrics_address" ]] && curl -fsS "$(cat "$metrics_address")/-/ready"; }
wait_until "$WAIT_SHORT" "Prometheus on loopback" prometheus_up
prometheus_address="$(cat "$metrics_address")"
narrate "Prometheus answers on $prometheus_address."
# play REVISION good|bad: what the exporter plays for one revision from now on.
play() {
  { grep -v "^$1 " "$metrics_control" || true; printf '%s %s\n' "$1" "$2"; } >"$metrics_control.new"
  mv "$metrics_control.new" "$metrics_control"
  narrate "(the exporter now plays $2 traffic for revision $1)"
}
stable_now="$(agd_field '{.status.stableRevision}')"
play "$stable_now" good
narrate "The agent gets spec.analysis: error rate and cost per task (tokens x price) may exceed"
narrate "stable's by at most 50%, over at least 50 tasks. The canary steps become setWeight 50, one"
narrate "analyze measurement after 10s over a 20s window (production would use minutes), then the"
narrate "evaluation the production policy requires. The same patch ships a new image and drops the"
narrate "never-ready test hook, so a rollout starts."
analysis_patch="$(printf '{"spec":{"container":{"image":"%s"},"podTemplate":{"labels":{"agentoperator.dev/test-fault":null}},"analysis":{"prometheus":{"address":"%s","timeoutSeconds":2},"metrics":[{"name":"errorRate","maxIncrease":50},{"name":"costPerTask","maxIncrease":50}],"cost":{"prices":[{"model":"gpt-x","inputPerMillionTokens":2.5,"outputPerMillionTokens":10}]},"minSamples":50},"rollout":{"progressDeadlineSeconds":600,"canary":{"steps":[{"setWeight":50},{"analyze":{"intervalSeconds":10,"windowSeconds":20,"count":1}},{"evaluate":{}}]}}}}' "$(image v4)" "$prometheus_address")"
run kubectl -n "$NS" patch agd "$AGENT" --type merge -p "$analysis_patch"
new_canary() {
  local c
  c="$(agd_field '{.status.canaryRevision}')"
  [[ -n "$c" && "$c" != "$1" ]] && printf '%s' "$c"
}
wait_until "$WAIT_SHORT" "a canary revision" new_canary "$stable_now"
rev4="$(new_canary "$stable_now")"
play "$rev4" good
release_start=$SECONDS
follow_rollout "$WAIT_LONG" "revision $rev4 promoted on good metrics" canary_promoted "$rev4"
printf '\n    [+%ss] promoted on good metrics\n' "$((SECONDS - release_start))"
narrate "The analysis table: per check, canary and stable over the same window, bound, verdict, tasks:"
run agentctl status "$AGENT" -n "$NS"

narrate "Next release: its canary fails three times as many tasks as stable."
run kubectl -n "$NS" patch agd "$AGENT" --type merge -p "{\"spec\":{\"container\":{\"image\":\"$(image v5)\"}}}"
wait_until "$WAIT_SHORT" "a canary revision" new_canary "$rev4"
rev5="$(new_canary "$rev4")"
play "$rev5" bad
analysis_rolled_back() {
  [[ "$(agd_field '{.status.phase}')" == Degraded && "$(agd_field '{.status.rollout.failedRevision}')" == "$rev5" &&
    -z "$(agd_field '{.status.canaryRevision}')" ]]
}
release_start=$SECONDS
follow_rollout "$WAIT_LONG" "revision $rev5 rolled back on bad metrics" analysis_rolled_back
printf '\n    [+%ss] rolled back on bad metrics\n' "$((SECONDS - release_start))"
[[ "$(agd_field '{.status.rollout.failureReason}')" == AnalysisFailed ]] ||
  fail "expected failureReason AnalysisFailed, got $(agd_field '{.status.rollout.failureReason}')"
[[ "$(agd_field '{.status.stableRevision}')" == "$rev4" ]] || fail "revision $rev4 is not stable after the rollback"
run agentctl status "$AGENT" -n "$NS"
run kubectl -n "$NS" get events --field-selector "involvedObject.name=$AGENT,reason=AnalysisFailed"
run agentctl history "$AGENT" -n "$NS"
stop_metrics
narrate "(Prometheus and the exporter stopped)"

# ---------------------------------------------------------------------------------------------
say "Done in $((SECONDS - demo_start))s."
narrate "The demo operator stops now; its JSON log stays in ${OPERATOR_LOG#"$ROOT"/}."
narrate "The agent stays in namespace $NS. To keep exploring, run the operator yourself:"
narrate "  export KUBECONFIG=$CLUSTER_KUBECONFIG PATH=$LOCAL_BIN:\$PATH"
narrate "  .venv/bin/agentctl run &    # then: .venv/bin/agentctl status $AGENT -n $NS --watch"
narrate "make demo again starts over (it recreates namespace $NS);"
narrate "make cluster-down stops the local control plane and deletes its data."
