"""Where images may come from: one policy for the engine and the Label Studio backend.

An image reference is data someone else wrote (an items file, a task imported
into Label Studio), so reading it must not let its author read the server's
disk or make the server send requests to internal services (SSRF). The rules:

- local files only under the listed roots (or any file, for the command line,
  where the user names the files themselves); a path outside every root gets
  the same message whether it exists or not;
- URLs only to the hosts the operator allows; by default any *public* address
  and never loopback, private, link-local (cloud metadata), multicast or
  reserved ones, checked after DNS resolution and again on every redirect; the
  connection goes to the address that was checked, so a second DNS answer
  (rebinding) cannot swap it; credentials never follow a redirect elsewhere;
- downloads streamed with a size cap; images with more pixels than the limit
  refused before they are decoded (decompression bombs).
"""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO
from urllib.parse import SplitResult, urljoin, urlsplit

import httpx
from PIL import Image

from illume.envconfig import from_env
from illume.settings import EngineSettings


class ImageError(ValueError):
    """An image that cannot be opened; the message names the image and the cause."""


IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

HOSTS_ENV = "ILLUME_IMAGE_HOSTS"
PUBLIC = "public"
"""The ILLUME_IMAGE_HOSTS entry for "any public address" (the default)."""
NOT_ALLOWED_PATH = "image path outside the allowed image folders (see ILLUME_IMAGE_ROOTS)"
"""The one answer for a refused path: it must not tell whether the file exists."""


def parse_hosts(raw: str | None) -> tuple[str, ...]:
    """ILLUME_IMAGE_HOSTS: comma- or space-separated; unset or empty means "public"."""
    entries = tuple(e.strip().lower() for e in (raw or "").replace(",", " ").split())
    return entries or (PUBLIC,)


def parse_roots(raw: str | None) -> tuple[Path, ...]:
    """ILLUME_IMAGE_ROOTS: folders separated like PATH (':' on POSIX)."""
    return tuple(Path(p) for p in (raw or "").split(os.pathsep) if p.strip())


def origin(url: str) -> str:
    """scheme://host:port, with the scheme's default port spelled out."""
    p = urlsplit(url)
    port = p.port or (443 if p.scheme == "https" else 80)
    return f"{p.scheme}://{(p.hostname or '').lower()}:{port}"


def safe_url(url: str) -> str:
    """The URL for messages and logs: no user info, no query that might carry a token."""
    p = urlsplit(url)
    netloc = p.netloc.rsplit("@", 1)[-1]
    query = "" if "token" in p.query.lower() or "key" in p.query.lower() else p.query
    return p._replace(netloc=netloc, query=query).geturl()


