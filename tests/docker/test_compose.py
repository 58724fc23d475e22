"""docker/compose.yml against the Compose specification's JSON schema, plus what we rely on.

No docker engine (and no `docker compose` plugin) runs here, so the file is
checked, not started. The schema is compose-spec's `compose_spec.json` as the
docker-compose 1.29.2 wheel ships it (installed with --no-deps only for this
file; its code is never imported). Variables are interpolated from
docker/.env.example first, as `docker compose --env-file` would.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import re
from pathlib import Path

import jsonschema
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
COMPOSE = REPO / "docker" / "compose.yml"
ENV_EXAMPLE = REPO / "docker" / ".env.example"
VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}")


def interpolate(text: str, env: dict[str, str]) -> str:
    """Compose's ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error}, ${VAR?error}."""

    def one(m: re.Match) -> str:
        name, op, arg = m.group(1), m.group(2), m.group(3) or ""
        value = env.get(name)
        empty = value is None or (op is not None and op.startswith(":") and value == "")
        if op and op.endswith("?") and empty:
            raise ValueError(f"{name}: {arg}")
        if op and op.endswith("-") and empty:
            return arg
        return value or ""

    return VAR.sub(one, text)


def dotenv(path: Path) -> dict[str, str]:
    lines = (ln.strip() for ln in path.read_text().splitlines())
    return dict(ln.split("=", 1) for ln in lines if ln and not ln.startswith("#"))


def compose_schema() -> dict:
    spec = importlib.util.find_spec("compose")
    if spec is None or not spec.submodule_search_locations:
        pytest.fail(
            "the compose-spec schema is missing: pip install --no-deps docker-compose==1.29.2 "
            "(the Makefile's install does)",
            pytrace=False,
        )
    path = Path(spec.submodule_search_locations[0]) / "config" / "compose_spec.json"
    return json.loads(path.read_text())


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(interpolate(COMPOSE.read_text(), dotenv(ENV_EXAMPLE)))


def validator():
    """Draft 2019-09, as the schema's $schema says (its URI, with a '#', is not looked up)."""
    return jsonschema.Draft201909Validator(compose_schema())


def test_compose_file_matches_the_compose_spec_schema(compose):
    errors = [f"{list(e.path)}: {e.message}" for e in validator().iter_errors(compose)]
    assert errors == []


def test_the_schema_check_catches_a_misplaced_field(compose):
    """The validator is live: a GPU asked for in the wrong place is an error."""
    bad = copy.deepcopy(compose)
    bad["services"]["trainer"]["deploy"]["resources"]["reservations"]["gpus"] = 1
    assert not validator().is_valid(bad)


def test_the_default_services_start_on_a_cpu_host(compose):
    """Without a profile: no GPU, no CUDA image, no Redis; the GPU trainer is behind `gpu`."""
    services = compose["services"]
    default = {n for n, s in services.items() if not s.get("profiles")}
    assert default == {"db", "label-studio", "illume-backend"}
    for name in default:
        svc = services[name]
        assert "deploy" not in svc or "reservations" not in svc["deploy"].get("resources", {})
        assert svc.get("build", {}).get("args", {}).get("TORCH", "cpu") == "cpu", name
        assert "redis" not in svc.get("depends_on", {}), name
    assert services["trainer"]["profiles"] == ["gpu"]
    assert services["sampler"]["profiles"] == ["redis"]
    assert set(services["redis"]["profiles"]) == {"redis", "gpu"}
    assert services["illume-backend"]["environment"]["ILLUME_REDIS_URL"] in ("", None)


def test_urls_and_secrets_come_from_the_env_file():
    """Every URL, token and password is a ${...} of docker/.env, never written in the YAML."""
    raw = yaml.safe_load(COMPOSE.read_text())
    env = dotenv(ENV_EXAMPLE)
    for svc in raw["services"].values():
        for name, value in (svc.get("environment") or {}).items():
            flag = str(value) in ("true", "false")  # e.g. ..._ENABLE_LEGACY_API_TOKEN
            secret = not flag and any(w in name for w in ("PASSWORD", "API_KEY", "TOKEN", "PASS"))
            if secret or name in ("LABEL_STUDIO_URL", "ILLUME_REDIS_URL", "HF_TOKEN"):
                assert str(value).startswith("${"), (name, value)
    for name in ("LABEL_STUDIO_URL", "ILLUME_REDIS_URL", "HF_TOKEN", "LABEL_STUDIO_API_KEY"):
        assert name in env, name


def test_versions_and_model_cache_are_volumes(compose):
    backend = compose["services"]["illume-backend"]
    assert {"versions:/versions", "cache:/cache", "files:/files"} <= set(backend["volumes"])
    assert backend["environment"]["HF_HOME"].startswith("/cache")
    assert backend["environment"]["ILLUME_CACHE"].startswith("/cache")
    assert {"versions", "cache", "files"} <= set(compose["volumes"])


def test_every_service_has_a_health_check(compose):
    services = compose["services"]
    assert set(services) >= {"db", "redis", "label-studio", "illume-backend", "sampler", "trainer"}
    for name, svc in services.items():
        assert svc.get("healthcheck", {}).get("test"), name


def test_workers_queues_gpu_and_versions(compose):
    svc = compose["services"]
    assert svc["sampler"]["command"] == ["illume", "worker", "--queues", "sample"]
    assert svc["sampler"]["deploy"]["replicas"] == 2
    assert svc["trainer"]["command"] == ["illume", "worker", "--queues", "train"]
    devices = svc["trainer"]["deploy"]["resources"]["reservations"]["devices"]
    assert devices == [{"driver": "nvidia", "count": 1, "capabilities": ["gpu"]}]
    assert svc["trainer"]["build"]["args"]["TORCH"].startswith("cu")
    assert svc["illume-backend"]["build"]["args"]["TORCH"] == "cpu"
    assert "versions:/versions:ro" in svc["sampler"]["volumes"]  # one writer: the trainer
    assert "versions:/versions" in svc["trainer"]["volumes"]
    assert svc["label-studio"]["environment"]["DJANGO_DB"] == "default"


def test_illume_variables_are_ones_the_code_reads(compose):
    """A renamed setting must not leave the compose file setting a variable nobody reads."""
    from ml_backend.settings_table import all_names

    for svc in compose["services"].values():
        for name in svc.get("environment", {}):
            if name.startswith("ILLUME_") and name != "ILLUME_CACHE":  # read by illume.models
                assert name in all_names(), name


def test_a_missing_secret_stops_interpolation():
    env = dotenv(ENV_EXAMPLE)
    del env["POSTGRES_PASSWORD"]
    with pytest.raises(ValueError, match="POSTGRES_PASSWORD"):
        interpolate(COMPOSE.read_text(), env)


def test_dockerfile_picks_torch_by_build_argument():
    text = (REPO / "docker" / "Dockerfile").read_text()
    assert "ARG TORCH=cpu" in text
    assert "torch==2.13.0 --index-url https://download.pytorch.org/whl/${TORCH}" in text
    assert "COPY training ./training" in text
