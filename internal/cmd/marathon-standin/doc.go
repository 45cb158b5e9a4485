// Command marathon-standin runs out/marathon/standin, the loopback
// stand-in of Marathon 0.8's REST API, for the demo. It prints
// MARATHON_URL=<its URL> and serves until interrupted. It is not a
// Marathon: nothing runs.
package main
