{{/*
The chart's name, and the full name of the release's objects (at most 63
characters: a DNS label).
*/}}
{{- define "vitals.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "vitals.fullname" -}}
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

{{- define "vitals.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Standard labels of every object. */}}
{{- define "vitals.labels" -}}
{{- $labels := dict
  "helm.sh/chart" (include "vitals.chart" .)
  "app.kubernetes.io/version" (.Values.image.tag | default .Chart.AppVersion | toString | trunc 63 | trimSuffix "-")
  "app.kubernetes.io/managed-by" .Release.Service
  "app.kubernetes.io/part-of" "vitals" }}
{{- /* The chart's own labels win over commonLabels. */}}
{{- toYaml (merge (include "vitals.selectorLabels" . | fromYaml) $labels .Values.commonLabels) }}
{{- end }}

{{/* The standard labels plus `extra` (a dict); the selector labels always win. */}}
{{- define "vitals.labelsWith" -}}
{{- toYaml (merge (include "vitals.selectorLabels" .root | fromYaml) (.extra | default dict) (include "vitals.labels" .root | fromYaml)) }}
{{- end }}

{{/* The labels that select the pods (never change them after an install). */}}
{{- define "vitals.selectorLabels" -}}
app.kubernetes.io/name: {{ include "vitals.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "vitals.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "vitals.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* image@digest or image:tag (default: the appVersion). */}}
{{- define "vitals.imageRef" -}}
{{- if .digest }}
{{- printf "%s@%s" .repository .digest }}
{{- else }}
{{- printf "%s:%s" .repository (toString .tag) }}
{{- end }}
{{- end }}

{{- define "vitals.image" -}}
{{- include "vitals.imageRef" (dict "repository" .Values.image.repository "digest" .Values.image.digest "tag" (.Values.image.tag | default .Chart.AppVersion)) }}
{{- end }}

{{/* vitals.toml as rendered (config.vitalsToml through tpl). */}}
{{- define "vitals.vitalsToml" -}}
{{- tpl .Values.config.vitalsToml . }}
{{- end }}

{{/*
vitals.toml parsed, as JSON ({} when it has no content); rendering fails with
TOML's message when it does not parse.
*/}}
{{- define "vitals.parsedToml" -}}
{{- $parsed := fromToml (include "vitals.vitalsToml" .) }}
{{- if hasKey $parsed "Error" }}
{{- fail (printf "config.vitalsToml is not valid TOML: %s" $parsed.Error) }}
{{- end }}
{{- toJson $parsed }}
{{- end }}

{{/*
"true" when a kubernetes endpoint of vitals.toml is in_cluster = true, else "".
*/}}
{{- define "vitals.inCluster" -}}
{{- $cfg := include "vitals.parsedToml" . | fromJson }}
{{- $found := false }}
{{- range $cluster, $c := ($cfg.clusters | default dict) }}
{{- if kindIs "map" $c }}
{{- range $endpoint, $e := ($c.endpoints | default dict) }}
{{- if and (kindIs "map" $e) (eq (toString $e.kind) "kubernetes") (eq (toString $e.in_cluster) "true") }}
{{- $found = true }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
{{- if $found }}true{{ end }}
{{- end }}

{{/* automountServiceAccountToken: serviceAccount.automountToken, "auto" from the config. */}}
{{- define "vitals.automountToken" -}}
{{- $v := .Values.serviceAccount.automountToken }}
{{- if eq (toString $v) "auto" }}
{{- if include "vitals.inCluster" . }}true{{ else }}false{{ end }}
{{- else }}
{{- ternary "true" "false" $v }}
{{- end }}
{{- end }}

{{/*
Seconds of a humantime duration as vitals parses them ("20s", "1m", "1m 30s",
"500ms", "2h"); fails on anything else.
*/}}
{{- define "vitals.durationSeconds" -}}
{{- $total := 0.0 }}
{{- $s := . | toString | trim }}
{{- if not (regexMatch "^([0-9]+(\\.[0-9]+)? *(ms|msec|s|sec|secs|second|seconds|m|min|mins|minute|minutes|h|hr|hrs|hour|hours|d|day|days) *)+$" $s) }}
{{- fail (printf "cannot read the duration %q (e.g. \"20s\", \"1m30s\")" $s) }}
{{- end }}
{{- range regexFindAll "[0-9]+(\\.[0-9]+)? *[a-z]+" $s -1 }}
{{- $n := regexFind "^[0-9]+(\\.[0-9]+)?" . | float64 }}
{{- $unit := regexFind "[a-z]+$" . }}
{{- $mult := 1.0 }}
{{- if has $unit (list "ms" "msec") }}{{ $mult = 0.001 }}
{{- else if has $unit (list "m" "min" "mins" "minute" "minutes") }}{{ $mult = 60.0 }}
{{- else if has $unit (list "h" "hr" "hrs" "hour" "hours") }}{{ $mult = 3600.0 }}
{{- else if has $unit (list "d" "day" "days") }}{{ $mult = 86400.0 }}
{{- end }}
{{- $total = addf $total (mulf $n $mult) }}
{{- end }}
{{- $total }}
{{- end }}

{{/*
The timeout of a check in seconds: its file's `timeout`, else [defaults] timeout
of vitals.toml, else vitals' default (30s). The check is found by its `name`
key or its file name. Fails when no check has that name.
*/}}
{{- define "vitals.checkTimeoutSeconds" -}}
{{- $root := .root }}
{{- $want := .check }}
{{- $cfg := include "vitals.parsedToml" $root | fromJson }}
{{- $timeout := "30s" }}
{{- if and (kindIs "map" $cfg.defaults) $cfg.defaults.timeout }}
{{- $timeout = $cfg.defaults.timeout }}
{{- end }}
{{- $found := false }}
{{- range $file, $src := $root.Values.config.checks }}
{{- $check := fromToml (tpl $src $root) }}
{{- if hasKey $check "Error" }}
{{- fail (printf "config.checks.%s is not valid TOML: %s" $file $check.Error) }}
{{- end }}
{{- $name := $check.name | default (trimSuffix ".toml" $file) }}
{{- if eq $name $want }}
{{- $found = true }}
{{- if $check.timeout }}{{ $timeout = $check.timeout }}{{ end }}
{{- end }}
{{- end }}
{{- if not $found }}
{{- fail (printf "serviceMonitor.probes: no check named %q in config.checks" $want) }}
{{- end }}
{{- include "vitals.durationSeconds" $timeout }}
{{- end }}

{{/*
Whether the cluster serves a Prometheus Operator kind: "true" or "". With the
API discovery of a real cluster, Helm lists "monitoring.coreos.com/v1/KIND" for
each installed CRD, and the kind itself must be there; `helm template
--api-versions monitoring.coreos.com/v1` names only the group version, which
then stands for all of its kinds.
*/}}
{{- define "vitals.hasMonitoringKind" -}}
{{- $caps := .root.Capabilities.APIVersions }}
{{- if $caps.Has (printf "monitoring.coreos.com/v1/%s" .kind) }}true
{{- else if $caps.Has "monitoring.coreos.com/v1" }}
{{- $kinds := false }}
{{- range $caps }}
{{- if hasPrefix "monitoring.coreos.com/v1/" . }}{{ $kinds = true }}{{ end }}
{{- end }}
{{- if not $kinds }}true{{ end }}
{{- end }}
{{- end }}

{{/*
The job label the ServiceMonitor gives /metrics: the value of the Service's label
serviceMonitor.jobLabel, else (as the operator does) the Service's name.
*/}}
{{- define "vitals.jobName" -}}
{{- $labels := include "vitals.labelsWith" (dict "root" . "extra" .Values.service.labels) | fromYaml }}
{{- $job := "" }}
{{- with .Values.serviceMonitor.jobLabel }}{{ $job = index $labels . | default "" }}{{ end }}
{{- $job | default (include "vitals.fullname" .) }}
{{- end }}

{{/* The ConfigMap's key of a check file (keys cannot hold "/"). */}}
{{- define "vitals.checkKey" -}}
{{- printf "checks.d_%s" . }}
{{- end }}

{{/*
The pod spec of both modes. Arguments: root (the chart's context), args (the
vitals command line after the binary), restartPolicy, ports (bool: serve's
port, probes and the reloader), output (bool: the report volume).
*/}}
{{- define "vitals.podSpec" -}}
{{- $root := .root }}
{{- $v := $root.Values }}
{{- $arp := $v.arpProbe.enabled }}
{{- /* ARP needs CAP_NET_RAW, which only uid 0 gets from the capabilities added here
     (the image has no file capability: exec would fail wherever NET_RAW is not
     in the bounding set, that is in every locked-down pod). */}}
{{- $asRoot := $arp }}
serviceAccountName: {{ include "vitals.serviceAccountName" $root }}
automountServiceAccountToken: {{ include "vitals.automountToken" $root }}
{{- with $v.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- if .restartPolicy }}
restartPolicy: {{ .restartPolicy }}
{{- end }}
{{- with $v.priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
terminationGracePeriodSeconds: {{ $v.terminationGracePeriodSeconds }}
enableServiceLinks: false
{{- if $arp }}
hostNetwork: true
dnsPolicy: ClusterFirstWithHostNet
{{- end }}
{{- $podSC := deepCopy $v.podSecurityContext }}
{{- if $asRoot }}
{{- $_ := set $podSC "runAsNonRoot" false }}
{{- $_ := set $podSC "runAsUser" 0 }}
{{- end }}
securityContext:
  {{- toYaml $podSC | nindent 2 }}
containers:
  - name: vitals
    image: {{ include "vitals.image" $root | quote }}
    imagePullPolicy: {{ $v.image.pullPolicy }}
    args:
      {{- range .args }}
      - {{ . | quote }}
      {{- end }}
      {{- range $v.extraArgs }}
      - {{ . | quote }}
      {{- end }}
    {{- if .ports }}
    ports:
      - name: http-metrics
        containerPort: {{ $v.serve.port }}
        protocol: TCP
    {{- with $v.serve.startupProbe }}
    startupProbe:
      {{- toYaml . | nindent 6 }}
    {{- end }}
    {{- with $v.serve.livenessProbe }}
    livenessProbe:
      {{- toYaml . | nindent 6 }}
    {{- end }}
    {{- with $v.serve.readinessProbe }}
    readinessProbe:
      {{- toYaml . | nindent 6 }}
    {{- end }}
    {{- end }}
    {{- with concat (.env | default list) ($v.env | default list) }}
    env:
      {{- toYaml . | nindent 6 }}
    {{- end }}
    {{- with $v.envFrom }}
    envFrom:
      {{- toYaml . | nindent 6 }}
    {{- end }}
    {{- $sc := deepCopy $v.securityContext }}
    {{- if $arp }}
    {{- $caps := deepCopy ($sc.capabilities | default dict) }}
    {{- $_ := set $caps "add" (append ($caps.add | default list) "NET_RAW" | uniq) }}
    {{- $_ := set $sc "capabilities" $caps }}
    {{- end }}
    securityContext:
      {{- toYaml $sc | nindent 6 }}
    {{- with $v.resources }}
    resources:
      {{- toYaml . | nindent 6 }}
    {{- end }}
    volumeMounts:
      - name: config
        mountPath: /etc/vitals
        readOnly: true
      - name: cache
        mountPath: /var/cache/vitals
      - name: tmp
        mountPath: /tmp
      {{- range $v.secretMounts }}
      - name: {{ .name }}
        mountPath: {{ .mountPath }}
        readOnly: true
      {{- end }}
      {{- if .output }}
      - name: output
        mountPath: {{ $v.cronjob.output.mountPath }}
      {{- end }}
      {{- with $v.extraVolumeMounts }}
      {{- toYaml . | nindent 6 }}
      {{- end }}
  {{- if and .ports $v.serve.configReloader.enabled }}
  {{- $r := $v.serve.configReloader }}
  - name: config-reloader
    image: {{ include "vitals.imageRef" $r.image | quote }}
    imagePullPolicy: {{ $r.image.pullPolicy }}
    args:
      - --volume-dir=/etc/vitals
      - --webhook-url=http://127.0.0.1:{{ $v.serve.port }}/-/reload
      - --webhook-method=POST
    securityContext:
      readOnlyRootFilesystem: true
      allowPrivilegeEscalation: false
      privileged: false
      capabilities:
        drop: [ALL]
      seccompProfile:
        type: RuntimeDefault
    {{- if $asRoot }}
      runAsNonRoot: true
      runAsUser: 65532
      runAsGroup: 65532
    {{- end }}
    {{- with $r.resources }}
    resources:
      {{- toYaml . | nindent 6 }}
    {{- end }}
    volumeMounts:
      - name: config
        mountPath: /etc/vitals
        readOnly: true
  {{- end }}
volumes:
  - name: config
    configMap:
      name: {{ include "vitals.fullname" $root }}
      items:
        - key: vitals.toml
          path: vitals.toml
        {{- range $file, $_ := $v.config.checks }}
        - key: {{ include "vitals.checkKey" $file }}
          path: checks.d/{{ $file }}
        {{- end }}
  - name: cache
    emptyDir:
      {{- with $v.cache.medium }}
      medium: {{ . }}
      {{- end }}
      {{- with $v.cache.sizeLimit }}
      sizeLimit: {{ . }}
      {{- end }}
  - name: tmp
    emptyDir:
      sizeLimit: 64Mi
  {{- range $v.secretMounts }}
  - name: {{ .name }}
    secret:
      secretName: {{ .secretName }}
      defaultMode: {{ .defaultMode | default 288 }}
      {{- if hasKey . "optional" }}
      optional: {{ .optional }}
      {{- end }}
      {{- with .items }}
      items:
        {{- toYaml . | nindent 8 }}
      {{- end }}
  {{- end }}
  {{- if .output }}
  {{- $o := $v.cronjob.output }}
  - name: output
    {{- if $o.existingClaim }}
    persistentVolumeClaim:
      claimName: {{ $o.existingClaim }}
    {{- else if $o.persistence.enabled }}
    persistentVolumeClaim:
      claimName: {{ include "vitals.fullname" $root }}-reports
    {{- else }}
    {{- toYaml $o.volume | nindent 4 }}
    {{- end }}
  {{- end }}
  {{- with $v.extraVolumes }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
{{- with $v.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $v.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $v.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $v.topologySpreadConstraints }}
topologySpreadConstraints:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/*
RBAC rules from values, resources sorted. Secrets and verbs other than get and
list are refused: vitals never needs them.
*/}}
{{- define "vitals.rules" -}}
{{- range . }}
{{- if has "secrets" .resources }}
{{- fail "rbac: vitals never reads Secrets (grants cannot name them); remove `secrets` from the rules" }}
{{- end }}
{{- range .verbs }}
{{- if not (has . (list "get" "list")) }}
{{- fail (printf "rbac: verb %q: vitals only needs get and list" .) }}
{{- end }}
{{- end }}
- apiGroups:
    {{- range .apiGroups }}
    - {{ . | quote }}
    {{- end }}
  resources:
    {{- range (.resources | sortAlpha) }}
    - {{ . | quote }}
    {{- end }}
  verbs:
    {{- range .verbs }}
    - {{ . }}
    {{- end }}
{{- end }}
{{- end }}

{{/* A text as the content of a "|" block at indentation 4, without trailing spaces. */}}
{{- define "vitals.block" -}}
{{- regexReplaceAll "(?m)^[ \t]+$" (trimSuffix "\n" . | nindent 4) "" }}
{{- end }}
