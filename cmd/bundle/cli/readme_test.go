package cli

import (
	"io"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// TestReadmeListsEveryVerbAndFlag checks README's CLI table against the
// command tree both ways: every verb and every flag it has is in the
// verb's row, and every flag a row names is one the verb (or the root)
// has.
func TestReadmeListsEveryVerbAndFlag(t *testing.T) {
	data, err := os.ReadFile("../../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	start := strings.Index(text, "\n## CLI\n")
	if start < 0 {
		t.Fatal("README has no ## CLI section")
	}
	section := text[start+1:]
	if end := strings.Index(section[3:], "\n## "); end >= 0 {
		section = section[:end+3]
	}
	// The first cell of each row of the table.
	var cells []string
	for _, line := range strings.Split(section, "\n") {
		if strings.HasPrefix(line, "| `bundle ") {
			cells = append(cells, strings.SplitN(line[1:], " | ", 2)[0])
		}
	}
	if len(cells) == 0 {
		t.Fatal("README's CLI section has no table rows")
	}
	rowOf := func(path string) string {
		var out []string
		for _, c := range cells {
			if strings.Contains(c, "`"+path+" ") || strings.Contains(c, "`"+path+"`") {
				out = append(out, c)
			}
		}
		return strings.Join(out, "\n")
	}

	root, _ := NewRoot(Streams{In: strings.NewReader(""), Out: io.Discard, Err: io.Discard})
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	globals := map[string]bool{"help": true}
	root.PersistentFlags().VisitAll(func(f *pflag.Flag) {
		globals[f.Name] = true
		if !f.Hidden && !strings.Contains(section, "`--"+f.Name+"`") &&
			(f.Shorthand == "" || !strings.Contains(section, "`-"+f.Shorthand+"`")) {
			t.Errorf("README's global flags do not name --%s", f.Name)
		}
	})

	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			if sub.Hidden || sub.Name() == "help" || sub.Parent().Name() == "completion" {
				continue
			}
			path := sub.CommandPath()
			if sub.HasSubCommands() && sub.Name() != "completion" {
				walk(sub)
				continue
			}
			row := rowOf(path)
			if row == "" {
				t.Errorf("README's CLI table has no row for %q", path)
				continue
			}
			flags := map[string]bool{}
			sub.LocalFlags().VisitAll(func(f *pflag.Flag) {
				flags[f.Name] = true
				if f.Hidden || globals[f.Name] {
					return
				}
				if !regexp.MustCompile(`(^|[\s\[|])--` + regexp.QuoteMeta(f.Name) + `([\s\]=|` + "`" + `]|$)`).MatchString(row) {
					t.Errorf("README's row for %q does not name --%s", path, f.Name)
				}
			})
			if sub.Name() == "completion" {
				continue
			}
			for _, m := range regexp.MustCompile(`--([a-z][a-z0-9-]*)`).FindAllStringSubmatch(row, -1) {
				if !flags[m[1]] && !globals[m[1]] {
					t.Errorf("README's row for %q names --%s, which %q does not have", path, m[1], path)
				}
			}
		}
	}
	walk(root)
}
