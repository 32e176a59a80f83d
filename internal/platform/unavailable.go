package platform

import (
	"context"
	"errors"
	"io"
	"net"
	"net/url"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/x/mongo/driver"
	"go.mongodb.org/mongo-driver/v2/x/mongo/driver/topology"
)

// Store deadlines. A store call that cannot be answered fails within about
// a second (StoreTimeout), so that a request fails fast with 503
// store_unavailable instead of hanging while a store is down or stalled.
// MONGODB_URI's timeoutMS, serverSelectionTimeoutMS and connectTimeoutMS, and
// REDIS_URL's dial_timeout, read_timeout, write_timeout, pool_timeout and
// max_retries override them. A caller whose context has an earlier or later
// deadline (start-up, a long export) gets that one on MongoDB.
const (
	// StoreTimeout bounds one MongoDB operation (server selection included).
	StoreTimeout = time.Second
	// redisAttemptTimeout bounds each dial, write and read of a Redis
	// command; a command (or pipeline) that gets no answer gives up after
	// about StoreTimeout. No retries: a retry only doubles the wait on a
	// stalled Redis, and go-redis already drops dead pooled connections
	// when it hands them out.
	redisAttemptTimeout = 500 * time.Millisecond
	redisRetries        = -1 // go-redis: -1 disables retries
)

// StoreUnavailable reports whether err (or an error it wraps) says that
// MongoDB or Redis could not be reached or did not answer in time:
// connections refused, closed or reset, network timeouts, server selection
// or connection pool time-outs, a closed client. It is false for an answer
// of a working store (no document, duplicate key, a Lua error), for a
// cancelled context (the client went away) and for errors of HTTP clients
// (upstreams such as WeChat are not stores). Package api answers an error it
// recognises with 503 store_unavailable.
func StoreUnavailable(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) {
		return false
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return false
	}
	// MongoDB
	if mongo.IsNetworkError(err) || mongo.IsTimeout(err) ||
		errors.Is(err, mongo.ErrClientDisconnected) || errors.Is(err, topology.ErrTopologyClosed) {
		return true
	}
	var sse topology.ServerSelectionError
	var ce topology.ConnectionError
	var pe topology.PoolError
	var rpe driver.RetryablePoolError
	if errors.As(err, &sse) || errors.As(err, &ce) || errors.As(err, &pe) || errors.As(err, &rpe) {
		return true
	}
	// Redis (go-redis passes network errors on as they are)
	if errors.Is(err, redis.ErrClosed) || errors.Is(err, redis.ErrPoolTimeout) || errors.Is(err, redis.ErrPoolExhausted) {
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return true
	}
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// redisDeadlines gives opt the store deadlines where REDIS_URL set none.
func redisDeadlines(opt *redis.Options) {
	if opt.DialTimeout == 0 {
		opt.DialTimeout = redisAttemptTimeout
	}
	if opt.ReadTimeout == 0 {
		opt.ReadTimeout = redisAttemptTimeout
	}
	if opt.WriteTimeout == 0 {
		opt.WriteTimeout = redisAttemptTimeout
	}
	if opt.PoolTimeout == 0 {
		opt.PoolTimeout = StoreTimeout
	}
	if opt.MaxRetries == 0 {
		opt.MaxRetries = redisRetries
	}
}
