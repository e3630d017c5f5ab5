"""PDF/UA-1 fixes made on the finished PDF, through WeasyPrint's public ``finisher`` (called
with the document and its ``pydyf.PDF`` before the file is written): pydyf objects only.

* **List items as PDF/UA-1 wants them**: ``LI > Lbl, LBody``. Numbers of tight lists are
  set inside the first line and hung into the margin (``writers/html.py``:
  ``HANGING_LISTS_CSS``), which WeasyPrint tags as an ``Lbl`` followed by the item's
  text directly in the ``LI``; a loose item's paragraphs are ``P`` directly in the
  ``LI``. :func:`wrap_list_bodies` wraps an item's other children in one ``LBody``.
* **Page furniture as artifacts**: WeasyPrint tags what the page margins hold (the
  letterhead, the running footer, page numbers) as marked content whose structure
  elements it keeps out of the structure tree. :func:`margin_artifacts` makes each such
  sequence ``/Artifact <</Type /Pagination>> BDC`` and its parent-tree entry ``null``,
  so no reader finds it as content.

Both read the structure WeasyPrint 70.0 writes; the engine refuses any other version
(``engine.install``), so they never meet a structure they were not checked on.
"""

from __future__ import annotations

from typing import Any


def finish(document: Any, pdf: Any) -> None:
    """The finisher the PDF writer passes to ``write_pdf``."""
    wrap_list_bodies(pdf)
    margin_artifacts(pdf)


def _object(pdf: Any, ref: Any) -> Any:
    if isinstance(ref, bytes) and ref.endswith(b" R"):
        return pdf.objects[int(ref.split()[0])]
    return ref


def wrap_list_bodies(pdf: Any) -> None:
    """Give every ``LI`` the kids PDF/UA-1 wants: an optional ``Lbl`` followed by one
    ``LBody`` holding everything else. Only references to structure elements move;
    marked content keeps its element, so the parent tree stays right."""
    import pydyf

    def element(ref: Any) -> Any:
        obj = _object(pdf, ref)
        return obj if isinstance(obj, pydyf.Dictionary) and obj is not ref else None

    for li in list(pdf.objects):
        if not isinstance(li, pydyf.Dictionary) or li.get("S") != "/LI":
            continue
        refs = list(li["K"])
        kids = [element(ref) for ref in refs]
        if any(kid is None for kid in kids):
            continue  # marked content or an annotation directly in the LI: leave it
        tags = [kid.get("S") for kid in kids]
        label = 1 if tags[:1] == ["/Lbl"] else 0
        rest = tags[label:]
        if rest == ["/LBody"] or not rest or "/Lbl" in rest or "/LBody" in rest:
            continue  # already right, or a shape this pass does not know
        body = pydyf.Dictionary({
            "Type": "/StructElem",
            "S": "/LBody",
            "K": pydyf.Array(refs[label:]),
            "Pg": li["Pg"],
            "P": li.reference,
        })
        pdf.add_object(body)
        for kid in kids[label:]:
            kid["P"] = body.reference
        li["K"] = pydyf.Array([*refs[:label], body.reference])


def _page_streams(pdf: Any) -> list[Any]:
    kids = list(pdf.pages["Kids"])
    pages = [pdf.objects[number] for number in kids[0::3]]
    return [_object(pdf, page["Contents"]) for page in pages]


# Complexity over 20, kept: a walk of the structure tree and of each page's
# operators, kept together.
def margin_artifacts(pdf: Any) -> None:
    """Mark the marked content of every page that no element of the structure tree
    reaches (what WeasyPrint drew in the page margins) as pagination artifacts."""
    import pydyf

    tree_root = pdf.catalog.get("StructTreeRoot")
    if tree_root is None:
        return
    root = _object(pdf, tree_root)
    reachable: set[int] = set()
    todo = [_object(pdf, ref) for ref in root["K"]]
    while todo:
        element = todo.pop()
        if not isinstance(element, pydyf.Dictionary) or id(element) in reachable:
            continue
        reachable.add(id(element))
        kids = element.get("K")
        if isinstance(kids, pydyf.Array):
            todo.extend(_object(pdf, k) for k in kids)
    nums = _object(pdf, root["ParentTree"])["Nums"]
    for page_number, stream in enumerate(_page_streams(pdf)):
        mapping = nums[2 * page_number + 1] if 2 * page_number + 1 < len(nums) else None
        if not isinstance(mapping, pydyf.Array) or nums[2 * page_number] != page_number:
            continue
        outside = {mcid for mcid, ref in enumerate(mapping)
                   if id(_object(pdf, ref)) not in reachable}
        if not outside:
            continue
        ops = stream.stream
        # every "<tag> <properties> BDC" of the page (list.index finds each BDC: a
        # page's stream holds thousands of operators, a few hundred of them BDC)
        start = 2
        while True:
            try:
                bdc = ops.index(b"BDC", start)
            except ValueError:
                break
            start = bdc + 1
            props = ops[bdc - 1]
            if (isinstance(props, pydyf.Dictionary) and props.get("MCID") in outside
                    and isinstance(ops[bdc - 2], str)):
                ops[bdc - 2] = "/Artifact"
                ops[bdc - 1] = pydyf.Dictionary({"Type": "/Pagination"})
        for mcid in outside:
            mapping[mcid] = b"null"
