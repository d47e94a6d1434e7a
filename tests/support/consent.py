"""A resident who signed in through the fake WeChat, past the privacy notice."""

from __future__ import annotations


def consented_headers(client, login) -> dict:
    """Request headers for the resident of `login` (the reply of `POST /auth/wechat-login`),
    who accepts the privacy notice in force first when they had not: the token of the consent's
    reply, which carries it."""
    assert login.status_code == 200, login.get_json()
    token = login.json["token"]
    if login.json["consent_required"]:
        reply = client.post(
            "/api/v1/me/privacy-consent",
            json={"version": login.json["privacy_version"]},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert reply.status_code == 200, reply.get_json()
        token = reply.json["token"]
    return {"Authorization": f"Bearer {token}"}
