#!/bin/sh
# SPDX-License-Identifier: MIT
# Save the SVG of a small session and check that it is well-formed XML with
# the parts a reader needs: a rectangle per block, the handles as labels, a
# legend; and one of the kmalloc heap, with its slabs labelled. With
# rsvg-convert present, both must also render. Skips (77)
# without python3.
#   svg_check.sh BUDDY
set -u
buddy=$1
if [ "${BUDDY_UNDER_VALGRIND:-0}" = 1 ] && command -v valgrind >/dev/null 2>&1; then
  buddy="valgrind --quiet --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite $buddy"
fi
command -v python3 >/dev/null 2>&1 || { echo "svg: python3 missing, skipped"; exit 77; }
dir=$(mktemp -d) || exit 1
trap 'rm -rf "$dir"' EXIT
printf 'alloc 0\nalloc 2\npages 5\nmalloc 9000\nfree #2\nsave %s/a.svg\n' "$dir" |
  $buddy --color=never >/dev/null || { echo "svg: the session failed" >&2; exit 1; }
python3 - "$dir/a.svg" <<'PY' || exit 1
import sys, xml.dom.minidom
doc = xml.dom.minidom.parse(sys.argv[1])
root = doc.documentElement
assert root.tagName == "svg", root.tagName
assert root.getAttribute("xmlns") == "http://www.w3.org/2000/svg"
texts = [t.firstChild.data for t in doc.getElementsByTagName("text") if t.firstChild]
for label in ("#1", "#3", "#4"):
    assert label in texts, "no label " + label
assert "#2" not in texts, "a freed handle is still drawn"
assert any("free lists" in t for t in texts), "no free lists"
assert any(t.startswith("Coloured") for t in texts), "no legend"
assert len(doc.getElementsByTagName("rect")) >= 10, "too few rectangles"
print("svg: well-formed, %d rects, %d texts" % (len(doc.getElementsByTagName("rect")), len(texts)))
PY
# The kmalloc heap: slabs labelled with their class and occupancy, runs with handles.
printf 'malloc 100\nmalloc 100\nmalloc 20\nmalloc 3000\nmalloc 6000\nsave %s/k.svg\n' "$dir" |
  $buddy --color=never --allocator kmalloc >/dev/null ||
  { echo "svg: the kmalloc session failed" >&2; exit 1; }
python3 - "$dir/k.svg" <<'PY' || exit 1
import sys, xml.dom.minidom
doc = xml.dom.minidom.parse(sys.argv[1])
texts = [t.firstChild.data for t in doc.getElementsByTagName("text") if t.firstChild]
for label in ("112", "32", "3k 1/1", "#5"):
    assert label in texts, "no label " + label
assert any(t.startswith("Sand: slabs") for t in texts), "no slab legend"
print("svg: kmalloc: %d rects, %d texts" % (len(doc.getElementsByTagName("rect")), len(texts)))
PY
if command -v rsvg-convert >/dev/null 2>&1; then
  rsvg-convert "$dir/k.svg" -o "$dir/k.png" || { echo "svg: rsvg-convert failed (kmalloc)" >&2; exit 1; }
fi
if command -v rsvg-convert >/dev/null 2>&1; then
  rsvg-convert "$dir/a.svg" -o "$dir/a.png" || { echo "svg: rsvg-convert failed" >&2; exit 1; }
  [ -s "$dir/a.png" ] || { echo "svg: empty PNG" >&2; exit 1; }
  echo "svg: rendered by rsvg-convert"
fi
