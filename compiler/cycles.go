package compiler

import (
	"slices"
	"strings"
)

// reportCycles walks from each of nodes, in order, along next (a job's
// parents, an app's dependencies) and calls report once for each way back
// to a node already on the path, with that node and the cycle it closes,
// written "a → b → a".
func reportCycles[T comparable](nodes []T, next func(T) []T, name func(T) string, report func(n T, cycle string)) {
	state := map[T]int{} // 1 on the path, 2 done
	var visit func(n T, path []string)
	visit = func(n T, path []string) {
		switch state[n] {
		case 2:
			return
		case 1:
			i := slices.Index(path, name(n))
			cycle := append(slices.Clone(path[i:]), name(n))
			report(n, strings.Join(cycle, " → "))
			return
		}
		state[n] = 1
		for _, m := range next(n) {
			visit(m, append(path, name(n)))
		}
		state[n] = 2
	}
	for _, n := range nodes {
		visit(n, nil)
	}
}
