"""Channels of government and legal forms of nodes, with real names and ids from the shared data.

Sources of the literal names (all under /work/shared/data/real/): NHS CCG spend for north-east London
(``nhs-ccg-spend-nel``), Trafford 360Giving, the Andrew Lloyd Webber Foundation 360Giving file (``alwf``),
Contracts Finder OCDS (``cf``), the LGTC council spend files (Calderdale, Devon, ``lgtc``) and the London
2020-21 set (GLA, TfL, London NHS bodies).
"""

from __future__ import annotations

import polars as pl
import pytest

from graphflows.classify import (
    CHANNELS,
    FORMS,
    ChannelMap,
    classify_nodes,
    parse_channel,
    read_channel_map,
)
from graphflows.model.errors import InputError


def classify(names, org_ids=None, ids=None, kinds="provider", **columns) -> pl.DataFrame:
    frame = pl.DataFrame(
        {
            "id": ids or [f"node-{i}" for i in range(len(names))],
            "name": names,
            "kinds": [[kinds]] * len(names),
            **({"org_ids": org_ids} if org_ids is not None else {}),
            **columns,
        },
        schema_overrides={"org_ids": pl.String, "channel_given": pl.String, "recipient_type": pl.String},
    )
    return classify_nodes(frame)


def one(name, org_ids=None, **columns) -> dict:
    return classify([name], [org_ids] if org_ids else None, **columns).row(0, named=True)


# ------------------------------------------------------------------------------------------ the taxonomy


def test_channels_and_forms_are_the_agreed_lists_in_order():
    assert list(CHANNELS) == [
        "nhs", "public_health", "police_justice", "fire_rescue", "local_government",
        "housing_communities", "education", "welfare_employment", "transport", "central_other",
        "charitable", "private", "unclassified",
    ]  # fmt: skip
    assert list(FORMS) == [
        "public_body", "charity", "cic", "mutual_society", "company", "partnership", "individual", "unknown",
    ]  # fmt: skip
    assert all(CHANNELS.values()) and all(FORMS.values())


@pytest.mark.parametrize("text", ["nhs", "NHS", " Police_Justice ", "police justice", "Fire-Rescue"])
def test_parse_channel_ignores_case_and_spacing(text):
    assert parse_channel(text) in CHANNELS


def test_parse_channel_names_the_allowed_values():
    with pytest.raises(ValueError, match=r"unknown channel 'policing'.*nhs, public_health, .*unclassified"):
        parse_channel("policing")


# -------------------------------------------------------------------------------------- public bodies


@pytest.mark.parametrize(
    ("name", "channel", "method"),
    [
        ("NHS North East London CCG", "nhs", "name-pattern"),  # created 2021, after the CCG register
        ("NHS REDBRIDGE CCG", "nhs", "register-name"),  # nhs-ccg-spend-nel payee
        ("Barts Health NHS Trust", "nhs", "register-name"),  # London NHS
        ("NORTH EAST LONDON NHS FOUNDATION TRUST", "nhs", "register-name"),  # nhs-ccg-spend-nel
        ("NHS NEL CSU", "nhs", "name-pattern"),  # nhs-ccg-spend-nel
        ("Trafford Council", "local_government", "register-name"),
        ("EXETER CITY COUNCIL (FINANCE)", "local_government", "register-name"),  # lgtc Devon
        ("PLYMOUTH CITY COUNCIL (RADIUS ACCOUNT", "local_government", "register-name"),  # lgtc Devon, cut off
        ("Telford &amp; Wrekin Council", "local_government", "register-name"),  # cf, HTML entity
        ("Greater London Authority", "local_government", "register-name"),
        ("Anytown Parish Council", "local_government", "name-pattern"),
        ("Transport for London", "transport", "name-pattern"),
        ("SURFACE TRANSPORT CORP", "transport", "name-pattern"),  # london-2020-21 TfL Entity column
        ("LONDON UNDERGROUND LTD", "transport", "name-pattern"),  # ditto: a TfL company, not private
        ("DOCKLANDS LIGHT RAILWAY", "transport", "name-pattern"),  # ditto
        ("DIAL A RIDE", "transport", "name-pattern"),  # ditto
        ("Mayor's Office for Policing and Crime", "police_justice", "register-name"),
        ("Office of the Police and Crime Commissioner for Kent", "police_justice", "register-name"),
        ("Leicestershire Police", "police_justice", "register-name"),
        ("London Fire Commissioner", "fire_rescue", "name-pattern"),
        ("Devon and Somerset Fire and Rescue Authority", "fire_rescue", "name-pattern"),
        ("Department for Education", "education", "register-name"),
        ("Department for Work and Pensions", "welfare_employment", "register-name"),
        ("Jobcentre Plus", "welfare_employment", "name-pattern"),
        ("Public Health England", "public_health", "register-name"),
        ("UK Health Security Agency", "public_health", "name-pattern"),
        ("HMRC - C2X2 TS", "central_other", "name-pattern"),  # lgtc Calderdale
        ("HMRC", "central_other", "register-name"),  # nhs-ccg-spend-nel
        ("British Council", "central_other", "register-name"),  # ends in "Council", is not a council
        ("Abbey Multi Academy Trust T/A Lightcliffe Academy", "education", "name-pattern"),  # lgtc Calderdale
        ("The National Lottery Community Fund", "charitable", "name-pattern"),
        ("Big Lottery Fund", "charitable", "register-name"),  # a DCMS body, but a lottery distributor
        # Spellings from the GLA and NEL CCG payee lists.
        ("MAYORS OFFICE OF POLICING AND CRIME", "police_justice", "name-pattern"),
        ("LONDON BOROUGH HAMMERSMITH & FULHAM", "local_government", "name-pattern"),
        ("LONDON FIRE & EMERGENCY PLANNING", "fire_rescue", "name-pattern"),  # the authority, cut off
        ("HAVERING", "local_government", "register-name"),  # a council's short name, as NEL CCG pays it
        ("CENTRAL FOUNDATION GIRLS' SCHOOL", "education", "name-pattern"),  # a school, not a foundation
        ("Holywell Green Primary School", "education", "name-pattern"),  # lgtc Calderdale
        ("HARRIS ACADEMY GREENWICH", "education", "name-pattern"),
    ],
)
def test_public_bodies_by_name(name, channel, method):
    row = one(name)
    assert (row["channel"], row["channel_method"]) == (channel, method)


