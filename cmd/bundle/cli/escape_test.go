package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestEscapeWriter(t *testing.T) {
	cases := []struct{ in, want string }{
		{"plain\ttab\n", "plain\ttab\n"},
		{"red \x1b[31mX", `red \x1b[31mX`},
		{"cr\rover", `cr\x0dover`},
		{"c1 \u009b2J", `c1 \u009b2J`},
		{"bad \xff utf8", `bad \xff utf8`},
		{"ünïcode ok", "ünïcode ok"},
	}
	for _, tc := range cases {
		var b strings.Builder
		n, err := escaped(&b).Write([]byte(tc.in))
		if err != nil || n != len(tc.in) || b.String() != tc.want {
			t.Errorf("%q: got %q (%d, %v), want %q", tc.in, b.String(), n, err, tc.want)
		}
	}
}

// TestInspectEscapesBundleStrings: names read from a bundle.json are
// printed with control characters escaped, by inspect, verify and diff.
func TestInspectEscapesBundleStrings(t *testing.T) {
	t.Setenv("BUNDLE_CACHE_DIR", t.TempDir())
	src := site(t)
	dist := filepath.Join(t.TempDir(), "dist")
	if code, _, stderr := run(t, "build", src, "-o", dist, "-q", "--no-archive"); code != 0 {
		t.Fatalf("build: %s", stderr)
	}
	dir := filepath.Join(dist, "mesos-site-2015.03.1")
	p := filepath.Join(dir, "bundle.json")
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	m["builder"] = "evil\x1b]0;pwned\x07\r"
	data, _ = json.MarshalIndent(m, "", "  ")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"inspect", dir}, {"verify", dir}, {"diff", dir, dir}} {
		_, out, errs := run(t, args...)
		if strings.ContainsAny(out+errs, "\x1b\x07\r") {
			t.Errorf("%v prints raw control characters:\n%q", args, out+errs)
		}
		if args[0] == "inspect" && !strings.Contains(out, `evil\x1b]0;pwned\x07\x0d`) {
			t.Errorf("inspect does not show the escaped builder:\n%s", out)
		}
	}
}

// TestSnippetsShowNoControlCharacters: a definition line holding control
// characters (an escape sequence that would clear the terminal or set its
// title, BEL, DEL, a C1 CSI) is printed in a diagnostic's snippet with each
// shown as '?', so the terminal never runs them.
func TestSnippetsShowNoControlCharacters(t *testing.T) {
	for _, tc := range []struct{ name, text, shown string }{
		{"escape sequences", "\x1b[2J\x1b]0;pwned\x07", "?[2J?]0;pwned?"},
		{"DEL", "a\x7fb", "a?b"},
		{"C1 CSI", "\u009b2J", "??2J"},
		{"in a comment", "x\" # \x1b[31mred", "x\" # ?[31mred"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			src := "bundle \"q\" {\n  version = \"1 " + tc.text + "\"\n}\n"
			if err := os.WriteFile(filepath.Join(dir, "site.hcl"), []byte(src), 0o644); err != nil {
				t.Fatal(err)
			}
			code, stdout, stderr := run(t, "validate", dir)
			if code != ExitUser {
				t.Fatalf("exit %d, want %d\n%s%s", code, ExitUser, stdout, stderr)
			}
			for i, r := range stderr {
				if (r < 0x20 && r != '\n' && r != '\t') || (r >= 0x7f && r < 0xa0) {
					t.Fatalf("stderr holds control character %U at byte %d:\n%q", r, i, stderr)
				}
			}
			if !strings.Contains(stderr, tc.shown) {
				t.Errorf("the snippet does not show %q:\n%s", tc.shown, stderr)
			}
		})
	}
}

// TestBuildEscapesOutputPath: an -o directory holding control characters
// is printed escaped in build's summary.
func TestBuildEscapesOutputPath(t *testing.T) {
	t.Setenv("BUNDLE_CACHE_DIR", t.TempDir())
	src := site(t)
	dist := filepath.Join(t.TempDir(), "dist\x1b[2J\rx")
	code, out, stderr := run(t, "build", src, "-o", dist, "--no-archive")
	if code != 0 {
		t.Fatalf("build: %s", stderr)
	}
	if strings.ContainsAny(out, "\x1b\r") {
		t.Errorf("build prints the -o path raw:\n%q", out)
	}
	if !strings.Contains(out, `dist\x1b[2J\x0dx`) {
		t.Errorf("build does not show the escaped path:\n%s", out)
	}
}
