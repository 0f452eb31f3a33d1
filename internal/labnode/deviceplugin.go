package labnode

import (
	"fmt"
	"os"
)

// LabGPUImage is the stand-in device plugin's image (cmd/labgpu).
const LabGPUImage = "lab.local/labgpu:v1"

// LLMDImage is llm-d-inference-sim's image on the real node, in vLLM's
// place (manifests/components/lab-node).
const LLMDImage = "lab.local/llm-d-inference-sim:v0.10.2"

// LabLogImage is the stand-in ingress controller pod's image (cmd/lablog):
// it logs the access lines of the nginx that stands in for the controller.
const LabLogImage = "lab.local/lablog:v1"

// LabDCGMImage is the stand-in DCGM exporter's image (cmd/labdcgm): it
// serves recorded dcgm-exporter output, so the DCGM source is read through
// the lab's API server from a pod on the real node.
const LabDCGMImage = "lab.local/labdcgm:v1"

// DevicePluginSelector selects the stand-in device plugin's pods.
const DevicePluginSelector = "app.kubernetes.io/name=labgpu-device-plugin"

// DevicePluginManifest is the DaemonSet that runs cmd/labgpu on the real
// node, deployed as NVIDIA's device plugin is: the kubelet's device-plugin
// folder through a hostPath, /var/lib/kubelet/device-plugins (in the lab's
// mount namespace, the lab's own folder), tolerating every taint,
// node-critical. The node's allocatable nvidia.com/gpu then comes from the
// kubelet, through the plugin's registration.
func DevicePluginManifest(c Config) string {
	return fmt.Sprintf(`apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: labgpu-device-plugin
  namespace: kube-system
  labels:
    app.kubernetes.io/name: labgpu-device-plugin
spec:
  selector:
    matchLabels:
      app.kubernetes.io/name: labgpu-device-plugin
  template:
    metadata:
      labels:
        app.kubernetes.io/name: labgpu-device-plugin
    spec:
      nodeSelector:
        kubernetes.io/hostname: %s
      tolerations:
        - operator: Exists
      priorityClassName: system-node-critical
      containers:
        - name: labgpu
          image: %s
          imagePullPolicy: Never
          args: ["-dir", "/var/lib/kubelet/device-plugins", "-count", "1"]
          volumeMounts:
            - name: device-plugins
              mountPath: /var/lib/kubelet/device-plugins
      volumes:
        - name: device-plugins
          hostPath:
            path: %s
            type: Directory
`, NodeName, LabGPUImage, "/var/lib/kubelet/device-plugins")
}

// WriteDevicePluginManifest writes DevicePluginManifest into the node's
// folder and returns its path.
func WriteDevicePluginManifest(c Config) (string, error) {
	p := c.node("device-plugin.yaml")
	return p, os.WriteFile(p, []byte(DevicePluginManifest(c)), 0o644)
}
