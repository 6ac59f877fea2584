"""Build container images by hand for the image-scan tests (no tests here).

The same layers and config written as a docker 20.10 ``docker save`` tar, as
docker 25+'s OCI-layout-inside-a-tar, and as an OCI directory with gzip
layers: the three forms ``reactor-ci scan --image`` reads.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = ["config_for", "docker_archive", "layer_tar", "oci_dir", "sha256"]


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def layer_tar(
    files: Mapping[str, bytes] | None = None,
    *,
    whiteouts: Iterable[str] = (),
    symlinks: Mapping[str, str] | None = None,
    hardlinks: Mapping[str, str] | None = None,
) -> bytes:
    """One layer: regular files, ``.wh.`` whiteouts for ``whiteouts`` paths, symlinks, hard links."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in (files or {}).items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        for path in whiteouts:
            head, _, base = path.rpartition("/")
            info = tarfile.TarInfo(f"{head}/.wh.{base}".lstrip("/"))
            tar.addfile(info, io.BytesIO(b""))
        for name, target in (symlinks or {}).items():
            info = tarfile.TarInfo(name)
            info.type = tarfile.SYMTYPE
            info.linkname = target
            tar.addfile(info)
        for name, target in (hardlinks or {}).items():
            info = tarfile.TarInfo(name)
            info.type = tarfile.LNKTYPE
            info.linkname = target
            tar.addfile(info)
    return buf.getvalue()


def config_for(
    layers: Sequence[bytes], created_by: Sequence[str], *, env: Sequence[str] = (), empty: Sequence[str] = ()
) -> dict[str, Any]:
    """A config: one history entry per layer (``created_by``), then ``empty`` entries (ENV, ARG…)."""
    history = [{"created_by": c} for c in created_by] + [{"created_by": c, "empty_layer": True} for c in empty]
    return {
        "architecture": "amd64",
        "os": "linux",
        "config": {"Env": list(env), "Cmd": ["/bin/sh"]},
        "rootfs": {"type": "layers", "diff_ids": [sha256(layer) for layer in layers]},
        "history": history,
    }


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def docker_archive(
    path: Path, layers: Sequence[bytes], config: Mapping[str, Any] | bytes, *, oci: bool = False
) -> Path:
    """``docker save`` as docker 20.10 writes it (``oci=False``) or docker 25+ (``oci=True``); manifest LAST."""
    blob = config if isinstance(config, bytes) else json.dumps(config).encode()
    config_digest = sha256(blob)
    with tarfile.open(path, "w") as tar:
        if oci:
            names = []
            for layer in layers:
                name = f"blobs/sha256/{sha256(layer)[7:]}"
                _add(tar, name, layer)
                names.append(name)
            _add(tar, f"blobs/sha256/{config_digest[7:]}", blob)
            manifest = {
                "schemaVersion": 2,
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest},
                "layers": [
                    {"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": sha256(x), "size": len(x)}
                    for x in layers
                ],
            }
            mblob = json.dumps(manifest).encode()
            _add(tar, f"blobs/sha256/{sha256(mblob)[7:]}", mblob)
            index = {"schemaVersion": 2, "manifests": [{"digest": sha256(mblob), "size": len(mblob)}]}
            _add(tar, "index.json", json.dumps(index).encode())
            _add(tar, "oci-layout", b'{"imageLayoutVersion": "1.0.0"}')
            config_name = f"blobs/sha256/{config_digest[7:]}"
        else:
            config_name = f"{config_digest[7:]}.json"
            _add(tar, config_name, blob)
            names = []
            for i, layer in enumerate(layers):
                name = f"{i:064x}/layer.tar"
                _add(tar, name, layer)
                names.append(name)
        manifest_json = [{"Config": config_name, "RepoTags": ["example/img:1"], "Layers": names}]
        _add(tar, "manifest.json", json.dumps(manifest_json).encode())
    return path


def oci_dir(directory: Path, layers: Sequence[bytes], config: Mapping[str, Any], *, compress: bool = True) -> Path:
    """An OCI image layout (what skopeo writes), layers gzip-compressed by default."""
    blobs = directory / "blobs" / "sha256"
    blobs.mkdir(parents=True, exist_ok=True)

    def put(data: bytes) -> str:
        digest = sha256(data)
        (blobs / digest[7:]).write_bytes(data)
        return digest

    descriptors = []
    for layer in layers:
        data = gzip.compress(layer, mtime=0) if compress else layer
        media = "application/vnd.oci.image.layer.v1.tar" + ("+gzip" if compress else "")
        descriptors.append({"mediaType": media, "digest": put(data), "size": len(data)})
    cblob = json.dumps(config).encode()
    manifest = {
        "schemaVersion": 2,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": put(cblob), "size": len(cblob)},
        "layers": descriptors,
    }
    mblob = json.dumps(manifest).encode()
    index = {
        "schemaVersion": 2,
        "manifests": [
            {
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "digest": put(mblob),
                "size": len(mblob),
                "annotations": {"org.opencontainers.image.ref.name": "v1"},
            }
        ],
    }
    (directory / "index.json").write_text(json.dumps(index))
    (directory / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    return directory
