package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runCLI runs banshi with args in a fresh working directory, with
// BANSHI_DATA_DIR unset (so serve would create ./.banshi) or set to a
// folder that does not exist yet, and fails the test if either was
// created. The context is already cancelled, so a command line that
// wrongly starts a server stops at once instead of hanging the test.
func runCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	dir := t.TempDir()
	t.Chdir(dir)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out bytes.Buffer
	var firstErr error
	data := filepath.Join(dir, "data")
	for i, env := range []map[string]string{
		{"BANSHI_ADDR": "127.0.0.1:0"},
		{"BANSHI_ADDR": "127.0.0.1:0", "BANSHI_DATA_DIR": data},
	} {
		var o bytes.Buffer
		err := run(ctx, args, getenv(env), &o, testLog())
		if i == 0 {
			out, firstErr = o, err
		} else if o.String() != out.String() || (err == nil) != (firstErr == nil) {
			t.Errorf("banshi %v: answer depends on BANSHI_DATA_DIR", args)
		}
	}
	for _, p := range []string{filepath.Join(dir, ".banshi"), data} {
		if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("banshi %v created %s", args, p)
		}
	}
	return out.String(), firstErr
}

// flagNames lists the flags c defines.
func flagNames(c command) []string {
	fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
	c.define(fs, env{})
	var names []string
	fs.VisitAll(func(f *flag.Flag) { names = append(names, f.Name) })
	return names
}

// TestHelpPrintsUsage: banshi -h, --help, -help and help print every
// command with its summary and its flags, succeed, and create nothing.
func TestHelpPrintsUsage(t *testing.T) {
	for _, args := range [][]string{{"-h"}, {"--help"}, {"-help"}, {"help"}} {
		out, err := runCLI(t, args...)
		if err != nil {
			t.Errorf("banshi %v: %v", args, err)
		}
		for _, c := range commands() {
			if !strings.Contains(out, "  "+c.name+" ") || !strings.Contains(out, c.summary) {
				t.Errorf("banshi %v: command %s or its summary missing:\n%s", args, c.name, out)
			}
			for _, f := range flagNames(c) {
				if !strings.Contains(out, "-"+f+" ") && !strings.Contains(out, "-"+f+"\n") { // a bool flag has no type after it
					t.Errorf("banshi %v: flag -%s of %s missing:\n%s", args, f, c.name, out)
				}
			}
		}
	}
	if n := len(flagNames(mustLookup(t, "loadtest"))); n < 7 {
		t.Errorf("loadtest defines %d flags", n)
	}
}

func mustLookup(t *testing.T, name string) command {
	t.Helper()
	c, ok := lookup(name)
	if !ok {
		t.Fatalf("no command %s", name)
	}
	return c
}

// TestCommandHelp: a command's --help (or banshi help <command>) prints its
// own flags and exits 0: flag.ErrHelp is not an error.
func TestCommandHelp(t *testing.T) {
	for _, args := range [][]string{
		{"sim", "--help"}, {"sim", "-h"}, {"loadtest", "--help"}, {"loadtest", "-h"},
		{"serve", "--help"}, {"help", "sim"}, {"help", "loadtest"}, {"help", "help"},
	} {
		name := args[0]
		if name == "help" {
			name = args[1]
		}
		c := mustLookup(t, name)
		out, err := runCLI(t, args...)
		if err != nil {
			t.Errorf("banshi %v: %v", args, err)
		}
		if !strings.HasPrefix(out, "usage: banshi "+name) || !strings.Contains(out, c.summary) {
			t.Errorf("banshi %v:\n%s", args, out)
		}
		for _, f := range flagNames(c) {
			if !strings.Contains(out, "-"+f+" ") {
				t.Errorf("banshi %v: flag -%s missing:\n%s", args, f, out)
			}
		}
	}
}

// TestUnknownCommandNamesEveryCommand: an unknown command is a usage error
// naming every command.
func TestUnknownCommandNamesEveryCommand(t *testing.T) {
	for _, args := range [][]string{{"frobnicate"}, {"help", "frobnicate"}} {
		_, err := runCLI(t, args...)
		var usage usageError
		if !errors.As(err, &usage) {
			t.Fatalf("banshi %v: %v, want a usage error", args, err)
		}
		for _, name := range commandNames() {
			if !strings.Contains(err.Error(), name) {
				t.Errorf("banshi %v: %q does not name %s", args, err, name)
			}
		}
	}
}

// TestBadCommandLines: unknown flags, missing flag values, stray arguments
// and impossible load-test settings are usage errors and start nothing.
func TestBadCommandLines(t *testing.T) {
	for _, args := range [][]string{
		{"--bogus"}, {"serve", "--port", "1"}, {"serve", "extra"}, {"sim", "--addr"}, {"sim", "extra"},
		{"loadtest", "--bogus"}, {"loadtest", "--rounds", "0"}, {"loadtest", "--crowd", "10", "--seats", "20"},
		{"help", "sim", "loadtest"},
	} {
		out, err := runCLI(t, args...)
		var usage usageError
		if !errors.As(err, &usage) {
			t.Errorf("banshi %v: %v, want a usage error", args, err)
		}
		if out != "" {
			t.Errorf("banshi %v wrote %q", args, out)
		}
	}
}
