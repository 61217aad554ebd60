"""The licence the package declares is in the tree, and the third-party notice is where a user looks for it."""

from __future__ import annotations

import hashlib
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# sha256 of the Apache License 2.0 as apache.org publishes it (https://www.apache.org/licenses/LICENSE-2.0.txt); the
# same bytes as Debian's /usr/share/common-licenses/Apache-2.0.
APACHE_2_0_SHA256 = "cfc7749b96f63bd31c3c42b5c471bf756814053e847c10f3eb003417bc523d30"


def test_the_declared_licence_is_shipped_verbatim() -> None:
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["license"]
    assert declared == {"text": "Apache-2.0"}
    licence = ROOT / "LICENSE"
    assert licence.is_file(), "pyproject.toml says Apache-2.0 but there is no LICENSE"
    assert hashlib.sha256(licence.read_bytes()).hexdigest() == APACHE_2_0_SHA256, "not the verbatim Apache-2.0 text"


def test_the_notice_names_the_project_and_the_face_models_licences() -> None:
    notice_file = ROOT / "NOTICE"
    assert notice_file.is_file(), "no NOTICE: the face models' licence terms sit at the end of docs/FACES.md only"
    notice = notice_file.read_text()
    assert notice.startswith("dashscope-portrait-video\nCopyright ")
    assert "Apache License, Version 2.0" in notice
    # As docs/FACES.md states them: the packages, their licences, and the iBUG 300-W restriction.
    for needed in (
        "dlib-bin",
        "Boost Software License",
        "face-recognition-models",
        "CC0 1.0 Universal",
        "shape_predictor_68_face_landmarks.dat",
        "iBUG 300-W",
        "commercial",
        "docs/FACES.md",
    ):
        assert needed in notice, needed


def test_faces_md_points_to_the_notice() -> None:
    faces = (ROOT / "docs" / "FACES.md").read_text()
    assert "NOTICE" in faces and "iBUG 300-W" in faces
