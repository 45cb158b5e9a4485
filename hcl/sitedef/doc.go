// Package sitedef loads a bundle site definition: one .hcl file or a directory of
// them. It decodes the blocks of the definition language (bundle, variable,
// locals, storage_profile, repo, distro, cluster, app, job, image,
// vm_template, vcenter, upgrade) into typed structs that keep their source ranges, evaluates
// variables (defaults, --var, --var-file, BUNDLE_VAR_name) and locals, resolves
// references between blocks, and reports every user error as an
// hcl.Diagnostic with file:line:col. It also formats definitions (bundle fmt).
//
// It lives under hcl/ with the definition language's other concerns; its
// name is not hcl, so that "hcl" always names github.com/hashicorp/hcl/v2
// (its Diagnostics, Range and Expression), here and in every importer.
package sitedef
