// Command bundle compiles an HCL site definition into a self-contained,
// versioned, verifiable offline bundle for VMware BDE sites running Mesos,
// Marathon, Chronos, ZooKeeper, Docker and HAProxy, and deploys it to vCenter.
package main
