"""Name patterns that place a body or a funding stream in a channel.

Patterns are Rust regexes (no look-around) matched against :func:`graphflows.registers.name_key` keys:
upper case, punctuation as spaces, ``&`` as ``AND``, ``Clinical Commissioning Group`` as ``CCG``,
``Limited`` as ``LTD``, no leading ``THE``. Each rule is ``(channel, pattern, unless)``; the first rule
that matches wins. Programmes come first, so the "Public Health Grant (DHSC)" is public health although
DHSC alone means the NHS; they apply to streams and to names with a programme word (grant, fund...), so a
charity "supporting families of prisoners" is not the Supporting Families programme. Generic words
(Council, Police, School, Trust) come last, after a company's legal form.
"""

from __future__ import annotations

Rule = tuple[str, str, str | None]

#: Words that make a name a programme even when the node is not a stream.
PROGRAMME_WORDS = r"\b(GRANTS?|FUND|ALLOCATION|PROGRAMME|INITIATIVE|BUDGET|PRECEPT|PREMIUM)\b"

#: Funding programmes (for streams and programme-worded names).
PROGRAMMES: tuple[Rule, ...] = (
    ("public_health", r"\bPUBLIC HEALTH\b", None),
    ("housing_communities", r"\bIMPROVED BETTER CARE FUND\b|\bIBCF\b", None),  # paid by MHCLG to councils
    (
        "nhs",
        r"\bBETTER CARE FUND\b|\bBCF\b",
        None,
    ),  # NHS England mandate; mostly the CCG minimum contribution
    (
        "housing_communities",
        r"\b(TROUBLED|SUPPORTING) FAMILIES\b|\bROUGH SLEEP|\bDISABLED FACILITIES GRANT\b|\bHOMELESSNESS\b"
        r"|\bNEW HOMES BONUS\b|\bHOUSING INFRASTRUCTURE FUND\b",
        None,
    ),
    ("police_justice", r"\bPOLICE (CORE )?GRANT\b|\bPOLICE PRECEPT\b", None),
    ("education", r"\bDEDICATED SCHOOLS GRANT\b|\bDSG\b|\bPUPIL PREMIUM\b|\bADULT EDUCATION BUDGET\b", None),
)

#: Named bodies and departments.
BODIES: tuple[Rule, ...] = (
    (
        "public_health",
        r"\bPUBLIC HEALTH\b",
        r"\bNHS TRUST\b|\bASSOCIATION\b|\bSOCIETY\b|\bFACULTY\b|\bROYAL\b|\bCHARIT",
    ),
    (
        "public_health",
        r"\bUKHSA\b|\bUK HEALTH SECURITY AGENCY\b|\bOHID\b|\bOFFICE FOR HEALTH IMPROVEMENT\b",
        None,
    ),
    ("public_health", r"^PHE$", None),
    (
        "police_justice",
        r"\bMAYORS OFFICE (FOR|OF) POLICING\b|\bMOPAC\b|\bPOLICE (FIRE )?AND CRIME COMMISSIONER\b"
        r"|\bOPCC\b|\bHOME OFFICE\b|\bMINISTRY OF JUSTICE\b|\bMOJ\b"
        r"|\bHM PRISON|\bHMPPS\b|\bPROBATION SERVICE\b|\bYOUTH JUSTICE BOARD\b|\bCOURTS AND TRIBUNALS\b",
        None,
    ),
    (
        "transport",
        r"\bTRANSPORT FOR (LONDON|GREATER MANCHESTER|WEST MIDLANDS|THE NORTH|WALES)\b|\bTFL\b|\bTFGM\b"
        r"|\bDEPARTMENT FOR TRANSPORT\b|\bDFT\b|\bNATIONAL HIGHWAYS\b|\bHIGHWAYS ENGLAND\b|\bNETWORK RAIL\b",
        None,
    ),
    (
        "fire_rescue",
        r"\bFIRE AND RESCUE\b|\bFIRE AUTHORITY\b|\bFIRE COMMISSIONER\b|\bFIRE BRIGADE$|\bFIRE SERVICE$"
        r"|^LONDON FIRE\b",
        r"\bUNION\b|\bASSOCIATION\b|\bSOCIETY\b|\bCHARITY\b|\bBENEVOLENT\b",
    ),
    (
        "education",
        r"\bDEPARTMENT FOR EDUCATION\b|\bDFE\b|\bEDUCATION (AND SKILLS )?FUNDING AGENCY\b|\bESFA\b"
        r"|\bACADEM(Y|IES) TRUST\b|\bMULTI ACADEMY\b",
        None,
    ),
    ("welfare_employment", r"\bJOB ?CENTRE\b|\bDWP\b|\bDEPARTMENT FOR WORK AND PENSIONS\b", None),
    (
        "nhs",
        r"\bNHS\b|\bCCG\b|\bICB\b|\bINTEGRATED CARE SYSTEM\b|\bDHSC\b|\bDEPARTMENT OF HEALTH\b"
        r"|\bCOMMISSIONING SUPPORT UNIT\b|\bFOUNDATION TRUST$|\bNHS FT$",
        r"\bCHARIT(Y|IES|ABLE)\b|\bRETIREMENT FELLOWSHIP\b",
    ),
    (
        "housing_communities",
        r"\bMINISTRY OF HOUSING\b|\bDEPARTMENT FOR (LEVELLING UP|COMMUNITIES AND LOCAL GOVERNMENT)\b"
        r"|\bMHCLG\b|\bDLUHC\b|\bDCLG\b|\bHOMES ENGLAND\b",
        None,
    ),
    ("charitable", r"\bLOTTERY\b", None),
    (
        "central_other",
        r"^(DEPARTMENT FOR|MINISTRY OF DEFENCE|HM TREASURY|HM REVENUE|CABINET OFFICE|FOREIGN COMMONWEALTH)\b"
        r"|^DEPARTMENT OF (FINANCE|THE ECONOMY|AGRICULTURE|COMMUNITIES|INFRASTRUCTURE)\b|\bHMRC\b",
        None,
    ),
)

