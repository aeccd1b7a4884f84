/**
 * The Lua scripts behind the Redis counter store. Each store method is one script call, so one
 * round trip, and Redis runs a script without interleaving other clients: that is what makes a
 * reserve across several budgets and buckets all-or-nothing for every replica at once.
 *
 * Budget instance hash: `cu`/`cp` committed and `ru`/`rp` reserved, each as micro-dollars plus a
 * pico remainder (see `redis-amounts.ts`), `x` the instance's expiry on the caller's clock.
 * Bucket hash: `t` tokens and `u` when they were counted, `c`/`r` its capacity and refill rate
 * (so a sweep can tell a refilled bucket). Holds and leases: a hold marker holds its gateway's id
 * while open and `~` once a sweep gave its budget amounts back; the gateway's hold hash maps each
 * open hold id to the budget amounts it added (`key u p`, repeated); the owners set lists the
 * gateways with holds, and a gateway's lease key lives while it heartbeats (`redis-lease.ts`). Doubles are written with `%.17g`, which round-trips,
 * and integers with `%.0f`, since Redis would format a Lua number with only 14 digits.
 */
import type { Redis } from 'ioredis';

/** Helpers every script starts with; the bucket arithmetic mirrors `policy/token-bucket.ts`. */
const COMMON = `
local MICRO = 1000000
local BUCKET_GRACE_MS = 60000

local function num(v)
  return tonumber(v) or 0
end

-- Moves a pico remainder outside [0, MICRO) into the micro-dollar part (floored, so negative
-- amounts normalize too).
local function norm(u, p)
  local carry = math.floor(p / MICRO)
  return u + carry, p - carry * MICRO
end

-- (au, ap) > (bu, bp) for normalized pairs: no double above 2^53 is ever compared.
local function above(au, ap, bu, bp)
  return au > bu or (au == bu and ap > bp)
end

local function int(x)
  return string.format('%.0f', x)
end

local function dbl(x)
  return string.format('%.17g', x)
end

-- The hold marker of a hold whose budget amounts a sweep already gave back.
local RELEASED = '~'

-- Lengthens a key's life to at least ttl ms, never shortens it.
local function extend(key, ttl)
  if redis.call('PTTL', key) < tonumber(ttl) then
    redis.call('PEXPIRE', key, ttl)
  end
end

-- The script's time: the caller's, or Redis's own when the caller sends none, so every
-- replica refills buckets on one clock.
local function clock(arg)
  if arg ~= '' then
    return tonumber(arg)
  end
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local function level(key, cap, rate, now)
  local v = redis.call('HMGET', key, 't', 'u')
  if not v[1] then
    return cap
  end
  return math.min(cap, tonumber(v[1]) + math.max(0, now - tonumber(v[2])) * rate)
end

-- A full bucket and a missing one are the same, so a full bucket is dropped; others expire a
-- little after the time they would be full again.
local function put_level(key, tokens, cap, rate, now)
  if tokens >= cap then
    redis.call('DEL', key)
    return
  end
  redis.call('HSET', key, 't', dbl(tokens), 'u', dbl(now), 'c', dbl(cap), 'r', dbl(rate))
  redis.call('PEXPIRE', key, int(math.ceil((cap - tokens) / rate) + BUCKET_GRACE_MS))
end
`;

/**
 * KEYS: item keys, then the hold marker, the gateway's hold hash, the owners set and the
 * gateway's lease. ARGV: now ('' = Redis time), marker TTL, gateway id, hold id, lease ms, prefix
 * length, then 7 per item: budget `b, amount u, amount p, max u|'', max p|'', ttl ms, expires
 * at`; bucket `r, cost, capacity, refill per ms, enforce 1|0, '', ''`. Reply: `{ok, now, 4 per
 * item}`, the state before the charge: budget `cu, cp, ru, rp`; bucket `tokens, 0, 0, 0`.
 * Registering the hold under the gateway (and renewing its lease, so a hold is never registered
 * under a lease not yet written) is part of this one call: the allow path stays one round trip.
 */
