"""`/console/`: the built staff console, served from a build folder of the test's own
(`CONSOLE_DIST`): history-mode pages, cache headers, missing files, nothing outside the folder,
and a page that says how to build it when there is no build."""

from __future__ import annotations

import pytest

from api.config import PROJECT_ROOT, load

INDEX = '<!doctype html><html><body><div id="app"></div><script src="/console/assets/index-Ab12.js"></script></body></html>'
SCRIPT = "console.log('console')"


@pytest.fixture
def dist(tmp_path, app, monkeypatch):
    """A build folder as `npm run build` writes it, with a secret file beside it."""
    folder = tmp_path / "dist"
    (folder / "assets").mkdir(parents=True)
    (folder / "index.html").write_text(INDEX, encoding="utf-8")
    (folder / "assets" / "index-Ab12.js").write_text(SCRIPT, encoding="utf-8")
    (folder / "assets" / "index-Cd34.css").write_text("body{}", encoding="utf-8")
    (folder / "favicon.ico").write_bytes(b"\x00\x00\x01\x00")
    (tmp_path / "secret.txt").write_text("not for you", encoding="utf-8")
    monkeypatch.setitem(app.config, "CONSOLE_DIST", str(folder))
    return folder


def get(client, path, **kwargs):
    """The reply, read and closed (a served file is streamed from an open file)."""
    reply = client.get(path, **kwargs)
    reply.get_data()
    reply.close()
    return reply


def _is_index(reply) -> None:
    assert reply.status_code == 200, reply.data[:200]
    assert reply.mimetype == "text/html"
    assert reply.get_data(as_text=True) == INDEX
    assert reply.headers["Cache-Control"] == "no-cache"
    assert reply.headers["X-Content-Type-Options"] == "nosniff"


def _is_missing(reply) -> None:
    assert reply.status_code == 404
    assert reply.json["error"]["code"] == "console_file_not_found"
    assert reply.json["error"]["message"] == "找不到该文件"
    assert "not for you" not in reply.get_data(as_text=True)


def test_the_console_root_is_its_index_page(client, dist):
    _is_index(get(client, "/console/"))
    _is_index(get(client, "/console/index.html"))


def test_console_without_the_slash_redirects_to_it(client, dist):
    reply = get(client, "/console")
    assert reply.status_code in (301, 308)
    assert reply.headers["Location"].endswith("/console/")


@pytest.mark.parametrize(
    "path", ["/console/login", "/console/projects", "/console/projects/12/plans", "/console/征询"]
)
def test_a_page_of_the_console_is_its_index_page_history_mode(client, dist, path):
    _is_index(get(client, path))


def test_a_hashed_asset_is_cached_for_a_year(client, dist):
    reply = get(client, "/console/assets/index-Ab12.js")
    assert reply.status_code == 200
    assert reply.get_data(as_text=True) == SCRIPT
    assert reply.mimetype in ("text/javascript", "application/javascript")
    assert reply.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert get(client, "/console/assets/index-Cd34.css").mimetype == "text/css"


def test_an_asset_answers_304_when_unchanged(client, dist):
    etag = get(client, "/console/assets/index-Ab12.js").headers["ETag"]
    reply = get(client, "/console/assets/index-Ab12.js", headers={"If-None-Match": etag})
    assert reply.status_code == 304


def test_a_file_of_the_build_outside_assets_is_revalidated(client, dist):
    reply = get(client, "/console/favicon.ico")
    assert reply.status_code == 200 and reply.data == b"\x00\x00\x01\x00"
    assert reply.headers["Cache-Control"] == "no-cache"


@pytest.mark.parametrize(
    "path",
    [
        "/console/assets/index-Zz99.js",  # an older build's file
        "/console/assets/",
        "/console/assets/nested/missing.css",
        "/console/missing.js",
        "/console/logo.png",
    ],
)
def test_a_missing_file_is_a_json_404_not_the_page(client, dist, path):
    _is_missing(get(client, path))


@pytest.mark.parametrize(
    "path",
    [
        "/console/../secret.txt",
        "/console/%2e%2e/secret.txt",
        "/console/assets/../../secret.txt",
        "/console/assets/%2e%2e/%2e%2e/secret.txt",
        "/console/assets/..%2f..%2fsecret.txt",
        "/console/assets/..%5c..%5csecret.txt",
        "/console//etc/passwd",
        "/console/assets//etc/passwd",
        "/console/assets/%2fetc%2fpasswd",
        "/console/assets/%00index-Ab12.js",
    ],
)
def test_nothing_outside_the_build_can_be_read(client, dist, path):
    reply = get(client, path)
    body = reply.get_data(as_text=True)
    assert reply.status_code == 404, (reply.status_code, body[:200])
    assert "not for you" not in body and "root:" not in body


def test_a_link_out_of_the_build_is_not_followed(client, dist):
    (dist / "assets" / "leak.js").symlink_to(dist.parent / "secret.txt")
    (dist / "assets" / "up").symlink_to(dist.parent, target_is_directory=True)
    _is_missing(get(client, "/console/assets/leak.js"))
    _is_missing(get(client, "/console/assets/up/secret.txt"))


@pytest.mark.parametrize("method", ["post", "put", "delete", "patch"])
def test_the_console_is_read_only(client, dist, method):
    reply = getattr(client, method)("/console/login")
    assert reply.status_code == 405
    assert reply.json["error"]["code"] == "method_not_allowed"


def test_without_a_build_the_console_says_how_to_build_it(client, app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "CONSOLE_DIST", str(tmp_path / "no-such-dist"))
    for path in ("/console/", "/console/projects", "/console/assets/index-Ab12.js"):
        reply = get(client, path)
        assert reply.status_code == 404
        assert reply.mimetype == "text/html"
        page = reply.get_data(as_text=True)
        assert "工作台尚未构建" in page and "The console is not built" in page
        assert "npm ci &amp;&amp; npm run build" in page
        assert reply.headers["Cache-Control"] == "no-store"


def test_the_api_is_unaffected_by_the_console(client, dist):
    reply = get(client, "/api/v1/no-such-thing")
    assert reply.status_code == 404 and reply.json["error"]["code"] == "not_found"
    assert get(client, "/healthz").json == {"status": "ok"}


def test_the_console_is_not_in_the_openapi_document(client):
    paths = get(client, "/api/openapi.json").json["paths"]
    assert not [path for path in paths if path.startswith("/console")]


def test_console_dist_defaults_to_console_dist_of_the_project(tmp_path):
    assert load(str(tmp_path), environ={})["CONSOLE_DIST"] == str(PROJECT_ROOT / "console" / "dist")
    relative = load(str(tmp_path), environ={"CONSOLE_DIST": "somewhere/dist"})["CONSOLE_DIST"]
    assert relative.endswith("/somewhere/dist") and relative.startswith("/")
