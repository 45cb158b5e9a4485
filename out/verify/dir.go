package verify

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	"github.com/bdebundle/bundle/internal/ctxio"
	"github.com/bdebundle/bundle/internal/progress"
	"github.com/bdebundle/bundle/out/manifest"
	"github.com/bdebundle/bundle/out/read"
	"github.com/bdebundle/bundle/sbom"
	"golang.org/x/sync/errgroup"
)

// Reading a bundle directory: every file hashed in parallel; a link or
// special file is a problem.

// readDir hashes every file of a bundle directory.
func readDir(ctx context.Context, root string, rep *Report, opts Options) (*contents, error) {
	c := &contents{files: map[string]seen{}}
	var todo []string
	var total int64
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("reading bundle %q: %w", root, err)
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			return nil
		}
		if !d.Type().IsRegular() {
			rep.add(rel, "not a regular file (%s); bundles hold only files and directories", d.Type())
			return nil
		}
		switch rel {
		case manifest.FileName, manifest.SumsName, manifest.SignatureName:
			data, err := read.Small(p)
			if err != nil {
				return err
			}
			c.setMeta(rel, data)
			return nil
		}
		if fi, err := d.Info(); err == nil {
			total += fi.Size()
		}
		todo = append(todo, rel)
		return nil
	})
	if err != nil {
		return nil, err
	}
	task := progress.Or(opts.Progress).Start("verifying "+filepath.Base(root), total)
	jobs := opts.Jobs
	if jobs <= 0 {
		jobs = 4
	}
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(jobs)
	for _, rel := range todo {
		g.Go(func() error {
			p := filepath.Join(root, filepath.FromSlash(rel))
			fi, err := os.Stat(p)
			if err != nil {
				return fmt.Errorf("reading %q: %w", p, err)
			}
			sum, n, err := ctxio.SHA256File(gctx, p, task)
			if err != nil {
				return err
			}
			var data []byte
			if rel == sbom.FileName {
				if data, err = read.Small(p); err != nil {
					return err
				}
			}
			mu.Lock()
			c.files[rel] = seen{size: n, sha: sum, exec: fi.Mode().Perm()&0o111 != 0}
			if rel == sbom.FileName {
				c.sbom, c.hasSBOM = data, true
			}
			mu.Unlock()
			return nil
		})
	}
	err = g.Wait()
	task.Done(err)
	if err != nil {
		return nil, err
	}
	return c, nil
}
