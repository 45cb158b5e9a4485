package builder

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/bdebundle/bundle/compiler"
	"github.com/bdebundle/bundle/out/manifest"
)

// planInputs lists every input of the plan.
func planInputs(p *compiler.Plan) []*compiler.Input {
	var ins []*compiler.Input
	for _, r := range p.Repos {
		ins = append(ins, r.Packages...)
		ins = append(ins, r.GPGKeys...)
	}
	for _, t := range p.Templates {
		ins = append(ins, t.Disks...)
	}
	return ins
}

// Checked is a plan Check accepted. Build takes only a checked plan, so a
// plan is checked once per verb: pipeline checks it when it compiles (so
// validate refuses whatever build would) and builds the same value.
type Checked struct{ plan *compiler.Plan }

// Plan is the plan that was checked.
func (c *Checked) Plan() *compiler.Plan { return c.plan }

// Check refuses plans that would write outside the bundle or twice to one
// path, and returns the plan as Checked otherwise.
func Check(p *compiler.Plan) (*Checked, error) {
	if p == nil {
		return nil, errors.New("building bundle: no plan")
	}
	if err := checkPlan(p); err != nil {
		return nil, err
	}
	return &Checked{plan: p}, nil
}

func checkPlan(p *compiler.Plan) error {
	if p.Name == "" || p.Version == "" || strings.ContainsAny(p.Dir(), "/\\") || strings.HasPrefix(p.Dir(), ".") {
		return fmt.Errorf("building bundle: invalid name %q or version %q", p.Name, p.Version)
	}
	if p.Epoch < 0 {
		return fmt.Errorf("building bundle: negative epoch %d", p.Epoch)
	}
	seen := map[string]string{}
	claim := func(dest, what string) error {
		if err := manifest.CheckRelPath(dest); err != nil {
			return fmt.Errorf("building bundle: %s: %w", what, err)
		}
		if manifest.IsMetaFile(dest) {
			return fmt.Errorf("building bundle: %s writes %q, which is reserved for bundle metadata", what, dest)
		}
		if prev, ok := seen[dest]; ok && prev != what {
			return fmt.Errorf("building bundle: %s and %s both write %q", prev, what, dest)
		}
		seen[dest] = what
		return nil
	}
	for _, in := range planInputs(p) {
		if err := claim(in.Dest, "input "+in.Src); err != nil {
			return err
		}
	}
	for _, f := range p.Files {
		if err := claim(f.Path, "rendered file "+f.Path); err != nil {
			return err
		}
	}
	if p.SBOM != "" {
		if err := claim(p.SBOM, "the SBOM"); err != nil {
			return err
		}
	}
	if p.Provenance != "" && (p.Provenance != filepath.Base(p.Provenance) || strings.HasPrefix(p.Provenance, ".") || manifest.CheckRelPath(p.Provenance) != nil) {
		return fmt.Errorf("building bundle: provenance file %q must be a plain file name", p.Provenance)
	}
	for _, r := range p.Repos {
		if err := manifest.CheckRelPath(r.Dir); err != nil {
			return fmt.Errorf("building bundle: repo %q: %w", r.Name, err)
		}
	}
	return nil
}
