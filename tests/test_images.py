import functools
import http.server
import threading

import pytest

from illume.images import ImageError, open_image


@pytest.fixture
def http_root(image_dir):
    (image_dir / "page.html").write_text("<html>hello</html>")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(image_dir))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


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


def test_url_image(http_root):
    assert open_image(f"{http_root}/rgb.png").size == (60, 40)


def test_non_image_url_and_missing_url(http_root):
    with pytest.raises(ImageError, match="not an image"):
        open_image(f"{http_root}/page.html")
    with pytest.raises(ImageError, match="cannot download"):
        open_image(f"{http_root}/nothing-here.png")
