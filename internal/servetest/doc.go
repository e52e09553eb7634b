// Package servetest runs a cluster of real processes for tests: `onecall
// serve` nodes (built once per test binary, own configs, data directories
// and free ports on 127.0.0.1, restartable after kill -9), Kamailio in the
// foreground under a guard shell, SIPp citizens and agents' consoles over
// WebSocket. The Kamailio tests (deploy/kamailio) and the cluster's
// acceptance test (deploy/acceptance) share it. (cluster/clustertest, by
// contrast, starts cluster nodes inside the test process.)
package servetest
