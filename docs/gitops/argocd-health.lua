-- Argo CD health check for agentoperator.dev/AgentDeployment.
--
-- Reads what the operator writes: status.observedGeneration, the kstatus conditions (Ready,
-- Reconciling, Stalled) and status.phase. Lua 5.1, as Argo CD runs it; no libraries needed.
--
--   Progressing  the operator has not seen the current generation yet, or a rollout is under
--                way (phase Pending/Progressing, Reconciling=True), or pods are not Ready yet
--   Healthy      Ready=True for the current generation (phase Available)
--   Degraded     Stalled=True, or phase Degraded (a revision failed and was rolled back or
--                frozen), Blocked (policy in Enforce mode, or missing Secrets) or Failed (a spec
--                the operator cannot act on)
--   Suspended    spec.suspend (every revision scaled to 0) or spec.paused (no rollout advances):
--                both are deliberate holds that a human releases, as Argo Rollouts reports a
--                paused rollout
local hs = {}

local function condition(status, kind)
  if status.conditions == nil then
    return nil
  end
  for _, c in ipairs(status.conditions) do
    if c.type == kind then
      return c
    end
  end
  return nil
end

local function is_true(c)
  return c ~= nil and c.status == "True"
end

local function message(c, fallback)
  if c ~= nil and c.message ~= nil and c.message ~= "" then
    return c.message
  end
  return fallback
end

local spec = obj.spec or {}
local status = obj.status
local generation = (obj.metadata or {}).generation

if status == nil or status.observedGeneration == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to observe the AgentDeployment"
  return hs
end
if generation ~= nil and status.observedGeneration < generation then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to observe generation " .. generation
  return hs
end

local phase = status.phase or ""
local ready = condition(status, "Ready")
local stalled = condition(status, "Stalled")

if spec.suspend == true or phase == "Suspended" then
  hs.status = "Suspended"
  hs.message = message(ready, "Suspended: every revision is scaled to 0 (spec.suspend)")
  return hs
end
if is_true(stalled) then
  hs.status = "Degraded"
  hs.message = message(stalled, "Stalled")
  return hs
end
if phase == "Degraded" or phase == "Blocked" or phase == "Failed" then
  hs.status = "Degraded"
  hs.message = message(ready, phase)
  return hs
end
if spec.paused == true or phase == "Paused" then
  hs.status = "Suspended"
  hs.message = message(ready, "Paused: no rollout advances until spec.paused is false")
  return hs
end
if is_true(ready) and (ready.observedGeneration == nil or generation == nil or ready.observedGeneration >= generation) then
  hs.status = "Healthy"
  hs.message = message(ready, "Available")
  return hs
end
hs.status = "Progressing"
hs.message = message(ready, message(condition(status, "Reconciling"), "Waiting for the agent to become Ready"))
return hs
