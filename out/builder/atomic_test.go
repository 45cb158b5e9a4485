package builder

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bdebundle/bundle/compiler"
	"github.com/bdebundle/bundle/out/internal/outtest"
	"github.com/bdebundle/bundle/out/verify"
)

var allSteps = []string{StepStage, StepInputs, StepFiles, StepRepos, StepImages, StepTemplates, StepManifest, StepSync, StepArchive, StepProvenance, StepSwapDir, StepSwapArch, StepCleanup}

// bundleGen returns the generation recorded in a built bundle's rendered
// file, after checking that the bundle and archive verify.
func bundleGen(t *testing.T, outDir string) string {
	t.Helper()
	dir := filepath.Join(outDir, "mesos-site-2015.03.1")
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		return ""
	}
	mustVerify(t, dir, verify.Options{})
	mustVerify(t, dir+".tar.zst", verify.Options{})
	b, err := os.ReadFile(filepath.Join(dir, "clusters/mesos01/nodes/fast/etc/mesos-slave/attributes/rack"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b[3:])
}

func TestFaultAtEveryStepKeepsPreviousBundle(t *testing.T) {
	src := t.TempDir()
	outtest.WriteSite(t, src, time.Unix(1500000000, 0))
	outDir := t.TempDir()
	opts := testOptions(t)
	build := func(gen string, fault func(string) error) error {
		plan := outtest.CompileSite(t, src)
		outtest.AddExtras(t, plan, src, gen)
		o := opts
		o.Fault = fault
		_, err := checkBuild(context.Background(), plan, outDir, o)
		return err
	}
	if err := build("0", nil); err != nil {
		t.Fatal(err)
	}
	last := "0"
	for i, step := range allSteps {
		gen := strconv.Itoa(i + 1)
		injected := errors.New("injected fault")
		err := build(gen, func(s string) error {
			if s == step {
				return injected
			}
			return nil
		})
		if !errors.Is(err, injected) {
			t.Fatalf("step %s: err = %v", step, err)
		}
		got := bundleGen(t, outDir)
		if got != last && got != gen {
			t.Fatalf("after a fault at %s the bundle is generation %q, want %q or %q", step, got, last, gen)
		}
		last = got
		// The archive matches the directory generation or the previous one.
		if err := build(gen+"ok", nil); err != nil {
			t.Fatalf("build after fault at %s: %v", step, err)
		}
		if got := bundleGen(t, outDir); got != gen+"ok" {
			t.Fatalf("build after fault at %s gave generation %q", step, got)
		}
		last = gen + "ok"
		assertOnly(t, outDir, "mesos-site-2015.03.1", "mesos-site-2015.03.1.tar.zst", "mesos-site-2015.03.1.intoto.json", ".mesos-site-2015.03.1.lock")
	}
}

