"""The objects the sandbox answers `query`, `readByQuery` and `read` about: each one's fields as
Intacct's object definition (`lookup`) lists them, and the company's records of it.

GLBATCH and GLENTRY hold the batches posted; GLACCOUNT, LOCATION, DEPARTMENT and GLJOURNAL the
lists a GLENTRY refers to, each record `active` or `inactive` (STATUS); a GLDIM<name> user
dimension is the platform object <name> (fields `id`, `name`). Field names match whatever their
case and come back in the definition's spelling; a field the definition lacks is refused.
The default field lists of Intacct's Python SDK (sageintacctsdk, `dimensions_fields_mapping`)
are all here: they are what a client asks for by default.
"""

from __future__ import annotations

from dataclasses import dataclass

STANDARD_DIMENSIONS = (
    "PROJECTID",
    "TASKID",
    "CUSTOMERID",
    "VENDORID",
    "EMPLOYEEID",
    "ITEMID",
    "CLASSID",
    "CONTRACTID",
    "WAREHOUSEID",
)
_AUDIT = ("WHENCREATED", "WHENMODIFIED", "CREATEDBY", "MODIFIEDBY", "RECORD_URL")
_ENTITY = ("MEGAENTITYKEY", "MEGAENTITYID", "MEGAENTITYNAME")


@dataclass(frozen=True)
class ObjectDefinition:
    name: str
    fields: tuple[str, ...]
    key: str = "RECORDNO"  # the field a person knows a record by (ACCOUNTNO, LOCATIONID, ...)
    list_name: str = ""  # the Company attribute holding a list object's values

    def field(self, name: str) -> str | None:
        """The definition's spelling of `name`, or None when the object has no such field."""
        wanted = name.strip().upper()
        return next((f for f in self.fields if f.upper() == wanted), None)


GLBATCH = ObjectDefinition(
    "GLBATCH",
    (
        "RECORDNO",
        "BATCHNO",
        "BATCH_TITLE",
        "BALANCE",
        "JOURNAL",
        "BATCH_DATE",
        "MODULE",
        "USERKEY",
        "REFERENCENO",
        "REVERSED",
        "REVERSEDKEY",
        "REVERSEDFROM",
        "REVERSEDATE",
        "TEMPLATEKEY",
        "PRBATCHKEY",
        "MODIFIED",
        "MODIFIEDBYID",
        "BASELOCATION",
        "BASELOCATION_NO",
        "BASELOCATION_NAME",
        "STATE",
        "HISTORY_COMMENT",
        "SUPDOCID",
        "TAXIMPLICATIONS",
        "TAXSOLUTIONID",
        "VATVENDORID",
        "VATCUSTOMERID",
        "VATCONTACTID",
        *_AUDIT,
        *_ENTITY,
    ),
)
GLENTRY_FIELDS = (
    "RECORDNO",
    "BATCHNO",
    "LINE_NO",
    "TR_TYPE",
    "ENTRY_DATE",
    "TRX_AMOUNT",
    "AMOUNT",
    "CURRENCY",
    "BASECURR",
    "EXCHANGE_RATE",
    "EXCH_RATE_DATE",
    "EXCH_RATE_TYPE_ID",
    "DOCUMENT",
    "ACCOUNTNO",
    "ACCOUNTKEY",
    "ACCOUNTTITLE",
    "DESCRIPTION",
    "LOCATION",
    "LOCATIONKEY",
    "LOCATIONNAME",
    "DEPARTMENT",
    "DEPARTMENTKEY",
    "DEPARTMENTTITLE",
    "STATISTICAL",
    "ALLOCATION",
    "ALLOCATIONKEY",
    "STATE",
    *STANDARD_DIMENSIONS,
    *_AUDIT,
)
LISTS = {
    definition.name: definition
    for definition in (
        ObjectDefinition(
            "GLACCOUNT",
            (
                "RECORDNO",
                "ACCOUNTNO",
                "TITLE",
                "ACCOUNTTYPE",
                "NORMALBALANCE",
                "CLOSINGTYPE",
                "CLOSINGACCOUNTNO",
                "STATUS",
                "REQUIREDEPT",
                "REQUIRELOC",
                "CATEGORY",
                "ALTERNATIVEACCOUNT",
                *_AUDIT,
                *_ENTITY,
            ),
            key="ACCOUNTNO",
            list_name="accounts",
        ),
        ObjectDefinition(
            "LOCATION",
            (
                "RECORDNO",
                "LOCATIONID",
                "NAME",
                "PARENTID",
                "PARENTKEY",
                "SUPERVISORID",
                "SUPERVISORNAME",
                "STATUS",
                "CURRENCY",
                "ENTITY",
                *_AUDIT,
            ),
            key="LOCATIONID",
            list_name="locations",
        ),
        ObjectDefinition(
            "DEPARTMENT",
            (
                "RECORDNO",
                "DEPARTMENTID",
                "TITLE",
                "PARENTKEY",
                "PARENTID",
                "SUPERVISORID",
                "SUPERVISORNAME",
                "STATUS",
                "CUSTTITLE",
                *_AUDIT,
            ),
            key="DEPARTMENTID",
            list_name="departments",
        ),
        ObjectDefinition(
            "GLJOURNAL",
            (
                "RECORDNO",
                "SYMBOL",
                "TITLE",
                "STATUS",
                "START_DATE",
                "LAST_DATE",
                "BOOKID",
                "ADJ",
                *_AUDIT,
            ),
            key="SYMBOL",
            list_name="journals",
        ),
    )
}
USER_DIMENSION_FIELDS = ("RECORDNO", "id", "name", "createdBy", "updatedBy")


def glentry(user_dimensions) -> ObjectDefinition:
    """GLENTRY in a company: the standard fields and its GLDIM user dimensions."""
    return ObjectDefinition("GLENTRY", (*GLENTRY_FIELDS, *sorted(user_dimensions)))


def user_dimension(dimension: str) -> ObjectDefinition:
    """The platform object behind GLENTRY field GLDIM<name>: <name>, keyed by `id`."""
    return ObjectDefinition(dimension.removeprefix("GLDIM"), USER_DIMENSION_FIELDS, key="id")
