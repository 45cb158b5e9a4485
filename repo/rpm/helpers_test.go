package rpm

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp"

	"github.com/bdebundle/bundle/internal/progress"
	"github.com/bdebundle/bundle/repo/internal/rpmfixture"
	"github.com/bdebundle/bundle/repo/rpmsig"
)

func TestMain(m *testing.M) { os.Exit(rpmfixture.Main(m)) }

// readOptions are what the tests pass to readAll.
type readOptions struct {
	// Keyring, when non-nil, requires a valid signature by one of its keys.
	Keyring openpgp.EntityList
	// Root is the directory locations are relative to; when empty each
	// package's location is its file name.
	Root string
}

// readAll reads each RPM of paths with ReadFile, one after the other, and
// reports every bad file in one error, sorted, as a scan of the files does.
func readAll(ctx context.Context, paths []string, opts readOptions) ([]*Package, error) {
	var keyring *rpmsig.Keyring
	if opts.Keyring != nil {
		keyring = rpmsig.NewKeyring(opts.Keyring)
	}
	pkgs := make([]*Package, len(paths))
	var errs []error
	for i, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			errs = append(errs, fmt.Errorf("reading %q: %w", p, err))
			continue
		}
		task := progress.Discard.Start("read", fi.Size())
		pkg, err := ReadFile(ctx, p, fi.Size(), keyring, task)
		task.Done(err)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		pkg.Location = filepath.Base(p)
		if opts.Root != "" {
			rel, err := filepath.Rel(opts.Root, p)
			if err != nil {
				return nil, err
			}
			pkg.Location = filepath.ToSlash(rel)
		}
		pkgs[i] = pkg
	}
	sort.Slice(errs, func(i, j int) bool { return errs[i].Error() < errs[j].Error() })
	return pkgs, errors.Join(errs...)
}

// rpmsIn lists the *.rpm files of dir, sorted.
func rpmsIn(t testing.TB, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*.rpm"))
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(m)
	return m
}
