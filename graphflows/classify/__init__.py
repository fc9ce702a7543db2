"""Channels of government and legal forms for every node of a funding graph.

>>> import polars as pl
>>> name = "Mayor's Office for Policing and Crime"
>>> nodes = pl.DataFrame({"id": ["a"], "name": [name], "kinds": [["commissioner"]]})
>>> classify_nodes(nodes).row(0, named=True)["channel"]
'police_justice'
"""

from __future__ import annotations

from graphflows.classify.channels import CHANNELS, COUNTED_CHANNELS, FORMS, GOVERNMENT_CHANNELS, parse_channel
from graphflows.classify.mapping import ChannelMap, read_channel_map
from graphflows.classify.nodes import SCHEME_CHANNELS, classify_nodes

__all__ = [
    "CHANNELS",
    "COUNTED_CHANNELS",
    "FORMS",
    "GOVERNMENT_CHANNELS",
    "SCHEME_CHANNELS",
    "ChannelMap",
    "classify_nodes",
    "parse_channel",
    "read_channel_map",
]
