"""Write the Unity .meta files this package needs (Unity cannot create them inside an immutable git package).

Run after adding a file or folder:  python unity_bridge/Tools~/generate_meta.py
GUIDs are derived from the package name and the path, so they are stable; existing .meta files are never
rewritten (a renamed file keeps no old GUID: references to it in user projects would break anyway).
Folders ending in "~" (Samples~, Tools~) and dot-files are ignored by Unity and get no .meta.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1]
NAME = "com.avatarforcing.runtime"

TRAILER = "  externalObjects: {}\n  userData: \n  assetBundleName: \n  assetBundleVariant: \n"
IMPORTERS = {
    ".cs": "MonoImporter:\n  externalObjects: {}\n  serializedVersion: 2\n  defaultReferences: []\n"
    "  executionOrder: 0\n  icon: {instanceID: 0}\n  userData: \n  assetBundleName: \n  assetBundleVariant: \n",
    ".asmdef": "AssemblyDefinitionImporter:\n" + TRAILER,
    ".md": "TextScriptImporter:\n" + TRAILER,
    ".json": "TextScriptImporter:\n" + TRAILER,
}


def guid_for(rel: str) -> str:
    return hashlib.md5(f"{NAME}/{rel}".encode()).hexdigest()


def assets(root: Path = PACKAGE) -> list[Path]:
    """Every file and folder Unity imports from the package (what needs a .meta)."""
    out = []
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if any(part.startswith(".") or part.endswith("~") for part in rel.parts):
            continue
        if path.suffix == ".meta":
            continue
        out.append(path)
    return out


def meta_text(path: Path, root: Path = PACKAGE) -> str:
    rel = path.relative_to(root).as_posix()
    head = f"fileFormatVersion: 2\nguid: {guid_for(rel)}\n"
    if path.is_dir():
        return head + "folderAsset: yes\nDefaultImporter:\n" + TRAILER
    if rel == "package.json":
        return head + "PackageManifestImporter:\n" + TRAILER
    return head + IMPORTERS.get(path.suffix, "DefaultImporter:\n" + TRAILER)


def main() -> int:
    written = 0
    for path in assets():
        meta = path.with_name(path.name + ".meta")
        if not meta.exists():
            meta.write_text(meta_text(path), encoding="utf-8")
            written += 1
    orphans = [m for m in PACKAGE.rglob("*.meta") if not m.with_name(m.name[: -len(".meta")]).exists()]
    for m in orphans:
        print(f"orphan .meta (its asset is gone): {m.relative_to(PACKAGE)}", file=sys.stderr)
    print(f"wrote {written} .meta file(s)")
    return 1 if orphans else 0


if __name__ == "__main__":
    sys.exit(main())
