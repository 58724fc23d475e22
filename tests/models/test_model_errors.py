"""A model or device that is not there is said in one line before anything loads."""

from __future__ import annotations

import pytest

from illume.models import ModelChoice, load_model
from illume.models.hf.loader import why_not_loaded


@pytest.mark.parametrize(
    ("choice", "needle"),
    [
        (ModelChoice(device="gpu"), "use cpu, cuda or cuda:N"),
        (ModelChoice(device="cuda:0"), "CPU build"),  # this machine's torch
        (ModelChoice(model="hf:./nosuchdir"), "no model folder ./nosuchdir"),
        (ModelChoice(model="magma:nosuch"), "illume magma-import"),
        (ModelChoice(model="gpt:x"), "unknown model"),
    ],
)
def test_check_names_what_is_missing(choice, needle):
    with pytest.raises(ValueError, match=needle):
        load_model(choice)


def test_a_hub_model_missing_offline_is_told_apart_from_no_such_repo(monkeypatch):
    import httpx
    from huggingface_hub.errors import RepositoryNotFoundError

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ValueError, match="not in the local cache and the hub cannot be reached"):
        load_model(ModelChoice(model="hf:nosuch-owner/nosuch-model", device="cpu"))
    try:  # what huggingface_hub raises for an id the hub does not have, as transformers wraps it
        try:
            request = httpx.Request("GET", "https://huggingface.co/api/models/x")
            raise RepositoryNotFoundError(
                "404 Client Error: Repository Not Found",
                response=httpx.Response(404, request=request),
            )
        except RepositoryNotFoundError as inner:
            raise OSError("nosuch-owner/nosuch-model is not a local folder") from inner
    except OSError as e:
        assert why_not_loaded("nosuch-owner/nosuch-model", e).startswith("no model hf:")
