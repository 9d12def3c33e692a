"""The Toast sandbox's shared fault kinds behave as sandboxes/faults.py describes."""

from __future__ import annotations

import time

import httpx

LOGIN = "/authentication/v1/authentication/login"


def bearer(toast) -> dict:
    body = {
        "clientId": toast.client_id,
        "clientSecret": toast.client_secret,
        "userAccessType": "TOAST_MACHINE_CLIENT",
    }
    token = httpx.post(toast.url + LOGIN, json=body).json()["token"]["accessToken"]
    return {"Authorization": f"Bearer {token}"}


def test_a_slow_fault_with_fractional_seconds_answers_that_late(toast):
    headers = bearer(toast)
    url = toast.url + "/partners/v1/restaurants"
    started = time.monotonic()
    assert httpx.get(url, headers=headers, timeout=10).status_code == 200
    usual = time.monotonic() - started

    # JSON numbers with a fraction reach the sandbox as Decimal (sandboxes/http.py)
    toast.fault(kind="slow", seconds=0.3, path="/partners/v1/restaurants")
    started = time.monotonic()
    response = httpx.get(url, headers=headers, timeout=10)
    late = time.monotonic() - started

    assert response.status_code == 200, response.text
    assert response.json() == httpx.get(url, headers=headers, timeout=10).json()
    assert 0.3 <= late < usual + 1.3, (usual, late)
    assert toast.stats()["faults_fired"] == 1
