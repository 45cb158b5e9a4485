package compiler

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/bdebundle/bundle/internal/testutil"
)

// ruby19Result is what testdata/ruby/ruby19_check.rb prints.
type ruby19Result struct {
	RB     int                 `json:"rb"`
	ERB    int                 `json:"erb"`
	Errors map[string][]string `json:"errors"`
}

// ruby19Check reads files with the Ruby 1.9 grammar (.rb) or compiles them
// with Erubis and reads the result with it (.erb).
func ruby19Check(t *testing.T, files ...string) ruby19Result {
	t.Helper()
	ruby := needTool(t, "ruby", "ruby")
	script := filepath.Join(testutil.ModuleRoot(t), "compiler", "testdata", "ruby", "ruby19_check.rb")
	cmd := exec.Command(ruby, append([]string{script}, files...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s (needs ruby-whitequark-parser and ruby-erubis): %v\n%s", script, err, stderr.String())
	}
	var r ruby19Result
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("%s: %v: %s", script, err, out)
	}
	return r
}

// Every .rb of the cookbook parses with the Ruby 1.9 grammar Chef 11 runs
// (and is ASCII or declares its encoding); every .erb compiles with Erubis,
// Chef 11's template engine, to Ruby the 1.9 grammar parses.
func TestCookbookRuby19(t *testing.T) {
	p := examplePlan(t)
	dir := writePlanFiles(t, p, cookbookPrefix(p))
	var files []string
	err := filepath.WalkDir(dir, func(fp string, e os.DirEntry, err error) error {
		if err == nil && !e.IsDir() && (filepath.Ext(fp) == ".rb" || filepath.Ext(fp) == ".erb") {
			files = append(files, fp)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	r := ruby19Check(t, files...)
	for f, errs := range r.Errors {
		rel, _ := filepath.Rel(dir, f)
		t.Errorf("%s:\n%s", rel, strings.Join(errs, "\n"))
	}
	if r.RB < 5 || r.ERB < 4 || r.RB+r.ERB != len(files) {
		t.Fatalf("only %d .rb and %d .erb of %d files checked", r.RB, r.ERB, len(files))
	}
}

// The Ruby 1.9 check refuses what Ruby 1.9.3 refuses and Ruby 2 and later
// accept, and accepts the 1.9 syntax the cookbook uses.
func TestRuby19CheckRefusesNewerRuby(t *testing.T) {
	dir := t.TempDir()
	var files []string
	want, names := map[string]bool{}, map[string]string{}
	for _, tc := range []struct {
		name, file, src string
		ok              bool
	}{
		{"1.9 hash and lambda", "a.rb", "variables(a: 1, 'b' => [2])\nf = ->(x) { x }\nsupports status: true\n", true},
		{"erb with a block", "a.erb", "<%= @l.map { |x| \"#{x['n']}\\n\" }.join %>", true},
		{"encoding comment", "a.rb", "# encoding: utf-8\nx = 'caf\u00e9'\n", true},
		{"symbol array", "a.rb", "x = %i[a b]\n", false},
		{"keyword argument", "a.rb", "def f(a:, b: 1)\n  a\nend\n", false},
		{"double splat", "a.rb", "def f(**o)\n  o\nend\n", false},
		{"safe navigation", "a.rb", "x = node&.name\n", false},
		{"squiggly heredoc", "a.rb", "x = <<~EOS\n  a\nEOS\n", false},
		{"string symbol key", "a.rb", "h = { \"a\": 1 }\n", false},
		{"safe navigation in erb", "a.erb", "<%= @a&.b %>\n", false},
		{"unclosed erb code", "a.erb", "<%= @a.map { |x| x %>\n", false},
		{"non-ASCII without encoding comment", "a.rb", "x = 'caf\u00e9'\n", false},
	} {
		fp := filepath.Join(dir, fmt.Sprintf("case%02d-%s", len(files), tc.file))
		if err := os.WriteFile(fp, []byte(tc.src), 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, fp)
		want[fp] = tc.ok
		names[fp] = tc.name
	}
	r := ruby19Check(t, files...)
	if r.RB+r.ERB != len(files) {
		t.Fatalf("%d of %d files checked", r.RB+r.ERB, len(files))
	}
	for _, fp := range files {
		if errs := r.Errors[fp]; (len(errs) == 0) != want[fp] {
			t.Errorf("%s: accepted = %v, want %v: %v", names[fp], len(errs) == 0, want[fp], errs)
		}
	}
}

// rubyLiteral's output, read by Ruby, is the value it was given.
func TestRubyLiteral(t *testing.T) {
	ruby := needTool(t, "ruby", "ruby")
	hostile := []string{"", `"`, `\`, `\"`, "#{`id`}", "#@x #$0", "'", "a\nb\r\tc\x00", "é ✓ 😀", "\u2028", "end; system('id')", "__END__", "=begin"}
	v := map[string]any{"list": slices.Clone(hostile), "n": 42, "yes": true, "nil": nil, "nested": map[string]any{"#{x}": map[string]string{"\"k": "v\\"}}}
	for _, s := range hostile {
		v[s] = s
	}
	src := "# encoding: us-ascii\nrequire 'json'\nv = " + rubyLiteral(v) + "\nprint JSON.generate(v)\n"
	f := filepath.Join(t.TempDir(), "lit.rb")
	if err := os.WriteFile(f, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	// Chef 11's Ruby 1.9 reads the literal too.
	if r := ruby19Check(t, f); len(r.Errors) > 0 {
		t.Fatalf("the Ruby 1.9 grammar refuses the literal: %v\n%s", r.Errors, src)
	}
	out, err := exec.Command(ruby, f).CombinedOutput()
	if err != nil {
		t.Fatalf("ruby: %v\n%s\n%s", err, out, src)
	}
	var got any
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	want, _ := json.Marshal(v)
	var w any
	_ = json.Unmarshal(want, &w)
	g, _ := json.Marshal(got)
	w2, _ := json.Marshal(w)
	if !bytes.Equal(g, w2) {
		t.Fatalf("Ruby read back\n%s\nwant\n%s", g, w2)
	}
}
