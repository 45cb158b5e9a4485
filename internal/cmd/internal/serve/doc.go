// Package serve holds what the demo stand-in commands (bde-standin,
// marathon-standin, chronos-standin) share: print the stand-in's address
// as an environment assignment and serve until interrupted.
package serve
