import io
import struct
import zlib

import httpx
import pytest

from illume.image_policy import NOT_ALLOWED_PATH, ImagePolicy, parse_hosts
from illume.images import ImageError, open_image
from tests.image_server import serve

LOOPBACK = ImagePolicy(hosts=("127.0.0.1",))


@pytest.fixture
def server(image_dir):
    (image_dir / "page.html").write_text("<html>hello</html>")
    with serve(image_dir) as (base, seen):
        yield base, seen


@pytest.fixture
def no_connections(monkeypatch):
    """Any attempt to send a request fails the test: refusals must come first."""

    def refuse(*args, **kwargs):
        raise AssertionError("a refused URL was connected to")

    monkeypatch.setattr(httpx.Client, "send", refuse)


@pytest.mark.parametrize("name", ["rgb.png", "gray.jpg", "rgba.png", "palette.gif"])
def test_any_mode_becomes_rgb(image_dir, name):
    img = open_image(str(image_dir / name))
    assert img.mode == "RGB" and min(img.size) > 0


def test_transparent_pixels_become_white(image_dir):
    assert open_image(str(image_dir / "rgba.png")).getpixel((0, 0)) == (255, 255, 255)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("missing.png", "file not found"),
        ("broken.png", "not a readable image"),
        (".", "not a file"),
    ],
)
def test_bad_files_say_why(image_dir, name, message):
    with pytest.raises(ImageError, match=message):
        open_image(str(image_dir / name))


def test_url_image_from_an_allowed_host(server, monkeypatch):
    base, _ = server
    assert open_image(f"{base}/rgb.png", LOOPBACK).size == (60, 40)
    monkeypatch.setenv("ILLUME_IMAGE_HOSTS", "127.0.0.1")  # the CLI's way to allow a host
    assert open_image(f"{base}/rgb.png").size == (60, 40)
    by_name = ImagePolicy(hosts=parse_hosts("public, localhost"))
    assert open_image(f"{base.replace('127.0.0.1', 'localhost')}/rgb.png", by_name).size


def test_non_image_url_and_missing_url(server):
    base, _ = server
    with pytest.raises(ImageError, match="not an image"):
        open_image(f"{base}/page.html", LOOPBACK)
    with pytest.raises(ImageError, match="cannot download"):
        open_image(f"{base}/nothing-here.png", LOOPBACK)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/x.png",  # loopback
        "http://localhost:9/x.png",  # loopback after DNS (resolved from /etc/hosts)
        "http://[::1]:9/x.png",
        "http://[::ffff:127.0.0.1]:9/x.png",  # loopback dressed as IPv6
        "http://10.1.2.3/x.png",  # private
        "http://192.168.0.10/x.png",
        "http://172.16.5.4/x.png",
        "http://100.100.100.200/latest/meta-data",  # shared space (a cloud's metadata)
        "http://169.254.169.254/latest/meta-data/",  # link-local metadata
        "http://[fe80::1]/x.png",
        "http://[fd00:ec2::254]/latest/meta-data",  # unique-local (IPv6 metadata)
        "http://0.0.0.0/x.png",
        "http://224.0.0.1/x.png",  # multicast
        "http://240.0.0.1/x.png",  # reserved
    ],
)
def test_non_public_urls_refused_before_connecting(url, no_connections):
    with pytest.raises(ImageError, match="not an allowed image host"):
        open_image(url, ImagePolicy())


def test_listing_a_host_allows_only_it(no_connections):
    with pytest.raises(ImageError, match="not an allowed image host"):
        open_image("http://10.0.0.5/x.png", LOOPBACK)
    with pytest.raises(ImageError, match="only http"):
        ImagePolicy().check_url("ftp://example.org/x.png")


@pytest.mark.parametrize(
    "target", ["http://10.0.0.1/x.png", "http://169.254.169.254/latest/", "http://[::1]:9/"]
)
def test_redirect_to_a_refused_address_is_refused(server, target):
    base, seen = server
    with pytest.raises(ImageError, match="not an allowed image host"):
        open_image(f"{base}/redirect?to={target}", LOOPBACK)
    assert len(seen) == 1  # the allowed server alone was asked, once


def test_redirect_within_allowed_hosts_is_followed_and_credentials_stay(server):
    base, seen = server
    buf = io.BytesIO()
    LOOPBACK.fetch(f"{base}/redirect?to=/rgb.png", buf, {"Authorization": "Token t"})
    assert buf.getvalue().startswith(b"\x89PNG")
    assert [s[1].get("Authorization") for s in seen] == ["Token t", "Token t"]
    seen.clear()
    other = base.replace("127.0.0.1", "localhost")  # another origin, still allowed
    policy = ImagePolicy(hosts=("127.0.0.1", "localhost"))
    policy.fetch(f"{base}/redirect?to={other}/rgb.png", buf, {"Authorization": "Token t"})
    assert [s[1].get("Authorization") for s in seen] == ["Token t", None]


def test_download_size_cap_stops_the_stream(server):
    base, _ = server
    small = ImagePolicy(hosts=("127.0.0.1",), max_bytes=1000)
    with pytest.raises(ImageError, match="larger than 1,000 bytes"):
        open_image(f"{base}/rgb.png", small)  # declared length
    with pytest.raises(ImageError, match="larger than 1,000 bytes"):
        open_image(f"{base}/endless", small)  # no length: stopped while streaming


def test_file_size_cap(image_dir):
    with pytest.raises(ImageError, match="larger than"):
        open_image(str(image_dir / "rgb.png"), ImagePolicy(max_bytes=100))


def _png_header(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    idat = zlib.compress(b"\0" * 64)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def test_decompression_bombs_refused(image_dir):
    bomb = image_dir / "bomb.png"
    bomb.write_bytes(_png_header(100_000, 100_000))  # 10 gigapixels in a few hundred bytes
    assert bomb.stat().st_size < 1000
    with pytest.raises(ImageError, match="decompression bomb"):
        open_image(str(bomb))
    with pytest.raises(ImageError, match="60x40 pixels, more pixels than the 100 allowed"):
        open_image(str(image_dir / "rgb.png"), ImagePolicy(max_pixels=100))


def test_paths_outside_the_roots_get_one_answer(image_dir, tmp_path_factory):
    root = image_dir / "allowed"
    root.mkdir()
    (root / "ok.png").write_bytes((image_dir / "rgb.png").read_bytes())
    outside = tmp_path_factory.mktemp("secret")
    (outside / "secret.txt").write_text("secret")
    (root / "link.png").symlink_to(outside / "secret.txt")
    policy = ImagePolicy(roots=(root,))
    assert open_image(str(root / "ok.png"), policy).size == (60, 40)
    answers = set()
    for ref in [
        outside / "secret.txt",  # exists
        outside / "missing.txt",  # does not
        outside,  # a folder
        root / "link.png",  # a link out of the root
        f"{root}/../rgb.png",  # traversal
        "/etc/passwd",
    ]:
        with pytest.raises(ImageError) as err:
            open_image(str(ref), policy)
        answers.add(str(err.value))
    assert answers == {NOT_ALLOWED_PATH}