def test_public_bodies_are_public_body_form():
    out = classify(["Barts Health NHS Trust", "Transport for London", "Department for Education"])
    assert out["form"].to_list() == ["public_body"] * 3
    assert out["form_method"].to_list() == ["channel"] * 3


@pytest.mark.parametrize(
    ("stream", "channel"),
    [
        ("Public Health Grant", "public_health"),
        ("Public Health Grant (DHSC)", "public_health"),  # the programme wins over the department
        ("Troubled Families", "housing_communities"),
        ("Rough Sleeping Initiative", "housing_communities"),
        ("Disabled Facilities Grant (MHCLG)", "housing_communities"),
        ("Police core grant (Home Office)", "police_justice"),
        ("NHS England CCG allocation", "nhs"),
        ("Better Care Fund", "nhs"),
        ("Improved Better Care Fund", "housing_communities"),  # paid by MHCLG to councils
        ("Dedicated Schools Grant", "education"),
        ("Hospital Discharge Programme (DHSC)", "nhs"),  # the department in brackets decides
        ("Holiday Activities and Food Programme (DfE)", "education"),
    ],
)
def test_streams_by_programme_name(stream, channel):
    row = one(stream, kinds="stream")
    assert (row["channel"], row["channel_method"]) == (channel, "name-pattern")


def test_programme_names_need_a_stream_or_a_programme_word():
    frame = pl.DataFrame(
        {
            "id": ["a", "b", "c"],
            "name": ["Supporting Families", "Supporting Families", "Supporting Families Grant"],
            "kinds": [["stream"], ["provider"], ["commissioner"]],
        }
    )
    channels = classify_nodes(frame)["channel"].to_list()
    assert channels == ["housing_communities", "unclassified", "housing_communities"]


def test_360giving_programme_streams_fall_back_to_their_funder():
    # graphflows names a 360Giving programme stream "<funder id> / <programme>" (Trafford, ALWF files).
    ids = [
        "GB-LAE-TRF / Inclusive Neighbourhood Grants",
        "GB-LAE-TRF / Public Health Grant",  # the programme name wins over the funder
        "GB-CHC-1015648 / Main grants",
        "GB-LAE-TRF",
    ]
    out = classify(ids, ids=ids, kinds="stream")
    assert out.select("channel", "channel_method").rows() == [
        ("local_government", "register-id"),
        ("public_health", "name-pattern"),
        ("charitable", "org-id-scheme"),
        ("local_government", "register-id"),
    ]


def test_an_id_with_spaces_is_not_an_org_id():
    row = one("Somebody", ids=["GB-LAE-TRF and friends"])
    assert (row["channel"], row["form"]) == ("unclassified", "unknown")


# ------------------------------------------------------------------------------------------------- ids


def test_register_id_from_node_id_or_org_ids():
    out = classify(
        ["Trafford Metropolitan Borough Council", "Somebody", "Somebody else"],
        org_ids=[None, "GB-CHC-1110767;GB-NHS-R1H", "gb-gor-d10"],
        ids=["GB-LAE-TRF", "x", "y"],
    )
    assert out["channel"].to_list() == ["local_government", "nhs", "welfare_employment"]
    assert out["channel_method"].to_list() == ["register-id"] * 3
    assert out["form"].to_list() == ["public_body"] * 3
    assert out["form_method"].to_list() == ["org-id"] * 3


