package rpm

import "github.com/bdebundle/bundle/internal/rpmdep"

// VerCmp compares two version (or release) strings with rpm's rpmvercmp
// rules (see rpmdep.VerCmp).
func VerCmp(a, b string) int { return rpmdep.VerCmp(a, b) }

// CompareEVR compares two "[epoch:]version[-release]" strings the way rpm
// does (see rpmdep.CompareEVR).
func CompareEVR(a, b string) int { return rpmdep.CompareEVR(a, b) }

// DepPackages returns what the closure check needs of each package.
func DepPackages(pkgs []*Package) []rpmdep.Package {
	out := make([]rpmdep.Package, len(pkgs))
	for i, p := range pkgs {
		dp := rpmdep.Package{NEVRA: p.NEVRA.String(), Provides: p.Provides, Requires: p.Requires}
		for _, f := range p.Files {
			dp.Files = append(dp.Files, f.Path)
		}
		out[i] = dp
	}
	return out
}

// Providers resolves requirements within a package set (see
// rpmdep.Providers): for each package, the indexes of the others that
// satisfy its requirements.
func Providers(pkgs []*Package) [][]int { return rpmdep.Providers(DepPackages(pkgs)) }
