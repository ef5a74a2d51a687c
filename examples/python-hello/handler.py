# A ContainerPub function in Python: handler(request, ctx) answers each call.
# request: method, path, query, headers (dict), await request.text() / .json() / .body(), request.stream()
# ctx: env, log.info(...), invocation_id, deadline (epoch ms), remaining_ms(), trace, function
from cpub import Response


async def handler(request, ctx):
    name = dict(p.split("=", 1) for p in request.query.split("&") if "=" in p).get("name", "world")
    ctx.log.info("greeting", name)
    return Response(f"Hello, {name}!\n", headers={"content-type": "text/plain; charset=utf-8"})
