-- Argo CD resource actions for agentoperator.dev/AgentDeployment: which ones apply right now.
-- promote and abort need a canary in flight; rollback needs a stable revision to step back from.
local actions = {}
local status = obj.status or {}
local canary = status.canaryRevision ~= nil and status.canaryRevision ~= ""
local stable = status.stableRevision ~= nil and status.stableRevision ~= ""
actions["promote"] = {["disabled"] = not canary, ["iconClass"] = "fa fa-fw fa-forward"}
actions["abort"] = {["disabled"] = not canary, ["iconClass"] = "fa fa-fw fa-stop"}
actions["rollback"] = {["disabled"] = not stable, ["iconClass"] = "fa fa-fw fa-undo"}
return actions
