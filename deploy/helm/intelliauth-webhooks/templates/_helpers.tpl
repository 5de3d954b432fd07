{{- define "intelliauth-webhooks.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The release name alone when it already says the chart's name, so `helm install intelliauth-webhooks` does not stutter. */}}
{{- define "intelliauth-webhooks.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "intelliauth-webhooks.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "intelliauth-webhooks.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "intelliauth-webhooks.selectorLabels" -}}
app.kubernetes.io/name: {{ include "intelliauth-webhooks.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* The api's and the worker's labels differ by component only: (list $ "api"). */}}
{{- define "intelliauth-webhooks.componentLabels" -}}
{{ include "intelliauth-webhooks.labels" (index . 0) }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end }}

{{- define "intelliauth-webhooks.componentSelectorLabels" -}}
{{ include "intelliauth-webhooks.selectorLabels" (index . 0) }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end }}

{{- define "intelliauth-webhooks.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end }}

{{/* The Secret the chart creates for the secrets given as values (secrets.*.value). */}}
{{- define "intelliauth-webhooks.secretName" -}}
{{ include "intelliauth-webhooks.fullname" . }}
{{- end }}

{{/*
An environment variable read from a Secret: (list $ "DATABASE_URL" .Values.secrets.databaseUrl). A value given in
the values lives in the chart's Secret; otherwise the Secret named by existingSecret is read.
*/}}
{{- define "intelliauth-webhooks.secretEnv" -}}
{{- $root := index . 0 }}
{{- $secret := index . 2 -}}
- name: {{ index . 1 }}
  valueFrom:
    secretKeyRef:
      {{- if $secret.value }}
      name: {{ include "intelliauth-webhooks.secretName" $root }}
      {{- else }}
      name: {{ required (printf "%s: name an existingSecret (or give a value)" (index . 1)) $secret.existingSecret }}
      {{- end }}
      key: {{ required (printf "%s: name the key of existingSecret" (index . 1)) $secret.key }}
{{- end }}

{{/* What the api and the worker both get: compose's x-app-env. */}}
{{- define "intelliauth-webhooks.sharedEnv" -}}
{{ include "intelliauth-webhooks.secretEnv" (list . "DATABASE_URL" .Values.secrets.databaseUrl) }}
{{ include "intelliauth-webhooks.secretEnv" (list . "SECRETS_MASTER_KEYS" .Values.secrets.secretsMasterKeys) }}
- name: TEMPORAL_ADDRESS
  value: {{ required "temporal.address: the Temporal frontend's host:port" .Values.temporal.address | quote }}
- name: TEMPORAL_NAMESPACE
  value: {{ .Values.temporal.namespace | quote }}
- name: TEMPORAL_TASK_QUEUE
  value: {{ .Values.temporal.taskQueue | quote }}
{{- include "intelliauth-webhooks.plainEnv" .Values.env }}
{{- end }}

{{- define "intelliauth-webhooks.plainEnv" -}}
{{- range $name, $value := . }}
- name: {{ $name }}
  value: {{ $value | toString | quote }}
{{- end }}
{{- end }}

{{- define "intelliauth-webhooks.podAnnotations" -}}
{{- $root := index . 0 -}}
prometheus.io/scrape: "true"
prometheus.io/port: {{ index . 1 | quote }}
prometheus.io/path: /metrics
{{- with $root.Values.podAnnotations }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Liveness on /healthz (the process answers), readiness on /readyz (Postgres and Temporal reached): (list "http" 120). */}}
{{- define "intelliauth-webhooks.probes" -}}
{{- $port := index . 0 -}}
startupProbe:
  httpGet:
    path: /healthz
    port: {{ $port }}
  periodSeconds: 5
  failureThreshold: {{ div (index . 1) 5 }}
livenessProbe:
  httpGet:
    path: /healthz
    port: {{ $port }}
  periodSeconds: 10
  timeoutSeconds: 5
  failureThreshold: 3
readinessProbe:
  httpGet:
    path: /readyz
    port: {{ $port }}
  periodSeconds: 10
  # /readyz gives each of its checks 2 s.
  timeoutSeconds: 5
  failureThreshold: 3
{{- end }}

{{/* The pod settings the api, the worker and the migration Job share. */}}
{{- define "intelliauth-webhooks.podSettings" -}}
# The product never calls the Kubernetes API.
automountServiceAccountToken: false
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
volumes:
  - name: tmp
    emptyDir:
      sizeLimit: {{ .Values.tmpSizeLimit }}
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/* A container's securityContext (its root filesystem read-only) and the writable /tmp beside it. */}}
{{- define "intelliauth-webhooks.containerSecurity" -}}
securityContext:
  {{- toYaml .Values.securityContext | nindent 2 }}
volumeMounts:
  - name: tmp
    mountPath: /tmp
{{- end }}
