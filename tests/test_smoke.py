"""The app starts and the basic endpoints answer."""


def test_healthz_answers_ok(client):
    assert client.get("/healthz").get_json() == {"status": "ok"}


def test_readyz_reports_each_dependency(client, app):
    body = client.get("/readyz").get_json()
    assert body["checks"]["database"] == "ok"
    if app.config.get("REDIS_URL"):
        assert body["checks"]["redis"] == "ok"


def test_api_token_roundtrip(client, driver, auth):
    me = client.get("/api/v1/auth/me", headers=auth.headers())
    assert me.status_code == 200
    assert me.get_json()["roles"] == ["user"]
