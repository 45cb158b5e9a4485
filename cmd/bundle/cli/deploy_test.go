package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bdebundle/bundle/compiler"
	"github.com/bdebundle/bundle/out"

	"github.com/vmware/govmomi/simulator"
	_ "github.com/vmware/govmomi/vapi/simulator"
)

// writeDeployBundle writes a small bundle directory with a serengeti/ tree.
func writeDeployBundle(t *testing.T) string {
	t.Helper()
	plan := &compiler.Plan{Name: "mesos-site", Version: "2015.03.1", Epoch: 1426032000, DefinitionDigest: strings.Repeat("0", 64),
		Files: []*compiler.File{
			{Path: "serengeti/www/distros/manifest", Mode: 0o644, Data: []byte("[]\n")},
			{Path: "serengeti/www/specs/map", Mode: 0o644, Data: []byte("[]\n")},
			{Path: "serengeti/www/yum/mesos.repo", Mode: 0o644, Data: []byte("[mesos]\nname=mesos\n")},
		},
		Targets: []*compiler.Target{{Name: "site", Datacenter: "DC1", Datastore: "vsanDatastore"}},
	}
	res, err := out.Build(context.Background(), plan, t.TempDir(), out.BuildOptions{NoArchive: true, NoCache: true})
	if err != nil {
		t.Fatal(err)
	}
	return res.Dir
}

func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Execute(context.Background(), args, Streams{In: strings.NewReader(""), Out: &out, Err: &errb})
	return code, out.String(), errb.String()
}

func startSim(t *testing.T) {
	t.Helper()
	m := simulator.VPX()
	if err := m.Create(); err != nil {
		t.Fatal(err)
	}
	m.Service.RegisterEndpoints = true
	m.Service.Listen = &url.URL{Host: "127.0.0.1:0", User: url.UserPassword("deployer", "cli-s3cret")}
	srv := m.Service.NewServer()
	t.Cleanup(func() { srv.Close(); m.Remove() })
	t.Setenv("GOVC_URL", srv.URL.String())
	t.Setenv("GOVC_INSECURE", "true")
	t.Setenv("GOVC_DATACENTER", "DC0")
	t.Setenv("GOVC_DATASTORE", "LocalDS_0")
}

func TestDeployCommand(t *testing.T) {
	dir := writeDeployBundle(t)

	t.Run("no GOVC_URL is a usage error", func(t *testing.T) {
		t.Setenv("GOVC_URL", "")
		code, _, stderr := runCLI(t, "deploy", dir, "--dry-run")
		if code != ExitUsage || !strings.Contains(stderr, "GOVC_URL is not set") {
			t.Fatalf("exit %d: %s", code, stderr)
		}
	})
	t.Run("an archive asks for the directory", func(t *testing.T) {
		ar := filepath.Join(t.TempDir(), "mesos-site-2015.03.1.tar.zst")
		if err := os.WriteFile(ar, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
		code, _, stderr := runCLI(t, "deploy", ar)
		if code != ExitUsage || !strings.Contains(stderr, "extracted bundle directory") {
			t.Fatalf("exit %d: %s", code, stderr)
		}
	})

	startSim(t)
	code, stdout, stderr := runCLI(t, "deploy", dir, "--dry-run", "--datastore-path", "cli")
	if code != ExitOK || !strings.Contains(stdout, "Plan: 3 to create") || !strings.Contains(stdout, "Dry run") {
		t.Fatalf("dry run exit %d:\n%s\n%s", code, stdout, stderr)
	}
	code, stdout, stderr = runCLI(t, "deploy", dir, "--json", "--datastore-path", "cli")
	if code != ExitOK {
		t.Fatalf("deploy exit %d: %s", code, stderr)
	}
	var events []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(stdout), "\n") {
		var e map[string]any
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("not a JSON line: %q", line)
		}
		events = append(events, e)
	}
	count := map[string]int{}
	for _, e := range events {
		count[e["event"].(string)]++
	}
	if count["plan"] != 3 || count["done"] != 3 || count["summary"] != 1 {
		t.Fatalf("events %v", count)
	}
	code, stdout, _ = runCLI(t, "deploy", dir, "--datastore-path", "cli")
	if code != ExitOK || !strings.Contains(stdout, "No changes. The site matches bundle mesos-site 2015.03.1.") {
		t.Fatalf("re-deploy exit %d:\n%s", code, stdout)
	}
	if strings.Contains(stdout+stderr, "cli-s3cret") {
		t.Fatal("output shows the password")
	}

	code, _, stderr = runCLI(t, "deploy", dir, "--datastore", "vsanDatastore")
	if code != ExitEnv || !strings.Contains(stderr, `finding datastore "vsanDatastore"`) {
		t.Fatalf("missing datastore exit %d: %s", code, stderr)
	}
	if err := os.WriteFile(filepath.Join(dir, "serengeti/www/specs/map"), []byte("[1]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr = runCLI(t, "deploy", dir)
	if code != ExitUser || !strings.Contains(stderr, "does not verify") {
		t.Fatalf("tampered exit %d: %s", code, stderr)
	}
}