const RESERVE = `${COMMON}
local now = clock(ARGV[1])
local n = #KEYS - 4
local ARGS = 6
local out = {0, dbl(now)}
local levels = {}
local refused = false

for i = 1, n do
  local a = ARGS + (i - 1) * 7
  local key = KEYS[i]
  if ARGV[a + 1] == 'b' then
    local v = redis.call('HMGET', key, 'cu', 'cp', 'ru', 'rp')
    local cu, cp, ru, rp = num(v[1]), num(v[2]), num(v[3]), num(v[4])
    if ARGV[a + 4] ~= '' then
      local su, sp = norm(cu + ru + tonumber(ARGV[a + 2]), cp + rp + tonumber(ARGV[a + 3]))
      if above(su, sp, tonumber(ARGV[a + 4]), tonumber(ARGV[a + 5])) then
        refused = true
      end
    end
    table.insert(out, cu)
    table.insert(out, cp)
    table.insert(out, ru)
    table.insert(out, rp)
  else
    local tokens = level(key, tonumber(ARGV[a + 3]), tonumber(ARGV[a + 4]), now)
    levels[i] = tokens
    if tonumber(ARGV[a + 2]) > tokens and ARGV[a + 5] == '1' then
      refused = true
    end
    table.insert(out, dbl(tokens))
    table.insert(out, 0)
    table.insert(out, 0)
    table.insert(out, 0)
  end
end

if refused then
  return out
end

-- What a sweep gives back if this gateway's lease lapses: the budget amounts added below.
local held = {}
for i = 1, n do
  local a = ARGS + (i - 1) * 7
  local key = KEYS[i]
  if ARGV[a + 1] == 'b' then
    local v = redis.call('HMGET', key, 'ru', 'rp')
    local ru, rp = norm(num(v[1]) + tonumber(ARGV[a + 2]), num(v[2]) + tonumber(ARGV[a + 3]))
    redis.call('HSET', key, 'ru', int(ru), 'rp', int(rp), 'x', ARGV[a + 7])
    redis.call('PEXPIRE', key, ARGV[a + 6])
    table.insert(held, string.sub(key, tonumber(ARGV[6]) + 1))
    table.insert(held, ARGV[a + 2])
    table.insert(held, ARGV[a + 3])
  else
    -- A shadow limit that would have refused still counts the traffic it let through.
    local cap, rate = tonumber(ARGV[a + 3]), tonumber(ARGV[a + 4])
    put_level(key, levels[i] - tonumber(ARGV[a + 2]), cap, rate, now)
  end
end
local hold, owned, owners, lease = KEYS[n + 1], KEYS[n + 2], KEYS[n + 3], KEYS[n + 4]
redis.call('SET', hold, ARGV[3], 'PX', ARGV[2])
redis.call('HSET', owned, ARGV[4], table.concat(held, ' '))
extend(owned, ARGV[2])
redis.call('SADD', owners, ARGV[3])
extend(owners, ARGV[2])
redis.call('SET', lease, '1', 'PX', ARGV[5])
out[1] = 1
return out
`;

/**
 * Commit and release. KEYS: item keys, then the gateway's hold hash, then the hold marker.
 * ARGV: now, hold id, then 5 per item: budget `b, reserved u, reserved p, actual u, actual p`;
 * bucket `r, reserved, actual, capacity, refill per ms`. The marker makes a settle count once: a
 * replayed one finds it gone. A marker a sweep set to released (the gateway's lease lapsed while
 * it was paused or cut off) still settles, adding the actual cost, but takes back no budget
 * reservation: the sweep already did. Reply: `{0}` when already settled, else `{1 | 2 (released
 * by a sweep), 5 per item}`: budget `found, cu, cp, ru, rp`.
 */
