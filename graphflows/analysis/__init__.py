"""Pure functions of a funding graph: where money comes from, and where stovepipes converge.

>>> import graphflows as gf                                   # doctest: +SKIP
>>> result = gf.attribute(gf.read_graph(["flows.csv"]))       # doctest: +SKIP
>>> gf.convergence(result).head()                             # doctest: +SKIP
"""

from graphflows.analysis.attribution import Attribution, attribute
from graphflows.analysis.channels import channel_mix
from graphflows.analysis.convergence import convergence, funding_mix

__all__ = ["Attribution", "attribute", "channel_mix", "convergence", "funding_mix"]
