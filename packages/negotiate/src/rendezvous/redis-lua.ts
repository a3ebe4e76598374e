/**
 * Lua scripts of the Redis rendezvous store: each operation is one script, so
 * it is atomic. KEYS[1] is the rendezvous name `A`; the other keys derive from
 * it (see README, "Redis key layout"). Leases use the server's clock (TIME),
 * so members on machines whose clocks disagree still agree on who is live.
 *
 * `A-round` holds the generation and the round together. Without it the
 * store holds nothing of the rendezvous (it never had it, or lost it in a
 * restart or flush): only INIT creates it, with a new generation id from the
 * caller, and every other script treats the rendezvous as empty. Per-round
 * keys carry the generation in their names, so rounds of different
 * generations never share a key.
 *
 * Scripts reply `{ status, state, ... }` where state is
 * `{ generation, pick, round, members, stagedPick|nil, committer|nil, acked }`
 * or nil when the rendezvous has no live member.
 */
import { OUTCOME_TTL_MS } from './store.js';

const PRELUDE = `
local key = KEYS[1]
local roundKey = key .. '-round'
local membersKey = key .. '-members'
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
-- false when the store holds nothing of this rendezvous (never had it, or lost it)
local gen = redis.call('HGET', roundKey, 'generation')

local function perRound(r, what) return key .. '-' .. gen .. '-' .. r .. '-' .. what end
local function stagedKey(r) return perRound(r, 'staged') end
local function acksKey(r) return perRound(r, 'acks') end
local function outcomeKey(r) return perRound(r, 'outcome') end
local function getRound() return tonumber(redis.call('HGET', roundKey, 'round')) end

-- Ends staged round r; kind is committed, refused or abandoned.
local function endRound(r, kind, by, pick)
  redis.call('HSET', roundKey, 'round', r + 1)
  redis.call('DEL', stagedKey(r), acksKey(r))
  local o = outcomeKey(r)
  if pick then
    redis.call('HSET', o, 'kind', kind, 'by', by, 'pick', pick)
  else
    redis.call('HSET', o, 'kind', kind, 'by', by)
  end
  redis.call('PEXPIRE', o, ${OUTCOME_TTL_MS})
end

-- Drops expired members, abandons a change whose committer is gone, and
-- forgets the pick once nobody is left (the generation and round stay).
local function prune()
  if not gen then return end
  redis.call('ZREMRANGEBYSCORE', membersKey, '-inf', now)
  local r = getRound()
  if r % 2 == 1 then
    local committer = redis.call('HGET', stagedKey(r), 'committer')
    if (not committer) or (not redis.call('ZSCORE', membersKey, committer)) then
      endRound(r, 'abandoned', committer or '')
    end
  end
  if redis.call('EXISTS', membersKey) == 0 then redis.call('DEL', key) end
end

local function state()
  if not gen then return false end
  local pick = redis.call('GET', key)
  if not pick then return false end
  local members = redis.call('ZRANGEBYSCORE', membersKey, '(' .. now, '+inf')
  if #members == 0 then return false end
  local r = getRound()
  local stagedPick, committer, acked = false, false, {}
  if r % 2 == 1 then
    local s = redis.call('HMGET', stagedKey(r), 'pick', 'committer')
    stagedPick, committer = s[1], s[2]
    for _, m in ipairs(redis.call('SMEMBERS', acksKey(r))) do
      local score = redis.call('ZSCORE', membersKey, m)
      if score and tonumber(score) > now then acked[#acked + 1] = m end
    end
  end
  return { gen, pick, r, members, stagedPick, committer, acked }
end

-- Renews a live member's lease; false if it holds none.
local function renew(member, leaseMs)
  if not gen or not redis.call('ZSCORE', membersKey, member) then return false end
  redis.call('ZADD', membersKey, now + tonumber(leaseMs), member)
  return true
end
`;

/** ARGV: member, pick, leaseMs, generation (a fresh id, used if the store holds nothing of the rendezvous) */
export const INIT = `${PRELUDE}
if not gen then
  -- Whatever is left without its generation (after a partial loss) is not trusted.
  gen = ARGV[4]
  redis.call('DEL', key, membersKey)
  redis.call('HSET', roundKey, 'generation', gen, 'round', 0)
end
prune()
local status = 'existing'
if redis.call('EXISTS', key) == 0 then
  status = 'created'
  redis.call('SET', key, ARGV[2])
end
redis.call('ZADD', membersKey, now + tonumber(ARGV[3]), ARGV[1])
return { status, state() }
`;

/** ARGV: member, leaseMs */
export const HEARTBEAT = `${PRELUDE}
prune()
if not renew(ARGV[1], ARGV[2]) then return { 'not-member' } end
return { 'ok', state() }
`;

/** Read-only: no pruning, expired members are just not counted. */
export const STATE = `${PRELUDE}
return { 'ok', state() }
`;

/** ARGV: member */
export const LEAVE = `${PRELUDE}
redis.call('ZREM', membersKey, ARGV[1])
prune()
return { 'ok' }
`;

/** ARGV: member, pick, leaseMs */
export const TRANSITION = `${PRELUDE}
prune()
if not renew(ARGV[1], ARGV[3]) then return { 'not-member' } end
local r = getRound()
if r % 2 == 1 then return { 'in-progress', state() } end
r = r + 1
redis.call('HSET', roundKey, 'round', r)
redis.call('HSET', stagedKey(r), 'pick', ARGV[2], 'committer', ARGV[1])
redis.call('SADD', acksKey(r), ARGV[1])
return { 'committer', state() }
`;

/** ARGV: member, generation, round, accept ('1' or '0'), leaseMs */
export const ACK = `${PRELUDE}
prune()
if not renew(ARGV[1], ARGV[5]) then return { 'not-member' } end
local r = getRound()
if ARGV[2] ~= gen or r % 2 == 0 or r ~= tonumber(ARGV[3]) then return { 'stale', state() } end
if ARGV[4] == '1' then
  redis.call('SADD', acksKey(r), ARGV[1])
  return { 'accepted', state() }
end
endRound(r, 'refused', ARGV[1])
return { 'refused', state() }
`;

/**
 * ARGV: member, generation, round, leaseMs, participants ('' for any). Replies
 * { 'waiting', state }, { 'not-committer', false, committer },
 * { 'outcome', state, kind, by, pick } or { 'unknown' }.
 */
export const COMMIT = `${PRELUDE}
prune()
if not renew(ARGV[1], ARGV[4]) then return { 'not-member' } end
if ARGV[2] ~= gen then return { 'unknown' } end
local r = getRound()
local asked = tonumber(ARGV[3])
if r == asked and r % 2 == 1 then
  local s = redis.call('HMGET', stagedKey(r), 'pick', 'committer')
  if s[2] ~= ARGV[1] then return { 'not-committer', false, s[2] } end
  local st = state()
  local live = #st[4]
  if #st[7] < live or (ARGV[5] ~= '' and live ~= tonumber(ARGV[5])) then return { 'waiting', st } end
  redis.call('SET', key, s[1])
  endRound(r, 'committed', ARGV[1], s[1])
end
local o = redis.call('HMGET', outcomeKey(asked), 'kind', 'by', 'pick')
if not o[1] then return { 'unknown' } end
return { 'outcome', state(), o[1], o[2], o[3] }
`;
