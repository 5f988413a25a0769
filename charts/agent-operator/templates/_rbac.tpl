{{/* RBAC rules shared by the ClusterRole (cluster-wide mode) and the Roles (namespaced mode). */}}

{{- define "agent-operator.namespacedRules" -}}
- apiGroups: ["agentoperator.dev"]
  resources: ["agentdeployments"]
  verbs: ["list", "watch"]
- apiGroups: ["agentoperator.dev"]
  resources: ["agentdeployments/status"]
  verbs: ["patch"]
- apiGroups: ["agentoperator.dev"]
  resources: ["agentdeployments/finalizers"]
  verbs: ["update"]
- apiGroups: [""]
  resources: ["serviceaccounts", "configmaps", "services"]
  verbs: ["list", "watch", "create", "patch", "delete"]
- apiGroups: ["apps"]
  resources: ["deployments"]
  verbs: ["list", "watch", "create", "patch", "delete"]
- apiGroups: ["apps"]
  resources: ["replicasets"]
  verbs: ["list", "watch"]
- apiGroups: ["networking.k8s.io"]
  resources: ["networkpolicies"]
  verbs: ["list", "watch", "create", "patch", "delete"]
- apiGroups: ["policy"]
  resources: ["poddisruptionbudgets"]
  verbs: ["list", "watch", "create", "patch", "delete"]
- apiGroups: ["cilium.io"]
  resources: ["ciliumnetworkpolicies"]
  verbs: ["list", "watch", "create", "patch", "delete"]
- apiGroups: ["monitoring.coreos.com"]
  resources: ["servicemonitors", "prometheusrules"]
  verbs: ["list", "watch", "create", "patch", "delete"]
- apiGroups: ["apps"]
  resources: ["controllerrevisions"]
  verbs: ["list", "watch", "create", "patch", "delete"]
- apiGroups: ["batch"]
  resources: ["jobs"]
  verbs: ["list", "watch", "create"]
- apiGroups: [""]
  resources: ["pods"]
  verbs: ["list", "watch"]
# list and watch as metadata only (PartialObjectMetadata): which Secrets exist, never their values.
# get: the analysis runner reads the one Secret spec.analysis names for Prometheus credentials.
- apiGroups: [""]
  resources: ["secrets"]
  verbs: ["get", "list", "watch"]
- apiGroups: [""]
  resources: ["events"]
  verbs: ["create"]
{{- end }}
{{- define "agent-operator.clusterRules" -}}
- apiGroups: ["agentoperator.dev"]
  resources: ["readinesspolicies"]
  verbs: ["list", "watch"]
- apiGroups: ["apiextensions.k8s.io"]
  resources: ["customresourcedefinitions"]
  verbs: ["list", "watch"]
# The watch cache follows namespaces (labels, deletion, and which ones match the watched patterns).
- apiGroups: [""]
  resources: ["namespaces"]
  verbs: ["list", "watch"]
{{- if include "agent-operator.selfSignedWebhook" . }}
# The operator generated its own webhook certificate: it writes the CA into its two configurations.
- apiGroups: ["admissionregistration.k8s.io"]
  resources: ["validatingwebhookconfigurations", "mutatingwebhookconfigurations"]
  resourceNames: [{{ include "agent-operator.fullname" . | quote }}]
  verbs: ["get", "patch"]
{{- end }}
{{- end }}
{{- define "agent-operator.peeringRules" -}}
- apiGroups: ["kopf.dev"]
  resources: [{{ . | quote }}]
  verbs: ["get", "list", "watch"]
{{- end }}
{{- define "agent-operator.webhookCheckovSkip" -}}
{{- if include "agent-operator.selfSignedWebhook" . }}
annotations:
  checkov.io/skip1: "CKV_K8S_155=Self-signed webhook mode only: the operator writes its CA into its own two webhook configurations, named in resourceNames. With webhook.certManager.enabled this rule is not rendered."
{{- end }}
{{- end }}
