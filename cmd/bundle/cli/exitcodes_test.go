package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bdebundle/bundle/internal/testutil"
)

// TestMissingPathSameExitCode: a path argument that names nothing is the
// same fault in every verb, with the same exit code (1).
func TestMissingPathSameExitCode(t *testing.T) {
	nx := filepath.Join(t.TempDir(), "missing")
	for _, args := range [][]string{
		{"validate", nx}, {"build", nx, "--plan"}, {"fmt", nx}, {"lock", nx},
		{"verify", nx}, {"inspect", nx}, {"diff", nx, nx}, {"images", "list", nx},
		{"deploy", nx, "--dry-run"},
	} {
		if code, _, errs := run(t, args...); code != ExitUser {
			t.Errorf("%v: exit %d, want %d\n%s", args, code, ExitUser, errs)
		}
	}
}

// TestExitCodesPerFault: each fault class, given to every verb it applies
// to, exits with the code README documents (0 ok, 1 user error:
// diagnostics and failed verification, 2 usage, 3 environment and any
// interrupted command) — the same code for the same fault in every verb.
func TestExitCodesPerFault(t *testing.T) {
	site := exampleSite(t)
	dist := filepath.Join(t.TempDir(), "dist")
	if code, stdout, stderr := run(t, "build", site, "-o", dist, "-q"); code != 0 {
		t.Fatalf("build: exit %d\n%s%s", code, stdout, stderr)
	}
	bdir := filepath.Join(dist, "mesos-site-2015.03.1")
	archive := bdir + ".tar.zst"
	rpms := filepath.Join(site, "rpms", "mesos-0.22.0")

	tmp := t.TempDir()
	// A definition with an error of its own, and one that does not parse.
	badDef := filepath.Join(tmp, "baddef")
	copyTree(t, site, badDef)
	editFile(t, badDef, "site.hcl", `roles           = ["mesos_slave", "mesos_docker"]`, `roles           = ["mesos_slave", "mesos_dokcer"]`)
	noParse := filepath.Join(tmp, "noparse")
	copyTree(t, site, noParse)
	editFile(t, noParse, "site.hcl", `vcenter "site" {`, `vcenter "site" {{`)
	// A FIFO where a file or directory is meant.
	fifo := filepath.Join(tmp, "fifo")
	testutil.Mkfifo(t, fifo)
	// A bundle directory whose bundle.json is no JSON, and one with a file
	// that does not match its hash.
	badJSON := filepath.Join(tmp, "badjson")
	copyTree(t, bdir, badJSON)
	if err := os.WriteFile(filepath.Join(badJSON, "bundle.json"), []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	tampered := filepath.Join(tmp, "tampered")
	copyTree(t, bdir, tampered)
	editFile(t, tampered, "clusters/mesos01/haproxy/haproxy.cfg", "global", "glubal")
	// A truncated archive and a file that is no archive at all.
	truncated := filepath.Join(tmp, "truncated.tar.zst")
	b, err := os.ReadFile(archive)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(truncated, b[:len(b)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	notArchive := filepath.Join(tmp, "garbage.tar.zst")
	if err := os.WriteFile(notArchive, bytes.Repeat([]byte("not an archive\n"), 100), 0o644); err != nil {
		t.Fatal(err)
	}
	// A directory of RPMs with a truncated one.
	badRPMs := filepath.Join(tmp, "badrpms")
	copyTree(t, rpms, badRPMs)
	p := filepath.Join(badRPMs, "mesos-0.22.0-1.0.centos65.x86_64.rpm")
	if err := os.Truncate(p, 2000); err != nil {
		t.Fatal(err)
	}
	closed := "127.0.0.1:1" // nothing listens: the network fails
	// deploy reaches vCenter only after verifying the bundle: the faults
	// of the bundle come first.
	t.Setenv("GOVC_URL", "https://"+closed+"/sdk")
	t.Setenv("GOVC_USERNAME", "u")
	t.Setenv("GOVC_PASSWORD", "p")

	type verb struct {
		name string
		args func(in string) []string // the verb given the faulty input
	}
	defVerbs := []verb{
		{"validate", func(in string) []string { return []string{"validate", in} }},
		{"build --plan", func(in string) []string { return []string{"build", in, "--plan"} }},
		{"build", func(in string) []string {
			return []string{"build", in, "-o", filepath.Join(t.TempDir(), "d"), "-q", "--offline"}
		}},
		{"lock", func(in string) []string { return []string{"lock", in} }},
	}
	bundleVerbs := []verb{
		{"verify", func(in string) []string { return []string{"verify", in} }},
		{"inspect", func(in string) []string { return []string{"inspect", in} }},
		{"diff", func(in string) []string { return []string{"diff", bdir, in} }},
		{"deploy --dry-run", func(in string) []string { return []string{"deploy", in, "--dry-run"} }},
		{"images push", func(in string) []string { return []string{"images", "push", in, "--registry", closed} }},
		{"images list", func(in string) []string { return []string{"images", "list", in} }},
	}
	keyVerbs := []verb{
		{"verify --key", func(in string) []string { return []string{"verify", archive, "--key", in} }},
		{"deploy --key", func(in string) []string { return []string{"deploy", archive, "--dry-run", "--key", in} }},
		{"images push --key", func(in string) []string {
			return []string{"images", "push", archive, "--key", in, "--registry", closed}
		}},
		{"build --sign-key", func(in string) []string {
			return []string{"build", site, "-o", filepath.Join(t.TempDir(), "d"), "-q", "--offline", "--sign-key", in}
		}},
		{"repo index --sign-key", func(in string) []string {
			d := filepath.Join(t.TempDir(), "rpms")
			copyTree(t, rpms, d)
			return []string{"repo", "index", d, "--sign-key", in}
		}},
	}
	repoVerb := verb{"repo index", func(in string) []string {
		return []string{"repo", "index", in}
	}}
	cases := []struct {
		fault string
		in    string
		verbs []verb
		want  int
	}{
		{"definition error", badDef, defVerbs, ExitUser},
		{"definition that does not parse", noParse, append(defVerbs, verb{"fmt", func(in string) []string { return []string{"fmt", "-check", in} }}), ExitUser},
		{"FIFO as the definition", fifo, append(defVerbs, verb{"fmt", func(in string) []string { return []string{"fmt", in} }}), ExitUser},
		{"FIFO as the bundle", fifo, bundleVerbs, ExitUser},
		{"FIFO as the RPM directory", fifo, []verb{repoVerb}, ExitUser},
		{"bundle.json that is no JSON", badJSON, bundleVerbs, ExitUser},
		{"file not matching its hash", tampered, []verb{bundleVerbs[0], bundleVerbs[3], bundleVerbs[4]}, ExitUser},
		{"truncated archive", truncated, bundleVerbs, ExitUser},
		{"file that is no archive", notArchive, bundleVerbs, ExitUser},
		{"directory with a corrupt RPM", badRPMs, []verb{repoVerb}, ExitUser},
		{"key file that is missing", filepath.Join(tmp, "missing.asc"), keyVerbs, ExitUser},
		{"key file that is a FIFO", fifo, keyVerbs, ExitUser},
		{"key file that is no key", notArchive, keyVerbs, ExitUser},
		{"unknown flag", site, []verb{
			{"validate", func(in string) []string { return []string{"validate", in, "--nope"} }},
			{"build", func(in string) []string { return []string{"build", in, "--nope"} }},
			{"lock", func(in string) []string { return []string{"lock", in, "--nope"} }},
			{"fmt", func(in string) []string { return []string{"fmt", in, "--nope"} }},
			{"verify", func(string) []string { return []string{"verify", archive, "--nope"} }},
			{"inspect", func(string) []string { return []string{"inspect", archive, "--nope"} }},
			{"diff", func(string) []string { return []string{"diff", archive, archive, "--nope"} }},
			{"deploy", func(string) []string { return []string{"deploy", archive, "--nope"} }},
			{"images push", func(string) []string { return []string{"images", "push", archive, "--nope"} }},
			{"images list", func(string) []string { return []string{"images", "list", archive, "--nope"} }},
			{"repo index", func(string) []string { return []string{"repo", "index", rpms, "--nope"} }},
		}, ExitUsage},
		{"wrong number of arguments", site, []verb{
			{"validate", func(in string) []string { return []string{"validate", in, in} }},
			{"build", func(in string) []string { return []string{"build", in, in} }},
			{"lock", func(in string) []string { return []string{"lock", in, in} }},
			{"verify", func(string) []string { return []string{"verify"} }},
			{"inspect", func(string) []string { return []string{"inspect", archive, archive} }},
			{"diff", func(string) []string { return []string{"diff", archive} }},
			{"deploy", func(string) []string { return []string{"deploy"} }},
			{"images push", func(string) []string { return []string{"images", "push"} }},
			{"images list", func(string) []string { return []string{"images", "list"} }},
			{"repo index", func(string) []string { return []string{"repo", "index"} }},
			{"unknown verb", func(string) []string { return []string{"bild", site} }},
		}, ExitUsage},
		{"bad flag value", site, []verb{
			{"build --format", func(in string) []string {
				return []string{"build", in, "--format", "zip", "-o", filepath.Join(t.TempDir(), "d")}
			}},
			{"repo index --workers", func(string) []string { return []string{"repo", "index", rpms, "--workers", "many"} }},
		}, ExitUsage},
		{"network unreachable", archive, []verb{
			{"images push", func(in string) []string { return []string{"images", "push", in, "--registry", closed} }},
			{"deploy --dry-run", func(in string) []string { return []string{"deploy", in, "--dry-run"} }},
		}, ExitEnv},
	}
	for _, tc := range cases {
		t.Run(tc.fault, func(t *testing.T) {
			for _, v := range tc.verbs {
				args := v.args(tc.in)
				if code, stdout, stderr := run(t, args...); code != tc.want {
					t.Errorf("%s: exit %d, want %d\nbundle %s\nstdout: %.2000s\nstderr: %.2000s", v.name, code, tc.want, strings.Join(args, " "), stdout, stderr)
				}
			}
		})
	}

	// deploy without vCenter to talk to is a usage error, as a missing
	// required flag is.
	t.Run("deploy without GOVC_URL", func(t *testing.T) {
		t.Setenv("GOVC_URL", "")
		if code, stdout, stderr := run(t, "deploy", archive, "--dry-run"); code != ExitUsage {
			t.Errorf("exit %d, want %d\n%s%s", code, ExitUsage, stdout, stderr)
		}
	})

	// Interrupted: a command whose context is cancelled (SIGINT, SIGTERM)
	// exits 3 in every verb, whatever it was given.
	t.Run("interrupted", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		for _, args := range [][]string{
			{"validate", site}, {"build", site, "--plan"}, {"build", site, "-o", filepath.Join(t.TempDir(), "d"), "-q"},
			{"lock", site}, {"fmt", "-check", site}, {"verify", archive}, {"inspect", archive}, {"diff", archive, bdir},
			{"deploy", archive, "--dry-run"}, {"images", "push", archive, "--registry", closed}, {"images", "list", archive},
			{"repo", "index", filepath.Join(tmp, "rpms-index")},
		} {
			if args[0] == "repo" {
				copyTree(t, rpms, args[2])
			}
			var out, errb bytes.Buffer
			code := Execute(ctx, args, Streams{In: strings.NewReader(""), Out: &out, Err: &errb})
			if code != ExitEnv || !strings.Contains(errb.String(), "interrupted") {
				t.Errorf("bundle %s, interrupted: exit %d, want %d saying interrupted\nstdout: %.1000s\nstderr: %.1000s", strings.Join(args, " "), code, ExitEnv, out.String(), errb.String())
			}
		}
	})
}

// copyTree copies the regular files and directories under src to dst.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, e os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		to := filepath.Join(dst, rel)
		if e.IsDir() {
			return os.MkdirAll(to, 0o755)
		}
		if !e.Type().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		fi, err := e.Info()
		if err != nil {
			return err
		}
		return os.WriteFile(to, b, fi.Mode().Perm())
	})
	if err != nil {
		t.Fatal(err)
	}
}