const SETTLE = `${COMMON}
local mark = redis.call('GET', KEYS[#KEYS])
if not mark then
  return {0}
end
redis.call('DEL', KEYS[#KEYS])
redis.call('HDEL', KEYS[#KEYS - 1], ARGV[2])
local released = mark == RELEASED
local now = clock(ARGV[1])
local out = {released and 2 or 1}

for i = 1, #KEYS - 2 do
  local a = 2 + (i - 1) * 5
  local key = KEYS[i]
  if ARGV[a + 1] == 'b' then
    -- The period ended and its key expired: nobody reads that instance any more.
    if redis.call('EXISTS', key) == 0 then
      for _ = 1, 5 do
        table.insert(out, 0)
      end
    else
      local v = redis.call('HMGET', key, 'cu', 'cp', 'ru', 'rp')
      local hu, hp = tonumber(ARGV[a + 2]), tonumber(ARGV[a + 3])
      if released then
        hu, hp = 0, 0
      end
      local ru, rp = norm(num(v[3]) - hu, num(v[4]) - hp)
      local cu, cp = norm(num(v[1]) + tonumber(ARGV[a + 4]), num(v[2]) + tonumber(ARGV[a + 5]))
      redis.call('HSET', key, 'cu', int(cu), 'cp', int(cp), 'ru', int(ru), 'rp', int(rp))
      table.insert(out, 1)
      table.insert(out, cu)
      table.insert(out, cp)
      table.insert(out, ru)
      table.insert(out, rp)
    end
  else
    local cap, rate = tonumber(ARGV[a + 4]), tonumber(ARGV[a + 5])
    local tokens = level(key, cap, rate, now) + tonumber(ARGV[a + 2]) - tonumber(ARGV[a + 3])
    put_level(key, math.min(cap, tokens), cap, rate, now)
    for _ = 1, 5 do
      table.insert(out, 0)
    end
  end
end
return out
`;

/**
 * Adds charges made elsewhere (on local counters during an outage). KEYS: item keys, then the
 * batch marker. ARGV: now, marker TTL, then 5 per item: budget `b, u, p, ttl ms, expires at`;
 * bucket `r, units, capacity, refill per ms, ''`. A batch applies once: 1 when applied now.
 */
const APPLY = `${COMMON}
if not redis.call('SET', KEYS[#KEYS], '1', 'NX', 'PX', ARGV[2]) then
  return 0
end
local now = clock(ARGV[1])

for i = 1, #KEYS - 1 do
  local a = 2 + (i - 1) * 5
  local key = KEYS[i]
  if ARGV[a + 1] == 'b' then
    local v = redis.call('HMGET', key, 'cu', 'cp')
    local cu, cp = norm(num(v[1]) + tonumber(ARGV[a + 2]), num(v[2]) + tonumber(ARGV[a + 3]))
    redis.call('HSET', key, 'cu', int(cu), 'cp', int(cp), 'x', ARGV[a + 5])
    if redis.call('PTTL', key) < 0 then
      redis.call('PEXPIRE', key, ARGV[a + 4])
    end
  else
    local cap, rate = tonumber(ARGV[a + 3]), tonumber(ARGV[a + 4])
    put_level(key, level(key, cap, rate, now) - tonumber(ARGV[a + 2]), cap, rate, now)
  end
end
return 1
`;

/**
 * KEYS[1]: a budget instance. ARGV: committed u, committed p, ttl ms, expires at. Keeps the
 * larger committed figure: other replicas' charges may be missing from this gateway's ledger.
 */
const SEED = `${COMMON}
local v = redis.call('HMGET', KEYS[1], 'cu', 'cp')
if above(tonumber(ARGV[1]), tonumber(ARGV[2]), num(v[1]), num(v[2])) then
  redis.call('HSET', KEYS[1], 'cu', ARGV[1], 'cp', ARGV[2])
end
redis.call('HSET', KEYS[1], 'x', ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
`;

/**
 * KEYS: budget and bucket keys found by a scan. ARGV: now for buckets ('' = Redis time), the
 * caller's now for budgets. Drops what the memory store's sweep drops; replies with the count.
 */
