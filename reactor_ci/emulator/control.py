"""The control API under ``/_emulator/``: how tests and dry-runs steer the emulator.

Not part of Reactor's API.  Unauthenticated, which is acceptable only because
the server binds loopback; docs/emulator.md lists every endpoint.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from reactor_ci.emulator import hs256, realm
from reactor_ci.emulator.api import Request, Response, Services
from reactor_ci.emulator.faults import parse_fault
from reactor_ci.emulator.state import DEFAULT_USER, ApiError

PREFIX = "/_emulator"

Handler = Callable[[Request, Services], Response]


def _required_str(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value:
        raise ApiError(400, "invalid_request", f"{name} (a string) is required")
    return value


def _health(req: Request, svc: Services) -> Response:
    return Response.json(200, {"ok": True})


def _orgs(req: Request, svc: Services) -> Response:
    body = req.json_object()
    org, pkey, akey = svc.state.create_org(_required_str(body, "partner_id"))
    return Response.json(
        201,
        {"partner_id": org.partner_id, "registry": org.registry, "partner_key": pkey.secret, "app_key": akey.secret},
    )


def _keys(req: Request, svc: Services) -> Response:
    body = req.json_object()
    pid = body.get("partner_id")
    if pid is not None and not isinstance(pid, str):
        raise ApiError(400, "invalid_request", "partner_id must be a string")
    user = body.get("user", DEFAULT_USER)
    key = svc.state.create_key(_required_str(body, "kind"), pid, user)
    return Response.json(201, {"key": key.secret, "kind": key.kind, "partner_id": key.partner_id, "user": key.user})


def _revoke(req: Request, svc: Services) -> Response:
    svc.state.revoke_key(_required_str(req.json_object(), "key"))
    return Response.json(200, {"revoked": True})


def _expire(req: Request, svc: Services) -> Response:
    svc.state.expire_key(_required_str(req.json_object(), "key"))
    return Response.json(200, {"expired": True})


def _token_selector(req: Request) -> tuple[str | None, str | None]:
    body = req.json_object()
    token, pid = body.get("registry_token"), body.get("partner_id")
    if not isinstance(token, str) and not isinstance(pid, str):
        raise ApiError(400, "invalid_request", "give registry_token or partner_id")
    return (token if isinstance(token, str) else None), (pid if isinstance(pid, str) else None)


def _expire_registry_tokens(req: Request, svc: Services) -> Response:
    return Response.json(200, {"expired": svc.state.expire_registry_tokens(*_token_selector(req))})


def _revoke_registry_tokens(req: Request, svc: Services) -> Response:
    return Response.json(200, {"revoked": svc.state.revoke_registry_tokens(*_token_selector(req))})


def _config(req: Request, svc: Services) -> Response:
    if req.method == "GET":
        with svc.state.lock:
            return Response.json(200, svc.state.config.as_dict())
    return Response.json(200, svc.state.update_config(req.json_object()))


def _faults(req: Request, svc: Services) -> Response:
    if req.method == "GET":
        return Response.json(200, {"faults": svc.faults.pending()})
    if req.method == "DELETE":
        return Response.json(200, {"cleared": svc.faults.clear()})
    body = req.json_body(allow_empty=False)
    specs = body if isinstance(body, list) else [body]
    if not all(isinstance(s, dict) for s in specs):
        raise ApiError(400, "invalid_request", "a fault is a JSON object (or a list of them)")
    parsed = [parse_fault(s) for s in specs]  # all or nothing
    for fault in parsed:
        svc.faults.add(fault)
    return Response.json(201, {"queued": len(parsed), "faults": svc.faults.pending()})


def _stats(req: Request, svc: Services) -> Response:
    return Response.json(200, svc.state.stats_dict())


def _requests(req: Request, svc: Services) -> Response:
    return Response.json(200, {"requests": svc.state.recent_requests()})


def _reset_stats(req: Request, svc: Services) -> Response:
    svc.state.reset_stats()
    return Response.json(200, {"reset": True})


def _verify_jwt(req: Request, svc: Services) -> Response:
    token = _required_str(req.json_object(), "jwt")
    try:
        claims = svc.minter.verify(token, svc.state.clock)
    except hs256.InvalidToken as exc:
        svc.state.count_jwt_check("expired" if exc.reason == "ExpiredSignatureError" else "invalid")
        return Response.json(200, {"valid": False, "reason": exc.reason})
    # Checked after the signature and expiry: "revoked" means a token that
    # would otherwise still be good, never one that merely aged out.
    if svc.state.jwt_revoked(claims.get("jti")):
        svc.state.count_jwt_check("revoked")
        return Response.json(200, {"valid": False, "reason": "RevokedByServer"})
    svc.state.count_jwt_check("valid")
    return Response.json(200, {"valid": True, "claims": claims})


def _revoke_app_jwts(req: Request, svc: Services) -> Response:
    body = req.json_object()
    jti, pid = body.get("jti"), body.get("partner_id")
    token = body.get("jwt")
    if isinstance(token, str):
        # Signature-checked but expiry ignored: revoking an expired token is harmless.
        try:
            jti = svc.minter.verify(token, lambda: 0.0).get("jti")
        except hs256.InvalidToken as exc:
            raise ApiError(400, "invalid_request", f"jwt is not one this emulator minted ({exc.reason})") from None
    if not isinstance(jti, str) and not isinstance(pid, str):
        raise ApiError(400, "invalid_request", "give jwt, jti or partner_id")
    n = svc.state.revoke_app_jwts(jti if isinstance(jti, str) else None, pid if isinstance(pid, str) else None)
    return Response.json(200, {"revoked": n})


def _sessions(req: Request, svc: Services) -> Response:
    """GET: every session; POST ``{"model", "partner_id"?, "user"?}``: open one for that org's user."""
    if req.method == "GET":
        return Response.json(200, {"sessions": svc.state.list_sessions()})
    body = req.json_object()
    pid = body.get("partner_id")
    if pid is not None and not isinstance(pid, str):
        raise ApiError(400, "invalid_request", "partner_id must be a string")
    session = svc.state.create_session(_required_str(body, "model"), pid, body.get("user", DEFAULT_USER))
    return Response.json(201, session.as_dict())


