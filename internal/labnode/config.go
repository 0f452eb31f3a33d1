package labnode

import (
	"fmt"
	"path/filepath"
)

// containerdConfig: the CRI plugin with runc, the lab's CNI, PauseImage as
// the sandbox, and every state path under the node's folder.
func containerdConfig(c Config) string {
	return fmt.Sprintf(`version = 2
root = %q
state = %q
[grpc]
  address = %q
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = %q
  # No CAP_SYS_RESOURCE here: a negative oom_score_adj is refused, so keep
  # every container's no lower than containerd's own.
  restrict_oom_score_adj = true
  # Pod network namespaces under the state folder, not /var/run/netns.
  netns_mounts_under_state_dir = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = %q
    conf_dir = %q
`, c.node("containerd", "root"), c.node("containerd", "state"), ContainerdSocket, PauseImage, CNIBinDir, c.node("cni"))
}

// cniConfig: a bridge on PodCIDR, leases kept in the node's folder.
func cniConfig(c Config) string {
	return fmt.Sprintf(`{"cniVersion": "0.4.0", "name": %q, "plugins": [
  {"type": "bridge", "bridge": "cni0", "isGateway": true, "ipMasq": false, "hairpinMode": true,
   "ipam": {"type": "host-local", "dataDir": %q, "ranges": [[{"subnet": %q}]], "routes": [{"dst": "0.0.0.0/0"}]}},
  {"type": "portmap", "capabilities": {"portMappings": true}}
]}
`, c.CNINetwork(), c.node("ipam"), PodCIDR)
}

// kubeletConfig: cgroup v1 allowed, the lab's cgroup root, no
// authentication beyond the namespace (nothing outside can reach it), and
// eviction thresholds that a busy CI disk never crosses.
func kubeletConfig(c Config) string {
	return fmt.Sprintf(`apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
failCgroupV1: false
cgroupDriver: cgroupfs
cgroupRoot: %s
enforceNodeAllocatable: []
containerRuntimeEndpoint: unix://%s
address: %s
port: 10250
readOnlyPort: 0
authentication:
  anonymous:
    enabled: true
  webhook:
    enabled: false
authorization:
  mode: AlwaysAllow
failSwapOn: false
resolvConf: %s
podLogsDir: %s
evictionHard:
  memory.available: "1Mi"
  nodefs.available: "1%%"
  imagefs.available: "1%%"
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
serializeImagePulls: false
`, c.CgroupRoot(), ContainerdSocket, NodeIP, c.node("kubelet", "resolv.conf"), c.node("pod-logs"))
}

// kubeProxyConfig: iptables mode; no conntrack sysctls (the namespace's own
// defaults stand).
func kubeProxyConfig(c Config) string {
	return fmt.Sprintf(`apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: iptables
clusterCIDR: %s
hostnameOverride: %s
bindAddress: %s
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
nodePortAddresses: ["primary"]
conntrack:
  maxPerCore: 0
  min: 0
  tcpEstablishedTimeout: 0s
  tcpCloseWaitTimeout: 0s
clientConnection:
  kubeconfig: %s
`, PodCIDR, NodeName, NodeIP, filepath.Clean(c.Kubeconfig))
}
