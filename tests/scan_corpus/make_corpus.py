"""Regenerate the labelled scan corpus (fixed seed; the output is committed).

    python tests/scan_corpus/make_corpus.py

Every key here is FAKE: random characters in the shape of a key.  Positives
live under pos/, negatives under neg/; labels.json lists every expected
finding as (path, line, rule).  Anything the scanner reports that is not in
labels.json is a false positive; any label it misses is a recall failure.
"""

from __future__ import annotations

import base64
import json
import os
import random
import shutil
import string

HERE = os.path.dirname(os.path.abspath(__file__))
rng = random.Random(20241124)
ALNUM = string.ascii_letters + string.digits
HEX = "0123456789abcdef"
URLSAFE = ALNUM + "-_"

P, A, S, C, D = (
    "reactor-partner-key",
    "reactor-app-key",
    "stripe-restricted-key",
    "reactor-credentials-file",
    "docker-config-reactor-auth",
)
labels: list[dict[str, object]] = []


def rand(alphabet: str, n: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def emulator_key(prefix: str) -> str:
    """What the project's emulator issues: prefix + 32 chars of [A-Za-z0-9]."""
    return prefix + rand(ALNUM, 32)


def write(
    rel: str, lines: list[tuple[str, list[str]]], *, newline: str = "\n", encoding: str = "utf-8", bom: bool = False
) -> None:
    path = os.path.join(HERE, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    text = newline.join(line for line, _ in lines) + newline
    data = text.encode(encoding)
    if bom:
        data = {"utf-16-le": b"\xff\xfe", "utf-16-be": b"\xfe\xff"}[encoding] + data
    with open(path, "wb") as fh:
        fh.write(data)
    for i, (_, rules) in enumerate(lines, start=1):
        for rule in rules:
            labels.append({"path": rel, "line": i, "rule": rule})


def plain(*texts: str) -> list[tuple[str, list[str]]]:
    return [(t, []) for t in texts]


def main() -> None:
    for sub in ("pos", "neg"):
        shutil.rmtree(os.path.join(HERE, sub), ignore_errors=True)

    # ---------------- positives ----------------
    k = [emulator_key("rp_"), emulator_key("rk_"), emulator_key("rp_"), emulator_key("rk_")]
    write(
        "pos/config.py",
        [
            ('"""Settings for the demo app."""', []),
            ("import os", []),
            (f'REACTOR_API_KEY = "{k[0]}"', [P]),
            (f"client = Reactor(api_key='{k[1]}')", [A]),
            (f'headers = {{"Reactor-API-Key": f"{k[2]}"}}', [P]),
            (f"KEYS = ['{k[3]}',", [A]),
            (f"        '{emulator_key('rp_')}']", [P]),
        ],
    )
    write(
        "pos/app.js",
        [
            ("// demo", []),
            (f"const apiKey = '{emulator_key('rk_')}';", [A]),
            (f"fetch(url, {{ headers: {{ 'Reactor-API-Key': `{emulator_key('rp_')}` }} }});", [P]),
        ],
    )
    write(
        "pos/client.ts",
        [
            ("export const config = {", []),
            (f'  partnerKey: "rp_{rand(HEX, 40)}",  // hex body', [P]),
            (f'  appKey: "rk_{rand(ALNUM, 24)}",', [A]),
            ("};", []),
        ],
    )
    write(
        "pos/deploy.yaml",
        [
            ("jobs:", []),
            ("  push:", []),
            ("    env:", []),
            (f"      REACTOR_API_KEY: {emulator_key('rp_')}", [P]),
            (f'      APP_KEY: "rk_{rand(URLSAFE, 43)}"', [A]),
        ],
    )
    write(
        "pos/settings.json",
        [
            ("{", []),
            (f'  "reactor": {{"key": "rp_{rand(ALNUM, 20)}"}},', [P]),
            (f'  "app": {{"key": "rk_{rand(ALNUM, 64)}"}}', [A]),
            ("}", []),
        ],
    )
    write(
        "pos/.env",
        [
            ("# local settings", []),
            (f"REACTOR_API_KEY={emulator_key('rp_')}", [P]),
            (f"export REACTOR_APP_KEY='rk_{rand(HEX, 32)}'", [A]),
        ],
    )
    write(
        "pos/config.toml",
        [
            ("[reactor]", []),
            (f'api_key = "rk_{rand(ALNUM, 28)}"', [A]),
            (f"partner = 'rp_{rand(ALNUM, 16)}_{rand(ALNUM, 16)}'", [P]),
        ],
    )
    write(
        "pos/README.md",
        [
            ("# Deploying", []),
            ("```sh", []),
            (f"reactor-ci login --key {emulator_key('rp_')}", [P]),
            ("```", []),
            (f"Then use the app key `{emulator_key('rk_')}` in the browser demo.", [A]),
        ],
    )
    write(
        "pos/deploy.sh",
        [
            ("#!/bin/sh", []),
            (f'curl -H "Reactor-API-Key: {emulator_key("rp_")}" https://api.reactor.inc/v1/partner', [P]),
            (f"export REACTOR_API_KEY='{emulator_key('rk_')}'", [A]),
        ],
    )
    write(
        "pos/Dockerfile",
        [
            ("FROM python:3.12-slim", []),
            (f"ENV REACTOR_API_KEY={emulator_key('rp_')}", [P]),
            (f"ARG APP_KEY=rk_{rand(ALNUM, 48)}", [A]),
        ],
    )
    nb_key1, nb_key2 = emulator_key("rk_"), emulator_key("rp_")
    notebook = {
        "cells": [
            {
                "cell_type": "code",
                "metadata": {},
                "execution_count": 1,
                "source": ["import reactor\n", f'key = "{nb_key1}"\n'],
                "outputs": [{"output_type": "stream", "name": "stdout", "text": [f"logged in\n{nb_key2}\n"]}],
            },
        ],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    nb_lines = json.dumps(notebook, indent=1).split("\n")
    write(
        "pos/notebook.ipynb", [(line, [A] if nb_key1 in line else [P] if nb_key2 in line else []) for line in nb_lines]
    )
    m1, m2, m3 = emulator_key("rp_"), emulator_key("rk_"), f"rp_{rand(HEX, 64)}"
    minified = (
        "!function(e){var t={};"
        + "function n(r){return t[r]}" * 40
        + f'var k="{m1}",a=\'{m2}\';e.cfg={{key:k,app:a,h:"{m3}"}}'
        + ";" * 10
        + "}(window);"
    )
    write("pos/bundle.min.js", [(minified, [P, A, P])])
    write(
        "pos/windows.ps1",
        [
            ("# PowerShell, CRLF line endings", []),
            (f'$env:REACTOR_API_KEY = "{emulator_key("rp_")}"', [P]),
            (f"Set-Item Env:APP_KEY '{emulator_key('rk_')}'", [A]),
        ],
        newline="\r\n",
    )
    write(
        "pos/utf16.txt",
        [
            ("UTF-16 text with a byte order mark", []),
            (f"key={emulator_key('rp_')}", [P]),
        ],
        encoding="utf-16-le",
        bom=True,
    )
    write(
        "pos/latin1.properties",
        [
            ("# Paramètres (Latin-1)", []),
            (f"clé.reactor={emulator_key('rk_')}", [A]),
        ],
        encoding="latin-1",
    )
    write(
        "pos/go/main.go",
        [
            ("package main", []),
            (
                f'const partnerKey = "rp_{rand(HEX, 8)}-{rand(HEX, 4)}-4{rand(HEX, 3)}-a{rand(HEX, 3)}-{rand(HEX, 12)}"',
                [P],
            ),
            (f'var appKey = "rk_{rand(ALNUM, 20).upper()}{rand(string.digits, 6)}"', [A]),
        ],
    )
    write(
        "pos/url.txt",
        [
            (f"https://example.test/callback?api_key={emulator_key('rk_')}&x=1", [A]),
            (f"https://example.test/cb?q=key%3D{emulator_key('rp_')}", [P]),
            (f"log line: \\n{emulator_key('rp_')} \\t{emulator_key('rk_')}", [P, A]),
        ],
    )
    write(
        "pos/stripe.py",
        [
            ("import stripe", []),
            (f'stripe.api_key = "rk_live_{rand(ALNUM, 99)}"', [S]),
            (f"TEST_KEY = 'rk_test_{rand(ALNUM, 24)}'", [S]),
            (f"PROD = 'rk_prod_{rand(ALNUM, 32)}'", [S]),
        ],
    )
    cred_key, cred_token = emulator_key("rp_"), rand(ALNUM, 48)
    write(
        "pos/home/reactor-credentials",
        [
            ("{", []),
            (f'  "api_key": "{cred_key}",', [P]),
            ('  "partner_id": "acme-video",', []),
            ('  "registry": "registry.reactor.inc/acme-video",', []),
            (f'  "registry_token": "{cred_token}",', [C]),
            ('  "registry_token_expiry": "2025-01-01T12:00:00Z"', []),
            ("}", []),
        ],
    )
    write(
        "pos/minified-credentials.json",
        [
            (f'{{"api_key":"{emulator_key("rp_")}","registry_token":"{rand(URLSAFE, 40)}"}}', [P, C]),
        ],
    )
    auth = base64.b64encode(f"acme-video:{rand(ALNUM, 48)}".encode()).decode()
    auth_key = base64.b64encode(f"acme:{emulator_key('rp_')}".encode()).decode()
    write(
        "pos/docker/config.json",
        [
            ("{", []),
            ('  "auths": {', []),
            ('    "registry.reactor.inc": {', []),
            (f'      "auth": "{auth}"', [D]),
            ("    },", []),
            ('    "localhost:5000": {', []),
            (f'      "auth": "{auth_key}"', [D]),
            ("    }", []),
            ("  }", []),
            ("}", []),
        ],
    )
    keys_lines: list[tuple[str, list[str]]] = []
    for n in (20, 24, 32, 40, 48, 64, 96):
        for alphabet, name in (
            (ALNUM, "base62"),
            (HEX, "hex"),
            (URLSAFE, "urlsafe"),
            (HEX.upper() + string.digits, "HEX"),
        ):
            for prefix, rule in (("rp_", P), ("rk_", A)):
                keys_lines.append((f"{name}{n}: {prefix}{rand(alphabet, n)}", [rule]))
    write("pos/shapes.txt", keys_lines)

    # ---------------- negatives ----------------
    write(
        "neg/sysctl.conf",
        plain(
            "net.ipv4.conf.all.rp_filter = 1",
            "net.ipv4.conf.default.rp_filter=2",
            "# rp_filter_strict_mode_enabled_for_all_interfaces",
        ),
    )
    write(
        "neg/pimd.c",
        plain(
            "struct rp_info *rp_info = pim_rp_find_match_group(pim, &group);",
            "if (rp_info->rp.rpf_addr.family == AF_INET) rp_addr = rp_info_lookup_by_address_family(x);",
            "static void rp_info_free_and_release_all_resources(struct rp_info *rp_info);",
            "grp_abcdef0123456789abcdef0123456789 = lookup_group_hash();",
        ),
    )
    write(
        "neg/webauthn.ts",
        plain(
            "const options = { rp_id: 'example.com', rp_name: 'Example Corporation Ltd' };",
            "verifyRegistration({ expected_rp_id_hash_for_this_origin: hash });",
        ),
    )
    write(
        "neg/rockchip.c",
        plain(
            "rk_aiq_uapi_sysctl_init(sns_entity_name, iq_file_dir, NULL, NULL);",
            "ret = rk_aiq_uapi2_sysctl_prepare(ctx, width, height, RK_AIQ_WORKING_MODE_NORMAL);",
            "rk_aiq_user_api2_ae_setExpSwAttr(ctx, expSwAttr);",
            "XCamReturn rk_aiq_uapi_setExpMode(const rk_aiq_sys_ctx_t* ctx, opMode_t mode);",
            "rk_aiq_uapi2_sysctl_getStaticMetas(sns_entity_name, &static_info);",
        ),
    )
    write(
        "neg/words.py",
        plain(
            f"mark_{rand(HEX, 32)} = network_{rand(HEX, 40)}",
            f"work_{rand(ALNUM, 32)}",
            f"fork_{rand(HEX, 40)}  # a hash after a word",
            "def mark_as_read_and_notify_all_subscribers(self): pass",
            "network_interface_configuration_manager = None",
            "RP_A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6 = 'uppercase prefix: not a Reactor key'",
            f"Rk_{rand(ALNUM, 32)} = 1",
            "rp_FilterTableEntriesHandlerFactory = object",
            "rk_someLongCamelCaseIdentifierName = 2",
            "rp_some_long_identifier_name_v2_final = 3",
            "RK_API_KEY_ENVIRONMENT_VARIABLE_NAME = 'REACTOR_API_KEY'",
        ),
    )
    write(
        "neg/placeholders.md",
        plain(
            "Set `REACTOR_API_KEY=rk_...` in your CI secrets.",
            "Partner keys look like `rp_...`; app keys like <rk_...>.",
            "export REACTOR_API_KEY=rk_your_key_here",
            "export REACTOR_API_KEY=rp_YOUR_PARTNER_KEY_HERE",
            "api_key: rp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
            "api_key: rk_XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX",
            "key = <rp_...>",
            "rk_00000000000000000000000000000000",
            "rp_1234567890abcdefghijklmnopqrstuv",
            "rp_abcdefghijklmnopqrstuvwxyz012345",
            "rk_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            "stripe: rk_live_..., rk_test_xxxxxxxxxxxxxxxxxxxxxxxx",
            "rp_<your-partner-key>",
            "rk_${REACTOR_APP_KEY_FROM_SECRETS}",
            "rp_short1234",
            "Use rp_EXAMPLEKEYEXAMPLEKEYEXAMPLE01 in the examples.",
        ),
    )
    write(
        "neg/ids.txt",
        plain(
            "550e8400-e29b-41d4-a716-446655440000",
            f"{rand(HEX, 8)}-{rand(HEX, 4)}-4{rand(HEX, 3)}-a{rand(HEX, 3)}-{rand(HEX, 12)}",
            f"sha256:{rand(HEX, 64)}",
            f"commit {rand(HEX, 40)}",
            f"sk_live_{rand(ALNUM, 24)}",
            f"pk_live_{rand(ALNUM, 24)}",
            f"ghp_{rand(ALNUM, 36)}",
            f"eyJhbGciOiJSUzI1NiJ9.{rand(URLSAFE, 40)}.{rand(URLSAFE, 43)}",
        ),
    )
    write(
        "neg/allowlisted.py",
        [
            (f'TEST_KEY = "{emulator_key("rp_")}"  # pragma: allowlist secret', []),
            (f"OTHER = '{emulator_key('rk_')}'  # reactor-ci: allow", []),
            ("# pragma: allowlist nextline secret", []),
            (f"THIRD = '{emulator_key('rk_')}'", []),
        ],
    )
    write(
        "neg/credentials.example.json",
        plain(
            "{",
            '  "api_key": "rp_...",',
            '  "partner_id": "your-org",',
            '  "registry": "registry.reactor.inc/your-org",',
            '  "registry_token": "...",',
            '  "registry_token_expiry": "2025-01-01T12:00:00Z"',
            "}",
        ),
    )
    write(
        "neg/token-response.json",
        plain(
            "{",
            '  "registry_token": "<opaque>",',
            '  "api_key": "${REACTOR_API_KEY}",',
            '  "registry_token_expiry": "2025-01-01T12:00:00Z"',
            "}",
        ),
    )
    other_auth = base64.b64encode(f"octocat:{rand(ALNUM, 40)}".encode()).decode()
    write(
        "neg/docker/config.json",
        plain(
            "{",
            '  "auths": {',
            f'    "https://index.docker.io/v1/": {{"auth": "{other_auth}"}},',
            '    "registry.reactor.inc": {}',
            "  },",
            '  "credHelpers": {"registry.reactor.inc": "reactor"}',
            "}",
        ),
    )
    # A binary file (NUL in the first 8 KB) holding a key: skipped by design.
    binary = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 64 + emulator_key("rp_").encode() + b"\x00" * 16
    os.makedirs(os.path.join(HERE, "neg"), exist_ok=True)
    with open(os.path.join(HERE, "neg/blob.bin"), "wb") as fh:
        fh.write(binary)

    # Added last so the random draws above (and the committed files) stay the same.
    write(
        "neg/tokens.txt",
        plain(
            f"jwt: eyJhbGciOiJIUzI1NiJ9.{rand(URLSAFE, 30)}-rp_{rand(ALNUM, 30)}.{rand(URLSAFE, 43)}",
            f"urlsafe-b64: {rand(URLSAFE, 40)}-rk_{rand(ALNUM, 40)}",
        ),
    )

    labels.sort(key=lambda e: (str(e["path"]), int(str(e["line"])), str(e["rule"])))
    with open(os.path.join(HERE, "labels.json"), "w", encoding="utf-8") as fh:
        json.dump(
            {"note": "expected findings of reactor-ci-scan over pos/ and neg/ (all keys are fake)", "findings": labels},
            fh,
            indent=1,
        )
        fh.write("\n")
    print(f"{len(labels)} labelled findings")


if __name__ == "__main__":
    main()
