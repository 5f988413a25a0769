# Local control plane targets: a real kube-apiserver + etcd + controller-manager +
# scheduler, with KWOK simulating nodes and pods. See docs/cluster.md.
#
# Bring your own cluster: USE_EXISTING_CLUSTER=true KUBECONFIG=... make test

USE_EXISTING_CLUSTER ?= false
CLUSTER_KUBECONFIG := $(CURDIR)/.local/kubeconfig
LOCAL_BIN := $(CURDIR)/.local/bin
KUBECTL := $(LOCAL_BIN)/kubectl --kubeconfig $(CLUSTER_KUBECONFIG)

# Simulated KWOK nodes of 110 pods each (`KWOK_NODES=12 make cluster-up`). Unset: 3 for a new
# cluster, and a running cluster keeps the count it was last given (docs/cluster.md).
KWOK_NODES ?=

# The scripts and the pytest fixtures read them from the environment.
export USE_EXISTING_CLUSTER KWOK_NODES

.PHONY: tools cluster-up cluster-down cluster-status cluster-test-prereqs demo

tools: ## Build (or reuse from ~/.cache/agent-operator) kube-apiserver, etcd, kwok, kubectl, helm, prometheus
	@hack/build-tools.sh

cluster-up: ## Start or reuse the local control plane (KWOK_NODES=N nodes); kubeconfig in .local/kubeconfig
	@hack/cluster-up.sh

cluster-down: ## Stop and delete the local control plane
	@hack/cluster-down.sh

cluster-status: ## Show the local cluster's nodes and components
	@$(KUBECTL) get --raw '/readyz?verbose' | tail -n 3
	@$(KUBECTL) get nodes -o wide

ifeq ($(USE_EXISTING_CLUSTER),true)
cluster-test-prereqs:
	@echo "[cluster] USE_EXISTING_CLUSTER=true: testing against KUBECONFIG=$${KUBECONFIG:-~/.kube/config}"
else
cluster-test-prereqs: cluster-up
endif

# Narrated, no prompts, also under CI=true without a TTY; a few minutes once the tools are cached.
demo: $(STAMP) ## Fresh clone to an agent in production: operator, canary, auto and manual rollback, kill switch
	@hack/demo.sh
