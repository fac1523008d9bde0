"""Remote output through fsspec URLs: an S3 API served on loopback by moto, and memory://."""

from __future__ import annotations

import socket
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest
import tifffile
import zarr

from omeconv.api import convert, read

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

pytest.importorskip("s3fs")
moto_server = pytest.importorskip("moto.server")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def s3(monkeypatch_module: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """A moto S3 server on 127.0.0.1 with an empty bucket ``omeconv``; yields storage options."""
    import s3fs

    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch_module.setenv(name, "testing")
    monkeypatch_module.setenv("AWS_DEFAULT_REGION", "us-east-1")
    server = moto_server.ThreadedMotoServer(
        ip_address="127.0.0.1", port=_free_port(), verbose=False
    )
    server.start()
    host, port = server.get_host_and_port()
    options = {"endpoint_url": f"http://{host}:{port}", "key": "testing", "secret": "testing"}
    # moto keeps its buckets per process: another module may have made it already
    s3fs.S3FileSystem(**options).makedirs("omeconv", exist_ok=True)
    yield options
    server.stop()


@pytest.fixture(scope="module")
def monkeypatch_module() -> Iterator[pytest.MonkeyPatch]:
    with pytest.MonkeyPatch.context() as mp:
        yield mp


def _source(tmp_path: Path) -> tuple[Path, np.ndarray]:
    data = np.random.default_rng(5).integers(0, 1000, size=(2, 6, 40, 50), dtype=np.uint16)
    src = tmp_path / "in.ome.tif"
    tifffile.imwrite(src, data, ome=True, metadata={"axes": "CZYX"})
    return src, data


def _read_back(url: str, options: dict[str, Any] | None) -> tuple[dict[str, Any], np.ndarray]:
    store = zarr.storage.FsspecStore.from_url(url, storage_options=options, read_only=True)
    group = zarr.open_group(store, mode="r")
    return dict(group.attrs), group["0"][:]


@pytest.mark.parametrize(("version", "shards"), [("0.5", False), ("0.5", True), ("0.4", False)])
def test_s3_round_trip(tmp_path: Path, s3: dict[str, Any], version: str, shards: bool) -> None:
    src, data = _source(tmp_path)
    url = f"s3://omeconv/{version}-{shards}.ome.zarr"
    options = {"chunks": {"z": 3, "y": 32, "x": 32}, "ome_version": version, "shards": shards}
    convert(src, url, storage_options=s3, **options)
    attrs, level0 = _read_back(url, s3)
    np.testing.assert_array_equal(level0, data)
    local = zarr.open_group(convert(src, tmp_path / "local.ome.zarr", **options), mode="r")
    assert attrs == dict(local.attrs)
    remote = zarr.open_group(
        zarr.storage.FsspecStore.from_url(url, storage_options=s3, read_only=True), mode="r"
    )
    for name, array in local.arrays():
        np.testing.assert_array_equal(remote[name][:], array[:])


def test_s3_refuses_existing_then_overwrites(tmp_path: Path, s3: dict[str, Any]) -> None:
    from omeconv.errors import DestinationExistsError

    src, data = _source(tmp_path)
    url = "s3://omeconv/again.ome.zarr"
    convert(src, url, storage_options=s3)
    with pytest.raises(DestinationExistsError):
        convert(src, url, storage_options=s3)
    convert(src, url, storage_options=s3, overwrite=True, levels=1)
    _, level0 = _read_back(url, s3)
    np.testing.assert_array_equal(level0, data)


def test_memory_url(tmp_path: Path) -> None:
    src, data = _source(tmp_path)
    convert(src, "memory://omeconv-test/img.ome.zarr")
    attrs, level0 = _read_back("memory://omeconv-test/img.ome.zarr", None)
    assert attrs["ome"]["version"] == "0.5"
    np.testing.assert_array_equal(level0, data)


# -- credentials: one line naming the URL and what is missing -------------------------------

_NO_AWS = "no AWS credentials found: set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_PROFILE"


@pytest.fixture
def no_aws_credentials(
    s3: dict[str, Any], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> dict[str, Any]:
    """No AWS credentials anywhere; the moto endpoint from fsspec's configuration (what the
    CLI uses). Returns storage options without a key."""
    import fsspec

    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    for name in ("AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        monkeypatch.setenv(name, str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    # an option no other test gives: s3fs's cached instances of others may hold a key
    options = {"endpoint_url": s3["endpoint_url"], "use_listings_cache": False}
    monkeypatch.setitem(fsspec.config.conf, "s3", options)
    return options


def _cli_error(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    from omeconv.cli import main

    capsys.readouterr()
    with pytest.raises(SystemExit) as exc:
        main(args)
    return int(exc.value.code or 0), capsys.readouterr().err


def test_no_aws_credentials_is_one_line(
    tmp_path: Path,
    s3: dict[str, Any],
    no_aws_credentials: dict[str, Any],
    capsys: pytest.CaptureFixture[str],
) -> None:
    import s3fs

    src, _ = _source(tmp_path)
    s3fs.S3FileSystem(**s3).put(str(src), "omeconv/creds.ome.tif")
    url = "s3://omeconv/creds-out.ome.zarr"
    cases = [
        (["convert", str(src), url], url),  # writing
        (["convert", "s3://omeconv/creds.ome.tif", str(tmp_path / "o.zarr")], "creds.ome.tif"),
        (["info", "s3://omeconv/creds.ome.tif"], "creds.ome.tif"),
        (["convert", str(src), "s3://omeconv/per", "--layout", "per-series"], "per"),
    ]
    for args, named in cases:
        code, err = _cli_error(args, capsys)
        assert code == 2, args
        assert err.count("\n") == 1, err
        assert err.startswith("omeconv: error: s3://omeconv/"), err
        assert err.split(": ")[2].endswith(named)
        assert f": {_NO_AWS}, or for a public bucket set FSSPEC_S3=" in err
    assert not (tmp_path / "o.zarr").exists()
    assert not s3fs.S3FileSystem(**s3).exists(url)
    # the Python API raises the same error
    from omeconv.errors import AccessDeniedError

    with pytest.raises(AccessDeniedError, match=_NO_AWS) as raised:
        read("s3://omeconv/creds.ome.tif", storage_options=no_aws_credentials)
    assert raised.value.path == "s3://omeconv/creds.ome.tif"


def _client_error(code: str, status: int) -> Exception:
    from botocore.exceptions import ClientError

    response: Any = {
        "Error": {"Code": code, "Message": f"{code} says the server"},
        "ResponseMetadata": {"HTTPStatusCode": status},
    }
    return ClientError(response, "GetObject")


def _fake(module: str, name: str, **attrs: Any) -> Exception:
    """An exception of class ``module.name`` (gcsfs and google-auth need not be installed)."""
    cls = type(name, (Exception,), {"__module__": module})
    exc: Exception = cls("refused")
    for key, value in attrs.items():
        setattr(exc, key, value)
    return exc


def _http_error(status: int) -> Exception:
    from aiohttp import ClientResponseError, RequestInfo
    from multidict import CIMultiDict, CIMultiDictProxy
    from yarl import URL

    url = URL("https://host/d.zarr")
    request = RequestInfo(url, "GET", CIMultiDictProxy(CIMultiDict()), url)
    return ClientResponseError(request, (), status=status)


_S3, _GS, _HTTPS = "s3://bucket/a.zarr", "gs://b/c", "https://host/d.zarr"


@pytest.mark.parametrize(
    ("exc", "url", "problem"),
    [
        (_client_error("AccessDenied", 403), _S3, "access denied: the AWS credentials in use"),
        (_client_error("InvalidAccessKeyId", 403), _S3, "the AWS access key is not known"),
        (_client_error("SignatureDoesNotMatch", 403), _S3, "the AWS secret key does not match"),
        (_client_error("ExpiredToken", 400), _S3, "the AWS session token has expired"),
        (_client_error("403", 403), _S3, "access denied: the AWS credentials in use are"),
        (_fake("google.auth.exceptions", "DefaultCredentialsError"), _GS, "no Google Cloud"),
        (
            _fake("google.auth.exceptions", "RefreshError"),
            _GS,
            "the Google Cloud credentials could not",
        ),
        (_fake("gcsfs.retry", "HttpError", code=401), _GS, "Google Cloud credentials missing"),
        (_fake("gcsfs.retry", "HttpError", code=403), _GS, "access denied: the Google Cloud"),
        (_http_error(401), _HTTPS, "HTTP 401: the server asks for credentials (set FSSPEC_"),
        (_http_error(403), _HTTPS, "HTTP 403: the server refuses access"),
    ],
)
def test_credential_errors_are_named(exc: Exception, url: str, problem: str) -> None:
    """Each library's credential failure, raised directly or wrapped as s3fs and zarr wrap
    them, becomes one line naming the URL of its kind."""
    from s3fs.errors import translate_boto_error

    from omeconv.errors import AccessDeniedError
    from omeconv.stores import remote_access_error

    wrapped = translate_boto_error(exc) if type(exc).__name__ == "ClientError" else exc
    try:
        try:
            raise wrapped
        except Exception as inner:
            raise RuntimeError("reading failed") from inner
    except RuntimeError as outer:
        error = remote_access_error(outer, ["local.tif", _HTTPS, _GS, _S3])
    assert isinstance(error, AccessDeniedError)
    assert error.exit_code == 2
    assert str(error).startswith(f"{url}: {problem}")
    assert "\n" not in str(error)


def test_other_errors_are_left_alone() -> None:
    from omeconv.stores import remote_access_error

    assert remote_access_error(FileNotFoundError("s3://b/x"), ["s3://b/x"]) is None
    assert remote_access_error(_client_error("NoSuchKey", 404), ["s3://b/x"]) is None
    assert remote_access_error(_http_error(500), ["https://h/x"]) is None
    assert remote_access_error(_fake("gcsfs.retry", "HttpError", code=404), ["gs://b"]) is None


def test_the_url_named_is_the_one_the_error_names() -> None:
    from omeconv.stores import remote_access_error

    exc = _fake("botocore.exceptions", "NoCredentialsError")
    exc.args = ("Unable to locate credentials for bucket second",)  # not "sec"
    urls = ["s3://sec/in.tif", "s3://first/in.tif", "s3://second/out.zarr"]
    error = remote_access_error(exc, urls)
    assert error is not None
    assert error.path == "s3://second/out.zarr"
    exc.args = ("Unable to locate credentials",)
    assert getattr(remote_access_error(exc, urls), "path", None) == "s3://sec/in.tif"


def test_http_401_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A server that asks for credentials: info, convert and validate say so in one line."""
    import http.server
    import threading

    class Refuse(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="omeconv"')
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_HEAD = do_GET

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Refuse)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/x.ome.zarr"
        for args in (["info", url], ["convert", url, str(tmp_path / "o.zarr")], ["validate", url]):
            code, err = _cli_error(args, capsys)
            assert code == 2
            assert err == (
                f"omeconv: error: {url}: HTTP 401: the server asks for credentials (set "
                'FSSPEC_HTTPS=\'{"headers": {"Authorization": "..."}}\' (FSSPEC_HTTP for http://)'
                ' or pass storage_options={"headers": {...}})\n'
            )
    finally:
        server.shutdown()
    assert not (tmp_path / "o.zarr").exists()
