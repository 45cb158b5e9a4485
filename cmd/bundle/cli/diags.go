package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"github.com/bdebundle/bundle/hcl/sitedef"
	"github.com/bdebundle/bundle/pipeline"
	"github.com/hashicorp/hcl/v2"
	"github.com/spf13/cobra"
)

// defFlags are the flags that say how to load a definition.
type defFlags struct {
	Vars     []string
	VarFiles []string
}

func addDefFlags(cmd *cobra.Command, f *defFlags) {
	cmd.Flags().StringArrayVar(&f.Vars, "var", nil, "set a variable: --var name=value (repeatable)")
	cmd.Flags().StringArrayVar(&f.VarFiles, "var-file", nil, "read variables from an HCL file of name = value lines (repeatable)")
}

func (f *defFlags) options() sitedef.Options {
	return sitedef.Options{Vars: f.Vars, VarFiles: f.VarFiles, Env: os.Environ()}
}

// pathArg returns the definition path argument, default ".".
func pathArg(args []string) string {
	if len(args) > 0 {
		return args[0]
	}
	return "."
}

type jsonPos struct {
	Line   int `json:"line"`
	Column int `json:"column"`
	Byte   int `json:"byte"`
}

type jsonRange struct {
	Filename string  `json:"filename"`
	Start    jsonPos `json:"start"`
	End      jsonPos `json:"end"`
}

type jsonDiag struct {
	Severity string     `json:"severity"`
	Summary  string     `json:"summary"`
	Detail   string     `json:"detail,omitempty"`
	Range    *jsonRange `json:"range,omitempty"`
}

func toJSONDiags(diags hcl.Diagnostics) []jsonDiag {
	out := make([]jsonDiag, 0, len(diags))
	for _, d := range diags {
		j := jsonDiag{Severity: "error", Summary: d.Summary, Detail: d.Detail}
		if d.Severity == hcl.DiagWarning {
			j.Severity = "warning"
		}
		if d.Subject != nil {
			s := d.Subject
			j.Range = &jsonRange{Filename: s.Filename, Start: jsonPos{s.Start.Line, s.Start.Column, s.Start.Byte}, End: jsonPos{s.End.Line, s.End.Column, s.End.Byte}}
		}
		out = append(out, j)
	}
	return out
}

// printDiags renders diagnostics Terraform-style on stderr (colour only on a
// TTY). With --json the caller includes them in its JSON document instead.
func printDiags(g *Globals, files map[string]*hcl.File, diags hcl.Diagnostics) {
	if len(diags) == 0 || g.JSON {
		return
	}
	w := hcl.NewDiagnosticTextWriter(g.Err, files, 100, !g.NoColor)
	_ = w.WriteDiagnostics(diags)
}

// diagsErr maps diagnostics to the CLI's exit code: 1 when any is an error.
func diagsErr(diags hcl.Diagnostics) error {
	if !diags.HasErrors() {
		return nil
	}
	n := 0
	for _, d := range diags {
		if d.Severity == hcl.DiagError {
			n++
		}
	}
	return userErr(fmt.Errorf("%d error(s) in the definition", n))
}

func writeJSON(g *Globals, v any) error {
	enc := json.NewEncoder(g.Out)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return envErr(errors.New("writing JSON: " + err.Error()))
	}
	return nil
}

// maxKeyFile bounds key and keyring files read by --key and --sign-key.
const maxKeyFile = pipeline.MaxKeyFile