@pytest.mark.parametrize(
    ("org_ids", "channel", "form", "form_method"),
    [
        ("GB-CHC-1110767", "charitable", "charity", "org-id"),  # G-Force, Trafford 360Giving
        ("GB-SC-SC025599", "charitable", "charity", "org-id"),  # YMCA Glenrothes, alwf
        ("GB-NIC-101510", "charitable", "charity", "org-id"),  # Ulster Architectural Heritage Society, alwf
        ("GB-COH-07597525;GB-CHC-1146058", "charitable", "charity", "org-id"),  # St John's Centre (Trafford)
        ("GB-COH-01234567", "private", "company", "org-id"),
        ("GB-COH-RS007153", "private", "mutual_society", "org-id"),  # a registered society's number
        ("GB-COH-IP12345R", "private", "mutual_society", "org-id"),
        ("GB-MPR-12345", "private", "mutual_society", "org-id"),
        ("GB-COH-OC301540", "private", "partnership", "org-id"),  # an LLP's number
        ("GB-LAE-ZZZ", "local_government", "public_body", "org-id"),  # not in the register: the scheme says
        ("GB-NHS-ZZZ99", "nhs", "public_body", "org-id"),
        ("GB-GOR-ZZ1", "central_other", "public_body", "org-id"),
        # A URN covers independent schools and HE providers: the education channel, no public body.
        ("GB-EDU-133843", "education", "unknown", "none"),  # Royal Northern College of Music, alwf
    ],
)
def test_org_id_schemes(org_ids, channel, form, form_method):
    row = one("A name no rule knows", org_ids)
    assert (row["channel"], row["channel_method"]) == (channel, "org-id-scheme")
    assert (row["form"], row["form_method"]) == (form, form_method)


def test_an_org_id_beats_words_in_the_name():
    # alwf: a registered charity whose name ends in "Ltd".
    row = one("Brighton Dome & Festival Ltd", "GB-CHC-249748")
    assert (row["channel"], row["form"], row["form_method"]) == ("charitable", "charity", "org-id")


def test_the_name_refines_a_company_number():
    out = classify(
        ["Inclusion Housing CIC Ltd", "Wardell Armstrong LLP", "Bristol Co-operative Limited"],
        org_ids=["GB-COH-09000001", "GB-COH-09000002", "GB-COH-09000003"],
    )
    assert out["form"].to_list() == ["cic", "partnership", "mutual_society"]
    assert out["form_method"].to_list() == ["name"] * 3


def test_360giving_individuals():
    out = classify(["A Person", "Trafford Housing Trust"], recipient_type=["individual", None])
    assert out.row(0, named=True)["form"] == "individual"
    assert out.row(0, named=True)["form_method"] == "org-id"
    assert out.row(1, named=True)["form"] != "individual"


# ------------------------------------------------------------------------------------- legal forms by name


@pytest.mark.parametrize(
    ("name", "form"),
    [
        ("ESTEEM TEAM COMMUNITY INTEREST COMPANY", "cic"),  # lgtc Devon
        ("Future Directions CIC", "cic"),  # lgtc Calderdale
        ("Mazars LLP", "partnership"),  # cf
        ("DR TOLIA & PARTNERS", "partnership"),  # nhs-ccg-spend-nel, a GP practice
        ("DR PRICE & PARTNERS - RYDAL", "partnership"),  # nhs-ccg-spend-nel
        ("Midcounties Co-operative Limited", "mutual_society"),
        ("Brixton Energy Community Benefit Society", "mutual_society"),
        ("Havering Health Ltd", "company"),  # nhs-ccg-spend-nel
        ("Project Centre Limited", "company"),  # cf
        ("Capita PLC", "company"),
        ("ASC Ltd", "company"),  # rigour's "ASC" (an association) is the name here
        ("CO Ltd", "company"),
        ("Readipop Charitable Incorporated Organisation", "charity"),
        ("Mind in Salford", "unknown"),  # "in" is not a legal form
        ("John Smith Trading As Foo", "unknown"),  # nor is "as" in the middle of a name
    ],
)
def test_legal_forms_from_names(name, form):
    row = one(name)
    assert row["form"] == form
    assert row["form_method"] == ("none" if form == "unknown" else "name")


