"""Fetch dataset files: from a local mirror folder first, else over HTTPS from the official URLs.

Both paths go through the same MD5 check, so CI reading ``../shared/data`` exercises exactly the
code a user's machine runs against Zenodo. Every failure is a one-line :class:`DataError` that names
the file, what was expected and what to do; the underlying exception is kept as its cause.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import shutil
import urllib.error
import urllib.request
from collections.abc import Iterable, Sequence
from pathlib import Path

from tqdm import tqdm

from medssl.core.errors import DataError
from medssl.core.io import atomic_path
from medssl.data.catalog import RemoteFile

MIRROR_ENVIRONMENT_VARIABLE = "MEDSSL_DATA_MIRROR"
_CHUNK_BYTES = 1 << 20


class _UnreachableError(DataError):
    """The server could not be reached or refused the file (as opposed to sending bad bytes)."""


_USER_AGENT = "medssl-downloader/0.1 (+https://github.com/MedMNIST/MedMNIST)"


def md5_of(path: Path) -> str:
    digest = hashlib.md5()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK_BYTES), b""):
            digest.update(chunk)
    return digest.hexdigest()


def mirror_folders(configured_mirror: str = "") -> list[Path]:
    """The mirror folders to try, in order: ``data.mirror`` from params, then
    ``$MEDSSL_DATA_MIRROR``."""
    candidates = [configured_mirror, os.environ.get(MIRROR_ENVIRONMENT_VARIABLE, "")]
    folders = []
    for candidate in candidates:
        if candidate and Path(candidate) not in folders:
            folders.append(Path(candidate).expanduser())
    return folders


def fetch_file(
    remote: RemoteFile, raw_dir: Path, mirrors: Sequence[Path] = (), *, timeout_s: float = 60.0
) -> Path:
    """Return ``raw_dir/remote.relative_path`` holding the verified file, fetching it if needed."""
    destination = raw_dir / remote.relative_path
    if destination.is_file() and md5_of(destination) == remote.md5:
        return destination
    for mirror in mirrors:
        candidate = mirror / remote.relative_path
        if candidate.is_file():
            _verify(candidate, remote, origin=f"mirror copy {candidate}")
            with atomic_path(destination) as temporary:
                shutil.copyfile(candidate, temporary)
            print(f"{remote.relative_path}: verified copy from mirror {mirror}")
            return destination
    failures = []
    for url in remote.urls:
        try:
            _download(url, remote, destination, timeout_s)
            print(f"{remote.relative_path}: downloaded and verified from {url}")
            return destination
        except DataError as error:
            failures.append(error)
    raise _no_source_error(remote, mirrors, failures) from (failures[-1] if failures else None)


def fetch_all(
    remotes: Iterable[RemoteFile], raw_dir: Path, mirrors: Sequence[Path] = ()
) -> list[Path]:
    return [fetch_file(remote, raw_dir, mirrors) for remote in remotes]


def _verify(path: Path, remote: RemoteFile, origin: str) -> None:
    size = path.stat().st_size
    if remote.size_bytes is not None and size < remote.size_bytes:
        raise DataError(
            f"{origin} is truncated: {size} of {remote.size_bytes} bytes; "
            f"delete it and fetch {remote.relative_path} again"
        )
    actual = md5_of(path)
    if actual != remote.md5:
        raise DataError(
            f"{origin} has MD5 {actual}, expected {remote.md5} (the official "
            f"{remote.relative_path}); "
            "the file is corrupt or not the official release: delete or replace it and run the "
            "download stage again"
        )


def _download(url: str, remote: RemoteFile, destination: Path, timeout_s: float) -> None:
    request = urllib.request.Request(url, headers={"User-Agent": _USER_AGENT})
    try:
        with (
            urllib.request.urlopen(request, timeout=timeout_s) as response,
            atomic_path(destination) as temporary,
        ):
            expected = _expected_length(response, remote)
            received = _stream_to_file(response, temporary, expected, remote.relative_path)
            if expected is not None and received < expected:
                raise DataError(
                    f"download of {remote.relative_path} from {url} stopped after {received} of "
                    f"{expected} bytes "
                    "(connection dropped); run the download stage again"
                )
            _verify(temporary, remote, origin=f"download of {remote.relative_path} from {url}")
    except http.client.IncompleteRead as error:
        raise DataError(
            f"download of {remote.relative_path} from {url} stopped after {len(error.partial)} "
            "bytes "
            "(connection dropped); run the download stage again"
        ) from error
    except urllib.error.HTTPError as error:
        raise _UnreachableError(f"{url} answered HTTP {error.code} {error.reason}") from error
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise _UnreachableError(f"could not reach {url} ({reason})") from error


def _expected_length(response: http.client.HTTPResponse, remote: RemoteFile) -> int | None:
    header = response.headers.get("Content-Length")
    if header is not None and header.isdigit():
        return int(header)
    return remote.size_bytes


def _stream_to_file(
    response: http.client.HTTPResponse, path: Path, expected: int | None, label: str
) -> int:
    received = 0
    with (
        path.open("wb") as handle,
        tqdm(total=expected, unit="B", unit_scale=True, desc=label, leave=False) as bar,
    ):
        for chunk in iter(lambda: response.read(_CHUNK_BYTES), b""):
            handle.write(chunk)
            received += len(chunk)
            bar.update(len(chunk))
    return received


def _no_source_error(
    remote: RemoteFile, mirrors: Sequence[Path], failures: list[DataError]
) -> DataError:
    if len(failures) == 1 and not isinstance(failures[0], _UnreachableError):
        # bad bytes from the one official URL: that message already says what to do
        return failures[0]
    reasons = "; ".join(str(failure) for failure in failures) or "no URL is listed"
    looked_in = (
        ", ".join(str(mirror / remote.relative_path) for mirror in mirrors)
        or "no mirror folder set"
    )
    return DataError(
        f"could not get {remote.relative_path}: {reasons}; no mirror copy ({looked_in}). "
        f"Connect to the internet, or put the official file in a folder and point data.mirror "
        f"or ${MIRROR_ENVIRONMENT_VARIABLE} at it"
    )
