//! Rendering a 40-template chart with two subcharts: warm (parse cached, the controller's
//! steady state) and cold (load + parse + render).

#[path = "../../tiphys-diff/benches/support/cpu_time.rs"]
mod cpu_time;

use criterion::Criterion;
use serde_json::Map;
use tiphys_gotemplate::sprig::{SprigEnv, functions};
use tiphys_helm::{ChartFile, PreparedChart, TemplateOptions, load_files, template};

const HELPERS: &str = r#"
{{- define "app.fullname" -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- define "app.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end }}
"#;

const DEPLOYMENT: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "app.fullname" . }}-IDX
  labels:
    {{- include "app.labels" . | nindent 4 }}
spec:
  replicas: {{ .Values.replicas }}
  template:
    metadata:
      annotations:
        {{- toYaml .Values.podAnnotations | nindent 8 }}
    spec:
      containers:
        - name: app
          image: "{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}"
          env:
            {{- range $k, $v := .Values.env }}
            - name: {{ $k }}
              value: {{ $v | quote }}
            {{- end }}
          resources:
            {{- toYaml .Values.resources | nindent 12 }}
"#;

const VALUES: &str = r#"
replicas: 2
image: {repository: nginx, tag: ""}
podAnnotations: {a: "1", b: "2"}
env: {A: one, B: two, C: three, D: four}
resources: {limits: {cpu: 500m, memory: 128Mi}, requests: {cpu: 100m, memory: 64Mi}}
"#;

fn chart_files(name: &str, templates: usize) -> Vec<ChartFile> {
    let mut files = vec![
        ChartFile::new(
            "Chart.yaml",
            format!("apiVersion: v2\nname: {name}\nversion: 1.0.0\nappVersion: \"2.0\"\n"),
        ),
        ChartFile::new("values.yaml", VALUES),
        ChartFile::new("templates/_helpers.tpl", HELPERS),
    ];
    for i in 0..templates {
        files.push(ChartFile::new(
            format!("templates/t{i:02}.yaml"),
            DEPLOYMENT.replace("IDX", &i.to_string()),
        ));
    }
    files
}

fn forty_template_chart() -> Vec<ChartFile> {
    let mut files = chart_files("parent", 30);
    for sub in ["alpha", "beta"] {
        files.extend(
            chart_files(sub, 5)
                .into_iter()
                .map(|f| ChartFile::new(format!("charts/{sub}/{}", f.name), f.data)),
        );
    }
    files
}

fn sprig() -> tiphys_gotemplate::FuncMap {
    let now = jiff::Timestamp::UNIX_EPOCH.to_zoned(jiff::tz::TimeZone::UTC);
    functions(&SprigEnv { now, seed: 1 })
}

fn bench<M: criterion::measurement::Measurement + 'static>(c: &mut Criterion<M>, clock: &str) {
    let files = forty_template_chart();
    let opts = TemplateOptions::default();
    let values = Map::new();
    let Ok(chart) = load_files(files.clone()) else { return };
    let prepared = PreparedChart::new(chart.clone(), sprig());
    let first = prepared.template(&values, &opts);
    assert!(first.as_ref().is_ok_and(|t| t.matches("kind: Deployment").count() == 40), "{first:?}");
    c.bench_function(&format!("helm_template_40_templates_2_subcharts_warm_{clock}"), |b| {
        b.iter(|| prepared.template(&values, &opts));
    });
    let funcs = sprig();
    c.bench_function(&format!("helm_template_40_templates_2_subcharts_cold_{clock}"), |b| {
        b.iter(|| load_files(files.clone()).and_then(|chart| template(&chart, &values, &opts, &funcs)));
    });
}

cpu_time::main_wall_and_cpu!(bench);