@dataclass(frozen=True)
class ImagePolicy:
    """What image references may be read; see the module docstring for why."""

    roots: tuple[Path, ...] | None = None
    """Folders local files may come from; None: any file (the CLI, whose user names them)."""
    hosts: tuple[str, ...] = (PUBLIC,)
    """Who URLs may reach: "public" (any public address), a host name ("img.example.org",
    "*.example.org"), an address or a network ("127.0.0.1", "10.0.0.0/8")."""
    trusted_origins: tuple[str, ...] = ()
    """Origins fetched without the address check, e.g. Label Studio's own (see `origin`)."""
    max_bytes: int = 32 * 2**20
    """Largest image file or download; a download stops as soon as it passes this."""
    max_pixels: int = Image.MAX_IMAGE_PIXELS or 89_478_485
    """Largest width x height decoded (PIL's own default limit)."""
    timeout: float = 20.0
    max_redirects: int = 5
    _networks: tuple[IPNetwork, ...] = field(init=False, repr=False, compare=False)
    _names: tuple[str, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        nets, names = [], []
        for entry in self.hosts:
            try:
                nets.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
            except ValueError:
                names.append(entry.lower().rstrip("."))
        object.__setattr__(self, "_networks", tuple(nets))
        object.__setattr__(self, "_names", tuple(n for n in names if n != PUBLIC))

    @classmethod
    def from_env(
        cls, roots: Iterable[str | Path] | None = None, env: Mapping[str, str] | None = None, **kw
    ) -> ImagePolicy:
        """Hosts from ILLUME_IMAGE_HOSTS; with `roots`, those plus ILLUME_IMAGE_ROOTS."""
        settings = from_env(EngineSettings, env)
        if roots is not None:
            listed = tuple(Path(r) for r in roots if str(r))
            roots = listed + parse_roots(settings.image_roots)
        return cls(roots=roots, hosts=parse_hosts(settings.image_hosts), **kw)

    # ---- local files ----------------------------------------------------------------------

    def check_path(self, ref: str | Path) -> Path:
        """The file `ref` names if it lies under a root (as written and after links)."""
        if self.roots is None:
            return Path(ref)
        lexical = Path(os.path.abspath(ref))
        real = lexical.resolve()
        for root in self.roots:
            base = Path(os.path.abspath(root))
            if lexical.is_relative_to(base) and real.is_relative_to(base.resolve()):
                return real
        raise ImageError(NOT_ALLOWED_PATH)

    def read_file(self, ref: str | Path) -> bytes:
        path = self.check_path(ref)
        if not path.exists():
            raise ImageError(f"{ref}: file not found")
        if not path.is_file():
            raise ImageError(f"{ref}: not a file")
        if path.stat().st_size > self.max_bytes:
            raise ImageError(f"{ref}: larger than {_size(self.max_bytes)}")
        return path.read_bytes()

    # ---- URLs -----------------------------------------------------------------------------

    def address_allowed(self, host: str, ip: IPAddress) -> bool:
        """Whether a connection for `host` may go to `ip`."""
        ip = getattr(ip, "ipv4_mapped", None) or ip
        if any(ip in net for net in self._networks if net.version == ip.version):
            return True
        if _name_listed(host, self._names):  # the operator named it: not metadata, though
            return not (ip.is_link_local or ip.is_multicast or ip.is_unspecified)
        return PUBLIC in self.hosts and ip.is_global and not ip.is_multicast

    def check_url(self, url: str) -> tuple[SplitResult, IPAddress]:
        """The URL's parts and the one address to connect to; ImageError when not allowed."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ImageError(f"{safe_url(url)}: only http(s) URLs with a host are allowed")
        host = parts.hostname.lower().rstrip(".")
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError as e:
            raise ImageError(f"{safe_url(url)}: bad port") from e
        addresses = _resolve(host, port)
        trusted = origin(url) in self.trusted_origins
        if not trusted and not all(self.address_allowed(host, ip) for ip in addresses):
            raise ImageError(
                f"{safe_url(url)}: host {host} is not an allowed image host "
                f"(local or private address; allow it in {HOSTS_ENV})"
            )
        return parts, addresses[0]

    def fetch(self, url: str, sink: BinaryIO, headers: Mapping[str, str] | None = None) -> str:
        """Stream `url` into `sink` (at most max_bytes); return its Content-Type.

        `headers` (credentials) go only to the URL's own origin, never to a
        redirect elsewhere. Redirects are followed here, each one checked.
        """
        first = origin(url)
        with httpx.Client(timeout=self.timeout, trust_env=False) as client:
            for _ in range(self.max_redirects + 1):
                parts, ip = self.check_url(url)
                sent = dict(headers or {}) if origin(url) == first else {}
                host = f"[{ip}]" if ip.version == 6 else str(ip)
                netloc = host if parts.port is None else f"{host}:{parts.port}"
                pinned = parts._replace(netloc=netloc).geturl()
                sent["Host"] = parts.netloc.rsplit("@", 1)[-1]
                try:
                    with client.stream(
                        "GET", pinned, headers=sent, extensions={"sni_hostname": parts.hostname}
                    ) as resp:
                        if resp.is_redirect and "location" in resp.headers:
                            url = urljoin(url, resp.headers["location"])
                            continue
                        return self._stream(url, resp, sink)
                except httpx.HTTPError as e:
                    raise ImageError(
                        f"{safe_url(url)}: cannot download ({type(e).__name__})"
                    ) from e
        raise ImageError(f"{safe_url(url)}: more than {self.max_redirects} redirects")

    def _stream(self, url: str, resp: httpx.Response, sink: BinaryIO) -> str:
        if resp.status_code != 200:
            raise ImageError(f"{safe_url(url)}: cannot download (HTTP {resp.status_code})")
        ctype = resp.headers.get("Content-Type", "")
        if ctype and not ctype.startswith("image/") and "octet-stream" not in ctype:
            raise ImageError(f"{safe_url(url)}: not an image (Content-Type {ctype})")
        too_big = ImageError(f"{safe_url(url)}: larger than {_size(self.max_bytes)}")
        declared = resp.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            raise too_big
        total = 0
        for chunk in resp.iter_bytes(64 * 1024):
            total += len(chunk)
            if total > self.max_bytes:
                raise too_big
            sink.write(chunk)
        return ctype

    # ---- decoding -------------------------------------------------------------------------

    def check_pixels(self, ref: str, img: Image.Image) -> None:
        """Refuse an image with more pixels than the limit before decoding it."""
        width, height = img.size
        if width * height > self.max_pixels:
            raise ImageError(self.bomb_message(ref, f"{width}x{height}"))

    def bomb_message(self, ref: str, size: str = "") -> str:
        size = f"{size} pixels, " if size else ""
        return (
            f"{safe_url(ref)}: {size}more pixels than the {self.max_pixels:,} allowed "
            "(a decompression bomb?)"
        )


def _size(n: int) -> str:
    return f"{n / 2**20:g} MiB" if n >= 2**20 else f"{n:,} bytes"


def _name_listed(host: str, names: tuple[str, ...]) -> bool:
    return any(host == n or (n.startswith("*.") and host.endswith(n[1:])) for n in names)


def _resolve(host: str, port: int) -> list[IPAddress]:
    """Every address `host` has (a literal is its own); ImageError when it has none."""
    try:
        return [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as e:
        raise ImageError(f"{host}: cannot resolve the host name") from e
    found = list(dict.fromkeys(ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos))
    if not found:
        raise ImageError(f"{host}: cannot resolve the host name")
    return found
