/**
 * Lua scripts of the Redis rendezvous store: each operation is one script, so
 * it is atomic. KEYS[1] is the rendezvous' key base `bertha:rv:{A}` (`A` the
 * escaped name, see redis-keys.ts); every other key and the events channel
 * extend it, so they share its hash slot and the scripts run on Redis Cluster.
 * Leases use the server's clock (TIME), so members on machines whose clocks
 * disagree still agree on who is live.
 *
 * `<base>:round` holds the generation, the round, and `seq`: a counter of
 * the changes that matter (joins, departures, staging, answers, outcomes),
 * with `tok` the id of the last change and `<base>:hist` the ids of the last
 * HISTORY changes. A lease renewal is no change: heartbeats publish nothing.
 * Without `<base>:round` the store holds nothing of the rendezvous (it never
 * had it, or lost it in a restart or flush): only INIT creates it, with a new
 * generation id from the caller, and every other script treats the
 * rendezvous as empty. Per-round keys carry the generation in their names.
 *
 * Lost writes: Redis replicates asynchronously, so a replica promoted after
 * its master died may lack changes the master acknowledged. Every script is
 * told the change this client saw last (ARGV 1-3: generation, seq, id); if
 * the store is behind it, or holds another change under that seq, the store
 * lost state this client saw, and the script starts a new generation (as
 * after a restart) before doing its work. ARGV[4] is a fresh id: the new
 * generation if one is needed, else the id of this script's change.
 *
 * Every change that another member must hear of publishes
 * `<generation>:<seq>` on `<base>:events` (SPUBLISH, the sharded channel of
 * the slot; PUBLISH before Redis 7). An answer to a staged change is recorded
 * (seq) but told to nobody unless it is the last one the change waited for:
 * only the committer acts on answers, so a transition of n members costs
 * each member O(1) notifications and reads, not O(n).
 *
 * Answers are counted, not listed: `<staged>.acked` counts the live members
 * in the round's `acks` set. The set stays (an answer is idempotent, and a
 * member that lapsed and registered again counts again); every script that
 * removes or restores a member adjusts the count, so a commit is O(1).
 *
 * Scripts reply `{ status, generation|false, seq, id|false, state, ... }`
 * where state is
 * `{ pick, round, members|false, mseq, stagedPick|false, committer|false, acked, live, changes|false }`
 * (`acked` a count) or false when the rendezvous has no live member. `mseq` counts changes of
 * the member list; ARGV[5] is the one the caller holds, and `members` is
 * false when that is the live list (the caller has it), or when `changes`
 * lists what changed since (`+member`, `-member`, oldest first, from
 * `<base>:mlog`, which keeps the last HISTORY).
 */
import { OUTCOME_TTL_MS } from './store.js';

/** How many change ids a rendezvous remembers for lost-write detection. */
const HISTORY = 256;

