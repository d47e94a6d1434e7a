"""The staff console at `/console/`: the files `npm run build` writes into `console/dist`
(`CONSOLE_DIST`), served from the API's own origin so that it calls `/api/v1` with no CORS.
Outside `/api/v1` and the OpenAPI document, like `api/routes/ops.py`: these are pages for a
browser, not operations of the API.

- `/console/assets/…`: Vite's hashed files, cached for a year (`immutable`: a new build gives
  new names); a missing one answers 404 in the error shape, never the page.
- any other path under `/console/` that is a file of the build (an icon, say): that file,
  revalidated on every use; a path naming a file that is not there (`….js`, `….png`) is a 404.
- anything else under `/console/` is a page of the console (history mode: `/console/projects/3`):
  its `index.html`, revalidated on every use so that a new build is picked up at once.

Nothing outside the build folder can be read: a path is joined with `werkzeug.security.safe_join`
and must still lie inside the folder once links are resolved. Without a build, `/console/`
answers 404 with a page that says how to build it.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from flask import Blueprint, Flask, Response, current_app, send_file
from werkzeug.security import safe_join

from api.http import error_response

blp = Blueprint("console", __name__)

ASSETS = "assets/"
YEAR = 365 * 24 * 3600
NOT_BUILT = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>工作台尚未构建 · Console not built</title>
<style>body{font-family:sans-serif;max-width:40em;margin:4em auto;line-height:1.7;padding:0 1em}
code{background:#f2f3f5;padding:.1em .3em}</style></head><body>
<h1>工作台尚未构建</h1>
<p>工作人员控制台需要先构建（需要 Node.js 20 或更新版本）：</p>
<p><code>cd console &amp;&amp; npm ci &amp;&amp; npm run build</code></p>
<p><code>scripts/demo</code> 会在有 npm 时自动构建。API（<code>/api/v1</code>）不受影响，照常运行。</p>
<hr>
<h2>The console is not built</h2>
<p>Build it with Node.js 20 or newer: <code>cd console &amp;&amp; npm ci &amp;&amp; npm run build</code>
(<code>scripts/demo</code> does so when npm is available). The API under <code>/api/v1</code>
runs without it.</p>
</body></html>
"""


def _dist() -> Path:
    return Path(current_app.config["CONSOLE_DIST"])


def _file(dist: Path, path: str) -> Path | None:
    """The file `path` names inside `dist`, or None: not there, not a regular file, or (through
    `..`, an absolute path, a backslash or a link) outside the folder."""
    joined = safe_join(str(dist), path)
    if joined is None:
        return None
    candidate = Path(joined)
    try:
        inside = candidate.resolve().is_relative_to(dist.resolve())
    except (OSError, RuntimeError, ValueError):  # a link loop, a NUL byte
        return None
    return candidate if inside and candidate.is_file() else None


def _security_headers(response: Response) -> Response:
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "same-origin"
    return response


def _missing() -> Response:
    return error_response(404, "console_file_not_found", "找不到该文件")


@blp.get("/console/", defaults={"path": ""})
@blp.get("/console/<path:path>")
def console(path: str):
    dist = _dist()
    index = _file(dist, "index.html")
    if index is None:
        response = Response(NOT_BUILT, status=404, mimetype="text/html")
        response.headers["Cache-Control"] = "no-store"
        return _security_headers(response)
    if path.startswith(ASSETS):
        found = _file(dist, path)
        if found is None:
            return _missing()
        response = send_file(found, max_age=YEAR, conditional=True)
        response.headers["Cache-Control"] = f"public, max-age={YEAR}, immutable"
        return _security_headers(response)
    found = _file(dist, path) if path else None
    if found is None and PurePosixPath(path).suffix:
        return _missing()  # a file the build does not have, not a page of the console
    response = send_file(found or index, max_age=0, conditional=True)
    response.headers["Cache-Control"] = "no-cache"
    return _security_headers(response)


def register(app: Flask) -> None:
    """`/console/` and everything under it (`/console` redirects there)."""
    app.register_blueprint(blp)
