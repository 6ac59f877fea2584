"""The emulator's session-scoped /tokens: authorization_details checked like a coordinator, sessions per org and user.

Over real loopback HTTP (the in-process emulator). What reactor-sdk 1.13's
``fetch_jwt`` documents: a scoped mint sends one ``session`` detail; a bad one,
or a ``max_session_duration_seconds`` outside 1-86400, is 400
``invalid_request`` (rejected, never clamped); a bind must name open sessions
of the key's user and org; the granted detail comes back in the JWT's
``authorization_details`` claim (RFC 9396 section 9.1). Which unscoped body
came (absent, ``null``, ``{}``) is counted, so a client test can prove it sent
``null``.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from reactor_ci.emulator.server import Emulator

H = "Reactor-API-Key"


def _session(client: httpx.Client, emu: Emulator, model: str = "acme/world", **extra: str) -> str:
    r = client.post(emu.control_url + "/sessions", json={"model": model, **extra})
    assert r.status_code == 201, r.text
    return str(r.json()["session_id"])


def _mint(client: httpx.Client, emu: Emulator, body: Any, key: str | None = None) -> httpx.Response:
    return client.post(
        emu.url + "/tokens",
        headers={H: key or emu.app_key, "Content-Type": "application/json"},
        content=json.dumps(body).encode(),
    )


def _detail(models: Any = None, sessions: Any = None, **constraints: Any) -> dict[str, Any]:
    resources: dict[str, Any] = {"models": {"match": models} if models is not None else {"all": True}}
    if sessions is not None:
        resources["sessions"] = {"bind": sessions}
    detail: dict[str, Any] = {"type": "session", "resources": resources}
    if constraints:
        detail["constraints"] = constraints
    return detail


def _claims(emu: Emulator, r: httpx.Response) -> dict[str, Any]:
    assert r.status_code == 200, r.text
    return emu.services.minter.verify(r.json()["jwt"])


def _refused(r: httpx.Response) -> str:
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert error["code"] == "invalid_request"
    return str(error["message"])


# -- sessions through the control API ----------------------------------------------


def test_sessions_are_created_listed_and_closed(emu: Emulator, client: httpx.Client) -> None:
    r = client.post(emu.control_url + "/sessions", json={"model": "acme/world"})
    assert r.status_code == 201
    made = r.json()
    assert made["session_id"].startswith("sess_") and made["open"] is True
    assert (made["partner_id"], made["user"], made["model"]) == ("sandbox", "user-1", "acme/world")
    assert client.get(emu.control_url + "/sessions").json()["sessions"] == [made]
    closed = client.post(emu.control_url + "/sessions/close", json={"session_id": made["session_id"]})
    assert closed.status_code == 200 and closed.json()["open"] is False
    assert client.post(emu.control_url + "/sessions/close", json={"session_id": "sess_nope"}).status_code == 404


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({}, 400),
        ({"model": "world"}, 400),
        ({"model": "acme/world\n"}, 400),
        ({"model": "acme/world", "user": "a b"}, 400),
        ({"model": "acme/world", "partner_id": "nobody"}, 404),
        ({"model": "acme/world", "partner_id": 5}, 400),
    ],
)
def test_bad_session_requests(emu: Emulator, client: httpx.Client, body: dict[str, Any], status: int) -> None:
    assert client.post(emu.control_url + "/sessions", json=body).status_code == status


def test_keys_belong_to_a_user(emu: Emulator, client: httpx.Client) -> None:
    r = client.post(emu.control_url + "/keys", json={"kind": "app", "user": "user-2"})
    assert r.status_code == 201 and r.json()["user"] == "user-2"
    assert client.post(emu.control_url + "/keys", json={"kind": "app"}).json()["user"] == "user-1"
    assert client.post(emu.control_url + "/keys", json={"kind": "app", "user": ""}).status_code == 400


# -- what an unscoped body was ------------------------------------------------------


def test_null_and_empty_object_are_both_accepted_and_told_apart(emu: Emulator, client: httpx.Client) -> None:
    for body in (None, {}, None, {"expires_after": 60}):
        claims = _claims(emu, _mint(client, emu, body))
        assert "authorization_details" not in claims  # unscoped: no scope stated
    assert client.post(emu.url + "/tokens", headers={H: emu.app_key}).status_code == 200
    counted = client.get(emu.control_url + "/stats").json()["tokens_bodies"]
    assert counted == {"absent": 1, "null": 2, "empty_object": 1, "object": 1}


# -- scoped mints ------------------------------------------------------------------


def test_the_granted_scope_is_in_the_claims(emu: Emulator, client: httpx.Client) -> None:
    detail = _detail(["acme/world", "acme/other"], max_sessions=3, max_session_duration_seconds=600)
    claims = _claims(emu, _mint(client, emu, {"authorization_details": [detail], "expires_after": 900}))
    assert claims["authorization_details"] == [detail]
    assert claims["exp"] - claims["iat"] == 900


@pytest.mark.parametrize("seconds", [1, 600, 86400])
def test_duration_bounds_are_inclusive(emu: Emulator, client: httpx.Client, seconds: int) -> None:
    detail = _detail(["acme/world"], max_session_duration_seconds=seconds)
    assert _claims(emu, _mint(client, emu, {"authorization_details": [detail]}))["authorization_details"] == [detail]


def test_a_bind_to_an_own_open_session(emu: Emulator, client: httpx.Client) -> None:
    sid = _session(client, emu)
    detail = _detail(sessions=[sid])
    assert _claims(emu, _mint(client, emu, {"authorization_details": [detail]}))["authorization_details"] == [detail]


def test_binds_that_are_refused(emu: Emulator, client: httpx.Client) -> None:
    issued = emu.state.stats.app_tokens_issued
    emu.state.create_org("other")
    foreign = _session(client, emu, partner_id="other")
    other_user = _session(client, emu, user="user-2")
    closed = _session(client, emu)
    client.post(emu.control_url + "/sessions/close", json={"session_id": closed}).raise_for_status()

    unknown = _refused(_mint(client, emu, {"authorization_details": [_detail(sessions=["sess_unknown"])]}))
    # A key must not learn which session ids exist elsewhere: foreign = unknown, word for word.
    assert _refused(_mint(client, emu, {"authorization_details": [_detail(sessions=[foreign])]})) == unknown
    assert _refused(_mint(client, emu, {"authorization_details": [_detail(sessions=[other_user])]})) == unknown
    assert "not a session of this key's user and organisation" in unknown
    assert "closed" in _refused(_mint(client, emu, {"authorization_details": [_detail(sessions=[closed])]}))
    # One bad id among good ones refuses the whole mint.
    good = _session(client, emu)
    assert _refused(_mint(client, emu, {"authorization_details": [_detail(sessions=[good, closed])]}))
    assert emu.state.stats.app_tokens_issued == issued


def test_a_user_binds_its_own_sessions_only(emu: Emulator, client: httpx.Client) -> None:
    key = client.post(emu.control_url + "/keys", json={"kind": "app", "user": "user-2"}).json()["key"]
    mine = _session(client, emu, user="user-2")
    assert _mint(client, emu, {"authorization_details": [_detail(sessions=[mine])]}, key=key).status_code == 200
    assert _mint(client, emu, {"authorization_details": [_detail(sessions=[mine])]}).status_code == 400


BAD_DETAILS: list[Any] = [
    {},
    [],
    [_detail(["a/b"]), _detail(["c/d"])],
    ["session"],
    [{"type": "other", "resources": {"models": {"all": True}}}],
    [{"resources": {"models": {"all": True}}}],
    [{**_detail(["a/b"]), "actions": ["read"]}],
    [{"type": "session"}],
    [{"type": "session", "resources": {}}],
    [{"type": "session", "resources": {"models": {"all": False}}}],
    [{"type": "session", "resources": {"models": {"all": 1}}}],
    [{"type": "session", "resources": {"models": {"all": True, "match": ["a/b"]}}}],
    [{"type": "session", "resources": {"models": {"all": True}, "tools": {}}}],
    [_detail([])],
    [_detail(["world"])],
    [_detail(["a/b/c"])],
    [_detail([" a/b"])],
    [_detail([5])],
    [_detail(["a/b", "a/b"])],
    [_detail(["a/b"] * 101)],
    [_detail(sessions=[])],
    [_detail(sessions="sess_x")],
    [{"type": "session", "resources": {"models": {"all": True}, "sessions": {"ids": ["x"]}}}],
    [_detail(["a/b"], max_sessions=0)],
    [_detail(["a/b"], max_sessions=True)],
    [_detail(["a/b"], max_sessions=1.5)],
    [_detail(["a/b"], max_sessions="2")],
    [_detail(["a/b"], max_session_duration_seconds=0)],
    [_detail(["a/b"], max_session_duration_seconds=86401)],
    [_detail(["a/b"], max_session_duration_seconds=-600)],
    [_detail(["a/b"], max_session_duration_seconds=600.0)],
    [_detail(["a/b"], max_concurrency=1)],
    [{**_detail(["a/b"]), "constraints": []}],
]


@pytest.mark.parametrize("details", BAD_DETAILS)
def test_bad_authorization_details_are_400(emu: Emulator, client: httpx.Client, details: Any) -> None:
    message = _refused(_mint(client, emu, {"authorization_details": details}))
    assert message.startswith("authorization_details")
    assert emu.state.stats.app_tokens_issued == 0


def test_an_out_of_range_duration_is_rejected_not_clamped(emu: Emulator, client: httpx.Client) -> None:
    message = _refused(
        _mint(client, emu, {"authorization_details": [_detail(["a/b"], max_session_duration_seconds=90000)]})
    )
    assert "1 to 86400" in message and "not clamped" in message


def test_max_sessions_below_the_bound_sessions_is_refused(emu: Emulator, client: httpx.Client) -> None:
    one, two = _session(client, emu), _session(client, emu)
    assert "bound" in _refused(
        _mint(client, emu, {"authorization_details": [_detail(sessions=[one, two], max_sessions=1)]})
    )
    assert (
        _mint(client, emu, {"authorization_details": [_detail(sessions=[one, two], max_sessions=2)]}).status_code == 200
    )


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)
near_details = st.builds(
    lambda models, constraints, extra: [
        {"type": "session", "resources": {"models": models}, **extra, "constraints": constraints}
    ],
    st.one_of(json_values, st.builds(lambda m: {"match": m}, json_values), st.just({"all": True})),
    st.one_of(
        json_values, st.dictionaries(st.sampled_from(["max_sessions", "max_session_duration_seconds"]), json_values)
    ),
    st.dictionaries(st.sampled_from(["resources", "type", "x"]), json_values, max_size=1),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(details=st.one_of(json_values, near_details))
@example(details=[{"type": "session", "resources": {"models": {"all": True}}, "constraints": {}}])
@example(details=[{"type": "session", "resources": {"models": {"match": ["a/b"]}}, "constraints": {"max_sessions": 9}}])
def test_any_details_get_a_grant_or_a_400(emu: Emulator, client: httpx.Client, details: Any) -> None:
    """Whatever a client sends, the answer is a grant the claims state exactly, or a 400: never a 500."""
    r = _mint(client, emu, {"authorization_details": details})
    if r.status_code == 200:
        # Granted as asked; an empty constraints object is no constraint, and not restated.
        expected = [{k: v for k, v in details[0].items() if not (k == "constraints" and v == {})}]
        assert _claims(emu, r)["authorization_details"] == expected
    else:
        assert _refused(r).startswith("authorization_details")
