// Package gateway holds the migration test: ingress2gateway v1.1.0, used as
// a Go library, converts the platform's Ingress, and the test asserts what
// it produces for each of the team's lessons (docs/migrating-to-gateway-api.md
// is written from these assertions). It is a module of its own because
// ingress2gateway's dependencies (controller-runtime v0.22, Envoy Gateway,
// Istio, Kong, Helm) are not the harness's: in one module, Go's version
// selection would rebuild one or the other against versions it was not
// released with. `make test` runs it.
package gateway
