package compiler

import "github.com/hashicorp/hcl/v2"

// emitTaskValues emits the env values and constraints of an app or a job
// (kind "app" or "job"), which reach its Marathon or Chronos JSON alike.
func emitTaskValues(emit func(occurrence), kind, name string, body hcl.Body, decl hcl.Range, env map[string]string, constraints [][]string) {
	k := kind + "." + name
	for _, n := range sortedKeys(env) {
		emit(attrOcc(body, "env", decl, "env "+n+" of "+kind+" "+name, env[n], k+".env"))
	}
	for _, con := range constraints {
		for _, s := range con {
			emit(attrOcc(body, "constraints", decl, kind+" "+name, s, k+".constraints"))
		}
	}
}

// emitEnvNames emits the env names of an app or a job (kind "app" or "job").
func emitEnvNames(emit func(occurrence), kind, name string, body hcl.Body, decl hcl.Range, env map[string]string) {
	for _, n := range sortedKeys(env) {
		emit(attrOcc(body, "env", decl, kind+" "+name, n, kind+"."+name+".env"))
	}
}