@pytest.mark.parametrize(
    ("name", "channel"),
    [
        ("Council Cleaning Services Ltd", "private"),  # not a council
        ("Fire Valve Services Ltd", "private"),  # lgtc Calderdale: not a fire service
        ("Everyone Health Ltd", "private"),  # cf
        ("Police Federation of England and Wales", "unclassified"),  # a staff association, not the police
        ("Fire Brigades Union", "unclassified"),
        ("SOUTH WEST COUNCILS", "unclassified"),  # lgtc Devon: an association of councils
        ("MERTON VOLUNTARY SERVICE COUNCIL", "unclassified"),  # GLA: a council for voluntary service
        ("MINISTRY OF STORIES", "unclassified"),  # GLA: a charity, not a ministry
        ("BRITISH FASHION COUNCIL", "unclassified"),  # GLA: a trade body
        ("ASSOCIATION OF DIR. PUBLIC HEALTH", "unclassified"),  # GLA: the directors' association
        ("Eden Training Academy Limited", "private"),  # cf: a training company
        ("ALD Hairdressing Training Academy", "unclassified"),  # cf: not a school
        # Trafford 360Giving recipients: community groups named after what they serve.
        (
            "Out there supporting families of prisoners",
            "unclassified",
        ),  # not the Supporting Families programme
        (
            "Parents, teachers and friends of Gorse Hill Primary School",
            "unclassified",
        ),  # a PTA, not the school
        ("Friends of Lime Tree Primary Academy", "unclassified"),
        ("Strike Soccer School", "unclassified"),
        ("Sale and District Scout Council", "unclassified"),
        ("NHS Charities Together", "charitable"),
        ("The Oaklea Trust", "charitable"),  # cf
        ("Community Foundation for Calderdale", "charitable"),  # lgtc Calderdale
        ("AVON ROAD SURGERY", "unclassified"),  # nhs-ccg-spend-nel: nothing says what it is
        ("Broadway Cares", "unclassified"),  # alwf, US-EIN: no UK scheme
    ],
)
def test_traps_and_non_public_bodies(name, channel):
    assert one(name)["channel"] == channel


def test_a_company_inside_the_nhs_is_still_a_company():
    row = one("NHS Property Services Ltd")
    assert (row["channel"], row["form"], row["form_method"]) == ("nhs", "company", "name")


# ------------------------------------------- real misclassifications (review of the tests/data/real runs)
# Sources under tests/data/real/: london-2020-21 (nhs.zip, gla.zip; read with its sources.csv),
# contracts-finder-ocds-bluetail/json_1_1_raw.zip ("cf"), alwf-360giving-xlsx ("alwf"),
# nhs-ccg-spend-nel/NERD.zip ("nel").


def test_a_redacted_payee_is_not_classified_by_its_placeholder_name():
    # london-2020-21 nhs.zip: NCL CCG's redacted payees become one node, redacted:<payer id>.
    out = classify(
        ["Redacted payee (NHS North Central London CCG)", "Redacted payee (NHS North Central London CCG)"],
        ids=["redacted:GB-NHS-93C", "redacted:GB-NHS-93D"],
        channel_given=[None, "nhs"],  # a channel the file states still counts
    )
    assert out.select("channel", "channel_method", "form", "form_method").rows() == [
        ("unclassified", "redacted", "unknown", "redacted"),
        ("nhs", "input", "unknown", "none"),
    ]
    mapped = classify_nodes(
        pl.DataFrame(
            {"id": ["redacted:GB-NHS-93C"], "name": ["Redacted payee (NHS North Central London CCG)"]}
        ),
        ChannelMap.from_rows([("name:*NHS*", "nhs")]),  # a name pattern is not about the payee either
    )
    assert mapped.row(0, named=True)["channel_method"] == "redacted"


@pytest.mark.parametrize(
    ("name", "method"),
    [
        ("North West Ambulance Service N H S Trust", "register-name"),  # cf
        ("North West Ambulance Service N.H.S. Trust", "register-name"),
        ("Countess Of Chester Hospital", "register-name"),  # cf: the trust's name without "NHS FT"
        ("Portsmouth Hospitals Trust", "name-pattern"),  # london nhs.zip
        ("UNIVERSITY HOSPIT. MORECAMBE BAY FT", "name-pattern"),  # cf, cut off
        ("University Hospitals of Anytown", "name-pattern"),
        ("Anytown Ambulance Service", "name-pattern"),
        ("East Midlands Ambulance Service", "register-name"),  # the register's trust, without "NHS Trust"
        ("MID AND SOUTH ESSEX FOUNDATION TRUST", "register-name"),  # nel (NEHV): the register's NHS FT
        ("Royal Free London Foundation Trust", "register-name"),
        ("Oxleas FT", "register-name"),
        ("Countess Of Chester Hosp Nhs Ft", "register-name"),  # "Hosp" is "Hospital"
        ("Whittington Hosp Nhs Trust", "name-pattern"),  # london nhs.zip (the trust's name before 2011)
    ],
)
def test_nhs_trusts_written_without_nhs(name, method):
    row = one(name)
    assert (row["channel"], row["channel_method"], row["form"]) == ("nhs", method, "public_body")


