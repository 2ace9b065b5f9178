"""X509 certificates: generation, loading, digests and validity checks.

Mirrors Ganeti's lib/utils/x509.py. Certificates and keys are built with
`cryptography` (pyOpenSSL's own key generation is deprecated) and handed out
as PEM text; `LoadPemCertificate` returns pyOpenSSL `crypto.X509` objects,
the type the TLS code (pyOpenSSL.SSL) sees for peers.

The cluster keeps key and certificate in one PEM file (server.pem, key
first, then the certificate), which is also the "signing PEM" used to sign
the per-node client.pem (spec/rpc.md, "TLS / certificates").

A certificate is identified by its SHA1 digest written as colon-separated
upper-case hex ("65:8E:...:9E"), the form OpenSSL's X509.digest("sha1")
prints; ssconf master_candidates_certs and cluster.candidate_certs hold it.
"""

from __future__ import annotations

import datetime
import hashlib
import time

from cryptography import exceptions as crypto_exceptions
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from OpenSSL import crypto

from ganeti import constants, errors, pathutils
from ganeti.utils import io as utils_io
from ganeti.utils import text as utils_text

# Results of VerifyX509Certificate (Ganeti has CERT_WARNING/CERT_ERROR and
# signals "fine" with None; we name that case CERT_OK).
CERT_OK = 0
CERT_WARNING = 1
CERT_ERROR = 2

# notBefore is set this far in the past, so that a node whose clock lags the
# signer's by a few minutes still accepts a certificate made just now.
_CLOCK_SKEW_SECONDS = 5 * 60

# Combined key+cert files are readable by the owner and its group only
# (server.pem is 0440, spec/config.md section 5).
_CERT_FILE_MODE = 0o440

_DATA_SOURCE = "<data>"

# OpenSSL's names for the digest constant (constants.X509_CERT_SIGN_DIGEST).
_SIGN_DIGESTS: dict[str, type[hashes.HashAlgorithm]] = {
    "SHA1": hashes.SHA1,
    "SHA256": hashes.SHA256,
    "SHA384": hashes.SHA384,
    "SHA512": hashes.SHA512,
}

AnyCert = crypto.X509 | x509.Certificate


def _SignDigest() -> hashes.HashAlgorithm:
    try:
        return _SIGN_DIGESTS[constants.X509_CERT_SIGN_DIGEST.upper()]()
    except KeyError as err:
        raise errors.ProgrammerError(
            f"Unsupported signing digest {constants.X509_CERT_SIGN_DIGEST!r}"
        ) from err


def _GenerateKey() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(
        public_exponent=65537, key_size=constants.RSA_KEY_BITS
    )


def _KeyToPem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")


def _CertToPem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode("ascii")


def _BuildCert(
    common_name: str,
    validity: int,
    serial_no: int,
    key: rsa.RSAPrivateKey,
    issuer: x509.Name | None,
    signing_key: rsa.RSAPrivateKey,
) -> x509.Certificate:
    """Build and sign a certificate for key (self-signed if issuer is None).

    Raises:
      errors.X509CertError: the parameters are invalid (bad validity, serial).
    """
    if validity <= 0:
        raise errors.X509CertError(
            _DATA_SOURCE, f"Validity must be positive, got {validity} seconds"
        )
    if serial_no <= 0:
        raise errors.X509CertError(
            _DATA_SOURCE, f"Serial number must be positive, got {serial_no}"
        )
    try:
        subject = x509.Name(
            [x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    except ValueError as err:
        raise errors.X509CertError(
            _DATA_SOURCE, f"Invalid common name {common_name!r}: {err}"
        ) from err
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject if issuer is None else issuer)
        .public_key(key.public_key())
        .serial_number(serial_no)
        .not_valid_before(now - datetime.timedelta(seconds=_CLOCK_SKEW_SECONDS))
        .not_valid_after(now + datetime.timedelta(seconds=validity))
    )
    if issuer is None:
        # A self-signed certificate is the cluster's CA (server.pem signs each
        # node's client.pem). Without this extension OpenSSL refuses to use a
        # v3 certificate as a CA, and signed client certificates fail to verify.
        builder = builder.add_extension(
            x509.BasicConstraints(ca=True, path_length=None), critical=True)
    try:
        return builder.sign(signing_key, _SignDigest())
    except ValueError as err:
        raise errors.X509CertError(
            _DATA_SOURCE, f"Can't create certificate: {err}"
        ) from err


def GenerateSelfSignedX509Cert(
    common_name: str, validity: int, serial_no: int
) -> tuple[str, str]:
    """Generate a new RSA key and a self-signed certificate for it.

    Args:
      common_name: the subject's (and issuer's) CN.
      validity: seconds from now until the certificate expires.
      serial_no: the certificate's serial number (positive).

    Returns:
      (key PEM, certificate PEM).

    Raises:
      errors.X509CertError: the parameters are invalid.
    """
    key = _GenerateKey()
    cert = _BuildCert(common_name, validity, serial_no, key, None, key)
    return _KeyToPem(key), _CertToPem(cert)


