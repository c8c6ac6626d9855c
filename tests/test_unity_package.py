"""The Unity package's shape: manifest, assembly definitions, .meta files, one type per file, an engine-free
core, and a compile check of the Unity-facing code against API stand-ins (no Unity Editor runs here)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "unity_bridge"

# folder → assembly name (= file name and root namespace)
ASSEMBLIES = {
    "Runtime": "AvatarForcing",
    "Runtime/Core": "AvatarForcing.Core",
    "Editor": "AvatarForcing.Editor",
    "Tests/Editor": "AvatarForcing.Editor.Tests",
    "Tests/Runtime": "AvatarForcing.Tests",
    "Samples~/BasicFace": "AvatarForcing.Samples.BasicFace",
}
UNITY_ASSEMBLIES = {"UnityEngine.TestRunner", "UnityEditor.TestRunner"}


def load_asmdef(folder: str) -> dict:
    path = PKG / folder / f"{ASSEMBLIES[folder]}.asmdef"
    assert path.exists(), f"missing {path.relative_to(ROOT)}"
    return json.loads(path.read_text(encoding="utf-8"))


def test_package_manifest():
    manifest = json.loads((PKG / "package.json").read_text(encoding="utf-8"))
    assert re.fullmatch(r"com(\.[a-z0-9][a-z0-9-]*){2,}", manifest["name"]) and len(manifest["name"]) <= 50
    assert re.fullmatch(r"\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?", manifest["version"])
    assert re.fullmatch(r"\d{4}\.\d+", manifest["unity"])
    assert manifest["displayName"] and len(manifest["description"]) > 40
    assert manifest["samples"], "samples are listed"
    for sample in manifest["samples"]:
        assert sample["path"].startswith("Samples~/") and (PKG / sample["path"]).is_dir()
        assert sample["displayName"] and sample["description"]
    for doc in ("README.md", "CHANGELOG.md", "LICENSE.md"):
        assert (PKG / doc).read_text(encoding="utf-8").strip(), doc
    assert manifest["version"] in (PKG / "CHANGELOG.md").read_text(encoding="utf-8")


def test_assembly_definitions_match_their_folders():
    names = set(ASSEMBLIES.values())
    for folder, name in ASSEMBLIES.items():
        asm = load_asmdef(folder)
        assert asm["name"] == name and asm.get("rootNamespace") == name, folder
        for ref in asm.get("references", []):
            assert ref in names or ref in UNITY_ASSEMBLIES, f"{name} references unknown assembly {ref}"
        assert len(list((PKG / folder).glob("*.asmdef"))) == 1, f"one asmdef in {folder}"
    assert load_asmdef("Runtime/Core")["noEngineReferences"] is True
    assert load_asmdef("Runtime/Core")["references"] == []
    assert load_asmdef("Editor")["includePlatforms"] == ["Editor"]
    for folder in ("Tests/Editor", "Tests/Runtime"):
        asm = load_asmdef(folder)
        assert asm["autoReferenced"] is False and "UNITY_INCLUDE_TESTS" in asm["defineConstraints"]
        assert asm["overrideReferences"] is True and "nunit.framework.dll" in asm["precompiledReferences"]
        assert UNITY_ASSEMBLIES <= set(asm["references"])
    assert load_asmdef("Tests/Editor")["includePlatforms"] == ["Editor"]


def _strip(source: str) -> str:
    """C# text without comments and string/char literals (so braces and words in them do not count)."""
    source = re.sub(r"/\*.*?\*/", "", source, flags=re.S)
    source = re.sub(r"//[^\n]*", "", source)
    source = re.sub(r'@"(?:[^"]|"")*"', '""', source)
    source = re.sub(r'"(?:\\.|[^"\\\n])*"', '""', source)
    return re.sub(r"'(?:\\.|[^'\\\n])'", "''", source)


def top_level_types(source: str) -> tuple[str | None, list[str]]:
    """(namespace, names of types declared directly inside it)."""
    text = _strip(source)
    namespace = re.search(r"\bnamespace\s+([\w.]+)", text)
    types, depth = [], 0
    for token in re.finditer(r"[{}]|\b(?:class|struct|enum|interface)\s+(\w+)", text):
        if token.group(0) == "{":
            depth += 1
        elif token.group(0) == "}":
            depth -= 1
        elif depth == 1:
            types.append(token.group(1))
    return (namespace.group(1) if namespace else None), types


def test_one_type_per_file_named_after_it_in_its_assembly_namespace():
    for folder, name in ASSEMBLIES.items():
        for cs in sorted((PKG / folder).glob("*.cs")):
            namespace, types = top_level_types(cs.read_text(encoding="utf-8"))
            assert types == [cs.stem], f"{cs.relative_to(PKG)} declares {types}"
            assert namespace == name, f"{cs.relative_to(PKG)} is in namespace {namespace}, its assembly is {name}"


