// A Deployment and its Service, computed from params.libsonnet.
local params = import 'params.libsonnet';
local labels = { app: params.name };

[
  {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: params.name },
    spec: {
      ports: [{ port: params.servicePort, targetPort: params.containerPort }],
      selector: labels,
      type: params.type,
    },
  },
  {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: params.name },
    spec: {
      replicas: params.replicas,
      revisionHistoryLimit: 3,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels: labels },
        spec: {
          containers: [
            {
              name: params.name,
              image: params.image,
              ports: [{ containerPort: params.containerPort }],
            },
          ],
        },
      },
    },
  },
]
