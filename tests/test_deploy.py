"""docker-compose.yml and the Dockerfile name only things that exist in the project.

No Docker daemon runs here, so this reads the files: every command's program and module,
every environment variable, every health-check URL is looked up in the project.
"""

import ast
import os
import re
import shlex
import stat
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
APP_SERVICES = {name: s for name, s in SERVICES.items() if "build" in s}
URL = re.compile(r"https?://[\w.-]+:(\d+)(/[\w/.-]*)")
# Settings are read in config.py; PARKAPP_CONFIG (which class) by the app factory.
CONFIG_PY = (ROOT / "config.py").read_text() + (ROOT / "parkapp" / "__init__.py").read_text()
ENTRYPOINT = (ROOT / "docker-entrypoint.sh").read_text()


def requirement_names():
    names = set()
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            names.add(re.split(r"[\[=<>]", line)[0].lower())
    return names


def module_defines(module, name):
    """`module` (a dotted path from the project root) assigns `name` at top level."""
    path = ROOT / (module.replace(".", "/") + ".py")
    assert path.is_file(), f"{module} names no file in the project"
    tree = ast.parse(path.read_text())
    targets = {
        target.id
        for node in tree.body
        if isinstance(node, ast.Assign)
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    return name in targets


def check_command(argv):
    """The program is a pinned requirement and the app it names exists; returns its port."""
    program = argv[0]
    assert program in requirement_names(), f"{program} is not in requirements.txt"
    if program == "gunicorn":
        module, _, attr = argv[-1].partition(":")
        assert module_defines(module, attr), argv
        return int(argv[argv.index("-b") + 1].rsplit(":", 1)[1])
    assert program == "celery", argv
    module, _, attr = argv[argv.index("-A") + 1].rpartition(".")
    assert module_defines(module, attr), argv
    assert argv[argv.index("-A") + 2] in ("worker", "beat", "inspect"), argv
    return None


def test_compose_runs_web_worker_beat_postgres_and_redis():
    assert set(SERVICES) == {"web", "worker", "beat", "postgres", "redis"}
    assert set(APP_SERVICES) == {"web", "worker", "beat"}
    beats = [s for s in APP_SERVICES.values() if " beat" in " ".join(s["command"])]
    assert len(beats) == 1  # exactly one scheduler
    for name, service in SERVICES.items():
        for needed in service.get("depends_on", {}):
            assert needed in SERVICES, f"{name} depends on unknown {needed}"
        for volume in service.get("volumes", []):
            assert volume.split(":")[0] in COMPOSE["volumes"], volume


@pytest.mark.parametrize("name", sorted(APP_SERVICES))
def test_every_app_command_names_a_real_program_and_module(name):
    check_command(APP_SERVICES[name]["command"])


@pytest.mark.parametrize("name", sorted(APP_SERVICES))
def test_every_app_variable_is_read_by_config_or_the_entrypoint(name):
    readers = (r'os\.environ\.get\("{0}"', r'env_int\("{0}"', r'env_bool\("{0}"')
    for variable in APP_SERVICES[name]["environment"]:
        in_config = any(re.search(r.format(variable), CONFIG_PY) for r in readers)
        in_entrypoint = f"${{{variable}" in ENTRYPOINT
        assert in_config or in_entrypoint, f"{name}: nothing reads {variable}"


@pytest.mark.parametrize("name", sorted(APP_SERVICES))
def test_every_app_variable_is_documented(name):
    docs = (ROOT / "README.md").read_text() + (ROOT / "docs" / "deploy.md").read_text()
    for variable in APP_SERVICES[name]["environment"]:
        assert f"`{variable}`" in docs, f"{variable} is not documented"


def test_health_checks_ask_real_endpoints_on_the_served_port(client):
    web = SERVICES["web"]
    port = check_command(web["command"])
    assert f"{port}:{port}" in web["ports"]
    (url,) = URL.findall(" ".join(web["healthcheck"]["test"]))
    assert int(url[0]) == port and url[1] == "/readyz"
    assert client.get(url[1]).status_code == 200
    worker_check = shlex.split(SERVICES["worker"]["healthcheck"]["test"][1])
    check_command(worker_check)
    assert worker_check[worker_check.index("-A") + 2 :][:2] == ["inspect", "ping"]


def dockerfile():
    """Dockerfile instructions as (KEYWORD, arguments), continuation lines joined."""
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines()]
    return [tuple(line.split(None, 1)) for line in lines if line and not line.startswith("#")]


def test_the_image_runs_as_a_user_with_a_readiness_health_check(client):
    steps = dockerfile()
    users = [args for keyword, args in steps if keyword == "USER"]
    assert users and users[-1] not in ("root", "0")
    (health,) = [args for keyword, args in steps if keyword == "HEALTHCHECK"]
    (url,) = URL.findall(health)
    assert url[1] == "/readyz" and client.get(url[1]).status_code == 200
    (cmd,) = [args for keyword, args in steps if keyword == "CMD"]
    assert yaml.safe_load(cmd) == SERVICES["web"]["command"]
    assert int(url[0]) == check_command(yaml.safe_load(cmd))
    (entry,) = [args for keyword, args in steps if keyword == "ENTRYPOINT"]
    script = ROOT / yaml.safe_load(entry)[0].removeprefix("/app/")
    assert script.is_file() and script.stat().st_mode & stat.S_IXUSR


def test_the_files_the_image_needs_are_not_docker_ignored():
    ignored = (ROOT / ".dockerignore").read_text().split()
    for needed in ("gunicorn.conf.py", "wsgi.py", "celery_worker.py", "migrations", "config.py"):
        assert (ROOT / needed).exists()
        assert needed not in ignored and not any(
            Path(needed).match(pattern) for pattern in ignored
        ), needed


def test_the_entrypoint_empties_the_metrics_folder_and_migrates_unless_told_not_to():
    assert 'find "$PROMETHEUS_MULTIPROC_DIR"' in ENTRYPOINT and "-delete" in ENTRYPOINT
    assert "db upgrade" in ENTRYPOINT and "SKIP_MIGRATIONS" in ENTRYPOINT
    assert os.access(ROOT / "docker-entrypoint.sh", os.X_OK)
