package loadtest

import (
	"testing"
	"time"
)

func TestRedisCPU(t *testing.T) {
	for _, c := range []struct {
		name, info string
		want       time.Duration
		ok         bool
	}{
		{"both", "# CPU\r\nused_cpu_sys:1.500000\r\nused_cpu_user:2.250000\r\nused_cpu_sys_children:9.0\r\n", 3750 * time.Millisecond, true},
		{"user missing", "# CPU\r\nused_cpu_sys:1.5\r\n", 1500 * time.Millisecond, false},
		{"not a number", "used_cpu_sys:x\r\nused_cpu_user:1\r\n", 0, false},
		{"empty (miniredis)", "", 0, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, ok := redisCPU(c.info)
			if ok != c.ok || (ok && got != c.want) {
				t.Fatalf("redisCPU = %v, %v; want %v, %v", got, ok, c.want, c.ok)
			}
		})
	}
}