@pytest.mark.parametrize(
    ("name", "channel", "form"),
    [
        ("Holly House Hospital Ltd", "private", "company"),  # a private hospital company
        ("HOLLY HOUSE HOSPITAL", "unclassified", "unknown"),  # nel: a private hospital, no trust of that name
        ("Hospital Of St John & St Elizabeth", "unclassified", "unknown"),  # nel: a charity hospital
        ("HAVEN HOUSE FOUNDATION LTD", "charitable", "company"),  # nel: a children's hospice charity
        ("Falck Uk Ambulance Service Limited", "private", "company"),  # london
        ("Sheffield Hospitals Charity", "charitable", "charity"),
        ("Nhs Providers", "charitable", "unknown"),  # london nhs.zip: a membership charity
        ("NHS Confederation", "charitable", "unknown"),
        ("The Rayne Foundation Trust", "charitable", "unknown"),  # a grant-making charity, no NHS trust
        ("The Lindley Foundation Trust", "charitable", "unknown"),
        ("Wellcome Trust", "charitable", "unknown"),
        ("Anytown Foundation Trust", "charitable", "unknown"),  # no NHS FT of that name in the register
    ],
)
def test_hospital_and_nhs_look_alikes(name, channel, form):
    row = one(name)
    assert (row["channel"], row["form"]) == (channel, form)


@pytest.mark.parametrize(
    ("org_ids", "channel", "form"),
    [
        ("GB-COH-RC000721", "education", "unknown"),  # LONDON BUSINESS SCHOOL, alwf: a Royal Charter body
        ("GB-COH-ZC000123", "education", "unknown"),  # an unregistered company (s.1043): not a company either
        ("GB-COH-SC123456", "private", "company"),  # a Scottish company
        ("GB-COH-NI012345", "private", "company"),  # a Northern Ireland company
        ("GB-COH-FC012345", "private", "company"),  # an overseas company
        ("GB-COH-LP012345", "private", "partnership"),  # a limited partnership
        ("GB-COH-SL012345", "private", "partnership"),
        ("GB-COH-NL000123", "private", "partnership"),
        ("GB-COH-SP002145", "private", "mutual_society"),
        ("GB-COH-CE001234", "charitable", "charity"),  # a CIO
        ("GB-COH-CS001234", "charitable", "charity"),  # a Scottish CIO
    ],
)
def test_companies_house_number_prefixes(org_ids, channel, form):
    row = one("LONDON BUSINESS SCHOOL", org_ids)
    assert (row["channel"], row["form"]) == (channel, form)


@pytest.mark.parametrize(
    ("name", "org_ids"),
    [
        ("Italia Conti Academy", "GB-EDU-100461"),  # alwf: an independent school
        ("Royal Birmingham Conservatoire", "GB-EDU-133788"),  # alwf: part of a university
        ("Gretton School", None),  # cf: an independent special school
        ("HARRIS ACADEMY GREENWICH", None),  # london gla.zip
        ("NEWHAM COLLEGE OF FURTHER EDUCATION", None),  # london gla.zip
        ("KINGS COLLEGE LONDON", None),  # london gla.zip
        ("University of Central Lancashire", None),  # cf
        ("QUEEN MARY UNIVERSITY OF LONDON", None),  # nel: "University of" inside the name
        (
            "Middlesex University Higher Education Corporation",
            None,
        ),  # cf: a post-1992 university's legal name
        ("DN COLLEGES GROUP", None),  # london gla.zip
        ("Eton College", None),  # alwf
    ],
)
def test_a_school_name_or_urn_gives_the_education_channel_but_no_public_body(name, org_ids):
    row = one(name, org_ids)
    assert (row["channel"], row["form"], row["form_method"]) == ("education", "unknown", "none")


@pytest.mark.parametrize(
    "name",
    [
        "FIGHT FOR PEACE ACADEMY",  # london gla.zip: a boxing and martial arts charity
        "NEWHAM ALL STAR SPORTS ACADEMY",  # london gla.zip
        "Royal College of Nursing",  # a professional body and union
        "Kings College Hospital Charity",
        "Friends of Queen Mary University of London",
        "Queen Mary University of London Students Union",
        "Sheffield University of the Third Age",
        "Hospital of the University of Pennsylvania",
        "University of London Boxing Club",
    ],
)
def test_education_look_alikes(name):
    assert one(name)["channel"] != "education"


def test_the_college_of_policing_is_policing():
    assert one("College of Policing")["channel"] == "police_justice"


@pytest.mark.parametrize(
    ("name", "channel"),
    [
        ("GLA LAND AND PROPERTY LIMITED", "local_government"),  # london gla.zip: a GLA company
        (
            "THE FINANCIAL REPORTING COUNCIL LIMITED",
            "central_other",
        ),  # cf: a public body limited by guarantee
        ("NHS Property Services Ltd", "nhs"),
    ],
)
def test_public_bodies_that_are_companies_keep_their_channel(name, channel):
    row = one(name)
    assert (row["channel"], row["form"], row["form_method"]) == (channel, "company", "name")


def test_a_registered_name_beats_a_legal_form_but_a_place_is_not_a_council():
    assert one("Financial Reporting Council Ltd")["channel"] == "central_other"
    gor = one("Porton Biopharma Limited")  # a government company in the register, spelt out "Limited"
    assert (gor["channel_method"], gor["form"]) == ("register-name", "company")
    assert one("Trafford Ltd")["channel"] == "private"  # not Trafford Council


