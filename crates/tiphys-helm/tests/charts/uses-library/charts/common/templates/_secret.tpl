{{- define "common.secret" -}}
apiVersion: v1
kind: Secret
metadata:
  name: {{ .Release.Name }}-secret
type: Opaque
data:
  {{- range $k, $v := .Values.secret }}
  {{ $k }}: {{ $v | b64enc }}
  {{- end }}
{{- end }}
