//! Parse and execute cost of a typical Helm chart template (the `helm create` Deployment with
//! its helpers), the unit of work Helm rendering repeats for every template of every chart.
#![allow(missing_docs, reason = "criterion_group! with a config generates an undocumented pub fn")]

use criterion::{Criterion, criterion_group, criterion_main};
use tiphys_gotemplate::{Context, FuncMap, MissingKey, Template, Value, func, sprig};

const HELPERS: &str = r#"{{/*
Expand the name of the chart.
*/}}
{{- define "app.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "app.fullname" -}}
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

{{- define "app.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "app.labels" -}}
helm.sh/chart: {{ include "app.chart" . }}
{{ include "app.selectorLabels" . }}
{{- if .Chart.AppVersion }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "app.selectorLabels" -}}
app.kubernetes.io/name: {{ include "app.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}
"#;

const DEPLOYMENT: &str = r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "app.fullname" . }}
  labels:
    {{- include "app.labels" . | nindent 4 }}
spec:
  {{- if not .Values.autoscaling.enabled }}
  replicas: {{ .Values.replicaCount }}
  {{- end }}
  selector:
    matchLabels:
      {{- include "app.selectorLabels" . | nindent 6 }}
  template:
    metadata:
      {{- with .Values.podAnnotations }}
      annotations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      labels:
        {{- include "app.labels" . | nindent 8 }}
    spec:
      containers:
        - name: {{ .Chart.Name }}
          image: "{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}"
          imagePullPolicy: {{ .Values.image.pullPolicy }}
          ports:
            {{- range $name, $port := .Values.ports }}
            - name: {{ $name }}
              containerPort: {{ $port }}
              protocol: TCP
            {{- end }}
          env:
            {{- range .Values.env }}
            - name: {{ .name | upper }}
              value: {{ .value | quote }}
            {{- end }}
          resources:
            {{- toYaml .Values.resources | nindent 12 }}
"#;

fn data() -> Value {
    Value::from_json_floats(&serde_json::json!({
        "Values": {
            "replicaCount": 3,
            "autoscaling": {"enabled": false},
            "podAnnotations": {"prometheus.io/scrape": "true", "checksum/config": "abc123"},
            "image": {"repository": "nginx", "tag": "", "pullPolicy": "IfNotPresent"},
            "ports": {"http": 80, "metrics": 9090},
            "env": [{"name": "log_level", "value": "info"}, {"name": "mode", "value": "prod"}],
            "resources": {"limits": {"cpu": "500m", "memory": "256Mi"}, "requests": {"cpu": "100m", "memory": "128Mi"}}
        },
        "Chart": {"Name": "app", "Version": "1.2.3", "AppVersion": "2.0.0"},
        "Release": {"Name": "prod", "Namespace": "default", "Service": "Helm"}
    }))
}

fn funcs() -> FuncMap {
    let mut f = sprig::functions(&sprig::SprigEnv {
        now: jiff::Timestamp::UNIX_EPOCH.to_zoned(jiff::tz::TimeZone::UTC),
        seed: 1,
    });
    f.insert(
        "include".into(),
        func(|ctx: &mut Context<'_>, a: &[Value]| {
            let name = a.first().and_then(Value::as_str).unwrap_or_default().to_string();
            let set = ctx.set();
            ctx.execute(set, &name, &a.get(1).cloned().unwrap_or_default()).map(Value::from)
        }),
    );
    f
}

fn parse(funcs: &FuncMap) -> Template {
    let mut set = Template::with_funcs("chart", funcs.clone());
    set.set_missing_key(MissingKey::Zero);
    set.parse("app/templates/_helpers.tpl", HELPERS).expect("helpers parse");
    set.parse("app/templates/deployment.yaml", DEPLOYMENT).expect("deployment parses");
    set
}

fn bench(c: &mut Criterion) {
    let funcs = funcs();
    let data = data();
    let set = parse(&funcs);
    let out = set.execute("app/templates/deployment.yaml", &data).expect("renders");
    assert!(out.contains("containerPort: 9090"), "{out}");
    c.bench_function("parse helpers+deployment", |b| b.iter(|| parse(&funcs)));
    c.bench_function("execute deployment (parsed)", |b| {
        b.iter(|| set.execute("app/templates/deployment.yaml", &data).expect("renders"))
    });
    c.bench_function("parse+execute deployment", |b| {
        b.iter(|| parse(&funcs).execute("app/templates/deployment.yaml", &data).expect("renders"))
    });
    c.bench_function("build sprig FuncMap", |b| b.iter(funcs_only));
}

fn funcs_only() -> FuncMap {
    sprig::functions(&sprig::SprigEnv {
        now: jiff::Timestamp::UNIX_EPOCH.to_zoned(jiff::tz::TimeZone::UTC),
        seed: 1,
    })
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30).measurement_time(std::time::Duration::from_secs(3));
    targets = bench
}
criterion_main!(benches);
