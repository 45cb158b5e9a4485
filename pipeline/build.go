package pipeline

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"github.com/bdebundle/bundle/internal/regular"
	"github.com/bdebundle/bundle/out/archive"
	"github.com/bdebundle/bundle/out/builder"
	"github.com/bdebundle/bundle/out/delta"
	"github.com/bdebundle/bundle/out/manifest"
	"github.com/hashicorp/hcl/v2"
)

// MaxKeyFile bounds the key and keyring files a verb reads (--key,
// --sign-key).
const MaxKeyFile = 16 << 20

// BuildRequest is what Build is asked: the definition and how its inputs
// are gathered (Mode ModeCheck compiles only: build --plan), and how the
// bundle is written into OutDir.
type BuildRequest struct {
	CompileRequest
	// Format names the archive format (tar.zst, tar.gz or tar); "" is
	// tar.zst.
	Format string
	// SignKey is the path of an armored OpenPGP secret key that signs
	// bundle.json (bundle.json.sig), unlocked with SignPassphrase;
	// SignRepos signs each repomd.xml with it too (repomd.xml.asc).
	SignKey        string
	SignPassphrase []byte
	SignRepos      bool
	NoArchive      bool
	NoHardLinks    bool
	BuilderVersion string
	// VolumeSize, when not 0, also writes the archive as a volume set of
	// volumes of at most that many bytes in <out>/<name>-<version>.volumes
	// (SplitArchive), signed with SignKey.
	VolumeSize int64
	// Base, when set, names the release the site holds (a bundle
	// directory, archive, volume set, bundle.json or delta): Build also
	// writes the delta against it, <out>/<name>-<version>.delta.
	Base string
	// Compiled, when set, is called once the definition is compiled, with
	// all its diagnostics (warnings too), before anything is written.
	Compiled func(*Compiled, hcl.Diagnostics)
}

// BuildResult is what Build did.
type BuildResult struct {
	// Compiled is the compiled definition; its Def carries the files
	// needed to render Diagnostics.
	Compiled    *Compiled
	Diagnostics hcl.Diagnostics
	// Bundle is what was written; nil in ModeCheck and when Diagnostics
	// hold an error.
	Bundle *builder.Result
	// Volumes and Delta are what VolumeSize and Base wrote.
	Volumes *Volumes
	Delta   *delta.Result
}

// BaseError is a --base that cannot be read as a release.
type BaseError struct{ Err error }

func (e *BaseError) Error() string { return e.Err.Error() }
func (e *BaseError) Unwrap() error { return e.Err }

// KeyError is a signing key that cannot be used: Read when the file could
// not be read (Err wraps why), else not a usable key.
type KeyError struct {
	Read bool
	Err  error
}

func (e *KeyError) Error() string { return e.Err.Error() }
func (e *KeyError) Unwrap() error { return e.Err }

// Build compiles the definition (Compile, once) and, in ModeBuild when it
// has no errors, executes the plan Compile checked (builder.Check) into
// OutDir with builder.Build: the writers
// backed by the repo, images and ovf packages, the RPM scan's digests of
// the inputs it read (so an untouched RPM is read once per build), the
// previous bundle's image layout, and the paths the build reads besides the
// plan's inputs protected from being replaced. Definition problems come
// back as Diagnostics; an unknown format or --sign-repos without a key is a
// *UsageError and a signing key that cannot be used a *KeyError, refused
// before anything is written.
func Build(ctx context.Context, req BuildRequest) (*BuildResult, error) {
	c, diags := Compile(ctx, req.CompileRequest)
	res := &BuildResult{Compiled: c, Diagnostics: diags}
	if req.Compiled != nil {
		req.Compiled(c, diags)
	}
	if diags.HasErrors() || req.Mode != ModeBuild {
		return res, nil
	}
	if req.SignRepos && req.SignKey == "" {
		return res, &UsageError{errors.New("--sign-repos signs with --sign-key: give both")}
	}
	if req.VolumeSize > 0 && req.NoArchive {
		return res, &UsageError{errors.New("--volume-size splits the archive: it cannot go with --no-archive")}
	}
	var base *delta.Base
	if req.Base != "" {
		// Read before the build: it may be the bundle the build replaces.
		var err error
		if base, err = delta.LoadBase(ctx, req.Base); err != nil {
			return res, &BaseError{fmt.Errorf("--base: %w", err)}
		}
	}
	bo := builder.Options{
		BuilderVersion: req.BuilderVersion,
		NoArchive:      req.NoArchive,
		NoHardLinks:    req.NoHardLinks,
		NoCache:        req.NoCache,
		CacheDir:       req.CacheDir,
		Protect:        c.protectedPaths(req.SignKey),
		Progress:       req.Progress,
		Digests:        c.Inputs.InputDigest,
	}
	wo := writerOptions{offline: req.Offline, updateLock: req.UpdateLock, insecure: req.Insecure,
		registryTimeout: req.RegistryTimeout, progress: req.Progress, prevLayout: c.prevLayout}
	if req.SignKey != "" {
		key, err := regular.ReadFile(req.SignKey, MaxKeyFile)
		if err != nil {
			return res, &KeyError{Read: true, Err: fmt.Errorf("reading signing key %q: %w", req.SignKey, err)}
		}
		e, err := manifest.SigningKey(key, req.SignPassphrase)
		if err != nil {
			return res, &KeyError{Err: fmt.Errorf("reading signing key %q: %w", req.SignKey, err)}
		}
		bo.SignKey, bo.SignPassphrase = key, req.SignPassphrase
		if req.SignRepos {
			wo.repoSignKey = e
		}
	}
	format, err := archive.ParseFormat(req.Format)
	if err != nil {
		return res, &UsageError{err}
	}
	bo.Format = format
	bo.Repos, bo.Images, bo.Templates = c.writers(wo)
	if c.Checked == nil {
		return res, errors.New("building bundle: the plan was not checked")
	}
	res.Bundle, err = builder.Build(ctx, c.Checked, req.OutDir, bo)
	if err != nil {
		return res, err
	}
	if req.VolumeSize > 0 && res.Bundle.Archive != "" {
		dir := filepath.Join(filepath.Dir(res.Bundle.Archive), res.Bundle.Name+"-"+res.Bundle.Version+".volumes")
		if res.Volumes, err = SplitArchive(ctx, res.Bundle.Archive, dir, req.VolumeSize, bo.SignKey, bo.SignPassphrase); err != nil {
			return res, fmt.Errorf("writing the volumes: %w", err)
		}
	}
	if base != nil {
		if res.Delta, err = delta.Write(ctx, res.Bundle.Dir, base, req.OutDir); err != nil {
			return res, fmt.Errorf("writing the delta: %w", err)
		}
	}
	return res, nil
}

// protectedPaths are the paths the build reads besides the plan's inputs:
// the definition, its files, var files, the signing key and local image
// sources. Build refuses to replace anything holding one of them.
func (c *Compiled) protectedPaths(signKey string) []string {
	var paths []string
	if d := c.Def; d != nil {
		paths = append(paths, d.Path)
		for name := range d.Files {
			paths = append(paths, name)
		}
		for name := range d.VarFiles {
			paths = append(paths, name)
		}
	}
	if signKey != "" {
		paths = append(paths, signKey)
	}
	if c.Plan != nil {
		for _, im := range c.Plan.Images {
			for _, prefix := range []string{"docker-archive:", "oci-layout:"} {
				if rest, ok := strings.CutPrefix(im.Ref, prefix); ok {
					paths = append(paths, rest)
				}
			}
		}
	}
	sort.Strings(paths)
	return paths
}
