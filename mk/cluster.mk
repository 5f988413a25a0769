# Local control plane targets (owned by the control-plane work).
.PHONY: cluster-test-prereqs
cluster-test-prereqs:
	@true