def _close_session(req: Request, svc: Services) -> Response:
    session = svc.state.close_session(_required_str(req.json_object(), "session_id"))
    return Response.json(200, session.as_dict())


def _realm_cert(req: Request, svc: Services) -> Response:
    if not realm.crypto_available():
        raise ApiError(501, "not_implemented", realm.MISSING_EXTRA)
    svc.signer.ensure()
    return Response(200, svc.signer.cert_pem, "application/x-pem-file")


ROUTES: dict[str, tuple[tuple[str, ...], Handler]] = {
    "/health": (("GET",), _health),
    "/orgs": (("POST",), _orgs),
    "/keys": (("POST",), _keys),
    "/keys/revoke": (("POST",), _revoke),
    "/keys/expire": (("POST",), _expire),
    "/registry-tokens/expire": (("POST",), _expire_registry_tokens),
    "/registry-tokens/revoke": (("POST",), _revoke_registry_tokens),
    "/app-tokens/revoke": (("POST",), _revoke_app_jwts),
    "/config": (("GET", "POST"), _config),
    "/faults": (("GET", "POST", "DELETE"), _faults),
    "/stats": (("GET",), _stats),
    "/reset-stats": (("POST",), _reset_stats),
    "/requests": (("GET",), _requests),
    "/verify-jwt": (("POST",), _verify_jwt),
    "/realm-cert": (("GET",), _realm_cert),
    "/sessions": (("GET", "POST"), _sessions),
    "/sessions/close": (("POST",), _close_session),
}


def handle(req: Request, svc: Services) -> Response:
    route = ROUTES.get(req.path[len(PREFIX) :].rstrip("/") or "/")
    if route is None:
        raise ApiError(404, "not_found", f"no control endpoint {req.path}")
    methods, fn = route
    if req.method not in methods:
        raise ApiError(
            405, "method_not_allowed", f"{req.path} accepts {', '.join(methods)}", {"Allow": ", ".join(methods)}
        )
    return fn(req, svc)
