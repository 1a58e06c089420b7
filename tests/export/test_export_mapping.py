"""Each row of the README's mapping table, for Kubernetes and Compose (examples/full)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
import yaml
from export_support import IMAGE, Project, by_kind, load_project, parse_all

from gaia_runner.config.envfile import read_env_file
from gaia_runner.export.compose import export_compose
from gaia_runner.export.kubernetes import KubeOptions, Prestart, TlsMode, as_stream
from gaia_runner.export.kubernetes import export_kubernetes as kube
from gaia_runner.export.mapping import AUTO_REPLICAS, ContainerRunner, container_for, gunicorn_argv

pytestmark = pytest.mark.timeout(30)


def k8s(project: Project, **options: Any) -> list[dict[str, Any]]:
    return parse_all(
        as_stream(kube(project.config, KubeOptions(IMAGE, **options), project.table_env))
    )


def k8s_text(project: Project, **options: Any) -> str:
    return as_stream(kube(project.config, KubeOptions(IMAGE, **options), project.table_env))


def compose(project: Project, runner: ContainerRunner = ContainerRunner.SERVER) -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load(
        export_compose(project.config, IMAGE, project.table_env, runner)
    )
    return doc


def main_container(docs: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    container: dict[str, Any] = by_kind(docs, kind, name)["spec"]["template"]["spec"]["containers"][
        0
    ]
    return container


def test_web_app_is_deployment_and_service_on_the_bind_port(full: Project) -> None:
    docs = k8s(full)
    service = by_kind(docs, "Service", "full-api")
    assert service["spec"]["ports"][0]["port"] == 8443
    assert main_container(docs, "Deployment", "full-api")["ports"][0]["containerPort"] == 8443
    assert compose(full)["services"]["site"]["ports"] == ["127.0.0.1:8080:8080"]


def test_command_app_is_deployment_without_service(full: Project) -> None:
    docs = k8s(full)
    assert main_container(docs, "Deployment", "full-jobs")["command"] == ["python"]
    assert not [d for d in docs if d["kind"] == "Service" and d["metadata"]["name"] == "full-jobs"]
    service = compose(full)["services"]["jobs"]
    assert service["command"] == ["python", "worker.py"] and "ports" not in service


def test_workers_become_replicas_of_one_server_process(full: Project) -> None:
    docs = k8s(full)
    assert by_kind(docs, "Deployment", "full-api")["spec"]["replicas"] == 3
    args = main_container(docs, "Deployment", "full-api")["args"]
    assert args[args.index("--workers") + 1] == "1"
    assert main_container(docs, "Deployment", "full-api")["command"] == ["uvicorn"]
    assert compose(full)["services"]["api"]["deploy"]["replicas"] == 3
    # Replicas cannot share one host port, so each gets its own.
    assert compose(full)["services"]["api"]["ports"] == ["127.0.0.1::8443"]


def test_memory_worker_is_the_container_limit(full: Project) -> None:
    resources = main_container(k8s(full), "Deployment", "full-api")["resources"]
    assert resources == {
        "limits": {"memory": "256Mi"},
        "requests": {"memory": "256Mi", "cpu": "100m"},
    }
    deploy = compose(full)["services"]["api"]["deploy"]
    assert deploy["resources"]["limits"]["memory"] == "256m"
    # memory.total of a command split over its replicas: 512MiB / 2.
    assert (
        main_container(k8s(full), "Deployment", "full-jobs")["resources"]["limits"]["memory"]
        == "256Mi"
    )


def test_health_becomes_three_probes_and_a_curl_free_healthcheck(full: Project) -> None:
    container = main_container(k8s(full), "Deployment", "full-api")
    for probe in ("readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"]["path"] == "/healthz"
        assert container[probe]["periodSeconds"] == 10
        assert container[probe]["timeoutSeconds"] == 2
    assert container["readinessProbe"]["failureThreshold"] == 3
    # Liveness is three times as patient: a slow dependency must not restart every pod at once.
    assert container["livenessProbe"]["failureThreshold"] == 9
    assert container["startupProbe"]["failureThreshold"] == 60  # start_timeout, probed each second
    # A web app without health still must accept connections before it gets traffic.
    site = main_container(k8s(full), "Deployment", "full-site")
    assert site["readinessProbe"] == {"tcpSocket": {"port": "http"}, "periodSeconds": 5}
    assert "livenessProbe" not in site
    check = compose(full)["services"]["api"]["healthcheck"]
    assert check["test"][:3] == ["CMD", "python", "-c"]
    assert (check["interval"], check["timeout"], check["retries"]) == ("10s", "2s", 3)
    # An app without health does not inherit the image's HEALTHCHECK (it is for another app).
    assert compose(full)["services"]["site"]["healthcheck"] == {"disable": True}
    assert compose(full)["services"]["jobs"]["healthcheck"] == {"disable": True}


def test_prestart_is_an_init_container_or_a_job(full: Project) -> None:
    spec = by_kind(k8s(full), "Deployment", "full-api")["spec"]["template"]["spec"]
    init = spec["initContainers"]
    assert [(c["command"], c["args"]) for c in init] == [(["python"], ["migrate.py"])]
    assert init[0]["envFrom"] == spec["containers"][0]["envFrom"]
    docs = k8s(full, prestart=Prestart.JOB)
    job = by_kind(docs, "Job", "full-api-prestart")
    assert job["spec"]["template"]["spec"]["containers"][0]["args"] == ["migrate.py"]
    # No TTL: GitOps would re-create the deleted Job and re-run the migrations; the output
    # says why, so the deployer decides.
    assert "ttlSecondsAfterFinished" not in job["spec"]
    assert "No ttlSecondsAfterFinished: with GitOps" in k8s_text(full, prestart=Prestart.JOB)
    assert (
        "initContainers" not in by_kind(docs, "Deployment", "full-api")["spec"]["template"]["spec"]
    )
    services = compose(full)["services"]
    assert services["api-prestart-1"]["command"] == ["python", "migrate.py"]
    assert services["api-prestart-1"]["restart"] == "no"
    assert services["api"]["depends_on"] == {
        "api-prestart-1": {"condition": "service_completed_successfully"}
    }


def test_https_terminates_at_the_ingress_or_in_the_app(full: Project) -> None:
    docs = k8s(full)
    ingress = by_kind(docs, "Ingress", "full-api")
    assert ingress["spec"]["tls"] == [{"secretName": "full-api-tls"}]
    assert "--ssl-certfile" not in main_container(docs, "Deployment", "full-api")["args"]
    mounted = k8s(full, tls=TlsMode.APP)
    container = main_container(mounted, "Deployment", "full-api")
    assert "/etc/gaia/tls/tls.crt" in container["args"]
    assert container["readinessProbe"]["httpGet"]["scheme"] == "HTTPS"
    assert not [d for d in mounted if d["kind"] == "Ingress"]
    service = compose(full)["services"]["api"]
    assert service["secrets"] == ["api-cert", "api-key"]
    assert "/run/secrets/api-cert" in service["command"]
    assert compose(full)["secrets"]["api-key"] == {"file": "./certs/key.pem"}


def test_env_goes_to_configmap_and_env_file_values_are_never_written(full: Project) -> None:
    docs = k8s(full)
    assert by_kind(docs, "ConfigMap", "full-api-env")["data"] == {
        "LOG_LEVEL": "info",
        "NOTES_DB": "../.gaia/notes.sqlite3",
    }
    env_from = main_container(docs, "Deployment", "full-api")["envFrom"]
    assert env_from == [
        {"secretRef": {"name": "full-api-env-file"}},
        {"configMapRef": {"name": "full-api-env"}},
    ]
    assert not [d for d in docs if d["kind"] == "Secret"]
    secret_values, _ = read_env_file(full.root / "app.env")
    key = (full.root / "certs" / "key.pem").read_text().splitlines()[1]
    for text in (
        k8s_text(full),
        k8s_text(full, tls=TlsMode.APP),
        export_compose(full.config, IMAGE, full.table_env),
    ):
        for value in secret_values.values():
            assert value not in text
        assert key not in text
    service = compose(full)["services"]["api"]
    assert service["env_file"] == [{"path": "./app.env", "format": "raw"}]
    assert service["environment"]["LOG_LEVEL"] == "info"
    assert "API_TOKEN" not in service["environment"]


def test_restart_policies(full: Project) -> None:
    docs = k8s(full)
    job = by_kind(docs, "Job", "full-report")
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"
    services = compose(full)["services"]
    assert [services[n]["restart"] for n in ("api", "site", "report")] == [
        "always",
        "on-failure",
        "no",
    ]


def test_stop_timeouts_become_grace_periods_with_a_drain(full: Project) -> None:
    spec = by_kind(k8s(full), "Deployment", "full-api")["spec"]["template"]["spec"]
    # stop_timeout 20s (> graceful_timeout 15s) plus the 5 s preStop sleep and a 5 s margin.
    assert spec["terminationGracePeriodSeconds"] == 30
    assert spec["containers"][0]["lifecycle"] == {"preStop": {"sleep": {"seconds": 5}}}
    args = spec["containers"][0]["args"]
    assert args[args.index("--timeout-graceful-shutdown") + 1] == "15"
    assert compose(full)["services"]["api"]["stop_grace_period"] == "25s"


def test_server_options_are_command_line_flags(full: Project) -> None:
    site = main_container(k8s(full), "Deployment", "full-site")
    assert site["command"] == ["gunicorn"]
    args = site["args"]
    for flag, value in [
        ("--worker-class", "gthread"),
        ("--threads", "4"),
        ("--max-requests", "1000"),
        ("--max-requests-jitter", "50"),
    ]:
        assert args[args.index(flag) + 1] == value
    assert compose(full)["services"]["site"]["command"] == ["gunicorn", *args]
    app = full.config.apps["site"]
    # forwarded_allow_ips comes with the proxy work: whenever the key is set, it is passed on.
    proxied = dataclasses.replace(app, forwarded_allow_ips=("10.0.0.0/8", "192.168.0.1"))
    argv = gunicorn_argv(proxied, 8080, None)
    assert argv[argv.index("--forwarded-allow-ips") + 1] == "10.0.0.0/8,192.168.0.1"


def test_what_cannot_be_mapped_is_said_in_the_output(full: Project) -> None:
    text = k8s_text(full)
    assert "# not mapped: api: recycling one worker over its memory limit" in text
    assert "# not mapped: site: restart = on-failure; Deployment pods always restart" in text
    assert "# not mapped: api: recycling one worker" in export_compose(
        full.config, IMAGE, full.table_env
    )


def test_runner_gaia_runs_gaia_up_per_app(full: Project) -> None:
    container = main_container(k8s(full, runner=ContainerRunner.GAIA), "Deployment", "full-api")
    assert container["command"] == ["gaia"]
    assert container["args"] == ["up", "api", "-c", "/app/gaia.toml", "--no-tui", "--no-watch"]
    assert (
        by_kind(k8s(full, runner=ContainerRunner.GAIA), "Deployment", "full-api")["spec"][
            "replicas"
        ]
        == 1
    )
    # gaia recycles workers itself, so the container gets the whole tree's memory.
    assert container["resources"]["limits"]["memory"] == "768Mi"
    assert compose(full, ContainerRunner.GAIA)["services"]["api"]["command"][0] == "gaia"


SERVER_TABLES = """
[apps.api]
app = "hello:app"
server = "uvicorn"
bind = "127.0.0.1:8000"
forwarded_allow_ips = ["10.0.0.0/8"]
[apps.api.uvicorn]
root_path = "/api"
timeout_keep_alive = 7
headers = [["X-Served-By", "gaia"]]
server_header = false

