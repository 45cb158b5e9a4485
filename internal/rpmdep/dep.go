package rpmdep

import "strings"

// rpm's RPMSENSE flag bits used when comparing ranges.
const (
	senseLess    = 1 << 1
	senseGreater = 1 << 2
	senseEqual   = 1 << 3
)

// Dep is one dependency entry. Flags is "", "EQ", "LT", "GT", "LE" or "GE".
// Pre marks requirements needed by scriptlets (Requires(pre), (post), PreReq).
type Dep struct {
	Name, Flags, Epoch, Version, Release string
	Pre                                  bool
}

// String formats a dependency the way rpm prints it: "name >= 1:2.0-3".
func (d Dep) String() string {
	op := map[string]string{"EQ": "=", "LT": "<", "GT": ">", "LE": "<=", "GE": ">="}[d.Flags]
	if op == "" {
		return d.Name
	}
	var b strings.Builder
	b.WriteString(d.Name)
	b.WriteString(" ")
	b.WriteString(op)
	b.WriteString(" ")
	if d.Epoch != "" && d.Epoch != "0" {
		b.WriteString(d.Epoch)
		b.WriteString(":")
	}
	b.WriteString(d.Version)
	if d.Release != "" {
		b.WriteString("-")
		b.WriteString(d.Release)
	}
	return b.String()
}

// Parse parses "name", or "name OP [epoch:]version[-release]" with OP one of
// = == < > <= >=, as written in a definition's baseline provides. Anything
// else is taken as a plain name.
func Parse(s string) Dep {
	f := strings.Fields(s)
	if len(f) != 3 {
		return Dep{Name: strings.TrimSpace(s)}
	}
	flags := map[string]string{"=": "EQ", "==": "EQ", "<": "LT", ">": "GT", "<=": "LE", ">=": "GE"}[f[1]]
	if flags == "" {
		return Dep{Name: strings.TrimSpace(s)}
	}
	d := Dep{Name: f[0], Flags: flags}
	evr := f[2]
	if e, rest, ok := strings.Cut(evr, ":"); ok {
		d.Epoch, evr = e, rest
	}
	d.Version, d.Release, _ = strings.Cut(evr, "-")
	return d
}

// Package is what the closure check needs of one package.
type Package struct {
	NEVRA    string
	Provides []Dep
	Requires []Dep
	Files    []string // paths of the files it holds
}
