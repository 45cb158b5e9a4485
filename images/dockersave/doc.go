// Package dockersave writes one container image as a `docker save` archive in
// the legacy layout that Docker before 1.6 loads with `docker load`: one
// directory per layer named by a v1 image id, holding VERSION ("1.0"), json
// (the v1 image metadata: id, parent, created, config) and layer.tar (the
// uncompressed layer), and a top-level repositories file mapping the
// repository and tag to the top layer's id. It also writes the manifest.json
// and config file of later `docker save` archives, which Docker 1.3 ignores,
// so skopeo's docker-archive transport and current Docker read it too.
//
// The v1 ids are computed from the content chain (the parent's id and the
// layer's diff_id; the top layer adds the config digest), so the same image
// always gives the same ids and the same archive bytes. Every layer is
// checked against the config's diff_ids as it is written. Read parses an
// archive the way Docker 1.3's load does, for tests and verification.
package dockersave
