"""The RFB security proxy: the proxy authenticates to the guest, the browser gets None.

As Nova's: between the browser and the guest's VNC server, the proxy speaks
RFB 3.8 to both. To the guest it is the client: it picks the best security
type the guest offers that ``RFBSecurityConfig.auth_schemes`` allows (the
first of them, in the configured order, that the guest offers and the proxy
can run) and authenticates --

- ``none``: security type None;
- ``vnc``: VNC authentication, the DES challenge answered with the target's
  password (``vnc_des``);
- ``vencrypt``: VeNCrypt 0.2 with an x509 subtype, X509Vnc (when the target
  has a password) or X509None: the guest connection is upgraded to TLS with
  the proxy's client certificate, and the guest's certificate must chain to
  ``vencrypt_ca_certs`` AND name the target host (Nova does not check the
  name; a guest certificate for another host is refused here).

To the browser it is the server: it offers RFB 3.8 with only security type
None, relays the guest's SecurityResult (a failure with a generic reason, so
nothing of the guest's security leaks), and from then on pipes bytes, through
the view-only filter (``rfb_filter``) when ``target.view_only``. The browser
never sees a VNC password, a challenge or a certificate.

The proxy runs it as a ``StreamShim`` (``shims``): ``RFBSecurityShims`` is the
shim factory for ``nova-novncproxy``. A failure to authenticate raises
``GuestAuthError``, which ends the session with close code 4007, "console
authentication to the guest failed"; a stream that breaks RFB raises
``ShimError``, a protocol error.

``auth_schemes`` takes Nova's ``none`` and ``vencrypt`` and adds ``vnc``
(Nova's guests have no VNC password; the fake driver's and libvirt's may).
"""

from __future__ import annotations

import re
import struct
from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path
from typing import Any, NoReturn

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from OpenSSL.crypto import X509
from twisted.internet.interfaces import IOpenSSLClientConnectionCreator
from twisted.internet.ssl import Certificate, optionsForClientTLS, trustRootFromCertificates
from twisted.logger import Logger
from twisted.python.failure import Failure

from nova_ws.console.interfaces import ConsoleTarget
from nova_ws.console.rfb_filter import RFBFilterError, ViewOnlyFilter
from nova_ws.console.shims import (
    GuestAuthError,
    ShimError,
    StartTLS,
    StreamShim,
    Write,
    shim_for,
)
from nova_ws.console.vnc_des import CHALLENGE_SIZE, vnc_auth_response

log = Logger()

RFB_38 = b"RFB 003.008\n"
_VERSION_RE = re.compile(rb"RFB (\d{3})\.(\d{3})\n")

#: What the browser is told when the guest side fails: nothing about the guest.
BROWSER_REASON = "console authentication to the guest failed"

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey

#: Longest reason string accepted from the guest.
MAX_REASON = 4096
#: Browser bytes held (after its security choice) until the guest is authenticated.
MAX_HELD = 64 * 1024


class SecurityType(IntEnum):
    """RFB security type numbers."""

    INVALID = 0
    NONE = 1
    VNC_AUTH = 2
    VENCRYPT = 19


class VeNCryptSubtype(IntEnum):
    """VeNCrypt subtype numbers (u32 on the wire)."""

    PLAIN = 256
    TLS_NONE = 257
    TLS_VNC = 258
    TLS_PLAIN = 259
    X509_NONE = 260
    X509_VNC = 261
    X509_PLAIN = 262
    TLS_SASL = 263
    X509_SASL = 264


#: ``auth_schemes`` names and the security type each runs.
AUTH_SCHEMES: dict[str, SecurityType] = {
    "vencrypt": SecurityType.VENCRYPT,
    "vnc": SecurityType.VNC_AUTH,
    "none": SecurityType.NONE,
}