func TestCancelledBuildKeepsPreviousBundle(t *testing.T) {
	src := t.TempDir()
	outtest.WriteSite(t, src, time.Unix(1500000000, 0))
	outDir := t.TempDir()
	plan := outtest.CompileSite(t, src)
	outtest.AddExtras(t, plan, src, "1")
	if _, err := checkBuild(context.Background(), plan, outDir, testOptions(t)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	opts := testOptions(t)
	opts.Fault = func(s string) error {
		if s == StepManifest {
			cancel()
		}
		return nil
	}
	plan2 := outtest.CompileSite(t, src)
	outtest.AddExtras(t, plan2, src, "2")
	if _, err := checkBuild(ctx, plan2, outDir, opts); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
	if g := bundleGen(t, outDir); g != "1" {
		t.Fatalf("generation %q after a cancelled build", g)
	}
}

// helperPlan is the plan the killed subprocess builds: the test site plus
// one large input, so that the copy takes a while.
func helperPlan(t testing.TB, src, gen string) *compiler.Plan {
	plan := outtest.CompileSite(t, src)
	outtest.AddExtras(t, plan, src, gen)
	big := filepath.Join(src, "disks", "big.vmdk")
	if _, err := os.Stat(big); err != nil {
		if err := os.WriteFile(big, outtest.DetBytes("big", 24<<20), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	plan.Templates[0].Disks = append(plan.Templates[0].Disks, &compiler.Input{Src: big, Rel: "disks/big.vmdk", Dest: "ovf/mesos-node/big.vmdk", Size: 24 << 20})
	return plan
}

// TestHelperProcess is not a test: TestKilledBuild runs the test binary
// with -test.run=TestHelperProcess to get a build it can SIGKILL.
func TestHelperProcess(t *testing.T) {
	if os.Getenv("BUNDLE_OUT_HELPER") != "build" {
		return
	}
	src, outDir, gen := os.Getenv("BUNDLE_OUT_SRC"), os.Getenv("BUNDLE_OUT_DIR"), os.Getenv("BUNDLE_OUT_GEN")
	plan := helperPlan(t, src, gen)
	w := bufio.NewWriter(os.Stdout)
	opts := Options{BuilderVersion: "v0.0.0-test", NoCache: true, NoHardLinks: true, Templates: outtest.FakeTemplates{},
		Fault: func(step string) error {
			fmt.Fprintln(w, step)
			w.Flush()
			return nil
		}}
	if _, err := checkBuild(context.Background(), plan, outDir, opts); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Fprintln(w, "done")
	w.Flush()
	os.Exit(0)
}

func TestKilledBuild(t *testing.T) {
	src := t.TempDir()
	outtest.WriteSite(t, src, time.Unix(1500000000, 0))
	helperPlan(t, src, "0") // writes the large input once
	outDir := t.TempDir()
	rng := rand.New(rand.NewPCG(1, 2))
	last := ""
	advanced := 0
	for i := range 14 {
		gen := strconv.Itoa(i)
		killAt := allSteps[rng.IntN(len(allSteps))]
		delay := time.Duration(rng.IntN(40)) * time.Millisecond
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$")
		cmd.Env = append(os.Environ(), "BUNDLE_OUT_HELPER=build", "BUNDLE_OUT_SRC="+src, "BUNDLE_OUT_DIR="+outDir, "BUNDLE_OUT_GEN="+gen)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(stdout)
		killed := false
		for sc.Scan() {
			if sc.Text() == killAt {
				time.Sleep(delay)
				_ = cmd.Process.Signal(syscall.SIGKILL)
				killed = true
				break
			}
		}
		for sc.Scan() {
		}
		werr := cmd.Wait()
		if !killed {
			t.Fatalf("build %d never reached step %s: %v\n%s", i, killAt, werr, stderr.String())
		}
		got := bundleGen(t, outDir)
		if got != last && got != gen {
			t.Fatalf("kill %d at %s+%v: bundle generation %q, want %q or %q", i, killAt, delay, got, last, gen)
		}
		if werr == nil && got != gen {
			t.Fatalf("build %d finished before the kill but generation is %q", i, got)
		}
		if got != last {
			advanced++
		}
		t.Logf("kill %d at %s+%v (exit %v): generation %q", i, killAt, delay, werr, got)
		last = got
	}
	// Kills after the swap leave the new bundle: some build must have got there.
	if advanced == 0 {
		t.Fatal("no killed build ever replaced the bundle; the helper builds nothing")
	}
	// The next build cleans up and succeeds.
	plan := helperPlan(t, src, "final")
	if _, err := checkBuild(context.Background(), plan, outDir, testOptions(t)); err != nil {
		t.Fatal(err)
	}
	if g := bundleGen(t, outDir); g != "final" {
		t.Fatalf("generation %q after the final build", g)
	}
	assertOnly(t, outDir, "mesos-site-2015.03.1", "mesos-site-2015.03.1.tar.zst", "mesos-site-2015.03.1.intoto.json", ".mesos-site-2015.03.1.lock")
}

func TestConcurrentBuildIsRefused(t *testing.T) {
	src := t.TempDir()
	outtest.WriteSite(t, src, time.Unix(1500000000, 0))
	outDir := t.TempDir()
	unlock, err := lockBundle(outDir, "mesos-site-2015.03.1")
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	plan := outtest.CompileSite(t, src)
	_, err = checkBuild(context.Background(), plan, outDir, testOptions(t))
	if err == nil || !strings.Contains(err.Error(), "mesos-site-2015.03.1") || !strings.Contains(err.Error(), "running") {
		t.Fatalf("a second concurrent build: %v; want a refusal naming the bundle and the running build", err)
	}
}

func TestSwapFallbackRestoresAside(t *testing.T) {
	// A build killed between "rename old aside" and "rename new in" leaves
	// only the set-aside copy; the next build puts it back first.
	outDir := t.TempDir()
	aside := filepath.Join(outDir, ".b-1.old-42")
	if err := os.MkdirAll(aside, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(aside, "bundle.json"), []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := recoverLeftovers(outDir, "b-1"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(outDir, "b-1", "bundle.json")); err != nil {
		t.Fatal("the set-aside bundle was not restored")
	}
}
