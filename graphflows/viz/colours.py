"""One fixed colour per channel of government, used by every view (node fill, Sankey links, legends).

Colours come from the Okabe-Ito and Paul Tol palettes (chosen for colour-blind readers), the channels
most often seen together (NHS, public health, local government, police; local government and transport in
London, the GLA and TfL) in clearly different hues; ``unclassified`` is grey. Transport is Tol's dark blue:
Tol's teal (#44AA99) was the closest pair of the palette, to local government's green (CIE76 distance 18.6),
and nearly public health's pink to a deuteranope (4.7). Thirteen hues cannot all stay apart under every
colour-vision deficiency, so every view also names the channel in text (legend, tooltips, side panel).

>>> channel_colour("nhs"), channel_label("nhs")
('#0072B2', 'NHS')
>>> channel_colour("not-a-channel"), channel_label("not_a_channel")
('#BBBBBB', 'Not a channel')
"""

from __future__ import annotations

#: Channel -> (fill colour, legend text), in the order legends list them.
CHANNEL_STYLE: dict[str, tuple[str, str]] = {
    "nhs": ("#0072B2", "NHS"),
    "public_health": ("#CC79A7", "Public health"),
    "police_justice": ("#882255", "Police and justice"),
    "fire_rescue": ("#D55E00", "Fire and rescue"),
    "local_government": ("#009E73", "Local government"),
    "housing_communities": ("#999933", "Housing and communities"),
    "education": ("#E69F00", "Education"),
    "welfare_employment": ("#56B4E9", "Welfare and employment"),
    "transport": ("#222255", "Transport"),
    "central_other": ("#332288", "Other central government"),
    "charitable": ("#DDCC77", "Charitable funders"),
    "private": ("#8C564B", "Private"),
    "unclassified": ("#BBBBBB", "Unclassified"),
}
UNCLASSIFIED_COLOUR = CHANNEL_STYLE["unclassified"][0]


def channel_colour(channel: str | None) -> str:
    """The channel's fill colour (grey for ``unclassified`` and anything unknown)."""
    return CHANNEL_STYLE.get(channel or "", (UNCLASSIFIED_COLOUR, ""))[0]


def channel_label(channel: str | None) -> str:
    """The channel as people read it: ``police_justice`` -> ``'Police and justice'``."""
    if not channel:
        return CHANNEL_STYLE["unclassified"][1]
    style = CHANNEL_STYLE.get(channel)
    return style[1] if style else channel.replace("_", " ").capitalize()


def channel_order(channels: set[str]) -> list[str]:
    """Channels in legend order (the fixed order above, unknown ones after, by name).

    >>> channel_order({"private", "zeta", "nhs"})
    ['nhs', 'private', 'zeta']
    """
    known = [c for c in CHANNEL_STYLE if c in channels]
    return known + sorted(channels - set(CHANNEL_STYLE))


def darker(hex_colour: str, factor: float = 0.62) -> str:
    """A darker shade for borders: ``darker("#ffffff")`` -> ``'#9e9e9e'``."""
    r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return "#" + "".join(f"{int(v * factor):02x}" for v in (r, g, b))


def faded(hex_colour: str, alpha: float = 0.45) -> str:
    """The colour with transparency, for links: ``faded("#0072B2", 0.5)`` -> ``'rgba(0,114,178,0.5)'``."""
    r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"
