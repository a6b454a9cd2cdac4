package rediscache

import (
	"context"
	"errors"

	"github.com/redis/go-redis/v9"
)

// The scripts touch one key, or keys in one hash slot (a key and its lock, the days of a zone),
// so that they run on a Redis Cluster too. HGET of a missing field is false in Lua, hence the "or ''".

// touchScript increments the generation of a (resource, day) hash, creating it with a fresh
// nonce when it does not exist, and drops its entry, now stale.
// KEYS[1] the hash; ARGV[1] a fresh nonce, ARGV[2] the TTL in milliseconds.
var touchScript = redis.NewScript(`
redis.call('HSETNX', KEYS[1], 'n', ARGV[1])
redis.call('HINCRBY', KEYS[1], 'g', 1)
redis.call('HDEL', KEYS[1], 'e', 'eg', 'ee')
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
`)

// versionScript returns "nonce:generation" of each hash, creating it with a fresh nonce and
// generation 0 when it does not exist (so that a hash that expired never repeats a token), and
// pushes its expiry back. KEYS the hashes, in one hash slot; ARGV[1] a fresh nonce, ARGV[2] the
// TTL in milliseconds.
var versionScript = redis.NewScript(`
local out = {}
for i, key in ipairs(KEYS) do
  redis.call('HSETNX', key, 'n', ARGV[1])
  redis.call('HSETNX', key, 'g', 0)
  redis.call('PEXPIRE', key, ARGV[2])
  local v = redis.call('HMGET', key, 'n', 'g')
  out[i] = v[1] .. ':' .. v[2]
end
return table.concat(out, ',')
`)

// zoneTouchScript increments the generations of days of a zone's hash (one field per day,
// besides the nonce "n"), creating it with a fresh nonce when it does not exist. KEYS[1] the
// hash; ARGV[1] a fresh nonce, ARGV[2] the TTL in milliseconds, ARGV[3..] the days.
var zoneTouchScript = redis.NewScript(`
redis.call('HSETNX', KEYS[1], 'n', ARGV[1])
for i = 3, #ARGV do
  redis.call('HINCRBY', KEYS[1], ARGV[i], 1)
end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
`)

// zoneVersionScript returns "nonce:g1,g2,…" for days of a zone's hash (a day never touched is
// 0), creating the hash with a fresh nonce when it does not exist, and pushes its expiry back.
// KEYS[1] the hash; ARGV[1] a fresh nonce, ARGV[2] the TTL in milliseconds, ARGV[3..] the days.
var zoneVersionScript = redis.NewScript(`
redis.call('HSETNX', KEYS[1], 'n', ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
local fields = {'n'}
for i = 3, #ARGV do
  fields[#fields + 1] = ARGV[i]
end
local v = redis.call('HMGET', KEYS[1], unpack(fields))
for i = 2, #v do
  v[i] = v[i] or '0'
end
return v[1] .. ':' .. table.concat(v, ',', 2)
`)

// storeScript writes a rebuilt entry if the hash's generation is still the one read before the
// load, and releases the rebuild lock if it is still ours. It returns 1 when it wrote.
// KEYS[1] the hash, KEYS[2] its lock; ARGV[1] the nonce read, ARGV[2] the generation read,
// ARGV[3] the epoch read, ARGV[4] the entry, ARGV[5] the TTL in milliseconds, ARGV[6] the lock
// token, ARGV[7] a fresh nonce for a hash that did not exist.
var storeScript = redis.NewScript(`
local n = redis.call('HGET', KEYS[1], 'n') or ''
local g = redis.call('HGET', KEYS[1], 'g') or ''
local stored = 0
if n == ARGV[1] and g == ARGV[2] then
  if n == '' then
    g = '0'
    redis.call('HSET', KEYS[1], 'n', ARGV[7], 'g', g)
  end
  redis.call('HSET', KEYS[1], 'eg', g, 'ee', ARGV[3], 'e', ARGV[4])
  redis.call('PEXPIRE', KEYS[1], ARGV[5])
  stored = 1
end
if redis.call('GET', KEYS[2]) == ARGV[6] then
  redis.call('DEL', KEYS[2])
end
return stored
`)

// unlockScript deletes a lock if it is still ours. KEYS[1] the lock; ARGV[1] the token.
var unlockScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
`)

type scriptCall struct {
	script *redis.Script
	keys   []string
	args   []any
}

// runScripts runs the calls in one pipelined round trip (EVALSHA), and a second one (EVAL) for
// the calls the server did not have the script for: after a restart, or on a Cluster node that
// never saw it. The first error other than NOSCRIPT fails the whole run. with, if given, adds
// commands of the caller's to the first round trip.
func runScripts(ctx context.Context, rdb redis.UniversalClient, calls []scriptCall, with ...func(redis.Pipeliner)) ([]*redis.Cmd, error) {
	cmds := make([]*redis.Cmd, len(calls))
	pipe := rdb.Pipeline()
	for _, add := range with {
		add(pipe)
	}
	for i, call := range calls {
		cmds[i] = call.script.EvalSha(ctx, pipe, call.keys, call.args...)
	}
	pipe.Exec(ctx)
	var again []int
	for i, cmd := range cmds {
		switch err := cmd.Err(); {
		case err == nil:
		case errors.Is(err, redis.ErrNoScript) || redis.HasErrorPrefix(err, "NOSCRIPT"):
			again = append(again, i)
		default:
			return nil, mapError(err)
		}
	}
	if len(again) == 0 {
		return cmds, nil
	}
	pipe = rdb.Pipeline()
	for _, i := range again {
		cmds[i] = calls[i].script.Eval(ctx, pipe, calls[i].keys, calls[i].args...)
	}
	pipe.Exec(ctx)
	for _, i := range again {
		if err := cmds[i].Err(); err != nil {
			return nil, mapError(err)
		}
	}
	return cmds, nil
}