@pytest.mark.parametrize(
    ("name", "channel", "method"),
    [
        ("United Kingdom Atomic Energy Authority", "central_other", "register-name"),  # cf
        ("Royal Free London Nhs Ft", "nhs", "register-name"),  # london nhs.zip (North Middlesex)
        ("UK Atomic Energy Authority", "central_other", "register-name"),
    ],
)
def test_spelt_out_and_abbreviated_forms_of_registered_names(name, channel, method):
    row = one(name)
    assert (row["channel"], row["channel_method"]) == (channel, method)


@pytest.mark.parametrize(
    ("name", "channel"),
    [
        ("The Corporation of Trinity House", "transport"),  # cf: the register's "Trinity House"
        ("The Trustees of the British Museum", "central_other"),  # the museum's legal name
        ("Board of Trustees of the National Gallery", "central_other"),
        # what is left must be a body's full name: not a council's bare place, nor an abbreviation
        ("The Corporation of Trafford", "unclassified"),
        ("Governors of Bath", "unclassified"),
        ("The Trustees of the CPS", "unclassified"),
        ("Corporation of Lloyds", "unclassified"),
    ],
)
def test_a_body_named_by_its_legal_name(name, channel):
    assert one(name)["channel"] == channel


# Companies named by an acronym that is also a GOV.UK abbreviation (review-data problem 6): "TAB" is the
# Technical Advisory Board, "CPS" the Crown Prosecution Service, "ASC" the Animals in Science Committee.
@pytest.mark.parametrize(
    "name", ["Tab Ltd", "BF Ltd", "CC Ltd", "CO Ltd", "BM Ltd", "BL Ltd", "DA Ltd", "CS Limited", "CPS Ltd",
             "ASC Ltd", "BIT Ltd", "AGO PLC", "The CPS Limited"],
)  # fmt: skip
def test_a_company_named_by_an_acronym_is_not_the_public_body(name):
    row = one(name)
    assert (row["channel"], row["channel_method"], row["form"]) == ("private", "name-pattern", "company")


@pytest.mark.parametrize(
    ("name", "org_id_channel"),
    [
        ("CPS", "central_other"),
        ("TAB", "police_justice"),
        ("The CPS", "central_other"),
        ("ASC", "police_justice"),  # rigour reads "ASC" as a form, but a name needs more than its form
    ],
)
def test_an_acronym_alone_still_names_the_body(name, org_id_channel):
    row = one(name)
    assert (row["channel"], row["channel_method"], row["form"]) == (
        org_id_channel,
        "register-name",
        "public_body",
    )


def test_an_acronym_is_not_tried_without_a_bracket_either():
    assert one("CPS (Finance)")["channel"] == "unclassified"
    assert one("Crown Prosecution Service (Finance)")["channel"] == "central_other"  # a full name is


@pytest.mark.parametrize(
    ("name", "org_ids", "channel"),
    [
        ("THE SHAW TRUST LIMITED", None, "charitable"),  # london gla.zip: a charitable company
        ("Shaw Trust", "GB-COH-01744121", "charitable"),  # a company number alone does not make it private
        (
            "Trafford Housing Trust Ltd",
            None,
            "private",
        ),  # a housing association: a private registered provider
        ("Witan Investment Trust PLC", None, "private"),
        ("Foundation Piling Ltd", None, "private"),  # the word is not at the end
    ],
)
def test_charitable_companies(name, org_ids, channel):
    row = one(name, org_ids)
    assert (row["channel"], row["form"]) == (channel, "company")


@pytest.mark.parametrize(
    ("name", "channel", "form"),
    [
        ("Hertfordshire County Council t/a Herts Fullstop", "local_government", "public_body"),  # cf
        ("DZRL TAXIS LTD T/AS DN TAXIS", "private", "company"),  # london
        ("Abbey Multi Academy Trust T/A Lightcliffe Academy", "education", "public_body"),  # lgtc Calderdale
        ("Foo Trading As Hertfordshire County Council", "unclassified", "unknown"),
    ],
)
def test_a_trading_name_is_cut_off(name, channel, form):
    row = one(name)
    assert (row["channel"], row["form"]) == (channel, form)


def test_nothing_is_guessed():
    row = one("Hot Toddi")  # cf supplier
    assert row == row | {
        "channel": "unclassified",
        "channel_method": "none",
        "form": "unknown",
        "form_method": "none",
    }
    empty = classify([None, ""])
    assert empty["channel"].to_list() == ["unclassified"] * 2
    assert empty["form"].to_list() == ["unknown"] * 2


# --------------------------------------------------------------------------------------- precedence


def test_given_channel_beats_every_rule():
    row = one("Barts Health NHS Trust", channel_given=["public_health"])
    assert (row["channel"], row["channel_method"]) == ("public_health", "input")
    # the form comes from the evidence, not from the stated channel: the register still finds an NHS trust
    assert (row["form"], row["form_method"]) == ("public_body", "channel")
    stated = classify(["Hot Toddi", "Barts Health NHS Trust"], channel_given=["nhs", "private"])
    assert stated["form"].to_list() == ["unknown", "unknown"]  # no evidence; stated outside government