#: Generic words, tried after a company's legal form (so "Council Cleaning Services Ltd" is private).
GENERIC: tuple[Rule, ...] = (
    (
        "local_government",
        r"\bGREATER LONDON AUTHORITY\b|\bCOMBINED (COUNTY )?AUTHORITY\b|^(LONDON|ROYAL) BOROUGH\b"
        r"|\bCOUNCIL$|\bCITY OF LONDON CORPORATION\b",
        r"\bBRITISH COUNCIL\b|\bARTS COUNCIL\b|\bRESEARCH COUNCIL\b|\bCHURCH\b|\bYOUTH COUNCIL\b"
        r"|\bSTUDENTS?\b|\bVOLUNTARY\b|\bMEDICAL\b|\bSPORTS? COUNCIL\b|\bTRADES\b|\bADVISORY\b|\bFAITH"
        r"|\bSCOUTS?\b|\bGUIDES?\b|\bFRIENDS OF\b|^(BRITISH|UK|ENGLISH|NATIONAL|INTERNATIONAL|EUROPEAN)\b",
    ),
    (
        "police_justice",
        r"\bCONSTABULARY$|\bPOLICE$|\bPOLICE SERVICE$|\bPOLICE SERVICE OF NORTHERN IRELAND\b"
        r"|^POLICE SCOTLAND$",
        r"\bFEDERATION\b|\bASSOCIATION\b|\bUNION\b|\bBENEVOLENT\b|\bCHARITY\b|\bFRIENDS\b|\bSUPERINTENDENTS\b",
    ),
    (
        "education",
        r"\bSCHOOL$|\bSCHOOL AND SIXTH FORM$|\bACADEMY\b|\bSIXTH FORM COLLEGE$",
        r"\bDRIVING\b|\bDANCE\b|\bFOOTBALL\b|\bSOCCER\b|\bMARTIAL\b|\bTRAINING\b|\bHAIRDRESSING\b|\bBEAUTY\b"
        r"|\bFRIENDS OF\b|\bPARENTS\b|\bPTA\b|\bALUMNI\b|\bOLD (BOYS|GIRLS)\b",
    ),
    ("charitable", r"\bFOUNDATION\b|\bTRUST\b|\bCHARIT(Y|IES|ABLE)\b|\bBENEVOLENT FUND\b", None),
)
