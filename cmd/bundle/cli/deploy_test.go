package cli

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bdebundle/bundle/compiler"
	"github.com/bdebundle/bundle/internal/testutil"
	"github.com/bdebundle/bundle/out/builder"
	"github.com/bdebundle/bundle/out/verify"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/vmware/govmomi/simulator"
	_ "github.com/vmware/govmomi/vapi/simulator"
)

// writeDeployBundle writes a small bundle directory with a serengeti/ tree.
func writeDeployBundle(t *testing.T) string {
	t.Helper()
	return buildDeployBundle(t, builder.Options{NoArchive: true, NoCache: true}).Dir
}

// buildDeployBundle builds the small deploy bundle with opts.
func buildDeployBundle(t *testing.T, opts builder.Options) *builder.Result {
	t.Helper()
	plan := &compiler.Plan{Name: "mesos-site", Version: "2015.03.1", Epoch: 1426032000, DefinitionDigest: strings.Repeat("0", 64),
		Files: []*compiler.File{
			{Path: "serengeti/www/distros/manifest", Mode: 0o644, Data: []byte("[]\n")},
			{Path: "serengeti/www/specs/map", Mode: 0o644, Data: []byte("[]\n")},
			{Path: "serengeti/www/yum/mesos.repo", Mode: 0o644, Data: []byte("[mesos]\nname=mesos\n")},
		},
		Targets: []*compiler.Target{{Name: "site", Datacenter: "DC1", Datastore: "vsanDatastore"}},
	}
	res, err := builder.Build(context.Background(), mustCheck(t, plan), t.TempDir(), opts)
	if err != nil {
		t.Fatal(err)
	}
	return res
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
		code, _, stderr := run(t, "deploy", dir, "--dry-run")
		if code != ExitUsage || !strings.Contains(stderr, "GOVC_URL is not set") {
			t.Fatalf("exit %d: %s", code, stderr)
		}
	})

	startSim(t)
	code, stdout, stderr := run(t, "deploy", dir, "--dry-run", "--datastore-path", "cli")
	if code != ExitOK || !strings.Contains(stdout, "Plan: 3 to create") || !strings.Contains(stdout, "Dry run") {
		t.Fatalf("dry run exit %d:\n%s\n%s", code, stdout, stderr)
	}
	code, stdout, stderr = run(t, "deploy", dir, "--json", "--datastore-path", "cli")
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
	code, stdout, _ = run(t, "deploy", dir, "--datastore-path", "cli")
	if code != ExitOK || !strings.Contains(stdout, "No changes. The site matches bundle mesos-site 2015.03.1.") {
		t.Fatalf("re-deploy exit %d:\n%s", code, stdout)
	}
	if strings.Contains(stdout+stderr, "cli-s3cret") {
		t.Fatal("output shows the password")
	}

	code, _, stderr = run(t, "deploy", dir, "--datastore", "vsanDatastore")
	if code != ExitEnv || !strings.Contains(stderr, `finding datastore "vsanDatastore"`) {
		t.Fatalf("missing datastore exit %d: %s", code, stderr)
	}
	if err := os.WriteFile(filepath.Join(dir, "serengeti/www/specs/map"), []byte("[1]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr = run(t, "deploy", dir)
	if code != ExitUser || !strings.Contains(stderr, "does not verify") {
		t.Fatalf("tampered exit %d: %s", code, stderr)
	}
}

// rewriteZst decompresses a .tar.zst, lets edit change the tar and writes
// the result compressed to dir/name.
func rewriteZst(t *testing.T, src, dir, name string, edit func(tarData []byte) []byte) string {
	t.Helper()
	f, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := zstd.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	data, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	data = edit(data)
	zw, err := zstd.NewWriter(nil)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, zw.EncodeAll(data, nil), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// dirEntries lists the names in dir.
func dirEntries(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

func TestDeployArchive(t *testing.T) {
	secret, public := testutil.KeyPair(t, "Release")
	keyFile := filepath.Join(t.TempDir(), "release.pub.asc")
	if err := os.WriteFile(keyFile, public, 0o644); err != nil {
		t.Fatal(err)
	}
	signed := buildDeployBundle(t, builder.Options{NoCache: true, SignKey: secret})
	unsigned := buildDeployBundle(t, builder.Options{NoCache: true})
	if !strings.HasSuffix(signed.Archive, ".tar.zst") {
		t.Fatalf("archive %s", signed.Archive)
	}
	bad := t.TempDir()
	// Same size, other content: only the hashes can tell.
	tampered := rewriteZst(t, signed.Archive, bad, "mesos-site-2015.03.1.tar.zst", func(b []byte) []byte {
		i := bytes.Index(b, []byte("mesos-site-2015.03.1/serengeti/www/specs/map"))
		if i < 0 || b[i+512] != '[' {
			t.Fatal("specs/map entry not found")
		}
		b[i+512+1] = '7'
		return b
	})
	var evil bytes.Buffer
	zw := gzip.NewWriter(&evil)
	tw := tar.NewWriter(zw)
	tw.WriteHeader(&tar.Header{Name: "mesos-site-2015.03.1/", Typeflag: tar.TypeDir, Mode: 0o755})
	tw.WriteHeader(&tar.Header{Name: "mesos-site-2015.03.1/../../escaped", Typeflag: tar.TypeReg, Mode: 0o644, Size: 2})
	tw.Write([]byte("x\n"))
	tw.Close()
	zw.Close()
	unsafe := filepath.Join(bad, "unsafe.tar.gz")
	if err := os.WriteFile(unsafe, evil.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	notArchive := filepath.Join(bad, "x.tar.zst")
	if err := os.WriteFile(notArchive, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	truncated := filepath.Join(bad, "truncated.tar.zst")
	data, err := os.ReadFile(signed.Archive)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(truncated, data[:len(data)/2], 0o644); err != nil {
		t.Fatal(err)
	}

	startSim(t)
	refusals := []struct {
		name string
		args []string
		want string
	}{
		{"tampered archive", []string{tampered}, "sha256 is"},
		{"unsafe archive", []string{unsafe}, "refused archive entry"},
		{"not an archive", []string{notArchive}, "reading archive"},
		{"truncated archive", []string{truncated}, "reading archive"},
		{"unsigned archive with a key", []string{unsigned.Archive, "--key", keyFile}, "the bundle is not signed"},
		{"unsigned directory with a key", []string{unsigned.Dir, "--key", keyFile}, "the bundle is not signed"},
	}
	for _, c := range refusals {
		t.Run(c.name, func(t *testing.T) {
			work := t.TempDir()
			args := append([]string{"deploy", "--work-dir", work, "--datastore-path", "refused"}, c.args...)
			code, stdout, stderr := run(t, args...)
			if code != ExitUser || !strings.Contains(stderr, "does not verify") || !strings.Contains(stderr, c.want) {
				t.Fatalf("exit %d, want 1 with %q:\n%s\n%s", code, c.want, stdout, stderr)
			}
			if strings.Contains(stdout, "Plan:") {
				t.Fatalf("planned a deploy of a bad bundle:\n%s", stdout)
			}
			if left := dirEntries(t, work); len(left) > 0 {
				t.Fatalf("left in the work dir: %v", left)
			}
		})
	}
	for _, p := range []string{filepath.Join(bad, "escaped"), filepath.Join(filepath.Dir(bad), "escaped")} {
		if _, err := os.Lstat(p); err == nil {
			t.Fatalf("%s was written", p)
		}
	}
	// Nothing reached the datastore: the plan still creates every file.
	code, stdout, stderr := run(t, "deploy", signed.Dir, "--dry-run", "--datastore-path", "refused")
	if code != ExitOK || !strings.Contains(stdout, "Plan: 3 to create, 0 to update, 0 to replace, 0 to delete") {
		t.Fatalf("after the refusals exit %d:\n%s\n%s", code, stdout, stderr)
	}

	work := t.TempDir()
	code, stdout, stderr = run(t, "deploy", signed.Archive, "--key", keyFile, "--work-dir", work, "--datastore-path", "arch")
	if code != ExitOK || !strings.Contains(stdout, "Plan: 3 to create") || !strings.Contains(stdout, "Deployed bundle mesos-site 2015.03.1: 3 files uploaded") {
		t.Fatalf("deploy of the archive exit %d:\n%s\n%s", code, stdout, stderr)
	}
	if left := dirEntries(t, work); len(left) > 0 {
		t.Fatalf("left in the work dir: %v", left)
	}
	// The deployed tree is the bundle's: deploying the directory changes nothing.
	code, stdout, stderr = run(t, "deploy", signed.Dir, "--key", keyFile, "--datastore-path", "arch")
	if code != ExitOK || !strings.Contains(stdout, "No changes. The site matches bundle mesos-site 2015.03.1.") {
		t.Fatalf("re-deploy of the directory exit %d:\n%s\n%s", code, stdout, stderr)
	}

	code, stdout, stderr = run(t, "deploy", signed.Archive, "--work-dir", work, "--datastore-path", "arch", "--keep-extracted")
	if code != ExitOK || !strings.Contains(stdout, "No changes.") || !strings.Contains(stderr, "The extracted bundle is kept in "+work) {
		t.Fatalf("re-deploy of the archive exit %d:\n%s\n%s", code, stdout, stderr)
	}
	kept, err := filepath.Glob(filepath.Join(work, "bundle-deploy-*", "mesos-site-2015.03.1"))
	if err != nil || len(kept) != 1 {
		t.Fatalf("kept bundle: %v %v", kept, err)
	}
	r, err := verify.Verify(context.Background(), kept[0], verify.Options{Key: public})
	if err != nil || !r.OK() || r.SignedBy == "" {
		t.Fatalf("kept bundle does not verify: %v %+v", err, r)
	}
}

// mustCheck returns plan checked by the builder, failing the test if it is refused.
func mustCheck(t *testing.T, plan *compiler.Plan) *builder.Checked {
	t.Helper()
	checked, err := builder.Check(plan)
	if err != nil {
		t.Fatal(err)
	}
	return checked
}