def _LoadSigningPair(
    signing_pem: str, source: str
) -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    """Read the CA key and certificate from one combined PEM text.

    Raises:
      errors.X509CertError: the key or the certificate is missing or bad.
    """
    data = signing_pem.encode("ascii", "replace")
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as err:
        raise errors.X509CertError(
            source, f"No usable private key in signing PEM: {err}"
        ) from err
    if not isinstance(key, rsa.RSAPrivateKey):
        raise errors.X509CertError(source, "Signing key is not an RSA key")
    try:
        cert = x509.load_pem_x509_certificate(data)
    except ValueError as err:
        raise errors.X509CertError(
            source, f"No usable certificate in signing PEM: {err}"
        ) from err
    if cert.public_key().public_numbers() != key.public_key().public_numbers():
        raise errors.X509CertError(
            source, "Signing key and certificate do not belong together"
        )
    return key, cert


def GenerateSignedX509Cert(
    common_name: str,
    validity: int,
    serial_no: int,
    signing_cert_pem: str,
    _source: str = _DATA_SOURCE,
) -> tuple[str, str]:
    """Generate a new RSA key and a certificate signed by a CA.

    Args:
      common_name: the new certificate's CN.
      validity: seconds from now until the certificate expires.
      serial_no: the new certificate's serial number (positive).
      signing_cert_pem: one PEM text holding the CA's key and certificate
        (like server.pem).

    Returns:
      (key PEM, certificate PEM); the issuer is the CA certificate's subject.

    Raises:
      errors.X509CertError: the signing PEM is unusable or a parameter is bad.
    """
    ca_key, ca_cert = _LoadSigningPair(signing_cert_pem, _source)
    key = _GenerateKey()
    cert = _BuildCert(common_name, validity, serial_no, key, ca_cert.subject, ca_key)
    return _KeyToPem(key), _CertToPem(cert)


def GenerateSelfSignedSslCert(
    filename: str,
    serial_no: int,
    common_name: str = "ganeti.example.com",
    validity: int = constants.X509_CERT_DEFAULT_VALIDITY * 86400,
) -> tuple[str, str]:
    """Write a new key and self-signed certificate into one PEM file.

    The file (key, then certificate) is replaced atomically with mode 0440.

    Args:
      filename: absolute path of the PEM file.
      serial_no: the certificate's serial number.
      common_name: the certificate's CN.
      validity: seconds until expiry (default: Ganeti's 5 years).

    Returns:
      (key PEM, certificate PEM).

    Raises:
      errors.X509CertError: a parameter is bad.
      OSError: the file could not be written (the old one is untouched).
    """
    key_pem, cert_pem = GenerateSelfSignedX509Cert(common_name, validity, serial_no)
    utils_io.WriteFile(filename, key_pem + cert_pem, mode=_CERT_FILE_MODE)
    return key_pem, cert_pem


def GenerateSignedSslCert(
    filename: str,
    serial_no: int,
    signing_cert_file: str,
    common_name: str = "ganeti.example.com",
    validity: int = constants.X509_CERT_DEFAULT_VALIDITY * 86400,
) -> tuple[str, str]:
    """Write a new key and a certificate signed by signing_cert_file.

    Args:
      filename: absolute path of the new PEM file (key, then certificate).
      serial_no: the certificate's serial number.
      signing_cert_file: combined key+cert PEM of the CA (e.g. server.pem).
      common_name: the certificate's CN.
      validity: seconds until expiry.

    Returns:
      (key PEM, certificate PEM).

    Raises:
      errors.X509CertError: the signing file is unreadable or unusable.
      OSError: the file could not be written (the old one is untouched).
    """
    signing_pem = _ReadPemFile(signing_cert_file)
    key_pem, cert_pem = GenerateSignedX509Cert(
        common_name, validity, serial_no, signing_pem, _source=signing_cert_file
    )
    utils_io.WriteFile(filename, key_pem + cert_pem, mode=_CERT_FILE_MODE)
    return key_pem, cert_pem


def _ReadPemFile(filename: str) -> str:
    try:
        return utils_io.ReadFile(filename)
    except (OSError, UnicodeDecodeError) as err:
        raise errors.X509CertError(filename, f"Can't read file: {err}") from err


def LoadPemCertificate(pem: str | bytes, source: str = _DATA_SOURCE) -> crypto.X509:
    """Parse the (first) certificate in a PEM text.

    Args:
      pem: PEM text; other blocks (e.g. a private key) are ignored.
      source: file name used in error messages.

    Raises:
      errors.X509CertError: the text holds no valid certificate.
    """
    if isinstance(pem, str):
        pem = pem.encode("ascii", "replace")
    try:
        return crypto.load_certificate(crypto.FILETYPE_PEM, pem)
    except crypto.Error as err:
        raise errors.X509CertError(
            source, f"Unable to load certificate: {err}"
        ) from err


