"""The download stage: mirror and network paths, MD5 and truncation checks, one-line errors."""

from __future__ import annotations

import hashlib
import http.server
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from conftest import REPO_ROOT, data_config, params_section
from medssl.core.errors import ConfigError, DataError, UnknownDatasetError
from medssl.data import catalog
from medssl.data.catalog import RemoteFile, dataset_spec, remote_files
from medssl.data.download import fetch_file, mirror_folders
from medssl.data.sources import acquire, load_raw

PAYLOAD = b"official dataset bytes " * 400
PAYLOAD_MD5 = hashlib.md5(PAYLOAD).hexdigest()


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        if self.path == "/good.bin":
            body, length = PAYLOAD, len(PAYLOAD)
        elif self.path == "/truncated.bin":  # promises the whole file, sends half, hangs up
            body, length = PAYLOAD[: len(PAYLOAD) // 2], len(PAYLOAD)
        elif self.path == "/corrupt.bin":
            body, length = PAYLOAD[::-1], len(PAYLOAD)
        else:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(length))
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()
        self.close_connection = True

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def _closed_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/file.bin"


def remote(
    urls: tuple[str, ...] = (), md5: str = PAYLOAD_MD5, size: int | None = None
) -> RemoteFile:
    return RemoteFile("sub/file.bin", urls, md5, size)


def test_download_verifies_md5_and_lands_atomically(server: str, tmp_path: Path):
    path = fetch_file(remote((f"{server}/good.bin",)), tmp_path / "raw")
    assert path.read_bytes() == PAYLOAD
    assert [p.name for p in path.parent.iterdir()] == ["file.bin"]  # no temporary file left behind


def test_truncated_download_is_reported_and_leaves_nothing(server: str, tmp_path: Path):
    with pytest.raises(
        DataError, match=r"download of sub/file.bin from .* stopped after \d+ (of \d+ )?bytes"
    ):
        fetch_file(remote((f"{server}/truncated.bin",)), tmp_path / "raw")
    assert not (tmp_path / "raw" / "sub" / "file.bin").exists()
    assert list((tmp_path / "raw" / "sub").iterdir()) == []


def test_wrong_md5_from_the_network_is_an_error(server: str, tmp_path: Path):
    with pytest.raises(DataError, match=f"has MD5 [0-9a-f]{{32}}, expected {PAYLOAD_MD5}"):
        fetch_file(remote((f"{server}/corrupt.bin",)), tmp_path / "raw")
    assert not (tmp_path / "raw" / "sub" / "file.bin").exists()


def test_mirror_is_tried_first_with_the_same_md5_check(tmp_path: Path):
    mirror = tmp_path / "mirror"
    (mirror / "sub").mkdir(parents=True)
    (mirror / "sub" / "file.bin").write_bytes(PAYLOAD)
    # The URL is unreachable: success proves the mirror was used.
    path = fetch_file(remote((_closed_port_url(),)), tmp_path / "raw", [mirror])
    assert path.read_bytes() == PAYLOAD


def test_corrupt_mirror_copy_is_an_error_naming_the_file(tmp_path: Path):
    mirror = tmp_path / "mirror"
    (mirror / "sub").mkdir(parents=True)
    (mirror / "sub" / "file.bin").write_bytes(PAYLOAD[:-1] + b"!")
    with pytest.raises(
        DataError, match=rf"mirror copy {mirror}/sub/file.bin has MD5 .* expected {PAYLOAD_MD5}"
    ):
        fetch_file(remote((_closed_port_url(),)), tmp_path / "raw", [mirror])


def test_truncated_mirror_copy_is_reported_as_truncated(tmp_path: Path):
    mirror = tmp_path / "mirror"
    (mirror / "sub").mkdir(parents=True)
    (mirror / "sub" / "file.bin").write_bytes(PAYLOAD[:100])
    with pytest.raises(DataError, match=f"is truncated: 100 of {len(PAYLOAD)} bytes"):
        fetch_file(remote((_closed_port_url(),), size=len(PAYLOAD)), tmp_path / "raw", [mirror])


def test_no_network_and_no_mirror_says_what_to_do(tmp_path: Path):
    with pytest.raises(DataError) as raised:
        fetch_file(remote((_closed_port_url(),)), tmp_path / "raw", [tmp_path / "empty-mirror"])
    message = str(raised.value)
    assert "could not get sub/file.bin: could not reach http://127.0.0.1" in message
    assert f"no mirror copy ({tmp_path}/empty-mirror/sub/file.bin)" in message
    assert "MEDSSL_DATA_MIRROR" in message and "\n" not in message
    assert raised.value.__cause__ is not None  # the original error is kept


