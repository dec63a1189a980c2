"""The node's HTTP API (FastAPI, served by hypercorn's trio worker in the node's trio run).

Routes live by concern in `records`, `checks`, `ops`, `ccf` and `bulk` (this
package); `common` holds roles, the audit log and record views.
Every route names the least role it needs (see `users.ROLES`) and `/health`
needs none. Answers never contain a body the CCF has blocked or revoked.
Errors come back as `{"error": type, "detail": one line}` with a 4xx status;
the audit log records who asked what (route templates), never record
plaintext or the values a caller sent.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from noticenet.crypto.errors import NoticenetError
from noticenet.node import logs, web
from noticenet.node.api import bulk, ccf, checks, ops, records
from noticenet.node.api.common import error_body, status_for
from noticenet.node.api.limits import RequestLimits
from noticenet.node.api.metrics import Metrics
from noticenet.node.api.users import Users
from noticenet.node.service import NodeService

logger = logging.getLogger("noticenet.api")
KEEP_ALIVE_S = 75

DESCRIPTION = """One member's node of noticenet. Authenticate with
`Authorization: Bearer <token>` (tokens from `noticenet users add`). Roles, least
to most: border (checks), officer (+ search, read), issuer (+ publish, cancel,
update, import), admin (+ users, peers, metrics, raw entries, commission requests
on the CCF's node). Errors are `{"error", "detail"}` JSON with a 4xx status."""


def create_app(service: NodeService, users: Users) -> FastAPI:
    """The API of one node."""
    app = FastAPI(
        title="noticenet node",
        version="1",
        summary=f"member {service.config.member}",
        description=DESCRIPTION,
    )
    app.state.service = service
    app.state.users = users
    app.state.metrics = Metrics(service)
    for module in (ops, records, checks, ccf, bulk):
        app.include_router(module.router)
    _install_error_handlers(app)
    _document_bearer_auth(app)
    admit_session = web.install(app)  # the pages under /ui/, outside the OpenAPI schema
    app.add_middleware(RequestLimits, users=users, admit=admit_session)
    return app


def _document_bearer_auth(app: FastAPI) -> None:
    """OpenAPI: every route but /health takes `Authorization: Bearer <token>`."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title,
            version=app.version,
            summary=app.summary,
            description=app.description,
            routes=app.routes,
        )
        schema.setdefault("components", {})["securitySchemes"] = {
            "bearer": {"type": "http", "scheme": "bearer", "description": "an API token"}
        }
        for path, operations in schema["paths"].items():
            for operation in operations.values():
                if path != "/health":
                    operation["security"] = [{"bearer": []}]
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(NoticenetError)
    async def _typed(request: Request, exc: NoticenetError) -> JSONResponse:
        return JSONResponse(error_body(exc), status_for(exc))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = list(exc.errors())
        if any(e.get("type") == "json_invalid" for e in errors):
            body = {"error": "BadJSON", "detail": "the request body is not valid JSON"}
            return JSONResponse(body, 400)
        return JSONResponse({"error": "BadRequest", "detail": _describe(errors)}, 422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        names = {404: "NotFound", 405: "MethodNotAllowed", 408: "BodyStalled", 413: "BodyTooLarge"}
        body = {"error": names.get(exc.status_code, "HTTPError"), "detail": str(exc.detail)}
        return JSONResponse(body, exc.status_code, headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> JSONResponse:
        route = request.scope.get("route")
        logs.event(
            logger,
            "api.error",
            level=logging.ERROR,
            error=type(exc).__name__,
            path=str(getattr(route, "path", "?")),
        )
        return JSONResponse({"error": "InternalError", "detail": "internal error"}, 500)


def _describe(errors: list[Any]) -> str:
    """Pydantic errors as one line: where and what, never the input values."""
    parts = []
    for e in errors[:5]:
        loc = tuple(e.get("loc", ()))
        if loc == ("body",) and e.get("type") in ("model_attributes_type", "dict_type"):
            parts.append("the request body must be a JSON object (Content-Type: application/json)")
            continue
        where = ".".join(str(p) for p in loc if p != "body") or "body"
        parts.append(f"{where}: {e.get('msg', 'invalid')}")
    return "; ".join(parts)


async def serve_api(app: FastAPI, bind: str, task_status: Any) -> None:
    """Serve `app` with hypercorn's trio worker until cancelled."""
    from hypercorn.config import Config
    from hypercorn.trio import serve

    config = Config()
    config.bind = [bind]
    # Longer than clients keep idle connections (httpx: 5 s, browsers: 15 s or more), so a
    # client never sends on a connection the server is closing at that very moment (at
    # hypercorn's 5 s, about one request in 25 sent after a 5 s pause was reset).
    config.keep_alive_timeout = KEEP_ALIVE_S
    config.accesslog = None
    config.errorlog = logging.getLogger("noticenet.api.server")
    await serve(app, config, task_status=task_status)  # type: ignore[arg-type]
