{{- define "blocks.item" -}}
- name: {{ .name }}
  index: {{ .index }}
  release: {{ .root.Release.Name }}
{{- end -}}
{{- define "blocks.override" -}}overridden{{- end -}}
