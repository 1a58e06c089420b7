"""`gaia export kubernetes`: one Deployment (or Job) per app, a Service per web app,
a ConfigMap for `env`, references to Secrets for `env_file` values and TLS files.

Secret values are never written: manifests are meant to be committed, so the Secrets
are referenced by name and the comment above each object says how to create them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from gaia_runner.config.model import AppConfig, GaiaConfig, RestartPolicy
from gaia_runner.export import Unexportable, yaml
from gaia_runner.export.autoscaler import HPA_NOTE, autoscaled, autoscaler
from gaia_runner.export.ingress import behind_ingress, ingress_notes
from gaia_runner.export.kube_names import Component, Identity, kube_name, object_name
from gaia_runner.export.kube_notes import NO_TTL, secret_notes
from gaia_runner.export.mapping import (
    DRAIN_SECONDS,
    GRACE_MARGIN,
    IMAGE_USER_ID,
    Container,
    ContainerRunner,
    TlsPaths,
    container_for,
    container_path,
    env_files,
    env_table,
    quantity,
    seconds,
    unordered_note,
)

TLS_MOUNT = "/etc/gaia/tls"
# What the scheduler reserves per container when gaia.toml sets no memory limit: enough for a
# small Python server; an app's `memory` limit is its request too.
CPU_REQUEST = "100m"
MEMORY_REQUEST = "128Mi"


class Prestart(StrEnum):
    INIT = "init"  # initContainers: always before this pod serves, re-run on every rollout
    JOB = "job"  # one Job per apply: once per rollout, but ordering is up to the deployer


class TlsMode(StrEnum):
    INGRESS = "ingress"  # terminate at the ingress, like gaia's other proxies would
    APP = "app"  # mount the certificate and let the server terminate TLS


@dataclass(frozen=True)
class KubeOptions:
    image: str
    runner: ContainerRunner = ContainerRunner.SERVER
    prestart: Prestart = Prestart.INIT
    tls: TlsMode = TlsMode.INGRESS
    project: str | None = None  # prefixes every object name; default: the config's directory
    forwarded_allow_ips: tuple[str, ...] | None = None  # the ingress controller's network


@dataclass(frozen=True)
class Manifest:
    """One object: its file name in -o DIR and its YAML text (comments included)."""

    filename: str
    text: str


def _project(opts: KubeOptions) -> str:
    return opts.project or ""


def _name(app: AppConfig, opts: KubeOptions) -> str:
    return object_name(_project(opts), app.name)


def _identity(app: AppConfig, box: Container, opts: KubeOptions) -> Identity:
    component = Component.WEB if box.port is not None else Component.WORKER
    return Identity(_project(opts), app.name, component)


# Liveness restarts the container, so it waits this many times longer than readiness, which
# only takes the pod out of the Service: a slow database makes every pod unready for a
# while (traffic waits) without restarting them all at once (which would make it worse).
LIVENESS_PATIENCE = 3


def _probes(app: AppConfig, port_name: str, scheme: str) -> dict[str, Any]:
    if app.health is None:
        # No health path: the port accepting connections is the least a pod must show
        # before it gets traffic.
        return {"readinessProbe": {"tcpSocket": {"port": port_name}, "periodSeconds": 5}}
    get = {"path": app.health.path, "port": port_name, "scheme": scheme}
    timeout = seconds(app.health.timeout)
    period = seconds(app.health.interval)
    return {
        # gaia waits up to start_timeout for the first healthy answer, probing often.
        "startupProbe": {
            "httpGet": get,
            "periodSeconds": 1,
            "timeoutSeconds": timeout,
            "failureThreshold": max(1, math.ceil(app.start_timeout)),
        },
        "readinessProbe": {
            "httpGet": get,
            "periodSeconds": period,
            "timeoutSeconds": timeout,
            "failureThreshold": app.health.failures,
        },
        "livenessProbe": {
            "httpGet": get,
            "periodSeconds": period,
            "timeoutSeconds": timeout,
            "failureThreshold": app.health.failures * LIVENESS_PATIENCE,
        },
    }


def _env_from(
    config: GaiaConfig, app: AppConfig, has_env: bool, opts: KubeOptions
) -> list[dict[str, Any]]:
    name = _name(app, opts)
    refs: list[dict[str, Any]] = []
    if env_files(config, app):
        refs.append({"secretRef": {"name": f"{name}-env-file"}})
    if has_env:  # after the Secret: gaia's `env` overrides env_file values
        refs.append({"configMapRef": {"name": f"{name}-env"}})
    return refs


def _container(
    config: GaiaConfig, app: AppConfig, box: Container, opts: KubeOptions, has_env: bool
) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "name": kube_name(app.name),
        "image": opts.image,
        "command": [box.argv[0]],
        "args": list(box.argv[1:]),
        "workingDir": box.workdir,
    }
    env_from = _env_from(config, app, has_env, opts)
    if env_from:
        spec["envFrom"] = env_from
    spec["env"] = [
        {"name": "GAIA_APP", "value": app.name},
        {"name": "PYTHONUNBUFFERED", "value": "1"},
    ]
    if box.port is not None:
        spec["ports"] = [{"name": "http", "containerPort": box.port, "protocol": "TCP"}]
    if box.memory_limit is not None:
        amount = quantity(box.memory_limit)
        spec["resources"] = {"limits": {"memory": amount}, "requests": {"memory": amount}}
    if box.port is not None:
        spec.update(_probes(app, "http", "HTTPS" if _app_tls(app, opts) else "HTTP"))
    if box.port is not None:
        # Keep serving while the endpoint removal reaches every load balancer.
        spec["lifecycle"] = {"preStop": {"sleep": {"seconds": DRAIN_SECONDS}}}
    if _app_tls(app, opts):
        spec["volumeMounts"] = [{"name": "tls", "mountPath": TLS_MOUNT, "readOnly": True}]
    _harden(config, spec, low_port=box.port is not None and box.port < 1024)
    return spec


def _writable(config: GaiaConfig) -> dict[str, str]:
    """Volume name -> path of what must stay writable under a read-only root filesystem:
    /tmp (gunicorn's worker heartbeat files, tempfile) and gaia's state_dir, shared by the
    init containers and the app in one pod (a prestart that writes there is seen)."""
    return {"tmp": "/tmp", "state": container_path(config, config.gaia.state_dir)}


def _harden(config: GaiaConfig, container: dict[str, Any], low_port: bool) -> None:
    """Pod Security "restricted" for one container, and a read-only root filesystem."""
    capabilities: dict[str, Any] = {"drop": ["ALL"]}
    if low_port:  # the only capability "restricted" allows adding
        capabilities["add"] = ["NET_BIND_SERVICE"]
    container["securityContext"] = {
        "allowPrivilegeEscalation": False,
        "capabilities": capabilities,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
    }
    mounts = [{"name": n, "mountPath": p} for n, p in _writable(config).items()]
    container["volumeMounts"] = [*mounts, *container.get("volumeMounts", [])]
    container.setdefault("resources", {}).setdefault("requests", {})
    requests = container["resources"]["requests"]
    requests.setdefault("cpu", CPU_REQUEST)
    requests.setdefault("memory", MEMORY_REQUEST)


def _harden_pod(config: GaiaConfig, pod: dict[str, Any]) -> None:
    pod["automountServiceAccountToken"] = False  # gaia's apps never call the API server
    pod["securityContext"] = {
        "runAsNonRoot": True,
        "runAsUser": IMAGE_USER_ID,
        "runAsGroup": IMAGE_USER_ID,
        "fsGroup": IMAGE_USER_ID,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    pod["volumes"] = [{"name": n, "emptyDir": {}} for n in _writable(config)]


def _app_tls(app: AppConfig, opts: KubeOptions) -> bool:
    return app.is_https and opts.tls is TlsMode.APP and opts.runner is ContainerRunner.SERVER


def _tls_paths(app: AppConfig, opts: KubeOptions) -> TlsPaths | None:
    if not _app_tls(app, opts) or app.https is None:
        return None
    ca = f"{TLS_MOUNT}/ca.crt" if app.https.ca_certs else None
    return TlsPaths(f"{TLS_MOUNT}/tls.crt", f"{TLS_MOUNT}/tls.key", ca)


def _prestart_containers(config: GaiaConfig, app: AppConfig, opts: KubeOptions) -> list[Any]:
    base = {"image": opts.image, "workingDir": container_path(config, app.cwd)}
    out = []
    for number, step in enumerate(app.prestart, 1):
        item: dict[str, Any] = {"name": f"prestart-{number}", **base}
        item["command"], item["args"] = [step[0]], list(step[1:])
        out.append(item)
    return out


def _pod(
    config: GaiaConfig, app: AppConfig, box: Container, opts: KubeOptions, has_env: bool
) -> dict[str, Any]:
    main = _container(config, app, box, opts, has_env)
    pod: dict[str, Any] = {}
    if app.prestart and opts.prestart is Prestart.INIT and opts.runner is ContainerRunner.SERVER:
        steps = _prestart_containers(config, app, opts)
        for step in steps:
            step.update({k: main[k] for k in ("envFrom", "env") if k in main})
            _harden(config, step, low_port=False)
        pod["initContainers"] = steps
    pod["containers"] = [main]
    _harden_pod(config, pod)
    # After the preStop sleep and the server's own graceful stop, a margin before SIGKILL:
    # with none, a shutdown that used its whole budget was killed mid-way.
    pod["terminationGracePeriodSeconds"] = box.stop_seconds + DRAIN_SECONDS + GRACE_MARGIN
    if _app_tls(app, opts):
        pod["volumes"].append({"name": "tls", "secret": {"secretName": f"{_name(app, opts)}-tls"}})
    return pod


def _workload(
    config: GaiaConfig, app: AppConfig, box: Container, opts: KubeOptions, has_env: bool
) -> dict[str, Any]:
    ident = _identity(app, box, opts)
    pod = _pod(config, app, box, opts, has_env)
    template = {"metadata": {"labels": ident.labels()}, "spec": pod}
    if app.restart is RestartPolicy.NEVER:
        pod["restartPolicy"] = "Never"
        job_spec = {"parallelism": box.replicas, "backoffLimit": 0, "template": template}
        return _object("batch/v1", "Job", ident.meta(), job_spec)
    spec = {
        "replicas": box.replicas,
        "selector": {"matchLabels": ident.selector()},
        "template": template,
    }
    if autoscaled(app, opts.runner):
        del spec["replicas"]  # the HPA owns it: an apply would otherwise reset its count
    return _object("apps/v1", "Deployment", ident.meta(), spec)


def _object(
    api: str, kind: str, meta: dict[str, Any], spec: Any, key: str = "spec"
) -> dict[str, Any]:
    return {"apiVersion": api, "kind": kind, "metadata": meta, key: spec}


def _service(ident: Identity, port: int) -> dict[str, Any]:
    spec = {
        "selector": ident.selector(),
        "ports": [{"name": "http", "port": port, "targetPort": "http", "protocol": "TCP"}],
    }
    return _object("v1", "Service", ident.meta(), spec)


def _ingress(ident: Identity, port: int) -> dict[str, Any]:
    name = ident.name
    backend = {"service": {"name": name, "port": {"number": port}}}
    path = {"path": "/", "pathType": "Prefix", "backend": backend}
    spec = {"tls": [{"secretName": f"{name}-tls"}], "rules": [{"http": {"paths": [path]}}]}
    return _object("networking.k8s.io/v1", "Ingress", ident.meta(), spec)


def _prestart_job(config: GaiaConfig, app: AppConfig, opts: KubeOptions, has_env: bool) -> Any:
    ident = Identity(_project(opts), app.name, Component.MIGRATION)
    steps = _prestart_containers(config, app, opts)
    env_from = _env_from(config, app, has_env, opts)
    for step in steps:
        if env_from:
            step["envFrom"] = env_from
        _harden(config, step, low_port=False)
    # Steps run in order as init containers of one pod; the last one is the Job's container.
    pod: dict[str, Any] = {"restartPolicy": "Never"}
    if steps[:-1]:
        pod["initContainers"] = steps[:-1]
    pod["containers"] = steps[-1:]
    _harden_pod(config, pod)
    spec = {
        "backoffLimit": 0,
        "activeDeadlineSeconds": seconds(app.prestart_timeout),
        "template": {"metadata": {"labels": ident.labels()}, "spec": pod},
    }
    return _object("batch/v1", "Job", ident.meta("-prestart"), spec)


def export_app(
    config: GaiaConfig, app: AppConfig, opts: KubeOptions, table_env: Mapping[str, str]
) -> list[Manifest]:
    ingress = app.is_https and opts.tls is TlsMode.INGRESS and opts.runner is ContainerRunner.SERVER
    if ingress:  # the server sees the client's address and `https`, as behind gaia's proxies
        app = behind_ingress(app, opts.forwarded_allow_ips)
    box = container_for(config, app, opts.runner, _tls_paths(app, opts))
    ident = _identity(app, box, opts)
    name = ident.name
    out: list[Manifest] = []
    has_env = bool(table_env)
    if has_env:
        cm = _object("v1", "ConfigMap", ident.meta("-env"), table_env, "data")
        out.append(Manifest(f"{name}-configmap.yaml", yaml.dump(cm)))
    if app.prestart and opts.prestart is Prestart.JOB and opts.runner is ContainerRunner.SERVER:
        job = _prestart_job(config, app, opts, has_env)
        why = [
            f"prestart of {app.name}: apply this Job and wait for it "
            f"(kubectl wait --for=condition=complete job/{name}-prestart) before the "
            "Deployment; delete it before the next rollout (Jobs are immutable).",
            *NO_TTL,
        ]
        out.append(Manifest(f"{name}-prestart-job.yaml", yaml.dump(job, why)))
    notes = [*secret_notes(config, app, name), *box.notes, *unordered_note(app)]
    if ingress:
        notes += ingress_notes(app, name)
    if app.restart is RestartPolicy.ON_FAILURE:
        notes.append(
            f"not mapped: {app.name}: restart = on-failure; Deployment pods always restart"
        )
    workload = _workload(config, app, box, opts, has_env)
    kind = workload["kind"].lower()
    out.append(Manifest(f"{name}-{kind}.yaml", yaml.dump(workload, notes)))
    if autoscaled(app, opts.runner):
        hpa = autoscaler(app, name, ident.meta())
        out.append(Manifest(f"{name}-hpa.yaml", yaml.dump(hpa, [HPA_NOTE.format(app.name)])))
    if kind == "deployment" and box.replicas >= 2:
        # maxUnavailable, never minAvailable: a budget that can block a node drain forever
        # turns maintenance into an outage.
        budget = {"maxUnavailable": 1, "selector": {"matchLabels": ident.selector()}}
        pdb = _object("policy/v1", "PodDisruptionBudget", ident.meta(), budget)
        out.append(Manifest(f"{name}-pdb.yaml", yaml.dump(pdb)))
    if box.port is not None:
        out.append(Manifest(f"{name}-service.yaml", yaml.dump(_service(ident, box.port))))
        if app.is_https and opts.tls is TlsMode.INGRESS:
            hint = ["TLS terminates here; add `host` to the rule and the tls entry."]
            out.append(Manifest(f"{name}-ingress.yaml", yaml.dump(_ingress(ident, box.port), hint)))
    return out


def export_kubernetes(
    config: GaiaConfig,
    opts: KubeOptions,
    table_env: Mapping[str, Mapping[str, str]],
    names: list[str] | None = None,
) -> list[Manifest]:
    """Every object for the named apps (default: all), in the config's app order."""
    chosen = names or list(config.apps)
    opts = replace(opts, project=kube_name(opts.project or config.source.parent.name))
    _refuse_name_collisions(list(config.apps), _project(opts))
    manifests = []
    for name in chosen:
        app = config.apps[name]
        manifests += export_app(config, app, opts, env_table(table_env, name))
    return manifests


def _refuse_name_collisions(apps: list[str], project: str) -> None:
    seen: dict[str, str] = {}
    for app in apps:
        other = seen.setdefault(object_name(project, app), app)
        if other != app:
            raise Unexportable(
                f"apps {other!r} and {app!r} both become the Kubernetes name "
                f"{object_name(project, app)!r}; rename one of them"
            )


def as_stream(manifests: list[Manifest]) -> str:
    return yaml.dump_all([m.text for m in manifests])
