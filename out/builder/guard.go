package builder

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/bdebundle/bundle/internal/regular"
	"github.com/bdebundle/bundle/out/archive"
	"github.com/bdebundle/bundle/out/manifest"
)

// ErrNotOurs is wrapped by Build's error when the output path holds
// something this tool did not write, or holds the build's own inputs.
var ErrNotOurs = errors.New("not a bundle this tool wrote")

// checkReplaceable refuses a build that would replace anything but a bundle
// this tool wrote: outDir/<dir> must be absent or a directory (not a link)
// whose bundle.json parses and names the same bundle; each archive path
// must be absent or a regular file starting with its format's magic; and no
// protected path (the definition, var files, every input) may lie inside
// what is replaced.
func checkReplaceable(outDir, dir string, protect []string) error {
	dest := filepath.Join(outDir, dir)
	fi, err := os.Lstat(dest)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return fmt.Errorf("checking %q: %w", dest, err)
	case !fi.IsDir():
		return fmt.Errorf("refusing to replace %q: it is a %s, %w", dest, regular.Kind(fi.Mode()), ErrNotOurs)
	default:
		if err := ownBundleDir(dest, dir); err != nil {
			return fmt.Errorf("refusing to replace %q: %w", dest, err)
		}
	}
	replaced := []string{dest}
	for _, f := range archive.Formats {
		p := archive.Path(outDir, dir, f)
		replaced = append(replaced, p)
		fi, err := os.Lstat(p)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			continue
		case err != nil:
			return fmt.Errorf("checking %q: %w", p, err)
		case !fi.Mode().IsRegular():
			return fmt.Errorf("refusing to replace %q: it is a %s, %w", p, regular.Kind(fi.Mode()), ErrNotOurs)
		}
		if err := ownArchive(p, f); err != nil {
			return fmt.Errorf("refusing to replace %q: %w", p, err)
		}
	}
	for _, r := range replaced {
		rr := resolved(r)
		for _, p := range protect {
			if p == "" {
				continue
			}
			pp := resolved(p)
			if within(pp, rr) {
				return fmt.Errorf("refusing to build: %q would be replaced by the bundle, and it holds %q, which the build reads; choose another output directory (-o): %w", r, p, ErrNotOurs)
			}
		}
	}
	return nil
}

// ownBundleDir checks that dest is a bundle directory this tool wrote.
func ownBundleDir(dest, dir string) error {
	p := filepath.Join(dest, manifest.FileName)
	data, err := regular.ReadFile(p, manifest.MaxMetaSize)
	if err != nil {
		ents, _ := os.ReadDir(dest)
		if len(ents) == 0 && err != nil && errors.Is(err, fs.ErrNotExist) {
			return nil // an empty directory holds nothing to lose
		}
		return fmt.Errorf("it has no readable %s (%v), %w", manifest.FileName, err, ErrNotOurs)
	}
	m, err := manifest.Parse(data)
	if err != nil {
		return fmt.Errorf("its %s is not valid (%v), %w", manifest.FileName, err, ErrNotOurs)
	}
	if m.Dir() != dir {
		return fmt.Errorf("its %s names bundle %s, %w", manifest.FileName, strconv.Quote(m.Dir()), ErrNotOurs)
	}
	return nil
}

// archiveMagic is how each archive format starts (tar: "ustar" at 257).
func ownArchive(p string, f archive.Format) error {
	fh, err := regular.Open(p)
	if err != nil {
		return err
	}
	defer fh.Close()
	head := make([]byte, 512)
	n, _ := io.ReadFull(fh, head)
	if archive.Sniff(head[:n]) != f {
		return fmt.Errorf("it is not a %s archive, %w", f, ErrNotOurs)
	}
	return nil
}

// resolved is p made absolute with symbolic links resolved as far as the
// path exists.
func resolved(p string) string {
	abs, err := filepath.Abs(p)
	if err != nil {
		return filepath.Clean(p)
	}
	rest := ""
	for cur := abs; ; {
		if r, err := filepath.EvalSymlinks(cur); err == nil {
			return filepath.Join(r, rest)
		}
		parent := filepath.Dir(cur)
		if parent == cur {
			return abs
		}
		rest = filepath.Join(filepath.Base(cur), rest)
		cur = parent
	}
}

// within reports whether p is root or lies below it.
func within(p, root string) bool {
	if p == root {
		return true
	}
	rel, err := filepath.Rel(root, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}
