// Command registry serves go-containerregistry's in-memory registry on
// loopback, standing in for a site registry in the demo. It prints
// REGISTRY=127.0.0.1:PORT and serves until SIGINT or SIGTERM.
package main
