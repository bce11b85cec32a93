"""The installer recipes that cannot run on this machine (Windows, macOS) and the parts of the Linux one that
are cheap to check without building: they name real files, keep the settings that matter, and do what
their comments promise."""

from __future__ import annotations

import ast
import os
import re
import shutil
import stat
import struct
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "packaging" / "pyinstaller" / "kling-studio.spec"
ISS = ROOT / "packaging" / "windows" / "kling-studio.iss"
DMG_SCRIPT = ROOT / "packaging" / "macos" / "build-dmg.sh"
DESKTOP = ROOT / "packaging" / "linux" / "kling-studio.desktop"
MIME = ROOT / "packaging" / "linux" / "kling-studio-mime.xml"
BUILD_DEB = ROOT / "packaging" / "linux" / "build-deb.sh"
TEST_DEB = ROOT / "packaging" / "linux" / "test-deb.sh"
ICONS = ROOT / "kling_studio" / "resources" / "icons"


# --- PyInstaller spec -----------------------------------------------------------------------------------


def spec_calls() -> dict[str, dict[str, ast.expr]]:
    """Keyword arguments of the EXE, COLLECT and BUNDLE calls in the spec, by call name."""
    calls: dict[str, dict[str, ast.expr]] = {}
    for node in ast.walk(ast.parse(SPEC.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            calls[node.func.id] = {kw.arg: kw.value for kw in node.keywords if kw.arg}
    return calls


def spec_constants() -> dict[str, object]:
    constants = {}
    for node in ast.parse(SPEC.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    constants[target.id] = node.value.value
    return constants


def test_the_spec_never_strips_because_strip_breaks_the_ffmpeg_libraries() -> None:
    calls = spec_calls()

    for name in ("EXE", "COLLECT"):
        assert ast.literal_eval(calls[name]["strip"]) is False, f"{name} must keep strip=False"
        assert ast.literal_eval(calls[name]["upx"]) is False, f"{name} must keep upx=False"


def test_the_spec_builds_a_windowed_one_folder_app_with_the_macos_identity() -> None:
    calls, constants = spec_calls(), spec_constants()

    assert ast.literal_eval(calls["EXE"]["console"]) is False
    assert ast.literal_eval(calls["EXE"]["exclude_binaries"]) is True  # one folder, not one file
    assert ast.literal_eval(calls["COLLECT"]["name"]) == "kling-studio"
    assert ast.literal_eval(calls["BUNDLE"]["name"]) == "Kling Studio.app"
    assert constants["BUNDLE_ID"] == "ai.klingstudio.KlingStudio"
    assert constants["PROJECT_EXTENSION"] == "klingproj"
    text = SPEC.read_text(encoding="utf-8")
    for hidden in ('collect_submodules("kling_studio")', "keyring.backends.SecretService",
                   "keyring.backends.Windows", "keyring.backends.macOS"):
        assert hidden in text


def test_every_icon_the_spec_and_installers_use_exists() -> None:
    for name in ("app-icon.svg", "app-icon.ico", "app-icon.icns"):
        assert (ICONS / name).is_file(), name
    assert (ROOT / "packaging" / "pyinstaller" / "entry.py").is_file()


# --- icons ------------------------------------------------------------------------------------------------


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


@pytest.mark.parametrize("size", [16, 24, 32, 48, 64, 128, 256, 512])
def test_each_png_icon_has_the_size_its_name_says(size: int) -> None:
    assert png_size((ICONS / f"app-icon-{size}.png").read_bytes()) == (size, size)


def test_the_ico_holds_windows_sizes_up_to_256() -> None:
    data = (ICONS / "app-icon.ico").read_bytes()
    _, kind, count = struct.unpack("<HHH", data[:6])
    sizes = set()
    for i in range(count):
        width, _, _, _, _, _, length, offset = struct.unpack("<BBBBHHII", data[6 + 16 * i : 22 + 16 * i])
        sizes.add(png_size(data[offset : offset + length])[0])
        assert (width or 256) == png_size(data[offset : offset + length])[0]
    assert kind == 1
    assert {16, 32, 48, 256} <= sizes


def test_the_icns_holds_sizes_up_to_1024() -> None:
    data = (ICONS / "app-icon.icns").read_bytes()
    assert data[:4] == b"icns" and struct.unpack(">I", data[4:8])[0] == len(data)
    sizes, pos = set(), 8
    while pos < len(data):
        length = struct.unpack(">I", data[pos + 4 : pos + 8])[0]
        sizes.add(png_size(data[pos + 8 : pos + length])[0])
        pos += length
    assert {16, 32, 128, 256, 512, 1024} <= sizes


# --- Windows (Inno Setup) ---------------------------------------------------------------------------------


def iss_sections() -> dict[str, list[str]]:
    sections: dict[str, list[str]] = {}
    current = ""
    for raw in ISS.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith(";"):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = line[1:-1]
            sections[current] = []
        else:
            sections.setdefault(current, []).append(line)
    return sections


def iss_path(value: str) -> Path:
    """A path in the .iss (relative to the script's folder, backslashes) as a path in this checkout."""
    return (ISS.parent / value.replace("\\", "/")).resolve()


def test_the_windows_installer_is_per_user_with_a_start_menu_entry_and_uninstaller() -> None:
    sections = iss_sections()
    setup = dict(line.split("=", 1) for line in sections["Setup"])

    assert setup["PrivilegesRequired"] == "lowest"
    assert setup.get("Uninstallable", "yes") == "yes"
    assert "UninstallDisplayIcon" in setup
    assert any(line.startswith('Name: "{autoprograms}') for line in sections["Icons"])


def test_the_windows_file_association_lives_under_the_current_user_only() -> None:
    registry = iss_sections()["Registry"]

    assert registry
    assert all(line.startswith(("Root: HKA;", "Root: HKCU;")) for line in registry)
    assert any(r'Subkey: "Software\Classes\.klingproj"' in line for line in registry)
    assert any('""%1""' in line and r"shell\open\command" in line for line in registry)


def test_the_windows_installer_names_real_files_and_the_specs_bundle() -> None:
    text = ISS.read_text(encoding="utf-8")
    bundle = re.search(r'#define BundleDir "([^"]+)"', text)[1]
    icon = re.search(r"SetupIconFile=(.+)", text)[1].strip()
    exe = re.search(r'#define AppExe "([^"]+)"', text)[1]

    assert iss_path(icon).is_file()
    assert iss_path(bundle) == ROOT / "dist" / ast.literal_eval(spec_calls()["COLLECT"]["name"])
    assert exe == ast.literal_eval(spec_calls()["EXE"]["name"]) + ".exe"


# --- macOS (disk image) -----------------------------------------------------------------------------------

STUBS = {
    "hdiutil": 'echo "hdiutil $*" >> "$STUB_LOG"; for last; do :; done; touch "$last"',
    "codesign": 'echo "codesign $*" >> "$STUB_LOG"',
    "xcrun": 'echo "xcrun $*" >> "$STUB_LOG"',
    "security": 'echo "security $*" >> "$STUB_LOG"',
}


def run_dmg_script(tmp_path: Path, **env: str) -> tuple[subprocess.CompletedProcess[str], str]:
    """Run build-dmg.sh in a copy of the repository layout, with macOS's tools replaced by loggers."""
    repo = tmp_path / "repo"
    (repo / "packaging" / "macos").mkdir(parents=True)
    shutil.copy(DMG_SCRIPT, repo / "packaging" / "macos" / "build-dmg.sh")
    shutil.copy(ROOT / "packaging" / "macos" / "entitlements.plist", repo / "packaging" / "macos")
    shutil.copy(ROOT / "pyproject.toml", repo / "pyproject.toml")
    app = repo / "dist" / "Kling Studio.app" / "Contents" / "MacOS"
    app.mkdir(parents=True)
    (app / "kling-studio").write_text("#!/bin/sh\n")
    (app.parent / "Frameworks").mkdir()
    (app.parent / "Frameworks" / "libQt6Core.dylib").write_bytes(b"\0")
    stubs = tmp_path / "bin"
    stubs.mkdir()
    for name, body in STUBS.items():
        tool = stubs / name
        tool.write_text(f"#!/bin/sh\n{body}\n")
        tool.chmod(tool.stat().st_mode | stat.S_IEXEC)
    log = tmp_path / "calls.log"
    log.touch()
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("MACOS_", "APPLE_"))}
    run = subprocess.run(
        ["bash", str(repo / "packaging" / "macos" / "build-dmg.sh")],
        capture_output=True,
        text=True,
        timeout=60,
        env={**clean, **env, "PATH": f"{stubs}:{os.environ['PATH']}", "STUB_LOG": str(log)},
    )
    return run, log.read_text()


def test_without_secrets_the_dmg_is_built_unsigned(tmp_path: Path) -> None:
    run, calls = run_dmg_script(tmp_path)

    assert run.returncode == 0, run.stderr
    assert "hdiutil create -volname Kling Studio" in calls
    assert re.search(r"KlingStudio-[\d.]+-macos-\w+\.dmg", calls)
    assert "codesign" not in calls and "notarytool" not in calls
    assert "unsigned" in run.stdout and "not notarized" in run.stdout


def test_with_secrets_the_app_and_dmg_are_signed_then_notarized(tmp_path: Path) -> None:
    run, calls = run_dmg_script(
        tmp_path,
        MACOS_SIGN_IDENTITY="Developer ID Application: Test (TEAM123)",
        APPLE_ID="dev@example.com",
        APPLE_TEAM_ID="TEAM123",
        APPLE_APP_PASSWORD="app-specific",
    )

    assert run.returncode == 0, run.stderr
    lines = calls.splitlines()
    signs = [i for i, line in enumerate(lines) if line.startswith("codesign --force")]
    image = next(i for i, line in enumerate(lines) if line.startswith("hdiutil create"))
    notarize = next(i for i, line in enumerate(lines) if line.startswith("xcrun notarytool submit"))
    assert any("--options runtime" in lines[i] and "Kling Studio.app" in lines[i] for i in signs if i < image)
    assert any(".dmg" in lines[i] for i in signs if i > image)
    assert notarize > image and "--wait" in lines[notarize]
    assert any(line.startswith("xcrun stapler staple") for line in lines[notarize:])


# --- Linux (.deb) -----------------------------------------------------------------------------------------


def test_the_desktop_file_is_valid_and_starts_the_installed_launcher() -> None:
    validator = shutil.which("desktop-file-validate")
    if validator is None:
        pytest.skip("desktop-file-validate is not installed (apt-get install desktop-file-utils)")
    run = subprocess.run([validator, str(DESKTOP)], capture_output=True, text=True, timeout=30)
    entries = dict(line.split("=", 1) for line in DESKTOP.read_text().splitlines() if "=" in line)

    assert run.returncode == 0 and not run.stdout.strip(), run.stdout + run.stderr
    assert entries["Exec"].split()[0] == "kling-studio"
    assert entries["Icon"] == "kling-studio"
    mime_type = re.search(r'<mime-type type="([^"]+)"', MIME.read_text())[1]
    assert entries["MimeType"].rstrip(";") == mime_type
    assert '<glob pattern="*.klingproj"/>' in MIME.read_text()


def test_the_linux_scripts_parse_and_install_icons_that_exist() -> None:
    for script in (BUILD_DEB, TEST_DEB, DMG_SCRIPT):
        run = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True, timeout=30)
        assert run.returncode == 0, f"{script.name}: {run.stderr}"
    sizes = re.search(r"for size in ([\d ]+); do", BUILD_DEB.read_text())[1].split()

    assert len(sizes) >= 6
    for size in sizes:
        assert (ICONS / f"app-icon-{size}.png").is_file()
    text = BUILD_DEB.read_text()
    assert "dpkg-deb --build --root-owner-group -Zzstd" in text
    assert "/opt/kling-studio" in text and "Recommends: gnome-keyring" in text
