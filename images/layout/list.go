package layout

import (
	"context"
	"encoding/json"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Entry is one image of an OCI layout, as `bundle images list` shows it.
type Entry struct {
	Name string `json:"name"`
	// Source is the reference the image was mirrored from (local sources
	// by kind and base name).
	Source string `json:"source"`
	// Digest is the stored manifest or index: what the site registry
	// serves and the apps pin.
	Digest string `json:"digest"`
	// SourceDigest is what Source resolved to (what the lock pins); it
	// differs from Digest after a platform selection or a conversion.
	SourceDigest string `json:"source_digest"`
	Repository   string `json:"repository"`
	Tag          string `json:"tag,omitempty"`
	// MediaType is the stored manifest's or index's media type;
	// MediaTypes the mode it was stored with (preserve or oci).
	MediaType  string     `json:"media_type"`
	MediaTypes MediaTypes `json:"media_types"`
	Platforms  []string   `json:"platforms"`
	// Size is the bytes of every blob the image needs, each counted once.
	Size int64 `json:"size"`
}

// List describes the images of the OCI layout at layoutDir, in index.json
// order (sorted by name in layouts Mirror wrote). It reads index.json and
// the manifests, not the layers.
func List(layoutDir string) ([]Entry, error) {
	g, err := LoadDir(layoutDir)
	if err != nil {
		return nil, err
	}
	return g.list(), nil
}

// ListStream is List for a layout read as a stream.
func ListStream(ctx context.Context, walk WalkFunc) ([]Entry, error) {
	g, err := LoadStream(ctx, walk)
	if err != nil {
		return nil, err
	}
	return g.list(), nil
}

func (g *Graph) list() []Entry {
	out := make([]Entry, 0, len(g.Entries))
	for _, d := range g.Entries {
		a := d.Annotations
		e := Entry{
			Name:         a[AnnotationName],
			Source:       a[AnnotationSource],
			Digest:       d.Digest.String(),
			SourceDigest: a[AnnotationSourceDigest],
			Repository:   a[AnnotationRepository],
			Tag:          a[AnnotationTag],
			MediaType:    string(d.MediaType),
			MediaTypes:   Preserve,
			Platforms:    []string{},
		}
		if e.Name == "" {
			e.Name = a[AnnotationRefName]
		}
		if e.SourceDigest == "" {
			e.SourceDigest = e.Digest
		}
		if a[AnnotationMediaTypes] == string(OCI) {
			e.MediaTypes = OCI
		}
		e.Platforms, e.Size = g.describe(d)
		out = append(out, e)
	}
	return out
}

// describe gives the platforms an entry provides and the size of all its
// blobs (each counted once).
func (g *Graph) describe(d v1.Descriptor) ([]string, int64) {
	docs, blobs, _ := g.Reach(d) // a manifest that does not parse counts alone
	var size int64
	for _, x := range append(docs, blobs...) {
		size += x.Size
	}
	platforms := []string{}
	if d.MediaType.IsIndex() {
		var im v1.IndexManifest
		if json.Unmarshal(g.Docs[d.Digest], &im) == nil {
			for _, c := range im.Manifests {
				if c.Platform != nil && c.Platform.OS != "unknown" {
					platforms = append(platforms, c.Platform.String())
				}
			}
		}
	} else if d.Platform != nil {
		platforms = append(platforms, d.Platform.String())
	}
	if len(platforms) == 0 && d.Annotations[AnnotationPlatforms] != "" {
		platforms = strings.Split(d.Annotations[AnnotationPlatforms], ",")
	}
	return platforms, size
}
