"""The cross-language fixture ``sdk/testdata/errors.json``: the TypeScript SDK's unit tests read the same file.

Every JSON value there is an error as ``to_dict()`` (Python) and ``toJSON()`` (TypeScript) write it; both SDKs must
read it back and write it out identically (key order included), and map the server's answers listed there to the
same classes.
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import httpx
import pytest

import keycloak_agent_auth as kaa
from keycloak_agent_auth import AgentAuthError, from_dict
from keycloak_agent_auth._core import error_from, error_from_answer
from keycloak_agent_auth.errors import redact

FIXTURE = json.loads((Path(__file__).resolve().parents[2] / "testdata" / "errors.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("value", FIXTURE["errors"], ids=lambda v: f"{v['type']}-{v['code']}")
def test_from_dict_then_to_dict_gives_the_value_back(value):
    back = from_dict(value)
    assert type(back).__name__ == value["type"]
    assert isinstance(back, AgentAuthError)
    assert json.dumps(back.to_dict()) == json.dumps(value)  # the same members, values and order
    assert back.message == str(back) == value["message"]
    assert AgentAuthError.from_dict(value).to_dict() == value
    assert pickle.loads(pickle.dumps(back)).to_dict() == value


def test_every_exported_error_class_appears_in_the_fixture():
    exported = {name for name in kaa.__all__ if isinstance(getattr(kaa, name), type)
                and issubclass(getattr(kaa, name), AgentAuthError)}
    assert exported == {v["type"] for v in FIXTURE["errors"]} == {
        "AgentAuthError", "ConnectionRequired", "ConnectionNotFound", "GrantRevoked", "AccessDenied",
        "InsufficientScope", "UpstreamUnavailable", "NetworkError", "ApprovalExpired"}


@pytest.mark.parametrize("case", FIXTURE["answers"]["cases"],
                         ids=lambda c: f"{c['status']}-{(c['body'] or {}).get('error', 'none')}-{c['type']}")
def test_the_server_answers_map_to_the_same_classes_as_in_typescript(case):
    body = case["body"]
    e = error_from_answer(case["status"], body, connector=case.get("connector"), connection_id=case.get("connection_id"))
    assert type(e).__name__ == case["type"]
    assert (e.code, e.status) == (case.get("code") or body["error"], case["status"])
    d = e.to_dict()
    if case["type"] == "ConnectionRequired":
        assert (d["connector"], d["connect_uri"]) == (case["connector"], body["connect_uri"])
    if case["type"] == "ConnectionNotFound":
        assert (d["connector"], d["connection_id"]) == (case["connector"], case["connection_id"])
    assert json.dumps(from_dict(json.loads(json.dumps(d))).to_dict()) == json.dumps(d)
    # the same through an httpx response (what the clients use)
    resp = httpx.Response(case["status"], json=body) if body is not None else httpx.Response(case["status"], text="<html>")
    via = error_from(resp, connector=case.get("connector"), connection_id=case.get("connection_id"))
    assert via.to_dict() == d


def test_descriptions_are_bounded_once_and_whitespace_collapsed():
    e = error_from_answer(400, {"error": "invalid_request", "error_description": "x" * 5000})
    assert len(e.description) == 500 and e.description.endswith("…")
    assert from_dict(e.to_dict()).description == e.description  # bounded once: scrubbing again changes nothing
    assert redact("a \n\t b ") == "a b"
