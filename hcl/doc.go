// Package hcl loads a bundle site definition: one .hcl file or a directory of
// them. It decodes the blocks of the definition language (bundle, variable,
// locals, storage_profile, repo, distro, cluster, app, image, vm_template,
// vcenter) into typed structs that keep their source ranges, evaluates
// variables (defaults, --var, --var-file, BUNDLE_VAR_name) and locals, resolves
// references between blocks, and reports every user error as an
// hcl.Diagnostic with file:line:col. It also formats definitions (bundle fmt).
//
// Inside this package "hcl" names github.com/hashicorp/hcl/v2; other packages
// import this one as def.
package hcl
