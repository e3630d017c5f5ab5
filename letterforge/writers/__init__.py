"""Writers are a table: format name -> module with ``render(document, assets) -> bytes``.

Modules are imported only when a format is used, so ``letterforge --help`` and
``letterforge list`` never import WeasyPrint.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..document import Document
    from ..models import Assets

Writer = Callable[["Document", "Assets"], bytes]

# format -> (module, file extension, sub-folder of the batch)
WRITERS: dict[str, tuple[str, str, str]] = {
    "docx": ("letterforge.writers.docx", "docx", "docx"),
    "pdf": ("letterforge.writers.pdf", "pdf", "pdf"),
}

# "eml" is not a writer of the tree: the e-mail carries the PDF, so it is built by
# letterforge.mail after the other formats of the same letter.
EMAIL_FORMAT = "eml"
FORMATS = (*WRITERS, EMAIL_FORMAT)
DEFAULT_FORMATS = ("docx", "pdf", "eml")


def get_writer(fmt: str) -> Writer:
    module_name = WRITERS[fmt][0]
    module = importlib.import_module(module_name)
    render: Writer = module.render
    return render


class UnsupportedNode(Exception):
    """A node type the writer has no rule for: never silently dropped."""

    def __init__(self, writer: str, node_type: str, line: int | None) -> None:
        self.writer = writer
        self.node_type = node_type
        self.line = line
        where = f" (line {line} of the merged letter)" if line else ""
        super().__init__(
            f"the {writer} writer does not support Markdown '{node_type}'{where}: "
            "remove it from the template"
        )
