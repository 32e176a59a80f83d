package platform

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"
)

// Redis deployments REDIS_URL can name.
const (
	redisSingle   = "single"   // redis:// rediss:// unix://: one server (or a proxy)
	redisSentinel = "sentinel" // redis-sentinel://: a master found through Sentinels
	redisCluster  = "cluster"  // several redis:// seeds: a Redis Cluster
)

// redisTarget is a parsed REDIS_URL: which deployment, and the options of
// the one go-redis client that serves it (all three are UniversalClients).
type redisTarget struct {
	kind     string
	single   *redis.Options
	failover *redis.FailoverOptions
	cluster  *redis.ClusterOptions
}

// addrs is what start-up logs of the target: its addresses, never a
// credential.
func (t redisTarget) addrs() string {
	switch t.kind {
	case redisSentinel:
		return "master " + t.failover.MasterName + " via sentinels " + strings.Join(t.failover.SentinelAddrs, ",")
	case redisCluster:
		return "cluster seeds " + strings.Join(t.cluster.Addrs, ",")
	}
	return t.single.Addr
}

// client returns a new client of the target, with Banshi's deadlines
// (redisDeadlines) where the URL set none.
func (t redisTarget) client() redis.UniversalClient {
	switch t.kind {
	case redisSentinel:
		o := t.failover
		d := redis.Options{DialTimeout: o.DialTimeout, ReadTimeout: o.ReadTimeout, WriteTimeout: o.WriteTimeout,
			PoolTimeout: o.PoolTimeout, MaxRetries: o.MaxRetries}
		redisDeadlines(&d)
		o.DialTimeout, o.ReadTimeout, o.WriteTimeout, o.PoolTimeout, o.MaxRetries = d.DialTimeout, d.ReadTimeout, d.WriteTimeout, d.PoolTimeout, d.MaxRetries
		return redis.NewFailoverClient(o)
	case redisCluster:
		o := t.cluster
		d := redis.Options{DialTimeout: o.DialTimeout, ReadTimeout: o.ReadTimeout, WriteTimeout: o.WriteTimeout,
			PoolTimeout: o.PoolTimeout, MaxRetries: o.MaxRetries}
		redisDeadlines(&d)
		o.DialTimeout, o.ReadTimeout, o.WriteTimeout, o.PoolTimeout, o.MaxRetries = d.DialTimeout, d.ReadTimeout, d.WriteTimeout, d.PoolTimeout, d.MaxRetries
		return redis.NewClusterClient(o)
	}
	redisDeadlines(t.single)
	return redis.NewClient(t.single)
}

// parseRedisTarget parses REDIS_URL:
//   - redis://, rediss://, unix://: one server (parseRedisURL's rules);
//   - several redis:// or rediss:// URLs separated by commas: the seeds of a
//     Redis Cluster; they must agree on user, password and TLS, and name no
//     database (a cluster has only 0);
//   - redis-sentinel://[user:password@]host:port[,host:port…][/db]?master=name:
//     the master the Sentinels name; the URL's password is the master's and
//     the Sentinels' (give them the same requirepass).
//
// Errors never carry the URL's credentials.
func parseRedisTarget(raw string) (redisTarget, error) {
	if strings.HasPrefix(raw, "redis-sentinel://") {
		o, err := parseSentinelURL(raw)
		if err != nil {
			return redisTarget{}, parseError(raw, err, func(s string) error { _, err := parseSentinelURL(s); return err })
		}
		return redisTarget{kind: redisSentinel, failover: o}, nil
	}
	list := urlList(raw)
	if len(list) == 1 {
		opt, err := parseRedisURL(raw)
		if err != nil {
			return redisTarget{}, err
		}
		return redisTarget{kind: redisSingle, single: opt}, nil
	}
	co := &redis.ClusterOptions{}
	for i, u := range list {
		opt, err := parseRedisURL(u)
		if err != nil {
			return redisTarget{}, fmt.Errorf("cluster seed %d: %w", i+1, err)
		}
		switch {
		case opt.Network == "unix":
			return redisTarget{}, fmt.Errorf("cluster seed %d: a cluster's seeds are TCP addresses", i+1)
		case opt.DB != 0:
			return redisTarget{}, fmt.Errorf("cluster seed %d: a Redis Cluster has only database 0", i+1)
		case i > 0 && (opt.Username != co.Username || opt.Password != co.Password || (opt.TLSConfig == nil) != (co.TLSConfig == nil)):
			return redisTarget{}, fmt.Errorf("cluster seed %d: every seed must have the same user, password and scheme", i+1)
		}
		if i == 0 {
			co.Username, co.Password, co.TLSConfig = opt.Username, opt.Password, opt.TLSConfig
			co.DialTimeout, co.ReadTimeout, co.WriteTimeout, co.PoolTimeout = opt.DialTimeout, opt.ReadTimeout, opt.WriteTimeout, opt.PoolTimeout
			co.PoolSize, co.MinIdleConns, co.MaxRetries = opt.PoolSize, opt.MinIdleConns, opt.MaxRetries
		}
		co.Addrs = append(co.Addrs, opt.Addr)
	}
	return redisTarget{kind: redisCluster, cluster: co}, nil
}

// parseSentinelURL parses a redis-sentinel:// URL (see parseRedisTarget).
func parseSentinelURL(raw string) (*redis.FailoverOptions, error) {
	p := splitURL(raw)
	rest := p.rest
	var query string
	if q := strings.IndexByte(rest, '?'); q >= 0 {
		rest, query = rest[:q], rest[q+1:]
	}
	hosts, path, _ := strings.Cut(rest, "/")
	o := &redis.FailoverOptions{}
	if p.userinfo {
		if p.colon {
			o.Username, o.Password = unescape(p.user), unescape(p.secret)
		} else {
			o.Password = unescape(p.secret)
		}
		o.SentinelUsername, o.SentinelPassword = o.Username, o.Password
	}
	for _, h := range strings.Split(hosts, ",") {
		host, port, err := net.SplitHostPort(h)
		if err != nil || host == "" {
			return nil, fmt.Errorf("redis-sentinel: invalid sentinel address %q: want host:port", h)
		}
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("redis-sentinel: invalid port %q: want 1-65535", port)
		}
		o.SentinelAddrs = append(o.SentinelAddrs, h)
	}
	if path != "" {
		db, err := strconv.Atoi(path)
		if err != nil || db < 0 {
			return nil, fmt.Errorf("redis-sentinel: invalid database number %q", path)
		}
		o.DB = db
	}
	for _, pair := range strings.FieldsFunc(query, func(r rune) bool { return r == '&' }) {
		name, value, _ := strings.Cut(pair, "=")
		switch name {
		case "master":
			o.MasterName = unescape(value)
		default:
			return nil, fmt.Errorf("redis-sentinel: unknown option %q (only master)", name)
		}
	}
	if o.MasterName == "" {
		return nil, errors.New("redis-sentinel: the master option is required (?master=<name>)")
	}
	return o, nil
}

// NewRedisClient returns a client of REDIS_URL's deployment (see
// parseRedisTarget) without connecting: for tools and tests that manage
// their own checks. Errors never carry the URL's credentials.
func NewRedisClient(url string) (redis.UniversalClient, error) {
	target, err := parseRedisTarget(url)
	if err != nil {
		return nil, err
	}
	return target.client(), nil
}
