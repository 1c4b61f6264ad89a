return function(s, c)
  if s == nil or c == nil then return nil end
  local n, from = 0, 1
  while true do
    local at = string.find(s, c, from, true)
    if not at then return n end
    n, from = n + 1, at + 1
  end
end