def test_core_is_engine_free():
    for cs in (PKG / "Runtime" / "Core").glob("*.cs"):
        text = _strip(cs.read_text(encoding="utf-8"))
        assert "UnityEngine" not in text and "UnityEditor" not in text, cs.name


def test_core_channel_list_is_the_motion_contract():
    from af_plugin.motion.codecs.afm import FRAME_BYTES, FRAME_HEADER
    from af_plugin.motion.contract import CHANNELS, LAYOUT_VERSION

    source = (PKG / "Runtime" / "Core" / "MotionChannels.cs").read_text(encoding="utf-8")
    block = re.search(r"names\s*=\s*\{(.*?)\};", source, flags=re.S).group(1)
    assert tuple(re.findall(r'"(\w+)"', block)) == CHANNELS
    assert f"FrameHeaderBytes = {FRAME_HEADER.size};" in source
    assert FRAME_HEADER.size + 4 * len(CHANNELS) == FRAME_BYTES
    assert f"LayoutVersion = {LAYOUT_VERSION};" in source


def test_every_unity_asset_has_a_unique_meta_and_no_binaries_are_committed():
    guids = {}
    for path in sorted(PKG.rglob("*")):
        rel = path.relative_to(PKG)
        if any(p.startswith(".") or p.endswith("~") for p in rel.parts):
            continue
        if path.suffix == ".meta":
            assert path.with_name(path.name[:-5]).exists(), f"orphan {rel}"
            continue
        meta = path.with_name(path.name + ".meta")
        assert meta.exists(), f"{rel} has no .meta (run python unity_bridge/Tools~/generate_meta.py)"
        text = meta.read_text(encoding="utf-8")
        guid = re.search(r"^guid: ([0-9a-f]{32})$", text, flags=re.M)
        assert text.startswith("fileFormatVersion: 2") and guid, rel
        assert guid.group(1) not in guids, f"{rel} shares a GUID with {guids.get(guid.group(1))}"
        guids[guid.group(1)] = rel
        if path.is_dir():
            assert "folderAsset: yes" in text, rel
    assert not list(PKG.rglob("*.dll")), "never commit DLLs"


def test_unity_layer_compiles_against_api_stand_ins(tmp_path):
    """Type-check Runtime/, Editor/, Tests/Runtime/ and the sample with mcs against Tools~/UnityStubs.

    The stand-ins copy Unity's signatures for the API used here; this catches typos and type errors in
    the thin Unity layer, not behaviour (that needs a Unity Editor: see docs/unity.md).
    """
    mcs = shutil.which("mcs")
    if mcs is None:
        pytest.skip("Mono's mcs is not installed")
    nunit = Path("/usr/lib/cli/nunit.framework-2.6.3/nunit.framework.dll")
    stubs = PKG / "Tools~" / "UnityStubs"
    common = ["-target:library", "-langversion:7.2"]

    def build(out: str, sources: list[Path], refs: list[str], extra: tuple[str, ...] = ("-warnaserror",)) -> str:
        dll = str(tmp_path / out)
        cmd = [mcs, *common, *extra, f"-out:{dll}", *(f"-r:{r}" for r in refs), *map(str, sources)]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        assert proc.returncode == 0, f"{out}:\n{proc.stdout}{proc.stderr}"
        return dll

    engine = build("UnityEngine.dll", [stubs / "UnityEngine.cs"], [], ("-nowarn:660,661",))
    editor = build("UnityEditor.dll", [stubs / "UnityEditor.cs"], [engine], ())
    core = build("AvatarForcing.Core.dll", sorted((PKG / "Runtime" / "Core").glob("*.cs")), ["System.dll"])
    runtime = build("AvatarForcing.dll", sorted((PKG / "Runtime").glob("*.cs")), [engine, core])
    build(
        "AvatarForcing.Editor.dll",
        sorted((PKG / "Editor").glob("*.cs")),
        [engine, editor, core, runtime, "System.Core.dll"],
    )
    build(
        "AvatarForcing.Samples.BasicFace.dll", sorted((PKG / "Samples~" / "BasicFace").glob("*.cs")),
        [engine, core, runtime], ("-warnaserror", "-define:ENABLE_LEGACY_INPUT_MANAGER"),
    )  # fmt: skip
    if nunit.exists():
        build(
            "AvatarForcing.Tests.dll",
            sorted((PKG / "Tests" / "Runtime").glob("*.cs")),
            [engine, core, runtime, str(nunit)],
        )
