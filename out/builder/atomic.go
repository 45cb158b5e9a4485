package builder

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/bdebundle/bundle/internal/atomicfs"
)

// lockBundle takes an exclusive lock on outDir/.<dir>.lock so two builds of
// one bundle never clean up or swap each other's work.
func lockBundle(outDir, dir string) (func(), error) {
	unlock, err := atomicfs.Lock(filepath.Join(outDir, "."+dir+".lock"))
	if errors.Is(err, atomicfs.ErrLocked) {
		return nil, fmt.Errorf("%w: another build of %s is running", err, dir)
	}
	return unlock, err
}

// recoverLeftovers repairs what a killed build left in outDir: if the
// bundle dir is missing but a previous one was set aside, it is put back;
// staging dirs, set-aside dirs and temporary archives are removed.
func recoverLeftovers(outDir, dir string) error {
	if err := atomicfs.Recover(filepath.Join(outDir, dir)); err != nil {
		return err
	}
	ents, err := os.ReadDir(outDir)
	if err != nil {
		return fmt.Errorf("reading %q: %w", outDir, err)
	}
	for _, e := range ents {
		name := e.Name()
		p := filepath.Join(outDir, name)
		switch {
		case strings.HasPrefix(name, "."+dir+".staging-"):
			if err := os.RemoveAll(p); err != nil {
				return fmt.Errorf("removing leftover %q: %w", p, err)
			}
		case (strings.HasPrefix(name, "."+dir+".tar") || strings.HasPrefix(name, "."+dir+".intoto.json")) && strings.Contains(name, ".tmp-"):
			if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("removing leftover %q: %w", p, err)
			}
		}
	}
	return nil
}
