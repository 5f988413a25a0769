-- Roll back to the newest earlier revision that served as stable (agentctl rollback).
--
-- Writes the command annotation agentoperator.dev/command.rollback as agentctl does:
-- {"at": <RFC 3339, second precision>, "by": ...}. The operator acts once per (verb, at), so the
-- time moves past the previous rollback command and the last one the operator handled. "by" says
-- argocd; the operator's mutating webhook replaces it with the user the API server authenticated.
local verb = "rollback"
local key = "agentoperator.dev/command." .. verb
local format = "%Y-%m-%dT%H:%M:%SZ"

local function later(a, b)
  -- RFC 3339 UTC times of one fixed format compare as strings.
  if a == nil then return b end
  if b == nil then return a end
  if a > b then return a end
  return b
end

local function one_second_after(at)
  local y, mo, d, h, mi, s = string.match(at, "^(%d+)-(%d+)-(%d+)T(%d+):(%d+):(%d+)Z$")
  if y == nil then return nil end
  -- os.time reads the table as local time and os.date without "!" writes local time: the
  -- conversions cancel out, leaving plain calendar arithmetic.
  local t = os.time({year = tonumber(y), month = tonumber(mo), day = tonumber(d),
                     hour = tonumber(h), min = tonumber(mi), sec = tonumber(s)})
  return os.date(format, t + 1)
end

if obj.metadata.annotations == nil then
  obj.metadata.annotations = {}
end
local previous = nil
local raw = obj.metadata.annotations[key]
if raw ~= nil then
  previous = string.match(raw, '"at"%s*:%s*"([^"]+)"')
end
local status = obj.status or {}
local handled = nil
if status.rollout ~= nil and status.rollout.handledCommands ~= nil then
  handled = status.rollout.handledCommands[verb]
end
local at = os.date("!" .. format)
local latest = later(previous, handled)
if latest ~= nil and at <= latest then
  at = one_second_after(latest) or at
end
local body = "{\"at\":\"" .. at .. "\",\"by\":\"argocd\""

obj.metadata.annotations[key] = body .. "}"
return obj
