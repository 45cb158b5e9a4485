// Package fences has no code of its own: its tests turn the layering rules
// that DESIGN.md, README.md and docs/compiler.md state into checks over
// `go list` output and the library sources.
//
//   - The compiler imports no repo, images or out package (directly or not).
//   - Data flows one way: hcl imports none of compiler, repo, images, out or
//     pipeline; repo and images import no out or pipeline package; no
//     library imports the CLI.
//   - Only out/vcenter imports govmomi (besides the govc and vcsim stand-ins
//     under internal/cmd).
//   - Nothing below cmd prints: library packages do not use fmt.Print*,
//     print/println, the log package's printing functions, os.Stdout or
//     os.Stderr.
package fences