@dataclass(frozen=True)
class RFBSecurityConfig:
    """How the proxy authenticates to guests (Nova's ``[vnc]`` options).

    ``auth_schemes``: the schemes allowed, strongest first -- the first one
    the guest offers (and the proxy can run: ``vnc`` needs the target's
    password) is used. ``vencrypt_ca_certs``: PEM file of the authorities a
    guest's certificate must chain to (required for ``vencrypt``).
    ``vencrypt_client_cert`` and ``vencrypt_client_key``: the proxy's client
    certificate (PEM, the certificate optionally followed by its chain) and
    key, both or neither.
    """

    auth_schemes: tuple[str, ...] = ("vnc", "none")
    vencrypt_client_key: str | None = None
    vencrypt_client_cert: str | None = None
    vencrypt_ca_certs: str | None = None

    def __post_init__(self) -> None:
        if not self.auth_schemes:
            raise ValueError("[vnc] auth_schemes: at least one scheme is needed")
        unknown = [name for name in self.auth_schemes if name not in AUTH_SCHEMES]
        if unknown:
            raise ValueError(
                f"[vnc] auth_schemes: unknown {', '.join(unknown)} "
                f"(known: {', '.join(AUTH_SCHEMES)})")
        if "vencrypt" in self.auth_schemes and not self.vencrypt_ca_certs:
            raise ValueError("[vnc] auth_schemes has vencrypt but vencrypt_ca_certs is not set")
        if bool(self.vencrypt_client_key) != bool(self.vencrypt_client_cert):
            raise ValueError("[vnc] vencrypt_client_key and vencrypt_client_cert go together")

    @property
    def types(self) -> tuple[SecurityType, ...]:
        """The allowed security types, in order of preference."""
        return tuple(AUTH_SCHEMES[name] for name in self.auth_schemes)


def load_pem_certificates(path: str | Path) -> list[x509.Certificate]:
    """Every certificate in a PEM file, in order; ValueError if there is none."""
    data = Path(path).read_bytes()
    try:
        return x509.load_pem_x509_certificates(data)
    except ValueError as error:
        raise ValueError(f"{path}: no PEM certificate ({error})") from error


def load_pem_private_key(path: str | Path) -> PrivateKey:
    """The (unencrypted) private key in a PEM file."""
    key = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
    if not isinstance(key, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey)):
        raise ValueError(f"{path}: not an RSA or EC private key")
    return key


@dataclass(frozen=True)
class GuestTLS:
    """The proxy's side of VeNCrypt's TLS: the authorities it trusts, its certificate.

    ``client_chain`` is the client certificate followed by its intermediates.
    """

    authorities: tuple[x509.Certificate, ...]
    client_chain: tuple[x509.Certificate, ...] = ()
    client_key: PrivateKey | None = None

    @classmethod
    def from_config(cls, config: RFBSecurityConfig) -> GuestTLS:
        """Load the files ``config`` names (ValueError/OSError when they are unusable)."""
        if not config.vencrypt_ca_certs:
            raise ValueError("vencrypt_ca_certs is not set")
        authorities = tuple(load_pem_certificates(config.vencrypt_ca_certs))
        if not (config.vencrypt_client_cert and config.vencrypt_client_key):
            return cls(authorities)
        chain = tuple(load_pem_certificates(config.vencrypt_client_cert))
        key = load_pem_private_key(config.vencrypt_client_key)
        if _spki(key.public_key()) != _spki(chain[0].public_key()):
            raise ValueError(f"{config.vencrypt_client_key} is not the key of "
                             f"{config.vencrypt_client_cert}")
        return cls(authorities, chain, key)

    def options_for(self, host: str) -> IOpenSSLClientConnectionCreator:
        """TLS client options that trust only the authorities and check ``host``'s name."""
        extra: dict[str, Any] = {}
        if self.client_key is not None:
            extra.update(privateKey=self.client_key, certificate=self.client_chain[0],
                         extraCertChain=list(self.client_chain[1:]))
        trust = trustRootFromCertificates(
            [Certificate(X509.from_cryptography(cert)) for cert in self.authorities])
        return optionsForClientTLS(host, trustRoot=trust, extraCertificateOptions=extra or None)


def _spki(key: Any) -> bytes:
    return bytes(key.public_bytes(serialization.Encoding.DER,
                                  serialization.PublicFormat.SubjectPublicKeyInfo))


