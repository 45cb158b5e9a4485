//go:build unix

package cli

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestHostileFiles: a FIFO, device or directory where a regular file is
// meant, oversized files and deep nesting are refused promptly with the
// file named; nothing hangs or crashes.
func TestHostileFiles(t *testing.T) {
	fifo := func(t *testing.T, p string) {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := syscall.Mkfifo(p, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	big := func(t *testing.T, p string, size int64) {
		if err := os.WriteFile(p, []byte("x = 1\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Truncate(p, size); err != nil {
			t.Fatal(err)
		}
	}
	rpmName := "mesos-0.22.0-1.0.centos65.x86_64.rpm"
	cases := []struct {
		name    string
		site    string // definition text (default baseSite)
		prepare func(t *testing.T, dir string)
		args    func(dir string) []string
		code    int
		want    string // in stderr
	}{
		{name: "FIFO definition file", prepare: func(t *testing.T, d string) { fifo(t, filepath.Join(d, "more.hcl")) },
			args: func(d string) []string { return []string{"validate", d} }, code: ExitUser, want: "named pipe"},
		{name: "FIFO definition given as the path", prepare: func(t *testing.T, d string) { fifo(t, filepath.Join(d, "p.hcl")) },
			args: func(d string) []string { return []string{"validate", filepath.Join(d, "p.hcl")} }, code: ExitUser, want: "named pipe"},
		{name: "FIFO var file", prepare: func(t *testing.T, d string) { fifo(t, filepath.Join(d, "x.vars.hcl")) },
			args: func(d string) []string { return []string{"validate", d, "--var-file", filepath.Join(d, "x.vars.hcl")} }, code: ExitUser, want: "named pipe"},
		{name: "FIFO signing key", prepare: func(t *testing.T, d string) { fifo(t, filepath.Join(d, "key.asc")) },
			args: func(d string) []string {
				return []string{"build", d, "-o", filepath.Join(d, "dist"), "--sign-key", filepath.Join(d, "key.asc")}
			}, code: ExitUser, want: "named pipe"},
		{name: "device as signing key", args: func(d string) []string {
			return []string{"build", d, "-o", filepath.Join(d, "dist"), "--sign-key", "/dev/zero"}
		}, code: ExitUser, want: "character device"},
		{name: "FIFO verify key", prepare: func(t *testing.T, d string) { fifo(t, filepath.Join(d, "key.asc")) },
			args: func(d string) []string { return []string{"verify", d, "--key", filepath.Join(d, "key.asc")} }, code: ExitUser, want: "named pipe"},
		{name: "FIFO among the RPMs", prepare: func(t *testing.T, d string) { fifo(t, filepath.Join(d, "rpms", "evil-1-1.noarch.rpm")) },
			args: func(d string) []string { return []string{"validate", d} }, code: ExitUser, want: "named pipe"},
		{name: "FIFO as a GPG key", site: strings.Replace(baseSite, `packages = ["rpms"]`, `packages = ["rpms"]`+"\n  gpg_keys = [\"k.asc\"]", 1),
			prepare: func(t *testing.T, d string) { fifo(t, filepath.Join(d, "k.asc")) },
			args:    func(d string) []string { return []string{"validate", d} }, code: ExitUser, want: "named pipe"},
		{name: "FIFO as a manifest", site: baseSite + "\nupgrade {\n  manifest = \"m\"\n}\n",
			prepare: func(t *testing.T, d string) { fifo(t, filepath.Join(d, "m")) },
			args:    func(d string) []string { return []string{"build", d, "--plan"} }, code: ExitUser, want: "named pipe"},
		{name: "FIFO as a docker archive", site: baseSite + "\nimage \"x\" {\n  ref = \"docker-archive:x.tar\"\n}\n",
			prepare: func(t *testing.T, d string) { fifo(t, filepath.Join(d, "x.tar")) },
			args:    func(d string) []string { return []string{"validate", d} }, code: ExitUser, want: "named pipe"},
		{name: "FIFO as a disk", site: baseSite + "\nvm_template \"t\" {\n  guest_os = \"centos64Guest\"\n  cpu = 1\n  memory_mb = 512\n  disk = \"d.vmdk\"\n}\n",
			prepare: func(t *testing.T, d string) { fifo(t, filepath.Join(d, "d.vmdk")) },
			args:    func(d string) []string { return []string{"validate", d} }, code: ExitUser, want: "named pipe"},
		{name: "RPM replaced by a FIFO after validate", prepare: func(t *testing.T, d string) {
			p := filepath.Join(d, "rpms", rpmName)
			os.Remove(p)
			fifo(t, p)
		}, args: func(d string) []string { return []string{"build", d, "-o", filepath.Join(d, "dist")} }, code: ExitUser, want: "named pipe"},
		{name: "definition over the size limit", prepare: func(t *testing.T, d string) { big(t, filepath.Join(d, "big.hcl"), 17<<20) },
			args: func(d string) []string { return []string{"validate", d} }, code: ExitUser, want: "file too large"},
		{name: "var file over the size limit", prepare: func(t *testing.T, d string) { big(t, filepath.Join(d, "x.vars.hcl"), 17<<20) },
			args: func(d string) []string { return []string{"validate", d, "--var-file", filepath.Join(d, "x.vars.hcl")} }, code: ExitUser, want: "file too large"},
		{name: "key over the size limit", prepare: func(t *testing.T, d string) { big(t, filepath.Join(d, "key.asc"), 17<<20) },
			args: func(d string) []string { return []string{"verify", d, "--key", filepath.Join(d, "key.asc")} }, code: ExitUser, want: "file too large"},
		{name: "deep nesting", site: baseSite + "\nlocals {\n  deep = " + strings.Repeat("[", 100000) + strings.Repeat("]", 100000) + "\n}\n",
			args: func(d string) []string { return []string{"validate", d} }, code: ExitUser, want: "Nesting too deep"},
		{name: "deep nesting of blocks", site: baseSite + "\n" + strings.Repeat("a {\n", 5000) + strings.Repeat("}\n", 5000),
			args: func(d string) []string { return []string{"validate", d} }, code: ExitUser, want: "Nesting too deep"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			site := baseSite
			if tc.site != "" {
				site = tc.site
			}
			dir := writeSite(t, site)
			if tc.prepare != nil {
				tc.prepare(t, dir)
			}
			type result struct {
				code     int
				out, err string
			}
			done := make(chan result, 1)
			go func() {
				c, o, e := run(t, tc.args(dir)...)
				done <- result{c, o, e}
			}()
			select {
			case r := <-done:
				if flat := strings.Join(strings.Fields(r.err+r.out), " "); r.code != tc.code || !strings.Contains(flat, tc.want) {
					t.Fatalf("exit %d, want %d with %q\nstdout: %s\nstderr: %s", r.code, tc.code, tc.want, r.out, r.err)
				}
			case <-time.After(20 * time.Second):
				t.Fatal("the command hangs")
			}
		})
	}
}
