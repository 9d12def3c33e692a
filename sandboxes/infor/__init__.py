"""A local stand-in for Infor CloudSuite M3 behind the ION API Gateway: the `.ionapi` password
grant, the m3api-rest v2 bulk execute with GLS840MI (GL interface batches, read through the
tenant's own interface definition), GLS200MI (vouchers), the read-only look-ups of `closeout
check` (MNS100MI, CRS630MI, EXT840MI), gateway throttling and faults."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from sandboxes.http import serve


def start(host: str = "127.0.0.1", port: int = 0):
    """The sandbox and its server, serving in a thread."""
    from sandboxes.infor.server import InforSandbox

    return serve(InforSandbox(), host, port)


def connector_env(sandbox, server) -> dict[str, str]:
    """The ERP__INFOR__* settings that point closeout's connector at this sandbox: a `.ionapi`
    file (in a temporary directory) holding the sandbox's tenant, client and service account."""
    directory = Path(tempfile.mkdtemp(prefix="infor-sandbox-"))
    path = directory / f"{sandbox.config.tenant}.ionapi"
    path.write_text(json.dumps(ionapi_file(sandbox, server)))
    return {"ERP__INFOR__IONAPI_FILE": str(path)}


def ionapi_file(sandbox, server) -> dict[str, str]:
    """What ION API's 'Backend Service' download would hold for this sandbox."""
    config = sandbox.config
    return {
        "ti": config.tenant,
        "cn": "closeout",
        "dt": "12",
        "ci": config.client_id,
        "cs": config.client_secret,
        "iu": server.url,
        "pu": f"{server.url}/{config.tenant}/as/",
        "oa": "authorization.oauth2",
        "ot": "token.oauth2",
        "or": "revoke_token.oauth2",
        "ev": "U000000000",
        "v": "1.0",
        "saak": config.service_account_key,
        "sask": config.service_account_secret,
    }
