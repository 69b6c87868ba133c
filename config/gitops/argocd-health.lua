-- Argo CD health check for isolation.dev/IsolationProfile. Argo CD evaluates it with gopher-lua, `obj` being the
-- live object; it returns {status, message}. It reads the kstatus conditions the operator writes (Ready,
-- Reconciling, Stalled, each with observedGeneration). Install: see docs/operations.md (GitOps: Argo CD and Flux);
-- tested by test/integration/gitops-health.test.ts through Argo CD's Lua engine.
hs = {}
if obj.spec ~= nil and obj.spec.suspend == true then
  hs.status = "Suspended"
  hs.message = "spec.suspend is true: the operator keeps what exists and writes nothing"
  return hs
end
if obj.status == nil or obj.status.conditions == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to report status"
  return hs
end
if obj.status.observedGeneration == nil or obj.metadata.generation == nil
    or obj.status.observedGeneration < obj.metadata.generation then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to observe the latest spec"
  return hs
end
local ready, stalled, reconciling
for _, c in ipairs(obj.status.conditions) do
  if c.type == "Ready" then ready = c
  elseif c.type == "Stalled" then stalled = c
  elseif c.type == "Reconciling" then reconciling = c end
end
if stalled ~= nil and stalled.status == "True" then
  hs.status = "Degraded"
  hs.message = stalled.message
  return hs
end
if reconciling ~= nil and reconciling.status == "True" then
  hs.status = "Progressing"
  hs.message = reconciling.message
  return hs
end
if ready ~= nil and ready.status == "True" then
  hs.status = "Healthy"
  hs.message = ready.message
  return hs
end
if ready ~= nil and ready.status == "False" and ready.reason == "DryRun" then
  hs.status = "Suspended"
  hs.message = ready.message
  return hs
end
if ready ~= nil and ready.status == "False" then
  hs.status = "Degraded"
  hs.message = ready.message
  return hs
end
hs.status = "Progressing"
hs.message = "Waiting for the Ready condition"
return hs
