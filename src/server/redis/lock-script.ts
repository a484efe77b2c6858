/**
 * The one Lua script behind RedisLockManager: acquire and renew a grant atomically.
 *
 * Keys, for a lock key K (a storage scope and a virtual path, see lockKey) and each of its
 * strict ancestors A (the parent folders, up to `/`), with m = x (exclusive) or s (shared):
 *
 *   PREFIX a:m:K   sorted set: grants holding K itself in mode m, scored by their expiry
 *   PREFIX t:m:K   sorted set: grants holding K or anything under K in mode m
 *   PREFIX g:TOKEN hash: the grant's owner, purpose and locks (for conflicts and held())
 *   PREFIX grants  sorted set: every grant, scored by its expiry
 *   PREFIX epoch   set once per Redis dataset: a Redis that restarted empty has another one
 *
 * A subtree lock therefore costs O(depth) lookups, not a scan of every lock:
 *
 *   exclusive K conflicts with  t:x:K, t:s:K (K or below) and a:x:A, a:s:A (a folder above)
 *   shared K conflicts with     t:x:K (K or below, exclusive) and a:x:A (a folder above)
 *
 * Time is Redis's own clock (TIME), so nodes' clocks never matter. Expired members are removed
 * when looked at, and each key expires a lease after its last renewal, so a dead node leaves
 * nothing behind.
 *
 * ARGV: prefix, token, lease ms, epoch candidate, op ('acquire' | 'renew'), grant epoch (renew),
 *       meta (JSON), n, then per request: mode ('x' | 's'), key, ancestor count, ancestors...
 * Returns: {1, epoch} granted or renewed; {2, epoch} re-taken after Redis lost its data;
 *          {0, key, token} refused (the key of ours that conflicts, and a holder's token);
 *          {0} for a renew whose grant expired or was released.
 */
export const LOCK_SCRIPT = `
local prefix = ARGV[1]
local token = ARGV[2]
local lease = tonumber(ARGV[3])
local candidate = ARGV[4]
local op = ARGV[5]
local grantEpoch = ARGV[6]
local meta = ARGV[7]
local n = tonumber(ARGV[8])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local exp = now + lease

local reqs = {}
local i = 9
for r = 1, n do
  local na = tonumber(ARGV[i + 2])
  local anc = {}
  for a = 1, na do anc[a] = ARGV[i + 2 + a] end
  reqs[r] = { mode = ARGV[i], key = ARGV[i + 1], anc = anc }
  i = i + 3 + na
end

local epoch = redis.call('GET', prefix .. 'epoch')
if not epoch then
  redis.call('SET', prefix .. 'epoch', candidate)
  epoch = candidate
end

local function keep(key)
  if redis.call('PTTL', key) < lease then redis.call('PEXPIRE', key, lease) end
end

-- The first live holder of key other than this grant, or false.
local function other(key)
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
  for _, v in ipairs(redis.call('ZRANGE', key, 0, 1)) do
    if v ~= token then return v end
  end
  return false
end

local function conflict()
  for _, q in ipairs(reqs) do
    local o = other(prefix .. 't:x:' .. q.key)
    if not o and q.mode == 'x' then o = other(prefix .. 't:s:' .. q.key) end
    if not o then
      for _, a in ipairs(q.anc) do
        o = other(prefix .. 'a:x:' .. a)
        if not o and q.mode == 'x' then o = other(prefix .. 'a:s:' .. a) end
        if o then break end
      end
    end
    if o then return { q.key, o } end
  end
  return false
end

local function put(key)
  redis.call('ZADD', key, exp, token)
  keep(key)
end

local function add()
  for _, q in ipairs(reqs) do
    put(prefix .. 'a:' .. q.mode .. ':' .. q.key)
    put(prefix .. 't:' .. q.mode .. ':' .. q.key)
    for _, a in ipairs(q.anc) do put(prefix .. 't:' .. q.mode .. ':' .. a) end
  end
  redis.call('HSET', prefix .. 'g:' .. token, 'meta', meta)
  redis.call('PEXPIRE', prefix .. 'g:' .. token, lease)
  put(prefix .. 'grants')
end

local function holds()
  for _, q in ipairs(reqs) do
    local s = redis.call('ZSCORE', prefix .. 'a:' .. q.mode .. ':' .. q.key, token)
    if not s or tonumber(s) <= now then return false end
  end
  return true
end

if op == 'renew' then
  if holds() then
    add()
    return { 1, epoch }
  end
  -- Expired in this dataset: someone else may have held it since. Never take it back.
  if grantEpoch == epoch then return { 0 } end
  -- Redis lost its data (restarted empty): take it back unless someone was quicker.
  local c = conflict()
  if c then return { 0, c[1], c[2] } end
  add()
  return { 2, epoch }
end

local c = conflict()
if c then return { 0, c[1], c[2] } end
add()
return { 1, epoch }
`;
