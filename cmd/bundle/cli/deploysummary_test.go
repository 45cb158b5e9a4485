package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"

	"github.com/bdebundle/bundle/internal/progress"
	"github.com/bdebundle/bundle/out/vcenter"
	"github.com/bdebundle/bundle/pipeline"
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
  Cluster config: left out: no BDE server given (BDE_URL).
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

// TestDeployReportSteps: where a deploy stops decides each step's line and
// the command that finishes it.
func TestDeployReportSteps(t *testing.T) {
	plan := &vcenter.DeployPlan{Items: []vcenter.Item{
		{Kind: vcenter.KindFile, Action: vcenter.Create, Size: 10},
		{Kind: vcenter.KindFile, Action: vcenter.Create, Size: 20},
		{Kind: vcenter.KindFile, Action: vcenter.Leave, Size: 5},
		{Kind: vcenter.KindTemplate, Action: vcenter.Replace},
		{Kind: vcenter.KindImages, Action: vcenter.Create, Where: "registry reg.site:5000"},
		{Kind: vcenter.KindGuest, Action: vcenter.Create},
	}}
	rerun := []string{"bundle", "deploy", "dist/my site", "--registry", "reg.site:5000", "--datastore-path", "s"}
	for _, c := range []struct {
		name   string
		out    vcenter.Outcome
		err    error
		want   []string
		finish string
	}{
		{"files", vcenter.Outcome{Failed: vcenter.StepFiles, Uploads: 1, UploadBytes: 10, Unchanged: 1, UnchangedBytes: 5},
			errors.New(`uploading a to [ds] b: Post "https://vc/folder": dial tcp 10.0.0.1:443: i/o timeout`),
			[]string{"Files: 1 of 2 uploaded (10 B), 1 unchanged (5 B); stopped: i/o timeout.", "Templates: 0 of 1 imported, 0 unchanged.", "Images: not pushed.", "Management server: not copied.", "Cluster config: none to run."},
			"bundle deploy 'dist/my site' --registry reg.site:5000 --datastore-path s"},
		{"images over HTTP", vcenter.Outcome{Failed: vcenter.StepImages, Uploads: 2, UploadBytes: 30, Templates: 1, Registry: "reg.site:5000"},
			errors.New(`pushing images to reg.site:5000: Get "https://reg.site:5000/v2/": http: server gave HTTP response to HTTPS client`),
			[]string{"Files: 2 uploaded (30 B), 0 unchanged (0 B).", "Templates: 1 imported, 0 unchanged.", "Images: not pushed (reg.site:5000: server gave HTTP response to HTTPS client).", "Management server: not copied.", "Cluster config: none to run."},
			"bundle deploy 'dist/my site' --registry reg.site:5000 --datastore-path s --insecure-registry reg.site:5000"},
		{"images, no such host", vcenter.Outcome{Failed: vcenter.StepImages, Uploads: 2, UploadBytes: 30, Templates: 1, Registry: "reg.site:5000"},
			errors.New(`pushing images to reg.site:5000: Get "https://reg.site:5000/v2/": dial tcp: lookup reg.site on 10.0.0.2:53: no such host`),
			[]string{"Files: 2 uploaded (30 B), 0 unchanged (0 B).", "Images: not pushed (reg.site:5000: no such host)."},
			"bundle deploy 'dist/my site' --datastore-path s --registry HOST:PORT"},
		{"templates", vcenter.Outcome{Failed: vcenter.StepTemplates, Uploads: 2, UploadBytes: 30},
			errors.New("importing template mesos-node: 403 Forbidden"),
			[]string{"Templates: 0 of 1 imported, 0 unchanged; stopped: 403 Forbidden.", "Images: not pushed."},
			"bundle deploy 'dist/my site' --registry reg.site:5000 --datastore-path s"},
		{"management server", vcenter.Outcome{Failed: vcenter.StepGuest, Uploads: 2, UploadBytes: 30, Templates: 1, Registry: "reg.site:5000", Pushed: &vcenter.ImagesPushed{Images: 3, Bytes: 2048}},
			errors.New("copying into VM bde-mgmt: guest operations refused"),
			[]string{"Images: 3 images pushed to reg.site:5000 (2.0 KiB sent, 0 B already there).", "Management server: not copied (copying into VM bde-mgmt: guest operations refused)."},
			"bundle deploy 'dist/my site' --registry reg.site:5000 --datastore-path s"},
	} {
		t.Run(c.name, func(t *testing.T) {
			out := c.out
			out.Bundle, out.Version, out.Plan = "mesos-site", "2015.03.1", plan
			r := newDeployReport(&pipeline.DeployResult{Outcome: &out}, c.err, rerun)
			var b strings.Builder
			r.writeStopped(&b)
			for _, w := range c.want {
				if !strings.Contains(b.String(), "  "+w) {
					t.Errorf("no line %q in\n%s", w, b.String())
				}
			}
			if !strings.Contains(b.String(), "Finish with: "+c.finish+"\n") {
				t.Errorf("want finish %q in\n%s", c.finish, b.String())
			}
		})
	}
}
