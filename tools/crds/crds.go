// Package crds pins, through this module's go.mod and go.sum, the modules
// whose custom resource definitions the lab installs: the Gateway API's
// standard channel (config/crd/standard) and Envoy Gateway's policies
// (charts/gateway-helm/charts/crds/crds/generated). Nothing builds it; the
// imports only keep `go mod tidy` from dropping the pins. The Makefile
// copies the CRDs out of the module cache (go mod download), so a version
// bump here is a version bump in the lab, with nothing downloaded from
// anywhere but the Go module proxy.
package crds

import (
	_ "github.com/envoyproxy/gateway/api/v1alpha1"
	_ "sigs.k8s.io/gateway-api/apis/v1"
)