def test_a_mapped_channel_keeps_a_public_body_its_form():
    from graphflows.classify import ChannelMap

    frame = pl.DataFrame(
        {
            "id": ["leicester-city-ccg", "x"],
            "name": ["NHS Leicester City CCG", "Hot Toddi"],
            "kinds": [["commissioner"]] * 2,
        }
    )
    mapped = classify_nodes(frame, ChannelMap.from_rows([("leicester-city-ccg", "nhs"), ("x", "nhs")]))
    assert mapped["channel_method"].to_list() == ["map", "map"]
    assert mapped["form"].to_list() == ["public_body", "unknown"]
    assert mapped["form"].to_list()[0] == classify_nodes(frame)["form"][0]


def test_output_keeps_rows_and_columns_and_adds_four_strings():
    names = ["Trafford Council", "Hot Toddi", "Trafford Council", "Mazars LLP"] * 50
    frame = pl.DataFrame({"id": [f"n{i}" for i in range(200)], "name": names, "kinds": [["provider"]] * 200})
    frame = frame.with_columns(extra=pl.int_range(200))
    out = classify_nodes(frame)
    assert out.columns == [*frame.columns, "channel", "channel_method", "form", "form_method"]
    assert out.select(frame.columns).equals(frame)
    added = out.select("channel", "channel_method", "form", "form_method")
    assert all(dtype == pl.String for dtype in added.dtypes) and added.null_count().sum_horizontal()[0] == 0
    assert out["channel"].to_list()[:4] == ["local_government", "unclassified", "local_government", "private"]


