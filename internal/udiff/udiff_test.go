package udiff_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bdebundle/bundle/internal/testutil"
	"github.com/bdebundle/bundle/internal/udiff"
)

func lines(n int, prefix string) string {
	var b strings.Builder
	for i := range n {
		b.WriteString(prefix)
		b.WriteString(strings.Repeat("x", i%5))
		b.WriteString("\n")
	}
	return b.String()
}

var cases = []struct {
	name   string
	a, b   string
	header string // the first hunk header, when the case pins it
}{
	{name: "new file", a: "", b: "one\ntwo\nthree\nfour\nfive\nsix\n", header: "@@ -0,0 +1,6 @@"},
	{name: "removed file", a: "one\ntwo\n", b: "", header: "@@ -1,2 +0,0 @@"},
	{name: "one line changed", a: "a\n", b: "b\n", header: "@@ -1 +1 @@"},
	{name: "change in the middle", a: "1\n2\n3\n4\n5\n6\n7\n8\n9\n", b: "1\n2\n3\n4\nfive\n6\n7\n8\n9\n", header: "@@ -2,7 +2,7 @@"},
	{name: "append at the end", a: "1\n2\n3\n4\n5\n", b: "1\n2\n3\n4\n5\n6\n", header: "@@ -3,3 +3,4 @@"},
	{name: "insert at the start", a: "1\n2\n3\n4\n5\n", b: "0\n1\n2\n3\n4\n5\n", header: "@@ -1,3 +1,4 @@"},
	{name: "no newline before", a: "a\nb", b: "a\nb\n"},
	{name: "no newline after", a: "a\nb\n", b: "a\nb"},
	{name: "no newline on either side", a: "a\nb", b: "a\nc"},
	{name: "new file without final newline", a: "", b: "solo", header: "@@ -0,0 +1 @@"},
	{name: "two hunks", a: lines(40, "l"), b: strings.Replace(strings.Replace(lines(40, "l"), "lxx\n", "changed\n", 1), "lxxxx\nl\n", "lxxxx\nnew\nl\n", 1) + "tail\n"},
	{name: "blank lines", a: "\n\n\n", b: "\n\nx\n\n"},
}

func TestUnifiedHeaders(t *testing.T) {
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := udiff.Unified("a/f", "b/f", tc.a, tc.b)
			ls := strings.Split(d, "\n")
			if len(ls) < 3 || ls[0] != "--- a/f" || ls[1] != "+++ b/f" {
				t.Fatalf("headers: %q", d)
			}
			if tc.header != "" && ls[2] != tc.header {
				t.Errorf("first hunk header %q, want %q\n%s", ls[2], tc.header, d)
			}
		})
	}
	if d := udiff.Unified("a/f", "b/f", "same\n", "same\n"); d != "" {
		t.Errorf("equal texts give %q", d)
	}
}

// TestUnifiedApplies writes each case's old file, applies the diff with git
// apply and with patch -p1, and compares the result with the new text.
func TestUnifiedApplies(t *testing.T) {
	git := testutil.RequireTool(t, "git", "git")
	patch := testutil.RequireTool(t, "patch", "patch")
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			from, to := "a/dir/f.txt", "b/dir/f.txt"
			if tc.a == "" {
				from = "/dev/null"
			}
			if tc.b == "" {
				to = "/dev/null"
			}
			d := udiff.Unified(from, to, tc.a, tc.b)
			for _, tool := range []string{"git", "patch"} {
				dir := t.TempDir()
				target := filepath.Join(dir, "dir", "f.txt")
				if tc.a != "" {
					if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(target, []byte(tc.a), 0o644); err != nil {
						t.Fatal(err)
					}
				}
				pf := filepath.Join(t.TempDir(), "p.diff")
				if err := os.WriteFile(pf, []byte(d), 0o644); err != nil {
					t.Fatal(err)
				}
				var cmds [][]string
				if tool == "git" {
					cmds = [][]string{{git, "apply", "--check", pf}, {git, "apply", pf}}
				} else {
					cmds = [][]string{{patch, "-p1", "--dry-run", "-i", pf}, {patch, "-p1", "-E", "-i", pf}}
				}
				for _, c := range cmds {
					cmd := exec.Command(c[0], c[1:]...)
					cmd.Dir = dir
					if out, err := cmd.CombinedOutput(); err != nil {
						t.Fatalf("%s: %v\n%s\npatch:\n%s", strings.Join(c, " "), err, out, d)
					}
				}
				got, err := os.ReadFile(target)
				if tc.b == "" {
					if err == nil {
						t.Errorf("%s left the removed file: %q", tool, got)
					}
					continue
				}
				if err != nil {
					t.Fatal(err)
				}
				if string(got) != tc.b {
					t.Errorf("%s gave %q, want %q\npatch:\n%s", tool, got, tc.b, d)
				}
			}
		})
	}
}
