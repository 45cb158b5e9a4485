// Command chronos-standin runs out/chronos/standin, the loopback stand-in
// of Chronos 2.3's REST API, for the demo. It prints CHRONOS_URL=<its URL>
// and serves until interrupted. It is not a Chronos: nothing runs.
package main
