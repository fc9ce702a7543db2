"""The bundled demo data: illustrative flows modelled on Leicester (see ``graphflows/data/demo/README.md``).

>>> demo_path().name
'flows.csv'
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def demo_path() -> Path:
    """Path of the bundled, illustrative demo flows file."""
    return Path(str(resources.files("graphflows") / "data" / "demo" / "flows.csv"))
