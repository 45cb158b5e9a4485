package sitedef

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoad feeds arbitrary bytes to the loader as a definition file (and as a
// variable file): it must return diagnostics, never panic. Crashers found by
// `go test -fuzz FuzzLoad ./hcl` are kept under testdata/fuzz/FuzzLoad.
func FuzzLoad(f *testing.F) {
	if src, err := os.ReadFile("../../examples/mesos-site/site.hcl"); err == nil {
		f.Add(src, []byte("bde_server = \"x\"\n"))
	}
	f.Add([]byte(`bundle "x" { version = "1" }`), []byte(""))
	f.Add([]byte("variable \"v\" {\n type = list(number)\n default = [1]\n validation {\n condition = length(var.v) > 0\n error_message = \"e\"\n }\n}\nlocals {\n a = local.b\n b = local.a\n}\n"), []byte("v = [\"x\"]\n"))
	f.Add([]byte("cluster \"c\" {\n distro = distro.d\n node_group \"g\" {\n roles = []\n instances = 1\n }\n}\napp \"a\" {\n cluster = cluster.c\n image = image.i[0]\n instances = 1\n cpus = 1\n mem = 1\n}\n"), []byte("x = 1"))
	f.Add([]byte("variable \"t\" {\n type = map(object({a=string}))\n}\n"), []byte("t = {k = {a = 1}}\n"))
	f.Fuzz(func(t *testing.T, src, vars []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "site.hcl"), src, 0o644); err != nil {
			t.Fatal(err)
		}
		vf := filepath.Join(dir, "x.vars.hcl")
		if err := os.WriteFile(vf, vars, 0o644); err != nil {
			t.Fatal(err)
		}
		d, diags := Load(dir, Options{VarFiles: []string{vf}, Vars: []string{"v=[1,2]", "t={}"}, Env: []string{"BUNDLE_VAR_bde_server=h"}})
		if d == nil {
			t.Fatal("Load returned a nil definition")
		}
		if diags.HasErrors() {
			return
		}
		if d.Bundle == nil {
			t.Fatal("no diagnostics, but no bundle block")
		}
	})
}
