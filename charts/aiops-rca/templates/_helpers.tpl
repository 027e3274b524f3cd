{{/* Names */}}
{{- define "aiops-rca.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "aiops-rca.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* "<fullname>-<component>" for a component given as .component in a dict with .root */}}
{{- define "aiops-rca.componentName" -}}
{{- printf "%s-%s" (include "aiops-rca.fullname" .root) .component | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "aiops-rca.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "aiops-rca.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: aiops-rca
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "aiops-rca.selectorLabels" -}}
app.kubernetes.io/name: {{ include "aiops-rca.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "aiops-rca.componentLabels" -}}
{{ include "aiops-rca.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "aiops-rca.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{- define "aiops-rca.incidentNamespace" -}}
{{- default .Release.Namespace .Values.incidentNamespace -}}
{{- end -}}

{{/* Environment shared by every component: settings ConfigMap and the namespace scope. */}}
{{- define "aiops-rca.commonEnvFrom" -}}
- configMapRef:
    name: {{ include "aiops-rca.fullname" . }}-config
{{- end -}}

{{/* Pod-level settings common to all components. */}}
{{- define "aiops-rca.podSpecCommon" -}}
{{- with .root.Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
serviceAccountName: {{ include "aiops-rca.componentName" . }}
automountServiceAccountToken: true
securityContext:
  {{- toYaml .root.Values.podSecurityContext | nindent 2 }}
{{- with .values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- if .root.Values.hostNetwork }}
hostNetwork: true
{{- end }}
{{- with .root.Values.dnsPolicy }}
dnsPolicy: {{ . }}
{{- end }}
{{- with .root.Values.dnsConfig }}
dnsConfig:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/* The verbs list for a component's RBAC rules, shared by Role and ClusterRole. */}}
{{- define "aiops-rca.rules.operator" -}}
- apiGroups: ["aiops-rca.io"]
  resources: ["incidents", "remediationattempts"]
  verbs: ["get", "list", "watch", "create", "patch", "update"]
{{- if gt (int .Values.operator.retention.incidentSeconds) 0 }}
# Retention deletes resolved Incidents (their attempts go with them, by owner reference).
- apiGroups: ["aiops-rca.io"]
  resources: ["incidents"]
  verbs: ["delete"]
{{- end }}
# The recurrence record: summaries of the incidents retention deleted.
- apiGroups: [""]
  resources: ["configmaps"]
  verbs: ["get", "create", "update"]
- apiGroups: ["aiops-rca.io"]
  resources: ["incidents/status", "remediationattempts/status", "remediationpolicies/status"]
  verbs: ["get", "patch", "update"]
- apiGroups: ["aiops-rca.io"]
  resources: ["remediationpolicies"]
  verbs: ["get", "list", "watch", "patch"]
- apiGroups: [""]
  resources: ["events"]
  verbs: ["create", "patch"]
- apiGroups: ["events.k8s.io"]
  resources: ["events"]
  verbs: ["create", "patch"]
{{- end -}}

{{- define "aiops-rca.rules.dashboard" -}}
- apiGroups: ["aiops-rca.io"]
  resources: ["incidents", "remediationattempts", "remediationpolicies"]
  verbs: ["get", "list", "watch"]
{{- end -}}

{{/* An Ingress for a component: dict with root, name, ingress (values), labels (rendered). */}}
{{- define "aiops-rca.ingress" -}}
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: {{ .name }}
  namespace: {{ .root.Release.Namespace }}
  labels:
    {{- .labels | nindent 4 }}
  {{- with .ingress.annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
spec:
  {{- with .ingress.className }}
  ingressClassName: {{ . }}
  {{- end }}
  {{- with .ingress.tls }}
  tls:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  rules:
    {{- $name := .name }}
    {{- range .ingress.hosts }}
    - host: {{ .host | quote }}
      http:
        paths:
          {{- range .paths }}
          - path: {{ . }}
            pathType: Prefix
            backend:
              service:
                name: {{ $name }}
                port:
                  name: http
          {{- end }}
    {{- end }}
---
{{- end -}}