/** Each script's own arguments follow the five common ones (ARGV 1-5). */
const PRELUDE = `
local base = KEYS[1]
local pickKey = base .. ':pick'
local roundKey = base .. ':round'
local membersKey = base .. ':members'
local histKey = base .. ':hist'
local mlogKey = base .. ':mlog'
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local fresh = ARGV[4]
local function arg(i) return ARGV[5 + i] end
-- false when the store holds nothing of this rendezvous (never had it, or lost it)
local gen = redis.call('HGET', roundKey, 'generation')

local function perRound(r, what) return base .. ':' .. gen .. ':' .. r .. ':' .. what end
local function stagedKey(r) return perRound(r, 'staged') end
local function acksKey(r) return perRound(r, 'acks') end
local function outcomeKey(r) return perRound(r, 'outcome') end
local function getRound() return tonumber(redis.call('HGET', roundKey, 'round')) end
local function getSeq() return tonumber(redis.call('HGET', roundKey, 'seq') or '0') end

local recorded, published = false, false
-- Records a change (once per script) and, unless quiet, tells subscribers (once).
local function changed(quiet)
  if not recorded then
    recorded = redis.call('HINCRBY', roundKey, 'seq', 1)
    redis.call('HSET', roundKey, 'tok', fresh)
    redis.call('HSET', histKey, recorded, fresh)
    if recorded > ${HISTORY} then redis.call('HDEL', histKey, recorded - ${HISTORY}) end
  end
  if quiet or published then return end
  published = true
  local msg = gen .. ':' .. recorded
  if not pcall(redis.call, 'SPUBLISH', base .. ':events', msg) then redis.call('PUBLISH', base .. ':events', msg) end
end

-- A new generation: whatever is left of the old one is not trusted.
local function newGeneration()
  local r = gen and getRound()
  if r and r % 2 == 1 then redis.call('DEL', stagedKey(r), acksKey(r)) end
  gen = fresh
  redis.call('DEL', pickKey, membersKey, histKey, mlogKey, roundKey)
  redis.call('HSET', roundKey, 'generation', gen, 'round', 0, 'seq', 0, 'mseq', 0)
end

-- A change of who the members are (not of their leases): '+' or '-' and the member, kept for the last HISTORY changes.
local function membersChanged(change)
  local mseq = redis.call('HINCRBY', roundKey, 'mseq', 1)
  redis.call('HSET', mlogKey, mseq, change)
  if mseq > ${HISTORY} then redis.call('HDEL', mlogKey, mseq - ${HISTORY}) end
  changed()
end

-- Members that left (or came back, delta 1) while a change is staged: their answers stop (or start again) counting.
local function recount(list, delta)
  local r = getRound()
  if r % 2 == 0 then return end
  for _, m in ipairs(list) do
    if redis.call('SISMEMBER', acksKey(r), m) == 1 then redis.call('HINCRBY', stagedKey(r), 'acked', delta) end
  end
end

-- The client saw a change this store does not hold: it lost state (a failover).
if gen and ARGV[1] == gen then
  local seen = tonumber(ARGV[2])
  local held = redis.call('HGET', histKey, seen)
  if seen > getSeq() or (held and held ~= ARGV[3]) then
    newGeneration()
    changed()
  end
end

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
  changed()
end

-- Drops expired members, abandons a change whose committer is gone, and
-- forgets the pick once nobody is left (the generation and round stay).
local function prune()
  if not gen then return end
  local gone = redis.call('ZRANGEBYSCORE', membersKey, '-inf', now)
  if #gone > 0 then
    redis.call('ZREMRANGEBYSCORE', membersKey, '-inf', now)
    recount(gone, -1)
    for _, m in ipairs(gone) do membersChanged('-' .. m) end
  end
  local r = getRound()
  if r % 2 == 1 then
    local committer = redis.call('HGET', stagedKey(r), 'committer')
    if (not committer) or (not redis.call('ZSCORE', membersKey, committer)) then
      endRound(r, 'abandoned', committer or '')
    end
  end
  if redis.call('EXISTS', membersKey) == 0 then redis.call('DEL', pickKey) end
end

-- The member list is sent only if the caller does not hold it (ARGV[5], its version mseq),
-- and as the changes since that version if they are few and all live members are pruned
-- (joins, departures): a reply to a member of a large group does not carry the group.
local function state()
  if not gen then return false end
  local pick = redis.call('GET', pickKey)
  if not pick then return false end
  local live = redis.call('ZCOUNT', membersKey, '(' .. now, '+inf')
  if live == 0 then return false end
  local mseq = tonumber(redis.call('HGET', roundKey, 'mseq') or '0')
  local members, changes = false, false
  local held = ARGV[1] == gen and tonumber(ARGV[5])
  local pruned = live == redis.call('ZCARD', membersKey)
  if held and held < mseq and mseq - held < ${HISTORY} and pruned then
    changes = {}
    for i = held + 1, mseq do changes[#changes + 1] = redis.call('HGET', mlogKey, i) end
  elseif held ~= mseq or not pruned then
    members = redis.call('ZRANGEBYSCORE', membersKey, '(' .. now, '+inf')
  end
  local r = getRound()
  local stagedPick, committer, acked = false, false, 0
  if r % 2 == 1 then
    local s = redis.call('HMGET', stagedKey(r), 'pick', 'committer', 'acked')
    stagedPick, committer, acked = s[1], s[2], tonumber(s[3] or '0')
    -- Lapsed members not yet pruned (only a read-only script sees them; usually none) do not count.
    if not pruned then
      for _, m in ipairs(redis.call('ZRANGEBYSCORE', membersKey, '-inf', now)) do
        if redis.call('SISMEMBER', acksKey(r), m) == 1 then acked = acked - 1 end
      end
    end
  end
  return { pick, r, members, mseq, stagedPick, committer, acked, live, changes }
end

-- The reply: status, the change it reflects, the state (or another body), then extras.
local function reply(status, body, ...)
  local seq, tok = false, false
  if gen then seq, tok = getSeq(), redis.call('HGET', roundKey, 'tok') or false end
  if body == nil then body = state() end
  return { status, gen or false, seq, tok, body, ... }
end

-- Renews a live member's lease; false if it holds none.
local function renew(member, leaseMs)
  if not gen or not redis.call('ZSCORE', membersKey, member) then return false end
  redis.call('ZADD', membersKey, now + tonumber(leaseMs), member)
  return true
end
`;