def ReadCertificateFile(filename: str) -> crypto.X509:
    """Read and parse the certificate stored in a PEM file.

    Raises:
      errors.X509CertError: the file is unreadable or holds no certificate.
    """
    return LoadPemCertificate(_ReadPemFile(filename), source=filename)


def _FormatDigest(raw: bytes) -> str:
    return ":".join(f"{byte:02X}" for byte in raw)


def GetCertificateDigest(
    cert_filename: str | None = None, cert_pem: str | None = None
) -> str:
    """SHA1 digest of a certificate, as colon-separated upper-case hex.

    Args:
      cert_filename: PEM file to read (default: this node's client.pem).
      cert_pem: PEM text to use instead of a file.

    Raises:
      errors.X509CertError: no readable certificate; errors.ProgrammerError
        if both arguments are given.
    """
    if cert_filename is not None and cert_pem is not None:
        raise errors.ProgrammerError("Give a certificate file or PEM, not both")
    if cert_pem is None:
        cert = ReadCertificateFile(cert_filename or pathutils.NODED_CLIENT_CERT_FILE)
    else:
        cert = LoadPemCertificate(cert_pem)
    return cert.digest(constants.CERT_DIGEST).decode("ascii")


def GetCertificateDigestFromDer(der: bytes) -> str:
    """SHA1 digest of a DER-encoded certificate (as a TLS peer sends it).

    The result has the same form as GetCertificateDigest's.
    """
    return _FormatDigest(hashlib.sha1(der).digest())


def _ToCryptography(cert: AnyCert) -> x509.Certificate:
    if isinstance(cert, crypto.X509):
        return cert.to_cryptography()
    if isinstance(cert, x509.Certificate):
        return cert
    raise errors.ProgrammerError(f"Not a certificate object: {type(cert)!r}")


def GetX509CertValidity(cert: AnyCert) -> tuple[float | None, float | None]:
    """Return a certificate's (notBefore, notAfter) as UNIX timestamps.

    Args:
      cert: a pyOpenSSL or a cryptography certificate object.
    """
    parsed = _ToCryptography(cert)
    return (
        parsed.not_valid_before_utc.timestamp(),
        parsed.not_valid_after_utc.timestamp(),
    )


def _VerifyValidity(
    not_before: float | None,
    not_after: float | None,
    now: float,
    warn_days: int | None,
    error_days: int | None,
) -> tuple[int, str | None]:
    if not_after is not None and not_after < now:
        return (CERT_ERROR,
                f"Certificate expired on {utils_text.FormatTime(not_after)}")
    if not_before is not None and not_before > now:
        return (CERT_WARNING, "Certificate not yet valid (valid from"
                f" {utils_text.FormatTime(not_before)})")
    if not_after is not None:
        remaining_days = int((not_after - now) // 86400)
        msg = f"Certificate expires in {remaining_days} days"
        if error_days is not None and remaining_days <= error_days:
            return CERT_ERROR, msg
        if warn_days is not None and remaining_days <= warn_days:
            return CERT_WARNING, msg
    return CERT_OK, None


def VerifyX509Certificate(
    cert: AnyCert,
    warn_days: int | None,
    error_days: int | None,
    _now: float | None = None,
) -> tuple[int, str | None]:
    """Check a certificate's validity period.

    Args:
      cert: a pyOpenSSL or a cryptography certificate object.
      warn_days: warn when it expires within this many days (None: never).
      error_days: error when it expires within this many days (None: never).
      _now: test seam, the current UNIX time.

    Returns:
      (CERT_OK, None), or (CERT_WARNING or CERT_ERROR, message); an expired
      certificate is an error, one not yet valid a warning.
    """
    not_before, not_after = GetX509CertValidity(cert)
    now = time.time() if _now is None else _now
    return _VerifyValidity(not_before, not_after, now, warn_days, error_days)


def CheckCertificateSignedBy(cert_pem: str, ca_pem: str) -> bool:
    """Whether the certificate in cert_pem was issued and signed by ca_pem's.

    Args:
      cert_pem: PEM text holding the certificate to check.
      ca_pem: PEM text holding the CA certificate (a key may be present too).

    Raises:
      errors.X509CertError: either text holds no valid certificate.
    """
    cert = _ToCryptography(LoadPemCertificate(cert_pem))
    ca_cert = _ToCryptography(LoadPemCertificate(ca_pem))
    try:
        cert.verify_directly_issued_by(ca_cert)
    except (ValueError, TypeError, crypto_exceptions.InvalidSignature):
        return False
    return True