[apps.legacy]
app = "wsgi_hello:application"
worker_class = "sync"
bind = "127.0.0.1:8001"
[apps.legacy.gunicorn]
keepalive = 5
preload_app = true
limit_request_line = 100
secure_scheme_headers = { X-FORWARDED-PROTO = "https" }
"""


def test_server_options_become_the_servers_own_flags(tmp_path: Any) -> None:
    """The mapping row "server options, forwarded_allow_ips -> the server's command-line
    flags": each flag parses with the installed server's own CLI, and a setting with no
    flag is named in the output instead of dropped."""
    import click
    from gunicorn.config import Config
    from uvicorn import main as uvicorn_cli

    from gaia_runner.config import load_config
    from gaia_runner.export.mapping import unmapped_notes, uvicorn_argv

    (tmp_path / "gaia.toml").write_text(SERVER_TABLES)
    config = load_config(tmp_path / "gaia.toml").config
    api, legacy = config.apps["api"], config.apps["legacy"]

    argv = uvicorn_argv(api, 8000, None)
    for flag in ("--root-path", "--timeout-keep-alive", "--header", "--no-server-header"):
        assert flag in argv, argv
    assert argv[argv.index("--forwarded-allow-ips") + 1] == "10.0.0.0/8"
    assert argv[argv.index("--header") + 1] == "X-Served-By:gaia"
    context = uvicorn_cli.make_context("uvicorn", list(argv[1:]))
    assert context.params["root_path"] == "/api" and context.params["timeout_keep_alive"] == 7
    assert isinstance(context, click.Context)

    argv = gunicorn_argv(legacy, 8001, None)
    parsed = Config().parser().parse_args(list(argv[1:]))
    assert (parsed.keepalive, parsed.preload_app, parsed.limit_request_line) == (5, True, 100)
    assert parsed.args == ["wsgi_hello:application"]
    notes = unmapped_notes(legacy, ContainerRunner.SERVER)
    assert any("secure_scheme_headers has no command-line flag" in n for n in notes), notes


def test_auto_workers_never_become_this_machines_cpu_count(tmp_path: Path) -> None:
    (tmp_path / "gaia.toml").write_text('[apps.web]\napp = "main:app"\nworkers = "auto"\n')
    (tmp_path / "main.py").write_text("app = None\n")
    project = load_project(tmp_path / "gaia.toml")
    box = container_for(project.config, project.config.apps["web"], ContainerRunner.SERVER, None)
    assert box.replicas == AUTO_REPLICAS
    assert any('workers = "auto" becomes 2 replicas' in note for note in box.notes)