def test_each_row_keeps_its_own_result_in_a_large_frame():
    names = [
        "Trafford Council",
        "Hot Toddi",
        "Mazars LLP",
        "Kent Police",
        None,
        "Better Care Fund",
        "G-Force",
    ]
    ids = [None, "GB-COH-01234567", None, None, "GB-NHS-R1H", None, "GB-CHC-1110767"]
    n = 20_000
    frame = pl.DataFrame(
        {
            "id": [f"n{i}" for i in range(n)],
            "name": [names[i % 7] for i in range(n)],
            "kinds": [["provider"]] * n,
            "org_ids": [ids[(i // 7) % 7] if i % 3 else None for i in range(n)],
        }
    )
    forward = classify_nodes(frame, ChannelMap.from_rows([("n17", "transport")]))
    backward = classify_nodes(frame.reverse(), ChannelMap.from_rows([("n17", "transport")])).reverse()
    assert forward.equals(backward)
    singles = {
        (name, org_ids): classify([name], org_ids=[org_ids]).row(0)[-4:]
        for name, org_ids in set(zip(frame["name"], frame["org_ids"], strict=True))
    }
    got = forward.select("name", "org_ids", "channel", "channel_method", "form", "form_method").rows()
    assert all(row[2:] == singles[row[:2]] for i, row in enumerate(got) if i != 17)
    assert forward.row(17, named=True)["channel"] == "transport"


# ------------------------------------------------------------------------------------------ mapping file


def write(tmp_path, text):
    path = tmp_path / "channels.csv"
    path.write_text(text)
    return path


def test_a_mapping_names_its_lines_that_match_no_node_and_survives_being_kept_as_lines(tmp_path):
    path = write(
        tmp_path,
        "match,channel\n"
        "gb-nhs-07l,nhs\n"  # an org-id of node c
        "GB-NHS-07X,nhs\n"  # a typo
        "name:*Police*,police_justice\n"
        "name:*Polise*,police_justice\n"
        "leicester-city-ccg,public_health\n",
    )
    channel_map = read_channel_map(path)
    nodes = pl.DataFrame(
        {
            "id": ["leicester-city-ccg", "c"],
            "name": ["Kent Police and Crime Commissioner", "NHS Barking and Dagenham CCG"],
            "org_ids": [None, "GB-NHS-07L"],
        }
    )
    assert channel_map.matched_lines(nodes) == {2, 4, 6}
    assert channel_map.unused_notes(nodes) == [
        f"{path}:3: GB-NHS-07X matches no organisation read: the line was not used",
        f"{path}:5: name:*Polise* matches no name read: the line was not used",
    ]
    kept = ChannelMap.from_lines(channel_map.lines(), channel_map.source)
    assert kept == channel_map
    with pytest.raises(InputError, match=r"channels\.csv:3: unknown channel 'policing'"):
        ChannelMap.from_lines([(3, "x", "policing")], "channels.csv")
    with pytest.raises(InputError, match=r"channels\.csv:three: invalid literal"):
        ChannelMap.from_lines([("three", "x", "transport")], "channels.csv")


def test_spark_classifies_with_the_mapping_given_to_analyse_else_the_one_convert_kept():
    from graphflows.spark.engine import _channel_map

    kept = ChannelMap.from_rows([("GB-LAE-GLA", "transport")], "ch1.csv")
    other = ChannelMap.from_rows([("GB-LAE-GLA", "central_other")], "ch2.csv")
    assert _channel_map(None, []) == (None, [])
    assert _channel_map(None, [("a", kept), ("b", kept)]) == (kept, [])
    assert _channel_map(other, [("a", kept)]) == (
        other,
        [
            "a: the channel mapping ch1.csv given to `graphflows convert` is not used: "
            "--channels ch2.csv replaces it"
        ],
    )
    with pytest.raises(InputError, match="a and b were converted with different channel mappings"):
        _channel_map(None, [("a", kept), ("b", other)])
    # a folder converted without a mapping is classified with the other folder's, and told so
    assert _channel_map(None, [("a", kept)], ["a", "b"]) == (
        kept,
        [
            "b: read without a channel mapping of its own; the mapping ch1.csv kept in a classifies its "
            "organisations too (give --channels to choose the mapping for every input)"
        ],
    )


def test_mapping_file_precedence(tmp_path):
    path = write(
        tmp_path,
        "# my channels\n"
        "match,channel\n"
        "name:*Police and Crime Commissioner*,central_other\n"
        "leicester-city-ccg,Public_Health\n"
        "gb-nhs-07l,police_justice\n"
        "name:*,private\n"
        "GB-NHS-07L,police_justice\n",  # the same id again with the same channel: harmless
    )
    channel_map = read_channel_map(path)
    frame = pl.DataFrame(
        {
            "id": ["leicester-city-ccg", "a", "b", "c", "d"],
            "name": [
                "Kent Police and Crime Commissioner",  # id line beats the earlier pattern line
                "Kent Police and Crime Commissioner",  # first pattern
                "Hot Toddi",  # catch-all pattern
                "NHS Barking and Dagenham CCG",  # org-id line
                "Barts Health NHS Trust",
            ],
            "kinds": [["commissioner"]] * 5,
            "org_ids": [None, None, None, "GB-NHS-07L", None],
            "channel_given": [None, None, None, None, "nhs"],
        }
    )
    out = classify_nodes(frame, channel_map)
    assert out["channel"].to_list() == ["public_health", "central_other", "private", "police_justice", "nhs"]
    assert out["channel_method"].to_list() == ["map", "map", "map", "map", "input"]


def test_mapping_from_rows():
    channel_map = ChannelMap.from_rows([("name:barts*", "transport")])
    assert one("Barts Health NHS Trust")["channel"] == "nhs"
    frame = pl.DataFrame({"id": ["x"], "name": ["Barts Health NHS Trust"], "kinds": [["provider"]]})
    assert classify_nodes(frame, channel_map)["channel"].to_list() == ["transport"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", r"channels\.csv:1: the first line must be the header match,channel"),
        ("# only a comment\nGB-NHS-07L,nhs\n", r"channels\.csv:2: the first line must be the header"),
        ("match,channel\n,nhs\n", r"channels\.csv:2: empty match"),
        ("match,channel\nname:  ,nhs\n", r"channels\.csv:2: empty match"),
        ("match,channel\n# fine\nGB-NHS-07L,policing\n", r"channels\.csv:3: unknown channel 'policing'.*nhs"),
        ("match,channel\nGB-NHS-07L\n", r"channels\.csv:2: expected 2 fields"),
        (
            "match,channel\nGB-LAE-GLA,nhs\n# later\ngb-lae-gla,transport\n",
            r"channels\.csv:4: gb-lae-gla is given channel transport here but nhs on .*channels\.csv:2: "
            r"give one",
        ),
        (
            "match,channel\nname:*Police*,police_justice\nname:*POLICE*,central_other\n",
            r"channels\.csv:3: name:\*POLICE\* is given channel central_other here but police_justice on "
            r".*channels\.csv:2",
        ),
        (
            "match;channel\nGB-LAE-GLA;nhs\n",
            r"channels\.csv:1: the first line must be the header match,channel \(the file seems to use ';' "
            r"separators: separate the two columns with a comma\)",
        ),
        ("match\tchannel\nGB-LAE-GLA\tnhs\n", r"channels\.csv:1: .*seems to use tab separators"),
    ],
)
def test_mapping_file_errors_name_file_and_line(tmp_path, text, message):
    with pytest.raises(InputError, match=message) as caught:
        read_channel_map(write(tmp_path, text))
    assert not caught.value.problems  # the message is the one line: the CLI must not print it twice


def test_missing_mapping_file(tmp_path):
    with pytest.raises(InputError, match=r"nope\.csv: no such channel mapping file$"):
        read_channel_map(tmp_path / "nope.csv")
    with pytest.raises(InputError, match=r": no such channel mapping file$"):
        read_channel_map(tmp_path)  # a folder
