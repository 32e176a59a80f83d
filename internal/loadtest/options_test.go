package loadtest

import (
	"flag"
	"strings"
	"testing"
	"time"
)

func TestRegisterKeepsDefaultsAndParses(t *testing.T) {
	o := DefaultOptions()
	fs := flag.NewFlagSet("loadtest", flag.ContinueOnError)
	o.Register(fs)
	if o != DefaultOptions() {
		t.Fatalf("Register changed the options: %+v", o)
	}
	// The documented command lines (BENCHMARKS.md, Makefile) parse.
	if err := fs.Parse(strings.Fields("--redis redis://127.0.0.1:6379/0 --duration 8s --rounds 3 --concurrency 32 --crowd 200 --seats 10")); err != nil {
		t.Fatal(err)
	}
	want := Options{RedisURL: "redis://127.0.0.1:6379/0", Duration: 8 * time.Second, Rounds: 3, Concurrency: 32, Crowd: 200, Seats: 10}
	if o != want {
		t.Fatalf("parsed %+v, want %+v", o, want)
	}
	if err := o.Validate(); err != nil {
		t.Fatal(err)
	}
	if d := DefaultOptions(); d.Crowd != 2000 || d.Seats != 100 || d.Validate() != nil {
		t.Fatalf("documented defaults changed: %+v", d)
	}
}

func TestValidateNamesTheFlag(t *testing.T) {
	for flagName, mutate := range map[string]func(*Options){
		"--duration":    func(o *Options) { o.Duration = 0 },
		"--concurrency": func(o *Options) { o.Concurrency = 0 },
		"--rounds":      func(o *Options) { o.Rounds = -1 },
		"--crowd":       func(o *Options) { o.Crowd = -1 },
		"--seats":       func(o *Options) { o.Crowd, o.Seats = 10, 20 },
	} {
		o := DefaultOptions()
		mutate(&o)
		if err := o.Validate(); err == nil || !strings.Contains(err.Error(), flagName) {
			t.Errorf("%s: %v", flagName, err)
		}
	}
	o := DefaultOptions()
	o.Crowd, o.Seats = 0, 0 // no flash crowd: seats do not matter
	if err := o.Validate(); err != nil {
		t.Error(err)
	}
}
