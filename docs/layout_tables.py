"""Print the feature-layout tables of docs/formats.md from mtk.schemas (the doc's tables are checked against
this output by tests/test_stores.py, so they cannot drift from the code).

    python docs/layout_tables.py
"""

from __future__ import annotations

from mtk.features import layouts


def layout_tables() -> str:
    parts = []
    for layout in layouts().values():
        parts.append(f"#### {layout.name}: {layout.title} ({layout.dim} columns, {layout.fps:g} fps, "
                     f"6D as {layout.sixd}, {layout.dtype_on_disk} on disk)\n")
        parts.append("| columns | block | meaning | unit | frame of reference |")
        parts.append("|---|---|---|---|---|")
        for block in layout.blocks:
            parts.append(f"| `{block.start}:{block.stop}` | {block.name} | {block.meaning} | {block.unit} "
                         f"| {block.frame} |")
        parts.append("")
    return "\n".join(parts)


if __name__ == "__main__":
    print(layout_tables())
