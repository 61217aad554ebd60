"""The ceiling of the stack: a bare Starlette route on uvicorn answering with fixed JSON bytes.

The throughput benchmark serves, from here, the very bytes the mock answered for the same request, so the difference
between the two is what connexion, validation and the mock's own logic cost.
Run: ``BARE_GET_BODY=... BARE_POST_BODY=... uvicorn bench.bare_app:app``.
"""

from __future__ import annotations

import os

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

_DEFAULT = '{"request_id":"r","output":{"task_id":"t","task_status":"PENDING"}}'
_GET_BODY = os.environ.get("BARE_GET_BODY", _DEFAULT).encode()
_POST_BODY = os.environ.get("BARE_POST_BODY", _DEFAULT).encode()


async def get_task(request: Request) -> Response:
    return Response(_GET_BODY, media_type="application/json")


async def submit(request: Request) -> Response:
    await request.body()
    return Response(_POST_BODY, media_type="application/json")


app = Starlette(
    routes=[
        Route("/api/v1/tasks/{task_id}", get_task, methods=["GET"]),
        Route("/api/v1/services/aigc/image2video/video-synthesis/", submit, methods=["POST"]),
    ]
)
