#!/usr/bin/env bash
# Build (or reuse) the pinned cluster tools (and Prometheus, for the analysis tests) from the Go
# module proxy.
#
#   hack/build-tools.sh            build/reuse everything, link it into .local/bin
#   hack/build-tools.sh --check    exit 0 if everything is already cached, else 1
#
# Every component is built from its wrapper module under tools/<name>/ (go.mod +
# go.sum are committed; binaries never are) into a per-user cache:
#
#   ${AGENT_OPERATOR_CACHE:-~/.cache/agent-operator}/bin/<name>-<version>-<hash>/
#
# <hash> covers the wrapper's go.mod and go.sum, the Go version, the target
# platform and the link flags, so a fresh clone on the same machine reuses the
# binaries in seconds and a version bump builds into a new directory.
# .local/bin/ in the repository gets symlinks to the cached binaries.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${AGENT_OPERATOR_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/agent-operator}"
LOCAL_BIN="$ROOT/.local/bin"
CHECK_ONLY=false
[[ "${1:-}" == "--check" ]] && CHECK_ONLY=true

export GOTOOLCHAIN=local CGO_ENABLED=0
export GOFLAGS="${GOFLAGS:-} -mod=readonly"

log() { printf '[build-tools] %s\n' "$*" >&2; }

command -v go >/dev/null || { log "go is not installed (need Go >= 1.26)"; exit 1; }
GO_VERSION="$(go env GOVERSION)"
GO_PLATFORM="$(go env GOOS)-$(go env GOARCH)"

# require_version <module dir> <module path>: the version the wrapper pins.
require_version() {
  awk -v m="$2" '$1 == m && $2 ~ /^v/ {print $2; exit} $1 == "require" && $2 == m {print $3; exit}' \
    "$ROOT/tools/$1/go.mod"
}

K8S_VERSION="$(require_version k8s k8s.io/kubernetes)"
ETCD_VERSION="$(require_version etcd go.etcd.io/etcd/server/v3)"
KWOK_VERSION="$(require_version kwok sigs.k8s.io/kwok)"
HELM_VERSION="$(require_version helm helm.sh/helm/v4)"
PROMETHEUS_VERSION="$(require_version prometheus github.com/prometheus/prometheus)"
for v in K8S_VERSION ETCD_VERSION KWOK_VERSION HELM_VERSION PROMETHEUS_VERSION; do
  [[ -n "${!v}" ]] || { log "could not read $v from tools/*/go.mod"; exit 1; }
done
K8S_MINOR="$(cut -d. -f2 <<<"$K8S_VERSION")"

K8S_LDFLAGS="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  K8S_LDFLAGS+=" -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$K8S_MINOR"
  K8S_LDFLAGS+=" -X $pkg.gitTreeState=clean"
done
ETCD_LDFLAGS="-s -w"
KWOK_LDFLAGS="-s -w -X sigs.k8s.io/kwok/pkg/consts.Version=${KWOK_VERSION#v}"
KWOK_LDFLAGS+=" -X sigs.k8s.io/kwok/pkg/consts.KubeVersion=${K8S_VERSION#v}"
HELM_LDFLAGS="-s -w -X helm.sh/helm/v4/internal/version.version=$HELM_VERSION"
HELM_LDFLAGS+=" -X helm.sh/helm/v4/internal/version.gitTreeState=clean"
# Prometheus module v0.316.0 is Prometheus 3.16.0.
PROMETHEUS_RELEASE="$(sed -E 's/^v0\.([0-9])([0-9]{2})\.([0-9]+).*/\1.\2.\3/; s/\.0([0-9])\./.\1./' <<<"$PROMETHEUS_VERSION")"
PROMETHEUS_LDFLAGS="-s -w -X github.com/prometheus/common/version.Version=$PROMETHEUS_RELEASE"
PROMETHEUS_LDFLAGS+=" -X github.com/prometheus/common/version.Branch=HEAD"

# component name | module dir | version | ldflags | main packages (space separated)
COMPONENTS=(
  "k8s|k8s|$K8S_VERSION|$K8S_LDFLAGS|k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubectl"
  "etcd|etcd|$ETCD_VERSION|$ETCD_LDFLAGS|go.etcd.io/etcd/server/v3"
  "kwok|kwok|$KWOK_VERSION|$KWOK_LDFLAGS|sigs.k8s.io/kwok/cmd/kwok sigs.k8s.io/kwok/cmd/kwokctl"
  "helm|helm|$HELM_VERSION|$HELM_LDFLAGS|helm.sh/helm/v4/cmd/helm"
  "prometheus|prometheus|$PROMETHEUS_VERSION|$PROMETHEUS_LDFLAGS|github.com/prometheus/prometheus/cmd/prometheus"
)