/** ARGV: member, pick, leaseMs */
export const INIT = `${PRELUDE}
if not gen then newGeneration() end
prune()
local status = 'existing'
if redis.call('EXISTS', pickKey) == 0 then
  status = 'created'
  redis.call('SET', pickKey, arg(2))
end
if redis.call('ZADD', membersKey, now + tonumber(arg(3)), arg(1)) > 0 then
  recount({ arg(1) }, 1)
  membersChanged('+' .. arg(1))
end
return reply(status)
`;

/** ARGV: member, leaseMs, seq of the state the caller holds ('' for none): `same` if the state is that one. */
export const HEARTBEAT = `${PRELUDE}
prune()
if not renew(arg(1), arg(2)) then return reply('not-member', false) end
if ARGV[1] == gen and tonumber(arg(3)) == getSeq() then return reply('same', false) end
return reply('ok')
`;

/** Read-only: no pruning, expired members are just not counted. */
export const STATE = `${PRELUDE}
return reply('ok')
`;

/** ARGV: member */
export const LEAVE = `${PRELUDE}
if gen and redis.call('ZREM', membersKey, arg(1)) > 0 then
  recount({ arg(1) }, -1)
  membersChanged('-' .. arg(1))
end
prune()
return reply('ok', false)
`;

/** ARGV: member, pick, leaseMs */
export const TRANSITION = `${PRELUDE}
prune()
if not renew(arg(1), arg(3)) then return reply('not-member', false) end
local r = getRound()
if r % 2 == 1 then return reply('in-progress') end
r = r + 1
redis.call('HSET', roundKey, 'round', r)
redis.call('HSET', stagedKey(r), 'pick', arg(2), 'committer', arg(1), 'acked', 1)
redis.call('SADD', acksKey(r), arg(1))
changed()
return reply('committer')
`;

/** ARGV: member, generation, round, accept ('1' or '0'), leaseMs */
export const ACK = `${PRELUDE}
prune()
if not renew(arg(1), arg(5)) then return reply('not-member', false) end
local r = getRound()
if arg(2) ~= gen or r % 2 == 0 or r ~= tonumber(arg(3)) then return reply('stale') end
if arg(4) == '1' then
  if redis.call('SADD', acksKey(r), arg(1)) > 0 then
    local acked = redis.call('HINCRBY', stagedKey(r), 'acked', 1)
    -- Only the last answer is news, to the committer (and it is never more than the live count: pruned above).
    changed(acked < redis.call('ZCARD', membersKey))
  end
  return reply('accepted')
end
endRound(r, 'refused', arg(1))
return reply('refused')
`;

/**
 * ARGV: member, generation, round, leaseMs, participants ('' for any). Replies
 * 'waiting' with the state, 'not-committer' with the committer,
 * 'outcome' with the state and kind, by, pick, or 'unknown'.
 */
export const COMMIT = `${PRELUDE}
prune()
if not renew(arg(1), arg(4)) then return reply('not-member', false) end
if arg(2) ~= gen then return reply('unknown', false) end
local r = getRound()
local asked = tonumber(arg(3))
if r == asked and r % 2 == 1 then
  local s = redis.call('HMGET', stagedKey(r), 'pick', 'committer')
  if s[2] ~= arg(1) then return reply('not-committer', s[2]) end
  local st = state()
  local live = st[8]
  if st[7] < live or (arg(5) ~= '' and live ~= tonumber(arg(5))) then return reply('waiting', st) end
  redis.call('SET', pickKey, s[1])
  endRound(r, 'committed', arg(1), s[1])
end
local o = redis.call('HMGET', outcomeKey(asked), 'kind', 'by', 'pick')
if not o[1] then return reply('unknown', false) end
return reply('outcome', nil, o[1], o[2], o[3])
`;