def test_already_verified_file_is_not_fetched_again(tmp_path: Path):
    (tmp_path / "raw" / "sub").mkdir(parents=True)
    (tmp_path / "raw" / "sub" / "file.bin").write_bytes(PAYLOAD)
    assert fetch_file(remote((_closed_port_url(),)), tmp_path / "raw").read_bytes() == PAYLOAD


def test_mirror_folders_come_from_params_then_environment(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("MEDSSL_DATA_MIRROR", "/env/mirror")
    assert mirror_folders("/params/mirror") == [Path("/params/mirror"), Path("/env/mirror")]
    monkeypatch.delenv("MEDSSL_DATA_MIRROR")
    assert mirror_folders("") == []


def test_unknown_dataset_lists_the_known_ones():
    with pytest.raises(UnknownDatasetError) as raised:
        dataset_spec("pneumonia")
    message = str(raised.value)
    assert message.startswith("unknown dataset 'pneumonia'; known datasets: ")
    for name in (
        "pneumoniamnist",
        "breastmnist",
        "retinamnist",
        "chestmnist",
        "pathmnist",
        "bloodmnist",
        "dermamnist",
        "octmnist",
        "organamnist",
        "mnist",
        "fashion-mnist",
        "image_folder",
        "synthetic",
    ):
        assert name in message


def test_unpublished_image_size_is_a_config_error():
    with pytest.raises(ConfigError, match="mnist is published at image sizes 28, not 64"):
        remote_files("mnist", 64)


def test_catalogue_entries_are_https_with_md5s():
    for spec in catalog.DATASETS.values():
        for files in spec.files_by_image_size.values():
            for file in files:
                assert len(file.md5) == 32 and all(
                    url.startswith("https://") for url in file.urls
                ), file
        assert len(spec.label_names) >= 2 and spec.channels in (1, 3)
    assert set(dataset_spec("pneumoniamnist").image_sizes) == {28, 64, 128, 224}


def test_download_stage_reports_an_unknown_dataset_in_one_line(tmp_path: Path):
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump({"data": params_section("data", name="lungmnist")}))
    completed = subprocess.run(
        [
            sys.executable,
            str(REPO_ROOT / "stages" / "download.py"),
            "--params",
            str(params),
            "--out",
            str(tmp_path / "raw"),
        ],
        capture_output=True,
        text=True,
    )
    assert completed.returncode == 2
    assert completed.stderr.startswith("error: unknown dataset 'lungmnist'; known datasets: ")
    assert completed.stderr.count("\n") == 1 and "Traceback" not in completed.stderr


@pytest.mark.integration
@pytest.mark.parametrize(
    "name, sizes",
    [
        ("pneumoniamnist", (4708, 524, 624)),
        ("breastmnist", (546, 78, 156)),
        ("retinamnist", (1080, 120, 400)),
    ],
)
def test_real_medmnist_files_are_fetched_verified_and_loaded(
    name: str, sizes: tuple[int, int, int], tmp_path: Path, data_mirror: str
):
    config = data_config(name=name, image_size=28, mirror=data_mirror)
    acquire(config, tmp_path / "raw")
    raw = load_raw(config, tmp_path / "raw")
    assert (len(raw.train), len(raw.val), len(raw.test)) == sizes
    assert raw.train.images.shape[1:] == (dataset_spec(name).channels, 28, 28)
    assert set(raw.test.labels.tolist()) == set(range(len(raw.label_names)))


@pytest.mark.integration
def test_real_mnist_idx_files_load_with_a_fixed_validation_holdout(
    tmp_path: Path, data_mirror: str
):
    config = data_config(name="mnist", image_size=28, mirror=data_mirror)
    acquire(config, tmp_path / "raw")
    raw = load_raw(config, tmp_path / "raw")
    assert (len(raw.train), len(raw.val), len(raw.test)) == (55000, 5000, 10000)
    assert raw.train.images.shape[1:] == (1, 28, 28) and raw.train.images.dtype.name == "uint8"
    assert sorted(set(raw.test.labels.tolist())) == list(range(10))


@pytest.mark.integration
def test_truncated_real_npz_is_reported_when_loaded(tmp_path: Path, data_mirror: str):
    config = data_config(name="breastmnist", image_size=28, mirror=data_mirror)
    (path,) = acquire(config, tmp_path / "raw")
    path.write_bytes(path.read_bytes()[:200_000])
    with pytest.raises(DataError, match="is not a readable npz .* truncated"):
        load_raw(config, tmp_path / "raw")
