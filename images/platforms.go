package images

import (
	"fmt"
	"slices"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
)

func parsePlatforms(ps []string) ([]v1.Platform, error) {
	var out []v1.Platform
	for _, s := range ps {
		p, err := v1.ParsePlatform(s)
		if err != nil || p.OS == "" || p.Architecture == "" {
			return nil, fmt.Errorf("invalid platform %q: want os/arch[/variant], such as linux/amd64", s)
		}
		if !slices.ContainsFunc(out, func(q v1.Platform) bool { return q.Equals(*p) }) {
			out = append(out, *p)
		}
	}
	return out, nil
}

// selectPlatforms applies a platform selection to an artifact.
func selectPlatforms(a artifact, platforms []string) (artifact, error) {
	want, err := parsePlatforms(platforms)
	if err != nil || len(want) == 0 || a.preselected {
		return a, err
	}
	if a.img != nil {
		cf, err := a.img.ConfigFile()
		if err != nil {
			return artifact{}, fmt.Errorf("reading image config: %w", err)
		}
		have := cf.Platform()
		if have == nil {
			have = &v1.Platform{}
		}
		if len(want) > 1 {
			return artifact{}, fmt.Errorf("platforms %q requested but the source is a single-platform image (%s)", platforms, have)
		}
		if !have.Satisfies(want[0]) {
			return artifact{}, fmt.Errorf("platform %s not available: the source is a single-platform image for %s", want[0], have)
		}
		return a, nil
	}
	im, err := a.idx.IndexManifest()
	if err != nil {
		return artifact{}, fmt.Errorf("reading index: %w", err)
	}
	var picked []v1.Descriptor
	for _, w := range want {
		i := slices.IndexFunc(im.Manifests, func(d v1.Descriptor) bool {
			return d.Platform != nil && d.Platform.Satisfies(w)
		})
		if i < 0 {
			var have []string
			for _, d := range im.Manifests {
				if d.Platform != nil {
					have = append(have, d.Platform.String())
				}
			}
			return artifact{}, fmt.Errorf("platform %s not in the index (it has %s)", w, strings.Join(have, ", "))
		}
		if !slices.ContainsFunc(picked, func(d v1.Descriptor) bool { return d.Digest == im.Manifests[i].Digest }) {
			picked = append(picked, im.Manifests[i])
		}
	}
	if len(want) == 1 {
		d := picked[0]
		if !d.MediaType.IsImage() {
			return artifact{}, fmt.Errorf("platform %s: entry %s is a %s, not an image", want[0], d.Digest, d.MediaType)
		}
		img, err := a.idx.Image(d.Digest)
		if err != nil {
			return artifact{}, fmt.Errorf("platform %s: %w", want[0], err)
		}
		return artifact{img: img}, nil
	}
	keep := map[v1.Hash]bool{}
	for _, d := range picked {
		keep[d.Digest] = true
	}
	idx := mutate.RemoveManifests(a.idx, func(d v1.Descriptor) bool { return !keep[d.Digest] })
	return artifact{idx: idx}, nil
}
