"""The backend without a model (`ml_backend.server.NO_MODEL_APP`): the progress page and the
HTTP layer only read Label Studio, so a benchmark of them need not load one."""

from __future__ import annotations

from dataclasses import replace

from ml_backend.app import create_app
from ml_backend.config import Settings
from ml_backend.model import IllumeModel

app = create_app(IllumeModel(replace(Settings.from_env(), load_model=False)).start())
