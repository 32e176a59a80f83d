package notify

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// queue is the outbox's index of work in Redis: which deliveries are due
// when (sorted set "due", scored by due time in Unix milliseconds), which
// are being sent until when (sorted set "inflight", scored by the end of the
// sender's lease), what each one says (hash "payload": the delivery as
// JSON, until it is final) and how often it was tried (hash "attempts").
// MongoDB keeps every delivery and every outcome — the truth, written by
// inserts only; the queue says what to do next, so the hot path reads
// nothing from MongoDB and never scans it (the embedded engine serves no
// secondary index).
//
// Moving an id from due to inflight is one atomic script: of racing
// dispatchers exactly one gets it. An index that lost entries (a Redis
// failover, an in-process Redis that died with its process) is rebuilt from
// MongoDB by reconcile; an entry for a delivery already final is dropped
// when a dispatcher reads the delivery. Both keys carry one hash tag so the
// scripts run on Redis Cluster.
type queue struct {
	rdb      redis.UniversalClient
	due      string
	inflight string
	payload  string
	attempts string
	finished string
}

func newQueue(rdb redis.UniversalClient, prefix string) *queue {
	k := prefix + "{outbox}:"
	return &queue{rdb: rdb, due: k + "due", inflight: k + "inflight", payload: k + "payload", attempts: k + "attempts",
		finished: k + "finished"}
}

func (q *queue) keys() []string {
	return []string{q.due, q.inflight, q.payload, q.attempts, q.finished}
}

// finishedWindow is how long a finished id is remembered (sorted set
// "finished", scored by when): a reconcile reads MongoDB before it queues,
// and a delivery that finished in between must not be queued again from
// that older reading.
const finishedWindow = time.Hour

func ms(t time.Time) int64 { return t.UnixMilli() }

// queued is one delivery to index.
type queued struct {
	id      string
	due     time.Time
	payload []byte // the deliveryDoc as JSON
}

// addScript indexes deliveries not already indexed (due or in flight) nor
// finished lately: ARGV is score, id, payload, score, id, payload, …
var addScript = redis.NewScript(`
local n = 0
for i = 1, #ARGV, 3 do
  local id = ARGV[i+1]
  if not redis.call('ZSCORE', KEYS[2], id) and not redis.call('ZSCORE', KEYS[1], id)
     and not redis.call('ZSCORE', KEYS[5], id) then
    redis.call('ZADD', KEYS[1], ARGV[i], id)
    redis.call('HSET', KEYS[3], id, ARGV[i+2])
    n = n + 1
  end
end
return n`)

// add indexes items that are neither due nor in flight (a delivery being
// sent is never queued twice). It returns how many it added.
func (q *queue) add(ctx context.Context, items []queued) (int, error) {
	total := 0
	for len(items) > 0 {
		n := min(len(items), 500)
		args := make([]any, 0, 3*n)
		for _, it := range items[:n] {
			args = append(args, ms(it.due), it.id, it.payload)
		}
		added, err := addScript.Run(ctx, q.rdb, q.keys(), args...).Int()
		if err != nil {
			return total, fmt.Errorf("index outbox deliveries: %w", err)
		}
		total += added
		items = items[n:]
	}
	return total, nil
}

// claimScript first returns lapsed claims (their dispatcher died) to the
// due set, then moves up to ARGV[2] ids due by ARGV[1] to inflight with the
// lease end ARGV[3], counting an attempt for each. It answers id, attempt,
// payload (false when lost) for each.
var claimScript = redis.NewScript(`
local lapsed = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1], 'LIMIT', 0, 1000)
for _, id in ipairs(lapsed) do
  redis.call('ZREM', KEYS[2], id)
  redis.call('ZADD', KEYS[1], ARGV[1], id)
end
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
local out = {}
for _, id in ipairs(ids) do
  redis.call('ZREM', KEYS[1], id)
  redis.call('ZADD', KEYS[2], ARGV[3], id)
  out[#out+1] = id
  out[#out+1] = redis.call('HINCRBY', KEYS[4], id, 1)
  out[#out+1] = redis.call('HGET', KEYS[3], id)
end
return out`)

