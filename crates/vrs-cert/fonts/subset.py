"""Rebuild BIZUDPGothic-JIS.ttf, the font the certificate PDF is set in.

Usage (from this folder; needs Python 3, npm and `pip install fonttools==4.68.0`):

    npm pack @expo-google-fonts/biz-udpgothic@0.4.2
    tar xzf expo-google-fonts-biz-udpgothic-0.4.2.tgz package/400Regular/BIZUDPGothic_400Regular.ttf
    python3 subset.py package/400Regular/BIZUDPGothic_400Regular.ttf BIZUDPGothic-JIS.ttf

Every character the font has is kept: a resident's name may use any kanji, including the
compatibility forms (﨑, 蓮, …) and the few CJK Extension B ones the font draws. What is
dropped is what a PDF never uses: the TrueType hinting programs, the vertical metrics (the
certificate is set horizontally) and the layout features other than the common ones.

The script prints how much of each Japanese coded character set the font covers (JIS X 0208,
JIS X 0212, JIS X 0213, Windows-31J), read from Python's own codec tables; the figures are
recorded in README.md. The output is the same bytes for the same input and fontTools version.
"""

import sys

from fontTools import subset
from fontTools.ttLib import TTFont


def decoded(codec, prefix, lead, trail):
    """Every code point that `codec` decodes from prefix + lead byte + trail byte."""
    out = set()
    for b1 in lead:
        for b2 in trail:
            try:
                text = (prefix + bytes([b1, b2])).decode(codec)
            except UnicodeDecodeError:
                continue
            out.update(ord(c) for c in text)
    return out


PLANE2_ROWS = [0xA0 + row for row in [1, 3, 4, 5, 8, 12, 13, 14, 15, *range(78, 95)]]


def coverage(cmap):
    euc = range(0xA1, 0xFF)
    sets = {
        "JIS X 0208": decoded("euc_jp", b"", euc, euc),
        "JIS X 0212": decoded("euc_jp", b"\x8f", euc, euc),
        "JIS X 0213 plane 1": decoded("euc_jis_2004", b"", euc, euc),
        # Plane 2 has only these rows; the codec reads the others as JIS X 0212.
        "JIS X 0213 plane 2": decoded("euc_jis_2004", b"\x8f", PLANE2_ROWS, euc),
        "Windows-31J (CP932, without the user area)": {
            c
            for c in decoded("cp932", b"", range(0x81, 0xF0), range(0x40, 0xFD))
            if not 0xE000 <= c <= 0xF8FF
        },
    }
    for name, chars in sets.items():
        missing = sorted(chars - cmap)
        shown = " ".join(f"U+{c:04X}" for c in missing[:8])
        print(f"{name}: {len(chars) - len(missing)} of {len(chars)}; missing {shown}")


def main(source, target):
    options = subset.Options()
    options.hinting = False
    options.drop_tables += ["vhea", "vmtx", "meta", "gasp"]
    options.layout_features = ["ccmp", "liga", "locl", "kern", "palt"]
    options.name_IDs = ["*"]
    options.name_languages = ["*"]
    options.glyph_names = False
    font = subset.load_font(source, options)
    cmap = set(font.getBestCmap())
    coverage(cmap)
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=sorted(cmap))
    subsetter.subset(font)
    subset.save_font(font, target, options)
    print(f"{len(cmap)} characters, {TTFont(target)['maxp'].numGlyphs} glyphs")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
