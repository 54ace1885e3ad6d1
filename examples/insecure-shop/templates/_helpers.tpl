{{/* Prefix of every object name. */}}
{{- define "shop.fullname" -}}
{{- default .Release.Name .Values.fullnameOverride | trunc 50 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels on object metadata. Call with (dict "ctx" $ "component" "api"). */}}
{{- define "shop.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .ctx.Chart.Name .ctx.Chart.Version }}
app.kubernetes.io/managed-by: {{ .ctx.Release.Service }}
app.kubernetes.io/part-of: insecure-shop
{{ include "shop.selectorLabels" . }}
{{- end -}}

{{/* Pod labels and selectors. Call with (dict "ctx" $ "component" "api"). */}}
{{- define "shop.selectorLabels" -}}
app.kubernetes.io/name: insecure-shop
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "shop.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag }}
{{- end -}}
