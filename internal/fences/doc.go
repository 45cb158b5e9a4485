// Package fences has no code of its own: its tests turn the layering rules
// that DESIGN.md, README.md and docs/compiler.md state into checks over
// `go list` output and the library sources.
//
//   - The compiler imports no repo, images or out package (directly or not)
//     but the bundle format's leaf, out/manifest (layout names, path and
//     digest checks), which imports no package of the module and does no
//     I/O (no os, io/fs, path/filepath, net, os/exec or syscall).
//   - Data flows one way: hcl imports none of compiler, repo, images, out or
//     pipeline; repo and images import no out or pipeline package; no
//     library imports the CLI.
//   - images splits by medium: the OCI layout (images/layout) imports
//     neither the registry package (images/registry) nor
//     go-containerregistry's remote nor the sources (images); the registry
//     push does not import the sources; only images and images/registry
//     (and images/internal/imagetest, for tests) import
//     go-containerregistry's remote, so every registry request follows
//     the one HTTP policy. internal/retry and internal/plainhttp, the one
//     retry and plain-HTTP policies, import no package of the module, and
//     no other library package tests for loopback hosts or compares
//     connection errnos (ECONNRESET, ECONNREFUSED, EPIPE) itself.
//   - out does one job per package. The format: the bundle.json schema
//     (out/manifest) depends on no other out package nor on compiler, repo,
//     images, sbom, provenance or pipeline; the archive format (out/archive)
//     on no out package but out/manifest and the volume format (out/volume:
//     an archive split into volumes, read as one stream), which depends on no
//     out package but out/manifest, and on none of those. Deltas (out/delta)
//     read bundles through the readers and never build or deploy. The readers:
//     out/read (bundle.json and small files of a directory or archive),
//     out/verify (verify, extract), out/inspect and out/diff each depend on
//     none of the others but out/read, nor on the builder (out), the
//     deployer (out/vcenter) or the compiler. out/vcenter reads bundles
//     through out/manifest only (no compiler, reader or archive package);
//     the builder (out) depends on no reader.
//   - repo splits by medium: the RPM reader (repo/rpm) and the signature
//     packets (repo/rpmsig) import nothing of the yum repository (repo)
//     nor its test fixtures (repo/internal/rpmfixture); rpmsig does not
//     import the reader either. Only tests import repo/internal/rpmfixture.
//   - pipeline is the one composition root: the CLI calls no function of
//     out/builder, out/archive, out/read, out/verify, out/volume, out/delta
//     or out/vcenter (it names their types to print results) and imports no
//     other out package but out/manifest, out/site (whose writers print the
//     deploy steps' plan and status) and the read-only readers, out/inspect
//     and out/diff, which it calls directly, as crane does; pipeline does
//     not import those (no forwarders). pipeline sequences the deploy's
//     steps (vcenter.Open, Apply, the image push, RecordImages, Finish,
//     Close): out/vcenter takes no func-valued field or parameter but the
//     event sink (Options.Events), the transport wrapper
//     (Config.WrapTransport) and the environment reader (ResolveTarget).
//   - One job, one package: only internal/inputfacts gathers the
//     compiler's facts (compiler.Wanted, the RPM scan cache), only
//     internal/lockfile pins images for bundle.lock.hcl (images.Lock).
//   - Only out/vcenter imports govmomi (besides the govc and vcsim stand-ins
//     under internal/cmd).
//   - Nothing below cmd prints: library packages do not use fmt.Print*,
//     print/println, the log package's printing functions, os.Stdout or
//     os.Stderr.
package fences
