"""Validate lxnest's fleet exports with the tools' own schemas (tests/export.rs runs this).

Usage: export_validate.py SCHEMA_DIR FILE...
Each FILE is a `generate --format spo` or `--format incus` file. Every YAML document is read by
PyYAML (Debian python3-yaml); a SeccompProfile's spec is checked against the OCI runtime-spec
JSON schema (Debian golang-github-opencontainers-specs-dev) as `linux.seccomp` of a config; an
Incus profile must hold only string config values, as Incus's API requires. Prints one line per
document checked; exits non-zero on the first failure.
"""
import json
import pathlib
import sys

import jsonschema
import yaml


def oci_validator(schema_dir):
    root = pathlib.Path(schema_dir).resolve()
    schema = json.loads((root / "config-schema.json").read_text())
    resolver = jsonschema.RefResolver(base_uri=root.as_uri() + "/", referrer=schema)
    return jsonschema.Draft4Validator(schema, resolver=resolver)


def check(path, oci):
    for doc in yaml.safe_load_all(pathlib.Path(path).read_text()):
        if doc is None:
            continue
        kind = doc.get("kind")
        if kind == "SeccompProfile":
            config = {"ociVersion": "1.0.2", "linux": {"seccomp": doc["spec"]}}
            oci.validate(config)
            print(f"{path}: SeccompProfile {doc['metadata']['name']} valid OCI linux.seccomp")
        elif kind == "AppArmorProfile":
            assert isinstance(doc["spec"]["policy"], str), "policy text"
            print(f"{path}: AppArmorProfile {doc['metadata']['name']}")
        elif "config" in doc:
            bad = {k: v for k, v in doc["config"].items() if not isinstance(v, str)}
            assert not bad, f"non-string config values: {bad}"
            for name, dev in doc.get("devices", {}).items():
                assert all(isinstance(v, str) for v in dev.values()), name
            print(f"{path}: Incus profile, {len(doc['config'])} keys")
        else:
            raise SystemExit(f"{path}: unknown document {doc!r:.200}")


def main():
    oci = oci_validator(sys.argv[1])
    for path in sys.argv[2:]:
        check(path, oci)


if __name__ == "__main__":
    main()
