"""Certificates: the STARTTLS certificate and the SNS signing certificate.

When the config names no certificate, a self-signed one is generated with `cryptography` into
the data dir on first start and reused afterwards.
"""

from __future__ import annotations

import datetime
import ssl
import subprocess
import sys
from pathlib import Path

from inbound.datadir import under


def generated_paths(data_dir: Path) -> tuple[Path, Path]:
    """Where the self-signed STARTTLS certificate and key live when the config sets none."""
    return under(data_dir, "tls", "cert.pem"), under(data_dir, "tls", "key.pem")


def ensure_self_signed(cert_path: Path, key_path: Path, common_name: str) -> None:
    """Create a key and certificate unless both exist, in a short-lived child process: the
    server itself never loads `cryptography` (~10 MB that a running server would keep; the
    benchmarks hold its memory to the bare aiosmtpd server's + 30 MB)."""
    if cert_path.exists() and key_path.exists():
        return
    subprocess.run(
        [sys.executable, "-m", "inbound.tls", str(cert_path), str(key_path), common_name],
        check=True,
    )


def generate_self_signed(cert_path: Path, key_path: Path, common_name: str) -> None:
    """A 2048-bit RSA key and a 10-year self-signed certificate for `common_name`."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(common_name)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path.parent.mkdir(parents=True, exist_ok=True)
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_path.chmod(0o600)
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def server_context(cert_path: Path, key_path: Path) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_path, key_path)
    return context


if __name__ == "__main__":
    generate_self_signed(Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3])
