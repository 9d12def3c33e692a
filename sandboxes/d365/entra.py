"""The sandbox's Microsoft Entra ID: the login host a standard client (Microsoft's own `msal`)
can use unmodified. Entra only speaks HTTPS, and msal refuses an `http://` authority, so this host
serves TLS with a throwaway certificate authority made at start-up; its PEM file (`ca_file`) is
what the tests and the connector are told to trust (ERP__D365__CA_BUNDLE).

    GET  /{tenant}/v2.0/.well-known/openid-configuration   msal's tenant discovery
    POST /{tenant}/oauth2/v2.0/token                         client credentials, Entra's errors

The F&O service itself stays on plain HTTP (`server.D365Server` runs both and stops both).
"""

from __future__ import annotations

import base64
import ipaddress
import secrets
import shutil
import ssl
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import parse_qs, unquote

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from sandboxes.http import Request, Response, SandboxHTTPServer, dump_json

DISCOVERY_SUFFIX = "/v2.0/.well-known/openid-configuration"
TOKEN_SUFFIX = "/oauth2/v2.0/token"
CERTIFICATE_DAYS = 30  # `closeout sandbox` may run for days


class EntraLogin:
    """Answers the login host's requests for `sandbox` (a D365Sandbox: its app registration,
    tokens, counters and lock)."""

    def __init__(self, sandbox):
        self.sandbox = sandbox
        self.base_url = ""  # https://host:port, set by the server

    def handle(self, request: Request) -> Response:
        path = unquote(request.path)
        tenant, _, rest = path.lstrip("/").partition("/")
        if request.method == "GET" and "/" + rest == DISCOVERY_SUFFIX:
            return self._discovery(tenant)
        if request.method == "POST" and "/" + rest == TOKEN_SUFFIX:
            return self._token(request, tenant)
        return entra_error(
            404, "invalid_request", 900561, f"The endpoint {request.method} {path} is not known."
        )

    def _discovery(self, tenant: str) -> Response:
        with self.sandbox._lock:
            self.sandbox.stats.discovery_requests += 1
        if tenant != self.sandbox.config.tenant_id:
            return _unknown_tenant(tenant, "invalid_tenant")  # Entra's discovery says so
        base = f"{self.base_url}/{tenant}"
        return Response.json(
            {
                "token_endpoint": f"{base}/oauth2/v2.0/token",
                "token_endpoint_auth_methods_supported": [
                    "client_secret_post",
                    "private_key_jwt",
                    "client_secret_basic",
                ],
                "jwks_uri": f"{base}/discovery/v2.0/keys",
                "response_modes_supported": ["query", "fragment", "form_post"],
                "subject_types_supported": ["pairwise"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
                "scopes_supported": ["openid", "profile", "email", "offline_access"],
                "issuer": f"{base}/v2.0",
                "request_uri_parameter_supported": False,
                "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
                "end_session_endpoint": f"{base}/oauth2/v2.0/logout",
                "tenant_region_scope": "NA",
                "cloud_instance_name": "microsoftonline.com",
            }
        )

    def _token(self, request: Request, tenant: str) -> Response:
        sandbox = self.sandbox
        form = {k: v[-1] for k, v in parse_qs(request.body.decode("utf-8", "replace")).items()}
        form.update(_basic_credentials(request.header("Authorization")))
        with sandbox._lock:
            sandbox.stats.token_requests += 1
        config = sandbox.config
        if tenant != config.tenant_id:
            return _unknown_tenant(tenant, "invalid_request")  # the token endpoint, this
        if form.get("grant_type") != "client_credentials":
            return entra_error(
                400,
                "unsupported_grant_type",
                70003,
                f"The app requested an unsupported grant type '{form.get('grant_type', '')}'.",
            )
        if form.get("client_id") != config.client_id:
            return entra_error(
                400,
                "unauthorized_client",
                700016,
                f"Application with identifier '{form.get('client_id', '')}' "
                f"was not found in the directory '{tenant}'.",
            )
        if form.get("client_secret") != config.client_secret:
            return entra_error(
                401,
                "invalid_client",
                7000215,
                "Invalid client secret provided. Ensure the secret being sent in the request "
                "is the client secret value, not the client secret ID, for a secret added to "
                f"app '{config.client_id}'.",
            )
        scope = form.get("scope", "")
        if not scope:
            return entra_error(
                400,
                "invalid_request",
                900144,
                "The request body must contain the following parameter: 'scope'.",
            )
        wanted = f"{sandbox.environment_url}/.default"
        # msal adds the OIDC scopes it reserves to every request; Entra ignores them here.
        asked = [s for s in scope.split() if s not in ("openid", "profile", "offline_access")]
        if asked != [wanted]:
            return entra_error(
                400,
                "invalid_scope",
                70011,
                f"The provided value for the input parameter 'scope' '{scope}' is not valid. "
                f"Use '{wanted}'.",
            )
        token = sandbox.tokens.issue(
            _fake_jwt(config.client_id, sandbox.environment_url), config.token_ttl
        )
        return Response.json(
            {
                "token_type": "Bearer",
                "expires_in": config.token_ttl,
                "ext_expires_in": config.token_ttl,
                "access_token": token,
            }
        )


class LoginServer(SandboxHTTPServer):
    """`EntraLogin` over TLS, its certificate signed by a certificate authority made for this
    server alone; `ca_file` is that authority's PEM file (removed when the server closes)."""

    def __init__(self, login: EntraLogin, host: str = "127.0.0.1", port: int = 0):
        self._dir = Path(tempfile.mkdtemp(prefix="closeout-d365-entra-"))
        self.ca_file = str(self._dir / "ca.pem")
        self._context = _server_context(host, self._dir)
        super().__init__(login, host, port)
        login.base_url = self.url

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"https://{host}:{port}"

    def get_request(self):
        connection, address = super().get_request()
        # The handshake happens in the request's thread, so a slow client holds up no other.
        wrapped = self._context.wrap_socket(
            connection, server_side=True, do_handshake_on_connect=False
        )
        return wrapped, address

    def finish_request(self, request, client_address) -> None:
        try:
            request.do_handshake()
        except (ssl.SSLError, OSError):
            return  # a client that does not trust the sandbox CA: nothing to answer
        super().finish_request(request, client_address)

    def server_close(self) -> None:
        super().server_close()
        shutil.rmtree(self._dir, ignore_errors=True)


def entra_error(status: int, error: str, code: int, description: str) -> Response:
    """Entra's error JSON: the AADSTS code leads the description, then trace and correlation."""
    now = datetime.now(timezone.utc)
    trace, correlation = str(uuid.uuid4()), str(uuid.uuid4())
    return Response.json(
        {
            "error": error,
            "error_description": f"AADSTS{code}: {description}\r\nTrace ID: {trace}\r\n"
            f"Correlation ID: {correlation}\r\nTimestamp: {now:%Y-%m-%d %H:%M:%SZ}",
            "error_codes": [code],
            "timestamp": f"{now:%Y-%m-%d %H:%M:%SZ}",
            "trace_id": trace,
            "correlation_id": correlation,
            "error_uri": f"https://login.microsoftonline.com/error?code={code}",
        },
        status,
    )


def _unknown_tenant(tenant: str, error: str) -> Response:
    return entra_error(
        400,
        error,
        90002,
        f"Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and "
        "are signing into the correct cloud.",
    )


def _basic_credentials(authorization: str | None) -> dict[str, str]:
    """client_secret_basic: the client id and secret in an Authorization: Basic header."""
    scheme, _, encoded = (authorization or "").partition(" ")
    if scheme.lower() != "basic":
        return {}
    try:
        client_id, _, secret = base64.b64decode(encoded).decode().partition(":")
    except ValueError:
        return {}
    return {"client_id": unquote(client_id), "client_secret": unquote(secret)}


def _fake_jwt(client_id: str, audience: str) -> str:
    def part(data: dict) -> str:
        return base64.urlsafe_b64encode(dump_json(data)).decode().rstrip("=")

    claims = {"aud": audience, "appid": client_id, "iat": int(time.time())}
    claims["jti"] = str(uuid.uuid4())
    return f"{part({'typ': 'JWT', 'alg': 'RS256'})}.{part(claims)}.{secrets.token_urlsafe(32)}"


# -- the throwaway certificate authority --------------------------------------------------------
def _server_context(host: str, directory: Path) -> ssl.SSLContext:
    """A TLS server context for `host`; writes the CA's certificate to directory/ca.pem (the
    server's key lives only as long as it takes to load it)."""
    now = datetime.now(timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "closeout D365 sandbox CA")])
    ca = (
        _builder(ca_name, ca_name, ca_key.public_key(), now)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(cert_sign=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = [
        x509.DNSName("localhost"),
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
    ]
    try:
        names.append(x509.IPAddress(ipaddress.ip_address(host)))
    except ValueError:
        names.append(x509.DNSName(host))
    leaf = (
        _builder(
            x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)]),
            ca_name,
            key.public_key(),
            now,
        )
        .add_extension(x509.SubjectAlternativeName(list(dict.fromkeys(names))), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(cert_sign=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    (directory / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    chain = directory / "server.pem"
    chain.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        + leaf.public_bytes(serialization.Encoding.PEM)
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        context.load_cert_chain(chain)
    finally:
        chain.unlink()
    return context


def _builder(subject: x509.Name, issuer: x509.Name, public_key, now: datetime):
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + timedelta(days=CERTIFICATE_DAYS))
    )


def _key_usage(*, cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not cert_sign,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )
