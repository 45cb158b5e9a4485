//go:build tools

// Package tools pins the modules the project builds on, so that `go mod tidy`
// keeps them (and their exact versions) in go.mod while packages are added.
package tools

import (
	_ "github.com/ProtonMail/go-crypto/openpgp"
	_ "github.com/agext/levenshtein"
	_ "github.com/google/go-containerregistry/pkg/crane"
	_ "github.com/google/go-containerregistry/pkg/registry"
	_ "github.com/google/go-containerregistry/pkg/v1/layout"
	_ "github.com/google/go-containerregistry/pkg/v1/random"
	_ "github.com/google/go-containerregistry/pkg/v1/remote"
	_ "github.com/google/go-containerregistry/pkg/v1/tarball"
	_ "github.com/google/go-containerregistry/pkg/v1/validate"
	_ "github.com/google/rpmpack"
	_ "github.com/hashicorp/hcl/v2/ext/typeexpr"
	_ "github.com/hashicorp/hcl/v2/gohcl"
	_ "github.com/hashicorp/hcl/v2/hclparse"
	_ "github.com/hashicorp/hcl/v2/hclwrite"
	_ "github.com/klauspost/compress/zstd"
	_ "github.com/pmezard/go-difflib/difflib"
	_ "github.com/sassoftware/go-rpmutils"
	_ "github.com/spf13/cobra"
	_ "github.com/vbauerster/mpb/v8"
	_ "github.com/vmware/govmomi"
	_ "github.com/vmware/govmomi/cli"
	_ "github.com/vmware/govmomi/ovf/importer"
	_ "github.com/vmware/govmomi/simulator"
	_ "github.com/vmware/govmomi/vapi/library"
	_ "github.com/vmware/govmomi/vapi/simulator"
	_ "github.com/vmware/govmomi/vmdk"
	_ "github.com/zclconf/go-cty/cty/function/stdlib"
	_ "golang.org/x/sync/errgroup"
	_ "golang.org/x/term"
)
