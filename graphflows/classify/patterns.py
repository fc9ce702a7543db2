"""Name patterns that place a body or a funding stream in a channel.

Patterns are Rust regexes (no look-around) matched against :func:`graphflows.registers.name_key` keys:
upper case, punctuation as spaces, ``&`` as ``AND``, ``Clinical Commissioning Group`` as ``CCG``,
``Limited`` as ``LTD``, no leading ``THE``. Each rule is ``(channel, pattern, unless)``; the first rule
that matches wins. Programmes come first, so the "Public Health Grant (DHSC)" is public health although
DHSC alone means the NHS; they apply to streams and to names with a programme word (grant, fund...), so a
charity "supporting families of prisoners" is not the Supporting Families programme. Generic words
come last, after a company's legal form: those of public bodies (Council, Police, Hospitals Trust), then
of schools (the education channel, no public body), then of charities (Foundation, Trust).
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
        r"|\bHM PRISON|\bHMPPS\b|\bPROBATION SERVICE\b|\bYOUTH JUSTICE BOARD\b|\bCOURTS AND TRIBUNALS\b"
        r"|^COLLEGE OF POLICING\b",
        None,
    ),
    (
        "transport",
        r"\bTRANSPORT FOR (LONDON|GREATER MANCHESTER|WEST MIDLANDS|THE NORTH|WALES)\b|\bTFL\b|\bTFGM\b"
        r"|\bDEPARTMENT FOR TRANSPORT\b|\bDFT\b|\bNATIONAL HIGHWAYS\b|\bHIGHWAYS ENGLAND\b|\bNETWORK RAIL\b"
        # TfL's own operating companies and units, as its spend files name them
        r"|^(TRANSPORT TRADING|LONDON UNDERGROUND|LUL NOMINEE \w+|RAIL FOR LONDON|LONDON BUS SERVICES"
        r"|LONDON RIVER SERVICES|VICTORIA COACH STATI?O?N|TUBE LINES|CROSSRAIL)( LTD| LIMITED)?$"
        r"|^(SURFACE TRANSPORT CORP(ORATION)?|PUBLIC CARRIAGE OFFICE|DIAL A RIDE|DOCKLANDS LIGHT RAILWAY"
        r"|CYCLE HIRE SCHEME|TFL CORPORATE|LONDON TRANSPORT PROPERTY)$",
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
    # The GLA and its companies (a company's legal form does not take it out of local government).
    ("local_government", r"\bGREATER LONDON AUTHORITY\b|^GLA (LAND AND PROPERTY|HOLDINGS)\b", None),
    ("welfare_employment", r"\bJOB ?CENTRE\b|\bDWP\b|\bDEPARTMENT FOR WORK AND PENSIONS\b", None),
    (
        "nhs",
        r"\bNHS\b|\bCCG\b|\bICB\b|\bINTEGRATED CARE SYSTEM\b|\bDHSC\b|\bDEPARTMENT OF HEALTH\b"
        r"|\bCOMMISSIONING SUPPORT UNIT\b|\bNHS FT$",  # a bare "... Foundation Trust" may be a charity
        r"\bCHARIT(Y|IES|ABLE)\b|\bRETIREMENT FELLOWSHIP\b|^NHS (PROVIDERS|CONFEDERATION)\b",
    ),
    (
        "housing_communities",
        r"\bMINISTRY OF HOUSING\b|\bDEPARTMENT FOR (LEVELLING UP|COMMUNITIES AND LOCAL GOVERNMENT)\b"
        r"|\bMHCLG\b|\bDLUHC\b|\bDCLG\b|\bHOMES ENGLAND\b",
        None,
    ),
    ("charitable", r"\bLOTTERY\b", None),
    # Membership bodies of NHS organisations are charities, not the NHS.
    ("charitable", r"^NHS (PROVIDERS|CONFEDERATION)\b", None),
    (
        "central_other",
        r"^(DEPARTMENT FOR|MINISTRY OF DEFENCE|HM TREASURY|HM REVENUE|CABINET OFFICE|FOREIGN COMMONWEALTH)\b"
        r"|^DEPARTMENT OF (FINANCE|THE ECONOMY|AGRICULTURE|COMMUNITIES|INFRASTRUCTURE)\b|\bHMRC\b"
        r"|^FINANCIAL REPORTING COUNCIL\b",  # a public body that is a company limited by guarantee
        None,
    ),
)

#: Generic words that make a public body, tried after a company's legal form (so "Council Cleaning
#: Services Ltd" is private and "... Hospital Ltd" is a private hospital).
GENERIC: tuple[Rule, ...] = (
    (
        "local_government",
        r"\bCOMBINED (COUNTY )?AUTHORITY\b|^(LONDON|ROYAL) BOROUGH\b|\bCOUNCIL$"
        r"|\bCITY OF LONDON CORPORATION\b",
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
    (  # NHS trusts written without "NHS": Portsmouth Hospitals Trust, University Hospitals of Morecambe Bay
        "nhs",
        r"\bHOSPITALS? (NHS )?(FOUNDATION )?TRUST$|^UNIVERSITY HOSPIT(ALS?)?\b|\bHOSPIT(ALS?)? (NHS )?FT$"
        r"|\bAMBULANCE SERVICES?( NHS)?( FOUNDATION)?( TRUST)?$",
        r"\bCHARIT|\bFRIENDS\b|\bBENEVOLENT\b|\bASSOCIATION\b|\bUNION\b|\bHOSPICE\b|\bSTAFF\b",
    ),
)

#: Schools, colleges and universities: the education channel, but not a public body (independent schools,
#: universities and private colleges have these names too). Tried after GENERIC, before CHARITABLE
#: (Central Foundation Girls' School is a school).
EDUCATION_WORDS: tuple[Rule, ...] = (
    (
        "education",
        r"\bSCHOOL$|\bSCHOOL AND SIXTH FORM$|\bACADEMY\b|\bCOLLEGE$|\bCOLLEGES? GROUP$|\bCOLLEGE CORPORATION$"
        r"|\bCOLLEGE OF\b|^(IMPERIAL|KINGS|UNIVERSITY) COLLEGE\b|\bUNIVERSITY OF\b"
        r"|\bUNIVERSITY( HIGHER EDUCATION CORPORATION)?$"
        r"|\bCONSERVATOIRE\b",
        r"\bDRIVING\b|\bDANCE\b|\bFOOTBALL\b|\bSOCCER\b|\bMARTIAL\b|\bTRAINING\b|\bHAIRDRESSING\b|\bBEAUTY\b"
        r"|\bFRIENDS OF\b|\bPARENTS\b|\bPTA\b|\bALUMNI\b|\bOLD (BOYS|GIRLS)\b"
        r"|\bSPORTS?\b|\bBOXING\b|\bFIGHT\b|\bFITNESS\b|\bRUGBY\b|\bCRICKET\b|\bTENNIS\b|\bGOLF\b"
        r"|\bCHARIT|\bHOSPITAL\b|\bSTUDENTS?\b|\bTHIRD AGE\b|\bROYAL ACADEMY OF (ARTS|ENGINEERING)\b"
        r"|\bCOLLEGE OF (NURSING|MIDWIVES|PHYSICIANS|SURGEONS|GENERAL PRACTITIONERS|GPS|PSYCHIATRISTS"
        r"|PAEDIATRICS|OBSTETRICIANS|ANAESTHETISTS|EMERGENCY MEDICINE|PATHOLOGISTS|RADIOLOGISTS"
        r"|OPHTHALMOLOGISTS|OCCUPATIONAL THERAPISTS|SPEECH|PARAMEDICS|OPTOMETRISTS|PODIATRY|TEACHING"
        r"|POLICING)\b",
    ),
)

#: Words of charities, tried last.
CHARITABLE_WORDS: tuple[Rule, ...] = (
    ("charitable", r"\bFOUNDATION\b|\bTRUST\b|\bCHARIT(Y|IES|ABLE)\b|\bBENEVOLENT FUND\b", None),
)

#: A company whose name ends in a charitable word (a charitable company, "The Shaw Trust Limited") or says
#: charity anywhere is ``charitable``, not ``private``, when nothing else places it. Housing associations
#: ("Trafford Housing Trust Ltd") stay ``private``: the Regulator of Social Housing calls them private
#: registered providers and many are not charities.
CHARITABLE_COMPANY: Rule = (
    "charitable",
    r"\b(TRUST|FOUNDATION)( LTD)?$|\bCHARIT(Y|IES|ABLE)\b",
    r"\bHOUSING\b|\bHOMES\b|\bINVESTMENTS?\b|\bPENSIONS?\b|\bNOMINEES?\b|\bTRUSTEES?\b|\bUNIT TRUST\b"
    r"|\bCAPITAL\b|\bNHS\b",
)

#: A trading-as suffix, cut off before matching (the legal body is classified, not its trading name):
#: "Hertfordshire County Council t/a Herts Fullstop", "DZRL TAXIS LTD T/AS DN TAXIS".
TRADING_AS = r"(?i)[\s,(]+(T/|TRADING AS\b).*$"

#: A trailing legal form, cut off a company's name to look it up in the registers.
LEGAL_FORM_TAIL = r" (LTD|PLC)$"

#: A leading phrase of a body's legal name, cut off to look it up in the registers: "The Corporation of
#: Trinity House" is Trinity House, "The Trustees of the British Museum" the British Museum.
LEGAL_NAME_HEAD = r"^(CORPORATION|(BOARD OF )?TRUSTEES|GOVERNORS) OF (THE )?"