# Build tags per component. Prometheus: static scrape configs are all the tests need, so leave
# out the cloud service-discovery plugins (and most of the build time).
build_tags() {
  case "$1" in
    prometheus) echo remove_all_sd ;;
    *) echo "" ;;
  esac
}

# Directory name for a component: <name>-<version>-<hash>.
component_dir() {
  local name="$1" dir="$2" version="$3" ldflags="$4" pkgs="$5" hash
  hash="$(
    {
      cat "$ROOT/tools/$dir/go.mod" "$ROOT/tools/$dir/go.sum"
      printf '%s\n' "$GO_VERSION" "$GO_PLATFORM" "$ldflags" "$pkgs" "trimpath cgo=0"
      # Only components with tags hash them, so adding this line kept the other caches valid.
      tags="$(build_tags "$name")"
      if [[ -n "$tags" ]]; then printf 'tags=%s\n' "$tags"; fi
    } | sha256sum | cut -c1-12
  )"
  printf '%s/bin/%s-%s-%s' "$CACHE" "$name" "$version" "$hash"
}

# The executable name `go build` gives a main package.
binary_name() {
  local pkg="$1" base
  base="${pkg##*/}"
  # go.etcd.io/etcd/server/v3 -> "server"; install it as "etcd".
  if [[ "$pkg" == go.etcd.io/etcd/server/v3 ]]; then echo etcd; return; fi
  echo "$base"
}

# with_heartbeat <what> <command...>: run it, and say it is still running once a minute, so a first
# build (about ten minutes for Kubernetes on two cores) never looks like a hang.
HEARTBEAT_SECONDS="${AGENT_OPERATOR_HEARTBEAT_SECONDS:-60}"
with_heartbeat() {
  local what="$1" started=$SECONDS next pid
  shift
  "$@" &
  pid=$!
  # shellcheck disable=SC2064 # expand $pid now: an interrupted script stops its build too
  trap "kill $pid 2>/dev/null" EXIT INT TERM
  next=$((SECONDS + HEARTBEAT_SECONDS))
  while kill -0 "$pid" 2>/dev/null; do
    sleep 1
    if ((SECONDS >= next)); then
      log "  still building $what: $(((SECONDS - started) / 60))m$(((SECONDS - started) % 60))s so far"
      next=$((SECONDS + HEARTBEAT_SECONDS))
    fi
  done
  trap - EXIT INT TERM
  wait "$pid"
}

mkdir -p "$CACHE/bin" "$LOCAL_BIN"
missing=0
index=0
total_start=$SECONDS

for entry in "${COMPONENTS[@]}"; do
  IFS='|' read -r name dir version ldflags pkgs <<<"$entry"
  index=$((index + 1))
  out="$(component_dir "$name" "$dir" "$version" "$ldflags" "$pkgs")"
  if [[ ! -f "$out/.complete" ]]; then
    if $CHECK_ONLY; then
      log "missing: $name $version ($out)"
      missing=1
      continue
    fi
    # Serialise builds of the same component across clones sharing the cache.
    exec {lock}>"$out.lock"
    if ! flock -n "$lock"; then
      log "[$index/${#COMPONENTS[@]}] waiting for another clone's build of $name to finish"
      with_heartbeat "$name (in another clone)" flock "$lock"
    fi
    if [[ ! -f "$out/.complete" ]]; then
      log "[$index/${#COMPONENTS[@]}] building $name $version ($pkgs)"
      log "  into $out"
      start=$SECONDS
      tmp="$(mktemp -d "$CACHE/bin/.tmp-$name-XXXXXX")"
      # shellcheck disable=SC2086 # pkgs is a word list on purpose
      with_heartbeat "$name" bash -c 'cd "$1" && shift && exec go build -trimpath "$@"' _ \
        "$ROOT/tools/$dir" -tags "$(build_tags "$name")" -ldflags "$ldflags" -o "$tmp/" $pkgs
      if [[ -f "$tmp/server" ]]; then mv "$tmp/server" "$tmp/etcd"; fi
      touch "$tmp/.complete"
      rm -rf "$out"
      mv "$tmp" "$out"
      log "[$index/${#COMPONENTS[@]}] built $name in $((SECONDS - start))s"
    fi
    flock -u "$lock"
    exec {lock}>&-
  else
    log "[$index/${#COMPONENTS[@]}] cached: $name $version ($out)"
  fi
  if ! $CHECK_ONLY; then
    for pkg in $pkgs; do
      bin="$(binary_name "$pkg")"
      ln -sfn "$out/$bin" "$LOCAL_BIN/$bin"
    done
  fi
done

if $CHECK_ONLY; then exit "$missing"; fi

log "tools ready in $((SECONDS - total_start))s; binaries linked into ${LOCAL_BIN#"$ROOT"/}:"
for f in "$LOCAL_BIN"/*; do
  log "  $(basename "$f") -> $(readlink "$f")"
done