// claimed is one claimed id: its attempt number (1 for the first) and its
// payload (nil when the queue lost it).
type claimed struct {
	id      string
	attempt int
	payload []byte
}

// claim takes up to n ids due by now, leased until now+lease.
func (q *queue) claim(ctx context.Context, now time.Time, n int, lease time.Duration) ([]claimed, error) {
	vals, err := claimScript.Run(ctx, q.rdb, q.keys(), ms(now), n, ms(now.Add(lease))).Slice()
	if err != nil {
		return nil, fmt.Errorf("claim outbox deliveries: %w", err)
	}
	out := make([]claimed, 0, len(vals)/3)
	for i := 0; i+2 < len(vals); i += 3 {
		c := claimed{}
		c.id, _ = vals[i].(string)
		if a, ok := vals[i+1].(int64); ok {
			c.attempt = int(a)
		}
		if p, ok := vals[i+2].(string); ok {
			c.payload = []byte(p)
		}
		out = append(out, c)
	}
	return out, nil
}

// owns reports whether the claim of id with lease end lease (its score in
// inflight) is still the live one: a dispatcher whose lease lapsed and was
// taken over must not record its late outcome over the new one.
func (q *queue) owns(ctx context.Context, id string, lease int64) (bool, error) {
	score, err := q.rdb.ZScore(ctx, q.inflight, id).Result()
	if errors.Is(err, redis.Nil) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("outbox claim check: %w", err)
	}
	return int64(score) == lease, nil
}

// doneScript forgets ARGV[1] everywhere but in "finished", where it is
// remembered at ARGV[2] (ids finished before ARGV[3] are let go).
var doneScript = redis.NewScript(`
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[3], ARGV[1])
redis.call('HDEL', KEYS[4], ARGV[1])
redis.call('ZADD', KEYS[5], ARGV[2], ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[5], '-inf', ARGV[3])
return 1`)

// done forgets a claimed id: its delivery reached a final state at now.
func (q *queue) done(ctx context.Context, id string, now time.Time) error {
	if err := doneScript.Run(ctx, q.rdb, q.keys(), id, ms(now), ms(now.Add(-finishedWindow))).Err(); err != nil {
		return fmt.Errorf("unindex outbox delivery: %w", err)
	}
	return nil
}

// requeueScript moves ARGV[2] from inflight (if there) back to due at
// ARGV[1]; ARGV[3], when not empty, replaces the payload; ARGV[4] "1" takes
// back the attempt its claim counted (a release: nothing was tried).
var requeueScript = redis.NewScript(`
redis.call('ZREM', KEYS[2], ARGV[2])
redis.call('ZREM', KEYS[5], ARGV[2])
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2])
if ARGV[3] ~= '' then redis.call('HSET', KEYS[3], ARGV[2], ARGV[3]) end
if ARGV[4] == '1' then redis.call('HINCRBY', KEYS[4], ARGV[2], -1) end
return 1`)

// requeue makes a claimed id due again at at (a retry, a delivery held
// back); payload, when given, replaces the queued one.
func (q *queue) requeue(ctx context.Context, id string, at time.Time, payload []byte) error {
	return q.requeueRun(ctx, id, at, payload, false)
}

// release makes a claimed id due at at without counting the claim as an
// attempt (the dispatcher stopped before sending it).
func (q *queue) release(ctx context.Context, id string, at time.Time) error {
	return q.requeueRun(ctx, id, at, nil, true)
}

func (q *queue) requeueRun(ctx context.Context, id string, at time.Time, payload []byte, release bool) error {
	rel := "0"
	if release {
		rel = "1"
	}
	if err := requeueScript.Run(ctx, q.rdb, q.keys(), ms(at), id, string(payload), rel).Err(); err != nil {
		return fmt.Errorf("requeue outbox delivery: %w", err)
	}
	return nil
}

// depth counts the index: queued (due now or later) and in flight.
func (q *queue) depth(ctx context.Context) (queuedN, inflightN int64, err error) {
	p := q.rdb.Pipeline()
	a := p.ZCard(ctx, q.due)
	b := p.ZCard(ctx, q.inflight)
	if _, err := p.Exec(ctx); err != nil {
		return 0, 0, fmt.Errorf("outbox depth: %w", err)
	}
	return a.Val(), b.Val(), nil
}
