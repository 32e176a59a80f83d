// Command banshi runs the Banshi backend-for-frontend.
//
//	banshi [serve]              serve the API (development: embedded stores, simulators, demo data)
//	banshi worker               background work only (outbox dispatch, sweepers), no API
//	banshi sim [flags]          run the protocol simulators alone
//	banshi rotate-pii-key       re-seal PII under the current key (README.md, Rotating the PII key)
//	banshi loadtest [flags]     measure routes against a bare Echo + Redis GET (BENCHMARKS.md)
//	banshi help [command]       print usage (also banshi -h, banshi --help)
//
// Configuration comes from the environment; see README.md.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	log := slog.New(slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{Level: slog.LevelInfo}))
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, log)
	stop()
	var usage usageError
	switch {
	case err == nil:
	case errors.As(err, &usage):
		fmt.Fprintln(os.Stderr, "banshi:", err)
		os.Exit(2)
	default:
		log.Error("banshi stopped", "err", err.Error())
		os.Exit(1)
	}
}

// usageError is a command line banshi cannot run: an unknown command, an
// unknown flag or a stray argument. main prints it plainly and exits 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// env is what a command runs with besides its flags.
type env struct {
	getenv func(string) string
	stdout io.Writer
	log    *slog.Logger
}

// command is one subcommand of banshi.
type command struct {
	name    string
	args    string // what follows the flags in the synopsis, if anything
	summary string // one line
	maxArgs int    // positional arguments accepted after the flags
	// define declares the command's flags on fs and returns its body, which
	// runs once fs has parsed the command line.
	define func(fs *flag.FlagSet, e env) func(ctx context.Context) error
}

// commands lists banshi's subcommands, in the order usage shows them.
func commands() []command {
	return []command{
		{name: "serve", summary: "serve the API (the default); settings come from the environment (README.md, Configuration)", define: defineServe},
		{name: "worker", summary: "run the background work (outbox dispatch, sweepers) without the API; /healthz, /readyz and /metrics on BANSHI_ADDR", define: defineWorker},
		{name: "sim", summary: "serve the protocol simulators alone, for a Banshi with BANSHI_SIM=false or a client", define: defineSim},
		{name: "healthcheck", summary: "exit 0 when the Banshi on BANSHI_ADDR (or --url) is ready (/readyz; --live: /healthz): the container health check", define: defineHealthcheck},
		{name: "rotate-pii-key", summary: "re-seal every name and ID number under the current PII key (BANSHI_PII_SEAL_KEY, else the last of BANSHI_PII_KEYS), in batches under a lease, resumable, while Banshi serves", define: defineRotatePII},
		{name: "loadtest", summary: "measure Banshi's routes against a bare Echo + one Redis GET, then a booking flash crowd; or, with --soak, a fixed-rate mix of citizen routes (BENCHMARKS.md)", define: defineLoadTest},
		{name: "help", args: "[command]", summary: "print this usage, or one command's", maxArgs: 1, define: defineHelp},
	}
}

func commandNames() []string {
	var names []string
	for _, c := range commands() {
		names = append(names, c.name)
	}
	return names
}

func lookup(name string) (command, bool) {
	for _, c := range commands() {
		if c.name == name {
			return c, true
		}
	}
	return command{}, false
}

// run dispatches the subcommand (serve when args start with none). It
// returns when ctx is cancelled (after a graceful shutdown), on a start-up
// failure, or, for help and --help, once usage is written to stdout; help
// creates nothing. Errors: usageError for a command line that cannot run
// (naming every command when the command is unknown), else the command's.
func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer, log *slog.Logger) error {
	if stdout == nil {
		stdout = io.Discard
	}
	name := "serve"
	if len(args) > 0 {
		switch a := args[0]; {
		case a == "-h" || a == "-help" || a == "--help":
			name, args = "help", args[1:]
		case !strings.HasPrefix(a, "-"):
			name, args = a, args[1:]
		}
	}
	cmd, ok := lookup(name)
	if !ok {
		return usageError{fmt.Sprintf("unknown command %q: the commands are %s (banshi help describes them)", name, strings.Join(commandNames(), ", "))}
	}
	fs := flag.NewFlagSet("banshi "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // usage goes to stdout, errors to the caller
	body := cmd.define(fs, env{getenv: getenv, stdout: stdout, log: log})
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printCommand(stdout, cmd)
			return nil
		}
		return usageError{fmt.Sprintf("%s: %v (banshi %s --help lists its flags)", name, err, name)}
	}
	if fs.NArg() > cmd.maxArgs {
		return usageError{fmt.Sprintf("%s: unexpected argument %q (banshi %s --help)", name, fs.Arg(cmd.maxArgs), name)}
	}
	return body(ctx)
}

// defineHelp is `banshi help [command]`.
func defineHelp(fs *flag.FlagSet, e env) func(context.Context) error {
	return func(context.Context) error {
		if fs.NArg() == 0 {
			printUsage(e.stdout)
			return nil
		}
		cmd, ok := lookup(fs.Arg(0))
		if !ok {
			return usageError{fmt.Sprintf("help: unknown command %q: the commands are %s", fs.Arg(0), strings.Join(commandNames(), ", "))}
		}
		printCommand(e.stdout, cmd)
		return nil
	}
}

// printUsage writes every command with its summary and flags.
func printUsage(w io.Writer) {
	fmt.Fprint(w, `usage: banshi [command] [flags]

Banshi (办事) is the backend-for-frontend of a government-services WeChat
mini-program. Without a command it serves; its settings come from the
environment (README.md). Stop it with Ctrl-C (SIGINT) or SIGTERM.

commands:
`)
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-11s %s\n", c.name, c.summary)
		if f := flagDefaults(c); f != "" {
			fmt.Fprint(w, indent(f, "    "))
		}
	}
}

// printCommand writes one command's synopsis, summary and flags.
func printCommand(w io.Writer, c command) {
	synopsis := "banshi " + c.name
	f := flagDefaults(c)
	if f != "" {
		synopsis += " [flags]"
	}
	if c.args != "" {
		synopsis += " " + c.args
	}
	fmt.Fprintf(w, "usage: %s\n\n%s\n", synopsis, c.summary)
	if f == "" {
		fmt.Fprintln(w, "\nno flags")
		return
	}
	fmt.Fprint(w, "\nflags:\n"+f)
}

// flagDefaults returns c's flags as flag.PrintDefaults writes them, or "".
func flagDefaults(c command) string {
	fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
	c.define(fs, env{})
	var b bytes.Buffer
	fs.SetOutput(&b)
	fs.PrintDefaults()
	return b.String()
}

// indent puts prefix before every line of s.
func indent(s, prefix string) string {
	lines := strings.SplitAfter(s, "\n")
	var b strings.Builder
	for _, l := range lines {
		if l != "" {
			b.WriteString(prefix + l)
		}
	}
	return b.String()
}
