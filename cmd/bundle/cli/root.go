package cli

import (
	"io/fs"

	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"syscall"

	"github.com/bdebundle/bundle/internal/regular"

	"github.com/spf13/cobra"
	"golang.org/x/term"
)

// Exit codes of the CLI contract.
const (
	ExitOK    = 0 // success
	ExitUser  = 1 // user error: diagnostics, verification failures
	ExitUsage = 2 // bad flags or arguments
	ExitEnv   = 3 // environment: I/O, network, vCenter
)

// Version is the builder version, set with -ldflags "-X ...cli.Version=v1.2.3".
var Version = "v0.1.0-dev"

// Streams are the standard streams the CLI reads and writes.
type Streams struct {
	In       io.Reader
	Out, Err io.Writer
}

// Globals carry what every verb shares.
type Globals struct {
	Streams
	JSON    bool // --json: machine-readable output
	Verbose bool
	Quiet   bool
	NoColor bool
	Log     *slog.Logger
}

// exitError carries an exit code out of a verb.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit %d", e.code)
	}
	return e.err.Error()
}
func (e *exitError) Unwrap() error { return e.err }

// userErr, envErr and usageErr tag an error with the exit code it maps to.
// A nil err with userErr means "diagnostics were already printed".
func userErr(err error) error { return &exitError{ExitUser, err} }
func envErr(err error) error  { return &exitError{ExitEnv, err} }

// pathErr maps an error reading a path the user named: a path that does
// not exist or is not a regular file or directory is a user error (1), as
// for definitions in validate and build; other I/O failures are
// environment errors (3). Every verb uses it for its path arguments.
func pathErr(err error) error {
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, regular.ErrNotRegular) {
		return userErr(err)
	}
	return envErr(err)
}
func usageErr(err error) error { return &exitError{ExitUsage, err} }

// readErr maps an error reading a file a flag names (--key, --sign-key) as
// pathErr maps path arguments, and a file over its size limit as the user's
// (1), as for var files.
func readErr(err error) error {
	var ee *exitError
	if errors.As(err, &ee) {
		return err // already mapped
	}
	if errors.Is(err, regular.ErrTooLarge) {
		return userErr(err)
	}
	return pathErr(err)
}

// bundleErr maps an error reading a bundle the user named (inspect, diff):
// a path that names nothing, or something that is no readable bundle (not
// a regular file or directory, a bundle.json that does not parse, a
// truncated or corrupt archive), is a user error (1), as verify reports it;
// a failure of the system reading it (permission, I/O) is an environment
// error (3), as in pathErr.
func bundleErr(err error) error {
	var errno syscall.Errno
	if errors.As(err, &errno) && !errors.Is(err, fs.ErrNotExist) && errno != syscall.EISDIR && errno != syscall.ENOTDIR {
		return envErr(err)
	}
	return userErr(err)
}

// commands lists the verbs; each file of this package adds its constructor.
var commands []func(*Globals) *cobra.Command

func register(f func(*Globals) *cobra.Command) { commands = append(commands, f) }

// isTTY reports whether w is a terminal.
func isTTY(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// logLevel is the level of the records shown: warnings, debug records
// with -v, errors only with -q.
func logLevel(g *Globals) slog.Level {
	switch {
	case g.Quiet:
		return slog.LevelError
	case g.Verbose:
		return slog.LevelDebug
	}
	return slog.LevelWarn
}

// NewRoot builds the command tree writing to s.
func NewRoot(s Streams) (*cobra.Command, *Globals) {
	g := &Globals{Streams: s}
	root := &cobra.Command{
		Use:   "bundle",
		Short: "Compile a BDE/Mesos site definition into a verifiable offline bundle",
		Long: `bundle compiles an HCL site definition into a self-contained, versioned,
verifiable offline bundle for air-gapped VMware vSphere Big Data Extensions sites
running Apache Mesos, Marathon, Chronos, ZooKeeper, Docker and HAProxy, and pushes
it to vCenter with "bundle deploy".

Exit codes: 0 ok, 1 user error (diagnostics, failed verification), 2 usage,
3 environment (I/O, network, vCenter; an interrupted command).`,
		Example: `  bundle validate examples/mesos-site
  bundle build examples/mesos-site -o dist
  bundle verify dist/mesos-site-2015.03.1.tar.zst
  bundle deploy dist/mesos-site-2015.03.1 --dry-run`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       Version,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			// Interrupted before it started: no verb runs (Execute says
			// "interrupted", exit 3, as for one interrupted while running).
			if err := cmd.Context().Err(); err != nil {
				return err
			}
			g.Log = slog.New(slog.NewTextHandler(g.Err, &slog.HandlerOptions{Level: logLevel(g)}))
			// Libraries log through slog's default logger: -v shows their
			// debug records, -q silences their warnings.
			slog.SetDefault(g.Log)
			if !isTTY(g.Err) {
				g.NoColor = true
			}
			return nil
		},
	}
	root.SetIn(s.In)
	root.SetOut(s.Out)
	root.SetErr(s.Err)
	root.PersistentFlags().BoolVar(&g.JSON, "json", false, "machine-readable JSON output")
	root.PersistentFlags().BoolVarP(&g.Verbose, "verbose", "v", false, "log debug detail to stderr")
	root.PersistentFlags().BoolVarP(&g.Quiet, "quiet", "q", false, "print errors only")
	root.PersistentFlags().BoolVar(&g.NoColor, "no-color", false, "never colour output")
	g.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return usageErr(err) })
	for _, f := range commands {
		root.AddCommand(f(g))
	}
	return root, g
}

// Execute runs the CLI with args and returns the process exit code.
func Execute(ctx context.Context, args []string, s Streams) int {
	root, _ := NewRoot(s)
	root.SetArgs(singleDashLong(args))
	err := root.ExecuteContext(ctx)
	if err == nil {
		if ctx.Err() != nil {
			// Interrupted, though the verb ran to its end: exit 3 in
			// every verb, as when the interrupt made it fail.
			fmt.Fprintln(s.Err, "Error: interrupted")
			return ExitEnv
		}
		return ExitOK
	}
	if errors.Is(err, context.Canceled) && ctx.Err() != nil {
		fmt.Fprintln(s.Err, "Error: interrupted")
		return ExitEnv
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintf(escaped(s.Err), "Error: %v\n", ee.err)
		}
		if ctx.Err() != nil {
			// Whatever failed after an interrupt failed because of it: the
			// same exit code in every verb.
			fmt.Fprintln(s.Err, "Error: interrupted")
			return ExitEnv
		}
		return ee.code
	}
	// Errors cobra raises itself (unknown command, bad args) are usage errors.
	fmt.Fprintf(s.Err, "Error: %v\n", err)
	if ctx.Err() != nil {
		return ExitEnv
	}
	return ExitUsage
}

// singleDashLong accepts the single-dash long flags that gofmt and terraform
// users type (-check, -diff, -plan, -json) by rewriting them to --name.
func singleDashLong(args []string) []string {
	out := make([]string, 0, len(args))
	for i, a := range args {
		if a == "--" {
			return append(out, args[i:]...)
		}
		name, _, _ := strings.Cut(strings.TrimPrefix(a, "-"), "=")
		if strings.HasPrefix(a, "-") && !strings.HasPrefix(a, "--") && singleDashNames[name] {
			a = "-" + a
		}
		out = append(out, a)
	}
	return out
}

var singleDashNames = map[string]bool{"check": true, "diff": true, "plan": true, "json": true, "update": true, "offline": true, "dry-run": true}
