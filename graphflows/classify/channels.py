"""The channels of government ("stovepipes") public money flows down, and the legal forms of bodies.

>>> parse_channel(" Police_Justice ")
'police_justice'
>>> list(CHANNELS)[:3]
['nhs', 'public_health', 'police_justice']
"""

from __future__ import annotations

#: Channel -> one-line description, in the order reports list them.
CHANNELS: dict[str, str] = {
    "nhs": "NHS England, ICBs, CCGs, NHS trusts and the Department of Health and Social Care",
    "public_health": "Public health: PHE, UKHSA, OHID and the ring-fenced Public Health Grant",
    "police_justice": "Police forces and commissioners, MOPAC, Home Office, MoJ, prisons, probation",
    "fire_rescue": "Fire and rescue authorities and services, the London Fire Commissioner",
    "local_government": "Councils, combined authorities, the Greater London Authority",
    "housing_communities": "MHCLG/DLUHC, Homes England; homelessness, rough sleeping, Troubled Families, DFG",
    "education": "Department for Education, ESFA, schools and academy trusts",
    "welfare_employment": "Department for Work and Pensions, Jobcentre Plus",
    "transport": "Department for Transport, Transport for London and other transport bodies",
    "central_other": "Other central government departments and public bodies",
    "charitable": "Charities, trusts, foundations and lottery distributors",
    "private": "Companies, partnerships and societies outside government",
    "unclassified": "No rule applied: nothing is guessed",
}

#: Channels of government (a body classified into one by a register, scheme or name is a public body).
GOVERNMENT_CHANNELS = frozenset(list(CHANNELS)[:10])

#: Channels that make a convergence point: the channels of government and charitable funders. ``private``
#: (a company's own money is no channel of public money) and ``unclassified`` (money of unknown origin could
#: have come down any channel, or one already counted) are listed with their money but never counted.
COUNTED_CHANNELS = GOVERNMENT_CHANNELS | {"charitable"}

#: Legal form -> one-line description.
FORMS: dict[str, str] = {
    "public_body": "A government body (council, NHS body, police, department, agency)",
    "charity": "A registered charity (GB-CHC, GB-SC, GB-NIC) or a charitable incorporated organisation",
    "cic": "A community interest company",
    "mutual_society": "A co-operative or community benefit society (GB-MPR, RS/IP numbers)",
    "company": "A company (GB-COH; Ltd, PLC, Inc...)",
    "partnership": "A partnership or limited liability partnership",
    "individual": "A person (360Giving Recipient Ind)",
    "unknown": "No rule applied",
}


def parse_channel(text: str) -> str:
    """A channel name from user text (any case, spaces/hyphens for underscores); ValueError if unknown."""
    channel = "_".join(str(text).strip().lower().replace("-", " ").split())
    if channel not in CHANNELS:
        raise ValueError(f"unknown channel {text!r}: use one of {', '.join(CHANNELS)}")
    return channel