def _reason_string(reason: str) -> bytes:
    data = reason.encode("utf-8")
    return struct.pack("!I", len(data)) + data


#: A handshake step: True when it consumed input and the handshake may go on.
Step = Callable[[], bool]


class RFBSecurityProxy:
    """One session's RFB security negotiation, then a pipe (``StreamShim``).

    Guest side (proxy as client): ProtocolVersion, security types, the
    chosen scheme's exchange, SecurityResult. Browser side (proxy as server):
    ProtocolVersion, security types [None], the browser's choice, then the
    relayed SecurityResult. ``security_type`` and ``vencrypt_subtype`` say
    what was used with the guest.
    """

    def __init__(
        self,
        target: ConsoleTarget,
        to_guest: Write,
        to_browser: Write,
        config: RFBSecurityConfig | None = None,
        tls: GuestTLS | None = None,
    ) -> None:
        self._target = target
        self._to_guest = to_guest
        self._to_browser = to_browser
        self._config = config or RFBSecurityConfig()
        self._tls = tls
        self.filter = ViewOnlyFilter() if target.view_only else None
        self._start_tls: StartTLS | None = None
        self._guest = bytearray()
        self._browser = bytearray()
        self._guest_step: Step = self._guest_version
        self._browser_step: Step = self._browser_version
        self._guest_greeted = False  # the guest's version was read
        self._browser_greeted = False  # the browser's version was read
        self._offered = False  # the browser was offered [None]
        self._chose = False  # the browser chose None
        self._authenticated = False  # the guest said SecurityResult OK
        self._tls_started = False
        self.security_type: SecurityType | None = None
        self.vencrypt_subtype: VeNCryptSubtype | None = None
        self.piping = False

    # StreamShim and the proxy's guest hooks

    def guest_connected(self, start_tls: StartTLS | None) -> None:
        """The guest connection is up; ``start_tls`` upgrades it to TLS (VeNCrypt)."""
        self._start_tls = start_tls

    def from_guest(self, data: bytes) -> None:
        """Bytes from the guest: the handshake until authenticated, then the browser's."""
        if self.piping:
            self._to_browser(data)
            return
        self._guest += data
        if len(self._guest) > MAX_HELD:
            raise ShimError("guest sent too much during the security handshake")
        self._advance()

    def from_browser(self, data: bytes) -> None:
        """Bytes from the browser: view-only filtered, held until the guest is authenticated."""
        if self.filter is not None:
            try:
                data = self.filter.feed(data)
            except RFBFilterError as error:
                raise ShimError(str(error)) from error
        if self.piping:
            if data:
                self._to_guest(data)
            return
        self._browser += data
        if len(self._browser) > MAX_HELD:
            raise ShimError("browser sent too much before the guest was authenticated")
        self._advance()

    def guest_lost(self, reason: Failure) -> None:
        """The guest connection closed: mid-authentication, that is a failure to authenticate."""
        if self.piping or self.security_type is None:
            return
        if self._tls_started:
            why = f"TLS with the guest failed: {_describe(reason)}"
        else:
            why = "the guest closed the connection during authentication"
        self._fail(why)

    # the handshake

    def _advance(self) -> None:
        progressed = True
        while progressed and not self.piping:
            guest = self._guest_step()
            browser = self._browser_step()
            progressed = guest or browser

    def _fail(self, why: str) -> NoReturn:
        """Tell the browser, the RFB way, that security failed; end the session."""
        if self._chose or self._offered:
            self._to_browser(struct.pack("!I", 1) + _reason_string(BROWSER_REASON))
        elif self._guest_greeted:  # the browser has our version: zero types and the reason
            self._to_browser(b"\0" + _reason_string(BROWSER_REASON))
        self._offered = self._chose = False
        raise GuestAuthError(why)

    def _take(self, buffer: bytearray, count: int) -> bytes | None:
        if len(buffer) < count:
            return None
        data = bytes(buffer[:count])
        del buffer[:count]
        return data

    def _waiting(self) -> bool:
        return False

    # guest side: the proxy is the client

    def _guest_version(self) -> bool:
        data = self._take(self._guest, 12)
        if data is None:
            return False
        found = _VERSION_RE.fullmatch(data)
        if found is None:
            raise ShimError(f"guest sent no RFB ProtocolVersion: {data!r}")
        if (int(found[1]), int(found[2])) < (3, 8):
            raise ShimError(f"the guest speaks RFB {int(found[1])}.{int(found[2])}; 3.8 is needed")
        self._to_guest(RFB_38)
        self._to_browser(RFB_38)
        self._guest_greeted = True
        self._guest_step = self._guest_types
        return True

    def _guest_types(self) -> bool:
        if not self._guest:
            return False
        count = self._guest[0]
        if count == 0:
            reason = self._guest_reason(1)
            if reason is None:
                return False
            self._fail(f"the guest refused the connection: {reason}")
        data = self._take(self._guest, 1 + count)
        if data is None:
            return False
        offered = list(data[1:])
        chosen = self._choose(offered)
        self.security_type = chosen
        self._to_guest(bytes([chosen]))
        log.debug("console security with the guest: {kind}", kind=chosen.name)
        self._guest_step = {
            SecurityType.NONE: self._guest_result,
            SecurityType.VNC_AUTH: self._guest_challenge,
            SecurityType.VENCRYPT: self._vencrypt_version,
        }[chosen]
        return True

    def _choose(self, offered: list[int]) -> SecurityType:
        for kind in self._config.types:
            if kind not in offered:
                continue
            if kind == SecurityType.VNC_AUTH and self._target.password is None:
                continue
            if kind == SecurityType.VENCRYPT and self._tls is None:
                continue
            return kind
        names = ", ".join(_name(SecurityType, kind) for kind in offered)
        password = "" if self._target.password is not None else "; the console has no password"
        self._fail(
            f"no allowed security type: the guest offers {names}, "
            f"auth_schemes allows {', '.join(self._config.auth_schemes)}{password}")

    def _guest_challenge(self) -> bool:
        challenge = self._take(self._guest, CHALLENGE_SIZE)
        if challenge is None:
            return False
        password = self._target.password
        if password is None:
            self._fail("the guest asks for a VNC password and the console has none")
        self._to_guest(vnc_auth_response(password, challenge))
        self._guest_step = self._guest_result
        return True

    def _vencrypt_version(self) -> bool:
        data = self._take(self._guest, 2)
        if data is None:
            return False
        if (data[0], data[1]) < (0, 2):
            self._fail(f"the guest speaks VeNCrypt {data[0]}.{data[1]}; 0.2 is needed")
        self._to_guest(b"\x00\x02")
        self._guest_step = self._vencrypt_ack
        return True

    def _vencrypt_ack(self) -> bool:
        data = self._take(self._guest, 1)
        if data is None:
            return False
        if data[0] != 0:
            self._fail("the guest refused VeNCrypt version 0.2")
        self._guest_step = self._vencrypt_subtypes
        return True

    def _vencrypt_subtypes(self) -> bool:
        if not self._guest:
            return False
        count = self._guest[0]
        data = self._take(self._guest, 1 + 4 * count)
        if data is None:
            return False
        offered = struct.unpack(f"!{count}I", data[1:])
        if VeNCryptSubtype.X509_VNC in offered and self._target.password is not None:
            chosen = VeNCryptSubtype.X509_VNC
        elif VeNCryptSubtype.X509_NONE in offered:
            chosen = VeNCryptSubtype.X509_NONE
        else:
            names = ", ".join(_name(VeNCryptSubtype, subtype) for subtype in offered)
            needs = ""
            if VeNCryptSubtype.X509_VNC in offered:
                needs = " and the console has no password"
            self._fail(f"no usable VeNCrypt subtype: the guest offers {names}{needs}")
        self.vencrypt_subtype = chosen
        self._to_guest(struct.pack("!I", chosen))
        self._guest_step = self._vencrypt_accepted
        return True

    def _vencrypt_accepted(self) -> bool:
        data = self._take(self._guest, 1)
        if data is None:
            return False
        if data[0] == 0:
            self._fail(f"the guest refused VeNCrypt subtype {self.vencrypt_subtype}")
        if self._guest:
            raise ShimError("guest data before the TLS handshake")
        if self._start_tls is None or self._tls is None:
            self._fail("the guest connection cannot start TLS")
        assert self._start_tls is not None and self._tls is not None
        self._start_tls(self._tls.options_for(self._target.host))
        self._tls_started = True
        if self.vencrypt_subtype == VeNCryptSubtype.X509_VNC:
            self._guest_step = self._guest_challenge
        else:
            self._guest_step = self._guest_result
        return True

    def _guest_result(self) -> bool:
        data = self._take(self._guest, 4)
        if data is None:
            return False
        if data == b"\0\0\0\0":
            self._authenticated = True
            self._guest_step = self._waiting
            self._finish()
            return True
        self._guest[:0] = data  # the failure's reason follows: read it whole
        reason = self._guest_reason(4)
        if reason is None:
            return False
        self._fail(f"the guest refused authentication: {reason}")

    def _guest_reason(self, offset: int) -> str | None:
        """The u32-length reason string at ``offset`` in the guest buffer, once whole."""
        if len(self._guest) < offset + 4:
            return None
        (length,) = struct.unpack_from("!I", self._guest, offset)
        if length > MAX_REASON:
            raise ShimError(f"guest reason string of {length} bytes")
        if len(self._guest) < offset + 4 + length:
            return None
        reason = bytes(self._guest[offset + 4 : offset + 4 + length])
        del self._guest[: offset + 4 + length]
        return reason.decode("utf-8", errors="replace")

    # browser side: the proxy is the server

    def _browser_version(self) -> bool:
        if not self._guest_greeted:
            return False
        data = self._take(self._browser, 12)
        if data is None:
            return False
        if data != RFB_38:
            raise ShimError(f"the browser must speak RFB 3.8, not {data!r}")
        self._browser_greeted = True
        self._browser_step = self._browser_offer
        return True

    def _browser_offer(self) -> bool:
        if self.security_type is None:
            return False  # offer only once the guest offers something usable
        self._to_browser(bytes([1, SecurityType.NONE]))
        self._offered = True
        self._browser_step = self._browser_choice
        return True

    def _browser_choice(self) -> bool:
        data = self._take(self._browser, 1)
        if data is None:
            return False
        if data[0] != SecurityType.NONE:
            self._to_browser(struct.pack("!I", 1) + _reason_string(
                "only security type None is offered"))
            raise ShimError(f"the browser chose security type {data[0]}, not None")
        self._chose = True
        self._browser_step = self._waiting
        self._finish()
        return True

    def _finish(self) -> None:
        """Both sides are through security: relay OK and start piping."""
        if not (self._authenticated and self._chose) or self.piping:
            return
        self._to_browser(b"\0\0\0\0")
        self.piping = True
        held, self._browser = bytes(self._browser), bytearray()
        if held:
            self._to_guest(held)
        early, self._guest = bytes(self._guest), bytearray()
        if early:
            self._to_browser(early)


def _name(kind: type[IntEnum], value: int) -> str:
    try:
        return kind(value).name
    except ValueError:
        return str(value)


def _describe(reason: Failure) -> str:
    return f"{reason.type.__name__}: {reason.getErrorMessage()}" if reason.type else str(reason)


class RFBSecurityShims:
    """The shim factory for ``nova-novncproxy``: every VNC session goes through the proxy.

    Pass it as ``ConsoleProxyFactory(..., shims=RFBSecurityShims(config))``.
    The certificate files are loaded once, here (ValueError/OSError when they
    are unusable). Other console types get ``shims.shim_for``'s choice.
    """

    def __init__(self, config: RFBSecurityConfig | None = None) -> None:
        self.config = config or RFBSecurityConfig()
        self.tls = (
            GuestTLS.from_config(self.config) if "vencrypt" in self.config.auth_schemes else None)

    def __call__(
        self, target: ConsoleTarget, to_guest: Write, to_browser: Write
    ) -> StreamShim | None:
        if target.console_type != "novnc":
            return shim_for(target, to_guest, to_browser)
        return RFBSecurityProxy(target, to_guest, to_browser, self.config, self.tls)
