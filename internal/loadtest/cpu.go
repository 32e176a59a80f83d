package loadtest

import (
	"bufio"
	"context"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
)

// cpuTimes is CPU time used so far by this process (the load client and
// the servers under test, which run in it) and by Redis.
type cpuTimes struct {
	proc, redis time.Duration
	redisOK     bool // Redis reported its CPU (a Cluster or miniredis may not)
}

// readCPU samples this process's rusage and Redis's INFO cpu. A
// throughput on two cores shared by the client, the server and Redis
// swings by ±15 % from round to round with scheduling; CPU time per answer
// swings far less, so the report gives both.
func readCPU(ctx context.Context, rdb redis.UniversalClient) cpuTimes {
	var t cpuTimes
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		t.proc = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	if c, ok := rdb.(*redis.Client); ok {
		info, err := c.Info(ctx, "cpu").Result()
		if err == nil {
			t.redis, t.redisOK = redisCPU(info)
		}
	}
	return t
}

// redisCPU adds used_cpu_sys and used_cpu_user of an INFO cpu answer.
func redisCPU(info string) (time.Duration, bool) {
	var total float64
	found := 0
	sc := bufio.NewScanner(strings.NewReader(info))
	for sc.Scan() {
		k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), ":")
		if !ok || (k != "used_cpu_sys" && k != "used_cpu_user") {
			continue
		}
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return 0, false
		}
		total += f
		found++
	}
	return time.Duration(total * float64(time.Second)), found == 2
}
