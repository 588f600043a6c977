"""JUnit XML post-processing: one testcase per check id, named by the id (stable names)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

_ID = re.compile(r"\[([A-Z0-9]+(?:-[A-Z0-9]+)*-[PF]-\d+)\]$")


def rename_testcases(path: Path) -> int:
    """``test_check[REG-KEY-F-3]`` -> name ``REG-KEY-F-3``, classname ``conformance.<subject>``."""
    tree = ET.parse(path)
    renamed = 0
    for case in tree.iter("testcase"):
        match = _ID.search(case.get("name", ""))
        if not match:
            continue
        check_id = match.group(1)
        case.set("name", check_id)
        case.set("classname", "conformance." + check_id.rsplit("-", 2)[0])
        renamed += 1
    tree.write(path, encoding="utf-8", xml_declaration=True)
    return renamed
