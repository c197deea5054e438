"""NHS Making Data Count variation and assurance icons, drawn by the package as inline SVG.

No external assets: each icon is a small SVG string (a coloured ring with a letter and a
line of dots) that an HTML table can hold as it is, with a ``<title>`` and ``aria-label``
so that screen readers say what it shows. Colours follow Making Data Count: blue for
improvement, orange for concern, purple for a neutral special cause, grey for common cause
and for hit-and-miss assurance.
"""

from __future__ import annotations

from html import escape

__all__ = ["ASSURANCE_ICONS", "VARIATION_ICONS", "assurance_icon", "variation_icon"]

_BLUE, _ORANGE, _PURPLE, _GREY = "#0072b2", "#d55e00", "#7b3294", "#7f7f7f"

#: variation (an SPC summary's ``variation``) -> (colour, letter, words).
VARIATION_ICONS = {
    "common_cause": (_GREY, "", "Common cause variation: no signal"),
    "special_cause_improvement": (_BLUE, "", "Special cause variation: improvement"),
    "special_cause_concern": (_ORANGE, "", "Special cause variation: concern"),
    "special_cause_neutral_high": (_PURPLE, "H", "Special cause variation: higher (neutral)"),
    "special_cause_neutral_low": (_PURPLE, "L", "Special cause variation: lower (neutral)"),
}

#: assurance (an SPC summary's ``assurance``) -> (colour, letter, words).
ASSURANCE_ICONS = {
    "consistently_passing": (_BLUE, "P", "Assurance: consistently passing the target"),
    "consistently_failing": (_ORANGE, "F", "Assurance: consistently failing the target"),
    "hit_and_miss": (_GREY, "?", "Assurance: hit and miss, the target is within the limits"),
}


def _ring(color: str, letter: str, words: str, size: int, dots: str) -> str:
    label = escape(words, quote=True)
    text = (
        f'<text x="16" y="14" text-anchor="middle" font-size="11" font-weight="bold" '
        f'font-family="sans-serif" fill="{color}">{escape(letter)}</text>'
        if letter
        else ""
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{size}" '
        f'viewBox="0 0 32 32" role="img" aria-label="{label}">'
        f"<title>{label}</title>"
        f'<circle cx="16" cy="16" r="14" fill="white" stroke="{color}" stroke-width="3"/>'
        f"{text}{dots}</svg>"
    )


def variation_icon(variation: str, *, high: bool | None = None, size: int = 28) -> str:
    """The variation icon of an SPC summary's ``variation``.

    Parameters
    ----------
    variation : str
        ``common_cause``, ``special_cause_improvement``, ``special_cause_concern``,
        ``special_cause_neutral_high`` or ``special_cause_neutral_low``.
    high : bool, optional
        For improvement or concern: whether the signal is high (H) or low (L).
    size : int
        Width and height in pixels.

    Returns
    -------
    str
        An inline SVG element; an unknown value gives an empty string.

    Examples
    --------
    >>> icon = variation_icon("special_cause_improvement", high=True)
    >>> icon.startswith("<svg") and "improvement" in icon and ">H<" in icon
    True
    """
    if variation not in VARIATION_ICONS:
        return ""
    color, letter, words = VARIATION_ICONS[variation]
    if not letter and high is not None and variation != "common_cause":
        letter = "H" if high else "L"
    # A line of dots: level for common cause, the last ones lifted or lowered for a signal.
    lift = {"H": -4, "L": 4}.get(letter, 0)
    dots = "".join(
        f'<circle cx="{8 + 4 * i}" cy="{21 + (lift if i >= 3 else 0)}" r="1.6" '
        f'fill="{color if i >= 3 and lift else _GREY}"/>'
        for i in range(5)
    )
    return _ring(color, letter, words, size, dots)


def assurance_icon(assurance: str, *, size: int = 28) -> str:
    """The assurance icon of an SPC summary's ``assurance`` (``consistently_passing``,
    ``consistently_failing`` or ``hit_and_miss``); an empty string for ``no_target``,
    ``not_applicable`` and unknown values.

    Examples
    --------
    >>> "Assurance: consistently passing" in assurance_icon("consistently_passing")
    True
    >>> assurance_icon("no_target")
    ''
    """
    if assurance not in ASSURANCE_ICONS:
        return ""
    color, letter, words = ASSURANCE_ICONS[assurance]
    line = f'<line x1="8" y1="21" x2="24" y2="21" stroke="{color}" stroke-width="1.5"/>'
    return _ring(color, letter, words, size, line)
