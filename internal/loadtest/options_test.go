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
	want := Options{RedisURL: "redis://127.0.0.1:6379/0", Duration: 8 * time.Second, Rounds: 3, Concurrency: 32, Crowd: 200, Seats: 10, Rate: 150}
	if o != want {
		t.Fatalf("parsed %+v, want %+v", o, want)
	}
	if err := o.Validate(); err != nil {
		t.Fatal(err)
	}
	if d := DefaultOptions(); d.Crowd != 2000 || d.Seats != 100 || d.Soak != 0 || d.Rate != 150 || d.Validate() != nil {
		t.Fatalf("documented defaults changed: %+v", d)
	}
	// The documented soak command line (BENCHMARKS.md).
	o = DefaultOptions()
	fs = flag.NewFlagSet("loadtest", flag.ContinueOnError)
	o.Register(fs)
	if err := fs.Parse(strings.Fields("--redis redis://127.0.0.1:6379/0 --soak 5m --rate 150")); err != nil {
		t.Fatal(err)
	}
	if o.Soak != 5*time.Minute || o.Rate != 150 || o.Validate() != nil {
		t.Fatalf("soak options %+v", o)
	}
}

func TestValidateNamesTheFlag(t *testing.T) {
	for flagName, mutate := range map[string]func(*Options){
		"--duration":    func(o *Options) { o.Duration = 0 },
		"--concurrency": func(o *Options) { o.Concurrency = 0 },
		"--rounds":      func(o *Options) { o.Rounds = -1 },
		"--crowd":       func(o *Options) { o.Crowd = -1 },
		"--seats":       func(o *Options) { o.Crowd, o.Seats = 10, 20 },
		"--soak":        func(o *Options) { o.Soak = -time.Second },
		"--soak ":       func(o *Options) { o.Soak = time.Millisecond },
		"--rate":        func(o *Options) { o.Soak, o.Rate = time.Minute, 0 },
		"--rate ":       func(o *Options) { o.Soak, o.Rate = time.Minute, 10001 },
	} {
		o := DefaultOptions()
		mutate(&o)
		if err := o.Validate(); err == nil || !strings.Contains(err.Error(), strings.TrimSpace(flagName)) {
			t.Errorf("%s: %v", flagName, err)
		}
	}
	o := DefaultOptions()
	o.Crowd, o.Seats = 0, 0 // no flash crowd: seats do not matter
	if err := o.Validate(); err != nil {
		t.Error(err)
	}
	o = DefaultOptions()
	o.Rate = 0 // no soak: the rate does not matter
	if err := o.Validate(); err != nil {
		t.Error(err)
	}
}
