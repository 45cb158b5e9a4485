package cli

import (
	"encoding/json"
	"fmt"
	"net"
	"strings"
	"testing"

	"github.com/bdebundle/bundle/internal/progress"
)

// planCounts sums a dry run's plan: the files and templates to create and
// the files' bytes.
func planCounts(t *testing.T, args ...string) (files int, fileBytes int64, templates int) {
	t.Helper()
	items, _ := planEvents(t, args...)
	for _, it := range items {
		if it["action"] == "leave" || it["action"] == "delete" {
			continue
		}
		switch it["kind"] {
		case "file":
			files++
			fileBytes += int64(it["size"].(float64))
		case "template":
			templates++
		}
	}
	return files, fileBytes, templates
}

// lastResult is the "result" event of a --json deploy.
func lastResult(t *testing.T, stdout string) map[string]any {
	t.Helper()
	var res map[string]any
	for _, line := range strings.Split(strings.TrimSpace(stdout), "\n") {
		var e map[string]any
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("not a JSON line: %q", line)
		}
		if e["event"] == "result" {
			res = e
		}
	}
	if res == nil {
		t.Fatalf("no result event:\n%s", stdout)
	}
	return res
}

// TestDeploySummaryRegistryUnreachable: the example bundle whose site
// registry does not answer uploads its files and templates, then stops at
// the images with exit 3, saying what is done, what is not and the command
// that finishes; that command, with a registry that answers, finishes and
// its summary counts what it skipped and pushed.
func TestDeploySummaryRegistryUnreachable(t *testing.T) {
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := l.Addr().String()
	l.Close()
	bundleDir, _ := buildImagesSite(t, imagesSite(t, down, ""))
	startSim(t)
	t.Setenv("GOVC_RESOURCE_POOL", "DC0_C0/Resources")
	t.Setenv("GOVC_NETWORK", "VM Network")
	t.Setenv("GOVC_FOLDER", "vm")
	files, fileBytes, templates := planCounts(t, bundleDir, "--datastore-path", "img")
	if files == 0 || templates == 0 {
		t.Fatalf("plan: %d files, %d templates", files, templates)
	}

	code, stdout, stderr := run(t, "deploy", bundleDir, "--datastore-path", "img")
	if code != ExitEnv {
		t.Fatalf("exit %d, want %d\n%s%s", code, ExitEnv, stdout, stderr)
	}
	want := fmt.Sprintf(`Deploy of bundle mesos-site 2015.03.1 stopped.
  Files: %d uploaded (%s), 0 unchanged (0 B).
  Templates: %d imported, 0 unchanged.
  Images: not pushed (%s: connection refused).
  Cluster config: left out: no BDE server given (--bde-url or BUNDLE_BDE_URL).
Finish with: bundle deploy %s --datastore-path img --registry HOST:PORT
  (HOST:PORT is a registry this machine reaches that serves the site's images; add --insecure-registry HOST:PORT if it speaks plain HTTP; once the site registry answers, the command without --registry finishes too)
Error: `, files, progress.Bytes(fileBytes), templates, down, bundleDir)
	if !strings.Contains(stderr, "\n\n"+want) {
		t.Fatalf("stderr\n%s\nwant it to hold\n%s", stderr, want)
	}

	finish := strings.TrimPrefix(strings.Split(want, "\n")[5], "Finish with: ")

	// The same facts as fields.
	code, stdout, stderr = run(t, "deploy", bundleDir, "--datastore-path", "img", "--json")
	if code != ExitEnv {
		t.Fatalf("--json: exit %d\n%s%s", code, stdout, stderr)
	}
	res := lastResult(t, stdout)
	steps := res["steps"].([]any)
	states := map[string]string{}
	for _, s := range steps {
		m := s.(map[string]any)
		states[m["step"].(string)] = m["state"].(string)
		if m["step"] == "files" && (m["done"].(float64) != 0 || int(m["skipped"].(float64)) != files) {
			t.Errorf("files step of the second run: %v", m)
		}
		if m["step"] == "images" && m["reason"] != down+": connection refused" {
			t.Errorf("images step: %v", m)
		}
	}
	if res["ok"] != false || states["files"] != "nothing_to_do" || states["templates"] != "nothing_to_do" || states["images"] != "failed" || states["cluster_config"] != "left_out" {
		t.Errorf("result: %v", res)
	}
	if f := res["finish"]; f != "bundle deploy "+bundleDir+" --datastore-path img --json --registry HOST:PORT" {
		t.Errorf("finish %q", f)
	}

	// The command given, with a registry that answers, finishes.
	reg := startDockerRegistry(t, "", "")
	args := strings.Fields(strings.Replace(finish, "HOST:PORT", reg, 1))
	if args[0] != "bundle" {
		t.Fatalf("finish %q", finish)
	}
	code, stdout, stderr = run(t, args[1:]...)
	if code != ExitOK {
		t.Fatalf("finish: exit %d\n%s%s", code, stdout, stderr)
	}
	images := len(readManifestFile(t, bundleDir).Images)
	wantLine := fmt.Sprintf("\nDeployed bundle mesos-site 2015.03.1: 0 files uploaded (0 B), %d skipped as unchanged (%s), %s unchanged, %s pushed to %s (", files, progress.Bytes(fileBytes), plural(templates, "template"), plural(images, "image"), reg)
	if !strings.Contains(stdout, wantLine) || !strings.HasSuffix(stdout, " already there).\n") {
		t.Fatalf("summary\n%s\nwant\n%s", stdout, wantLine)
	}
	if strings.Contains(stdout, "(0 B sent") {
		t.Errorf("no image bytes sent to an empty registry:\n%s", stdout)
	}
}
