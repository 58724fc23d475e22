"""The throwaway PostgreSQL cluster: it listens on loopback only and leaves nothing behind."""

from __future__ import annotations

import socket

import pytest

from ml_backend.demo.postgres import PostgresCluster, pg_bin_dir


@pytest.fixture
def bin_dir():
    found = pg_bin_dir()
    if found is None:
        pytest.fail("no PostgreSQL: run scripts/install_postgres.sh", pytrace=False)
    return found


def test_cluster_starts_on_loopback_and_is_deleted(bin_dir):
    cluster = PostgresCluster(bin_dir).start()
    root = cluster.root
    try:
        with socket.create_connection(("127.0.0.1", cluster.port), timeout=5):
            pass
        env = cluster.django_env()
        assert env["DJANGO_DB"] == "default" and env["POSTGRE_PORT"] == str(cluster.port)
        assert env["POSTGRE_HOST"] == "127.0.0.1" and env["POSTGRE_PASSWORD"]
    finally:
        cluster.stop()
    assert not root.exists()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", cluster.port), timeout=2).close()


def test_missing_binaries_name_the_install_script(tmp_path):
    with pytest.raises(FileNotFoundError, match="install_postgres.sh"):
        PostgresCluster(tmp_path).start()