const SWEEP = `${COMMON}
local now = clock(ARGV[1])
local callerNow = tonumber(ARGV[2])
local dropped = 0

for i = 1, #KEYS do
  local v = redis.call('HMGET', KEYS[i], 'ru', 'rp', 'x', 't', 'u', 'c', 'r')
  if v[4] then
    local cap = tonumber(v[6])
    local tokens = tonumber(v[4]) + math.max(0, now - tonumber(v[5])) * tonumber(v[7])
    if math.min(cap, tokens) >= cap then
      redis.call('DEL', KEYS[i])
      dropped = dropped + 1
    end
  elseif v[3] and tonumber(v[3]) <= callerNow and num(v[1]) == 0 and num(v[2]) == 0 then
    redis.call('DEL', KEYS[i])
    dropped = dropped + 1
  end
end
return dropped
`;

/**
 * Gives back the budget amounts held by gateways whose lease is gone (crashed, or cut off for
 * longer than a lease). KEYS[1]: the owners set. ARGV: the start of lease keys, of hold hashes,
 * of hold markers, the store prefix, and the caller's gateway id (never swept by itself). Each
 * hold's marker turns to released in the same step, so a hold is given back once, however
 * many gateways sweep, and its gateway's later settle subtracts nothing more. Replies with the
 * number of holds given back.
 */
const RELEASE_ORPHANS = `${COMMON}
local released = 0

for _, gateway in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  if gateway ~= ARGV[5] and redis.call('EXISTS', ARGV[1] .. gateway) == 0 then
    local owned = ARGV[2] .. gateway
    local holds = redis.call('HGETALL', owned)
    for j = 1, #holds, 2 do
      local marker = ARGV[3] .. holds[j]
      if redis.call('GET', marker) == gateway then
        redis.call('SET', marker, RELEASED, 'KEEPTTL')
        for key, hu, hp in string.gmatch(holds[j + 1], '(%S+) (%S+) (%S+)') do
          local instance = ARGV[4] .. key
          -- An instance whose period ended and expired has nothing left to give back.
          if redis.call('EXISTS', instance) == 1 then
            local v = redis.call('HMGET', instance, 'ru', 'rp')
            local ru, rp = norm(num(v[1]) - tonumber(hu), num(v[2]) - tonumber(hp))
            redis.call('HSET', instance, 'ru', int(ru), 'rp', int(rp))
          end
        end
        released = released + 1
      end
    end
    redis.call('DEL', owned)
    redis.call('SREM', KEYS[1], gateway)
  end
end
return released
`;

const SOURCES = {
  spendgateReserve: RESERVE,
  spendgateSettle: SETTLE,
  spendgateApply: APPLY,
  spendgateSeed: SEED,
  spendgateSweep: SWEEP,
  spendgateReleaseOrphans: RELEASE_ORPHANS,
} as const;

/** A script call: its keys and its arguments. */
type ScriptCall = (keys: readonly string[], args: readonly string[]) => Promise<unknown>;

/** The counter scripts, bound to one connection. */
export type CounterScripts = {
  readonly reserve: ScriptCall;
  readonly settle: ScriptCall;
  readonly apply: ScriptCall;
  readonly seed: ScriptCall;
  readonly sweep: ScriptCall;
  readonly releaseOrphans: ScriptCall;
};

type DefinedCommand = (numKeys: number, ...keysAndArgs: string[]) => Promise<unknown>;

/**
 * Registers the scripts on a connection. ioredis sends each as EVALSHA and falls back to EVAL
 * when the server does not know the script yet (a fresh or restarted Redis).
 */
export function defineCounterScripts(redis: Redis): CounterScripts {
  for (const [name, lua] of Object.entries(SOURCES)) redis.defineCommand(name, { lua });
  const commands = redis as unknown as Record<keyof typeof SOURCES, DefinedCommand>;
  const bind =
    (name: keyof typeof SOURCES): ScriptCall =>
    (keys, args) =>
      commands[name](keys.length, ...keys, ...args);
  return {
    reserve: bind('spendgateReserve'),
    settle: bind('spendgateSettle'),
    apply: bind('spendgateApply'),
    seed: bind('spendgateSeed'),
    sweep: bind('spendgateSweep'),
    releaseOrphans: bind('spendgateReleaseOrphans'),
  };
}
