package images

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/bdebundle/bundle/images/registry"
	"github.com/bdebundle/bundle/internal/plainhttp"
	"github.com/google/go-containerregistry/pkg/name"
)

// SourceKind says where an image comes from.
type SourceKind int

const (
	// Registry is a reference to an image in a registry (nginx:1.7.9,
	// registry:5000/x@sha256:…).
	Registry SourceKind = iota + 1
	// OCILayout is an OCI image layout directory on disk (oci-layout:DIR[:tag]).
	OCILayout
	// DockerArchive is a `docker save` tarball on disk (docker-archive:FILE).
	DockerArchive
)

const (
	ociLayoutPrefix     = "oci-layout:"
	dockerArchivePrefix = "docker-archive:"
)

func (k SourceKind) String() string {
	switch k {
	case Registry:
		return "registry"
	case OCILayout:
		return "oci-layout"
	case DockerArchive:
		return "docker-archive"
	}
	return fmt.Sprintf("SourceKind(%d)", int(k))
}

// Source is a parsed image reference.
type Source struct {
	Kind SourceKind
	// Ref is the registry reference (Kind == Registry).
	Ref name.Reference
	// Path is the absolute layout directory or archive file (local kinds).
	Path string
	// Tag selects the manifest of an OCI layout by its
	// org.opencontainers.image.ref.name annotation ("" = the only one).
	Tag string
}

// String gives the reference back in the form ParseSource accepts.
func (s Source) String() string {
	switch s.Kind {
	case Registry:
		return s.Ref.String()
	case OCILayout:
		if s.Tag != "" {
			return ociLayoutPrefix + s.Path + ":" + s.Tag
		}
		return ociLayoutPrefix + s.Path
	case DockerArchive:
		return dockerArchivePrefix + s.Path
	}
	return ""
}

// tag returns the tag the source names, or "" when it names a digest or a
// local archive.
func (s Source) tag() string {
	switch s.Kind {
	case Registry:
		if t, ok := s.Ref.(name.Tag); ok {
			return t.TagStr()
		}
	case OCILayout:
		return s.Tag
	}
	return ""
}

// transports of other tools that users may type by habit.
var foreignTransports = []string{"docker://", "docker-daemon:", "oci:", "oci-archive:", "dir:", "containers-storage:"}

// ParseSource parses an image reference: a registry reference, or a local
// source oci-layout:DIR[:tag] or docker-archive:FILE with an absolute path.
func ParseSource(ref string) (Source, error) {
	return parseSource(ref, nil)
}

func parseSource(ref string, insecure []string) (Source, error) {
	if strings.TrimSpace(ref) == "" {
		return Source{}, errors.New("empty image reference")
	}
	if ref != strings.TrimSpace(ref) {
		return Source{}, fmt.Errorf("image reference %q has leading or trailing spaces", ref)
	}
	switch {
	case strings.HasPrefix(ref, ociLayoutPrefix):
		rest := strings.TrimPrefix(ref, ociLayoutPrefix)
		dir, tag := rest, ""
		if i := strings.LastIndex(rest, ":"); i >= 0 && !strings.Contains(rest[i+1:], "/") {
			dir, tag = rest[:i], rest[i+1:]
			if tag == "" {
				return Source{}, fmt.Errorf("image reference %q: empty tag after the last ':'", ref)
			}
		}
		if err := checkPath(ref, dir, "directory"); err != nil {
			return Source{}, err
		}
		return Source{Kind: OCILayout, Path: filepath.Clean(dir), Tag: tag}, nil
	case strings.HasPrefix(ref, dockerArchivePrefix):
		file := strings.TrimPrefix(ref, dockerArchivePrefix)
		if err := checkPath(ref, file, "file"); err != nil {
			return Source{}, err
		}
		return Source{Kind: DockerArchive, Path: filepath.Clean(file)}, nil
	}
	for _, p := range foreignTransports {
		if strings.HasPrefix(ref, p) {
			return Source{}, fmt.Errorf("image reference %q: unknown transport %q; use a registry reference (nginx:1.7.9), oci-layout:DIR[:tag] or docker-archive:FILE", ref, strings.TrimSuffix(strings.TrimSuffix(p, "//"), ":"))
		}
	}
	r, err := name.ParseReference(ref)
	if err != nil {
		return Source{}, fmt.Errorf("parsing image reference %q: %w", ref, err)
	}
	if plainhttp.Allowed(r.Context().RegistryStr(), insecure) {
		// HTTPS first, then plain HTTP, as for a push (see registryTransport).
		if r, err = name.ParseReference(ref, name.Insecure); err != nil {
			return Source{}, fmt.Errorf("parsing image reference %q: %w", ref, err)
		}
	}
	return Source{Kind: Registry, Ref: r}, nil
}

func checkPath(ref, p, what string) error {
	switch {
	case p == "":
		return fmt.Errorf("image reference %q: missing %s path", ref, what)
	case !filepath.IsAbs(p):
		return fmt.Errorf("image reference %q: %s path %q is not absolute", ref, what, p)
	}
	return nil
}

// Repository chooses the repository path of spec at the site registry: the
// source repository for registry references (library/nginx for nginx:1.7.9),
// and the spec name for local sources.
func Repository(spec Spec) string {
	src, err := ParseSource(spec.Ref)
	if err == nil && src.Kind == Registry {
		return src.Ref.Context().RepositoryStr()
	}
	return registry.RepositoryName(spec.Name)
}
